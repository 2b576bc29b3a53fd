"""Ids beyond 64 bits and NUL bytes are refused the same way on every route (issue 16)."""

from __future__ import annotations

import pytest

from bot.web.guards import INT64_MAX, bounded_int


@pytest.mark.parametrize(
    "path",
    [
        "/admin/training/99999999999999999999",
        "/admin/handoffs/99999999999999999999",
        f"/admin/training/{INT64_MAX + 1}",
    ],
)
def test_ids_beyond_bigint_are_not_found(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path", ["/checkin/a%00b", "/kb/legal%00.checkup", "/admin/login?next=%00", "/admin/?q=a%00"]
)
def test_nul_bytes_in_paths_and_queries_are_bad_requests(client, path):
    assert client.get(path).status_code == 400


def test_nul_in_a_form_field_is_a_bad_request_before_any_view(client):
    response = client.post("/admin/login", data={"username": "ad\x00min", "password": "x"})
    assert response.status_code == 400


def test_the_webhook_is_left_to_the_channel(wechat):
    status, body = wechat.post("<xml><MsgType>text</MsgType></xml>")
    assert status == 400 and body == "bad request"


def test_bounded_int_parses_only_what_a_bigint_holds():
    assert bounded_int("42") == 42
    assert bounded_int(" 7 ", 1) == 7
    assert bounded_int("99999999999999999999", 1) == 1
    assert bounded_int(str(INT64_MAX)) == INT64_MAX
    assert bounded_int("-3", 1) == 1 and bounded_int("-3", 1, minimum=-5) == -3
    assert bounded_int("１２", 1) == 1  # full-width digits are not an id
    assert bounded_int("abc") is None and bounded_int(None, 0) == 0
