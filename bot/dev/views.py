"""Development-only pages: ``/dev/chat``, a WeChat-like chat window on the real webhook.

Registered only outside production. The page posts what the member types; this blueprint
signs it as WeChat would and sends it through the webhook, then shows the passive reply
and, by polling the API sandbox, any customer-service messages pushed later.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from bot.dev.chat import Conversation

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.get("/chat")
def chat_page() -> str:
    from bot.wechat.menu import load_menu

    return render_template(
        "dev/chat.html",
        menu=load_menu()["button"],
        bot_name=current_app.config["ORG_SHORT_NAME"] + current_app.config["ORG_BOT_NAME"],
        sandbox=_sandbox_root(),
    )


@bp.post("/chat/send")
def chat_send() -> Response:
    data: dict[str, Any] = request.get_json(silent=True) or {}
    openid = str(data.get("user") or "dev-user")[:64]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    convo = Conversation(app, openid, encrypt=bool(data.get("encrypt")))
    started = time.time()
    if data.get("event"):
        event = str(data["event"])
        key = str(data.get("key") or "")
        reply = convo.send_event(event, key)
    else:
        text = str(data.get("text") or "")[:5000]
        reply = convo.send_text(text)
    return jsonify({"replies": [reply] if reply else [], "at": started})


@bp.get("/chat/pushes")
def chat_pushes() -> Response:
    """Customer-service messages the bot pushed to ``user`` since ``since`` (via the sandbox)."""
    root = _sandbox_root()
    if not root:
        return jsonify({"pushes": [], "sandbox": False})
    params = urllib.parse.urlencode(
        {
            "path": "message/custom/send",
            "touser": request.args.get("user", ""),
            "since": request.args.get("since", "0"),
        }
    )
    try:
        with urllib.request.urlopen(f"{root}_sandbox/calls?{params}", timeout=2) as resp:
            lines = resp.read().decode().splitlines()
    except OSError:
        return jsonify({"pushes": [], "sandbox": False})
    pushes = []
    for line in lines:
        call = json.loads(line)
        body = call.get("body") or {}
        if call.get("errcode") in (0, None) and body.get("msgtype") == "text":
            pushes.append({"time": call["time"], "text": body.get("text", {}).get("content", "")})
    return jsonify({"pushes": pushes, "sandbox": True})


def _sandbox_root() -> str:
    """The sandbox's root URL when WECHAT_API_BASE points at a local one, else ""."""
    base = str(current_app.config["WECHAT_API_BASE"])
    if not base.startswith(("http://127.0.0.1", "http://localhost")):
        return ""
    return base[: -len("cgi-bin/")] if base.endswith("cgi-bin/") else base
