"""Discord's REST routes as metric labels: ids, tokens and emoji templated, so their number stays bounded."""

from __future__ import annotations

import pytest

from bot.app.instruments import route_template

BASE = "/api/v10"
TOKEN = "aW50ZXJhY3Rpb246MTIwMDAwMDAwMDAwMDAwMDAwMjpXZ3JkN3pLbFpPcWc0c0t3dGpTRA"


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        (
            "PATCH",
            f"/api/v10/webhooks/11/{TOKEN}/messages/@original",
            "PATCH /webhooks/{id}/{token}/messages/@original",
        ),
        ("POST", f"/api/v10/webhooks/11/{TOKEN}", "POST /webhooks/{id}/{token}"),
        ("POST", f"/api/v10/interactions/12/{TOKEN}/callback", "POST /interactions/{id}/{token}/callback"),
        ("PATCH", "/api/v10/channels/5/messages/9", "PATCH /channels/{id}/messages/{id}"),
        (
            "PUT",
            "/api/v10/channels/5/messages/9/reactions/%F0%9F%91%8D/@me",
            "PUT /channels/{id}/messages/{id}/reactions/{emoji}/@me",
        ),
        ("GET", "/api/v10/users/@me", "GET /users/@me"),
        ("GET", "/attachments/1/2/picture.png", "GET other"),  # the CDN, outside the REST base
    ],
)
def test_a_route_keeps_its_shape_and_loses_its_ids(method: str, path: str, route: str) -> None:
    assert route_template(method, path, BASE) == route
    assert TOKEN not in route


def test_a_proxy_base_path_is_taken_off_too() -> None:
    assert route_template("GET", "/proxy/api/v10/gateway/bot", "/proxy/api/v10") == "GET /gateway/bot"
