"""Attachments: each fetched from WeChat's media API right after its form is submitted.

A member's image, voice message, video or file reaches us as a temporary media id that
WeChat keeps for three days. The form engine records the attachments as ``pending`` rows in
the submission's transaction (``bot.services.submissions``); when that transaction commits,
:func:`_after_commit` queues :func:`fetch_attachments` for a worker, which downloads each one
(``GET cgi-bin/media/get``; a video answers with a ``video_url`` to download from), stores
the file under the attachments folder (``ATTACHMENTS_FOLDER``, else ``instance/attachments``)
and marks the row ``stored``. An id WeChat no longer knows (40007) or one older than three
days is marked ``failed`` / ``expired`` with the reason; a busy or unreachable WeChat is
retried by RQ (the row keeps the last error and the number of attempts).
"""

from __future__ import annotations

import logging
import mimetypes
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
import requests
from flask import current_app, has_app_context
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from wechatpy.exceptions import WeChatClientException

from bot.extensions import db
from bot.models import Attachment, utcnow
from bot.services.submissions import FETCH_AFTER_COMMIT
from bot.wechat.api import ApiBackoff, BotWeChatClient

log = logging.getLogger(__name__)

# WeChat keeps temporary media three days after the member sent it.
MEDIA_LIFETIME = timedelta(days=3)
# errcodes that will not get better by asking again: the id is unknown or has expired.
PERMANENT_ERRCODES = frozenset({40007, 40005, 40006})
MAX_BYTES = 20 * 1024 * 1024  # WeChat's own limits are 10 MB for video, less for the rest
MAX_ATTEMPTS = 8
_EXTENSIONS = {"audio/amr": ".amr", "audio/speex": ".speex", "image/jpeg": ".jpg"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FetchLater(Exception):
    """Some attachments could not be fetched this time (WeChat busy or unreachable)."""


def listen() -> None:
    """Queue the fetch of attachments once the transaction that recorded them commits.

    A session event rather than a call from the form engine: the dialogue layer does not
    import the job queue, and an enqueue before the commit would let a worker look for rows
    that are not there yet. Registered once per process (it is a class-level listener).
    """
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    ids = session.info.pop(FETCH_AFTER_COMMIT, None)
    if not ids or not has_app_context():
        return
    try:
        enqueue_fetch(list(ids))
    except redis.RedisError as exc:  # the sweep finds them; the member's reply must not fail
        log.warning("could not queue the fetch of attachments %s: %s", ids, exc)


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    # A savepoint's rollback keeps them: the job skips rows that are not there.
    if not previous.nested:
        session.info.pop(FETCH_AFTER_COMMIT, None)


def enqueue_fetch(ids: list[int]) -> None:
    queue: Queue = current_app.extensions["rq"]
    queue.enqueue(
        "bot.jobs.media.fetch_attachments", ids, retry=Retry(max=3, interval=[10, 60, 300])
    )


def _wechat_api() -> Any:
    # As bot.jobs.queue builds it (that module registers this one's listener, so this one
    # does not import it back).
    cfg = current_app.config
    return BotWeChatClient(
        cfg["WECHAT_APP_ID"],
        cfg["WECHAT_APP_SECRET"],
        base=cfg["WECHAT_API_BASE"],
        client=current_app.extensions["redis"],
    )


def fetch_attachments(ids: list[int]) -> dict[str, int]:
    """Fetch and store each pending attachment of ``ids``; counts by outcome.

    Raises :class:`FetchLater` (RQ retries the job) when WeChat was busy or unreachable
    for some; those already stored are skipped on the retry.
    """
    counts: dict[str, int] = {}
    client = _wechat_api()
    for attachment_id in ids:
        row = db.session.get(Attachment, attachment_id)
        if row is None or row.status != "pending":
            continue
        outcome = _fetch_one(client, row)
        counts[outcome] = counts.get(outcome, 0) + 1
        db.session.commit()
    log.info("attachments fetched: %s", counts)
    if counts.get("retry"):
        raise FetchLater(f"{counts['retry']} attachment(s) to fetch again")
    return counts


def _fetch_one(client: Any, row: Attachment) -> str:
    """One attachment: stored, failed, expired, or retry (the row says why)."""
    if utcnow() - row.received_at > MEDIA_LIFETIME:
        row.status, row.error = "expired", "more than three days after it was sent"
        return "expired"
    row.attempts += 1
    try:
        answer = client.media.download(row.media_id)
        if isinstance(answer, dict):  # a video: WeChat answers with where to download it
            url = str(answer.get("video_url") or "")
            if not url:
                row.status, row.error = "failed", f"unexpected answer: {sorted(answer)}"[:300]
                return "failed"
            answer = client._http.get(url, timeout=10)  # through the client's routing
            answer.raise_for_status()
    except WeChatClientException as exc:
        row.error = f"errcode {exc.errcode}: {exc.errmsg}"[:300]
        if exc.errcode in PERMANENT_ERRCODES:
            row.status = "failed"
            return "failed"
        return _later(row)
    except (ApiBackoff, requests.RequestException, OSError) as exc:  # busy, quota, network
        row.error = f"{type(exc).__name__}: {exc}"[:300]
        return _later(row)
    data: bytes = answer.content
    if len(data) > MAX_BYTES:
        row.status, row.error = "failed", f"too large: {len(data)} bytes"
        return "failed"
    content_type = str(answer.headers.get("Content-Type", "")).split(";")[0].strip()
    relative = _store(row, data, content_type, answer.headers.get("Content-disposition", ""))
    row.status, row.error = "stored", ""
    row.content_type, row.size, row.stored_path = content_type[:100], len(data), relative
    row.fetched_at = utcnow()
    return "stored"


def _later(row: Attachment) -> str:
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        return "failed"
    return "retry"


def attachments_folder() -> Path:
    configured = current_app.config.get("ATTACHMENTS_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def _store(row: Attachment, data: bytes, content_type: str, disposition: str) -> str:
    """Write the file (atomically) and return its path relative to the folder."""
    named = re.search(r'filename="?([^";]+)"?', disposition or "")
    suffix = (
        (Path(named.group(1)).suffix if named else "")
        or _EXTENSIONS.get(content_type)
        or mimetypes.guess_extension(content_type)
        or ".bin"
    )
    relative = Path(_UNSAFE.sub("_", row.owner_kind)) / _UNSAFE.sub("_", row.owner_id)
    name = f"{row.id}-{_UNSAFE.sub('_', row.media_id)[:60]}{_UNSAFE.sub('', suffix)}"
    target = attachments_folder() / relative / name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.replace(target)  # a reader never sees half a file
    return str(relative / name)
