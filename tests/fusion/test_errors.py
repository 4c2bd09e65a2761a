"""Errors made from what the service said, even when it said nothing: each keeps a message fit for a user."""

from __future__ import annotations

import pytest

from bot.core.fusion import RateLimitedError, UnsupportedModelError
from bot.core.fusion.errors import error_for_status


def test_a_429_without_a_message_is_still_a_rate_limit() -> None:
    error = error_for_status(429, "")
    assert isinstance(error, RateLimitedError)
    assert "HTTP 429" in str(error)


@pytest.mark.parametrize("error", [UnsupportedModelError(""), UnsupportedModelError("", model="Artist_X")])
def test_an_unsupported_model_without_a_detail_has_a_message(error: UnsupportedModelError) -> None:
    assert "not supported by the service" in str(error)
