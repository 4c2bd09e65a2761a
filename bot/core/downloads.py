"""Download the pictures the fusion API answers with, so the bot can re-upload them as files.

The API gives a picture as a URL that may expire, so the bot fetches the bytes at once. The URL comes from a remote
service, which makes this fetch a server-side request forgery target: only http(s), a bounded number of redirects,
each re-checked; one deadline for the whole fetch; a size cap (the caller passes the upload limit) on the bytes as
received, which are never inflated; the type taken from the bytes, never from the headers; and no connection to a
loopback, private, link-local or otherwise non-public address unless `allow_private` is set
(IMAGE_FETCH_ALLOW_PRIVATE, for local testing).

The address check runs on the addresses the connector actually connects to (`GuardedResolver`), so a name that
resolves, or re-resolves, to an internal address is refused too. That is why `PictureDownloader` owns an
`aiohttp.ClientSession` of its own, distinct from the API client's: its connector carries the guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.core.errors import ServiceError

log = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
GONE_STATUSES = frozenset({403, 404, 410})
CHUNK_SIZE = 64 * 1024
SNIFF_LENGTH = 12  # enough bytes for every signature below (WebP needs 12)
MIB = 1024 * 1024
KIB = 1024
DEFAULT_FILENAME_STEM = "picture"
USER_AGENT = "fusionbot-picture-downloader"

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
_SAFE_STEM = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NUMERIC_HOST = re.compile(r"[0-9.]+")


@dataclass(frozen=True, slots=True)
class Picture:
    """A downloaded picture: its bytes, the type sniffed from them, and a file name to upload it under."""

    data: bytes
    media_type: str
    filename: str


class DownloadError(ServiceError):
    """Base of every failure of a picture download; `user_message` is fit to show a Discord user."""

    default_message = "The picture could not be downloaded. Please try again."


class NotAllowedError(DownloadError):
    """The URL's scheme is not http(s), or its host is (or resolves only to) a non-public address."""

    default_message = "The picture's address is not allowed, so it was not downloaded."


class TooLargeError(DownloadError):
    """The picture is bigger than `limit` bytes (declared by Content-Length or counted while reading)."""

    def __init__(self, limit: int, detail: str = "") -> None:
        super().__init__(detail)
        self.limit = limit

    @property
    def user_message(self) -> str:
        return f"The picture is larger than the upload limit of {describe_size(self.limit)}."


class NotAnImageError(DownloadError):
    """The bytes are not a PNG, JPEG, WebP or GIF picture, whatever the Content-Type said."""

    default_message = "The download is not a PNG, JPEG, WebP or GIF picture."


class TooManyRedirectsError(DownloadError):
    """The URL redirected more times than allowed, or in a loop."""

    default_message = "The picture's address redirected too many times."


class DownloadTimeoutError(DownloadError):
    """A time limit ran out: `seconds` is the limit (the whole fetch, or the connection)."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"timeout after {seconds:g} s")
        self.seconds = seconds

    @property
    def user_message(self) -> str:
        return f"The picture took too long to download ({self.seconds:g} s). Please try again."


class DownloadFailedError(DownloadError):
    """The server answered with a non-2xx `status`, or (status None) no connection or no whole answer was had."""

    def __init__(self, status: int | None = None, detail: str = "") -> None:
        super().__init__(detail or (f"HTTP {status}" if status is not None else ""))
        self.status = status

    @property
    def user_message(self) -> str:
        if self.status in GONE_STATUSES:
            return f"The picture is no longer available (HTTP {self.status}). Please try again."
        if self.status is not None:
            return f"The picture could not be downloaded (HTTP {self.status}). Please try again."
        return "The picture could not be downloaded: its server cannot be reached. Please try again."


def describe_size(size: int) -> str:
    """A byte count as people read upload limits: '25 MB', '8.5 MB', or KB below one megabyte."""
    if size >= MIB:
        return f"{round(size / MIB, 1):g} MB"
    return f"{max(1, round(size / KIB))} KB"


def is_public_address(host: str) -> bool:
    """Whether `host`, an IP address, may be connected to: not loopback, private, link-local, multicast, etc.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, NAT64) are judged by that address; the deprecated
    IPv4-compatible ones (::/96) fall in the reserved ::/8. Anything that is not an IP address is not public.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return _is_plainly_global(embedded)
    return _is_plainly_global(address)


def _is_plainly_global(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # `is_global` alone lets multicast (224.0.0.0/4) and some reserved ranges through.
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if it is one of those."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def sniff_media_type(data: bytes) -> str | None:
    """The picture type the leading bytes say (PNG, JPEG, GIF, WebP), or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def filename_for(url: URL, media_type: str) -> str:
    """`stem.ext`: the stem of the URL's last path segment if it is simple, else 'picture'; ext from the type."""
    name = PurePosixPath(url.path).name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if not _SAFE_STEM.fullmatch(stem):
        stem = DEFAULT_FILENAME_STEM
    return f"{stem}.{EXTENSIONS[media_type]}"


def loggable(url: URL) -> str:
    """The URL without credentials, query or fragment: picture URLs may be signed."""
    host = url.raw_host or ""
    port = f":{url.explicit_port}" if url.explicit_port is not None else ""
    return f"{url.scheme}://{host}{port}{url.raw_path}"


def parse_url(raw: str) -> URL:
    """The URL as yarl reads it; NotAllowedError if it is not one."""
    try:
        return URL(raw)
    except (ValueError, TypeError) as error:
        raise NotAllowedError("not a valid URL") from error


def check_url(url: URL, *, allow_private: bool) -> None:
    """Refuse a scheme other than http(s), a missing host, and (unless `allow_private`) a non-public literal IP.

    Names are checked later, on the addresses they resolve to, by `GuardedResolver`. Literal IPs are checked here
    because aiohttp connects to them without asking the resolver.
    """
    if url.scheme not in ALLOWED_SCHEMES:
        raise NotAllowedError(f"scheme {url.scheme or '(none)'!r} is not http(s)")
    host = url.host
    if not host:
        raise NotAllowedError("the URL has no host")
    if allow_private:
        return
    if _is_ip_literal(host):
        if not is_public_address(host):
            raise NotAllowedError(f"{host} is not a public address")
    elif _NUMERIC_HOST.fullmatch(host):
        # 2130706433 or 127.1: legacy IPv4 spellings that the system would turn into an address.
        raise NotAllowedError(f"{host} is not a canonical IP address")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedResolver(AbstractResolver):
    """Resolves through `inner` and keeps only public addresses; NotAllowedError if none is left.

    Because the connector connects only to what this returns, a name cannot lead to an internal address, even if
    its DNS answer changes between a check and the connection.
    """

    def __init__(self, inner: AbstractResolver) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [result for result in results if is_public_address(result["host"])]
        if not allowed:
            raise NotAllowedError(f"{host} resolves only to non-public addresses")
        if len(allowed) < len(results):
            log.warning("Picture host %s also resolves to non-public addresses; those are skipped", host)
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class PictureDownloader:
    """Fetches picture URLs into `Picture`s under the rules in this module's docstring.

    Use as `async with PictureDownloader(...) as downloader:` or call `close()`. The session (with its guarded
    connector) is created on first use, inside the running event loop. `resolver` replaces aiohttp's default
    resolver under the guard (tests use it); the downloader closes only a resolver it created itself.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_redirects: int = 3,
        resolver: AbstractResolver | None = None,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        self._allow_private = allow_private
        self._timeout = timeout
        self._connect_timeout = min(connect_timeout, timeout)
        self._max_redirects = max_redirects
        self._given_resolver = resolver
        self._owned_resolver: AbstractResolver | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        resolver, self._owned_resolver = self._owned_resolver, None
        if resolver is not None:
            # A connector does not close a resolver it was handed, so the one made here is closed here.
            await resolver.close()

    async def fetch(self, url: str, *, max_bytes: int) -> Picture:
        """Download the picture at `url`, at most `max_bytes` long; raise a `DownloadError` subclass otherwise."""
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        start = parse_url(url)
        check_url(start, allow_private=self._allow_private)
        session = self._open_session()
        try:
            async with asyncio.timeout(self._timeout):
                data = await self._follow_and_read(session, start, max_bytes)
        except aiohttp.ServerTimeoutError as error:  # with no read timeout set, only the connect timeout raises it
            raise DownloadTimeoutError(self._connect_timeout, f"no connection to {loggable(start)}") from error
        except TimeoutError as error:
            raise DownloadTimeoutError(self._timeout, f"fetching {loggable(start)}") from error
        except aiohttp.InvalidURL:
            # Its message would repeat the whole URL, query included.
            raise DownloadFailedError(None, f"invalid URL {loggable(start)}") from None
        except aiohttp.ClientError as error:
            raise DownloadFailedError(None, f"{describe_client_error(error)} fetching {loggable(start)}") from error
        media_type = sniff_media_type(data)
        if media_type is None:
            raise NotAnImageError(f"{loggable(start)} is not a picture")
        log.debug("Downloaded %s: %s, %d bytes", loggable(start), media_type, len(data))
        return Picture(data=data, media_type=media_type, filename=filename_for(start, media_type))

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the picture downloader is closed")
        if self._session is None:
            inner = self._given_resolver
            if inner is None:
                inner = self._owned_resolver = aiohttp.DefaultResolver()
            resolver = inner if self._allow_private else GuardedResolver(inner)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout),
                # Pictures are compressed already, so they are asked for as they are; and a body encoded anyway
                # is never inflated (a small one can inflate past any limit): its raw bytes fail the type check.
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
                auto_decompress=False,
            )
        return self._session

    async def _follow_and_read(self, session: aiohttp.ClientSession, start: URL, max_bytes: int) -> bytes:
        """Follow up to `max_redirects` redirects by hand, checking each target, then read the picture's body."""
        url = start
        visited = {url}
        for _hop in range(self._max_redirects + 1):
            async with session.get(url, allow_redirects=False) as response:
                if response.status not in REDIRECT_STATUSES:
                    return await read_picture_body(response, url, max_bytes)
                url = redirect_target(url, response)
            check_url(url, allow_private=self._allow_private)
            if url in visited:
                raise TooManyRedirectsError(f"redirect loop back to {loggable(url)}")
            visited.add(url)
            log.debug("Picture download redirected to %s", loggable(url))
        raise TooManyRedirectsError(f"more than {self._max_redirects} redirects from {loggable(start)}")


def redirect_target(url: URL, response: aiohttp.ClientResponse) -> URL:
    """Where a redirect response points, resolved against the URL that answered it."""
    location = response.headers.get("Location")
    if not location:
        raise DownloadFailedError(response.status, f"redirect without Location from {loggable(url)}")
    return url.join(parse_url(location))


async def read_picture_body(response: aiohttp.ClientResponse, url: URL, max_bytes: int) -> bytes:
    """The body of a 2xx answer, refused as soon as it is too large or does not start like a picture."""
    if not 200 <= response.status < 300:
        raise DownloadFailedError(response.status, f"HTTP {response.status} from {loggable(url)}")
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise TooLargeError(max_bytes, f"{loggable(url)} declares {declared} bytes, over {max_bytes}")
    body = bytearray()
    sniffed = False
    # Count what arrives too: a chunked answer has no length, and a declared length may be wrong.
    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        body += chunk
        if len(body) > max_bytes:
            raise TooLargeError(max_bytes, f"{loggable(url)} sent more than {max_bytes} bytes")
        if not sniffed and len(body) >= SNIFF_LENGTH:
            if sniff_media_type(bytes(body[:SNIFF_LENGTH])) is None:
                raise NotAnImageError(f"{loggable(url)} does not start like a picture")
            sniffed = True
    return bytes(body)


def describe_client_error(error: aiohttp.ClientError) -> str:
    """A log line for an aiohttp error that never repeats the URL's query (connection errors name only host:port)."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect to {error.host}:{error.port} ({error.os_error})"
    return type(error).__name__
