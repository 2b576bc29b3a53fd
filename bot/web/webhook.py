"""The WeChat webhook: ``GET /wechat`` (verification) and ``POST /wechat`` (messages).

The view runs a fixed sequence: verify → open (decrypt, parse) → claim (de-duplicate, lock
the user, load state) → dispatch within the reply budget → seal. A reply that is not ready
within ``WEBHOOK_REPLY_BUDGET_SECONDS`` is answered with ``success`` and pushed later as a
customer-service message by a background job, because WeChat gives up after 5 seconds.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import nullcontext, suppress
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, request

from bot.dialogue.dispatcher import Dispatcher, Outcome
from bot.dialogue.replies import Reply, render
from bot.dialogue.state import DialogueState
from bot.jobs import convlog
from bot.jobs.queue import enqueue_push
from bot.wechat.channel import Inbound, Rejected, WeChatChannel
from bot.wechat.ledger import Begin, Ledger

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
SUCCESS = "success"


class Runtime:
    """Per-app objects the webhook needs; the thread pool is made after gunicorn forks."""

    def __init__(self, app: Flask, channel: WeChatChannel, ledger: Ledger, dispatcher: Dispatcher):
        self.app = app
        self.channel = channel
        self.ledger = ledger
        self.dispatcher = dispatcher
        self.flusher = convlog.Flusher(backstop=True)
        ledger.keep_line = self.flusher.recent.add
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="turn")
                    self._pid = os.getpid()
        assert self._pool is not None
        return self._pool


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["webhook"]
    return rt


class Flight:
    """One turn in progress: lets the request thread give up on it without losing it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.late = False
        self.done = False


@bp.route("/wechat", methods=["GET", "POST"])
def wechat() -> Response:
    started = time.perf_counter()
    rt = runtime()
    args = request.args
    try:
        rt.channel.verify(args)
        if request.method == "GET":
            return _text(args.get("echostr", ""))
        try:
            # One byte past the limit tells a body that is too long: a chunked body has no
            # Content-Length for Flask to refuse early, and must not be cut and answered.
            # (Werkzeug's own stream stops quietly at the limit, so read the server's.)
            limit = int(current_app.config["WEBHOOK_MAX_BODY_BYTES"])
            if request.content_length is None:
                raw = request.environ["wsgi.input"].read(limit + 1)
            else:
                raw = request.get_data(cache=False)  # Flask refuses a longer one with 413
        except OSError:  # the client stopped sending (bot/web/server.py limits each read)
            log.warning("webhook: request body not received in time")
            return _text("bad request", 400)
        if len(raw) > limit:
            return _text("request entity too large", 413)
        message, encrypted = rt.channel.open(raw, args)
    except Rejected as refusal:
        # The reason is for the log only: a body naming exception classes or whether an AES
        # key is configured tells a prober what to try next.
        log.warning("webhook refused %s: %s", refusal.status, refusal.reason)
        return _text("forbidden" if refusal.status == 403 else "bad request", refusal.status)
    rt.flusher.ensure_started(rt.app)
    try:
        body = _respond(rt, message, started)
    except _Forbidden:
        return _text("forbidden", 403)
    except Exception:
        # Never a 500: WeChat would show the member "该公众号暂时无法提供服务".
        error_id = secrets.token_hex(4)
        log.exception("webhook failed error_id=%s openid=%s", error_id, message.openid)
        # An event (follow, menu tap, a job's result) did not come from someone typing:
        # nobody is waiting for an apology.
        text = (
            ""
            if message.msg_type == "event"
            else _safe_render(Reply("replies/common/sorry.txt", {"error_id": error_id}))
        )
        body = rt.channel.text_reply_xml(message, text) if text else SUCCESS
    if body == SUCCESS:
        return _text(SUCCESS)
    return Response(rt.channel.seal(body, args, encrypted), mimetype="application/xml")


def _respond(rt: Runtime, message: Inbound, started: float) -> str:
    cfg = rt.app.config
    budget = float(cfg["WEBHOOK_REPLY_BUDGET_SECONDS"])
    timestamp, nonce = request.args.get("timestamp", ""), request.args.get("nonce", "")
    try:
        quick = _quick(rt, message, timestamp, nonce, started)
    except (redis.RedisError, TimeoutError) as exc:
        log.error("redis unavailable (%s); answering in degraded mode", type(exc).__name__)
        return _degraded(rt, message, started)
    if quick is not None:
        return quick
    try:
        begin = rt.ledger.begin(message, timestamp, nonce, budget / 2)
    except (redis.RedisError, TimeoutError) as exc:
        log.error("redis unavailable (%s); answering in degraded mode", type(exc).__name__)
        return _degraded(rt, message, started)
    if begin.kind == "replay":
        log.warning("nonce replayed for a different message from %s", message.openid)
        raise _Forbidden()
    if begin.kind == "retry":
        stored = rt.ledger.stored_reply(message, max(0.0, budget - _elapsed(started)))
        return stored if stored is not None else SUCCESS

    flight = Flight()
    state = DialogueState.from_json(begin.state_raw)
    if rt.dispatcher.is_light(message, state, begin.has_pending):
        # No I/O to wait on: answer in this thread and skip the hand-over to the pool.
        return _turn(rt, message, begin, state, flight, started, inline=True)
    future = rt.pool.submit(_turn, rt, message, begin, state, flight, started)
    try:
        return future.result(timeout=max(0.0, budget - _elapsed(started)))
    except FutureTimeout:
        with flight.lock:
            if not flight.done:
                flight.late = True
                log.info("reply for %s not ready in %.1f s; will push", message.openid, budget)
                return SUCCESS
        return future.result()


def _quick(rt: Runtime, message: Inbound, timestamp: str, nonce: str, started: float) -> str | None:
    """The fast path for the most common message: small talk or a question from a member
    with no conversation in progress.

    The claim (no state, lock, held reply or rest of a long answer? then the message and
    the user are ours) goes to Redis first; the reply is worked out, as for a blank state,
    while Redis runs it; the closing write is posted without waiting. So the worker rarely
    sleeps on Redis. Light intents have no side effects besides what the claim and the
    closing write store, so a refused claim costs only CPU. Returns None when the normal
    path must run (state, replay or a retry in progress are left to it).
    """
    blank = DialogueState()
    if not rt.dispatcher.is_light(message, blank, has_pending=False):
        return None
    claim = rt.ledger.claim(message, timestamp, nonce)
    try:
        outcome = rt.dispatcher.handle(message, blank)
        xml = rt.channel.text_reply_xml(message, outcome.reply) if outcome.reply else SUCCESS
        entry = _log_entry(message, outcome, started, "passive")
    except BaseException:
        with suppress(redis.RedisError):
            if claim.granted():
                rt.ledger.abandon(message, claim.begin)
        raise
    if not claim.granted():
        return None
    rt.ledger.complete(
        message,
        claim,
        reply=xml,
        state_raw=outcome.state.to_json() if outcome.state else None,
        more=outcome.more or "",
        log_entry=entry,
    )
    return xml


def _turn(
    rt: Runtime,
    message: Inbound,
    begin: Begin,
    state: DialogueState,
    flight: Flight,
    started: float,
    inline: bool = False,
) -> str:
    """Dispatch, store, and (when late) push. Returns the reply XML.

    In the pool it pushes an app context of its own, which outlives the request's if the
    request gives up waiting; inline it uses the request's.
    """
    with nullcontext() if inline else rt.app.app_context():
        try:
            outcome = rt.dispatcher.handle(
                message,
                state,
                has_pending=begin.has_pending,
                more=begin.more,
            )
        except Exception:
            rt.ledger.abandon(message, begin)
            raise
        xml = rt.channel.text_reply_xml(message, outcome.reply) if outcome.reply else SUCCESS
        with flight.lock:
            flight.done = True
            late = flight.late
        entry = _log_entry(message, outcome, started, "push" if late else "passive")
        rt.ledger.finish(
            message,
            begin,
            reply=SUCCESS if late else xml,
            state_raw=outcome.state.to_json() if outcome.state else None,
            log_entry=entry,
            more=outcome.more,
            clear_pending=outcome.consumed_pending,
        )
        for notice in outcome.notices:
            enqueue_push(notice.openid, _safe_render(notice.reply))
        if late and outcome.reply:
            enqueue_push(message.openid, outcome.reply)
        return xml


def _degraded(rt: Runtime, message: Inbound, started: float) -> str:
    """Redis is down: answer statelessly (no forms, no de-duplication) and log directly."""
    outcome = rt.dispatcher.handle(message, DialogueState(), degraded=True)
    convlog.write_now(_log_entry(message, outcome, started, "passive"))
    return rt.channel.text_reply_xml(message, outcome.reply) if outcome.reply else SUCCESS


def _log_entry(message: Inbound, outcome: Outcome, started: float, delivery: str) -> dict[str, Any]:
    entry = convlog.entry(
        openid=message.openid,
        msg_type=message.event and f"event:{message.event}" or message.msg_type,
        text=message.text or message.event_key,
        reply=outcome.reply,
        intent=outcome.intent,
        confidence=outcome.confidence,
        handler=outcome.handler,
        latency_ms=_elapsed(started) * 1000,
        delivery=delivery,
    )
    if outcome.notes:
        entry["notes"] = [{"kind": kind, **data} for kind, data in outcome.notes]
    return entry


def _safe_render(reply: Reply) -> str:
    try:
        return render(reply)
    except Exception:  # a broken template must not turn an apology into a 500
        log.exception("could not render %s", reply.template)
        return ""


def _elapsed(started: float) -> float:
    return time.perf_counter() - started


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


class _Forbidden(Exception):
    pass


@bp.errorhandler(413)
def _too_large(_: Exception) -> Response:
    return _text("request body too large", 413)
