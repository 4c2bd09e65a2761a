"""Simplified Chinese for zh-CN users, English for everyone else, through the fake Discord and the emulator."""

from __future__ import annotations

from tests.cogs.conftest import StartBot
from tests.fake_discord import FakeDiscord, FakeMessage

ZH = "zh-CN"


def finished(message: FakeMessage) -> bool:
    ids = [item["custom_id"] for row in message.components for item in row.get("components", [])]
    return any(custom_id.startswith(("chat:regen:", "draw:reroll:", "draw:retry:")) for custom_id in ids)


async def test_command_descriptions_are_synced_with_chinese_and_names_stay_english(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    async with start_bot():
        pass
    commands = {command["name"]: command for command in fake.command_syncs[0]}
    assert set(commands) >= {"chat", "draw", "config"}  # English names
    draw = commands["draw"]
    assert draw["description_localizations"][ZH] != draw["description"]
    assert all(option["description_localizations"][ZH] for option in draw["options"])
    assert "name_localizations" not in draw or not draw["name_localizations"]
    menus = [command for command in fake.command_syncs[0] if command["type"] == 3]  # picked from a menu: translated
    assert menus and all(menu["name_localizations"][ZH] != menu["name"] for menu in menus)


async def test_a_picture_request_talks_chinese_to_a_chinese_user(fake: FakeDiscord, start_bot: StartBot) -> None:
    second = fake.add_member("second")
    async with start_bot(draw_max_concurrent=1):
        first = await fake.slash_command("draw", {"prompt": "a fox [emu:picture-delay=1]"})
        first_reply = await first.original_message()
        await fake.wait_until(lambda: "Drawing" in first_reply.content)
        chinese = await fake.slash_command(
            "draw", {"prompt": "a cat [emu:picture-delay=1.5]"}, user_id=second, locale=ZH
        )
        reply = await chinese.original_message()
        await fake.wait_until(lambda: finished(reply), timeout=20)
        refused = await fake.slash_command("draw", {"prompt": "x", "size": "333x333"}, locale=ZH)
        refusal = await refused.original_message()

    shown = [version.content for version in reply.versions]
    assert "\u23f3 等待绘制：下一个就轮到你（1 个等待中）。" in shown  # noqa: RUF001
    assert any(content.startswith("\U0001f3a8 正在绘制") for content in shown)
    assert [field["name"] for field in reply.embeds[0]["fields"]][:3] == ["模型", "尺寸", "种子"]
    assert refusal.ephemeral and refusal.content.startswith("不提供尺寸 '333x333'")
    assert "Drawing" in first_reply.versions[-2].content  # the English user still reads English


async def test_a_failed_answer_is_explained_in_chinese_and_the_answer_itself_is_untouched(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    async with start_bot(fusion_max_attempts=1):
        interaction = await fake.slash_command("chat", {"prompt": "hi [emu:status=401]"}, locale=ZH)
        reply = await interaction.original_message()
        await fake.wait_until(lambda: finished(reply))
        english = await fake.slash_command("chat", {"prompt": "hello"}, locale=ZH)
        answer = await english.original_message()
        await fake.wait_until(lambda: finished(answer))
    assert reply.content == "\u26a0\ufe0f 机器人的 API 凭据被拒绝，需要管理员检查其密钥。"  # noqa: RUF001
    assert answer.content.startswith("**Emulated answer**")  # the model's words are not the bot's to translate
