"""JSON answers and request bodies, read the way WeChat's clients send them."""

from __future__ import annotations

import json
from typing import Any

from flask import Response


def json_response(payload: Any, status: int = 200) -> Response:
    # ensure_ascii=False keeps Chinese readable, as WeChat's own answers are.
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def parse_body(raw: bytes) -> tuple[Any, str | None]:
    """Parse a request body as JSON regardless of its Content-Type header.

    wechatpy posts UTF-8 encoded JSON bytes without a JSON content type, so Flask's
    ``request.get_json()`` cannot be used. Returns ``(body, problem)``.
    """
    if not raw.strip():
        return None, "empty"
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, f"not JSON ({len(raw)} bytes)"
