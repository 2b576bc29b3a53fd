"""Links members and staff open from outside: built from the URL map, on ``PUBLIC_BASE_URL``.

WeChat messages and QR codes carry absolute links, built off the request path (jobs, the
dispatcher's worker threads), so no request context is needed: the route is built from the
app's URL map and put on the public base URL.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app


def public_url(endpoint: str, app: Flask | None = None, **values: Any) -> str:
    """The absolute public URL of ``endpoint`` (e.g. ``pages.checkin``, ``code=...``)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    base = str(app.config.get("PUBLIC_BASE_URL", "")).rstrip("/")
    path = app.url_map.bind("localhost").build(endpoint, values)
    return base + path
