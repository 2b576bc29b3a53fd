"""The control API (``/_sandbox/…``): the recorded calls, faults, tokens, and the calls page.

These are the sandbox's own endpoints, for tests and people; docs/CONTRACT.md ("The WeChat API
sandbox") fixes ``GET``/``DELETE /_sandbox/calls`` and ``POST /_sandbox/faults``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from bot.dev.sandbox.faults import parse_fault
from bot.dev.sandbox.responses import json_response, parse_body
from bot.dev.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

bp = Blueprint("sandbox_control", __name__)


def _state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state


def _body_targets(body: Any, openid: str) -> bool:
    if not isinstance(body, dict):
        return False
    touser = body.get("touser")
    if isinstance(touser, list):
        return openid in touser
    return touser == openid


def _control_error(message: str) -> Response:
    return json_response({"ok": False, "error": message}, status=400)


@bp.get("/")
@bp.get("/_sandbox")
@bp.get("/_sandbox/")
def calls_page() -> Response:
    # The page fetches /_sandbox/calls itself every 2 s; it takes no template variables.
    html = render_template("dev/sandbox.html")
    return Response(html, content_type="text/html; charset=utf-8")


@bp.get("/_sandbox/calls")
def list_calls() -> Response:
    since: float | None = None
    if request.args.get("since"):
        try:
            since = float(request.args["since"])
        except ValueError:
            return _control_error("since must be a unix timestamp")
    limit: int | None = None
    if request.args.get("limit"):
        try:
            limit = int(request.args["limit"])
        except ValueError:
            return _control_error("limit must be an integer")
    path_filter = request.args.get("path")
    touser = request.args.get("touser")
    state = _state()
    with state.lock:
        # Copy each record: a call still in flight updates its record under the lock.
        calls = [dict(call) for call in state.calls]
    if since is not None:
        calls = [call for call in calls if call["time"] > since]
    if path_filter:
        calls = [call for call in calls if path_filter in call["path"]]
    if touser:
        calls = [call for call in calls if _body_targets(call["body"], touser)]
    if limit is not None and limit >= 0:
        calls = calls[len(calls) - limit :] if limit else []
    lines = "".join(json.dumps(call, ensure_ascii=False) + "\n" for call in calls)
    return Response(lines, content_type="application/x-ndjson; charset=utf-8")


@bp.delete("/_sandbox/calls")
def clear_calls() -> Response:
    state = _state()
    with state.lock:
        cleared = len(state.calls)
        state.calls.clear()
    return json_response({"ok": True, "cleared": cleared})


@bp.post("/_sandbox/faults")
def add_fault() -> Response:
    body, _ = parse_body(request.get_data())
    fault = parse_fault(body)
    if isinstance(fault, str):
        return _control_error(fault)
    state = _state()
    with state.lock:
        state.faults.append(fault)
    logger.info("fault registered: %s", fault.to_json())
    return json_response({"ok": True, "fault": fault.to_json()})


@bp.get("/_sandbox/faults")
def list_faults() -> Response:
    state = _state()
    with state.lock:
        faults = [fault.to_json() for fault in state.faults]
    return json_response({"faults": faults})


@bp.delete("/_sandbox/faults")
def clear_faults() -> Response:
    state = _state()
    with state.lock:
        cleared = len(state.faults)
        state.faults.clear()
    return json_response({"ok": True, "cleared": cleared})


@bp.post("/_sandbox/expire-tokens")
def expire_tokens() -> Response:
    state = _state()
    with state.lock:
        expired = state.expire_tokens()
    logger.info("expired %d access token(s)", expired)
    return json_response({"ok": True, "expired": expired})


@bp.post("/_sandbox/reset")
def reset() -> Response:
    state = _state()
    with state.lock:
        state.reset()
    return json_response({"ok": True})


@bp.get("/_sandbox/stats")
def stats() -> Response:
    state = _state()
    with state.lock:
        return json_response(state.stats())
