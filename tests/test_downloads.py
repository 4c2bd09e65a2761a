"""The picture downloader, through real sockets to aiohttp servers on 127.0.0.1, and its pure helpers.

No test connects anywhere but loopback: an autouse fixture wraps the event loop's `sock_connect`, records every
address a test connects to, and refuses anything that is not loopback (so even a broken guard sends no traffic).
"""

from __future__ import annotations

import asyncio
import functools
import io
import ipaddress
import re
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from PIL import Image
from yarl import URL

from bot.core import downloads
from bot.core.downloads import (
    DownloadError,
    DownloadFailedError,
    DownloadTimeoutError,
    GuardedResolver,
    NotAllowedError,
    NotAnImageError,
    Picture,
    PictureDownloader,
    TooLargeError,
    TooManyRedirectsError,
    describe_size,
    filename_for,
    is_public_address,
    sniff_media_type,
)

MIB = 1024 * 1024
CAP = 1 * MIB
PUBLIC_IP = "8.8.4.4"


def encoded(image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, image_format, **options)
    return buffer.getvalue()


PNG = encoded("PNG")
JPEG = encoded("JPEG")
GIF = encoded("GIF")
WEBP = encoded("WEBP")
HTML = b"<!doctype html><html><body>Access denied: the link has expired</body></html>"


# --- The test server ---------------------------------------------------------------------------------------------


def fixed(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    return handler


def redirect_to(location: str, status: int = 302) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location})

    return handler


async def countdown(request: web.Request) -> web.Response:
    """/hops/N redirects (relative Location) to /hops/N-1, and /hops/0 to the PNG: N redirects in all."""
    left = int(request.match_info["left"])
    location = f"../hops/{left - 1}" if left > 0 else "/pictures/cat.png"
    return web.Response(status=302, headers={"Location": location})


async def big_declared(request: web.Request) -> web.StreamResponse:
    """Declares 2 MiB, sends a little, then stalls: only an early refusal on Content-Length is quick."""
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    response.content_length = 2 * MIB
    await response.prepare(request)
    await response.write(PNG[:16])
    await asyncio.sleep(5)
    return response


async def big_chunked(request: web.Request) -> web.StreamResponse:
    """A PNG-looking chunked body (no Content-Length) that goes on past the cap."""
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(PNG[:16])
    for _ in range(48):
        await response.write(bytes(64 * 1024))
    await response.write_eof()
    return response


async def cut_short(request: web.Request) -> web.StreamResponse:
    """Declares 1000 bytes, sends 16 and hangs up."""
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    response.content_length = 1000
    await response.prepare(request)
    await response.write(PNG[:16])
    assert request.transport is not None
    request.transport.close()
    return response


async def slow_hops(request: web.Request) -> web.Response:
    """/slow-hops/N: N redirects of 0.15 s each before the PNG, each hop quick enough on its own."""
    left = int(request.match_info["left"])
    await asyncio.sleep(0.15)
    location = f"/slow-hops/{left - 1}" if left > 0 else "/pictures/cat.png"
    return web.Response(status=302, headers={"Location": location})


@functools.cache
def gzip_bomb() -> bytes:
    """About 16 KB of gzip that inflates to a PNG's first bytes and then 16 MiB of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16 +: the gzip format
    parts = [compressor.compress(PNG[:16]), *(compressor.compress(bytes(MIB)) for _ in range(16))]
    return b"".join([*parts, compressor.flush()])


async def gzipped(request: web.Request) -> web.Response:
    """The gzip bomb as a PNG, encoded although the downloader asks for `Accept-Encoding: identity`."""
    return web.Response(body=gzip_bomb(), headers={"Content-Type": "image/png", "Content-Encoding": "gzip"})


async def stall(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response(body=PNG, content_type="image/png")


async def stall_in_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    await response.prepare(request)
    await response.write(PNG[:16])
    await asyncio.sleep(2)
    return response


def redirect_to_this_port(host: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Redirects to `host` on the test server's own port (known only once it runs)."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": f"http://{host}:{request.url.port}/pictures/cat.png"})

    return handler


def picture_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/pictures/cat.png", fixed(PNG, "image/png"))
    app.router.add_get("/pictures/photo.jpg", fixed(JPEG, "application/octet-stream"))
    app.router.add_get("/pictures/anim.gif", fixed(GIF, "image/gif"))
    app.router.add_get("/pictures/art.webp", fixed(WEBP, "image/webp"))
    app.router.add_get("/pictures/odd name!.png", fixed(PNG, "image/png"))
    app.router.add_get("/error.png", fixed(HTML, "image/png"))
    app.router.add_get("/vector.svg", fixed(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"))
    app.router.add_get("/empty", fixed(b"", "image/png"))
    app.router.add_get("/big", fixed(PNG[:16] + bytes(2 * MIB), "image/png"))
    app.router.add_get("/big-declared", big_declared)
    app.router.add_get("/big-chunked", big_chunked)
    app.router.add_get("/gzipped", gzipped)
    app.router.add_get("/cut-short", cut_short)
    app.router.add_get("/hops/{left}", countdown)
    app.router.add_get("/loop/a", redirect_to("/loop/b"))
    app.router.add_get("/loop/b", redirect_to("/loop/a", status=301))
    app.router.add_get("/to-file", redirect_to("file:///etc/passwd"))
    app.router.add_get("/to-ftp", redirect_to("ftp://127.0.0.1/picture.png"))
    app.router.add_get("/no-location", redirect_to(""))
    app.router.add_get("/to-private-ip", redirect_to_this_port("10.0.0.5"))
    app.router.add_get("/to-private-name", redirect_to_this_port("pictures.example.com"))
    app.router.add_get("/to-stall", redirect_to("/stall"))
    app.router.add_get("/slow-hops/{left}", slow_hops)
    app.router.add_get("/stall", stall)
    app.router.add_get("/stall-in-body", stall_in_body)
    return app


@pytest.fixture(autouse=True)
async def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the event loop was asked to connect to; anything but loopback is refused, never attempted."""
    attempted: list[str] = []
    loop = asyncio.get_running_loop()
    real_sock_connect = loop.sock_connect

    async def loopback_only(sock: socket.socket, address: Any) -> None:
        host = address[0]
        attempted.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise ConnectionRefusedError(f"test refuses to connect to {host}")
        await real_sock_connect(sock, address)

    monkeypatch.setattr(loop, "sock_connect", loopback_only)
    return attempted


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    async with TestServer(picture_app(), host="127.0.0.1") as test_server:
        yield test_server


def local(server: TestServer, path: str, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{server.port}{path}"


class MapResolver(AbstractResolver):
    """A fake DNS: each made-up name maps to fixed addresses; no lookup leaves the process."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.names[host]
        ]

    async def close(self) -> None:
        pass


FAKE_DNS = {
    "pictures.example.com": ["10.0.0.5"],
    "loopback.example.com": ["127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "cdn.example.com": [PUBLIC_IP],
    "mixed.example.com": ["10.0.0.5", PUBLIC_IP, "::1"],
}


@pytest.fixture
def treat_loopback_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the guard pass 127.0.0.1 (and nothing else new), to exercise it end to end against the local server."""
    real = downloads.is_public_address
    monkeypatch.setattr(downloads, "is_public_address", lambda host: host == "127.0.0.1" or real(host))


# --- Downloads that succeed --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "media_type", "filename"),
    [
        ("/pictures/cat.png", PNG, "image/png", "cat.png"),
        ("/pictures/photo.jpg", JPEG, "image/jpeg", "photo.jpg"),
        ("/pictures/anim.gif", GIF, "image/gif", "anim.gif"),
        ("/pictures/art.webp", WEBP, "image/webp", "art.webp"),
    ],
    ids=["png", "jpeg", "gif", "webp"],
)
async def test_downloads_each_picture_type(
    server: TestServer, path: str, data: bytes, media_type: str, filename: str
) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        picture = await downloader.fetch(local(server, path) + "?signature=abc", max_bytes=CAP)

    assert picture == Picture(data=data, media_type=media_type, filename=filename)


async def test_type_and_extension_come_from_the_bytes_not_the_url(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        picture = await downloader.fetch(local(server, "/pictures/photo.jpg"), max_bytes=CAP)
        renamed = await downloader.fetch(local(server, "/hops/0"), max_bytes=CAP)

    assert picture.media_type == "image/jpeg"  # served as application/octet-stream
    assert renamed.filename == "0.png"  # the stem of the URL asked for, the extension of the bytes


async def test_unsafe_file_name_becomes_picture(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        picture = await downloader.fetch(local(server, "/pictures/odd%20name!.png"), max_bytes=CAP)

    assert picture.filename == "picture.png"


async def test_a_picture_exactly_at_the_limit_is_accepted(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        picture = await downloader.fetch(local(server, "/pictures/cat.png"), max_bytes=len(PNG))

    assert picture.data == PNG


async def test_follows_relative_redirects_up_to_the_limit(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True, max_redirects=3) as downloader:
        picture = await downloader.fetch(local(server, "/hops/2"), max_bytes=CAP)

    assert picture.data == PNG


async def test_localhost_is_fetched_when_private_addresses_are_allowed(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        picture = await downloader.fetch(local(server, "/pictures/cat.png", host="localhost"), max_bytes=CAP)

    assert picture.data == PNG


async def test_the_guard_connects_to_the_resolved_public_address(
    server: TestServer, connections: list[str], treat_loopback_as_public: None
) -> None:
    resolver = MapResolver(FAKE_DNS)
    async with PictureDownloader(resolver=resolver) as downloader:
        picture = await downloader.fetch(local(server, "/pictures/cat.png", host="loopback.example.com"), max_bytes=CAP)

    assert picture.data == PNG
    assert resolver.asked == ["loopback.example.com"]
    assert connections == ["127.0.0.1"]


# --- Refusals: scheme and address --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://cdn.example.com/picture.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "gopher://cdn.example.com/",
        "http:///no-host",
    ],
)
async def test_refuses_other_schemes_without_connecting(url: str, connections: list[str]) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(NotAllowedError) as caught:
            await downloader.fetch(url, max_bytes=CAP)

    assert caught.value.user_message == "The picture's address is not allowed, so it was not downloaded."
    assert connections == []


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "10.0.0.5", "169.254.169.254", "[::ffff:127.0.0.1]", "2130706433", "127.1"]
)
async def test_refuses_a_literal_private_ip_before_connecting(
    server: TestServer, host: str, connections: list[str]
) -> None:
    async with PictureDownloader() as downloader:
        with pytest.raises(NotAllowedError) as caught:
            await downloader.fetch(local(server, "/pictures/cat.png", host=host), max_bytes=CAP)

    assert "not allowed" in caught.value.user_message
    assert connections == []


async def test_refuses_localhost_by_its_resolved_address(server: TestServer, connections: list[str]) -> None:
    async with PictureDownloader() as downloader:
        with pytest.raises(NotAllowedError, match="localhost resolves only to non-public addresses") as caught:
            await downloader.fetch(local(server, "/pictures/cat.png", host="localhost"), max_bytes=CAP)

    assert "not allowed" in caught.value.user_message
    assert connections == []


@pytest.mark.parametrize("name", ["pictures.example.com", "loopback.example.com", "metadata.example.com"])
async def test_refuses_a_public_looking_name_that_resolves_to_a_private_address(
    server: TestServer, name: str, connections: list[str]
) -> None:
    resolver = MapResolver(FAKE_DNS)
    async with PictureDownloader(resolver=resolver) as downloader:
        with pytest.raises(NotAllowedError, match=re.escape(f"{name} resolves only to non-public")) as caught:
            await downloader.fetch(local(server, "/pictures/cat.png", host=name), max_bytes=CAP)

    assert "not allowed" in caught.value.user_message
    assert resolver.asked == [name]
    assert connections == []  # refused before any connection, so 10.0.0.5 never saw a packet


async def test_a_redirect_is_checked_like_the_first_url(
    server: TestServer, connections: list[str], treat_loopback_as_public: None
) -> None:
    resolver = MapResolver(FAKE_DNS)
    async with PictureDownloader(resolver=resolver) as downloader:
        with pytest.raises(NotAllowedError, match=r"10\.0\.0\.5 is not a public address"):
            await downloader.fetch(local(server, "/to-private-ip"), max_bytes=CAP)
        with pytest.raises(NotAllowedError, match=r"pictures\.example\.com resolves only to non-public"):
            await downloader.fetch(local(server, "/to-private-name"), max_bytes=CAP)

    assert connections == ["127.0.0.1"]  # one connection to the first server, reused; none to 10.0.0.5


@pytest.mark.parametrize("path", ["/to-file", "/to-ftp"])
async def test_refuses_a_redirect_to_another_scheme(server: TestServer, path: str) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(NotAllowedError, match="is not http"):
            await downloader.fetch(local(server, path), max_bytes=CAP)


# --- Refusals: redirects, size, type, status, time ---------------------------------------------------------------


async def test_refuses_more_redirects_than_allowed(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True, max_redirects=3) as downloader:
        with pytest.raises(TooManyRedirectsError, match="more than 3 redirects") as caught:
            await downloader.fetch(local(server, "/hops/3"), max_bytes=CAP)

    assert caught.value.user_message == "The picture's address redirected too many times."


async def test_no_redirect_is_followed_when_none_is_allowed(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True, max_redirects=0) as downloader:
        with pytest.raises(TooManyRedirectsError):
            await downloader.fetch(local(server, "/hops/0"), max_bytes=CAP)


async def test_refuses_a_redirect_loop(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True, max_redirects=10) as downloader:
        with pytest.raises(TooManyRedirectsError, match="redirect loop"):
            await downloader.fetch(local(server, "/loop/a"), max_bytes=CAP)


async def test_refuses_a_declared_length_over_the_cap_without_reading(server: TestServer) -> None:
    started = time.monotonic()
    async with PictureDownloader(allow_private=True, timeout=1.5) as downloader:
        with pytest.raises(TooLargeError, match="declares 2097152 bytes") as caught:
            await downloader.fetch(local(server, "/big-declared"), max_bytes=CAP)

    assert time.monotonic() - started < 1.0  # the body stalls, so reading it would have timed out
    assert caught.value.limit == CAP
    assert caught.value.user_message == "The picture is larger than the upload limit of 1 MB."


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
async def test_refuses_a_body_over_the_cap(server: TestServer, path: str) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(TooLargeError) as caught:
            await downloader.fetch(local(server, path), max_bytes=CAP)

    assert "upload limit of 1 MB" in caught.value.user_message


async def test_one_byte_over_the_limit_is_refused(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(TooLargeError) as caught:
            await downloader.fetch(local(server, "/pictures/cat.png"), max_bytes=len(PNG) - 1)

    assert caught.value.user_message == f"The picture is larger than the upload limit of {describe_size(len(PNG) - 1)}."


async def test_an_encoded_body_is_refused_as_received_and_never_inflated(server: TestServer) -> None:
    assert len(gzip_bomb()) < CAP // 16  # made before measuring: the server holds only these bytes
    tracemalloc.start()
    try:
        async with PictureDownloader(allow_private=True) as downloader:
            with pytest.raises(NotAnImageError):
                await downloader.fetch(local(server, "/gzipped"), max_bytes=CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < CAP  # inflated, the body would be 16 MiB; even the cap's worth of it would not fit


@pytest.mark.parametrize("path", ["/error.png", "/vector.svg", "/empty"])
async def test_refuses_what_is_not_a_picture_whatever_its_content_type(server: TestServer, path: str) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(NotAnImageError) as caught:
            await downloader.fetch(local(server, path), max_bytes=CAP)

    assert caught.value.user_message == "The download is not a PNG, JPEG, WebP or GIF picture."


async def test_a_missing_picture_is_reported_with_its_status(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(DownloadFailedError) as caught:
            await downloader.fetch(local(server, "/nothing-here.png"), max_bytes=CAP)

    assert caught.value.status == 404
    assert caught.value.user_message == "The picture is no longer available (HTTP 404). Please try again."


async def test_a_redirect_without_location_fails(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(DownloadFailedError, match="redirect without Location") as caught:
            await downloader.fetch(local(server, "/no-location"), max_bytes=CAP)

    assert caught.value.status == 302
    assert "HTTP 302" in caught.value.user_message


async def test_a_body_cut_short_is_reported(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True) as downloader:
        with pytest.raises(DownloadFailedError, match="ClientPayloadError") as caught:
            await downloader.fetch(local(server, "/cut-short"), max_bytes=CAP)

    assert caught.value.status is None
    assert "could not be downloaded" in caught.value.user_message


async def test_a_closed_port_is_reported_as_unreachable(server: TestServer) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        async with PictureDownloader(allow_private=True) as downloader:
            with pytest.raises(DownloadFailedError, match="cannot connect") as caught:
                await downloader.fetch(f"http://127.0.0.1:{port}/cat.png", max_bytes=CAP)

    assert caught.value.status is None
    assert "cannot be reached" in caught.value.user_message


@pytest.mark.parametrize("path", ["/stall", "/stall-in-body", "/to-stall", "/slow-hops/3"])
async def test_one_deadline_covers_the_whole_download(server: TestServer, path: str) -> None:
    started = time.monotonic()
    async with PictureDownloader(allow_private=True, timeout=0.3) as downloader:
        with pytest.raises(DownloadTimeoutError) as caught:
            await downloader.fetch(local(server, path), max_bytes=CAP)

    assert time.monotonic() - started < 1.5
    assert caught.value.user_message == "The picture took too long to download (0.3 s). Please try again."


async def test_slow_hops_within_the_deadline_succeed(server: TestServer) -> None:
    async with PictureDownloader(allow_private=True, timeout=1.5) as downloader:
        picture = await downloader.fetch(local(server, "/slow-hops/1"), max_bytes=CAP)

    assert picture.data == PNG


async def test_logs_never_show_the_query(server: TestServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="bot.core.downloads")
    async with PictureDownloader(allow_private=True) as downloader:
        await downloader.fetch(local(server, "/hops/1?token=s3cret"), max_bytes=CAP)
        with pytest.raises(DownloadFailedError) as caught:
            await downloader.fetch(local(server, "/gone-for-good?token=s3cret"), max_bytes=CAP)

    assert "/hops/1" in caplog.text
    assert "s3cret" not in caplog.text
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in caught.value.user_message


async def test_a_closed_downloader_refuses_to_fetch() -> None:
    downloader = PictureDownloader()
    await downloader.close()
    with pytest.raises(RuntimeError):
        await downloader.fetch("https://cdn.example.com/cat.png", max_bytes=CAP)


# --- The guard, the classifier and the sniffer, without traffic --------------------------------------------------


async def test_guard_passes_a_public_address() -> None:
    guard = GuardedResolver(MapResolver(FAKE_DNS))

    results = await guard.resolve("cdn.example.com", 443, socket.AF_UNSPEC)

    assert [(result["host"], result["port"]) for result in results] == [(PUBLIC_IP, 443)]


async def test_guard_keeps_only_the_public_addresses_of_a_mixed_answer() -> None:
    guard = GuardedResolver(MapResolver(FAKE_DNS))

    results = await guard.resolve("mixed.example.com", 80)

    assert [result["host"] for result in results] == [PUBLIC_IP]


@pytest.mark.parametrize("name", ["pictures.example.com", "mapped.example.com", "metadata.example.com"])
async def test_guard_refuses_a_name_with_only_private_addresses(name: str) -> None:
    guard = GuardedResolver(MapResolver(FAKE_DNS))

    with pytest.raises(NotAllowedError, match="resolves only to non-public addresses"):
        await guard.resolve(name, 80)


async def test_guard_passes_lookup_failures_through() -> None:
    guard = GuardedResolver(MapResolver(FAKE_DNS))

    with pytest.raises(socket.gaierror):
        await guard.resolve("unknown.example.com", 80)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.5",
        "0.0.0.0",
        "::",
        "100.64.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "2002:a00:5::",  # 6to4 wrapping 10.0.0.5
        "64:ff9b::7f00:1",  # NAT64 wrapping 127.0.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::808:808",  # IPv4-compatible, deprecated whatever it wraps
        "not an address",
        "localhost",
    ],
)
def test_classifier_refuses_non_public_addresses(address: str) -> None:
    assert is_public_address(address) is False


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::", "64:ff9b::808:808"]
)
def test_classifier_allows_public_addresses(address: str) -> None:
    assert is_public_address(address) is True


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        pytest.param(PNG, "image/png", id="png"),
        pytest.param(JPEG, "image/jpeg", id="jpeg"),
        pytest.param(GIF, "image/gif", id="gif89a"),
        pytest.param(b"GIF87a" + bytes(10), "image/gif", id="gif87a"),
        pytest.param(WEBP, "image/webp", id="webp"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp", id="webp-header"),
        pytest.param(b"RIFF\x10\x00\x00\x00WAVEfmt ", None, id="riff-wave"),
        pytest.param(HTML, None, id="html"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"/>', None, id="svg"),
        pytest.param(b"\x89PNG\r\n", None, id="png-cut-short"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_sniffer_reads_the_magic_bytes(data: bytes, media_type: str | None) -> None:
    assert sniff_media_type(data) == media_type


@pytest.mark.parametrize(
    ("path", "filename"),
    [
        ("/pictures/cat.png", "cat.png"),
        ("/pictures/cat.jpg", "cat.png"),
        ("/a/b/result_01-final", "result_01-final.png"),
        ("/", "picture.png"),
        ("/pictures/..png", "picture.png"),
        ("/pictures/%E7%8C%AB.png", "picture.png"),
        ("/pictures/a.b.png", "picture.png"),
        ("/" + "x" * 65 + ".png", "picture.png"),
    ],
)
def test_file_name_stem_comes_from_a_simple_url_path(path: str, filename: str) -> None:
    assert filename_for(URL("https://cdn.example.com" + path), "image/png") == filename


@pytest.mark.parametrize(("size", "text"), [(25 * MIB, "25 MB"), (8 * MIB + MIB // 2, "8.5 MB"), (1000, "1 KB")])
def test_sizes_are_described_as_people_read_upload_limits(size: int, text: str) -> None:
    assert describe_size(size) == text


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (TooLargeError(1_000_000), "larger than the upload limit of 977 KB"),
        (DownloadFailedError(), "its server cannot be reached"),
        (DownloadFailedError(404), "no longer available (HTTP 404)"),
    ],
)
def test_errors_made_without_a_detail_still_say_what_happened(error: DownloadError, says: str) -> None:
    assert says in error.user_message
    assert str(error)  # and making or printing one never fails
