"""`/config`: a server's controls for the bot, for members with Manage Server. Every answer is private.

The rules are applied by `bot.core.access` at each use; this cog only reads the options and stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from bot.app.client import bot_of
from bot.app.i18n import translate
from bot.app.personas import (
    MAX_LISTED,
    PERSONA_TEXT_HELP,
    PersonaText,
    change_persona,
    server_persona_embeds,
    server_persona_lines,
)
from bot.app.places import place_of_interaction
from bot.app.usage_report import describe_quotas, describe_server_usage
from bot.config import MAX_DAILY_TOKENS
from bot.core.durations import describe_wait
from bot.core.store import ChatQuota, ServerSettings

if TYPE_CHECKING:
    pass

MAX_COOLDOWN_SECONDS = 24 * 3600.0
SERVER_PERSONA_SET = "Server persona set: it is sent with every question on this server, unless a channel has its own."


def describe_server(
    server: ServerSettings, *, dms_allowed: bool, personas: Sequence[str] = (), quotas: Sequence[str] = ()
) -> str:
    channels = " ".join(f"<#{c}>" for c in sorted(server.allowed_channels)) or "all"
    roles = " ".join(f"<@&{r}>" for r in sorted(server.allowed_roles)) or "everyone"
    defaults = ", ".join(f"{name} `{value}`" for name, value in sorted(server.defaults.items())) or "the bot's own"
    cooldown = describe_wait(server.chat_cooldown_seconds) if server.chat_cooldown_seconds else "none"
    return "\n".join(
        [
            f"**Channels:** {channels}",
            f"**Roles:** {roles}",
            f"**Defaults:** {defaults}",
            f"**Chat cooldown per member:** {cooldown}",
            *personas,
            *quotas,
            f"**Direct messages:** {'served' if dms_allowed else 'not served'} (a setting of the bot)",
            "-# Members with Manage Server may always use the bot, within the daily chat quotas.",
        ]
    )


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ConfigCommands(app_commands.Group, name="config", description="This server's controls for the bot"):
    """Where and for whom the bot works here, its defaults, the chat cooldown and quotas, and its usage."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @app_commands.command(name="show", description="Show this server's controls.")
    async def show(self, interaction: discord.Interaction) -> None:
        await self._show(interaction, "")

    @app_commands.command(name="channel", description="Allow the bot in a channel, or take it off the list.")
    @app_commands.describe(
        channel="The channel (its threads follow it)", allowed="On the list of channels the bot works in"
    )
    async def channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel, allowed: bool = True
    ) -> None:
        await bot_of(interaction).store.set_allowed(_guild(interaction), "channels", channel.id, allowed)
        await self._show(interaction, f"{channel.mention} {'added to' if allowed else 'removed from'} the channels.")

    @app_commands.command(name="role", description="Allow a role to use the bot, or take it off the list.")
    @app_commands.describe(role="The role", allowed="On the list of roles that may use the bot")
    async def role(self, interaction: discord.Interaction, role: discord.Role, allowed: bool = True) -> None:
        await bot_of(interaction).store.set_allowed(_guild(interaction), "roles", role.id, allowed)
        await self._show(interaction, f"{role.mention} {'added to' if allowed else 'removed from'} the roles.")

    @app_commands.command(name="clear", description="Empty a list: the bot works in every channel, or for everyone.")
    @app_commands.describe(which="The list to empty")
    async def clear(self, interaction: discord.Interaction, which: Literal["channels", "roles"]) -> None:
        await bot_of(interaction).store.clear_allowed(_guild(interaction), which)
        await self._show(interaction, f"The {which} list is empty: no restriction.")

    @app_commands.command(name="defaults", description="Set this server's defaults for /chat and /draw.")
    @app_commands.describe(
        model="Drawing model for /draw",
        size="Picture size for /draw",
        temperature="Sampling temperature for answers, above 0 up to 2",
        reset="Forget this server's defaults first",
    )
    async def defaults(
        self,
        interaction: discord.Interaction,
        model: app_commands.Range[str, 1, 100] | None = None,
        size: app_commands.Range[str, 3, 20] | None = None,
        temperature: app_commands.Range[float, 0.01, 2.0] | None = None,
        reset: bool = False,
    ) -> None:
        bot = bot_of(interaction)
        checked = bot.draw_menu.spec("check", model=model, size=size, seed=0)  # raises for an unoffered option
        changes = {"model": model and checked.model, "size": size and checked.size, "temperature": temperature}
        if reset:
            await bot.store.update_server_defaults(_guild(interaction), dict.fromkeys(("model", "size", "temperature")))
        await bot.store.update_server_defaults(_guild(interaction), {k: v for k, v in changes.items() if v is not None})
        await self._show(interaction, "Defaults updated.")

    @defaults.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        names = bot_of(interaction).draw_menu.models_matching(typed)
        return [app_commands.Choice(name=name, value=name) for name in names]

    @defaults.autocomplete("size")
    async def _sizes(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=s, value=s) for s in bot_of(interaction).draw_menu.sizes_matching(typed)]

    @app_commands.command(name="chat-cooldown", description="Least time between a member's questions (0: none).")
    @app_commands.describe(seconds="Seconds, 0 to 86400")
    async def chat_cooldown(
        self, interaction: discord.Interaction, seconds: app_commands.Range[float, 0.0, MAX_COOLDOWN_SECONDS]
    ) -> None:
        await bot_of(interaction).store.set_chat_cooldown(_guild(interaction), seconds)
        await self._show(interaction, "Chat cooldown updated.")

    @app_commands.command(name="persona", description="Set or clear this server's persona: instructions for the model.")
    @app_commands.describe(text=PERSONA_TEXT_HELP, clear="Remove this server's persona")
    async def persona(
        self, interaction: discord.Interaction, text: PersonaText | None = None, clear: bool = False
    ) -> None:
        store, guild = bot_of(interaction).store, _guild(interaction)
        done = await change_persona(
            text,
            clear,
            lambda persona: store.set_server_persona(guild, persona),
            done=SERVER_PERSONA_SET,
            removed="Server persona removed.",
        )
        await self._show(interaction, done)

    @app_commands.command(name="chat-quota", description="Set this server's daily chat quotas, within the bot's.")
    @app_commands.describe(
        per_member="Chat tokens one member may spend a day here (0: only the bot's limit)",
        per_server="Chat tokens the whole server may spend a day (0: only the bot's limit)",
    )
    async def chat_quota(
        self,
        interaction: discord.Interaction,
        per_member: app_commands.Range[int, 0, MAX_DAILY_TOKENS] | None = None,
        per_server: app_commands.Range[int, 0, MAX_DAILY_TOKENS] | None = None,
    ) -> None:
        bot, guild = bot_of(interaction), _guild(interaction)
        own = await bot.store.chat_quota(guild)
        quota = ChatQuota(
            own.per_member if per_member is None else per_member, own.per_server if per_server is None else per_server
        )
        await bot.store.set_chat_quota(guild, quota)
        await self._show(
            interaction, "\n".join(["Chat quota updated.", *_looser_than_the_bots(quota, bot.usage.quota)])
        )

    @app_commands.command(name="usage", description="This server's chat tokens and pictures, and its top members.")
    async def usage(self, interaction: discord.Interaction) -> None:
        report = await bot_of(interaction).usage.server_report(_guild(interaction))
        await interaction.response.send_message(
            translate(describe_server_usage(report), interaction.locale), ephemeral=True
        )

    async def _show(self, interaction: discord.Interaction, done: str) -> None:
        bot, guild = bot_of(interaction), _guild(interaction)
        server = await bot.store.server_settings(guild)
        parent = place_of_interaction(interaction).parent_channel_id
        personas = await bot.store.personas(interaction.channel_id or 0, guild_id=guild, parent_id=parent)
        listed = await bot.store.persona_channels(guild, limit=MAX_LISTED + 1)
        default = bot.settings.default_persona
        summary = describe_server(
            server,
            dms_allowed=bot.settings.direct_messages_enabled,
            personas=server_persona_lines(personas, default, listed),
            quotas=describe_quotas(await bot.usage.limits(guild)),
        )
        text = translate(f"{done}\n{summary}".strip(), interaction.locale)
        embeds = server_persona_embeds(personas, default, interaction.locale)
        await interaction.response.send_message(text, embeds=embeds, ephemeral=True)


def _looser_than_the_bots(own: ChatQuota, bots: ChatQuota) -> list[str]:
    """A line for each of a server's own quotas above the bot's: a server may only tighten them."""
    return [
        f"The bot allows at most {allowed:,} tokens a day {which}: that limit holds."
        for which, asked, allowed in (
            ("per member", own.per_member, bots.per_member),
            ("per server", own.per_server, bots.per_server),
        )
        if allowed and asked > allowed
    ]


def _guild(interaction: discord.Interaction) -> int:
    assert interaction.guild_id is not None  # the group is guild_only
    return interaction.guild_id
