"""Settings from the environment and `.env`, validated once at start-up.

The environment variable names are a public contract: deployments and outside tests set them. Build `Settings`
once in `__main__` with `load_settings()` and pass it down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, PositiveFloat, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.fusion.models import (
    ControlNet,
    MaxNewTokens,
    ModelName,
    OutputSize,
    RepetitionPenalty,
    Scale,
    Seed,
    Temperature,
    TopP,
)
from bot.core.personas import MAX_PERSONA_CHARS
from bot.core.store.backends import SQLITE_PREFIX, backend_of, sqlite_path
from bot.core.store.postgresql import dsn_passwords, redacted_dsn
from bot.core.store.records import Shards

DEFAULT_FUSION_API_URL = "https://sensenova.sensetime.com/v1/fusion/chat-with-image"
DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
MAX_SHARDS = 4096
MAX_DAILY_TOKENS = 1_000_000_000  # a daily chat quota's bound: far beyond any real one, and within a 32-bit column
PUBLIC_MODELS = ("Artist_V0.1.3", "Artist V0.3.0 Beta", "Artist v0.3.5 Beta")  # names seen in public use

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]

# What each setting that a command needs is, for the message shown when it is missing.
REQUIRED_SETTING_HELP = {
    "DISCORD_TOKEN": "the bot token from the Discord developer portal (Bot > Token)",
    "FUSION_API_KEY": "the fusion API key (API_SECRET_KEY of your SenseNova account)",
}


class SettingsError(Exception):
    """A setting is missing or invalid; the message names each one and what is expected."""


class Settings(BaseSettings):
    """Every setting of the bot. Field `foo_bar` is read from the environment variable `FOO_BAR`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    discord_token: SecretStr | None = None
    discord_api_base: str = DEFAULT_DISCORD_API_BASE
    discord_gateway_url: str = DEFAULT_DISCORD_GATEWAY_URL
    # Requests a second this process may send on routes under Discord's global limit (50 for a bot; split it between
    # the processes of a cluster that share a token without a REST proxy).
    discord_global_rate_limit: int = Field(default=50, ge=1, le=10_000)

    fusion_api_url: str = DEFAULT_FUSION_API_URL
    fusion_api_key: SecretStr | None = None
    miaohua_token: SecretStr | None = None

    fusion_connect_timeout: PositiveFloat = 10.0
    fusion_first_byte_timeout: PositiveFloat = 60.0
    fusion_stream_idle_timeout: PositiveFloat = 60.0
    # An answer or picture may outlive its interaction's 15-minute token (it is then shown through the channel), but
    # no reader waits an hour for one.
    fusion_answer_timeout: float = Field(default=300.0, gt=0, le=3600)
    fusion_picture_timeout: float = Field(default=180.0, gt=0, le=3600)
    fusion_max_attempts: int = Field(default=3, ge=1, le=10)
    fusion_retry_backoff: PositiveFloat = 1.0

    default_model: ModelName = "Artist_V0.1.3"
    default_size: OutputSize = "960x960"
    default_scale: Scale = 7
    default_temperature: Temperature = 0.8
    default_top_p: TopP = 0.7
    default_max_new_tokens: MaxNewTokens = 2048
    default_repetition_penalty: RepetitionPenalty = 1.0
    default_seed: Seed = -1
    default_controlnet: ControlNet = ""

    draw_models: Annotated[tuple[ModelName, ...], NoDecode] = PUBLIC_MODELS
    draw_sizes: Annotated[tuple[OutputSize, ...], NoDecode] = ()
    draw_max_concurrent: int = Field(default=4, ge=1, le=100)
    draw_max_concurrent_per_server: int = Field(default=2, ge=1, le=100)
    draw_max_waiting: int = Field(default=50, ge=1, le=10_000)
    draw_cooldown_seconds: float = Field(default=30.0, ge=0)
    draw_daily_quota: int = Field(default=25, ge=0)
    draw_in_chat_context: bool = False
    draw_progress_seconds: PositiveFloat = 5.0

    conversations_enabled: bool = True
    direct_messages_enabled: bool = True
    conversation_threads: bool = False
    conversation_max_waiting: int = Field(default=5, ge=0, le=100)
    reply_pings_author: bool = False
    dm_chat_cooldown_seconds: float = Field(default=0.0, ge=0, le=86_400)
    # Chat tokens a UTC day for one member in one server (or one user in DMs), and for one server; 0: unlimited.
    chat_daily_tokens_per_user: int = Field(default=0, ge=0, le=MAX_DAILY_TOKENS)
    chat_daily_tokens_per_server: int = Field(default=0, ge=0, le=MAX_DAILY_TOKENS)
    max_answer_messages: int = Field(default=5, ge=1, le=10)
    default_persona: str = ""  # instructions for the model where no server or channel has a persona (`/config`)

    database_url: str = f"{SQLITE_PREFIX}data/fusionbot.sqlite3"
    database_pool_size: int = Field(default=10, ge=3, le=100)  # the queue: a listener, an admission, a write
    shard_count: int | None = Field(default=None, ge=1, le=MAX_SHARDS)
    shard_ids: Annotated[tuple[int, ...], NoDecode] = ()
    context_max_messages: int = Field(default=40, ge=2, le=1000)
    context_max_tokens: int = Field(default=4000, ge=100, le=1_000_000)
    image_fetch_allow_private: bool = False
    image_fetch_timeout: PositiveFloat = 30.0
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    # The bot's HTTP endpoint for Prometheus and health checks (`bot.app.health`): off unless a port is set; 0 takes
    # any free port (tests).
    metrics_port: int | None = Field(default=None, ge=0, le=65_535)
    metrics_host: str = "127.0.0.1"
    health_max_lag_seconds: float = Field(default=5.0, gt=0, le=3600)

    @field_validator("discord_api_base", "fusion_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _checked_url(value, ("http", "https")).rstrip("/")

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        return _checked_url(value, ("ws", "wss"))

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        backend_of(value)  # ValueError naming what is expected
        return value

    @field_validator("shard_count", "metrics_port", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value  # `SHARD_COUNT=` in a .env

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ranges(cls, value: Any) -> Any:
        return parse_shard_ids(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids and self.shard_count is None:
            raise ValueError("SHARD_IDS: set SHARD_COUNT too (the total number of shards of all processes)")
        if self.shard_count is not None and any(shard >= self.shard_count for shard in self.shard_ids):
            raise ValueError(f"SHARD_IDS: each shard must be below SHARD_COUNT ({self.shard_count}), from 0")
        partial = self.shard_count is not None and 0 < len(set(self.shard_ids)) < self.shard_count
        if partial and self.database_backend == "sqlite":
            raise ValueError(
                "SHARD_IDS: this process runs only some of the shards, so other processes run the rest, and they "
                "must share one database: set DATABASE_URL=postgresql://user:password@host:5432/db"
            )
        return self

    @field_validator("draw_models", "draw_sizes", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @model_validator(mode="after")
    def _default_model_offered(self) -> Settings:
        if not self.draw_models:
            raise ValueError("DRAW_MODELS: name at least one model")
        if self.default_model not in self.draw_models:
            raise ValueError(f"DEFAULT_MODEL: {self.default_model!r} is not one of DRAW_MODELS")
        return self

    @field_validator("default_persona")
    @classmethod
    def _persona_fits(cls, value: str) -> str:
        value = value.strip()
        if len(value) > MAX_PERSONA_CHARS:
            raise ValueError(f"at most {MAX_PERSONA_CHARS:,} characters, as for /config persona (got {len(value):,})")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def database_backend(self) -> Literal["sqlite", "postgresql"]:
        return backend_of(self.database_url)

    @property
    def database_path(self) -> Path:
        """The SQLite file: relative paths are taken from the working directory. (Not for PostgreSQL.)"""
        if self.database_backend != "sqlite":
            raise ValueError("DATABASE_URL names a PostgreSQL database, not a SQLite file")
        return sqlite_path(self.database_url)

    @property
    def data_directory(self) -> Path:
        """Where files the bot keeps beside its database go (the console's pictures): the SQLite file's folder, or
        `data` with PostgreSQL."""
        return self.database_path.parent if self.database_backend == "sqlite" else Path("data")

    @property
    def shards(self) -> Shards | None:
        """The gateway shards this process runs, or None when it runs unsharded (no SHARD_COUNT)."""
        if self.shard_count is None:
            return None
        return Shards(self.shard_count, frozenset(self.shard_ids or range(self.shard_count)))

    def secrets(self) -> list[str]:
        """The secret values that are set, for redacting logs: the tokens, the key, the database's password."""
        values = (self.discord_token, self.fusion_api_key, self.miaohua_token)
        found = [secret.get_secret_value() for secret in values if secret and secret.get_secret_value()]
        return found + sorted(dsn_passwords(self.database_url))

    def require(self, *names: str) -> None:
        """Raise `SettingsError` naming every one of `names` (environment spelling) that is not set."""
        missing = [name for name in names if not _is_set(getattr(self, name.lower()))]
        if missing:
            lines = [f"{name} is not set: expected {REQUIRED_SETTING_HELP.get(name, 'a value')}" for name in missing]
            raise SettingsError("\n".join(lines))

    def request_defaults(self) -> dict[str, Any]:
        """The fusion request fields these settings provide; callers override them per request."""
        return {
            "temperature": self.default_temperature,
            "top_p": self.default_top_p,
            "max_new_tokens": self.default_max_new_tokens,
            "repetition_penalty": self.default_repetition_penalty,
            "mh_key": self.miaohua_token or SecretStr(""),
            "mh_model_name": self.default_model,
            "mh_output_size": self.default_size,
            "mh_scale": self.default_scale,
        }


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise `SettingsError` with one readable line per problem."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """One line per invalid setting, in environment spelling, without echoing secret values."""
    lines = []
    for problem in error.errors(include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:  # a rule across settings: its message names them, and the input is all settings
            lines.append(message)
            continue
        field = str(problem["loc"][0])
        shown = _shown_input(field, problem.get("input"))
        lines.append(f"{field.upper()}: {message}{shown}")
    return "\n".join(lines)


def _shown_input(field: str, value: Any) -> str:
    """What an invalid setting was, for its message: never a secret, and a database URL without its password."""
    if "token" in field or "key" in field or field == "default_persona":  # a persona's text would fill the screen
        return ""
    if field == "database_url" and isinstance(value, str):
        return f" (got {redacted_dsn(value)!r})"
    return f" (got {value!r})"


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """`0,1` or `0-3` or `0-3,8` as the shard numbers they name, sorted and without repeats."""
    shards: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        first, dash, last = item.partition("-")
        try:
            low, high = int(first), int(last) if dash else int(first)
        except ValueError:
            raise ValueError(f"expected shard numbers like 0,1 or 0-3 (got {item!r})") from None
        if low < 0 or high < low or high - low >= MAX_SHARDS:
            raise ValueError(f"expected a range from low to high, from 0 (got {item!r})")
        shards.update(range(low, high + 1))
    return tuple(sorted(shards))


def _checked_url(value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"expected a {' or '.join(schemes)} URL such as {schemes[-1]}://host/path")
    return value


def _is_set(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return value is not None and value != ""
