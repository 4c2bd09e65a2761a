"""The fake Discord against the real, unmodified discord.py client: login, gateway, commands, limits, files, views."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest

from tests.fake_discord import (
    FakeDiscord,
    RateLimit,
    Subcommand,
    UserOption,
    discord_py_pointed_at,
    running_client,
)
from tests.fake_discord.checks import Outcome, assert_clean, make_bot


async def test_bot_logs_in_and_becomes_ready(fake: FakeDiscord) -> None:
    bot = make_bot()
    async with running_client(fake, bot):
        assert bot.user is not None and bot.user.id == fake.bot_user_id
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.default_role.id == fake.guild_id
        assert [c.id for c in guild.text_channels] == [fake.channel_id]
        assert guild.me is not None
    assert fake.stats.identify_payloads[0]["intents"] == discord.Intents.default().value
    assert_clean(fake)


async def test_wrong_token_is_a_login_failure(fake: FakeDiscord) -> None:
    bot = make_bot()
    with discord_py_pointed_at(fake):
        try:
            with pytest.raises(discord.LoginFailure):
                await bot.login("not-the-token")
        finally:
            await bot.close()
    assert [(e.status, e.route) for e in fake.stats.errors] == [(401, "GET /users/@me")]


async def test_tree_sync_records_the_commands(fake: FakeDiscord) -> None:
    bot = make_bot()

    @bot.tree.command(description="Talk to the model")
    async def chat(interaction: discord.Interaction, prompt: str) -> None: ...

    async with running_client(fake, bot):
        first = await bot.tree.sync()
        again = await bot.tree.sync()
        guild = discord.Object(fake.guild_id)
        bot.tree.copy_global_to(guild=guild)
        in_guild = await bot.tree.sync(guild=guild)
    assert [[c["name"] for c in sync] for sync in fake.command_syncs] == [["chat"], ["chat"], ["chat"]]
    assert [sync.guild_id for sync in fake.command_syncs] == [None, None, fake.guild_id]
    assert fake.command_syncs[0][0]["options"][0]["name"] == "prompt"
    assert first[0].id == again[0].id != in_guild[0].id
    assert_clean(fake)


async def test_slash_command_defer_edit_and_followup(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()

    @bot.tree.command(description="Talk to the model")
    async def chat(interaction: discord.Interaction, prompt: str, temperature: float, count: int, loud: bool) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"answer to {prompt}")
        followup = await interaction.followup.send("more", wait=True)
        seen.set((prompt, temperature, count, loud, interaction.locale, followup.interaction_metadata))

    async with running_client(fake, bot):
        options = {"prompt": "hi", "temperature": 0.5, "count": 2, "loud": True}
        interaction = await fake.slash_command("chat", options, locale="fr")
        callback = await interaction.responded()
        prompt, temperature, count, loud, locale, metadata = await seen.get()
        original = await interaction.original_message()
        (followup,) = await interaction.followups()

    assert (prompt, temperature, count, loud, locale) == ("hi", 0.5, 2, True, discord.Locale.french)
    assert callback.type == 5
    assert [v.content for v in original.versions] == ["", "answer to hi"]
    assert original.versions[0].at < original.versions[1].at
    assert not original.loading and original.type == 20
    assert fake.messages_in() == [original, followup] and followup.content == "more"
    assert metadata.user.id == fake.user_id
    assert_clean(fake)


async def test_subcommands_and_user_options_reach_the_callback(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()
    settings = discord.app_commands.Group(name="settings", description="Settings")

    @settings.command(description="Set the model")
    async def model(interaction: discord.Interaction, name: str, owner: discord.Member) -> None:
        await interaction.response.send_message(f"{name} for {owner.display_name}", ephemeral=True)
        seen.set((name, owner.id))

    bot.tree.add_command(settings)
    member_id = fake.add_member("alice")
    async with running_client(fake, bot):
        interaction = await fake.slash_command(
            "settings", Subcommand("model", {"name": "x1", "owner": UserOption(member_id)})
        )
        assert await seen.get() == ("x1", member_id)
        reply = await interaction.original_message()
    assert reply.content == "x1 for alice" and reply.ephemeral
    assert_clean(fake)


async def test_content_over_2000_characters_is_refused(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()

    @bot.tree.command(description="Too long")
    async def long(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("x" * 2001)
        except discord.HTTPException as error:
            seen.set(error)

    async with running_client(fake, bot):
        await fake.slash_command("long")
        error = await seen.get()
    assert (error.status, error.code) == (400, 50035)
    assert "data.content" in error.text
    assert [(e.status, e.code) for e in fake.stats.errors] == [(400, 50035)]


async def test_discord_py_follows_the_headers_and_never_gets_a_429() -> None:
    tight = {"interaction_webhook": RateLimit(2, 0.5), "message_edit": RateLimit(2, 0.5)}
    bot = make_bot()
    done = Outcome()

    @bot.tree.command(description="Stream")
    async def stream(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        for n in range(1, 7):
            await interaction.edit_original_response(content=str(n))
        done.set(True)

    async with FakeDiscord(rate_limits=tight) as fake, running_client(fake, bot):
        interaction = await fake.slash_command("stream")
        await done.get()
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("0")
        for n in range(1, 5):
            await sent.edit(content=str(n))
        original = await interaction.original_message()

    assert [v.content for v in original.versions] == ["", "1", "2", "3", "4", "5", "6"]
    assert original.versions[-1].at - original.versions[1].at >= 1.0  # three windows of 0.5 s
    assert [v.content for v in fake.message(sent.id).versions] == ["0", "1", "2", "3", "4"]
    assert_clean(fake)


async def test_hammering_past_the_limit_gets_a_429_discord_py_would_retry() -> None:
    async with FakeDiscord(rate_limits={"message_create": RateLimit(2, 5.0)}) as fake, aiohttp.ClientSession() as http:
        url = f"{fake.api_base}/channels/{fake.channel_id}/messages"
        headers = {"Authorization": f"Bot {fake.token}"}
        answers = []
        for n in range(3):
            async with http.post(url, json={"content": str(n)}, headers=headers) as response:
                answers.append((response.status, response.headers.copy(), await response.text()))
    (ok, first, _), (_, second, _), (limited, third, body) = answers
    assert ok == 200 and first["Content-Type"] == "application/json"
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]) == (
        "2",
        "1",
        "0",
    )
    assert first["X-RateLimit-Bucket"] == second["X-RateLimit-Bucket"]
    assert 0 < float(second["X-RateLimit-Reset-After"]) <= 5.0
    assert limited == 429 and third["Via"] and third["X-RateLimit-Scope"] == "user" and third["Retry-After"]
    payload = json.loads(body)
    assert payload["global"] is False and 0 < payload["retry_after"] <= 5.0
    assert fake.stats.rate_limited == 1 and sum(fake.stats.rate_limited_by_bucket.values()) == 1


async def test_a_late_acknowledgement_is_unknown_interaction() -> None:
    bot = make_bot()
    seen = Outcome()

    @bot.tree.command(description="Slow")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.defer()
        except discord.NotFound as error:
            seen.set(error)

    async with FakeDiscord(ack_deadline=0.2) as fake, running_client(fake, bot):
        interaction = await fake.slash_command("slow")
        error = await seen.get()
    assert (error.status, error.code) == (404, 10062)
    assert interaction.callback is None
    assert [v.mistake for v in fake.stats.ack_violations] == ["late"]


async def test_a_second_acknowledgement_is_refused(fake: FakeDiscord) -> None:
    bot = make_bot()

    @bot.tree.command(description="Quick")
    async def quick(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("done")

    async with running_client(fake, bot), aiohttp.ClientSession() as http:
        interaction = await fake.slash_command("quick")
        await interaction.responded()
        url = f"{fake.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
        async with http.post(url, json={"type": 4, "data": {"content": "again"}}) as response:
            status, body = response.status, await response.json()
    assert (status, body["code"]) == (400, 40060)
    assert [v.mistake for v in fake.stats.ack_violations] == ["already_acknowledged"]


class ApproveView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.clicked_by: Outcome = Outcome()

    @discord.ui.button(label="Approve", custom_id="approve", style=discord.ButtonStyle.success)
    async def approve(self, interaction: discord.Interaction, button: discord.ui.Button[ApproveView]) -> None:
        await interaction.response.edit_message(content="approved", view=None)
        self.clicked_by.set(interaction.user.id)


async def test_a_button_click_runs_the_view_callback(fake: FakeDiscord) -> None:
    bot = make_bot()
    async with running_client(fake, bot):
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        view = ApproveView()
        sent = await channel.send("Approve?", view=view)
        click = await fake.click_button(sent.id, "approve")
        assert await view.clicked_by.get() == fake.user_id
        message = await fake.wait_for_message_edit(sent.id, lambda m: m.content == "approved")
    assert message.components == [] and (await click.responded()).type == 7
    assert [v.content for v in message.versions] == ["Approve?", "approved"]
    assert_clean(fake)


async def test_uploaded_files_are_stored_served_and_replaced() -> None:
    bot = make_bot()
    data = b"line one\nline two\n"
    async with FakeDiscord(attachment_size_limit=1024) as fake, running_client(fake, bot):
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("notes", file=discord.File(io.BytesIO(data), "notes.txt"))
        assert await sent.attachments[0].read() == data
        edited = await sent.edit(attachments=[discord.File(io.BytesIO(b"v2"), "v2.txt")])
        with pytest.raises(discord.HTTPException) as too_big:
            await channel.send(file=discord.File(io.BytesIO(b"x" * 1025), "big.bin"))
    stored = fake.message(sent.id)
    assert [v.attachments for v in stored.versions] == [[("notes.txt", data)], [("v2.txt", b"v2")]]
    assert sent.attachments[0].content_type == "text/plain" and edited.attachments[0].filename == "v2.txt"
    assert (too_big.value.status, too_big.value.code) == (413, 40005)


async def test_refused_privileged_intents_close_with_4014() -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    bot = make_bot(intents)
    async with FakeDiscord(refuse_privileged_intents=True) as fake:
        with discord_py_pointed_at(fake):
            try:
                await bot.login(fake.token)
                with pytest.raises(discord.PrivilegedIntentsRequired):
                    await bot.connect()
            finally:
                await bot.close()


async def test_the_client_resumes_after_the_gateway_drops(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()

    @bot.tree.command(description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")
        seen.set(True)

    async with running_client(fake, bot):
        await fake.close_gateway(4000)
        await fake.wait_until(lambda: fake.stats.resumes == 1)
        await fake.slash_command("ping")
        assert await seen.get()
    assert fake.stats.gateway_connections == 2
    assert_clean(fake)


async def test_user_messages_carry_content_only_when_the_bot_may_read_it(fake: FakeDiscord) -> None:
    bot = make_bot()
    received: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.id != fake.bot_user_id:
            received.put_nowait(message)

    async with running_client(fake, bot):
        await fake.send_user_message(fake.channel_id, fake.user_id, "no mention")
        await fake.send_user_message(fake.channel_id, fake.user_id, "hello bot", mentions=[fake.bot_user_id])
        plain, mentioning = await received.get(), await received.get()
    assert plain.content == "" and mentioning.content == f"<@{fake.bot_user_id}> hello bot"
    assert mentioning.mentions[0].id == fake.bot_user_id and mentioning.author.id == fake.user_id


async def test_threads_and_message_rules(fake: FakeDiscord) -> None:
    bot = make_bot()
    async with running_client(fake, bot):
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        starter = await channel.send("topic")
        thread = await starter.create_thread(name="discussion")
        await thread.send("inside")
        theirs = await fake.send_user_message(fake.channel_id, fake.user_id, "mine")
        with pytest.raises(discord.Forbidden) as forbidden:
            await channel.get_partial_message(theirs.id).edit(content="hijacked")
    assert thread.id == starter.id and fake.channel(thread.id).parent_id == fake.channel_id
    assert [m.content for m in fake.messages_in(thread.id)] == ["inside"]
    assert forbidden.value.code == 50005


async def test_wait_until_times_out_with_a_clear_error(fake: FakeDiscord) -> None:
    never: Callable[[], bool] = lambda: False  # noqa: E731
    with pytest.raises(TimeoutError, match="fake Discord"):
        await fake.wait_until(never, timeout=0.05)


async def test_embed_limits_and_empty_messages_are_refused(fake: FakeDiscord) -> None:
    bot = make_bot()
    async with running_client(fake, bot):
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        refusals = []
        attempts: list[dict[str, Any]] = [
            {"embed": discord.Embed(description="x" * 4097)},
            {"embeds": [discord.Embed(description="x" * 1000) for _ in range(7)]},
            {},
        ]
        for attempt in attempts:
            with pytest.raises(discord.HTTPException) as refused:
                await channel.send(**attempt)
            refusals.append((refused.value.code, refused.value.text))
    assert [code for code, _ in refusals] == [50035, 50035, 50006]
    assert "embeds.0.description" in refusals[0][1] and "6000" in refusals[1][1]
    assert fake.messages_in() == []
