"""Autocomplete against the real discord.py client: the focused option, the bot's choices, Discord's refusals."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fake_discord import CallbackRefused, FakeDiscord, Subcommand, running_client
from tests.fake_discord.checks import Outcome, assert_clean, make_bot

MODELS = ["flux-dev", "flux-schnell", "sdxl"]


async def test_autocomplete_returns_the_choices_the_bot_offers(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()

    async def model_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        seen.set((current, interaction.namespace.prompt, interaction.guild_id))
        return [app_commands.Choice(name=m, value=m) for m in MODELS if m.startswith(current)]

    @bot.tree.command(description="Draw")
    @app_commands.autocomplete(model=model_names)
    async def draw(interaction: discord.Interaction, prompt: str, model: str) -> None: ...

    async with running_client(fake, bot):
        await bot.tree.sync()
        choices = await fake.autocomplete("draw", {"prompt": "a cat", "model": "flux"}, focused="model")
    assert choices == [{"name": "flux-dev", "value": "flux-dev"}, {"name": "flux-schnell", "value": "flux-schnell"}]
    assert await seen.get() == ("flux", "a cat", fake.guild_id)
    (record,) = fake.interactions
    assert record.type == 4 and record.callback is not None and record.callback.type == 8
    assert record.response_delay is not None and record.response_delay < fake.config.ack_deadline
    focused = record.payload["data"]["options"][1]
    assert focused == {"name": "model", "type": 3, "value": "flux", "focused": True}
    assert fake.stats.ack_violations == []
    assert_clean(fake)


async def test_an_integer_option_in_a_subcommand_is_typed_as_text_and_answered_with_ints(fake: FakeDiscord) -> None:
    bot = make_bot()
    seen = Outcome()
    settings = app_commands.Group(name="settings", description="Settings")

    @settings.command(description="Steps")
    async def steps(interaction: discord.Interaction, count: int) -> None: ...

    @steps.autocomplete("count")
    async def count_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        seen.set(current)
        return [app_commands.Choice(name=f"{current}0 steps", value=int(current) * 10)]

    bot.tree.add_command(settings)
    dm = fake.open_dm(fake.user_id)
    async with running_client(fake, bot):
        await bot.tree.sync()
        choices = await fake.autocomplete("settings", Subcommand("steps", {"count": 2}), channel_id=dm)
    assert choices == [{"name": "20 steps", "value": 20}] and await seen.get() == "2"
    assert fake.interactions[0].guild_id is None
    assert_clean(fake)


@pytest.mark.parametrize(
    ("choices", "error_path"),
    [
        ([{"name": str(n), "value": str(n)} for n in range(26)], "choices"),
        ([{"name": "", "value": "x"}], "choices.0.name"),
        ([{"name": "ok", "value": "y"}, {"name": "n" * 101, "value": "x"}], "choices.1.name"),
        ([{"name": "ok", "value": 3}], "choices.0.value"),
        ([{"name": "ok", "value": "v" * 101}], "choices.0.value"),
    ],
)
async def test_answers_discord_refuses_are_refused(
    fake: FakeDiscord, choices: list[dict[str, Any]], error_path: str
) -> None:
    bot = make_bot()

    async def offer(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=c["name"], value=c["value"]) for c in choices]

    @bot.tree.command(description="Draw")
    @app_commands.autocomplete(model=offer)
    async def draw(interaction: discord.Interaction, model: str) -> None: ...

    async with running_client(fake, bot):
        await bot.tree.sync()
        with pytest.raises(CallbackRefused) as refused:
            await fake.autocomplete("draw", {"model": "f"})
    refusal = refused.value.refusal
    assert (refusal.status, refusal.code) == (400, 50035)
    errors: Any = refusal.body["errors"]["data"]
    for key in error_path.split("."):
        errors = errors[key]
    assert errors["_errors"][0]["code"]
    assert fake.interactions[0].callback is None


async def test_an_option_synced_without_autocomplete_is_never_asked(fake: FakeDiscord) -> None:
    bot = make_bot()

    @bot.tree.command(description="Draw")
    async def draw(interaction: discord.Interaction, model: str) -> None: ...

    async with running_client(fake, bot):
        await bot.tree.sync()
        with pytest.raises(ValueError, match="without autocomplete"):
            await fake.autocomplete("draw", {"model": "f"})
