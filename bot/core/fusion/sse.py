"""Incremental decoder for data-only server-sent events, fed with bytes exactly as the network delivers them.

It follows the SSE format (lines end in LF, CRLF or CR; an event ends at a blank line; `data:` with or without the
space; lines starting with `:` are comments; other fields are ignored) and survives any split of the byte stream,
including a multi-byte UTF-8 character or a CRLF pair cut between two reads.
"""

from __future__ import annotations

import codecs

import orjson


class SSEDecoder:
    """Turns chunks of bytes into the `data` payloads of complete events, in order."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial_line = ""
        self._data_lines: list[str] = []
        self._cr_pending = False  # the previous chunk ended in CR: an LF starting the next one belongs to it

    def feed(self, chunk: bytes) -> list[str]:
        """Decode one chunk; return the payloads of the events it completed."""
        text = self._utf8.decode(chunk)
        if not text:
            return []
        if self._cr_pending and text[0] == "\n":
            text = text[1:]
        self._cr_pending = text.endswith("\r")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = (self._partial_line + text).split("\n")
        self._partial_line = lines.pop()
        payloads: list[str] = []
        for line in lines:
            self._take_line(line, payloads)
        return payloads

    def close(self) -> list[str]:
        """End of stream: return what a final event without its trailing blank line still held."""
        payloads: list[str] = []
        tail = self._partial_line + self._utf8.decode(b"", final=True)
        self._partial_line = ""
        if tail:
            self._take_line(tail, payloads)
        self._dispatch(payloads)
        return payloads

    def _take_line(self, line: str, payloads: list[str]) -> None:
        if not line:
            self._dispatch(payloads)
            return
        if line.startswith("data:"):
            value = line[6:] if line.startswith(" ", 5) else line[5:]
        elif line == "data":
            value = ""
        else:
            return  # a comment, or a field (event, id, retry) that means nothing to this API
        if self._data_lines and _is_complete_payload(self._data_lines[-1]):
            # Some servers omit the blank line between events; a finished JSON value cannot continue.
            self._dispatch(payloads)
        self._data_lines.append(value)

    def _dispatch(self, payloads: list[str]) -> None:
        if self._data_lines:
            payloads.append("\n".join(self._data_lines))
            self._data_lines = []


def _is_complete_payload(value: str) -> bool:
    if value == "[DONE]":
        return True
    try:
        orjson.loads(value)
    except ValueError:
        return False
    return True
