"""`python -m bot` as a real process: it logs in through DISCORD_API_BASE / DISCORD_GATEWAY_URL and stops
gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.config import Settings
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
