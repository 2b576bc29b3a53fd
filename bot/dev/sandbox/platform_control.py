"""``/_sandbox/platform`` and ``/_sandbox/received``: the platform's rules switched on for a
test, and what reached whom (counted after de-duplication)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from bot.dev.sandbox.platform import Chaos, PlatformState
from bot.dev.sandbox.responses import json_response, parse_body
from bot.dev.sandbox.state import SandboxState

bp = Blueprint("sandbox_platform", __name__)
_SETS = ("unsubscribed", "blocked", "out_of_window")


def _state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state


def _error(message: str) -> Response:
    return json_response({"ok": False, "error": message}, status=400)


def _describe(platform: PlatformState) -> dict[str, Any]:
    return {
        "account_type": platform.account_type,
        "custom_limits": platform.custom_limits,
        **{name: len(getattr(platform, name)) for name in _SETS},
        "chaos": [vars(rule) for rule in platform.chaos],
        "webhook": bool(platform.webhook_url),
    }


@bp.post("/_sandbox/platform")
def configure() -> Response:
    """Body (every key optional): ``account_type`` subscription|service, ``custom_limits``
    (5 pushes per 48 h), ``unsubscribed`` / ``blocked`` / ``out_of_window`` (openid lists,
    added), ``chaos`` ([{path, rate, delay}]: random time-outs, replacing any), ``webhook``
    ({url, token}: where job-finished events go), ``event_delay`` (seconds)."""
    body, _ = parse_body(request.get_data())
    if not isinstance(body, dict):
        return _error("body must be a JSON object")
    state = _state()
    with state.lock:
        platform = state.platform
        kind = body.get("account_type")
        if kind is not None:
            if kind not in ("subscription", "service"):
                return _error("account_type must be subscription or service")
            platform.account_type = kind
        if "custom_limits" in body:
            platform.custom_limits = bool(body["custom_limits"])
        for name in _SETS:
            values = body.get(name)
            if values is not None:
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    return _error(f"{name} must be a list of openids")
                getattr(platform, name).update(values)
        if "chaos" in body:
            rules = body["chaos"] or []
            try:
                platform.chaos = [
                    Chaos(str(r["path"]), float(r["rate"]), float(r.get("delay", 3.0)))
                    for r in rules
                ]
            except (KeyError, TypeError, ValueError):
                return _error("chaos must be a list of {path, rate, delay}")
        hook = body.get("webhook")
        if hook is not None:
            if not isinstance(hook, dict):
                return _error("webhook must be {url, token}")
            platform.webhook_url = str(hook.get("url") or "")
            platform.webhook_token = str(hook.get("token") or "")
        if "event_delay" in body:
            platform.event_delay = float(body["event_delay"])
        return json_response({"ok": True, "platform": _describe(platform)})


@bp.get("/_sandbox/received")
def received() -> Response:
    """What reached members: ``messages`` (all), ``distinct`` (kind, member, content),
    ``recipients``, ``duplicates`` (the same content to the same member twice) with
    examples; ``?kind=template|custom|mass``; ``?openid=`` adds that member's count."""
    state = _state()
    kind = request.args.get("kind") or None
    openid = request.args.get("openid")
    with state.lock:
        summary = state.platform.summary(kind)
        if openid:
            summary["for_openid"] = sum(
                n
                for (k, who, _), n in state.platform.received.items()
                if who == openid and (kind is None or k == kind)
            )
    return json_response(summary)
