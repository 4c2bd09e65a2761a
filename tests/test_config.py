"""Settings: public names, defaults, validation messages, exit status 2, and secrets kept out of sight."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Settings, SettingsError, load_settings
from bot.logs import REDACTED, RedactSecrets

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_public_names_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret")
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9000/api/v10/")
    monkeypatch.setenv("DISCORD_GATEWAY_URL", "ws://127.0.0.1:9001/")
    monkeypatch.setenv("FUSION_API_URL", "http://127.0.0.1:8787/v1/fusion/chat-with-image")
    monkeypatch.setenv("FUSION_API_KEY", "fusion-secret")
    monkeypatch.setenv("MIAOHUA_TOKEN", "miaohua-secret")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////var/lib/fusionbot/bot.db")
    monkeypatch.setenv("IMAGE_FETCH_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("DEFAULT_TEMPERATURE", "1.5")
    monkeypatch.setenv("DEFAULT_SIZE", "640x960")

    settings = load_settings()

    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == "discord-secret"
    assert settings.discord_api_base == "http://127.0.0.1:9000/api/v10"
    assert settings.discord_gateway_url == "ws://127.0.0.1:9001/"
    assert settings.fusion_api_url == "http://127.0.0.1:8787/v1/fusion/chat-with-image"
    assert settings.database_path == Path("/var/lib/fusionbot/bot.db")
    assert settings.image_fetch_allow_private is True
    assert settings.log_level == "DEBUG"
    assert settings.request_defaults()["temperature"] == 1.5
    assert settings.request_defaults()["mh_output_size"] == "640x960"


def test_dotenv_file_in_the_working_directory_is_read() -> None:
    Path(".env").write_text("FUSION_API_KEY=from-dotenv\nDEFAULT_SCALE=12\n")
    settings = load_settings()
    assert settings.fusion_api_key is not None and settings.fusion_api_key.get_secret_value() == "from-dotenv"
    assert settings.default_scale == 12


def test_defaults_follow_the_specification() -> None:
    settings = load_settings()
    assert settings.fusion_api_url == "https://sensenova.sensetime.com/v1/fusion/chat-with-image"
    assert settings.discord_api_base == "https://discord.com/api/v10"
    assert settings.database_path == Path("data/fusionbot.sqlite3")
    assert settings.image_fetch_allow_private is False
    defaults = settings.request_defaults()
    assert (defaults["temperature"], defaults["top_p"], defaults["max_new_tokens"]) == (0.8, 0.7, 2048)
    assert (defaults["mh_model_name"], defaults["mh_output_size"], defaults["mh_scale"]) == (
        "Artist_V0.1.3",
        "960x960",
        7,
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEFAULT_TEMPERATURE", "3", "DEFAULT_TEMPERATURE: Input should be less than or equal to 2"),
        ("DEFAULT_TOP_P", "0", "DEFAULT_TOP_P: Input should be greater than 0"),
        ("DEFAULT_SIZE", "big", "DEFAULT_SIZE: expected WIDTHxHEIGHT"),
        ("DEFAULT_SCALE", "21", "DEFAULT_SCALE: Input should be less than or equal to 20"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: expected sqlite:///relative/path"),
        ("DATABASE_URL", "postgresql://", "DATABASE_URL: expected sqlite:///relative/path"),
        ("SHARD_IDS", "1", "SHARD_IDS: set SHARD_COUNT too"),
        ("SHARD_IDS", "two", "SHARD_IDS: expected shard numbers like 0,1 or 0-3 (got 'two')"),
        ("SHARD_IDS", "3-1", "SHARD_IDS: expected a range from low to high"),
        ("FUSION_API_URL", "ftp://x", "FUSION_API_URL: expected a http or https URL"),
        ("DISCORD_GATEWAY_URL", "https://x", "DISCORD_GATEWAY_URL: expected a ws or wss URL"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: Input should be 'DEBUG'"),
        ("IMAGE_FETCH_ALLOW_PRIVATE", "perhaps", "IMAGE_FETCH_ALLOW_PRIVATE: Input should be a valid boolean"),
    ],
)
def test_invalid_setting_is_named_with_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith(expected)


def test_missing_required_setting_is_named() -> None:
    with pytest.raises(SettingsError, match=r"^FUSION_API_KEY is not set: expected the fusion API key"):
        load_settings().require("FUSION_API_KEY")


def test_secrets_are_hidden_in_repr_and_validation_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_API_KEY", "sk-very-secret")
    monkeypatch.setenv("MIAOHUA_TOKEN", "mh-very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.request_defaults())
    with pytest.raises(SettingsError) as raised:
        load_settings(fusion_api_key=["sk-very-secret"])
    assert "very-secret" not in str(raised.value)


def test_invalid_setting_exits_with_status_2_and_one_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEFAULT_TOP_P", "5")
    assert main(["console", "--emulator"]) == 2
    err = capsys.readouterr().err
    assert "DEFAULT_TOP_P: Input should be less than or equal to 1" in err
    assert "Traceback" not in err


def test_process_exits_2_without_traceback_when_the_fusion_key_is_missing() -> None:
    env = {key: value for key, value in os.environ.items() if key.upper() not in _setting_names()}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "FUSION_API_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_log_records_never_contain_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    redact = RedactSecrets(["sk-very-secret"])
    logger.addFilter(redact)
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("calling with key %s", "sk-very-secret")
    finally:
        logger.removeFilter(redact)
    assert caplog.messages == [f"calling with key {REDACTED}"]


def _setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_every_setting_is_documented_in_the_readme_and_the_env_example() -> None:
    root = Path(__file__).resolve().parents[1]
    readme, example = (root / "README.md").read_text(), (root / ".env.example").read_text()
    names = [name.upper() for name in Settings.model_fields]
    assert [name for name in names if f"`{name}`" not in readme] == []
    assert [name for name in names if f"\n{name}=" not in example and f"\n# {name}=" not in example] == []


def test_database_url_selects_the_postgresql_store_and_its_password_is_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pa%24%24word@db.internal:5432/fusionbot")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "20")
    settings = load_settings()
    assert (settings.database_backend, settings.database_pool_size) == ("postgresql", 20)
    assert {"pa%24%24word", "pa$$word"} <= set(settings.secrets())
    assert load_settings(database_url="postgres://bot@db/x").database_backend == "postgresql"


def test_an_invalid_database_url_is_shown_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://bot:hunter2@db/x")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "hunter2" not in str(raised.value) and "bot:***@db" in str(raised.value)


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [("", "", None), ("4", "", {0, 1, 2, 3}), ("4", "0-1,3", {0, 1, 3}), ("2", "1, 0", {0, 1})],
)
def test_shards_run_are_those_named_or_all_of_the_count(
    monkeypatch: pytest.MonkeyPatch, count: str, ids: str, expected: set[int] | None
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@db/x")
    if count:
        monkeypatch.setenv("SHARD_COUNT", count)
    if ids:
        monkeypatch.setenv("SHARD_IDS", ids)
    shards = load_settings().shards
    assert (shards.ids if shards else None) == expected


def test_some_of_the_shards_need_a_shared_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "2")
    monkeypatch.setenv("SHARD_IDS", "1")
    with pytest.raises(SettingsError, match="must share one database: set DATABASE_URL=postgresql://"):
        load_settings()
    monkeypatch.setenv("SHARD_IDS", "0-1")  # every shard in this process: SQLite will do
    assert load_settings().shards is not None


def test_a_mistyped_command_line_never_shows_the_database_password(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["store", "copy", "--from", "sqlite:///a", "--to", "sqlite:///b", "postgresql://bot:hunter2@db/x"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "unrecognized arguments: postgresql://bot:***@db/x" in err
    assert "hunter2" not in err


def test_the_monitoring_endpoint_is_off_unless_a_port_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (load_settings().metrics_port, load_settings().metrics_host) == (None, "127.0.0.1")
    monkeypatch.setenv("METRICS_PORT", "")  # `METRICS_PORT=` in a .env: unset, as the example's line reads
    monkeypatch.setenv("SHARD_COUNT", " ")
    assert (load_settings().metrics_port, load_settings().shard_count) == (None, None)
    monkeypatch.setenv("METRICS_PORT", "9108")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    settings = load_settings()
    assert (settings.metrics_port, settings.log_format) == (9108, "json")
    with pytest.raises(SettingsError, match="METRICS_PORT"):
        load_settings(metrics_port=70_000)
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings(log_format="xml")


def test_the_daily_chat_quotas_are_unlimited_unless_set_and_never_negative(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.chat_daily_tokens_per_user, settings.chat_daily_tokens_per_server) == (0, 0)
    monkeypatch.setenv("CHAT_DAILY_TOKENS_PER_USER", "20000")
    monkeypatch.setenv("CHAT_DAILY_TOKENS_PER_SERVER", "500000")
    settings = load_settings()
    assert (settings.chat_daily_tokens_per_user, settings.chat_daily_tokens_per_server) == (20_000, 500_000)
    with pytest.raises(SettingsError, match=r"CHAT_DAILY_TOKENS_PER_USER: Input should be greater than or equal to 0"):
        load_settings(chat_daily_tokens_per_user=-1)
    with pytest.raises(SettingsError, match="CHAT_DAILY_TOKENS_PER_SERVER: Input should be a valid integer"):
        load_settings(chat_daily_tokens_per_server="lots")
