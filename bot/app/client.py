"""The Discord bot: a `commands.Bot` handed its settings, that opens the store and the HTTP session in
`setup_hook`, loads the cogs by name, registers slash commands only when their definitions changed, and serves its
metrics and health checks when METRICS_PORT is set (`bot.app.health`).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import signal
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.app.answers import ReplyViews, streamed_answers
from bot.app.health import HealthServer, Monitored
from bot.app.i18n import FusionTranslator, translate
from bot.app.instruments import CONTEXT_EVENTS, count_discord_requests, gateway_shards, in_log_context
from bot.app.ratelimits import GlobalLimit, RateLimitWatch
from bot.app.sharding import identify_in_turn
from bot.app.streaming import ReplyTarget
from bot.config import Settings
from bot.core.access import Access
from bot.core.answer_display import DisplayFor
from bot.core.chat import ChatService
from bot.core.draw import DrawMenu, DrawService
from bot.core.errors import ServiceError, UserFacingError
from bot.core.metrics import Metrics, ShardState
from bot.core.store import StoreBackend
from bot.core.usage import ChatUsage
from bot.services import Services, open_services

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.chat", "cogs.draw", "cogs.config", "cogs.usage")
COMMAND_HASH_KEY = "application_commands_hash"
COMMAND_SYNC_LOCK = "command-sync"
GENERIC_FAILURE = "Something went wrong while handling this command. It has been logged."


def point_discord_at(api_base: str, gateway_url: str) -> None:
    """Send discord.py's REST calls and gateway connection to these URLs (proxies, or a local fake Discord).

    Both are class attributes of discord.py, so this affects the whole process.
    """
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


MESSAGE_CONTENT_REFUSED = (
    "Discord refused the Message Content intent (close code 4014), which channel conversations need. "
    "To turn them on: Discord developer portal > your application > Bot > Privileged Gateway Intents > "
    "switch on MESSAGE CONTENT INTENT, then restart the bot. To silence this, set CONVERSATIONS_ENABLED=false. "
    "Carrying on with slash commands only."
)


def slash_command_intents() -> discord.Intents:
    """What slash commands need: no message events, which would otherwise arrive for every edit of every answer."""
    intents = discord.Intents.default()
    intents.guild_messages = intents.dm_messages = False
    return intents


def bot_intents(conversations: bool) -> discord.Intents:
    """Slash commands' intents, plus messages and their content (privileged) when channel conversations are on."""
    intents = slash_command_intents()
    if conversations:
        intents.guild_messages = intents.dm_messages = intents.message_content = True
    return intents


class FusionCommandTree(app_commands.CommandTree["FusionBot"]):
    """Turns any error of a slash command into a short private answer instead of silence."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await send_private(interaction, error_message(error, interaction.command and interaction.command.name))


def error_message(error: Exception, command: str | None) -> str:
    """What to tell the user, privately, about an error of `command` (a slash command, a context menu, a modal):
    an error meant for them says itself, anything else is logged and called a failure."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, UserFacingError):
        if isinstance(cause, ServiceError):  # a service the bot uses failed: worth a line in the log
            log.warning("command %s: %s", command, cause)
        return cause.user_message
    if isinstance(error, app_commands.CheckFailure | app_commands.TransformerError):
        return str(error) or "You cannot use this command here."
    log.error("command %s failed", command, exc_info=error)
    return GENERIC_FAILURE


async def send_private(interaction: discord.Interaction, message: str) -> None:
    """An ephemeral answer in the user's language, whether or not the interaction was already acknowledged."""
    message = translate(message, interaction.locale)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException as error:
        log.warning("could not tell the user about an error: %s", error)


class FusionBot(commands.Bot):
    """The bot, handed the services its cogs use (`bot.services`); without them, it opens its own in `setup_hook`
    (on `clock`, the time its cooldowns, quotas and usage are reckoned in) and closes them when it closes (tests and
    benchmarks)."""

    def __init__(
        self,
        settings: Settings,
        *,
        services: Services | None = None,
        extensions: tuple[str, ...] = EXTENSIONS,
        clock: Callable[[], float] = time.time,
        **options: object,
    ) -> None:
        self.global_limit = GlobalLimit(settings.discord_global_rate_limit)
        self.rate_limits = RateLimitWatch(self.global_limit)
        self.metrics = services.metrics if services is not None else new_metrics(settings)
        trace = self.rate_limits.trace_config()
        count_discord_requests(trace, self.metrics, settings.discord_api_base)
        super().__init__(
            http_trace=trace,
            # Nothing the bot writes pings anyone unless a send says so: the model's text and users' prompts are
            # shown, never obeyed (see the README's "Safety").
            allowed_mentions=discord.AllowedMentions.none(),
            command_prefix=commands.when_mentioned,
            intents=bot_intents(settings.conversations_enabled),
            tree_cls=FusionCommandTree,
            help_command=None,
            **options,  # type: ignore[arg-type]
        )
        self.settings = settings
        self._extensions = extensions
        # Every bot-authenticated request goes through discord.py's `request`; kept within the global limit there,
        # a burst (30 conversations starting at once) waits a moment instead of being refused with a 429.
        self.http.request = self.global_limit.limited(self.http.request)  # type: ignore[method-assign]
        # The bot never reads message edits, yet with the message intents Discord sends a MESSAGE_UPDATE for every
        # edit of every streamed answer, and discord.py builds a Message from each: at 300 answers at once that was a
        # third of the bot's CPU. The parsers table is discord.py's own dispatch by event name.
        self._connection.parsers["MESSAGE_UPDATE"] = _ignore_event
        for event in CONTEXT_EVENTS:  # what their work logs carries their server, channel and shard
            self._connection.parsers[event] = in_log_context(self._connection.parsers[event], self.shard_count)
        self._services = services
        self._clock = clock
        self._own_services = AsyncExitStack()
        self._shutdown: asyncio.Task[None] | None = None
        self.health: HealthServer | None = None  # METRICS_PORT's endpoint, once `setup_hook` has started it

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the bot's services are opened in setup_hook")
        return self._services

    @property
    def store(self) -> StoreBackend:
        return self.services.store

    @property
    def access(self) -> Access:
        return self.services.access

    @property
    def chat(self) -> ChatService:
        return self.services.chat

    @property
    def draws(self) -> DrawService:
        return self.services.draws

    @property
    def draw_menu(self) -> DrawMenu:
        return self.services.draw_menu

    @property
    def usage(self) -> ChatUsage:
        return self.services.usage

    async def setup_hook(self) -> None:
        if self._services is None:
            self._services = await self._own_services.enter_async_context(
                open_services(self.settings, metrics=self.metrics, clock=self._clock)
            )
        await self._serve_health()
        for extension in self._extensions:
            await self.load_extension(extension)  # each repairs what a dead process left of its own (`bot.app.repair`)
        await self.tree.set_translator(FusionTranslator())
        await self.sync_commands_if_changed()
        # What start-up created (modules, discord.py's tables, the catalog) lives as long as the process: kept out
        # of the collector's reach, full collections do not walk it again and pause the event loop for less.
        gc.freeze()

    async def _serve_health(self) -> None:
        """Start the metrics and health endpoint when METRICS_PORT is set; it stops when the bot has closed."""
        settings = self.settings
        if settings.metrics_port is None:
            return
        self.metrics.watch_gateway(self.gateway_shards)
        monitored = Monitored(self.metrics, self.gateway_shards, self.store)
        self.health = await HealthServer.start(
            monitored, host=settings.metrics_host, port=settings.metrics_port, max_lag=settings.health_max_lag_seconds
        )
        self._own_services.push_async_callback(self.health.stop)

    def gateway_shards(self) -> dict[int, ShardState]:
        """This process's gateway shards now: connected, and their heartbeat latency."""
        return gateway_shards(self, None)

    async def sync_commands_if_changed(self) -> bool:
        """Register the slash commands with Discord only when their definitions differ from the last sync.

        Under the store's lock: of several processes starting at once, the first syncs and the others find the
        hash it stored."""
        # With their translations: a changed Chinese description must reach Discord too.
        translator = self.tree.translator
        definitions = [
            await command.get_translated_payload(self.tree, translator) if translator else command.to_dict(self.tree)
            for command in self.tree.get_commands()
        ]
        digest = hashlib.sha256(json.dumps(definitions, sort_keys=True).encode()).hexdigest()
        async with self.store.exclusive(COMMAND_SYNC_LOCK):
            if await self.store.state(COMMAND_HASH_KEY) == digest:
                log.info("slash commands unchanged; not syncing")
                return False
            await self.tree.sync()
            await self.store.set_state(COMMAND_HASH_KEY, digest)
        log.info("slash commands synced (%d)", len(definitions))
        return True

    def answer_displays(
        self, target_for: Callable[[Sequence[int]], ReplyTarget], views: ReplyViews, locale: str | None
    ) -> DisplayFor:
        """How `ChatService` shows answers here: streamed into the target made for their messages, paced by
        Discord's rate-limit headers, at most `MAX_ANSWER_MESSAGES` messages each, each edit counted."""
        return streamed_answers(
            target_for,
            views,
            pace=self.rate_limits.pace,
            has_room=self.rate_limits.has_room,
            claim=self.rate_limits.claim,
            max_parts=self.settings.max_answer_messages,
            locale=locale,
            on_shown=self.metrics.answer_edit,
        )

    @property
    def conversations_on(self) -> bool:
        """Whether channel conversations run: enabled in settings, and Discord granted the message content."""
        return self.intents.message_content

    async def on_message(self, message: discord.Message, /) -> None:
        """No text commands: messages are only for channel conversations (a cog's listener)."""

    async def connect(self, *, reconnect: bool = True) -> None:
        """Connect to the gateway; if Discord refuses the message content intent, say what to do and carry on
        without it, so that the slash commands keep working."""
        try:
            await super().connect(reconnect=reconnect)
        except discord.PrivilegedIntentsRequired:
            if not self.intents.message_content:
                raise
            log.error(MESSAGE_CONTENT_REFUSED)
            # discord.py reads the intents to identify with from here; there is no public way to change them.
            self._connection._intents = slash_command_intents()
            await super().connect(reconnect=reconnect)

    async def on_ready(self) -> None:
        log.info("logged in as %s (%s) in %d servers", self.user, self.user and self.user.id, len(self.guilds))

    async def close(self) -> None:
        """Finish or mark interrupted every answer in progress, then disconnect and close the store.

        Every caller (a signal handler, `async with` leaving) waits for the same complete shutdown.
        """
        if self._shutdown is None:
            self._shutdown = asyncio.create_task(self._shut_down(), name="fusionbot-shutdown")
        await asyncio.shield(self._shutdown)

    async def _shut_down(self) -> None:
        if self._services is not None:  # while Discord is still there to show them interrupted
            await self.chat.close()
            await self.draws.close()
        await super().close()
        await self._own_services.aclose()


class ShardedFusionBot(FusionBot, commands.AutoShardedBot):
    """`FusionBot` on the shards `shard_ids` of `shard_count`, one of the processes that share its store."""

    _max_concurrency = 1

    async def setup_hook(self) -> None:
        self._max_concurrency = (await self.fetch_session_start_limits()).max_concurrency
        log.info("shards %s of %d (max_concurrency %d)", self.shard_ids, self.shard_count, self._max_concurrency)
        await super().setup_hook()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await identify_in_turn(self.store, shard_id or 0, self._max_concurrency)

    def gateway_shards(self) -> dict[int, ShardState]:
        return gateway_shards(self, list(self.shard_ids or ()))


def bot_of(interaction: discord.Interaction) -> FusionBot:
    """The bot an interaction reached, with its services: where buttons and command groups, which discord.py makes
    without the cog, find them."""
    return interaction.client  # type: ignore[return-value]


def _ignore_event(data: object) -> None:
    """An event the bot does not use, dropped before discord.py parses it."""


def new_metrics(settings: Settings) -> Metrics:
    """The metrics of a bot: recorded only when its endpoint serves them (METRICS_PORT set)."""
    return Metrics(enabled=settings.metrics_port is not None)


def new_bot(settings: Settings, *, services: Services | None = None, **options: object) -> FusionBot:
    """The bot these settings describe: on the shards of SHARD_COUNT and SHARD_IDS, or unsharded without them."""
    shards = settings.shards
    if shards is None:
        return FusionBot(settings, services=services, **options)
    return ShardedFusionBot(
        settings, services=services, shard_count=shards.count, shard_ids=sorted(shards.ids), **options
    )


async def run_bot(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully."""
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)
    assert settings.discord_token is not None
    services_opened = open_services(settings, metrics=new_metrics(settings))
    async with services_opened as services, new_bot(settings, services=services) as bot:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.create_task(bot.close()))
        try:
            await bot.start(settings.discord_token.get_secret_value())
        finally:
            await bot.close()  # start() returns once disconnected; wait for the rest of the shutdown too
