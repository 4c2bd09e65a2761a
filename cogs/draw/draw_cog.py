"""`/draw` and `/draw-queue`, and the buttons of a picture request: Cancel, Re-roll, Variations and Retry.

The buttons are `DynamicItem`s whose custom id carries the stored request's id, so they keep working after a
restart: the options are read back from the store. A new picture from a button is the presser's request, under
the same queue, cooldown and quota as `/draw`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.buttons import StoredRecordButton
from bot.app.client import send_private
from bot.app.i18n import translate, translate_label
from bot.app.places import place_of_interaction
from bot.app.repair import repair_pictures
from bot.app.replies import InteractionReply
from bot.core.draw import DrawSpec, Requester, Ticket, reroll, variation
from bot.core.fusion.models import CONTROLNET_MODELS
from cogs.draw.reply import DrawReply

if TYPE_CHECKING:
    from bot.app.client import FusionBot

NO_CONTROLNET = "none"
MAX_QUEUE_LINES = 25  # one select option per entry, and Discord allows 25
NOT_YOURS = "Only the person who asked, or a member with Manage Server, can cancel this picture."


def _bot(interaction: discord.Interaction) -> FusionBot:
    return interaction.client  # type: ignore[return-value]


async def start_drawing(interaction: discord.Interaction, spec: DrawSpec) -> None:
    """Queue `spec` as the interaction user's picture and show it in the interaction's reply until it ends."""
    bot = _bot(interaction)
    user = interaction.user
    ticket = await bot.draws.admit(
        spec, Requester(user.id, interaction.guild_id, interaction.channel_id or user.id, user.display_name)
    )
    try:
        deferred = await interaction.response.defer(thinking=True)
    except BaseException:
        await bot.draws.withdraw(ticket)
        raise
    if deferred is not None and deferred.message_id is not None:  # for the repair after a crash
        await bot.store.set_generation_message(ticket.generation_id, deferred.message_id)
    display = DrawReply(
        InteractionReply(interaction, deferred_id=deferred and deferred.message_id),
        DRAW_BUTTONS,
        ticket.generation_id,
        requested_by=user.display_name,
        pace=bot.rate_limits.pace,
        locale=interaction.locale.value,
    )
    await bot.draws.draw(ticket, spec, display, max_bytes=interaction.filesize_limit)


class _PictureButton(StoredRecordButton):
    """What the buttons of a picture request share: the stored request's id in the custom id."""

    prefix = "draw"

    @property
    def generation_id(self) -> int:
        return self.record_id

    async def stored_place(self, interaction: discord.Interaction) -> tuple[int, int | None] | None:
        generation = await _bot(interaction).store.generation(self.generation_id)
        return None if generation is None else (generation.channel_id, generation.guild_id)


class _DrawAgainButton(_PictureButton):
    """A new picture derived from a stored request's options."""

    derive: Callable[[DrawSpec], DrawSpec] = staticmethod(lambda spec: spec)

    async def press(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        generation = await bot.store.generation(self.generation_id)
        if generation is None:
            await send_private(interaction, "This picture request is no longer stored, so it cannot be repeated.")
            return
        await bot.access.check(place_of_interaction(interaction))
        stored = DrawSpec.of(generation)
        # Checked against today's menu: a model or size an administrator has since removed is refused.
        spec = bot.draw_menu.spec(
            stored.prompt,
            model=stored.model,
            size=stored.size,
            seed=stored.seed,
            scale=stored.scale,
            controlnet=stored.controlnet,
        )
        await start_drawing(interaction, type(self).derive(spec))


class CancelButton(_PictureButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"draw:cancel:(?P<id>\d+)"):
    """Cancels a picture request while it waits or is drawn."""

    kind, label = "cancel", "Cancel"

    async def press(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        generation = await bot.store.generation(self.generation_id)
        if generation is None:
            await send_private(interaction, "This picture request is no longer stored, so it cannot be cancelled.")
            return
        if interaction.user.id != generation.user_id and not interaction.permissions.manage_guild:
            await send_private(interaction, NOT_YOURS)
            return
        if await bot.draws.cancel(self.generation_id, f"Cancelled by {interaction.user.display_name}."):
            await interaction.response.defer()  # the reply itself shows that it was cancelled
        else:
            await send_private(interaction, "This picture is not waiting or being drawn any more.")


class RerollButton(
    _DrawAgainButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"draw:reroll:(?P<id>\d+)"
):
    """The same prompt and options with a new seed."""

    kind, label, emoji = "reroll", "Re-roll", "\U0001f3b2"
    derive = staticmethod(reroll)


class VariationsButton(
    _DrawAgainButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"draw:vary:(?P<id>\d+)"
):
    """The same seed with the prompt guidance nudged."""

    kind, label, emoji = "vary", "Variations", "\U0001f500"
    derive = staticmethod(variation)


class RetryButton(_DrawAgainButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"draw:retry:(?P<id>\d+)"):
    """The same request again, after a failure or a restart."""

    kind, label, emoji = "retry", "Retry", "\U0001f501"


class DrawButtons:
    """Cancel while a request waits or is drawn; Re-roll and Variations under a picture; Retry after a failure."""

    def pending(self, generation_id: int) -> discord.ui.View:
        return discord.ui.View(timeout=None).add_item(CancelButton(generation_id))

    def finished(self, generation_id: int) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        return view.add_item(RerollButton(generation_id)).add_item(VariationsButton(generation_id))

    def failed(self, generation_id: int) -> discord.ui.View:
        return discord.ui.View(timeout=None).add_item(RetryButton(generation_id))


DRAW_BUTTONS = DrawButtons()


class QueueView(discord.ui.View):
    """A server manager's view of the server's picture requests, with a menu to cancel one."""

    def __init__(self, bot: FusionBot, guild_id: int, locale: str | None = None) -> None:
        super().__init__(timeout=300)
        self.bot = bot
        self.guild_id = guild_id
        self.locale = locale
        self.cancel_entry.placeholder = translate_label(self.cancel_entry.placeholder or "", locale)
        self.refresh()

    def describe(self) -> str:
        return translate(self._describe(), self.locale)

    def _describe(self) -> str:
        queue = self.bot.draws.queue
        drawing = [t for t in queue.drawing if t.guild_id == self.guild_id]
        waiting = [t for t in queue.waiting if t.guild_id == self.guild_id]
        if not drawing and not waiting:
            return "No pictures are waiting or being drawn in this server."
        lines = [f"**Drawing** ({len(drawing)}):", *map(_queue_line, drawing)] if drawing else []
        if waiting:
            lines += [f"**Waiting** ({len(waiting)}):", *map(_queue_line, waiting)]
        total = len(queue.waiting)
        lines.append(f"-# {total} waiting in all servers; at most {queue.limits.max_drawing} drawn at once.")
        return "\n".join(lines)[:2000]

    def refresh(self) -> None:
        queue = self.bot.draws.queue
        entries = [t for t in (*queue.drawing, *queue.waiting) if t.guild_id == self.guild_id][:MAX_QUEUE_LINES]
        self.cancel_entry.options = [
            discord.SelectOption(label=_queue_line(t)[:100], value=str(t.generation_id)) for t in entries
        ] or [discord.SelectOption(label=translate_label("(nothing to cancel)", self.locale), value="0")]
        self.cancel_entry.disabled = not entries

    @discord.ui.select(placeholder="Cancel a picture request\u2026", custom_id="draw:queue:cancel")
    async def cancel_entry(self, interaction: discord.Interaction, select: discord.ui.Select[QueueView]) -> None:
        generation_id = int(select.values[0])
        ticket = self.bot.draws.queue.find(generation_id)
        if ticket is not None and ticket.guild_id == self.guild_id:
            await self.bot.draws.cancel(
                generation_id, f"Cancelled by {interaction.user.display_name} (server manager)."
            )
        self.refresh()
        await interaction.response.edit_message(content=self.describe(), view=self)


def _queue_line(ticket: Ticket) -> str:
    prompt = ticket.prompt if len(ticket.prompt) <= 60 else ticket.prompt[:59] + "\u2026"
    return f"#{ticket.generation_id} {ticket.user_name or ticket.user_id}: {prompt}"


class DrawCog(commands.Cog):
    """Draw pictures with `/draw`; server managers see and trim the queue with `/draw-queue`."""

    def __init__(self, bot: FusionBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Before serving: finish the picture requests a process that died had queued or was drawing."""
        await repair_pictures(self.bot, self.bot.store, DRAW_BUTTONS.failed)

    @app_commands.command(name="draw", description="Draw a picture. Requests are queued fairly across the server.")
    @app_commands.describe(
        prompt="What to draw",
        model="Drawing model (default set by the bot's administrator)",
        size="Width x height in pixels",
        seed="0 to 9999999 to repeat a picture; -1 for a random one",
        scale="Prompt guidance from 1 to 20: higher follows the prompt more closely",
        controlnet="ControlNet model (none by default)",
    )
    @app_commands.choices(
        controlnet=[app_commands.Choice(name=name, value=name) for name in (NO_CONTROLNET, *CONTROLNET_MODELS)]
    )
    async def draw(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, 1000],
        model: app_commands.Range[str, 1, 100] | None = None,
        size: app_commands.Range[str, 3, 20] | None = None,
        seed: app_commands.Range[int, -1, 9_999_999] | None = None,
        scale: app_commands.Range[int, 1, 20] | None = None,
        controlnet: str | None = None,
    ) -> None:
        server = await self.bot.access.check(place_of_interaction(interaction))
        defaults = server.defaults if server is not None else {}
        spec = self.bot.draw_menu.spec(
            prompt,
            model=model or defaults.get("model"),
            size=size or defaults.get("size"),
            seed=seed,
            scale=scale,
            controlnet="" if controlnet == NO_CONTROLNET else controlnet,
        )
        await start_drawing(interaction, spec)

    @draw.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in self.bot.draw_menu.models_matching(typed)]

    @draw.autocomplete("size")
    async def _sizes(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=size, value=size) for size in self.bot.draw_menu.sizes_matching(typed)]

    @app_commands.command(name="draw-queue", description="See this server's picture requests and cancel any of them.")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def draw_queue(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # guild_only
        view = QueueView(self.bot, interaction.guild_id, interaction.locale.value)
        await interaction.response.send_message(view.describe(), view=view, ephemeral=True)
