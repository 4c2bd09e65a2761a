"""The text of a Discord message, for the message commands: its content with mentions shown as names, the text
of its embeds, and (for a question about it) the names and descriptions of its attachments.

Mentions are written as `@name` (`discord.Message.clean_content`): the model reads who is meant, and nothing the
bot writes pings anyone anyway (the client's `AllowedMentions.none()`).
"""

from __future__ import annotations

import discord


def message_text(message: discord.Message, *, attachments: bool = True) -> str:
    """What the message says, one part a line: its content, each embed's text, then each attachment's line."""
    parts = [message.clean_content, *(embed_text(embed) for embed in message.embeds)]
    if attachments:
        parts += [attachment_line(attachment) for attachment in message.attachments]
    return "\n".join(part.strip() for part in parts if part.strip())


def embed_text(embed: discord.Embed) -> str:
    fields = [f"{field.name}: {field.value}" for field in embed.fields]
    pieces = [embed.author.name, embed.title, embed.description, *fields, embed.footer.text]
    return "\n".join(piece for piece in pieces if piece)


def attachment_line(attachment: discord.Attachment) -> str:
    described = f": {attachment.description}" if attachment.description else ""
    return f"[attachment {attachment.filename}{described}]"


def author_name(message: discord.Message) -> str:
    """The author's name as shown where the message is: in a server, their nickname there when it is known."""
    author = message.author
    if message.guild is not None and not isinstance(author, discord.Member):
        author = message.guild.get_member(author.id) or author
    return author.display_name


def drawing_prompt(message: discord.Message) -> str:
    """The message's text as one line, for a picture's prompt: its content and embeds (attachments' names are no
    description of a picture)."""
    return " ".join(message_text(message, attachments=False).split())
