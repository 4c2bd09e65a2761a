"""The Discord messages a streamed reply is shown in: a slash command's response and follow-ups, or channel
messages (new, or reused when an answer is regenerated). `bot.app.streaming.StreamingReply` drives them.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Sequence

import discord

from bot.app.ratelimits import bucket_key
from bot.app.text_edits import edit_channel_text, edit_interaction_text

log = logging.getLogger(__name__)

EDITABLE_FOR = datetime.timedelta(minutes=55)  # Discord limits edits of messages older than an hour
# An interaction's token works for 15 minutes; past this, its messages are edited through the channel instead.
TOKEN_TRUSTED_FOR = datetime.timedelta(minutes=14)
TYPING_LIMIT_SECONDS = 120.0  # the longest the bot shows itself typing before an answer's first text
# The bot shows itself typing only when an answer's first text is this late: most come sooner, and each typing
# request counts in the bot's global rate limit, which many conversations at once share with their answers.
TYPING_AFTER_SECONDS = 1.0


def still_editable(message_ids: Sequence[int]) -> bool:
    """Whether a reply's messages can take a new streamed answer.

    Discord allows only a few edits of messages older than an hour (error 30046), and streaming takes dozens: an
    older reply is better answered again in new messages.
    """
    if not message_ids:
        return False
    return discord.utils.utcnow() - discord.utils.snowflake_time(message_ids[0]) < EDITABLE_FOR


_UNKNOWN = object()  # the buttons of a message this reply did not show itself
AnyMessage = discord.Message | discord.WebhookMessage | discord.PartialMessage


class _ReplyMessages:
    """The messages a reply is shown in so far, in order; what both kinds of reply share."""

    def __init__(self, messages: Sequence[AnyMessage] = ()) -> None:
        self._messages: list[AnyMessage] = list(messages)
        self._views: list[object] = [_UNKNOWN] * len(self._messages)

    @property
    def message_ids(self) -> list[int]:
        return [message.id for message in self._messages]

    async def drop_after(self, count: int) -> None:
        for message in self._messages[count:]:
            try:
                await message.delete()
            except discord.HTTPException as error:
                log.warning("could not delete an outdated reply message: %s", error)
        del self._messages[count:]
        del self._views[count:]

    async def show(
        self,
        index: int,
        content: str,
        view: discord.ui.View | None,
        files: Sequence[discord.File],
        embeds: Sequence[discord.Embed] = (),
    ) -> None:
        if index < len(self._messages) and not files and not embeds and self._views[index] is view:
            await self._edit_text(index, content)  # a live edit: the text alone
        elif index < len(self._messages):
            extra: dict[str, object] = {"attachments": list(files)} if files else {}
            if embeds:
                extra["embeds"] = list(embeds)
            if self._views[index] is not view:  # resending the same buttons on every edit costs for nothing
                extra["view"] = view
            self._messages[index] = await self._edit(index, content=content, **extra)
            self._views[index] = view
        else:
            self._messages.append(await self._create(content, view, files, embeds))
            self._views.append(view)

    async def _edit(self, index: int, **changes: object) -> AnyMessage:
        return await self._messages[index].edit(**changes)  # type: ignore[return-value]

    async def _edit_text(self, index: int, content: str) -> None:
        """Change only the text of part `index` (see `bot.app.text_edits`)."""
        self._messages[index] = await self._edit(index, content=content)

    async def _create(
        self, content: str, view: discord.ui.View | None, files: Sequence[discord.File], embeds: Sequence[discord.Embed]
    ) -> AnyMessage:
        raise NotImplementedError


class InteractionReply(_ReplyMessages):
    """A slash command's reply: the deferred original response, then follow-up messages."""

    def __init__(self, interaction: discord.Interaction, *, deferred_id: int | None = None) -> None:
        super().__init__()
        self._interaction = interaction
        self._deferred_id = deferred_id  # the deferred response's message, shown "thinking" until the first text
        self._webhook_bucket = bucket_key("PATCH", f"/webhooks/{interaction.application_id}/{interaction.token}")

    @property
    def message_ids(self) -> list[int]:
        return super().message_ids or ([self._deferred_id] if self._deferred_id else [])

    @property
    def bucket(self) -> str:
        if self._token_expiring():
            return channel_bucket(self._interaction.channel_id or 0, "PATCH")
        return self._webhook_bucket

    @property
    def new_part_bucket(self) -> str:
        if self._token_expiring():
            return channel_bucket(self._interaction.channel_id or 0, "POST")
        return self._webhook_bucket

    def _token_expiring(self) -> bool:
        """Whether the interaction's token is about to stop working, and its messages are edited as the channel's."""
        return discord.utils.utcnow() - self._interaction.created_at >= TOKEN_TRUSTED_FOR

    def _channel(self) -> discord.PartialMessageable:
        interaction = self._interaction
        return interaction.client.get_partial_messageable(interaction.channel_id or 0, guild_id=interaction.guild_id)

    async def _edit(self, index: int, **changes: object) -> AnyMessage:
        if self._token_expiring():
            return await self._channel().get_partial_message(self.message_ids[index]).edit(**changes)  # type: ignore[arg-type]
        if index == 0:
            return await self._interaction.edit_original_response(**changes)  # type: ignore[arg-type]
        return await super()._edit(index, **changes)

    async def _edit_text(self, index: int, content: str) -> None:
        interaction = self._interaction
        if self._token_expiring():
            await edit_channel_text(interaction.client, interaction.channel_id or 0, self.message_ids[index], content)
        else:
            await edit_interaction_text(interaction, content, None if index == 0 else self.message_ids[index])

    async def _create(
        self, content: str, view: discord.ui.View | None, files: Sequence[discord.File], embeds: Sequence[discord.Embed]
    ) -> AnyMessage:
        if not self._messages:  # the deferred original response exists already: fill it
            extra = {"attachments": list(files)} if files else {}
            if self._token_expiring() and self._deferred_id:
                original = self._channel().get_partial_message(self._deferred_id)
                return await original.edit(content=content, view=view, embeds=list(embeds), **extra)  # type: ignore[arg-type]
            return await self._interaction.edit_original_response(
                content=content, view=view, embeds=list(embeds), **extra
            )
        if self._token_expiring():  # a follow-up needs the token: a message replying to the first one instead
            return await self._channel().send(
                content,
                view=view,  # type: ignore[arg-type]
                files=list(files),
                embeds=list(embeds),
                reference=self._channel().get_partial_message(self.message_ids[0]),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        followup = {"view": view} if view is not None else {}
        return await self._interaction.followup.send(
            content, files=list(files), embeds=list(embeds), wait=True, **followup
        )


class ChannelReply(_ReplyMessages):
    """A reply made of plain channel messages: new ones, or existing ones reused (an answer regenerated).

    With `reply_to`, the first message is a Discord reply to that message, which pings its author only with
    `ping_author`; with `typing`, the channel shows the bot typing from `TYPING_AFTER_SECONDS` on until the first
    message appears (at most `TYPING_LIMIT_SECONDS`). Call `close` when done.
    """

    def __init__(
        self,
        channel: discord.abc.Messageable,
        existing_ids: Sequence[int] = (),
        *,
        reply_to: discord.Message | discord.MessageReference | None = None,
        ping_author: bool = False,
        typing: bool = False,
        client: discord.Client,
    ) -> None:
        super().__init__([channel.get_partial_message(message_id) for message_id in existing_ids])  # type: ignore[attr-defined]
        self._channel = channel
        self._client = client  # a live edit sends the text alone through it (`bot.app.text_edits`)
        self._reply_to = reply_to
        self._ping_author = ping_author
        self._typing = asyncio.create_task(self._type(), name="typing") if typing else None

    def close(self) -> None:
        """Stop showing the bot typing, if it still does."""
        if self._typing is not None:
            self._typing.cancel()

    async def _type(self) -> None:
        try:
            await asyncio.sleep(TYPING_AFTER_SECONDS)
            async with asyncio.timeout(TYPING_LIMIT_SECONDS), self._channel.typing():
                await asyncio.Future()  # until cancelled by the first message, or the time limit
        except (TimeoutError, discord.HTTPException) as error:
            log.debug("typing indicator ended: %r", error)

    @property
    def _channel_id(self) -> int:
        return getattr(self._channel, "id", 0)

    @property
    def bucket(self) -> str:
        return channel_bucket(self._channel_id, "PATCH")

    async def _edit_text(self, index: int, content: str) -> None:
        await edit_channel_text(self._client, self._channel_id, self.message_ids[index], content)

    @property
    def new_part_bucket(self) -> str:
        return channel_bucket(self._channel_id, "POST")

    async def _create(
        self, content: str, view: discord.ui.View | None, files: Sequence[discord.File], embeds: Sequence[discord.Embed]
    ) -> AnyMessage:
        reference = self._reply_to if not self._messages else None
        sent = await self._channel.send(
            content,
            view=view,
            files=list(files),
            embeds=list(embeds),
            reference=reference,  # type: ignore[arg-type]
            allowed_mentions=discord.AllowedMentions.none(),  # the text is the model's: it names, never pings
            mention_author=self._ping_author and reference is not None,
        )
        self.close()
        return sent


def channel_bucket(channel_id: int, method: str) -> str:
    """The bucket of editing (PATCH) or creating (POST) a message in a channel."""
    return bucket_key(method, f"/channels/{channel_id}/messages" + ("/0" if method == "PATCH" else ""))
