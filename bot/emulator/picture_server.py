"""Serving the emulator's pictures at their URLs, and the URL faults tests script.

A drawing answer's URL is ``http://{host}/pictures/{id}.{ext}`` with ``ext`` one of png, jpg,
webp, gif after the picture's type; a URL whose extension does not match 404s. Directives in
the drawing request (see ``directives``) make that URL misbehave, so the bot's picture
downloader can be tested end to end:

- ``[emu:picture-type=png|jpeg|webp|gif]``: encode the picture so (default png).
- ``[emu:picture-redirects=N]``: the URL answers 302 N times, through
  ``/pictures/hop/{k}/{id}.{ext}`` for k = 1..N, before the picture (or the fault below).
- ``[emu:picture-fault=KIND]``, where the picture would have been served:

  - ``missing``: 404 with the JSON error body.
  - ``not-image``: 200, ``Content-Type`` claiming the picture's type, and an HTML page as body.
  - ``huge``: 200, chunked with no ``Content-Length``: the picture's bytes then zeros, exactly
    ``[emu:picture-bytes=N]`` bytes in all (default 12 MiB; the picture is cut short when N is
    smaller), written 64 KiB at a time.
  - ``huge-declared``: the same with ``Content-Length: N`` declared.
  - ``redirect-loop``: 302 from the answer's URL to ``/pictures/hop/1/...`` and back, forever
    (``picture-redirects`` is ignored).
  - ``stall``: 200 with headers and the picture's ``Content-Length``, then no body at all until
    the client gives up, the app shuts down, or :data:`STALL_LIMIT` seconds pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot.emulator import answers
from bot.emulator.pictures import PictureStore, StoredPicture

log = logging.getLogger(__name__)

PICTURE_FAULTS = ("missing", "not-image", "huge", "huge-declared", "redirect-loop", "stall")
MAX_REDIRECTS = 20
MAX_PICTURE_BYTES = 1 << 30
HUGE_CHUNK = 64 * 1024
STALL_LIMIT = 600.0
STALL_CHECK_INTERVAL = 1.0  # how often a stalled answer looks whether its client went away
NOT_IMAGE_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>Link expired</title></head>\n"
    b"<body><h1>403</h1><p>This picture link has expired.</p></body></html>\n"
)

PICTURES_KEY = web.AppKey("emulator_pictures", PictureStore)
CLOSING_KEY = web.AppKey("emulator_closing", asyncio.Event)

_ZEROS = memoryview(bytes(HUGE_CHUNK))


def setup_pictures(app: web.Application, store: PictureStore) -> None:
    """Serve the pictures in ``store`` on ``app``; stalled answers end when the app shuts down."""
    app[PICTURES_KEY] = store
    app[CLOSING_KEY] = asyncio.Event()
    app.router.add_get("/pictures/{picture_id}.{extension}", handle_picture)
    app.router.add_get(r"/pictures/hop/{hop:\d{1,3}}/{picture_id}.{extension}", handle_picture)
    app.on_shutdown.append(_release_stalls)


async def _release_stalls(app: web.Application) -> None:
    app[CLOSING_KEY].set()


def picture_url(host: str, picture_id: str, picture: StoredPicture, hop: int = 0) -> str:
    """The URL of ``picture`` on ``host``: the answer's URL at hop 0, else the ``hop``-th redirect target."""
    name = f"{picture_id}.{picture.type.extension}"
    return f"http://{host}/pictures/{name}" if hop == 0 else f"http://{host}/pictures/hop/{hop}/{name}"


async def handle_picture(request: web.Request) -> web.StreamResponse:
    picture_id = request.match_info["picture_id"]
    picture = request.app[PICTURES_KEY].get(picture_id)
    if picture is None or request.match_info["extension"] != picture.type.extension:
        return _not_found()
    hop = int(request.match_info.get("hop", "0"))
    if picture.fault == "redirect-loop":
        return _redirect(picture_url(request.host, picture_id, picture, 1 if hop == 0 else 0))
    if hop < picture.redirects:
        return _redirect(picture_url(request.host, picture_id, picture, hop + 1))
    if hop > picture.redirects:
        return _not_found()
    return await _serve(request, picture)


async def _serve(request: web.Request, picture: StoredPicture) -> web.StreamResponse:
    media_type = picture.type.media_type
    if picture.fault == "missing":
        return _not_found()
    if picture.fault == "not-image":
        return web.Response(body=NOT_IMAGE_BODY, content_type=media_type)
    if picture.fault in ("huge", "huge-declared"):
        return await _serve_huge(request, picture, declared=picture.fault == "huge-declared")
    if picture.fault == "stall":
        return await _stall(request, picture)
    return web.Response(body=picture.data, content_type=media_type)


def _not_found() -> web.Response:
    return web.json_response(answers.http_error_body(404), status=404, dumps=answers.dumps)


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


async def _serve_huge(request: web.Request, picture: StoredPicture, *, declared: bool) -> web.StreamResponse:
    """The picture's bytes then zeros, ``picture.size`` bytes in all, without building them in memory."""
    response = web.StreamResponse(headers={"Content-Type": picture.type.media_type})
    if declared:
        response.content_length = picture.size
    else:
        response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        head = picture.data[: picture.size]
        await response.write(head)
        remaining = picture.size - len(head)
        while remaining > 0:
            piece = _ZEROS[: min(remaining, HUGE_CHUNK)]
            await response.write(piece)
            remaining -= len(piece)
        await response.write_eof()
    except ConnectionError:
        log.debug("client stopped reading a huge picture on %s", request.path)
    return response


async def _stall(request: web.Request, picture: StoredPicture) -> web.StreamResponse:
    """Send the headers, then nothing, until the client goes away or the app shuts down."""
    response = web.StreamResponse(headers={"Content-Type": picture.type.media_type})
    response.content_length = len(picture.data)
    closing = request.app[CLOSING_KEY]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STALL_LIMIT
    try:
        await response.prepare(request)
        while not closing.is_set() and not _client_gone(request) and loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), STALL_CHECK_INTERVAL)
    except ConnectionError:
        pass
    # The promised body never comes: close instead of leaving the connection open for reuse.
    if request.transport is not None:
        request.transport.close()
    return response


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
