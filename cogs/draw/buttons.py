"""The buttons of a picture request: Cancel while it waits or is drawn, Re-roll and Variations under a picture,
Retry after a failure; and `start_drawing`, which every new picture (from `/draw` or a button) goes through.

They are `DynamicItem`s whose custom id carries the stored request's id, so they keep working after a restart:
the options are read back from the store. A new picture from a button is the presser's request, under the same
queue, cooldown and quota as `/draw`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.app.buttons import StoredRecordButton
from bot.app.client import bot_of, send_private
from bot.app.places import place_of_interaction
from bot.app.replies import InteractionReply
from bot.core.draw import DrawSpec, Requester, reroll, variation
from cogs.draw.reply import DrawReply

if TYPE_CHECKING:
    pass

NOT_YOURS = "Only the person who asked, or a member with Manage Server, can cancel this picture."


async def start_drawing(interaction: discord.Interaction, spec: DrawSpec) -> None:
    """Queue `spec` as the interaction user's picture and show it in the interaction's reply until it ends."""
    bot = bot_of(interaction)
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
        generation = await bot_of(interaction).store.generation(self.generation_id)
        return None if generation is None else (generation.channel_id, generation.guild_id)


class _DrawAgainButton(_PictureButton):
    """A new picture derived from a stored request's options."""

    derive: Callable[[DrawSpec], DrawSpec] = staticmethod(lambda spec: spec)

    async def press(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
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
        bot = bot_of(interaction)
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
