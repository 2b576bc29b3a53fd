"""``GET /healthz``: 200 when the database and Redis answer, 503 when either is down.

Anyone can reach it (load balancers do), so it says "ok" or "error" and nothing more: what
failed and why goes to the log, not to whoever asks.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from bot.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["db"] = "ok"
    except Exception as exc:
        db.session.rollback()
        log.warning("healthz: database check failed: %s", type(exc).__name__)
        checks["db"] = "error"
    try:
        current_app.extensions["redis"].ping()
        checks["redis"] = "ok"
        checks["queue"] = str(len(current_app.extensions["rq"]))
    except Exception as exc:
        log.warning("healthz: Redis check failed: %s", type(exc).__name__)
        checks["redis"] = "error"
    kb = current_app.extensions.get("kb")
    if kb is not None:
        checks["kb_entries"] = str(kb.size)
    healthy = checks["db"] == "ok" and checks["redis"] == "ok"
    checks["status"] = "ok" if healthy else "degraded"
    return jsonify(checks), 200 if healthy else 503
