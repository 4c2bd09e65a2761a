"""A live edit's new text alone, sent the way discord.py sends it, without building a message from Discord's answer.

A streamed answer's messages are edited every few tenths of a second, and nothing reads what Discord sends back:
discord.py's `edit` methods parse each answer into a `Message` (author, mentions, components), which was a fifth of
an edit's CPU. These send the same requests through the same paths (discord.py's webhook adapter for an interaction's
messages, its `HTTPClient` for a channel's), with its rate-limit handling and the client's allowed mentions (none:
see the README's "Safety"), and return nothing. Anything else (buttons, files, embeds) is edited through
discord.py's own methods.
"""

from __future__ import annotations

import discord
from discord.http import handle_message_parameters
from discord.webhook.async_ import async_context


async def edit_interaction_text(interaction: discord.Interaction, content: str, message_id: int | None = None) -> None:
    """Set the text of the interaction's original response, or of its follow-up message `message_id`."""
    webhook, adapter = interaction.followup, async_context.get()
    with handle_message_parameters(content, previous_allowed_mentions=interaction.client.allowed_mentions) as params:
        request = {
            "session": webhook.session,
            "proxy": webhook.proxy,
            "proxy_auth": webhook.proxy_auth,
            "payload": params.payload,
        }
        if message_id is None:
            await adapter.edit_original_interaction_response(interaction.application_id, interaction.token, **request)
        else:
            await adapter.edit_webhook_message(interaction.application_id, interaction.token, message_id, **request)


async def edit_channel_text(client: discord.Client, channel_id: int, message_id: int, content: str) -> None:
    """Set the text of one of the bot's messages in a channel."""
    with handle_message_parameters(content, previous_allowed_mentions=client.allowed_mentions) as params:
        await client.http.edit_message(channel_id, message_id, params=params)
