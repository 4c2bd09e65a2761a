"""What /draw accepts, the defaults it fills in, and the requests its buttons derive."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_settings
from bot.core.draw import DrawMenu, DrawSpec, InvalidDrawOptionError, reroll, variation
from bot.core.draw.options import DOCUMENTED_SIZES, MAX_SEED


@pytest.fixture
def menu() -> DrawMenu:
    return DrawMenu.from_settings(load_settings(draw_sizes="800x600", default_scale=9))


def test_defaults_come_from_the_settings_and_a_random_seed_is_chosen_here(menu: DrawMenu) -> None:
    spec = menu.spec("a cat")
    assert (spec.model, spec.size, spec.scale, spec.controlnet) == ("Artist_V0.1.3", "960x960", 9, "")
    assert 0 <= spec.seed <= MAX_SEED  # known, so it can be shown and reused


def test_every_option_reaches_the_request_fields(menu: DrawMenu) -> None:
    spec = menu.spec("a cat", model="Artist v0.3.5 Beta", size="800X600", seed=42, scale=12, controlnet="canny")
    assert spec.request_fields() == {
        "mh_model_name": "Artist v0.3.5 Beta",
        "mh_output_size": "800x600",
        "mh_select_seed": 42,
        "mh_scale": 12,
        "mh_controlnet_model": "canny",
    }
    assert spec.drawing_prompt().endswith("a cat")
    assert "\u753b" in spec.drawing_prompt()  # phrased so that the service draws


def test_sizes_offered_are_the_documented_ones_the_configured_ones_and_the_default(menu: DrawMenu) -> None:
    assert set(menu.sizes) == {*DOCUMENTED_SIZES, "800x600", "960x960"}
    assert menu.spec("x", size="640 \u00d7 640").size == "640x640"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"model": "Artist_v9"}, "no model called 'Artist_v9'"),
        ({"size": "333x333"}, "Size '333x333' is not offered"),
        ({"seed": 10_000_000}, "seed must be between 0 and 9999999"),
        ({"scale": 21}, "scale must be between 1 and 20"),
        ({"controlnet": "sketch"}, "Unknown ControlNet 'sketch'"),
    ],
)
def test_an_option_not_offered_is_refused_with_what_is_offered(
    menu: DrawMenu, options: dict[str, object], says: str
) -> None:
    with pytest.raises(InvalidDrawOptionError, match=says):
        menu.spec("a cat", **options)  # type: ignore[arg-type]


def test_autocomplete_offers_matches_starting_with_the_text_first_and_at_most_25(menu: DrawMenu) -> None:
    assert menu.models_matching("artist v0.3") == ["Artist V0.3.0 Beta", "Artist v0.3.5 Beta"]
    assert menu.sizes_matching("768")[:3] == ["768x768", "768x1152", "768x512"]
    assert "512x768" in menu.sizes_matching("768")
    many = DrawMenu(models=tuple(f"m{i}" for i in range(40)), sizes=("1x1",), default_model="m0", default_size="1x1")
    assert len(many.models_matching("")) == 25


def test_reroll_keeps_everything_but_the_seed() -> None:
    spec = DrawSpec("a cat", "m", "640x640", seed=5, scale=7)
    rolled = reroll(spec, random.Random(1))
    assert rolled.seed != 5
    assert (rolled.prompt, rolled.model, rolled.size, rolled.scale) == ("a cat", "m", "640x640", 7)


@given(scale=st.integers(1, 20), seed=st.integers(0, MAX_SEED), rng_seed=st.integers())
def test_variations_keep_the_seed_and_nudge_the_scale_within_its_range(scale: int, seed: int, rng_seed: int) -> None:
    varied = variation(DrawSpec("a cat", "m", "640x640", seed=seed, scale=scale), random.Random(rng_seed))
    assert varied.seed == seed
    assert 1 <= varied.scale <= 20
    assert 1 <= abs(varied.scale - scale) <= 2
