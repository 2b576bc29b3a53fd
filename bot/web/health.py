"""``GET /healthz``: 200 when the database and Redis answer, 503 when either is down."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from bot.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["db"] = "ok"
    except Exception as exc:
        db.session.rollback()
        checks["db"] = f"error: {type(exc).__name__}"
    try:
        current_app.extensions["redis"].ping()
        checks["redis"] = "ok"
        checks["queue"] = str(len(current_app.extensions["rq"]))
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    checks["wechat_api_base"] = current_app.config["WECHAT_API_BASE"]
    kb = current_app.extensions.get("kb")
    if kb is not None:
        checks["kb_entries"] = str(kb.size)
    healthy = checks["db"] == "ok" and checks["redis"] == "ok"
    checks["status"] = "ok" if healthy else "degraded"
    return jsonify(checks), 200 if healthy else 503
