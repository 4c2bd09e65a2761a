"""Reading the fusion API's answer envelopes, both generations, into text pieces and one final result.

Older envelopes use `code` 200 and send the whole text as `choices[0].message` in the last event; current ones use
`code` 0 and end with an empty delta and the real usage. A non-streamed answer carries `choices[0].content`.
A picture answer (`usage.picture` true) carries the picture's URL as its text, or a refusal in its place.
"""

from __future__ import annotations

from typing import Any

import orjson

from bot.core.fusion.errors import (
    MODERATION_FINISH_REASONS,
    FusionError,
    ModerationError,
    StreamInterruptedError,
    UpstreamError,
    error_for_status,
    refusal_in_content,
)
from bot.core.fusion.models import FinalResult, Usage
from bot.core.fusion.sse import SSEDecoder

_OK_CODES = (0, 200)
_DONE = "[DONE]"


def error_in_body(body: Any, status: int, retry_after_header: str | None = None) -> FusionError:
    """The error an HTTP error answer describes: `{"error": {"code", "message"}}`, an envelope, or anything."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return error_for_status(status, str(error.get("message", "")), retry_after_header=retry_after_header)
        if "msg" in body:
            return error_for_status(status, str(body["msg"]), retry_after_header=retry_after_header)
    return error_for_status(status, "", retry_after_header=retry_after_header)


class AnswerAssembler:
    """Accumulates envelopes into the answer; raises `FusionError` as soon as one reports a failure."""

    def __init__(self, *, model: str = "") -> None:
        self._model = model
        self._parts: list[str] = []
        self._snapshot: str | None = None
        self._finish_reason = ""
        self._usage: dict[str, Any] = {}
        self._answer_id = ""
        self._picture = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def finished(self) -> bool:
        return bool(self._finish_reason)

    def accept(self, envelope: Any) -> str:
        """Take one envelope; return the text it adds (none for a picture's URL)."""
        data, choice = _checked_parts(envelope)
        if answer_id := data.get("id"):
            self._answer_id = str(answer_id)
        self._read_usage(data.get("usage"))
        added = ""
        for key in ("delta", "content"):
            piece = choice.get(key)
            if piece and isinstance(piece, str):
                added += piece
        message = choice.get("message")
        if isinstance(message, str):
            self._snapshot = message
        finish_reason = choice.get("finish_reason")
        if finish_reason and isinstance(finish_reason, str):
            self._finish_reason = finish_reason
        if added:
            self._parts.append(added)
        if self._finish_reason and self._snapshot is not None:
            added += self._snapshot_remainder()
        return "" if self._picture else added

    def result(self) -> FinalResult:
        """The finished answer; raises if the service refused it or never finished it."""
        text = self._snapshot if self._snapshot is not None else self.text
        if not self._finish_reason:
            raise StreamInterruptedError("the stream ended before the answer was finished")
        if self._finish_reason in MODERATION_FINISH_REASONS:
            raise ModerationError(f"finish_reason {self._finish_reason}")
        picture_url = None
        if self._picture:
            refusal = refusal_in_content(text, model=self._model)
            if refusal is not None:
                raise refusal
            if not text.strip().startswith(("http://", "https://")):
                raise UpstreamError(f"picture answer without a URL: {text[:200]!r}")
            picture_url = text.strip()
        return FinalResult(
            text=text,
            finish_reason=self._finish_reason,
            usage=Usage(
                prompt_tokens=_int(self._usage.get("prompt_tokens")),
                completion_tokens=_int(self._usage.get("completion_tokens")),
                total_tokens=_int(self._usage.get("total_tokens")),
                picture=self._picture,
            ),
            picture_url=picture_url,
            answer_id=self._answer_id,
        )

    def _snapshot_remainder(self) -> str:
        """What the full-text snapshot has beyond the streamed deltas, so that the pieces add up to the text."""
        streamed = self.text
        snapshot = self._snapshot or ""
        if len(snapshot) > len(streamed) and snapshot.startswith(streamed):
            remainder = snapshot[len(streamed) :]
            self._parts.append(remainder)
            return remainder
        return ""

    def _read_usage(self, usage: Any) -> None:
        # Kept as sent and read once at the end: every event repeats it, and only the last one counts.
        if isinstance(usage, dict):
            self._usage = usage
            self._picture = self._picture or bool(usage.get("picture"))


class StreamingAnswer:
    """An event stream's bytes in, as the network splits them; the text they add out, then `answer.result()`."""

    def __init__(self, answer: AnswerAssembler) -> None:
        self._decoder = SSEDecoder()
        self.answer = answer

    def feed(self, chunk: bytes) -> str:
        """The text the events completed by `chunk` add to the answer."""
        return self._accept(self._decoder.feed(chunk))

    def close(self) -> str:
        return self._accept(self._decoder.close())

    def _accept(self, payloads: list[str]) -> str:
        added = ""
        for payload in payloads:
            if payload == _DONE or self.answer.finished:
                continue
            try:
                envelope = orjson.loads(payload)
            except ValueError as exc:
                raise UpstreamError(f"malformed event: {payload[:200]!r}") from exc
            added += self.answer.accept(envelope)
        return added


def _checked_parts(envelope: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The envelope's `data` and first choice, or the error the envelope reports."""
    if not isinstance(envelope, dict):
        raise UpstreamError(f"unexpected answer: {str(envelope)[:200]!r}")
    if "error" in envelope:
        raise error_in_body(envelope, _int(envelope.get("code")) or 500)
    code = envelope.get("code", 0)
    message = str(envelope.get("msg", ""))
    if code not in _OK_CODES:
        raise error_for_status(_int(code), message)
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise UpstreamError(f"answer without data: {message}")
    status = data.get("status", 0)
    if status not in (0, None):
        raise UpstreamError(f"task status {status}: {message}")
    choices = data.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    return data, choice


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
