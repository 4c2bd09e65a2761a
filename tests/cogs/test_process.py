"""`python -m bot` as a real process: it logs in through DISCORD_API_BASE / DISCORD_GATEWAY_URL, stops gracefully
on SIGTERM, writes JSON lines with LOG_FORMAT=json, and passes the Docker image's HEALTHCHECK."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

from bot.config import Settings
from bot.core.store import Store
from tests.cogs.test_chat import ask
from tests.fake_discord import FakeDiscord

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def environment(settings: Settings) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key.upper() not in {n.upper() for n in Settings.model_fields}
    }
    env |= {
        "PYTHONPATH": str(PROJECT_ROOT),
        "DISCORD_TOKEN": settings.discord_token.get_secret_value() if settings.discord_token else "",
        "DISCORD_API_BASE": settings.discord_api_base,
        "DISCORD_GATEWAY_URL": settings.discord_gateway_url,
        "FUSION_API_URL": settings.fusion_api_url,
        "FUSION_API_KEY": "test-key",
        "DATABASE_URL": settings.database_url,
    }
    return env


async def test_bot_process_connects_and_stops_cleanly_on_sigterm(fake: FakeDiscord, settings: Settings) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=environment(settings), stderr=asyncio.subprocess.PIPE
    )
    try:
        await fake.wait_until(lambda: fake.stats.identify_payloads, timeout=30)
        await fake.wait_until(lambda: fake.command_syncs, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log[-2000:]
    assert "Traceback" not in log, log
    assert fake.token not in log, "the token never reaches a log line"
    assert not settings.database_path.with_name(settings.database_path.name + "-wal").exists(), "store closed cleanly"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dockerfile_healthcheck() -> list[str]:
    """The image's HEALTHCHECK command, as Docker reads its exec form (continued lines joined, then JSON)."""
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", "")
    [instruction] = [line for line in text.splitlines() if line.startswith("HEALTHCHECK ")]
    return json.loads(instruction.split(" CMD ", 1)[1])


async def until_ready(env: dict[str, str], timeout: float = 30.0) -> bool:  # noqa: ASYNC109
    """Run the compose file's check until it passes (discord.py is ready once its guilds have arrived)."""
    async with asyncio.timeout(timeout):
        while True:
            if await healthcheck(env, compose_healthcheck()) == 0:
                return True
            await asyncio.sleep(0.2)


def compose_healthcheck() -> list[str]:
    """The bot services' healthcheck in deploy/compose.yaml (a YAML flow sequence that is JSON too), without CMD."""
    text = (PROJECT_ROOT / "deploy" / "compose.yaml").read_text()
    [line] = [line for line in text.splitlines() if line.strip().startswith("test:") and "readyz" in line]
    return json.loads(line.split(":", 1)[1])[1:]


async def healthcheck(env: dict[str, str], command: list[str] | None = None) -> int:
    command = command or dockerfile_healthcheck()
    assert command[0] == "python3"
    check = await asyncio.create_subprocess_exec(sys.executable, *command[1:], env=env)
    return await asyncio.wait_for(check.wait(), timeout=30)


async def test_json_logs_carry_each_answers_ids_and_no_secret_and_the_image_check_passes(
    fake: FakeDiscord, settings: Settings
) -> None:
    env = environment(settings) | {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "METRICS_PORT": str(free_port())}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env, stderr=asyncio.subprocess.PIPE)
    try:
        await fake.wait_until(lambda: fake.stats.identify_payloads, timeout=30)
        await ask(fake, "hello there [emu:delay=0.01]")
        await ask(fake, "hello again [emu:status=401]")
        assert await healthcheck(env) == 0, "the Docker image's HEALTHCHECK, against the running bot"
        assert await until_ready(env), "the compose file's healthcheck, on /readyz, once discord.py is ready"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert await healthcheck(env) != 0, "no endpoint: unhealthy"

    lines = [json.loads(line) for line in stderr.decode().splitlines()]  # every line is one JSON object
    done, failed = await answers(settings, fake.channel_id)
    by_answer: dict[int, list[dict[str, object]]] = {}
    for line in lines:
        if "answer" in line:
            assert (line["guild"], line["channel"]) == (str(fake.guild_id), str(fake.channel_id)), line
            by_answer.setdefault(int(line["answer"]), []).append(line)  # type: ignore[call-overload]
    assert set(by_answer) == {done, failed}
    assert all(any(line["logger"].startswith("discord.webhook") for line in by_answer[a]) for a in (done, failed))
    assert any(line["message"].startswith("fusion stream failed") for line in by_answer[failed])
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    secrets = [fake.token, "test-key", *(interaction.token for interaction in fake.backend.state.interactions.values())]
    assert not [secret for secret in secrets if secret in stderr.decode()]


async def answers(settings: Settings, channel_id: int) -> tuple[int, int]:
    """The ids of the channel's two answers, first to last, from the bot's database."""
    store = await Store.open(settings.database_path)
    try:
        turns = await store.turns(channel_id)
    finally:
        await store.close()
    done, failed = (turn.id for turn in turns if turn.role == "assistant")
    return done, failed
