"""Simplified Chinese for `zh-CN` users; English for everyone else. Slash command names stay English everywhere.

The bot's code speaks English, and its messages carry variable parts (numbers, names, durations, reasons). They are
translated at the Discord boundary, where the reader's locale is known (`interaction.locale`):

- `translate(text, locale)`: a message as the code built it, in the reader's language.
- `translate_label(text, locale)`: a button label, menu text or embed field name, in the reader's language.
- `FusionTranslator`: the slash commands' descriptions and choice names, and the message commands' names, for
  Discord to show by each user's client language; installed with `await bot.tree.set_translator(FusionTranslator())`
  before the commands are synced.

The words are in `bot.app.i18n_catalog` (the commands' in `bot.app.i18n_commands`). Each English message
template (`{name}` for a variable part) is compiled once into an anchored pattern in which each placeholder
matches, non-greedily, a run of characters within one line. How `translate` reads a text, for zh-CN, line by
line (no template spans lines, and no placeholder matches a line break):

1. The whole line, after a leading emoji prefix (kept as it is): if a template matches, its Chinese is returned,
   filled with the captured parts. When several templates match, the one with the most fixed text wins
   ("Cancelled by {name} (server manager)." over "Cancelled by {name}.").
2. Otherwise the line is split into sentences (at the whitespace after `.`, `!` or `?`, optionally closed by `)` or
   `*`), and runs of consecutive sentences that match a template as in 1 are translated, the longest run first.
   Everything else is left as it is.

So a partial answer followed by a blank line and a note ("⚠️ The answer was cut off: ...") keeps the answer and
translates the note. A line of the answer that happens to read exactly like a message of the bot would be translated
too: to avoid that, translate the note before joining it to the answer. Unknown text comes back unchanged; this
module never raises for a text.

Captured parts are converted by their placeholder's name: `reason` is itself a message (translated the same way),
`wait` a duration ("2 h 5 min" reads "2 小时 5 分钟"), `phase` and `option` a term, `permissions` a list of
terms, `defaults` a list of "name `value`" items whose names are terms (`TERMS`). Other parts (names, numbers,
prompts, mentions) are kept as they are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from string import Formatter

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation, TranslationContextTypes, locale_str

from bot.app.i18n_catalog import LABELS, MESSAGES, TERMS
from bot.app.i18n_commands import COMMAND_TEXTS

log = logging.getLogger(__name__)

CHINESE = discord.Locale.chinese  # "zh-CN"
NAME_LOCATIONS = frozenset(
    {
        TranslationContextLocation.command_name,
        TranslationContextLocation.group_name,
        TranslationContextLocation.parameter_name,
    }
)

_PREFIX = re.compile(r"(?:[\u2190-\u2bff\U0001f000-\U0001faff]\ufe0f?)+\s+")
_SENTENCE_END = re.compile(r"[.!?][)*]*(\s+)")
_DURATION = re.compile(r"\d+ (?:h|min|s)(?: \d+ min)?")
_DURATION_UNITS = {"h": "小时", "min": "分钟", "s": "秒"}
_LIST_SEPARATOR = re.compile(r",? and |, ")


def is_chinese(locale: discord.Locale | str | None) -> bool:
    """Whether the locale reads Simplified Chinese (`zh-CN`; `zh_cn` and the like too)."""
    if locale is None:
        return False
    value = locale.value if isinstance(locale, discord.Locale) else str(locale)
    return value.replace("_", "-").lower() == CHINESE.value.lower()


def translate(text: str, locale: discord.Locale | str | None) -> str:
    """`text` in the locale's language: Simplified Chinese for zh-CN as far as the catalog knows it, else as is."""
    if not text or not is_chinese(locale):
        return text
    try:
        return _translate(text)
    except Exception:  # a bug here must never cost the user the message itself
        log.exception("could not translate %r", text[:200])
        return text


def translate_label(text: str, locale: discord.Locale | str | None) -> str:
    """A short label (button, menu, embed field) in the locale's language; matched only as a whole."""
    return LABELS.get(text, text) if is_chinese(locale) else text


class FusionTranslator(app_commands.Translator):
    """Chinese descriptions and choice names for zh-CN clients; slash command and option names stay English (they
    are typed), a message command's name (picked from a menu) is translated."""

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: TranslationContextTypes
    ) -> str | None:
        if not is_chinese(locale):
            return None
        if context.location in NAME_LOCATIONS and not isinstance(context.data, app_commands.ContextMenu):
            return None
        return COMMAND_TEXTS.get(string.message)


@dataclass(frozen=True, slots=True)
class Template:
    """One catalog message: its English and Chinese, and the pattern that recognises the English."""

    english: str
    chinese: str
    pattern: re.Pattern[str]
    head: str  # fixed text before the first placeholder: a cheap test before the pattern
    tail: str  # fixed text after the last placeholder
    fixed: int  # characters of fixed text: the more, the more specific

    @classmethod
    def of(cls, english: str, chinese: str) -> Template:
        parts: list[str] = []
        fields: list[str] = []
        literals: list[str] = []
        for literal, field, _spec, _conversion in Formatter().parse(english):
            parts.append(re.escape(literal))
            literals.append(literal)
            if field is not None:
                parts.append(f"(?P={field})" if field in fields else f"(?P<{field}>.+?)")
                fields.append(field)
                literals.append("")  # marks a placeholder between literals
        head = literals[0] if fields else english
        tail = literals[-1] if fields else english
        fixed = sum(map(len, literals))
        return cls(english, chinese, re.compile("".join(parts)), head, tail, fixed)

    def fill(self, text: str) -> str | None:
        """The Chinese for `text` if it reads as this template, else None."""
        if not (text.startswith(self.head) and text.endswith(self.tail)):
            return None
        match = self.pattern.fullmatch(text)
        if match is None:
            return None
        values = {name: _CONVERTERS.get(name, _same)(value) for name, value in match.groupdict().items()}
        return self.chinese.format(**values)


def placeholders(template: str) -> set[str]:
    """The names of a template's `{placeholders}`."""
    return {field for _literal, field, _spec, _conversion in Formatter().parse(template) if field is not None}


def describe_duration(value: str) -> str:
    """A `bot.core.durations.describe_wait` duration in Chinese ("3 min": "3 分钟"); anything else as is."""
    if not _DURATION.fullmatch(value):
        return value
    return re.sub(r"(\d+) (h|min|s)", lambda match: f"{match[1]} {_DURATION_UNITS[match[2]]}", value)


def missing_command_texts(texts: Iterable[str]) -> list[str]:
    """The texts that `FusionTranslator` has no Chinese for."""
    return [text for text in texts if text not in COMMAND_TEXTS]


def _same(value: str) -> str:
    return value


def _term_list(value: str) -> str:
    return "、".join(TERMS.get(term, term) for term in _LIST_SEPARATOR.split(value))


def _named_values(value: str) -> str:
    """Items "name `value`" joined by ", " (a server's defaults), each name as a term."""
    items = (item.split(" ", 1) for item in value.split(", "))
    return "、".join(" ".join([TERMS.get(item[0], item[0]), *item[1:]]) for item in items)


def _nested(value: str) -> str:
    return _match(value) or value


_CONVERTERS: dict[str, Callable[[str], str]] = {
    "reason": _nested,
    "wait": describe_duration,
    "phase": lambda value: TERMS.get(value, value),
    "option": lambda value: TERMS.get(value, value),
    "permissions": _term_list,
    "defaults": _named_values,
}

TEMPLATES: tuple[Template, ...] = tuple(
    sorted((Template.of(english, chinese) for english, chinese in MESSAGES), key=lambda t: -t.fixed)
)


def _sentence_count(text: str) -> int:
    return len(_SENTENCE_END.findall(text.rstrip())) + 1


_LONGEST_RUN = max(_sentence_count(english) for english, _chinese in MESSAGES)


def _match(text: str) -> str | None:
    """The Chinese of `text` as a whole (after a kept emoji prefix), or None."""
    prefix = _PREFIX.match(text)
    start = prefix.end() if prefix else 0
    body = text[start:]
    for template in TEMPLATES:
        filled = template.fill(body)
        if filled is not None:
            return text[:start] + filled
    return None


def _translate(text: str) -> str:
    lines = re.split(r"(\n+)", text)
    return "".join(line if index % 2 else _translate_line(line) for index, line in enumerate(lines))


def _translate_line(line: str) -> str:
    whole = _match(line)
    if whole is not None:
        return whole
    # Sentences as (start, stop) spans of `line`; the whitespace between two of them is kept, unless both are
    # translated (Chinese sentences follow each other without a space).
    breaks = [match.span(1) for match in _SENTENCE_END.finditer(line)]
    starts = [0, *(stop for _start, stop in breaks)]
    stops = [*(start for start, _stop in breaks), len(line)]
    spans = [(start, stop) for start, stop in zip(starts, stops, strict=True) if start < stop]
    out, end, translated = "", 0, False
    index = 0
    while index < len(spans):
        start = spans[index][0]
        for last in range(min(len(spans), index + _LONGEST_RUN) - 1, index - 1, -1):
            filled = _match(line[start : spans[last][1]])
            if filled is not None:
                out += ("" if translated else line[end:start]) + filled
                end, translated, index = spans[last][1], True, last + 1
                break
        else:
            out += line[end : spans[index][1]]
            end, translated, index = spans[index][1], False, index + 1
    return out + line[end:]
