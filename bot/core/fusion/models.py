"""The fusion API's request body and the typed events a call produces.

Field ranges follow the seed specification; the same annotated types validate the settings that provide defaults,
so a value the API would refuse is caught at start-up instead of on the first request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from bot.core.fusion.errors import FusionError

Temperature = Annotated[float, Field(gt=0, le=2)]
TopP = Annotated[float, Field(gt=0, le=1)]
MaxNewTokens = Annotated[int, Field(ge=1, le=8192)]
RepetitionPenalty = Annotated[float, Field(gt=0, le=10)]
Seed = Annotated[int, Field(ge=-1, le=9_999_999)]
Scale = Annotated[int, Field(ge=1, le=20)]
ModelName = Annotated[str, Field(min_length=1, max_length=100)]
ControlNet = Literal["", "openpose", "canny", "depth", "fake_scribble", "scribble", "hed", "hough", "normal", "seg"]

CONTROLNET_MODELS: tuple[str, ...] = ControlNet.__args__[1:]  # type: ignore[attr-defined]
_SIZE_PATTERN = re.compile(r"(\d{2,4})x(\d{2,4})")
MIN_SIDE, MAX_SIDE = 64, 2048


def _check_size(value: str) -> str:
    match = _SIZE_PATTERN.fullmatch(value)
    if match is None:
        raise ValueError("expected WIDTHxHEIGHT in pixels, e.g. 640x640")
    if not all(MIN_SIDE <= int(side) <= MAX_SIDE for side in match.groups()):
        raise ValueError(f"each side must be between {MIN_SIDE} and {MAX_SIDE} pixels")
    return value


OutputSize = Annotated[str, AfterValidator(_check_size)]


class Message(BaseModel):
    """One turn of a conversation as the API takes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class ChatRequest(BaseModel):
    """Every field of the fusion API request, with the seed's defaults and ranges.

    `mh_key` is a `SecretStr` so that a request can be logged or shown in a traceback without the Miaohua token;
    only `to_payload` reveals it, for the wire.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message] = Field(min_length=1)
    temperature: Temperature = 0.8
    top_p: TopP = 0.7
    max_new_tokens: MaxNewTokens = 2048
    repetition_penalty: RepetitionPenalty = 1.0
    stream: bool = False
    user_id: str = Field(min_length=1, max_length=64)
    mh_key: SecretStr = SecretStr("")
    mh_model_name: ModelName = "Artist_V0.1.3"
    mh_output_size: OutputSize = "960x960"
    mh_select_seed: Seed = -1
    mh_scale: Scale = 7
    mh_controlnet_model: ControlNet = ""
    output_img: bool | None = None
    mh_add_prompt: bool | None = None
    mh_ddim_steps: Annotated[int, Field(ge=1, le=150)] | None = None

    def to_payload(self) -> dict[str, Any]:
        """The JSON body to send: optional later fields only when set, the Miaohua token in clear."""
        payload = self.model_dump(mode="json", exclude_none=True)
        payload["mh_key"] = self.mh_key.get_secret_value()
        return payload


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    picture: bool = False


@dataclass(frozen=True, slots=True)
class TextPiece:
    """An increment of the answer's text, in arrival order."""

    text: str


@dataclass(frozen=True, slots=True)
class FinalResult:
    """The finished answer. `text` is authoritative: it is the service's full-text snapshot when one was sent."""

    text: str
    finish_reason: str
    usage: Usage = field(default_factory=Usage)
    picture_url: str | None = None
    answer_id: str = ""

    @property
    def truncated(self) -> bool:
        """True when the answer stopped at `max_new_tokens` rather than at its natural end."""
        return self.finish_reason == "length"


@dataclass(frozen=True, slots=True)
class StreamFailed:
    """The stream ended in an error; `partial_text` is what had arrived before it (possibly empty)."""

    error: FusionError
    partial_text: str


StreamEvent = TextPiece | FinalResult | StreamFailed
