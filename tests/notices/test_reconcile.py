"""WeChat's job reports (pushed by the sandbox to the live webhook) matched to notices."""

from __future__ import annotations

import time

from sqlalchemy import select

from bot.extensions import db
from bot.models import Delivery, Notice
from tests.conftest import TOKEN
from tests.notices.helpers import (
    create_and_send,
    invoke,
    platform,
    run_send,
    sandbox_followers,
)


def wait_until(predicate, timeout: float = 15.0):
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        db.session.rollback()
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_template_job_reports_are_matched_to_the_deliveries(
    app, runner, live_server, sandbox, sandbox_calls
):
    platform(sandbox, webhook={"url": live_server + "/wechat", "token": TOKEN}, event_delay=0.1)
    invoke(runner, "demo", "followers", "3")
    notice_id = create_and_send(runner)
    run_send(notice_id)
    from bot.jobs import notices as jobs

    def confirmed() -> bool:
        jobs.sweep()
        rows = db.session.execute(select(Delivery).where(Delivery.notice_id == notice_id))
        return all(r.confirmed == "success" for r in rows.scalars())

    assert wait_until(confirmed)
    report = invoke(runner, "notices", "status", str(notice_id))
    assert report["ours"]["sent"] == 3 and report["theirs"]["confirmed"] == {"success": 3}


def test_mass_job_report_and_status_poll_reach_the_notice(
    app, runner, live_server, sandbox, sandbox_calls
):
    platform(sandbox, webhook={"url": live_server + "/wechat", "token": TOKEN}, event_delay=0.5)
    invoke(runner, "demo", "followers", "3")
    sandbox_followers(sandbox, "o-demo-000001", "o-demo-000002", "o-demo-000003")
    notice_id = create_and_send(runner, channel="mass")
    from bot.jobs import notices as jobs

    jobs.send_mass(notice_id)
    jobs.sweep()  # before the event: the status API says the job still runs
    db.session.expire_all()
    assert db.session.get(Notice, notice_id).status == "sending"

    def reported() -> Notice | None:
        jobs.sweep()
        row = db.session.get(Notice, notice_id)
        return row if row.mass_counts else None

    row = wait_until(reported)
    assert row.mass_counts["total"] == 3 and row.mass_counts["sent"] == 3
    assert row.mass_counts["filter"] == 3 and row.mass_counts["error"] == 0
    assert row.mass_status == "send success"
    assert wait_until(lambda: db.session.get(Notice, notice_id).status == "sent")
