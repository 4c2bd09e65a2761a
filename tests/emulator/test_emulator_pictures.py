"""The emulator's picture URLs over real sockets: picture types and the faults `[emu:picture-*]` scripts."""

from __future__ import annotations

import asyncio
import io
import json

import aiohttp
import pytest
from PIL import Image, UnidentifiedImageError
from yarl import URL

from bot.emulator.picture_server import NOT_IMAGE_BODY
from bot.emulator.pictures import DEFAULT_HUGE_BYTES
from tests.emulator_server import EmulatorServer, serve_emulator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def body(content: str) -> dict:
    return {
        "messages": [{"role": "user", "content": content}],
        "user_id": "tester",
        "mh_output_size": "96x64",
        "mh_select_seed": 7,
    }


async def answer(session: aiohttp.ClientSession, url: str, content: str) -> tuple[int, dict]:
    async with session.post(url, json=body(content)) as response:
        return response.status, json.loads(await response.read())


async def draw(session: aiohttp.ClientSession, server: EmulatorServer, directives: str = "") -> URL:
    """Ask for a drawing with `directives` and return its picture URL."""
    status, payload = await answer(session, server.url, f"draw a cat {directives}")
    assert status == 200, payload
    assert payload["data"]["usage"]["picture"] is True
    return URL(payload["data"]["choices"][0]["content"])


async def fetch(session: aiohttp.ClientSession, url: URL) -> tuple[int, dict[str, str], bytes]:
    async with session.get(url, allow_redirects=False) as response:
        return response.status, dict(response.headers), await response.read()


# --- picture types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directive", "extension", "media_type", "pillow_format", "magic"),
    [
        ("", "png", "image/png", "PNG", PNG_SIGNATURE),
        ("[emu:picture-type=png]", "png", "image/png", "PNG", PNG_SIGNATURE),
        ("[emu:picture-type=jpeg]", "jpg", "image/jpeg", "JPEG", b"\xff\xd8\xff"),
        ("[emu:picture-type=webp]", "webp", "image/webp", "WEBP", b"RIFF"),
        ("[emu:picture-type=gif]", "gif", "image/gif", "GIF", b"GIF8"),
    ],
)
async def test_picture_types(
    emulator: EmulatorServer,
    session: aiohttp.ClientSession,
    directive: str,
    extension: str,
    media_type: str,
    pillow_format: str,
    magic: bytes,
) -> None:
    url = await draw(session, emulator, directive)
    assert url.path.endswith(f".{extension}")
    status, headers, data = await fetch(session, url)
    assert status == 200
    assert headers["Content-Type"] == media_type
    assert data.startswith(magic)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == pillow_format
        assert image.size == (96, 64)


async def test_wrong_extension_is_404(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    url = await draw(session, emulator, "[emu:picture-type=jpeg]")
    status, _, _ = await fetch(session, url.with_suffix(".png"))
    assert status == 404


# --- faults --------------------------------------------------------------------------------


async def test_missing(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    url = await draw(session, emulator, "[emu:picture-fault=missing]")
    status, headers, data = await fetch(session, url)
    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(data) == {"error": {"code": 404, "message": "not found"}}


async def test_not_image_claims_the_picture_type(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    url = await draw(session, emulator, "[emu:picture-fault=not-image] [emu:picture-type=webp]")
    status, headers, data = await fetch(session, url)
    assert status == 200
    assert headers["Content-Type"] == "image/webp"
    assert data == NOT_IMAGE_BODY
    assert data.startswith(b"<!DOCTYPE html>")
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(data))


async def read_counting(response: aiohttp.ClientResponse) -> tuple[bytes, int]:
    """The first chunk and the total length of a body, without holding all of it."""
    first, total = b"", 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        first = first or chunk
        total += len(chunk)
    return first, total


async def test_huge_is_chunked_and_12_mib_by_default(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    url = await draw(session, emulator, "[emu:picture-fault=huge]")
    async with session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.headers
        first, total = await read_counting(response)
    assert first.startswith(PNG_SIGNATURE)
    assert total == DEFAULT_HUGE_BYTES == 12 * 1024 * 1024


@pytest.mark.parametrize("size", [20, 300_001])
async def test_huge_declared_sends_exactly_the_bytes_asked(
    emulator: EmulatorServer, session: aiohttp.ClientSession, size: int
) -> None:
    url = await draw(session, emulator, f"[emu:picture-fault=huge-declared] [emu:picture-bytes={size}]")
    status, headers, data = await fetch(session, url)
    assert status == 200
    assert headers["Content-Length"] == str(size)
    assert len(data) == size
    assert data.startswith(PNG_SIGNATURE)


async def test_huge_client_may_stop_reading(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    url = await draw(session, emulator, "[emu:picture-fault=huge] [emu:picture-bytes=50000000]")
    async with session.get(url) as response:
        assert (await response.content.readexactly(8)) == PNG_SIGNATURE
        response.close()
    status, _, _ = await fetch(session, url.with_suffix(".gif"))
    assert status == 404  # the emulator still answers


async def test_redirect_loop_between_two_urls(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    start = await draw(session, emulator, "[emu:picture-fault=redirect-loop]")
    seen = [start]
    for _ in range(4):
        status, headers, _ = await fetch(session, seen[-1])
        assert status == 302
        seen.append(URL(headers["Location"]))
    assert seen[2] == seen[4] == start != seen[1] == seen[3]
    assert seen[1].name == start.name
    with pytest.raises(aiohttp.TooManyRedirects):
        async with session.get(start, max_redirects=10):
            pass


async def follow(session: aiohttp.ClientSession, url: URL) -> tuple[list[URL], int, bytes]:
    """Follow redirects by hand: the URLs visited, then the final status and body."""
    visited = [url]
    while True:
        status, headers, data = await fetch(session, visited[-1])
        if status != 302:
            return visited, status, data
        visited.append(visited[-1].join(URL(headers["Location"])))
        assert len(visited) < 30


@pytest.mark.parametrize("count", [0, 1, 3, 4])
async def test_redirect_chain(emulator: EmulatorServer, session: aiohttp.ClientSession, count: int) -> None:
    start = await draw(session, emulator, f"[emu:picture-redirects={count}]")
    visited, status, data = await follow(session, start)
    assert len(visited) == count + 1
    assert len(set(visited)) == count + 1
    assert all(url.name == start.name for url in visited)
    assert status == 200
    assert data.startswith(PNG_SIGNATURE)


async def test_aiohttp_follows_a_chain(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    start = await draw(session, emulator, "[emu:picture-redirects=4]")
    async with session.get(start) as response:
        assert response.status == 200
        assert [entry.status for entry in response.history] == [302] * 4
        assert (await response.read()).startswith(PNG_SIGNATURE)


async def test_hop_beyond_the_chain_is_404(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    start = await draw(session, emulator, "[emu:picture-redirects=2]")
    visited, _, _ = await follow(session, start)
    beyond = visited[-1].parent.parent / "3" / start.name
    assert (await fetch(session, beyond))[0] == 404


async def test_redirects_then_a_fault(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    start = await draw(session, emulator, "[emu:picture-redirects=2] [emu:picture-fault=missing]")
    visited, status, _ = await follow(session, start)
    assert (len(visited), status) == (3, 404)


async def test_stall_sends_headers_then_nothing(emulator: EmulatorServer, session: aiohttp.ClientSession) -> None:
    url = await draw(session, emulator, "[emu:picture-fault=stall]")
    timeout = aiohttp.ClientTimeout(sock_read=0.5)
    async with session.get(url, timeout=timeout) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert int(response.headers["Content-Length"]) > 0
        with pytest.raises(asyncio.TimeoutError):
            await response.read()


async def test_stall_does_not_hold_up_shutdown(session: aiohttp.ClientSession) -> None:
    async with asyncio.timeout(10):  # the test server would otherwise wait 60 s for the handler
        async with serve_emulator() as server:
            url = await draw(session, server, "[emu:picture-fault=stall]")
            response = await session.get(url)
            assert response.status == 200
            reading = asyncio.create_task(response.read())
        with pytest.raises(aiohttp.ClientError):
            await reading
        response.release()


# --- directives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "directive",
    [
        "picture-type=bmp",
        "picture-type",
        "picture-fault=slow",
        "picture-redirects=21",
        "picture-redirects=-1",
        "picture-bytes=0",
        "picture-bytes=lots",
    ],
)
async def test_invalid_picture_directive_is_400(
    emulator: EmulatorServer, session: aiohttp.ClientSession, directive: str
) -> None:
    status, payload = await answer(session, emulator.url, f"draw a cat [emu:{directive}]")
    assert status == 400
    assert f"[emu:{directive.split('=')[0]}]" in payload["error"]["message"]


async def test_picture_directives_do_not_change_a_chat_answer(
    emulator: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    status, payload = await answer(session, emulator.url, "hello [emu:picture-fault=missing] [emu:picture-type=gif]")
    assert status == 200
    assert payload["data"]["usage"]["picture"] is False
    assert 'You said: "hello"' in payload["data"]["choices"][0]["content"]
