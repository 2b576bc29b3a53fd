"""Security headers (issue 16): no framing, no sniffing, a console CSP, no caching of
pages with members' data; the webhook is left bare."""

from __future__ import annotations


def test_console_pages_carry_a_csp_and_are_not_stored(client):
    response = client.get("/admin/login")
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "'nonce-" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert headers["Cache-Control"] == "no-store"


def test_each_console_response_gets_its_own_nonce(client):
    first = client.get("/admin/login").headers["Content-Security-Policy"]
    second = client.get("/admin/login").headers["Content-Security-Policy"]
    assert first != second


def test_public_pages_may_not_be_framed_and_checkin_pages_are_not_stored(client):
    kb = client.get("/kb/legal.checkup")
    assert kb.headers["X-Frame-Options"] == "DENY" and "Cache-Control" not in kb.headers
    checkin = client.get("/checkin/unknown-code")
    assert checkin.headers["Cache-Control"] == "no-store"


def test_the_webhook_answers_without_browser_headers(wechat):
    status, _ = wechat.post("<xml/>")
    response = wechat.client.get("/wechat")
    assert "X-Frame-Options" not in response.headers
    assert status == 400
