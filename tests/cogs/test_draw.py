"""/draw, /draw-queue and the picture buttons end to end: fake Discord, unmodified discord.py, the bot, the emulator."""

from __future__ import annotations

import pytest

from bot.emulator import drawn_picture, received_requests
from tests.cogs.conftest import StartBot
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage

MANAGE_GUILD = 1 << 5
SLOW = "[emu:picture-delay=30]"


def buttons(message: FakeMessage) -> list[str]:
    return [item["custom_id"] for row in message.components for item in row.get("components", [])]


def button(message: FakeMessage, kind: str) -> str:
    return next(custom_id for custom_id in buttons(message) if custom_id.startswith(f"draw:{kind}:"))


def is_final(message: FakeMessage) -> bool:
    pending = any(custom_id.startswith("draw:cancel:") for custom_id in buttons(message))
    return not message.loading and not pending and bool(message.content or message.embeds)


async def draw(
    fake: FakeDiscord, options: dict[str, object], *, user_id: int | None = None, size_limit: int | None = None
) -> FakeMessage:
    """Run /draw and wait until its reply shows how it ended."""
    interaction = await fake.slash_command("draw", options, user_id=user_id, attachment_size_limit=size_limit)
    await interaction.responded()
    original = await interaction.original_message()
    return await fake.wait_until(lambda: original if is_final(original) else None, timeout=20)


async def private_answer(fake: FakeDiscord, count: int = 1) -> str:
    answers = await fake.wait_until(
        lambda: (found := [m for m in fake.messages_in() if m.ephemeral])[count - 1 :] and found
    )
    return answers[count - 1].content


def assert_discord_was_happy(fake: FakeDiscord) -> None:
    assert fake.stats.rate_limited == 0
    assert fake.stats.client_errors == []
    assert fake.stats.ack_violations == []


def embed_fields(message: FakeMessage) -> dict[str, str]:
    return {field["name"]: field["value"] for field in message.embeds[0]["fields"]}


async def test_a_picture_is_attached_with_its_options_and_buttons(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    options = {"prompt": "a red fox", "size": "512x768", "seed": 1234, "scale": 12, "controlnet": "canny"}
    async with start_bot():
        reply = await draw(fake, options | {"model": "Artist v0.3.5 Beta"})

    [(filename, data)] = reply.files
    assert data == drawn_picture(emulator.app, filename.removesuffix(".png"))
    assert reply.embeds[0]["description"] == "a red fox"
    assert reply.embeds[0]["image"]["url"] == f"attachment://{filename}"
    assert embed_fields(reply) == {
        "Model": "Artist v0.3.5 Beta",
        "Size": "512x768",
        "Seed": "1234",
        "Scale": "12",
        "ControlNet": "canny",
    }
    assert [b.split(":")[1] for b in buttons(reply)] == ["reroll", "vary"]
    body = received_requests(emulator.app)[-1].body
    assert (body["mh_model_name"], body["mh_output_size"], body["mh_select_seed"]) == (
        "Artist v0.3.5 Beta",
        "512x768",
        1234,
    )
    assert (body["mh_scale"], body["mh_controlnet_model"], body["user_id"]) == (12, "canny", str(fake.user_id))
    assert_discord_was_happy(fake)


async def test_defaults_come_from_settings_and_a_random_seed_is_shown(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot(default_size="640x640", default_scale=9):
        reply = await draw(fake, {"prompt": "a fox"})
    body = received_requests(emulator.app)[-1].body
    assert (body["mh_output_size"], body["mh_scale"], body["mh_controlnet_model"]) == ("640x640", 9, "")
    assert embed_fields(reply)["Seed"] == str(body["mh_select_seed"])
    assert 0 <= body["mh_select_seed"] <= 9_999_999


async def test_an_option_not_offered_is_refused_privately(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot():
        await fake.slash_command("draw", {"prompt": "a fox", "size": "333x333"})
        refusal = await private_answer(fake)
    assert "Size '333x333' is not offered" in refusal
    assert_discord_was_happy(fake)


@pytest.mark.parametrize(
    ("prompt", "says"),
    [
        ("a fox [emu:refuse=moderation]", "flagged by moderation"),
        ("a fox [emu:refuse=model]", "is not supported by the service"),
    ],
)
async def test_in_band_refusals_name_the_cause_attach_nothing_and_cost_nothing(
    fake: FakeDiscord, start_bot: StartBot, prompt: str, says: str
) -> None:
    async with start_bot(draw_daily_quota=1):
        refused = await draw(fake, {"prompt": prompt})
        drawn = await draw(fake, {"prompt": "a fox"})  # the day's only picture is still there
    assert says in refused.content
    assert refused.files == [] and refused.embeds == [] and buttons(refused) == []
    assert len(drawn.files) == 1


@pytest.mark.parametrize(
    ("prompt", "overrides", "size_limit", "says"),
    [
        ("a fox [emu:picture-fault=huge]", {}, 1_000_000, "larger than the upload limit of 977 KB"),
        ("a fox", {"image_fetch_allow_private": False}, None, "not allowed"),
        ("a fox [emu:picture-fault=not-image]", {}, None, "not a PNG, JPEG, WebP or GIF"),
        ("a fox [emu:picture-fault=redirect-loop]", {}, None, "redirect"),
        ("a fox [emu:picture-fault=stall]", {"image_fetch_timeout": 0.5}, None, "took too long to download (0.5 s)"),
    ],
)
async def test_every_download_refusal_is_explained_and_offers_a_retry(
    fake: FakeDiscord,
    start_bot: StartBot,
    prompt: str,
    overrides: dict[str, object],
    size_limit: int | None,
    says: str,
) -> None:
    async with start_bot(**overrides):
        reply = await draw(fake, {"prompt": prompt}, size_limit=size_limit)
    assert says in reply.content
    assert reply.files == []
    assert buttons(reply)[0].startswith("draw:retry:")
    assert_discord_was_happy(fake)


async def test_a_waiting_request_shows_its_place_then_the_time_drawing(fake: FakeDiscord, start_bot: StartBot) -> None:
    second_user = fake.add_member("second")
    async with start_bot(draw_max_concurrent=1, draw_progress_seconds=0.2):
        first = await fake.slash_command("draw", {"prompt": "a slow fox [emu:picture-delay=1.5]"})
        first_reply = await first.original_message()
        await fake.wait_until(lambda: "Drawing" in first_reply.content)
        second = await fake.slash_command("draw", {"prompt": "a fox"}, user_id=second_user)
        second_reply = await second.original_message()
        await fake.wait_until(lambda: is_final(second_reply), timeout=20)

    shown = [version.content for version in second_reply.versions]
    assert "\u23f3 Waiting to draw: next in line (1 waiting)." in shown
    assert any(content.startswith("\U0001f3a8 Drawing") for content in shown)
    assert len({v.content for v in first_reply.versions if v.content.startswith("\U0001f3a8 Drawing")}) >= 2
    assert second_reply.files
    assert_discord_was_happy(fake)


async def test_one_waiting_request_per_user(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(draw_max_concurrent=1, draw_cooldown_seconds=0):
        await fake.slash_command("draw", {"prompt": f"one {SLOW}"})
        await fake.slash_command("draw", {"prompt": f"two {SLOW}"})
        await fake.slash_command("draw", {"prompt": "three"})
        refusal = await private_answer(fake)
    assert "already have a picture waiting" in refusal


async def test_cooldown_and_daily_quota_hold_across_a_restart(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(draw_daily_quota=1, draw_cooldown_seconds=0):
        await draw(fake, {"prompt": "a fox"})
    async with start_bot(draw_daily_quota=1, draw_cooldown_seconds=0):
        await fake.slash_command("draw", {"prompt": "another fox"})
        quota = await private_answer(fake)
    async with start_bot(draw_daily_quota=0, draw_cooldown_seconds=3600):
        await fake.slash_command("draw", {"prompt": "another fox"})
        cooldown = await private_answer(fake, count=2)
    assert "used your 1 picture(s) for the last 24 hours" in quota
    assert "Please wait 1 h" in cooldown


async def test_the_asker_can_cancel_a_waiting_request_and_a_stranger_cannot(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    stranger = fake.add_member("stranger")
    async with start_bot(draw_max_concurrent=1, draw_cooldown_seconds=0):
        await fake.slash_command("draw", {"prompt": f"first {SLOW}"}, user_id=stranger)
        waiting = await fake.slash_command("draw", {"prompt": "second"})
        reply = await waiting.original_message()
        await fake.wait_until(lambda: "Waiting" in reply.content)
        cancel = button(reply, "cancel")
        await fake.click_button(reply.id, cancel, user_id=stranger)
        refusal = await private_answer(fake)
        await fake.click_button(reply.id, cancel, user_id=fake.user_id)
        await fake.wait_until(lambda: is_final(reply))
    assert "Only the person who asked" in refusal
    assert reply.content.startswith("\U0001f6ab Cancelled by")
    assert buttons(reply) == []


async def test_a_server_manager_sees_the_queue_and_cancels_an_entry(fake: FakeDiscord, start_bot: StartBot) -> None:
    manager = fake.add_member("manager", permissions=MANAGE_GUILD | (1 << 31))
    async with start_bot(draw_max_concurrent=1, draw_cooldown_seconds=0):
        drawing = await fake.slash_command("draw", {"prompt": f"a slow fox {SLOW}"})
        drawing_reply = await drawing.original_message()
        await fake.wait_until(lambda: "Drawing" in drawing_reply.content)
        queue = await fake.slash_command("draw-queue", {}, user_id=manager)
        await queue.responded()
        listing = await queue.original_message()
        assert "a slow fox" in listing.content and listing.ephemeral
        select = buttons(listing)[0]
        generation_id = button(drawing_reply, "cancel").rsplit(":", 1)[1]
        await fake.select_option(listing.id, select, [generation_id], user_id=manager)
        await fake.wait_until(lambda: is_final(drawing_reply))
        await fake.wait_until(lambda: "No pictures are waiting" in listing.content)
    assert "Cancelled by manager (server manager)." in drawing_reply.content


async def test_the_queue_command_is_for_server_managers(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot():
        await fake.slash_command("draw-queue", {})
        refusal = await private_answer(fake)
    assert "Manage Server" in refusal


async def test_reroll_and_variations_work_after_a_restart(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot(draw_cooldown_seconds=0):
        original = await draw(fake, {"prompt": "a red fox", "seed": 77, "scale": 10})
    async with start_bot(draw_cooldown_seconds=0):
        reroll = await fake.click_button(original.id, button(original, "reroll"), user_id=fake.user_id)
        rerolled = await reroll.original_message()
        await fake.wait_until(lambda: is_final(rerolled), timeout=20)
        vary = await fake.click_button(original.id, button(original, "vary"), user_id=fake.user_id)
        varied = await vary.original_message()
        await fake.wait_until(lambda: is_final(varied), timeout=20)

    again, nudged = embed_fields(rerolled), embed_fields(varied)
    assert again["Seed"] != "77" and again["Scale"] == "10"
    assert nudged["Seed"] == "77" and 1 <= abs(int(nudged["Scale"]) - 10) <= 2
    requests = [r.body for r in received_requests(emulator.app)[-2:]]
    assert all(r["messages"] == received_requests(emulator.app)[0].body["messages"] for r in requests)
    assert rerolled.files and varied.files and rerolled.id != original.id
    assert_discord_was_happy(fake)


async def test_shutdown_tells_a_drawing_request_it_was_interrupted(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot():
        interaction = await fake.slash_command("draw", {"prompt": f"a fox {SLOW}"})
        reply = await interaction.original_message()
        await fake.wait_until(lambda: "Drawing" in reply.content)
    assert "Interrupted: the bot was restarting" in reply.content
    assert buttons(reply)[0].startswith("draw:retry:")


async def test_model_and_size_are_autocompleted_from_the_menu(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(draw_sizes="800x600"):
        models = await fake.autocomplete("draw", {"prompt": "a fox", "model": "artist v0.3"}, focused="model")
        sizes = await fake.autocomplete("draw", {"prompt": "a fox", "size": "80"}, focused="size")
    assert [choice["value"] for choice in models] == ["Artist V0.3.0 Beta", "Artist v0.3.5 Beta"]
    assert [choice["value"] for choice in sizes] == ["800x600"]
    assert_discord_was_happy(fake)


async def test_a_busy_server_does_not_hold_up_another(fake: FakeDiscord, start_bot: StartBot) -> None:
    other_guild = fake.add_guild("Other server")
    other_channel = fake.default_channel_of(other_guild)
    busy_second = fake.add_member("busy second")
    other_user = fake.add_member("other", guild_id=other_guild)
    async with start_bot(draw_max_concurrent=2, draw_max_concurrent_per_server=1, draw_cooldown_seconds=0):
        first = await fake.slash_command("draw", {"prompt": f"first {SLOW}"})
        first_reply = await first.original_message()
        await fake.wait_until(lambda: "Drawing" in first_reply.content)
        held = await fake.slash_command("draw", {"prompt": "held back"}, user_id=busy_second)
        held_reply = await held.original_message()
        await fake.wait_until(lambda: "Waiting" in held_reply.content)
        other = await fake.slash_command(
            "draw", {"prompt": "other server"}, channel_id=other_channel, user_id=other_user
        )
        other_reply = await other.original_message()
        await fake.wait_until(lambda: is_final(other_reply), timeout=20)
        assert "next in line" in held_reply.content  # still waiting: its server is at its limit
    assert other_reply.files
    assert_discord_was_happy(fake)


async def test_pictures_can_be_drawn_in_a_direct_message(fake: FakeDiscord, start_bot: StartBot) -> None:
    dm = fake.open_dm(fake.user_id)
    async with start_bot():
        interaction = await fake.slash_command("draw", {"prompt": "a fox"}, channel_id=dm)
        reply = await interaction.original_message()
        await fake.wait_until(lambda: is_final(reply), timeout=20)
    assert reply.channel_id == dm and reply.files
