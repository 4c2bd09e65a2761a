"""Message commands and modals in the fake, against the unmodified discord.py client: registration, the target
message in full, the type-9 callback checked, and a submission reaching the modal."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fake_discord import FakeDiscord, running_client
from tests.fake_discord.checks import Outcome, assert_clean, make_bot

PICTURE = b"\x89PNG\r\n\x1a\n not really"


def menu(bot: discord.Client, name: str, answer: Any) -> None:
    """Add message command `name` to the bot's tree, calling `answer(interaction, message)`."""

    async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
        await answer(interaction, message)

    bot.tree.add_command(app_commands.ContextMenu(name=name, callback=callback))  # type: ignore[attr-defined]


async def test_a_message_command_is_registered_and_gets_the_whole_message(fake: FakeDiscord) -> None:
    bot = make_bot()  # without the message-content intent: the target still comes in full
    seen = Outcome()

    async def inspect(interaction: discord.Interaction, message: discord.Message) -> None:
        embeds, files = [embed.title for embed in message.embeds], [file.filename for file in message.attachments]
        seen.set((message.id, message.content, embeds, files, message.author.id, interaction.command))
        await interaction.response.send_message("seen", ephemeral=True)

    menu(bot, "Inspect This", inspect)
    async with running_client(fake, bot):
        synced = await bot.tree.sync()
        target = await fake.send_user_message(
            fake.channel_id, fake.user_id, "look", embeds=[{"title": "Card"}], files=[("cat.png", PICTURE)]
        )
        used = await fake.message_command("Inspect This", target.id)
        message_id, content, embeds, files, author_id, command = await seen.get()
        reply = await used.original_message()

    assert [(command.name, command.type) for command in synced] == [("Inspect This", discord.AppCommandType.message)]
    assert fake.command_syncs[0][0]["type"] == 3 and "description" not in fake.command_syncs[0][0]
    assert (message_id, content, embeds, files, author_id) == (target.id, "look", ["Card"], ["cat.png"], fake.user_id)
    assert command.name == "Inspect This"
    assert used.record.payload["data"]["id"] == str(synced[0].id)
    assert reply.ephemeral and reply.type == 23  # a context menu command's response
    assert fake.message(target.id).files == [("cat.png", PICTURE)]
    assert_clean(fake)


@pytest.mark.parametrize(
    ("command", "refused"),
    [
        ({"name": "Ask Me", "type": 3}, False),
        ({"name": "Ask Me", "type": 3, "description": "Not for a context menu"}, True),
        ({"name": "Ask Me", "type": 1, "description": "A slash command's name has no capitals or spaces"}, True),
        ({"name": "ask", "type": 1, "description": ""}, True),
        ({"name": "ask", "type": 1, "description": "Fine", "name_localizations": {"zh-CN": "问 我"}}, True),
        ({"name": "x" * 33, "type": 3}, True),
    ],
)
async def test_command_definitions_are_checked_like_discord(
    fake: FakeDiscord, command: dict[str, Any], refused: bool
) -> None:
    url = f"{fake.api_base}/applications/{fake.application_id}/commands"
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as http, http.put(url, json=[command], headers=headers) as response:
        status, body = response.status, await response.json()
    if refused:
        assert (status, body["code"]) == (400, 50035)
        assert "0" in body["errors"]
    else:
        assert status == 200 and body[0]["type"] == 3


class AskModal(discord.ui.Modal, title="Ask about it"):
    what = discord.ui.TextInput(label="What to do", custom_id="what", required=False, max_length=50)
    more = discord.ui.TextInput(label="More", custom_id="more", style=discord.TextStyle.long, min_length=2)

    def __init__(self, seen: Outcome) -> None:
        super().__init__(timeout=60)
        self.seen = seen

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen.set((self.what.value, self.more.value, interaction.type))
        await interaction.response.send_message("thanks", ephemeral=True)


class LabelledModal(discord.ui.Modal, title="Ask about it"):
    more = discord.ui.Label(
        text="More", description="Anything", component=discord.ui.TextInput(custom_id="more", min_length=2)
    )

    def __init__(self, seen: Outcome) -> None:
        super().__init__(timeout=60)
        self.seen = seen

    async def on_submit(self, interaction: discord.Interaction) -> None:
        text_input = self.more.component
        assert isinstance(text_input, discord.ui.TextInput)
        self.seen.set(("", text_input.value, interaction.type))
        await interaction.response.send_message("thanks", ephemeral=True)


@pytest.mark.parametrize("modal_class", [AskModal, LabelledModal])
async def test_a_modal_is_shown_and_its_submission_reaches_it(fake: FakeDiscord, modal_class: type) -> None:
    bot = make_bot()
    seen = Outcome()

    async def ask(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_modal(modal_class(seen))

    menu(bot, "Ask", ask)
    async with running_client(fake, bot):
        await bot.tree.sync()
        target = await fake.send_user_message(fake.channel_id, fake.user_id, "hello")
        used = await fake.message_command("Ask", target.id)
        shown = await used.responded()
        with pytest.raises(ValueError, match="takes 2-4000"):
            await fake.submit_modal(used, {"more": "x"})
        with pytest.raises(ValueError, match="no text input"):
            await fake.submit_modal(used, {"more": "fine", "other": "x"})
        with pytest.raises(ValueError, match="required"):
            await fake.submit_modal(used, {})
        submitted = await fake.submit_modal(used, {"more": "in detail"})
        what, more, kind = await seen.get()
        thanks = await submitted.original_message()

    assert shown.type == 9 and shown.data["title"] == "Ask about it"
    assert (what, more, kind) == ("", "in detail", discord.InteractionType.modal_submit)
    assert submitted.record.payload["data"]["custom_id"] == shown.data["custom_id"]
    assert submitted.record.user_id == fake.user_id and thanks.ephemeral and thanks.content == "thanks"
    assert_clean(fake)


class TooLongTitle(discord.ui.Modal, title="x" * 46):
    what = discord.ui.TextInput(label="What")


async def test_a_modal_discord_would_refuse_is_refused(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()

    async def ask(interaction: discord.Interaction, message: discord.Message) -> None:
        try:
            await interaction.response.send_modal(TooLongTitle())
        except discord.HTTPException as error:
            seen.set(error)

    menu(bot, "Ask", ask)
    async with running_client(fake, bot):
        target = await fake.send_user_message(fake.channel_id, fake.user_id, "hello")
        used = await fake.message_command("Ask", target.id)
        error = await seen.get()
    assert (error.status, error.code) == (400, 50035) and "data.title" in error.text
    assert used.callback is None and used.record.refusals[0].code == 50035
    with pytest.raises(ValueError, match="not answered with a modal"):
        await fake.submit_modal(used)


async def test_a_modal_cannot_answer_a_modal_submission(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()

    class Again(AskModal):
        async def on_submit(self, interaction: discord.Interaction) -> None:
            try:
                await interaction.response.send_modal(AskModal(Outcome()))
            except discord.HTTPException as error:
                seen.set(error)

    async def ask(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_modal(Again(Outcome()))

    menu(bot, "Ask", ask)
    async with running_client(fake, bot):
        target = await fake.send_user_message(fake.channel_id, fake.user_id, "hello")
        used = await fake.message_command("Ask", target.id)
        await fake.submit_modal(used, {"more": "again"})
        error = await seen.get()
    assert (error.status, error.code) == (400, 50035)
