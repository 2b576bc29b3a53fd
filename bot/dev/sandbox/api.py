"""The WeChat server API: ``/cgi-bin/<path>`` recorded, faulted if asked, then answered.

A call is recorded first (``GET /_sandbox/calls`` shows it at once, in flight), then meets the
oldest matching injected fault, if any, and otherwise the endpoint of its path. Paths no family
declares succeed, so the bot keeps going; the record makes them visible.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.http import HTTP_STATUS_CODES

from bot.dev.sandbox import media, menu, messages, tags, tokens, users
from bot.dev.sandbox.errors import ERRMSGS, ApiError
from bot.dev.sandbox.faults import Fault
from bot.dev.sandbox.registry import API_PREFIX, FileAnswer, merge, ok
from bot.dev.sandbox.responses import json_response, parse_body
from bot.dev.sandbox.state import TOKEN_PATHS, SandboxState

logger = logging.getLogger(__name__)

bp = Blueprint("sandbox_api", __name__)
ENDPOINTS = merge(
    tokens.endpoints,
    messages.endpoints,
    tags.endpoints,
    users.endpoints,
    menu.endpoints,
    media.endpoints,
)


@bp.route("/cgi-bin/<path:subpath>", methods=["GET", "POST"])
def wechat_api(subpath: str) -> Response:
    state: SandboxState = current_app.extensions["sandbox"]
    return handle_api_call(state, API_PREFIX + subpath)


def dispatch(
    state: SandboxState,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    body_error: str | None,
) -> dict[str, Any] | FileAnswer:
    endpoint = ENDPOINTS.get(path)
    try:
        with state.lock:
            if path not in TOKEN_PATHS:
                state.check_token(query.get("access_token"))
            if endpoint is None:
                # Unknown APIs succeed so the bot keeps going; the record makes them visible.
                return ok()
            if endpoint.post_only and method != "POST":
                raise ApiError(43002)
            if endpoint.needs_body:
                if body_error == "empty":
                    raise ApiError(44002)
                if not isinstance(body, dict):
                    raise ApiError(47001)
            return endpoint.handler(state, query, body if isinstance(body, dict) else {})
    except ApiError as exc:
        return exc.payload()
    except Exception:
        # A sandbox bug must not look like a network failure to the bot; answer like WeChat's
        # generic failure and leave the traceback in the log.
        logger.exception("sandbox handler for %s failed", path)
        return {"errcode": -1, "errmsg": ERRMSGS[-1]}


def fault_response(fault: Fault) -> tuple[Response, int | None]:
    """Build the answer an error-injecting fault asks for, with the errcode to record."""
    if fault.errcode is None:
        # HTTP-level failure: gateways answer HTML, not JSON, so the bot must cope with that.
        status = fault.status or 500
        reason = HTTP_STATUS_CODES.get(status, "Error")
        html = f"<html><body><h1>{status} {reason}</h1></body></html>"
        return Response(html, status=status, content_type="text/html; charset=utf-8"), None
    errmsg = fault.errmsg or ERRMSGS.get(fault.errcode, "sandbox injected error")
    payload = {"errcode": fault.errcode, "errmsg": errmsg}
    return json_response(payload, status=fault.status or 200), fault.errcode


def handle_api_call(state: SandboxState, path: str) -> Response:
    started = time.monotonic()
    query = request.args.to_dict()
    body, body_error = parse_body(request.get_data())
    with state.lock:
        record = state.record_call(request.method, path, query, body, body_error)
        fault = state.take_fault(path)
        # Random time-outs (POST /_sandbox/platform): processed, then answered too late.
        late = state.platform.chaos_delay(path) if fault is None else 0.0
    processed_first = fault is not None and fault.processed and not fault.answers_error
    if fault is not None:
        logger.info("injecting fault into %s: %s", path, fault.to_json())
        if fault.delay > 0 and not processed_first:
            # Sleep outside the lock so other calls (and the control API) stay responsive.
            time.sleep(fault.delay)
    if fault is not None and fault.answers_error:
        response, errcode = fault_response(fault)
    else:
        payload = dispatch(state, request.method, path, query, body, body_error)
        if processed_first and fault is not None:
            late = fault.delay
        if late > 0:
            time.sleep(late)
        if isinstance(payload, FileAnswer):
            errcode = 0
            response = media.file_response(payload)
        else:
            errcode = payload.get("errcode", 0)
            response = json_response(payload)
    with state.lock:
        record["errcode"] = errcode
        record["status"] = response.status_code
        record["duration"] = round(time.monotonic() - started, 4)
        if fault is not None:
            record["fault"] = {
                "errcode": fault.errcode,
                "status": fault.status,
                "delay": fault.delay,
            }
    return response
