"""Direct messages against the real discord.py client: slash commands in a DM, the bot DMing a user, user DMs."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest

from tests.fake_discord import FakeDiscord, running_client
from tests.fake_discord.checks import Outcome, assert_clean, make_bot

DM_APP_PERMISSIONS = (1 << 14) | (1 << 15) | (1 << 17) | (1 << 18)
PNG = b"\x89PNG\r\n\x1a\nnot really a picture"


async def test_a_slash_command_in_a_dm_has_a_user_and_no_guild(fake: FakeDiscord) -> None:
    dora = fake.add_user("dora")
    dm = fake.open_dm(dora)
    assert fake.open_dm(dora) == dm
    bot = make_bot()
    seen = Outcome()

    @bot.tree.command(description="Draw")
    async def draw(interaction: discord.Interaction, prompt: str) -> None:
        seen.set(interaction)
        await interaction.response.defer()
        embed = discord.Embed(title=prompt).add_field(name="seed", value="42")
        file = discord.File(io.BytesIO(PNG), "picture.png")
        await interaction.edit_original_response(content="done", embed=embed, attachments=[file])
        await interaction.followup.send("again?")

    async with running_client(fake, bot):
        handle = await fake.slash_command("draw", {"prompt": "a cat"}, channel_id=dm)
        interaction: discord.Interaction = await seen.get()
        original = await handle.original_message()
        (followup,) = await handle.followups()

    assert interaction.guild is None and interaction.guild_id is None and interaction.user.id == dora
    assert isinstance(interaction.channel, discord.DMChannel) and interaction.channel.recipient is not None
    assert interaction.channel.recipient.id == dora
    assert interaction.context.dm_channel and not interaction.context.guild
    assert interaction.app_permissions.value == DM_APP_PERMISSIONS
    payload = handle.record.payload
    assert "guild_id" not in payload and "member" not in payload and payload["context"] == 1
    assert payload["channel"]["type"] == 1 and payload["channel"]["recipients"][0]["id"] == str(dora)
    assert handle.record.guild_id is None and handle.record.user_id == dora
    assert fake.messages_in(dm) == [original, followup] and original.guild_id is None
    final = original.versions[-1]
    assert final.content == "done" and final.embeds[0]["title"] == "a cat"
    assert final.embeds[0]["fields"] == [{"name": "seed", "value": "42", "inline": True}]
    assert final.file("picture.png") == original.file("picture.png") == PNG
    assert final.files == original.files == [("picture.png", PNG)]
    assert_clean(fake)


async def test_the_bot_dms_a_user_and_reads_the_answer_without_the_content_intent(fake: FakeDiscord) -> None:
    dora = fake.add_user("dora")
    bot = make_bot()
    received: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.id == dora:
            received.put_nowait(message)

    async with running_client(fake, bot):
        user = await bot.fetch_user(dora)
        sent = await user.send("hello dora")
        dm = fake.open_dm(dora)
        await fake.send_user_message(dm, dora, "hi bot")
        answer = await asyncio.wait_for(received.get(), 5.0)
        with pytest.raises(LookupError):
            await fake.send_user_message(dm, fake.user_id, "not my DM")

    assert sent.channel.id == dm and [m.content for m in fake.messages_in(dm)] == ["hello dora", "hi bot"]
    assert answer.guild is None and answer.content == "hi bot" and isinstance(answer.channel, discord.DMChannel)
    assert not bot.intents.message_content
    assert_clean(fake)


async def test_dm_events_need_the_direct_messages_intent(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.dm_messages = False
    bot = make_bot(intents)
    dm = fake.open_dm(fake.user_id)
    async with running_client(fake, bot):
        await fake.send_user_message(dm, fake.user_id, "anyone?")
        await fake.send_user_message(fake.channel_id, fake.user_id, "in the guild")
    assert fake.stats.dispatched["MESSAGE_CREATE"] == 1


class ThanksView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.clicked: Outcome = Outcome()

    @discord.ui.button(label="Thanks", custom_id="thanks")
    async def thanks(self, interaction: discord.Interaction, button: discord.ui.Button[ThanksView]) -> None:
        await interaction.response.edit_message(content="you are welcome", view=None)
        self.clicked.set((interaction.user.id, interaction.guild_id))


async def test_a_button_in_a_dm_is_clicked_by_its_recipient(fake: FakeDiscord) -> None:
    dora = fake.add_user("dora")
    bot = make_bot()
    async with running_client(fake, bot):
        view = ThanksView()
        sent = await (await bot.fetch_user(dora)).send("here you go", view=view)
        await fake.click_button(sent.id, "thanks")
        assert await view.clicked.get() == (dora, None)
        edited = await fake.wait_for_message_edit(sent.id, lambda m: m.content == "you are welcome")
    assert edited.channel_id == fake.open_dm(dora) and edited.components == []
    assert_clean(fake)
