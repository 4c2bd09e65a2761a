"""What an answer's display works with: who asked, how the answer ended, and the display's own protocol.

`bot.core.chat.ChatService` writes an answer into an `AnswerDisplay` made by a `DisplayFor` and ends it with an
`AnswerEnding`; in Discord the display is `bot.app.answers.StreamedAnswer`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot.core.downloads import Picture


class Outcome(Enum):
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class AnswerEnding:
    """How an answer ended, for its display to show: the model's text and the bot's own note (in English)."""

    outcome: Outcome
    text: str
    note: str = ""
    picture: Picture | None = None
    is_picture: bool = False  # the text is a picture's URL: the picture (or the note) is shown instead


class Journal(Protocol):
    """Where a display notes what a repair after a crash needs: the answer's messages, the text shown so far."""

    async def messages(self, message_ids: list[int]) -> None: ...

    async def text(self, text: str) -> None: ...


class AnswerDisplay(Protocol):
    """How one answer is shown while it is written."""

    wants_text: asyncio.Event
    """Set while newer text would be shown at once: the stream is read only then (back-pressure)."""
    gone: bool
    """Whatever showed the answer is gone (deleted, out of reach): nobody will read on."""
    on_gone: Callable[[], None] | None
    first_text_at: float | None
    """The event loop's time when the answer's first text was visible (None: not yet), for the metrics."""

    @property
    def message_ids(self) -> list[int]: ...

    def start(self) -> None: ...

    def update(self, text: str) -> None: ...

    async def finish(self, ending: AnswerEnding) -> bool:
        """Show the end; say whether it was shown."""
        ...

    async def abandon(self) -> None: ...


# The display of answer `answer_id`, shown in `message_ids` if it has messages already, noting into `journal`.
DisplayFor = Callable[[int, Sequence[int], Journal], AnswerDisplay]


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked, for the request's `user_id` and the stored turn."""

    user_id: int
    display_name: str
