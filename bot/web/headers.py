"""Security headers on every page a browser opens.

- Everywhere (but the webhook, whose only reader is WeChat's server and whose every
  microsecond counts): no framing (clickjacking), no MIME sniffing, referrers only to
  ourselves.
- The console: a Content-Security-Policy that allows only our own assets, with a per-request
  nonce for the few inline scripts (``{{ csp_nonce() }}`` in templates); its pages carry
  members' personal data, so browsers and proxies must not keep them (``no-store``).
- Public pages with a member's data (check-in codes) are ``no-store`` too.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, request

NO_STORE_PREFIXES = ("/admin", "/checkin")
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def csp_nonce() -> str:
    """This request's nonce for inline ``<script nonce=...>`` in console templates."""
    # Kept on the request, not on ``g``: an app context may outlive one request.
    nonce: str | None = request.environ.get("bot.csp_nonce")
    if nonce is None:
        nonce = request.environ["bot.csp_nonce"] = secrets.token_urlsafe(16)
    return nonce


def _secure(response: Response) -> Response:
    if request.blueprint == "webhook":
        return response
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    path = request.path
    if path.startswith("/admin"):
        headers["Content-Security-Policy"] = CONSOLE_CSP.format(nonce=csp_nonce())
    else:
        headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    if path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_secure)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
