"""Logging set-up: one format for the whole application (readable lines, or JSON lines for log pipelines), secrets
redacted from every record, and discord.py's warnings about voice (which the bot does not use) left out.

Two kinds of secret are redacted: the configured ones (the bot token, API keys), by value, and the tokens Discord
hands out per interaction or webhook, by where they appear, since they are not known in advance: discord.py logs
at DEBUG the REST URLs that carry them (`/webhooks/<application id>/<token>/...`,
`/interactions/<id>/<token>/callback`) and the gateway events whose payload has a `token` field.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from bot.core.log_context import FIELDS, current_log_context

REDACTED = "[redacted]"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_VOICE_LOGGER = "discord.client"
VOICE_WARNINGS = frozenset(
    f"{library} is not installed, voice will NOT be supported" for library in ("PyNaCl", "davey")
)
_TOKEN_PATTERNS = (
    re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s'\"]+"),  # the path segment after the id
    re.compile(r"""(['"]token['"]:\s*['"])[^'"]+"""),  # an event payload as a dict's repr or JSON
)


class QuietVoiceWarnings(logging.Filter):
    """Drops discord.py's warnings that voice is unsupported ("PyNaCl is not installed", "davey is not installed").

    discord.py logs them at every start of a client whose voice libraries are missing; the bot has no voice
    features, so they would only make operators look for a problem that is not there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == _VOICE_LOGGER and record.msg in VOICE_WARNINGS)


class RedactSecrets(logging.Filter):
    """Replaces secrets in a record's final message and exception text, whatever code logged it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(rf"\1{REDACTED}", text)
        return text


class WithLogContext(logging.Filter):
    """Notes on each record the ids of the work that logged it (`bot.core.log_context`), as `record.ids`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "ids"):
            record.ids = current_log_context()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record: `time` (UTC, ISO 8601, milliseconds), `level`, `logger`, `message`, the ids known
    of its work (`shard`, `guild`, `channel`, `answer`, `picture`; Discord's snowflakes as strings, as Discord's
    API gives them, since they exceed what JavaScript's numbers hold exactly) and `exception`, the traceback.

    The message and the traceback are those the filters left, so with `RedactSecrets` before it no secret is in it.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids: Mapping[str, int] = getattr(record, "ids", None) or current_log_context()
        line |= {name: str(ids[name]) if name in ("guild", "channel") else ids[name] for name in FIELDS if name in ids}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str, secrets: Iterable[str] = (), *, log_format: str = "text") -> None:
    """Log to standard error at `level`, as text lines or, with `log_format="json"`, JSON lines (`JsonLines`), with
    `secrets` and Discord's interaction tokens never written out."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(WithLogContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    voice = logging.getLogger(_VOICE_LOGGER)
    if not any(isinstance(known, QuietVoiceWarnings) for known in voice.filters):
        voice.addFilter(QuietVoiceWarnings())
