"""What the fusion emulator answers, and how the answers look on the wire.

Answers are computed deterministically from the request (no randomness) so tests can
assert on them: the text quotes the prompt, reports how much context was sent, always
carries Markdown and multi-byte UTF-8, and can be padded to a length or cut by
``max_new_tokens``. The second half turns an :class:`Answer` into the JSON envelopes and
SSE frames of the real service's two envelope generations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CJK_CHARS = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# A piece is a CJK character or a word, each with the whitespace before it; the
# trailing alternative keeps whitespace at the very end so pieces always re-join exactly.
PIECE_PATTERN = re.compile(rf"\s*(?:[{CJK_CHARS}]|[^\s{CJK_CHARS}]+)|\s+")

PICTURE_WORDS = ("draw", "picture", "image", "paint", "画")
CODE_WORDS = ("code", "function", "python", "代码")
CHINESE_LINE = "你好！这是模拟的回答。"  # noqa: RUF001
MODERATION_REFUSAL = "我们检测到您的提示词中有敏感词语。请勿使用违反社区条约的提示词。"
SENSITIVE_PIECES = 3

PADDING_WORDS = (
    "emulator", "stream", "answer", "token", "message", "picture", "client", "server",
    "event", "envelope", "buffer", "channel", "prompt", "context", "budget", "retry",
    "latency", "model", "request", "response", "quietly", "carefully", "steadily", "again",
    "the", "a", "of", "with", "and", "for", "every", "each", "before", "after", "while",
    "splits", "joins", "sends", "reads", "checks", "keeps", "drops", "renders", "waits",
)  # fmt: skip
PARAGRAPH_SIZE = 420
CODE_BLOCK_EVERY = 1000


def split_pieces(text: str) -> list[str]:
    """Split ``text`` into token-like pieces whose concatenation is exactly ``text``."""
    return PIECE_PATTERN.findall(text)


def count_tokens(text: str) -> int:
    """Estimate tokens as words plus CJK characters."""
    return sum(1 for piece in split_pieces(text) if not piece.isspace())


def _mentions(text: str, words: Sequence[str]) -> bool:
    lowered = text.lower()
    return any(word.lower() in lowered for word in words)


def wants_picture(prompt: str) -> bool:
    return _mentions(prompt, PICTURE_WORDS)


def wants_code(prompt: str) -> bool:
    return _mentions(prompt, CODE_WORDS)


def contains_blocked_word(prompt: str, blocked_words: Sequence[str]) -> bool:
    return _mentions(prompt, blocked_words)


def model_refusal(model_name: str) -> str:
    return f"不支持的模型: {model_name}"


@dataclass(frozen=True)
class Answer:
    """One answer as pieces, with how it ended and whether it is a picture answer."""

    pieces: tuple[str, ...]
    finish_reason: str
    picture: bool
    prompt_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def completion_tokens(self) -> int:
        return count_tokens(self.text)


@dataclass(frozen=True)
class ChatSettings:
    """The request values that shape a chat answer."""

    temperature: float
    top_p: float
    max_new_tokens: int
    length: int | None = None
    finish: str | None = None
    sensitive: bool = False
    echo: str | None = None  # the answer's exact text instead of the composed one (may be empty)


def prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    return sum(count_tokens(message["content"]) for message in messages)


def picture_answer(content: str, messages: Sequence[dict[str, str]]) -> Answer:
    """A picture answer: the URL or an in-band refusal, in one piece."""
    return Answer((content,), "stop", True, prompt_tokens(messages))


def chat_answer(messages: Sequence[dict[str, str]], prompt: str, settings: ChatSettings) -> Answer:
    """Compose the deterministic chat answer to ``prompt`` (the stripped last message), or echo ``settings.echo``."""
    if settings.echo is not None:
        text = settings.echo
    else:
        text = compose_text(messages, prompt, settings)
        if settings.length is not None:
            text = pad_to_length(text, settings.length)
    pieces = split_pieces(text)
    finish = "stop"
    if settings.finish is not None or settings.sensitive:
        pieces = pieces[:SENSITIVE_PIECES]
        finish = settings.finish or "sensitive"
    if len(pieces) > settings.max_new_tokens:
        pieces = pieces[: settings.max_new_tokens]
        finish = "length"
    return Answer(tuple(pieces), finish, False, prompt_tokens(messages))


def compose_text(messages: Sequence[dict[str, str]], prompt: str, settings: ChatSettings) -> str:
    parts = [
        "**Emulated answer** from the fusion emulator.",
        f'You said: "{prompt}"',
        _context_line(messages),
        "What the emulator noticed:\n"
        f"- your message has {len(prompt)} characters\n"
        f"- temperature {settings.temperature:g}, top_p {settings.top_p:g}\n"
        f"- at most {settings.max_new_tokens} new tokens",
        CHINESE_LINE,
    ]
    if wants_code(prompt):
        parts.append("Here is some code:\n" + _code_block(0))
    return "\n\n".join(parts)


def _context_line(messages: Sequence[dict[str, str]]) -> str:
    earlier = messages[:-1]
    if not earlier:
        return "This is the first message of the conversation."
    first = next((message for message in earlier if message["role"] == "user"), earlier[0])
    noun = "message" if len(earlier) == 1 else "messages"
    return f'This conversation has {len(earlier)} earlier {noun}; it began with "{first["content"]}".'


def _code_block(index: int) -> str:
    return (
        "```python\n"
        f"def step_{index}(values: list[int]) -> int:\n"
        f'    """Add up the values, each multiplied by {index + 1}."""\n'
        "    total = 0\n"
        "    for value in values:\n"
        f"        total += value * {index + 1}\n"
        "    return total\n"
        "```"
    )


def pad_to_length(text: str, target: int) -> str:
    """Pad ``text`` with paragraphs (and a code block per ~1000 characters) to >= ``target`` chars.

    The padding always ends with a paragraph, so the text ends at a whole word.
    """
    parts = [text]
    size = len(text)
    since_code = size
    word_index = 0
    blocks = 0
    while size < target:
        block = "\n\n" + _code_block(blocks + 1)
        if since_code >= CODE_BLOCK_EVERY and size + len(block) < target:
            blocks += 1
            since_code = 0
        else:
            paragraph, word_index = _paragraph(word_index, max(1, min(PARAGRAPH_SIZE, target - size - 2)))
            block = "\n\n" + paragraph
            since_code += len(block)
        parts.append(block)
        size += len(block)
    return "".join(parts)


def _paragraph(word_index: int, budget: int) -> tuple[str, int]:
    """Build sentences from the padding words until the paragraph has >= ``budget`` chars."""
    words: list[str] = []
    size = -1
    in_sentence = 0
    while size < budget:
        word = PADDING_WORDS[(word_index * 7) % len(PADDING_WORDS)]
        sentence_length = 6 + (word_index // 6) % 7
        word_index += 1
        if in_sentence == 0:
            word = word.capitalize()
        in_sentence += 1
        if in_sentence >= sentence_length:
            word += "."
            in_sentence = 0
        words.append(word)
        size += len(word) + 1
    if not words[-1].endswith("."):
        words[-1] += "."
    return " ".join(words), word_index


# --- wire shapes -------------------------------------------------------------------------


def dumps(payload: Any) -> str:
    """Compact JSON with real UTF-8 characters, as the service sends it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def ok_envelope(generation: str) -> tuple[int, str]:
    return (0, "OK") if generation == "new" else (200, "ok")


def usage(answer: Answer, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": answer.prompt_tokens + completion_tokens,
        "picture": answer.picture,
    }


def _envelope(generation: str, response_id: str, choices: list[Any], usage_: dict[str, Any]) -> dict[str, Any]:
    code, msg = ok_envelope(generation)
    data = {"id": response_id, "choices": choices, "usage": usage_, "status": 0}
    return {"code": code, "msg": msg, "data": data}


def plain_body(answer: Answer, response_id: str, generation: str) -> dict[str, Any]:
    """The non-streamed success body."""
    choice = {"content": answer.text, "finish_reason": answer.finish_reason}
    return _envelope(generation, response_id, [choice], usage(answer, answer.completion_tokens))


def stream_events(answer: Answer, response_id: str, generation: str) -> list[dict[str, Any]]:
    """One event per piece, then the final event that carries the finish reason."""
    events = []
    sent = ""
    for piece in answer.pieces:
        sent += piece
        choice = {"delta": piece} if generation == "old" else {"finish_reason": "", "delta": piece}
        events.append(_envelope(generation, response_id, [choice], usage(answer, count_tokens(sent))))
    if generation == "old":
        final = {"message": answer.text, "finish_reason": answer.finish_reason}
    else:
        final = {"finish_reason": answer.finish_reason, "delta": ""}
    events.append(_envelope(generation, response_id, [final], usage(answer, answer.completion_tokens)))
    return events


def script_usage(envelopes: list[dict[str, Any]], *, omit: bool, tokens: int | None) -> None:
    """Take ``usage`` out of every envelope (``omit``), or make each report ``tokens`` in all (prompt first)."""
    for envelope in envelopes:
        data = envelope["data"]
        if omit:
            del data["usage"]
        elif tokens is not None:
            prompt = min(data["usage"]["prompt_tokens"], tokens)
            data["usage"] |= {"prompt_tokens": prompt, "completion_tokens": tokens - prompt, "total_tokens": tokens}


def task_failed_body(response_id: str, generation: str, data_status: int) -> dict[str, Any]:
    """HTTP 200 and an ok envelope code, but the task itself failed (``data.status``)."""
    code, _ = ok_envelope(generation)
    zero = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "picture": False}
    data = {"id": response_id, "choices": [], "usage": zero, "status": data_status}
    return {"code": code, "msg": "task failed", "data": data}


ENVELOPE_ERROR_TEXTS = {600: "invalid miaohua token", 603: "too many tasks", 604: "out of points"}


def envelope_error_body(code: int) -> dict[str, Any]:
    return {"code": code, "msg": ENVELOPE_ERROR_TEXTS.get(code, f"error {code}"), "data": None}


HTTP_ERROR_TEXTS = {
    400: "bad request",
    401: "invalid api key",
    403: "forbidden",
    404: "not found",
    409: "conflict, try again",
    415: "unsupported media type",
    429: "rate limit exceeded, reset after 2s",
    500: "internal error",
    503: "service unavailable",
}


def http_error_body(status: int, message: str | None = None) -> dict[str, Any]:
    return {"error": {"code": status, "message": message or HTTP_ERROR_TEXTS.get(status, f"error {status}")}}


def sse_frame(data: str, framing: str, eol: str) -> bytes:
    """Frame one data-only SSE event."""
    separator = " " if framing == "space" else ""
    return f"data:{separator}{data}{eol}{eol}".encode()


def sse_comment(eol: str) -> bytes:
    return f": ping{eol}{eol}".encode()
