"""`/draw-queue`'s answer: a server manager's view of the server's picture requests, with a menu to cancel one."""

from __future__ import annotations

import discord

from bot.app.i18n import translate, translate_label
from bot.core.draw import DrawService, QueueEntry, QueueSnapshot

MAX_QUEUE_LINES = 25  # one select option per entry, and Discord allows 25


class QueueView(discord.ui.View):
    """A server manager's view of the server's picture requests, with a menu to cancel one. Open it with
    `await QueueView.open(...)`: the queue is read (from every process sharing it) before it is shown."""

    def __init__(self, draws: DrawService, guild_id: int, snapshot: QueueSnapshot, locale: str | None = None) -> None:
        super().__init__(timeout=300)
        self.draws = draws
        self.guild_id = guild_id
        self.locale = locale
        self.snapshot = snapshot
        self.cancel_entry.placeholder = translate_label(self.cancel_entry.placeholder or "", locale)
        self.refresh()

    @classmethod
    async def open(cls, draws: DrawService, guild_id: int, locale: str | None = None) -> QueueView:
        return cls(draws, guild_id, await draws.queue.snapshot(), locale)

    def describe(self) -> str:
        return translate(self._describe(), self.locale)

    def _describe(self) -> str:
        drawing = [t for t in self.snapshot.drawing if t.guild_id == self.guild_id]
        waiting = [t for t in self.snapshot.waiting if t.guild_id == self.guild_id]
        if not drawing and not waiting:
            return "No pictures are waiting or being drawn in this server."
        lines = [f"**Drawing** ({len(drawing)}):", *map(_queue_line, drawing)] if drawing else []
        if waiting:
            lines += [f"**Waiting** ({len(waiting)}):", *map(_queue_line, waiting)]
        total = len(self.snapshot.waiting)
        limit = self.draws.queue.limits.max_drawing
        lines.append(f"-# {total} waiting in all servers; at most {limit} drawn at once.")
        return "\n".join(lines)[:2000]

    def refresh(self) -> None:
        snapshot = self.snapshot
        entries = [t for t in (*snapshot.drawing, *snapshot.waiting) if t.guild_id == self.guild_id]
        entries = entries[:MAX_QUEUE_LINES]
        self.cancel_entry.options = [
            discord.SelectOption(label=_queue_line(t)[:100], value=str(t.generation_id)) for t in entries
        ] or [discord.SelectOption(label=translate_label("(nothing to cancel)", self.locale), value="0")]
        self.cancel_entry.disabled = not entries

    async def reload(self) -> None:
        """Read the queue again and show what it holds now."""
        self.snapshot = await self.draws.queue.snapshot()
        self.refresh()

    @discord.ui.select(placeholder="Cancel a picture request\u2026", custom_id="draw:queue:cancel")
    async def cancel_entry(self, interaction: discord.Interaction, select: discord.ui.Select[QueueView]) -> None:
        generation_id = int(select.values[0])
        ticket = self.draws.queue.find(generation_id)  # this server's requests are this process's
        if ticket is not None and ticket.guild_id == self.guild_id:
            await self.draws.cancel(generation_id, f"Cancelled by {interaction.user.display_name} (server manager).")
        await self.reload()
        await interaction.response.edit_message(content=self.describe(), view=self)


def _queue_line(entry: QueueEntry) -> str:
    prompt = entry.prompt if len(entry.prompt) <= 60 else entry.prompt[:59] + "\u2026"
    return f"#{entry.generation_id} {entry.user_name or entry.user_id}: {prompt}"
