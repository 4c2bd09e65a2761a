"""What a picture request asks for, checked against what this bot offers; and the requests its buttons derive.

The fusion API decides by itself whether a message asks for a picture, so the prompt is phrased as a drawing
request. A random seed (-1) is chosen here rather than by the service, so that the seed of every picture is known:
it is shown, stored, and reused by Variations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from bot.config import Settings
from bot.core.errors import UserFacingError
from bot.core.fusion.models import CONTROLNET_MODELS
from bot.core.store import ImageGeneration

RANDOM_SEED = -1
MAX_SEED = 9_999_999
MIN_SCALE, MAX_SCALE = 1, 20
MAX_CHOICES = 25  # Discord shows at most 25 autocomplete results
MAX_PROMPT_LENGTH = 1000  # characters of a picture's prompt (`/draw`, Draw this)
# The sizes Miaohua's own form offered: 1:1, 2:3 and 3:2.
DOCUMENTED_SIZES = (
    *("512x512", "640x640", "768x768", "1024x1024"),
    *("512x768", "640x960", "768x1152", "1024x1536"),
    *("768x512", "960x640", "1152x768", "1536x1024"),
)
DRAWING_REQUEST = "请画一张图\uff1a{prompt}"  # "Please draw a picture: ..."; the service is tuned for Chinese


class InvalidDrawOptionError(UserFacingError):
    """An option the bot does not offer; the message says what it does offer."""


@dataclass(frozen=True, slots=True)
class DrawSpec:
    """One picture to draw, every option decided."""

    prompt: str
    model: str
    size: str
    seed: int
    scale: int
    controlnet: str = ""

    def request_fields(self) -> dict[str, Any]:
        """The fusion request's fields for this picture, besides `messages`."""
        return {
            "mh_model_name": self.model,
            "mh_output_size": self.size,
            "mh_select_seed": self.seed,
            "mh_scale": self.scale,
            "mh_controlnet_model": self.controlnet,
        }

    @classmethod
    def of(cls, generation: ImageGeneration) -> DrawSpec:
        """The picture a stored request asked for."""
        return cls(
            generation.prompt,
            generation.model,
            generation.size,
            generation.seed,
            generation.scale,
            generation.controlnet,
        )

    def drawing_prompt(self) -> str:
        return DRAWING_REQUEST.format(prompt=self.prompt)


@dataclass(frozen=True)
class DrawMenu:
    """The models and sizes `/draw` offers and the defaults it falls back to."""

    models: tuple[str, ...]
    sizes: tuple[str, ...]
    default_model: str
    default_size: str
    default_seed: int = RANDOM_SEED
    default_scale: int = 7
    default_controlnet: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> DrawMenu:
        sizes = dict.fromkeys((*DOCUMENTED_SIZES, *settings.draw_sizes, settings.default_size))
        return cls(
            models=settings.draw_models,
            sizes=tuple(sizes),
            default_model=settings.default_model,
            default_size=settings.default_size,
            default_seed=settings.default_seed,
            default_scale=settings.default_scale,
            default_controlnet=settings.default_controlnet,
        )

    def spec(
        self,
        prompt: str,
        *,
        model: str | None = None,
        size: str | None = None,
        seed: int | None = None,
        scale: int | None = None,
        controlnet: str | None = None,
    ) -> DrawSpec:
        """The picture asked for, with defaults filled in; raise `InvalidDrawOptionError` for an unoffered option."""
        model = self.default_model if model is None else model.strip()
        size = self.default_size if size is None else _normal_size(size)
        if model not in self.models:
            raise InvalidDrawOptionError(
                f"There is no model called {model!r} here. Choose one of: {_listed(self.models)}."
            )
        if size not in self.sizes:
            raise InvalidDrawOptionError(
                f"Size {size!r} is not offered. Choose one of: {_listed(self.sizes)} (width x height in pixels)."
            )
        seed = self.default_seed if seed is None else seed
        controlnet = self.default_controlnet if controlnet is None else controlnet
        if controlnet and controlnet not in CONTROLNET_MODELS:
            raise InvalidDrawOptionError(
                f"Unknown ControlNet {controlnet!r}. Choose one of: {_listed(CONTROLNET_MODELS)}."
            )
        return DrawSpec(
            prompt=prompt.strip(),
            model=model,
            size=size,
            seed=random_seed() if seed == RANDOM_SEED else _in_range("seed", seed, 0, MAX_SEED),
            scale=_in_range("scale", self.default_scale if scale is None else scale, MIN_SCALE, MAX_SCALE),
            controlnet=controlnet,
        )

    def models_matching(self, typed: str) -> list[str]:
        return _matching(self.models, typed)

    def sizes_matching(self, typed: str) -> list[str]:
        return _matching(self.sizes, _normal_size(typed))


def reroll(spec: DrawSpec, rng: random.Random | None = None) -> DrawSpec:
    """The same picture request with a new random seed."""
    return replace(spec, seed=random_seed(rng))


def variation(spec: DrawSpec, rng: random.Random | None = None) -> DrawSpec:
    """The same seed with the prompt guidance nudged by one or two steps, staying within 1..20."""
    steps = [step for step in (-2, -1, 1, 2) if MIN_SCALE <= spec.scale + step <= MAX_SCALE]
    return replace(spec, scale=spec.scale + (rng or random).choice(steps))


def random_seed(rng: random.Random | None = None) -> int:
    return (rng or random).randint(0, MAX_SEED)


def _normal_size(typed: str) -> str:
    """`640X640`, `640 x 640` and `640\u00d7640` (a multiplication sign) all mean 640x640."""
    return typed.lower().replace("\u00d7", "x").replace(" ", "")


def _in_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidDrawOptionError(f"The {name} must be between {low} and {high}.")
    return value


def _matching(offered: tuple[str, ...], typed: str) -> list[str]:
    """Offered values containing what was typed (those starting with it first), at most Discord's 25."""
    typed = typed.strip().lower()
    starting = [value for value in offered if value.lower().startswith(typed)]
    containing = [value for value in offered if typed in value.lower() and value not in starting]
    return (starting + containing)[:MAX_CHOICES]


def _listed(values: tuple[str, ...]) -> str:
    shown = ", ".join(values[:MAX_CHOICES])
    return shown + (", ..." if len(values) > MAX_CHOICES else "")
