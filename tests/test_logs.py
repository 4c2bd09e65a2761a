"""Log lines never show Discord's interaction and webhook tokens, logged by discord.py as it logs them; with
LOG_FORMAT=json each is one JSON object carrying the ids of the work that logged it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from datetime import datetime

import aiohttp
import pytest
from discord.http import Route
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot.core.log_context import log_context
from bot.logs import LOG_FORMAT, REDACTED, JsonLines, RedactSecrets, WithLogContext

APPLICATION_ID = 1100000000000000001
INTERACTION_ID = 1200000000000000002
TOKEN = "aW50ZXJhY3Rpb246MTIwMDAwMDAwMDAwMDAwMDAwMjpXZ3JkN3pLbFpPcWc0c0t3dGpTRA"
# The routes discord.py's webhook adapter (discord/webhook/async_.py) sends an interaction's replies to.
INTERACTION_ROUTES = [
    Route(
        "POST", "/interactions/{webhook_id}/{webhook_token}/callback", webhook_id=INTERACTION_ID, webhook_token=TOKEN
    ),
    Route(
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        webhook_id=APPLICATION_ID,
        webhook_token=TOKEN,
    ),
    Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=APPLICATION_ID, webhook_token=TOKEN),
]


def formatted(record: logging.LogRecord, secrets: list[str] | None = None) -> str:
    """The record as the bot's log handler writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactSecrets(secrets or []))
    handler.handle(record)
    return out.getvalue()


def record(
    name: str, msg: str, *args: object, level: int = logging.DEBUG, exc_info: object = None
) -> logging.LogRecord:
    return logging.LogRecord(name, level, f"{name}.py", 1, msg, args, exc_info)  # type: ignore[arg-type]


@pytest.mark.parametrize("route", INTERACTION_ROUTES, ids=["callback", "original", "followup"])
def test_a_webhook_request_line_shows_the_route_but_not_the_token(route: Route) -> None:
    line = formatted(
        record(
            "discord.webhook.async_",
            "Webhook ID %s with %s %s has returned status code %s",
            route.webhook_id,
            route.method,
            route.url,
            204,
        )
    )

    assert TOKEN not in line
    assert f"/{route.webhook_id}/{REDACTED}" in line  # which interaction it was stays readable


def test_the_token_is_redacted_from_a_traceback() -> None:
    url = URL(INTERACTION_ROUTES[1].url)
    info = aiohttp.RequestInfo(url, "PATCH", CIMultiDictProxy(CIMultiDict()), url)
    try:
        raise aiohttp.ClientResponseError(info, (), status=404, message="Not Found")
    except aiohttp.ClientResponseError:
        line = formatted(
            record("discord.client", "Ignoring exception in view", level=logging.ERROR, exc_info=sys.exc_info())
        )

    assert "ClientResponseError" in line and "Not Found" in line
    assert TOKEN not in line


def test_a_gateway_event_carrying_an_interaction_token_is_logged_without_it() -> None:
    event = {"t": "INTERACTION_CREATE", "s": 3, "op": 0, "d": {"id": str(INTERACTION_ID), "token": TOKEN, "type": 2}}
    line = formatted(record("discord.gateway", "For Shard ID %s: WebSocket Event: %s", None, event))

    assert TOKEN not in line
    assert f"'token': '{REDACTED}'" in line and "INTERACTION_CREATE" in line


def test_configured_secrets_and_tokens_are_redacted_together() -> None:
    line = formatted(
        record("discord.http", "%s %s with %s has returned %s", "POST", INTERACTION_ROUTES[0].url, "sk-key", 204),
        secrets=["sk-key"],
    )

    assert TOKEN not in line and "sk-key" not in line
    assert line.count(REDACTED) == 2


def json_line(record: logging.LogRecord, secrets: list[str] | None = None) -> dict[str, object]:
    """The record as the bot's handler writes it with LOG_FORMAT=json, parsed (it must be one JSON line)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines())
    handler.addFilter(RedactSecrets(secrets or []))
    handler.addFilter(WithLogContext())
    handler.handle(record)
    [line] = out.getvalue().splitlines()
    return json.loads(line)


def test_a_json_line_carries_the_ids_of_the_work_that_logged_it() -> None:
    guild, channel = 1300000000000000003, 1400000000000000004
    with log_context(shard=1, guild=guild, channel=channel), log_context(answer=42):
        inside = json_line(record("bot.core.chat", "answer %d: %s", 42, "done", level=logging.INFO))
    outside = json_line(record("bot.core.chat", "no work here", level=logging.WARNING))

    assert inside["message"] == "answer 42: done" and inside["level"] == "INFO" and inside["logger"] == "bot.core.chat"
    assert (inside["shard"], inside["guild"], inside["channel"], inside["answer"]) == (1, str(guild), str(channel), 42)
    assert datetime.fromisoformat(str(inside["time"])).tzinfo is not None
    assert "answer" not in outside and "guild" not in outside and outside["level"] == "WARNING"


async def test_tasks_started_inside_a_log_context_keep_its_ids() -> None:
    async def work() -> dict[str, object]:
        await asyncio.sleep(0)
        return json_line(record("bot.app.streaming", "edited"))

    with log_context(picture=7):
        task = asyncio.create_task(work())
    assert (await task)["picture"] == 7


def test_a_json_line_shows_no_secret_in_its_message_or_traceback() -> None:
    try:
        raise RuntimeError(f"refused key sk-key at {INTERACTION_ROUTES[1].url}")
    except RuntimeError:
        line = json_line(
            record("discord.client", "failed with %s", "sk-key", level=logging.ERROR, exc_info=sys.exc_info()),
            secrets=["sk-key"],
        )

    text = json.dumps(line)
    assert "sk-key" not in text and TOKEN not in text
    assert "RuntimeError" in str(line["exception"]) and line["message"] == f"failed with {REDACTED}"
