"""Odd query arguments in the console are bad filters, never errors (issue 16)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "path",
    [
        "/admin/members?chamber=99999999999999999999",
        "/admin/members?chamber=%C2%B2",
        "/admin/members?page=9223372036854775807",
        "/admin/kb/unanswered?page=9223372036854775807",
        "/admin/log?page=99999999999999999999",
        "/admin/training/99999999999999999999",
    ],
)
def test_odd_query_ids_and_pages_are_not_errors(console, client, path):
    assert console.login().status_code == 302
    assert client.get(path).status_code in (200, 404)


def test_a_nul_in_a_console_form_field_is_a_bad_request(console):
    response = console.post("/admin/login", {"username": "bo\x00ss", "password": "x"})
    assert response.status_code == 400
