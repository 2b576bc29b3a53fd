"""Sending notices: background jobs over the delivery table (``bot.services.notices``).

A send runs as a few *chains* of :func:`drive` jobs (``NOTICE_CHAINS``, more than there are
workers, so a worker started mid-send finds one at once). Each job claims a batch of rows
(leased, committed before WeChat hears of them), sends them on a few threads, writes the
outcomes in bulk, and goes on until its time slice is used, then queues its successor. A
worker killed mid-batch leaves its rows leased: after ``NOTICE_LEASE_SECONDS`` another chain
claims them again. That resend is safe on the template channel (the same ``client_msg_id``,
which WeChat sends once); on the customer-service channel there is no such key, and those
rows are marked ``unknown`` instead. :func:`sweep` (a chore) restarts the chains of a send
whose every chain died, polls mass jobs and matches WeChat's job reports.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests
from flask import Flask, current_app
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from bot.dialogue.replies import render_template_text
from bot.extensions import db, sqlite_immediate
from bot.links import public_url
from bot.models import Notice, utcnow
from bot.services import clock
from bot.services.notices import compose, deliveries, reconcile, rules
from bot.services.notices.deliveries import Claimed
from bot.wechat.api import ApiBackoff, BotWeChatClient
from bot.wechat.lean import ApiError as LeanApiError
from bot.wechat.lean import LeanPoster, NotSent, Unknown

log = logging.getLogger(__name__)

SLICE_SECONDS = 20.0
BEAT_KEY = "bot:notices:beat:{}"
WAITER_KEY = "bot:notices:waiter:{}"
WAIT_IN_JOB_SECONDS = 15.0  # pauses up to this long are slept out by the job
UNKNOWN_RETRIES = 2  # further requests under the de-duplication key after a time-out
_local = threading.local()


def worker_name() -> str:
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _queue() -> Any:
    from bot.jobs.queue import queue

    return queue()


def start_chains(notice_id: int, chains: int | None = None) -> int:
    """Queue the send's chains (after the transaction that set the notice sending)."""
    cfg = current_app.config
    count = int(chains if chains is not None else cfg.get("NOTICE_CHAINS", 4))
    q = _queue()
    func = "bot.jobs.notices.send_mass" if _channel(notice_id) == "mass" else _DRIVE
    for _ in range(1 if func != _DRIVE else max(1, count)):
        q.enqueue(func, notice_id, job_timeout=600, result_ttl=60, failure_ttl=3600)
    current_app.extensions["redis"].set(BEAT_KEY.format(notice_id), "queued", ex=_lease(cfg))
    return count


_DRIVE = "bot.jobs.notices.drive"


def _channel(notice_id: int) -> str:
    notice = db.session.get(Notice, notice_id)
    return notice.channel if notice is not None else ""


def _lease(cfg: Any) -> int:
    return int(cfg.get("NOTICE_LEASE_SECONDS", 60))


# -- the per-recipient channels -------------------------------------------------------------


class _Stop(Exception):
    """WeChat asked us to stop for a while (45009, -1, a token it keeps refusing)."""

    def __init__(self, reason: str, delay: float, tried: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.delay = reason, delay
        self.tried = tried  # an earlier request of this row may have arrived


def drive(notice_id: int) -> dict[str, int]:
    """One link of a chain: send batches for a time slice, then queue the next link.

    Waits happen here, not in RQ's scheduler (whose lock a killed worker holds for a while):
    a short pause (-1) is slept out; with nothing left to claim but rows leased by others,
    one chain (``WAITER_KEY``) stays to claim them once their lease runs out, in case their
    worker died. A long pause (45009) ends the chain; the sweep resumes the send after it.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cfg = app.config
    me = worker_name()
    lease = timedelta(seconds=_lease(cfg))
    limit = int(cfg.get("NOTICE_BATCH_SIZE", 200))
    redis = app.extensions["redis"]
    beat = BEAT_KEY.format(notice_id)
    ends = time.monotonic() + SLICE_SECONDS
    done = 0
    with ThreadPoolExecutor(int(cfg.get("NOTICE_SEND_THREADS", 8))) as pool:
        while time.monotonic() < ends:
            notice = db.session.get(Notice, notice_id)
            if notice is None or notice.status != compose.SENDING:
                db.session.rollback()
                return {"sent": done}
            now = utcnow()
            if notice.paused_until and notice.paused_until > now:
                wait = (notice.paused_until - now).total_seconds()
                db.session.rollback()
                if wait > WAIT_IN_JOB_SECONDS:
                    return {"sent": done}  # the sweep resumes it
                redis.set(beat, me, ex=int(wait) + _lease(cfg))
                time.sleep(wait)
                continue
            channel, payload = notice.channel, _payload(notice)
            db.session.rollback()
            claimed = _claim(notice_id, channel, me, limit, lease)
            if not claimed:
                left = _after_last_batch(notice_id)
                waiter = WAITER_KEY.format(notice_id)
                if left is None or not redis.set(waiter, me, nx=True, ex=int(left) + 10):
                    return {"sent": done}
                redis.set(beat, me, ex=int(left) + _lease(cfg))
                time.sleep(left)
                redis.delete(waiter)
                ends = time.monotonic() + SLICE_SECONDS
                continue
            redis.set(beat, me, ex=int(lease.total_seconds()))
            outcomes, stop = _send_batch(app, pool, channel, payload, notice_id, claimed)
            deliveries.record(db.session, outcomes, me, utcnow())
            if stop is not None:
                paused = db.session.get(Notice, notice_id)
                if paused is not None:
                    paused.paused_until = utcnow() + timedelta(seconds=stop.delay)
                    paused.pause_reason = stop.reason[:60]
                log.warning("notice %s paused %.0f s: %s", notice_id, stop.delay, stop.reason)
            db.session.commit()
            done += sum(1 for o in outcomes if o["status"] == deliveries.SENT)
    _queue().enqueue(_DRIVE, notice_id, job_timeout=600, result_ttl=60, failure_ttl=3600)
    return {"sent": done}


def _claim(notice_id: int, channel: str, me: str, limit: int, lease: timedelta) -> list[Claimed]:
    keyed = rules.CHANNELS[channel].dedup_key is not None
    token = sqlite_immediate.set(True)  # the write lock at BEGIN: claims queue, not fail
    try:
        now = utcnow()
        if not keyed:
            deliveries.expire_unkeyed(db.session, notice_id, now)
        claimed = deliveries.claim(
            db.session, notice_id, me, limit=limit, lease=lease, now=now, expired=keyed
        )
        db.session.commit()  # claimed before WeChat hears of any of them
        return claimed
    except Exception:
        db.session.rollback()
        raise
    finally:
        sqlite_immediate.reset(token)


def _after_last_batch(notice_id: int) -> float | None:
    """Nothing to claim: mark the notice sent when every row is done; else the seconds until
    the last lease of another worker's rows runs out (None: nothing left to wait for)."""
    token = sqlite_immediate.set(True)
    try:
        notice = db.session.get(Notice, notice_id)
        now = utcnow()
        if notice is not None and compose.finish_if_done(db.session, notice, now):
            reconcile.match_events(db.session, notice, now)
            db.session.commit()
            log.info("notice %s: sending finished", notice_id)
            return None
        until = deliveries.leased_until(db.session, notice_id)
        db.session.rollback()
    finally:
        sqlite_immediate.reset(token)
    if until is None:
        return None
    return max(0.5, (until - utcnow()).total_seconds() + 0.5)


def _payload(notice: Notice) -> dict[str, Any]:
    """What every recipient of ``notice`` gets (built once per batch)."""
    cfg = current_app.config
    url = public_url("pages.notice", notice_id=notice.id)
    if notice.channel == "template":
        return {
            "template_id": template_id(cfg),
            "url": url,
            "data": {key: {"value": value} for key, value in template_fields(notice).items()},
        }
    text = render_template_text("replies/notices/push.txt", notice=notice, url=url)
    return {"msgtype": "text", "text": {"content": text}}


# Outside production (make run, the sandbox, acceptance scripts) a notice template needs no
# setting: the sandbox takes any id. In production an unset template refuses the channel.
DEV_TEMPLATE_ID = "sandbox-notice-template"


def template_id(cfg: Any) -> str:
    value = str(cfg.get("NOTICE_TEMPLATE_ID") or cfg.get("WECHAT_NOTICE_TEMPLATE_ID") or "")
    if not value and cfg.get("ENV") != "production":
        return DEV_TEMPLATE_ID
    return value


def template_fields(notice: Notice) -> dict[str, str]:
    """The template's keyword values (checked against the rules before sending)."""
    when = clock.to_local(notice.started_at or utcnow(), current_app.config)
    values = {
        "title": notice.title,
        "summary": notice.summary or notice.title,
        "date": when.strftime("%Y年%m月%d日 %H:%M") if when else "",
    }
    return {rules.TEMPLATE_KEYS[name]: value for name, value in values.items()}


def _poster(app: Flask) -> LeanPoster:
    """One connection per sending thread, kept alive across batches of this job."""
    poster: LeanPoster | None = getattr(_local, "poster", None)
    if poster is None or getattr(_local, "app", None) is not app:
        cfg = app.config
        api = BotWeChatClient(
            cfg["WECHAT_APP_ID"],
            cfg["WECHAT_APP_SECRET"],
            base=cfg["WECHAT_API_BASE"],
            client=app.extensions["redis"],
        )
        poster = LeanPoster(api, float(cfg.get("NOTICE_REQUEST_TIMEOUT", 5.0)))
        _local.poster, _local.app = poster, app
    return poster


def _send_batch(
    app: Flask,
    pool: ThreadPoolExecutor,
    channel: str,
    payload: dict[str, Any],
    notice_id: int,
    claimed: list[Claimed],
) -> tuple[list[dict[str, Any]], _Stop | None]:
    stop: list[_Stop] = []
    send: Callable[[Claimed], dict[str, Any]]

    def one(row: Claimed) -> dict[str, Any]:
        if stop:
            return {"id": row.id, "status": deliveries.PENDING}  # given back, untried
        try:
            return send(row)
        except _Stop as exc:
            stop.append(exc)
            return {"id": row.id, "status": deliveries.PENDING, "tried": exc.tried}

    if channel == "template":

        def send(row: Claimed) -> dict[str, Any]:
            return _send_template(app, payload, notice_id, row)

    else:

        def send(row: Claimed) -> dict[str, Any]:
            return _send_custom(app, payload, row)

    outcomes = list(pool.map(one, claimed))
    return outcomes, (stop[0] if stop else None)


def _errcode_outcome(row: Claimed, code: int) -> dict[str, Any]:
    rule = rules.rule_for(code)
    if rule is None:
        return {"id": row.id, "status": deliveries.FAILED, "error": f"errcode {code}"}
    if rule.action == "skip":
        return {"id": row.id, "status": deliveries.SKIPPED, "error": rule.reason}
    if rule.action == "sent":
        return {"id": row.id, "status": deliveries.SENT}
    if rule.action in ("backoff", "refresh"):
        raise _Stop(f"{code} {rule.reason}", rule.delay or 5.0)
    return {"id": row.id, "status": deliveries.FAILED, "error": rule.reason}


def _send_template(
    app: Flask, payload: dict[str, Any], notice_id: int, row: Claimed
) -> dict[str, Any]:
    first = row.first_tried_at
    if first is not None and utcnow() - first > rules.CLIENT_MSG_ID_WINDOW:
        # WeChat forgot the key by now: a resend could arrive twice.
        return {"id": row.id, "status": deliveries.UNKNOWN, "error": "dedup_window_passed"}
    body = {
        **payload,
        "touser": row.openid,
        "client_msg_id": rules.template_client_msg_id(notice_id, row.id),
    }
    poster = _poster(app)
    uncertain = False  # a request went out whose outcome we do not know
    for _ in range(1 + UNKNOWN_RETRIES):
        try:
            result = poster.post("message/template/send", body)
        except Unknown:
            uncertain = True
            continue  # processed or not: only the same client_msg_id goes again
        except NotSent as exc:
            raise _Stop(f"connection: {exc}", 5.0, uncertain) from exc
        except ApiBackoff as exc:
            raise _Stop(f"{exc.errcode} backoff", exc.delay, uncertain) from exc
        except LeanApiError as exc:
            try:
                return _errcode_outcome(row, exc.errcode)
            except _Stop as stop:
                stop.tried = uncertain
                raise
        return {"id": row.id, "status": deliveries.SENT, "msg_id": result.get("msgid")}
    return {"id": row.id, "status": deliveries.UNKNOWN, "error": "timeout"}


def _send_custom(app: Flask, payload: dict[str, Any], row: Claimed) -> dict[str, Any]:
    from bot.wechat.push import take_window

    if not take_window(app.extensions["redis"], row.openid):
        return {"id": row.id, "status": deliveries.SKIPPED, "error": "window"}
    try:
        _poster(app).post("message/custom/send", {**payload, "touser": row.openid})
    except Unknown:
        # No de-duplication key on this channel: never sent again.
        return {"id": row.id, "status": deliveries.UNKNOWN, "error": "timeout"}
    except NotSent as exc:
        raise _Stop(f"connection: {exc}", 5.0) from exc
    except ApiBackoff as exc:
        raise _Stop(f"{exc.errcode} backoff", exc.delay) from exc
    except LeanApiError as exc:
        return _errcode_outcome(row, exc.errcode)
    return {"id": row.id, "status": deliveries.SENT}


# -- the mass channel -----------------------------------------------------------------------


def send_mass(notice_id: int) -> str:
    """Submit the notice's mass job (to all, or to the WeChat tag its audience names).

    Under ``clientmsgid`` = the notice's id: a job retried after a crash or a time-out gets
    45065 and the earlier job's id, which counts as sent. No transaction is open while
    WeChat answers; the outcome is written in one of its own.
    """
    from bot.jobs.queue import wechat_api

    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.status != compose.SENDING or notice.mass_msg_id is not None:
        db.session.rollback()
        return "nothing to do"
    url = public_url("pages.notice", notice_id=notice.id)
    text = render_template_text("replies/notices/push.txt", notice=notice, url=url)
    tag = notice.audience[4:] if notice.audience.startswith("tag:") else None
    db.session.rollback()
    api = wechat_api()
    target: dict[str, Any] = {"is_to_all": True}
    if tag is not None:
        tag_id = _wechat_tag_id(api, tag)
        if tag_id is None:
            return _mass_outcome(notice_id, status="no_wechat_tag", finished=True)
        target = {"is_to_all": False, "tag_id": tag_id}
    body = {
        "filter": target,
        "msgtype": "text",
        "text": {"content": text},
        "clientmsgid": rules.mass_clientmsgid(notice_id),
        "send_ignore_reprint": 0,
    }
    try:
        result = api.post("message/mass/sendall", data=body)
    except WeChatClientException as exc:
        if exc.errcode != 45065:
            # 45028 (no quota left) and the like: paused with the reason; staff see it.
            rule = rules.rule_for(int(exc.errcode or 0))
            delay = rule.delay if rule else 3600.0
            return _mass_outcome(notice_id, pause=(f"errcode {exc.errcode}", delay))
        # Already sent under this clientmsgid: WeChat names the earlier job.
        result = _json(exc)
    except ApiBackoff as exc:
        return _mass_outcome(notice_id, pause=(f"{exc.errcode} backoff", exc.delay))
    except requests.RequestException as exc:
        # Submitted or not: the sweep submits again under the same clientmsgid (45065).
        return _mass_outcome(notice_id, pause=(type(exc).__name__, 5.0))
    return _mass_outcome(notice_id, result=result)


def _mass_outcome(
    notice_id: int,
    *,
    result: dict[str, Any] | None = None,
    pause: tuple[str, float] | None = None,
    status: str | None = None,
    finished: bool = False,
) -> str:
    token = sqlite_immediate.set(True)
    try:
        notice = db.session.get(Notice, notice_id)
        if notice is None:
            return "missing"
        now = utcnow()
        if result is not None:
            notice.mass_msg_id = int(result.get("msg_id") or 0) or None
            notice.mass_msg_data_id = result.get("msg_data_id")
            notice.mass_status = notice.mass_status or "SENDING"
        if pause is not None:
            notice.paused_until = now + timedelta(seconds=pause[1])
            notice.pause_reason = pause[0][:60]
            log.warning("mass send of notice %s paused %.0f s: %s", notice_id, *pause[::-1])
        if status is not None:
            notice.mass_status = status
        if finished:
            notice.status, notice.finished_at = compose.SENT, now
        db.session.commit()
    finally:
        sqlite_immediate.reset(token)
    if pause is not None:
        return "paused"
    return "submitted" if result is not None else "no tag"


def _json(exc: WeChatClientException) -> dict[str, Any]:
    try:
        data: dict[str, Any] = exc.response.json() if exc.response is not None else {}
        return data
    except ValueError:
        return {}


def _wechat_tag_id(api: Any, name: str) -> int | None:
    tags = api.get("tags/get").get("tags", [])
    for tag in tags:
        if tag.get("name") == name:
            return int(tag["id"])
    return None


def preview(notice_id: int, openid: str) -> str:
    """The mass message to one admin's own WeChat first (``message/mass/preview``)."""
    from bot.jobs.queue import wechat_api

    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return "missing"
    url = public_url("pages.notice", notice_id=notice.id)
    text = render_template_text("replies/notices/push.txt", notice=notice, url=url)
    wechat_api().post(
        "message/mass/preview",
        data={"touser": openid, "msgtype": "text", "text": {"content": text}},
    )
    notice.preview_at = utcnow()
    db.session.commit()
    return "sent"


# -- the chore ------------------------------------------------------------------------------


def sweep() -> int:
    """Restart sends whose chains all died, poll mass jobs, match job reports; answer how
    many sends were restarted."""
    # It reads, then writes: on SQLite its transactions take the write lock at BEGIN, so a
    # webhook turn committing a job report in between cannot fail it with "locked".
    token = sqlite_immediate.set(True)
    try:
        return _sweep()
    finally:
        sqlite_immediate.reset(token)


def _sweep() -> int:
    redis = current_app.extensions["redis"]
    now = utcnow()
    restarted = 0
    active = db.session.execute(
        select(Notice).where(
            Notice.status.in_((compose.SENDING, compose.SENT)),
            Notice.updated_at >= now - timedelta(days=3),
        )
    ).scalars()
    for notice in list(active):
        reconcile.match_events(db.session, notice, now)
        if notice.channel == "mass":
            if notice.mass_msg_id is None and notice.status == compose.SENDING:
                resting = notice.paused_until is not None and notice.paused_until > now
                if not resting and not redis.exists(BEAT_KEY.format(notice.id)):
                    db.session.commit()
                    start_chains(notice.id)  # submitted again under the same clientmsgid
                    restarted += 1
                continue
            _poll_mass(notice)
            continue
        if notice.status != compose.SENDING or redis.exists(BEAT_KEY.format(notice.id)):
            continue
        if notice.paused_until is not None and notice.paused_until > now:
            continue
        if deliveries.has_claimable(db.session, notice.id, now, expired=True):
            db.session.commit()
            start_chains(notice.id)
            restarted += 1
    db.session.commit()
    if restarted:
        log.info("notices: restarted %d sends", restarted)
    return restarted


def _poll_mass(notice: Notice) -> None:
    from bot.jobs.queue import wechat_api

    if notice.mass_msg_id is None:
        return
    if notice.mass_status and notice.mass_status.upper() in reconcile.MASS_FINAL:
        return
    notice_id, msg_id = notice.id, notice.mass_msg_id
    db.session.commit()  # no write lock held while WeChat answers
    try:
        answer = wechat_api().post("message/mass/get", data={"msg_id": msg_id})
    except (WeChatClientException, requests.RequestException) as exc:
        log.warning("mass status of notice %s: %s", notice_id, exc)
        return
    row = db.session.get(Notice, notice_id)
    if row is None:
        return
    if reconcile.apply_mass_status(row, answer) and row.status == compose.SENDING:
        row.status = compose.SENT
        row.finished_at = utcnow()
