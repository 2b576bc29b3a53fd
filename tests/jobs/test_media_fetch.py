"""The attachment job against the WeChat API sandbox: stored, refused, expired, retried."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue

from bot.extensions import db
from bot.jobs.media import FetchLater, fetch_attachments
from bot.models import Attachment, utcnow
from bot.services.submissions import FETCH_AFTER_COMMIT


@pytest.fixture
def app_config(app_config: dict, tmp_path: Path) -> dict:
    return {**app_config, "ATTACHMENTS_FOLDER": str(tmp_path / "files")}


def attachment(media_id: str, media_type: str = "image", age: timedelta = timedelta()) -> int:
    row = Attachment(
        owner_kind="mediation_apply",
        owner_id="TJ20261201-0001",
        openid="o-member-1",
        media_id=media_id,
        media_type=media_type,
        received_at=utcnow() - age,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def test_a_video_is_downloaded_from_the_link_wechat_answers_with(app, sandbox_calls):
    row_id = attachment("video-site-visit", "video")
    assert fetch_attachments([row_id]) == {"stored": 1}
    row = db.session.get(Attachment, row_id)
    assert (row.status, row.content_type) == ("stored", "video/mp4")
    path = Path(app.config["ATTACHMENTS_FOLDER"]) / row.stored_path
    assert path.read_bytes().startswith(b"\x00\x00\x00\x18ftyp")
    assert row.stored_path.startswith("mediation_apply/TJ20261201-0001/")


def test_an_id_wechat_no_longer_knows_is_recorded_as_failed(app, sandbox_calls):
    row_id = attachment("expired-contract-scan")
    assert fetch_attachments([row_id]) == {"failed": 1}
    row = db.session.get(Attachment, row_id)
    assert row.status == "failed" and "40007" in row.error and row.stored_path is None


def test_past_three_days_it_is_not_even_asked_for(app, sandbox_calls):
    row_id = attachment("img-old", age=timedelta(days=3, hours=1))
    assert fetch_attachments([row_id]) == {"expired": 1}
    assert db.session.get(Attachment, row_id).status == "expired"
    assert sandbox_calls.list("media/get") == []


def test_a_busy_wechat_is_tried_again(app, sandbox_calls):
    row_id = attachment("img-busy")
    sandbox_calls.fault("media/get", errcode=-1)  # "system busy"
    with pytest.raises(FetchLater):
        fetch_attachments([row_id])
    row = db.session.get(Attachment, row_id)
    assert (row.status, row.attempts) == ("pending", 1) and row.error
    assert fetch_attachments([row_id]) == {"stored": 1}  # RQ's retry
    assert fetch_attachments([row_id]) == {}  # stored ones are skipped
    assert db.session.get(Attachment, row_id).attempts == 2


def test_the_fetch_is_queued_only_once_the_records_commit(app):
    queue: Queue = app.extensions["rq"]
    db.session.add(
        Attachment(owner_kind="x", owner_id="1", openid="o", media_id="m", media_type="image")
    )
    db.session.flush()
    db.session.info[FETCH_AFTER_COMMIT] = [41]
    db.session.rollback()  # the turn failed: its attachments were never recorded
    assert queue.count == 0 and FETCH_AFTER_COMMIT not in db.session.info
    row_id = attachment("img-committed")  # commits
    assert queue.count == 0  # nothing was waiting for this commit
    db.session.info[FETCH_AFTER_COMMIT] = [row_id]
    db.session.commit()
    (job,) = queue.jobs
    assert job.func_name == "bot.jobs.media.fetch_attachments" and job.args == ([row_id],)
