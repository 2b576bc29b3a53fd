"""The conversation log, written in batches off the request path.

The webhook appends one JSON line per turn to the Redis list ``bot:convlog`` (inside the
pipeline it sends anyway); a daemon thread in each process drains up to ``CONVLOG_BATCH``
lines a second into SQL in one transaction. A synchronous commit per message would cost the
greeting path most of its throughput. LPOP with a count is atomic, so several processes
draining at once never write a line twice.

Redis keeps nothing on disk, so the lines it held when it died would be lost (1.3 % of the
lines in an outage test). Each web process therefore keeps the lines it handed to Redis in
the last minute (:class:`RecentLines`); when it finds Redis gone, or restarted empty, it
writes them itself. Every line carries a key and a line already stored is skipped, so a line
saved by both the worker and a web process is stored once.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import redis
from flask import Flask, current_app, has_app_context
from sqlalchemy import insert, select

from bot.extensions import db, sqlite_immediate
from bot.models import ConversationLog

log = logging.getLogger(__name__)

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)(\d{3,4})(\d{4})(?!\d)")


LOGGED_REPLY_CHARS = 300
_SEVEN_DIGITS = re.compile(r"\d{7}|\d{3,4}-\d")


def mask_phones(text: str, keep: tuple[str, ...] = ()) -> str:
    """Mask the middle digits of mobile and landline numbers (logs must not hold them).

    :param keep: numbers that are no one's private data and stay readable: the
        organisation's own phone (``ORG_PHONE``), which replies and transcripts quote.
    """
    if not _SEVEN_DIGITS.search(text):
        return text  # the common case, checked with one cheap scan
    kept = [number for number in keep if number and number in text]
    for i, number in enumerate(kept):
        text = text.replace(number, f"\x00{i}\x00")  # no digit run a pattern could read
    text = _PHONE.sub(r"\1****\3", text)
    text = _LANDLINE.sub(r"\1****\3", text)
    for i, number in enumerate(kept):
        text = text.replace(f"\x00{i}\x00", number)
    return text


def public_numbers() -> tuple[str, ...]:
    """The organisation's own numbers (``ORG_PHONE``), never masked; () outside an app."""
    if not has_app_context():
        return ()
    cached = current_app.extensions.get("public_numbers")
    if cached is None:
        phones = str(current_app.config.get("ORG_PHONE") or "")
        cached = tuple(p.strip() for p in re.split(r"[,，、/]", phones) if p.strip())
        current_app.extensions["public_numbers"] = cached
    return cast(tuple[str, ...], cached)


@functools.lru_cache(maxsize=512)
def _mask_reply(text: str, keep: tuple[str, ...] = ()) -> str:
    # Replies repeat (templates, knowledge answers with the office phone): mask each once.
    return mask_phones(text, keep)


def entry(
    *,
    openid: str,
    msg_type: str,
    text: str,
    reply: str,
    intent: str | None,
    confidence: float | None,
    handler: str | None,
    latency_ms: float,
    delivery: str = "passive",
) -> dict[str, Any]:
    keep = public_numbers()  # the hand-off transcript shows the office phone as it is
    return {
        "key": secrets.token_hex(8),
        "at": time.time(),
        "openid": openid,
        "msg_type": msg_type,
        "text": mask_phones(text[:2000], keep),
        # The start of the reply is enough to see what the member got (the full text is a
        # template or a knowledge entry, both kept elsewhere).
        "reply": _mask_reply(reply[:LOGGED_REPLY_CHARS], keep),
        "intent": intent,
        "confidence": confidence,
        "handler": handler,
        "latency_ms": round(latency_ms, 2),
        "delivery": delivery,
    }


def to_values(data: dict[str, Any]) -> dict[str, Any]:
    return dict(
        at=datetime.fromtimestamp(float(data.get("at", time.time())), UTC).replace(tzinfo=None),
        openid=str(data.get("openid", ""))[:64],
        msg_type=str(data.get("msg_type", ""))[:20],
        text=str(data.get("text", "")),
        reply=str(data.get("reply", "")),
        intent=data.get("intent"),
        confidence=data.get("confidence"),
        handler=data.get("handler"),
        latency_ms=data.get("latency_ms"),
        delivery=str(data.get("delivery", "passive"))[:12],
        line_key=(str(data["key"])[:32] if data.get("key") else None),
    )


def store(items: Iterable[dict[str, Any]]) -> int:
    """Insert log lines and their notes, skipping lines whose key is stored already; the
    caller commits. Answers how many lines were new.

    It reads before it writes, so callers run it inside :func:`_writing`.
    """
    items = list(items)
    keys = [str(item["key"]) for item in items if item.get("key")]
    seen: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found = db.session.execute(
            select(ConversationLog.line_key).where(ConversationLog.line_key.in_(chunk))
        ).scalars()
        seen.update(key for key in found if key)
    fresh = [item for item in items if not item.get("key") or str(item["key"]) not in seen]
    if fresh:
        # One executemany on the table (Core), not an ORM object per line nor the ORM
        # bulk path (15 % slower per line, and this runs for every message).
        db.session.execute(insert(ConversationLog.__table__), [to_values(i) for i in fresh])
        write_notes([note for item in fresh for note in item.get("notes") or []])
    return len(fresh)


def flush(client: redis.Redis, batch: int = 500) -> int:
    """Move up to ``batch`` lines from Redis to SQL; call inside an app context."""
    lines = client.lpop("bot:convlog", batch)
    if not lines:
        return 0
    items = _parse(cast(list[str], lines))
    try:
        with _writing():
            written = store(items)
            db.session.commit()
    except Exception:
        db.session.rollback()
        # Put them back so the next flush tries again; the log is not worth losing.
        client.rpush("bot:convlog", *cast(list[str], lines))
        raise
    finally:
        db.session.remove()
    return written


@contextmanager
def _writing() -> Iterator[None]:
    """A transaction that reads, then writes: on SQLite it takes the write lock at BEGIN.
    Two processes upgrading a read lock at once fail at once with "database is locked";
    BEGIN IMMEDIATE makes the second wait its turn (busy_timeout)."""
    token = sqlite_immediate.set(True)
    try:
        yield
    finally:
        sqlite_immediate.reset(token)


def _parse(lines: Iterable[str]) -> list[dict[str, Any]]:
    items = []
    for line in lines:
        try:
            data = json.loads(line)
            to_values(data)  # refuse what could not be stored
            items.append(data)
        except (ValueError, TypeError, AttributeError):
            log.warning("dropping an unreadable conversation-log line")
    return items


def write_notes(notes: list[dict[str, Any]]) -> None:
    """Records handlers noted for later (``Turn.note``), grouped by kind."""
    from bot.kb.entries import record_unanswered

    record_unanswered(db.session, (n for n in notes if n.get("kind") == "unanswered"))


def write_now(data: dict[str, Any]) -> None:
    """Direct write, for when Redis is down (degraded mode)."""
    try:
        with _writing():
            store([data])
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("conversation log write failed")


class RecentLines:
    """The log lines this process handed to Redis in the last ``seconds`` (at most
    ``limit``), kept to be written directly if Redis turns out to have lost them."""

    def __init__(self, seconds: float = 60.0, limit: int = 20000) -> None:
        self.seconds = seconds
        self._lines: deque[tuple[float, str]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, line: str) -> None:
        # On every turn: one append; old lines are trimmed when the lines are taken.
        self._lines.append((time.monotonic(), line))

    def take(self) -> list[str]:
        """The lines still within the window, and forget them all."""
        cutoff = time.monotonic() - self.seconds
        with self._lock:
            lines = [line for at, line in self._lines if at >= cutoff]
            self._lines.clear()
        return lines

    def save(self) -> int:
        """Write the kept lines to SQL (inside an app context); answer how many were new."""
        lines = self.take()
        if not lines:
            return 0
        try:
            with _writing():
                written = store(_parse(lines))
                db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("could not save %d kept conversation-log lines", len(lines))
            return 0
        finally:
            db.session.remove()
        if written:
            log.warning("saved %d conversation-log lines that Redis lost", written)
        return written


class Flusher:
    """A daemon thread draining the log, started lazily after gunicorn forks.

    Job workers (``flask worker``) drain it every second. Web processes run it as a
    backstop only: they drain when the list has grown past ``CONVLOG_BACKSTOP`` lines,
    which happens only when no worker is running, so request CPU goes to members.
    """

    def __init__(self, backstop: bool = False) -> None:
        self.backstop = backstop
        self.recent = RecentLines()
        self._redis_run: str | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def ensure_started(self, app: Flask) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            thread = threading.Thread(target=self._run, args=(app,), daemon=True, name="convlog")
            thread.start()

    def _run(self, app: Flask) -> None:
        interval = float(app.config["CONVLOG_FLUSH_SECONDS"])
        batch = int(app.config["CONVLOG_BATCH"])
        threshold = int(app.config["CONVLOG_BACKSTOP"]) if self.backstop else 0
        try:
            # The log can wait; replies cannot. On Linux a thread has its own nice value.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        if self.backstop:
            interval *= 5
        while not self._stop.wait(interval):
            try:
                client = app.extensions["redis"]
                if self.backstop and self._redis_lost(client):
                    with app.app_context():
                        self.recent.save()
                if threshold and client.llen("bot:convlog") < threshold:
                    continue
                with app.app_context():
                    while flush(app.extensions["redis"], batch) >= batch:
                        pass
            except Exception as exc:
                log.warning("conversation log flush failed (%s); will retry", exc)

    def _redis_lost(self, client: redis.Redis) -> bool:
        """Whether Redis is unreachable or has restarted (and so lost its list) since the
        last look."""
        try:
            run_id = str(client.info("server").get("run_id", ""))
        except redis.RedisError:
            return True
        restarted = self._redis_run is not None and run_id != self._redis_run
        self._redis_run = run_id
        return restarted
