"""What one chat request asks the fusion emulator for: its body fields and directives.

:func:`validate_chat_request` checks the JSON body like the service does and fills in
defaults. Tests and developers also steer the emulator by writing ``[emu:key]`` or
``[emu:key=value]`` anywhere in the last user message: :func:`parse_directives` strips
those tokens from the text and returns them as a frozen :class:`Directives`, where every
field left at ``None`` means "use the emulator's configured default". Both raise a
:class:`RequestError` whose message names the offending field or directive.

``echo`` makes the answer exactly the message with its tokens cut out (:func:`without_directives`), not stripped.
``no-usage`` leaves ``usage`` out of every envelope, and ``tokens=N`` makes it report ``N`` tokens in all, so that
a client's counting of both cases can be tested.

The ``picture-*`` directives (``picture-type``, ``picture-fault``, ``picture-redirects``,
``picture-bytes``) shape how a drawn picture's URL behaves; ``picture_server`` documents them.
They, like ``picture-delay``, are ignored when the request is not drawn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.emulator.picture_server import MAX_PICTURE_BYTES, MAX_REDIRECTS, PICTURE_FAULTS
from bot.emulator.pictures import MAX_SEED, PICTURE_TYPES, parse_size

DIRECTIVE_PATTERN = re.compile(r" ?\[emu:([A-Za-z_-]+)(?:=([^\]]*))?\]")
BARE_DIRECTIVE_PATTERN = re.compile(r"\[emu:[A-Za-z_-]+(?:=[^\]]*)?\]")
FINISH_REASON_PATTERN = re.compile(r"[a-z_]{1,32}")
FAIL_PATTERN = re.compile(r"(\d{1,4})x(\d{3})")
DEFAULT_MODEL = "Artist_V0.1.3"
CONTROLNET_MODELS = (
    "openpose", "canny", "depth", "fake_scribble", "scribble", "hed", "hough", "normal", "seg",
)  # fmt: skip


class RequestError(ValueError):
    """The request is invalid (answered with HTTP 400); the message names the culprit."""


class DirectiveError(RequestError):
    """A directive in the prompt is unknown or has an invalid value."""


@dataclass(frozen=True)
class Directives:
    """Behaviour requested by one chat request; ``None`` means the configured default."""

    envelope: str | None = None
    framing: str | None = None
    crlf: bool | None = None
    comments: bool | None = None
    send_done: bool | None = None
    chunk: int | None = None
    delay: float | None = None
    status: int | None = None
    retry_after: str | None = None
    fail: tuple[int, int] | None = None
    code: int | None = None
    data_status: int | None = None
    refuse: str | None = None
    finish: str | None = None
    drop: int | None = None
    stall_start: float | None = None
    stall: float | None = None
    plain: bool = False
    words: bool = False
    echo: bool = False
    picture_delay: float | None = None
    length: int | None = None
    picture_type: str | None = None
    picture_fault: str | None = None
    picture_redirects: int | None = None
    picture_bytes: int | None = None
    no_usage: bool = False
    tokens: int | None = None


def _flag(value: str | None) -> bool:
    if value not in (None, ""):
        raise ValueError("takes no value")
    return True


def _choice(*allowed: str) -> Callable[[str | None], str]:
    def parse(value: str | None) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return value

    return parse


def _int_between(low: int, high: int) -> Callable[[str | None], int]:
    def parse(value: str | None) -> int:
        try:
            number = int(value or "")
        except ValueError:
            raise ValueError("expected an integer") from None
        if not low <= number <= high:
            raise ValueError(f"expected an integer in {low}..{high}")
        return number

    return parse


def _seconds(value: str | None) -> float:
    try:
        seconds = float(value or "")
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not 0 <= seconds <= 600:
        raise ValueError("expected seconds in 0..600")
    return seconds


def _retry_after(value: str | None) -> str:
    # Any header text is allowed so tests can also script HTTP-date values.
    if not value or not value.strip():
        raise ValueError("expected a header value")
    return value.strip()


def _fail(value: str | None) -> tuple[int, int]:
    match = FAIL_PATTERN.fullmatch(value or "")
    if match is None:
        raise ValueError("expected KxNNN, e.g. 2x503")
    times, status = int(match.group(1)), int(match.group(2))
    if not 400 <= status <= 599:
        raise ValueError("expected an HTTP error status in 400..599")
    return times, status


def _finish_reason(value: str | None) -> str:
    if value is None or FINISH_REASON_PATTERN.fullmatch(value) is None:
        raise ValueError("expected a finish reason such as sensitive")
    return value


# directive name -> (Directives field, value parser)
_PARSERS: dict[str, tuple[str, Callable[[str | None], Any]]] = {
    "envelope": ("envelope", _choice("old", "new")),
    "framing": ("framing", _choice("space", "nospace")),
    "crlf": ("crlf", _flag),
    "comments": ("comments", _flag),
    "no-done": ("send_done", lambda value: not _flag(value)),
    "chunk": ("chunk", _int_between(1, 1_000_000)),
    "delay": ("delay", _seconds),
    "status": ("status", _int_between(400, 599)),
    "retry-after": ("retry_after", _retry_after),
    "fail": ("fail", _fail),
    "code": ("code", _int_between(-1_000_000, 1_000_000)),
    "data-status": ("data_status", _int_between(-1_000_000, 1_000_000)),
    "refuse": ("refuse", _choice("moderation", "model")),
    "finish": ("finish", _finish_reason),
    "drop": ("drop", _int_between(0, 1_000_000)),
    "stall-start": ("stall_start", _seconds),
    "stall": ("stall", _seconds),
    "plain": ("plain", _flag),
    "words": ("words", _flag),
    "echo": ("echo", _flag),
    "picture-delay": ("picture_delay", _seconds),
    "length": ("length", _int_between(1, 1_000_000)),
    "picture-type": ("picture_type", _choice(*PICTURE_TYPES)),
    "picture-fault": ("picture_fault", _choice(*PICTURE_FAULTS)),
    "picture-redirects": ("picture_redirects", _int_between(0, MAX_REDIRECTS)),
    "picture-bytes": ("picture_bytes", _int_between(1, MAX_PICTURE_BYTES)),
    "no-usage": ("no_usage", _flag),
    "tokens": ("tokens", _int_between(0, 1_000_000_000)),
}

DIRECTIVE_NAMES: tuple[str, ...] = tuple(_PARSERS)

assert {field for field, _ in _PARSERS.values()} == {f.name for f in fields(Directives)}


def parse_directives(text: str) -> tuple[str, Directives]:
    """Strip every ``[emu:...]`` token from ``text`` and parse them; later tokens win.

    Raises :class:`DirectiveError` naming the directive when one is unknown or invalid.
    """
    values: dict[str, Any] = {}
    for match in DIRECTIVE_PATTERN.finditer(text):
        name, raw_value = match.group(1).lower(), match.group(2)
        field, parser = _lookup(name)
        try:
            values[field] = parser(raw_value)
        except ValueError as error:
            raise DirectiveError(f"invalid emulator directive [emu:{name}]: {error}") from None
    cleaned = DIRECTIVE_PATTERN.sub("", text).strip()
    return cleaned, replace(Directives(), **values)


def without_directives(text: str) -> str:
    """``text`` with only its ``[emu:...]`` tokens cut out: the spaces around them, and at either end, stay."""
    return BARE_DIRECTIVE_PATTERN.sub("", text)


def _lookup(name: str) -> tuple[str, Callable[[str | None], Any]]:
    try:
        return _PARSERS[name]
    except KeyError:
        known = ", ".join(DIRECTIVE_NAMES)
        raise DirectiveError(f"unknown emulator directive [emu:{name}] (known: {known})") from None


# --- body fields ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRequest:
    """A validated request body with defaults filled in."""

    messages: list[dict[str, str]]
    temperature: float
    top_p: float
    max_new_tokens: int
    stream: bool
    user_id: str
    mh_key: str
    model: str
    width: int
    height: int
    seed: int
    scale: int


def validate_chat_request(body: dict[str, Any]) -> ChatRequest:
    """Check the body like the service does; absent image fields fall back to defaults."""
    messages = _messages(body)
    temperature = _field(body, "temperature", 0.8, float)
    _require(0 < temperature <= 2, "temperature must be in (0, 2]")
    top_p = _field(body, "top_p", 0.7, float)
    _require(0 < top_p <= 1, "top_p must be in (0, 1]")
    max_new_tokens = _field(body, "max_new_tokens", 2048, int)
    _require(max_new_tokens >= 1, "max_new_tokens must be >= 1")
    _require(_field(body, "repetition_penalty", 1.0, float) > 0, "repetition_penalty must be > 0")
    user_id = _field(body, "user_id", None, str)
    _require(bool(user_id), "user_id is required and must not be empty")
    width, height = _output_size(body)
    seed = _field(body, "mh_select_seed", -1, int)
    _require(seed == -1 or 0 <= seed <= MAX_SEED, f"mh_select_seed must be -1 or in 0..{MAX_SEED}")
    scale = _field(body, "mh_scale", 7, int)
    _require(1 <= scale <= 20, "mh_scale must be in 1..20")
    controlnet = _field(body, "mh_controlnet_model", "", str)
    _require(controlnet in ("", *CONTROLNET_MODELS), "mh_controlnet_model is not a known model")
    return ChatRequest(
        messages=messages,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        stream=_field(body, "stream", False, bool),
        user_id=user_id,
        mh_key=_field(body, "mh_key", "", str),
        model=_field(body, "mh_model_name", DEFAULT_MODEL, str),
        width=width,
        height=height,
        seed=seed,
        scale=scale,
    )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RequestError(message)


def _field(body: dict[str, Any], name: str, default: Any, kind: type) -> Any:
    """``body[name]`` checked against ``kind`` (bool is not a number, int is a float)."""
    if name not in body:
        return default
    value = body[name]
    accepted = (int, float) if kind is float else kind
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, accepted):
        raise RequestError(f"{name} must be of type {'number' if kind is float else kind.__name__}")
    return value


def _output_size(body: dict[str, Any]) -> tuple[int, int]:
    size = parse_size(_field(body, "mh_output_size", "960x960", str))
    if size is None:
        raise RequestError("mh_output_size must be WxH with each side in 64..2048")
    return size


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    _require("messages" in body, "messages is required")
    messages = body["messages"]
    _require(isinstance(messages, list) and len(messages) > 0, "messages must be a non-empty array")
    for index, message in enumerate(messages):
        _require(isinstance(message, dict), f"messages[{index}] must be an object")
        role_ok = message.get("role") in ("user", "assistant")
        _require(role_ok, f"messages[{index}].role must be user or assistant")
        _require(isinstance(message.get("content"), str), f"messages[{index}].content must be a string")
    _require(messages[-1]["role"] == "user", "messages: the last message must have role user")
    return [{"role": message["role"], "content": message["content"]} for message in messages]
