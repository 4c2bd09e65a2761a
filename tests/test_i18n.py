"""Localization: English as the code writes it, Simplified Chinese for zh-CN; command names stay English."""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections import Counter
from types import ModuleType
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.app_commands import TranslationContext, TranslationContextLocation, locale_str
from discord.ext import commands

from bot.app.i18n import (
    TEMPLATES,
    FusionTranslator,
    describe_duration,
    is_chinese,
    missing_command_texts,
    placeholders,
    translate,
    translate_label,
)
from bot.app.i18n_catalog import LABELS, MESSAGES
from bot.app.i18n_commands import COMMAND_TEXTS
from bot.core.access import Place
from bot.core.durations import describe_wait

ZH = discord.Locale.chinese
COG_MODULES = (
    *("cogs.chat.chat_cog", "cogs.draw.draw_cog", "cogs.chat.conversations_cog", "cogs.config.config_cog"),
    "cogs.usage.usage_cog",
)
CUT_OFF = "The answer was cut off: the connection to the service dropped."


@pytest.mark.parametrize("locale", [discord.Locale.american_english, discord.Locale.taiwan_chinese, "en-GB", None])
def test_other_locales_get_the_text_unchanged(locale: discord.Locale | str | None) -> None:
    assert translate("Stopped.", locale) == "Stopped."
    assert translate_label("Stop", locale) == "Stop"


@pytest.mark.parametrize("locale", [ZH, "zh-CN", "zh_cn"])
def test_zh_cn_in_any_spelling_is_chinese(locale: discord.Locale | str) -> None:
    assert is_chinese(locale)
    assert translate("Stopped.", locale) == "已停止。"


def test_a_plain_message_keeps_its_emoji_prefix() -> None:
    assert translate("\u23f9\ufe0f Stopped.", ZH) == "\u23f9\ufe0f 已停止。"
    assert translate(f"\u26a0\ufe0f {CUT_OFF}", ZH) == "\u26a0\ufe0f 回答被中断：与服务的连接已断开。"  # noqa: RUF001


def test_a_templated_message_with_numbers() -> None:
    text = "The picture queue is full (12 waiting). Please try again in a few minutes."
    assert translate(text, ZH) == "图片队列已满（12 个等待中），请几分钟后再试。"  # noqa: RUF001
    text = "\u23f3 Waiting to draw: number 3 in line (5 waiting)."
    assert translate(text, ZH) == "\u23f3 等待绘制：排在第 3 位（5 个等待中）。"  # noqa: RUF001


def test_the_most_specific_template_wins() -> None:
    assert translate("Cancelled by Ann (server manager).", ZH) == "已被 Ann（服务器管理员）取消。"  # noqa: RUF001
    assert translate("Cancelled by Ann.", ZH) == "已被 Ann 取消。"


def test_a_nested_reason_is_translated_too() -> None:
    text = (
        "Channel conversations are off: CONVERSATIONS_ENABLED is false. Slash commands work as usual. "
        "See the README's Discord setup."
    )
    assert translate(text, ZH) == (
        "频道对话已关闭：CONVERSATIONS_ENABLED 设置为 false。斜杠命令照常可用。请参阅 README 中的 Discord 设置说明。"  # noqa: RUF001
    )


@pytest.mark.parametrize(
    ("seconds", "chinese"),
    [(45, "45 秒"), (180, "3 分钟"), (7500, "2 小时 5 分钟"), (7200, "2 小时")],
)
def test_durations_read_naturally(seconds: float, chinese: str) -> None:
    assert describe_duration(describe_wait(seconds)) == chinese
    text = f"Please wait {describe_wait(seconds)} before asking for another picture."
    assert translate(text, ZH) == f"请等待 {chinese}后再请求下一张图片。"


def test_terms_in_placeholders() -> None:
    assert translate("The seed must be between 0 and 9999999.", ZH) == "种子必须在 0 到 9999999 之间。"
    text = "You are missing Manage Channels permission(s) to run this command."
    assert translate(text, ZH) == "你缺少运行此命令所需的权限：管理频道。"  # noqa: RUF001
    text = "The service took too long to answer (first byte, 30 s). Please try again."
    assert translate(text, ZH) == "服务响应超时（等待首字节，30 秒），请重试。"  # noqa: RUF001


def test_only_the_note_after_a_partial_answer_is_translated() -> None:
    answer = "Here is the start of an answer.\nIt goes on. And on"
    assert translate(f"{answer}\n\n\u26a0\ufe0f {CUT_OFF}", ZH) == (
        f"{answer}\n\n\u26a0\ufe0f 回答被中断：与服务的连接已断开。"  # noqa: RUF001
    )
    assert translate(f"{answer}\n\n*(The answer reached its length limit.)*", ZH) == (
        f"{answer}\n\n*（回答已达到长度上限。）*"  # noqa: RUF001
    )


def test_known_sentences_inside_a_line_are_translated() -> None:
    text = "Hello there. Stopped. The service is busy. Please try again in a moment. Bye."
    assert translate(text, ZH) == "Hello there. 已停止。服务繁忙，请稍后重试。 Bye."  # noqa: RUF001


def test_the_server_controls_summary() -> None:
    text = (
        "<#5> added to the channels.\n**Channels:** <#5>\n**Roles:** everyone\n"
        "**Defaults:** model `m1`, temperature `0.7`\n**Chat cooldown per member:** 3 min"
    )
    assert translate(text, ZH) == (
        "<#5> 已加入频道列表。\n**频道：** <#5>\n**身份组：** 所有人\n"  # noqa: RUF001
        "**默认值：** 模型 `m1`、温度 `0.7`\n**每位成员的聊天冷却时间：** 3 分钟"  # noqa: RUF001
    )


def test_the_queue_listing_translates_its_fixed_lines_only() -> None:
    text = "**Drawing** (1):\n#3 Ann: a cat\n-# 2 waiting in all servers; at most 4 drawn at once."
    assert translate(text, ZH) == (
        "**绘制中**（1）：\n#3 Ann: a cat\n-# 所有服务器共有 2 个在等待；最多同时绘制 4 个。"  # noqa: RUF001
    )


@pytest.mark.parametrize("text", ["", "Something nobody wrote.", "Stopped!", "Cancelled by\nAnn.", "\u26a0\ufe0f huh"])
def test_unknown_text_comes_back_unchanged(text: str) -> None:
    assert translate(text, ZH) == text


def real_messages() -> list[str]:
    """Messages as the code builds them, from its own error classes and functions.

    Errors get a `detail`: without one, some ask for their `user_message` before their own fields are set.
    """
    from bot.core import downloads
    from bot.core.access import NO_DMS, refusal
    from bot.core.draw import DrawMenu
    from bot.core.draw.service import INTERRUPTED, UNEXPECTED
    from bot.core.fusion import errors
    from bot.core.store import ServerSettings

    menu = DrawMenu(models=("m1",), sizes=("640x640",), default_model="m1", default_size="640x640")
    bad_options: list[dict[str, Any]] = [{"model": "zz"}, {"size": "1x1"}, {"controlnet": "zz"}, {"seed": -5}]
    refusals: list[str] = []
    for options in bad_options:
        with pytest.raises(Exception) as refused:
            menu.spec("a cat", **options)
        refusals.append(refused.value.user_message)  # type: ignore[attr-defined]
    place = Place(user_id=1, guild_id=2, channel_id=3)
    server = ServerSettings(2, allowed_channels=frozenset({9}))
    return [
        *refusals,
        NO_DMS,
        str(refusal(place, server, dms_allowed=True)),
        INTERRUPTED,
        UNEXPECTED,
        downloads.DownloadError().user_message,
        downloads.NotAllowedError().user_message,
        downloads.TooLargeError(25 * downloads.MIB, "detail").user_message,
        downloads.NotAnImageError().user_message,
        downloads.TooManyRedirectsError().user_message,
        downloads.DownloadTimeoutError(30).user_message,
        *(downloads.DownloadFailedError(status, "detail").user_message for status in (404, 500, None)),
        *(errors.RateLimitedError("detail", retry_after=after).user_message for after in (5.0, None)),
        *(errors.UnsupportedModelError("detail", model=model).user_message for model in ("m9", "")),
        errors.FusionTimeoutError("silence in the stream", 60).user_message,
        *(cls().user_message for cls in (errors.FusionError, errors.BadKeyError, errors.BadRequestError)),
        *(cls().user_message for cls in (errors.ModerationError, errors.StreamInterruptedError)),
        errors.ServiceUnreachableError().user_message,
        str(app_commands.MissingPermissions(["manage_guild"])),
        str(app_commands.NoPrivateMessage()),
    ]


def test_the_codes_own_messages_are_all_translated() -> None:
    for message in real_messages():
        chinese = translate(message, ZH)
        assert chinese != message and not re.search(r"[a-z]{3,} [a-z]{3,}", chinese), message


def test_labels() -> None:
    assert translate_label("Regenerate", ZH) == "重新生成"
    assert translate_label("Not a label", ZH) == "Not a label"
    assert translate("Stop", ZH) == "Stop"  # a label is not a message: an answer saying "Stop" stays


async def chinese_of(text: str, location: TranslationContextLocation, locale: discord.Locale = ZH) -> str | None:
    return await FusionTranslator().translate(locale_str(text), locale, TranslationContext(location, None))


async def test_the_translator_gives_descriptions_and_choices_but_no_names() -> None:
    assert await chinese_of("What to draw", TranslationContextLocation.parameter_description) == "要画的内容"
    assert await chinese_of("How the bot talks in this channel", TranslationContextLocation.group_description)
    assert await chinese_of("none", TranslationContextLocation.choice_name) == "无"
    for location in ("command_name", "group_name", "parameter_name"):  # a slash command's, typed: English
        assert await chinese_of("draw", getattr(TranslationContextLocation, location)) is None
    assert await chinese_of("No such description", TranslationContextLocation.command_description) is None
    english = discord.Locale.american_english
    assert await chinese_of("What to draw", TranslationContextLocation.parameter_description, english) is None


async def test_a_message_commands_name_is_translated() -> None:
    async def callback(interaction: discord.Interaction, message: discord.Message) -> None: ...

    menu = app_commands.ContextMenu(name="Draw this", callback=callback)
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    payload = await menu.get_translated_payload(tree, FusionTranslator())
    assert payload["name"] == "Draw this" and payload["name_localizations"] == {"zh-CN": "据此画图"}


def test_the_message_commands_texts_are_translated() -> None:
    from cogs.chat import ask_cog
    from cogs.draw import draw_this

    quote_cut = f"{ask_cog.ANSWERING} {ask_cog.QUOTE_CUT.format(count=4000)}"
    messages = [ask_cog.NOTHING_TO_ASK, ask_cog.CANNOT_REPLY, quote_cut, draw_this.NOTHING_TO_DRAW]
    messages.append(draw_this.TOO_LONG.format(length=1200, limit=1000))
    for message in messages:
        chinese = translate(message, ZH)
        assert chinese != message and not re.search(r"[a-z]{3,} [a-z]{3,}", chinese), message
    labels = [ask_cog.ASK_NAME, ask_cog.INSTRUCTION_LABEL, ask_cog.INSTRUCTION_PLACEHOLDER]
    assert all(translate_label(label, ZH) != label for label in labels)
    names = [ask_cog.ASK_NAME, draw_this.DRAW_THIS_NAME]
    assert all(1 <= len(COMMAND_TEXTS[name]) <= 32 for name in names)  # Discord's limit for a command name


async def test_synced_commands_carry_chinese_descriptions_and_english_names() -> None:
    from cogs.draw.draw_cog import DrawCog

    draw = next(command for command in DrawCog.__cog_app_commands__ if command.name == "draw")
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    payload = await draw.get_translated_payload(tree, FusionTranslator())
    assert payload["name"] == "draw" and payload["name_localizations"] == {}
    assert payload["description_localizations"] == {"zh-CN": COMMAND_TEXTS[draw.description]}
    options = {option["name"]: option for option in payload["options"]}
    assert options["prompt"]["description_localizations"] == {"zh-CN": "要画的内容"}
    assert not options["prompt"].get("name_localizations")


def test_every_template_has_the_same_placeholders_in_both_languages() -> None:
    for english, chinese in MESSAGES:
        assert placeholders(english) == placeholders(chinese), english


def test_no_template_spans_lines() -> None:
    """`translate` reads a text line by line."""
    assert not [english for english, chinese in MESSAGES if "\n" in english + chinese]


def test_every_english_text_is_listed_once() -> None:
    counts = Counter(english for english, _chinese in MESSAGES)
    assert [english for english, count in counts.items() if count > 1] == []
    assert not set(counts) & set(LABELS), "a label is matched as a whole only: keep it out of the messages"


def test_every_template_translates_its_own_example() -> None:
    """Each template, filled with sample values, is recognised as itself (no other template shadows it)."""
    for template in TEMPLATES:
        values = {name: f"x{index}" for index, name in enumerate(sorted(placeholders(template.english)))}
        expected = template.chinese.format(**values)
        assert translate(template.english.format(**values), ZH) == expected, template.english


def test_chinese_command_texts_fit_discord() -> None:
    assert all(1 <= len(chinese) <= 100 for chinese in COMMAND_TEXTS.values())


def command_texts(module: ModuleType) -> list[str]:
    """Every description and choice name of the slash commands a cog module defines."""
    texts: list[str] = []
    for value in vars(module).values():
        if isinstance(value, type) and value.__module__ == module.__name__:
            if issubclass(value, commands.Cog):
                if value.__cog_is_app_commands_group__:
                    texts.append(str(value.__cog_group_description__))
                for item in value.__cog_app_commands__:
                    texts += _texts_of(item)
            elif issubclass(value, app_commands.Group):
                texts.append(value.__discord_app_commands_group_description__)
                for child in value.__discord_app_commands_group_children__:
                    texts += _texts_of(child)
        elif isinstance(value, app_commands.Command | app_commands.Group):
            texts += _texts_of(value)
    return texts


def _texts_of(item: app_commands.Command[Any, ..., Any] | app_commands.Group) -> list[str]:
    if isinstance(item, app_commands.Group):
        return [item.description, *(text for child in item.commands for text in _texts_of(child))]
    texts = [item.description]
    for parameter in item.parameters:
        texts.append(parameter.description)
        texts += [choice.name for choice in parameter.choices]
    return texts


@pytest.mark.parametrize("name", [name for name in COG_MODULES if importlib.util.find_spec(name) is not None])
def test_every_slash_command_text_of_the_cogs_has_a_translation(name: str) -> None:
    texts = command_texts(importlib.import_module(name))
    assert texts, f"{name} defines no slash commands?"
    assert "\u2026" not in texts, f"{name}: a command or option has no description (discord.py shows '\u2026')"
    assert missing_command_texts(texts) == [], f"add these to COMMAND_TEXTS in bot/app/i18n_commands.py ({name})"
