"""Sending a notice against the sandbox: exactly once per recipient, the platform's error
codes, time-outs retried only under the channel's de-duplication key."""

from __future__ import annotations

from sqlalchemy import select

from bot.extensions import db
from bot.models import AuditLog, Delivery, Follower, Notice
from tests.notices.helpers import (
    create_and_send,
    invoke,
    platform,
    received,
    run_send,
    sandbox_followers,
)


def statuses(notice_id: int) -> dict[str, str]:
    rows = db.session.execute(select(Delivery).where(Delivery.notice_id == notice_id))
    return {r.openid: r.status for r in rows.scalars()}


def test_template_notice_reaches_each_subscribed_follower_once(app, runner, sandbox, sandbox_calls):
    app.config["NOTICE_TEMPLATE_ID"] = "tpl-notice"
    invoke(runner, "demo", "followers", "30")
    gone = db.session.execute(select(Follower).where(Follower.openid == "o-demo-000007")).scalar()
    gone.subscribed = False
    db.session.commit()

    notice_id = create_and_send(runner)
    row = run_send(notice_id)

    assert row.status == "sent"
    got = received(sandbox, "template")
    assert got["recipients"] == 29 and got["messages"] == 29 and got["duplicates"] == 0
    assert received(sandbox, "template", "o-demo-000007")["for_openid"] == 0
    body = sandbox_calls.list("message/template/send")[0]["body"]
    assert body["client_msg_id"].startswith(f"notice-{notice_id}-")
    assert set(body["data"]) == {"thing1", "thing2", "time3"}
    assert body["url"].endswith(f"/notices/{notice_id}")
    exported = runner.invoke(args=["export", "deliveries", "--notice", str(notice_id)])
    lines = [line for line in exported.output.splitlines() if line.strip()]
    assert len(lines) == 29
    first = __import__("json").loads(lines[0])
    assert {"openid", "status", "attempts", "sent_at"} <= set(first)
    assert first["status"] == "sent" and first["attempts"] == 1
    actions = [a.action for a in db.session.execute(select(AuditLog)).scalars()]
    assert {"notice.create", "notice.submit", "notice.send"} <= set(actions)


def test_platform_errors_skip_recipients_with_reasons(app, runner, sandbox, sandbox_calls):
    invoke(runner, "demo", "followers", "6")
    platform(sandbox, unsubscribed=["o-demo-000001"], blocked=["o-demo-000002"])
    notice_id = create_and_send(runner)
    run_send(notice_id)
    rows = {r.openid: r for r in db.session.execute(select(Delivery)).scalars()}
    assert (rows["o-demo-000001"].status, rows["o-demo-000001"].error) == (
        "skipped",
        "unsubscribed",
    )
    assert (rows["o-demo-000002"].status, rows["o-demo-000002"].error) == ("skipped", "blocked")
    assert sum(r.status == "sent" for r in rows.values()) == 4


def test_busy_platform_pauses_and_resumes(app, runner, sandbox, sandbox_calls):
    invoke(runner, "demo", "followers", "4")
    app.config["NOTICE_SEND_THREADS"] = 1
    sandbox_calls.fault("message/template/send", -1, times=1)
    notice_id = create_and_send(runner)
    row = run_send(notice_id)
    # -1: the batch was given back untried, the send paused (2 s) and then resumed.
    assert row.status == "sent"
    assert row.pause_reason and row.pause_reason.startswith("-1")
    calls = sandbox_calls.list("message/template/send")
    assert [c["errcode"] for c in calls] == [-1, 0, 0, 0, 0]
    assert calls[1]["time"] - calls[0]["time"] >= 1.5
    assert received(sandbox, "template")["messages"] == 4
    assert set(statuses(notice_id).values()) == {"sent"}


def test_daily_quota_ends_the_chain_and_the_sweep_resumes_after_it(
    app, runner, sandbox, sandbox_calls
):
    invoke(runner, "demo", "followers", "2")
    app.config["NOTICE_SEND_THREADS"] = 1
    sandbox_calls.fault("message/template/send", 45009, times=1)
    notice_id = create_and_send(runner)
    from bot.jobs import notices as jobs

    jobs.drive(notice_id)
    db.session.expire_all()
    row = db.session.get(Notice, notice_id)
    assert row.status == "sending" and row.pause_reason.startswith("45009")
    # Given back untried: no attempt counted, and the client_msg_id's 10 minutes not started
    # (the quota comes back the next day, long after them).
    rows = db.session.execute(select(Delivery).where(Delivery.notice_id == notice_id)).scalars()
    assert [(r.status, r.attempts, r.first_tried_at) for r in rows] == [("pending", 0, None)] * 2
    assert jobs.sweep() == 0  # still paused: nothing restarted
    row.paused_until = row.paused_until.replace(year=2000)  # the quota is back
    db.session.commit()
    app.extensions["redis"].delete(jobs.BEAT_KEY.format(notice_id))
    assert jobs.sweep() == 1
    assert run_send(notice_id).status == "sent"
    assert received(sandbox, "template")["messages"] == 2


def test_token_refused_once_is_refreshed(app, runner, sandbox, sandbox_calls):
    invoke(runner, "demo", "followers", "3")
    app.config["NOTICE_SEND_THREADS"] = 1
    sandbox_calls.fault("message/template/send", 40001, times=1)
    notice_id = create_and_send(runner)
    assert run_send(notice_id).status == "sent"
    assert set(statuses(notice_id).values()) == {"sent"}
    assert received(sandbox, "template")["messages"] == 3


def test_template_time_out_after_sending_is_retried_under_its_key(
    app, runner, sandbox, sandbox_calls
):
    invoke(runner, "demo", "followers", "3")
    app.config.update(NOTICE_SEND_THREADS=1, NOTICE_REQUEST_TIMEOUT=0.5)
    sandbox_calls.fault("message/template/send", times=1, delay=1.5, processed=True)
    notice_id = create_and_send(runner)
    assert run_send(notice_id).status == "sent"
    calls = sandbox_calls.list("message/template/send")
    keys = [c["body"]["client_msg_id"] for c in calls]
    assert len(calls) == 4 and len(set(keys)) == 3  # one resent, under the same key
    got = received(sandbox, "template")
    assert got["messages"] == 3 and got["duplicates"] == 0 and got["deduplicated"] == 1
    assert set(statuses(notice_id).values()) == {"sent"}


def test_custom_time_out_is_unknown_and_never_resent(app, runner, sandbox, sandbox_calls):
    invoke(runner, "demo", "followers", "3")
    app.config.update(NOTICE_SEND_THREADS=1, NOTICE_REQUEST_TIMEOUT=0.5)
    sandbox_calls.fault("message/custom/send", times=1, delay=1.5, processed=True)
    notice_id = create_and_send(runner, channel="custom")
    assert run_send(notice_id).status == "sent"
    assert len(sandbox_calls.list("message/custom/send")) == 3
    found = sorted(statuses(notice_id).values())
    assert found == ["sent", "sent", "unknown"]
    retried = invoke(runner, "notices", "status", str(notice_id))
    assert retried["ours"]["unknown"] == 1


def test_custom_channel_only_reaches_the_active_window(app, runner, sandbox, sandbox_calls):
    invoke(runner, "demo", "followers", "3")
    platform(sandbox, out_of_window=["o-demo-000003"])
    notice_id = create_and_send(runner, channel="custom")
    run_send(notice_id)
    found = statuses(notice_id)
    assert found["o-demo-000003"] == "skipped"
    assert [found["o-demo-000001"], found["o-demo-000002"]] == ["sent", "sent"]


def test_mass_send_uses_the_notice_clientmsgid_and_45065_is_success(
    app, runner, sandbox, sandbox_calls
):
    invoke(runner, "demo", "followers", "3")
    sandbox_followers(sandbox, "o-demo-000001", "o-demo-000002")
    notice_id = create_and_send(runner, channel="mass")
    from bot.jobs import notices as jobs

    assert jobs.send_mass(notice_id) == "submitted"
    row = db.session.get(Notice, notice_id)
    first = row.mass_msg_id
    body = sandbox_calls.list("message/mass/sendall")[0]["body"]
    assert body["clientmsgid"] == f"notice-{notice_id}"
    # A retry after a crash: the same clientmsgid answers 45065 with the earlier job.
    row.mass_msg_id = None
    db.session.commit()
    assert jobs.send_mass(notice_id) == "submitted"
    db.session.expire_all()
    assert db.session.get(Notice, notice_id).mass_msg_id == first
    assert sandbox_calls.list("message/mass/sendall")[-1]["errcode"] == 45065
    got = received(sandbox, "mass")
    assert got["recipients"] == 2 and got["duplicates"] == 0
    jobs.sweep()  # polls message/mass/get
    db.session.expire_all()
    row = db.session.get(Notice, notice_id)
    assert row.status == "sent" and row.mass_status == "SEND_SUCCESS"


def test_a_subscription_accounts_second_mass_send_a_day_is_paused_with_45028(
    app, runner, sandbox, sandbox_calls
):
    platform(sandbox, account_type="subscription")
    invoke(runner, "demo", "followers", "2")
    sandbox_followers(sandbox, "o-demo-000001", "o-demo-000002")
    from bot.jobs import notices as jobs

    first = create_and_send(runner, channel="mass", title="第一条")
    assert jobs.send_mass(first) == "submitted"
    args = ["notices", "create", "--title", "第二条", "--body", "b", "--channel", "mass"]
    second = int(invoke(runner, *args)["id"])
    invoke(runner, "notices", "send", str(second), "--approve-as", "bo")
    assert jobs.send_mass(second) == "paused"
    db.session.expire_all()
    row = db.session.get(Notice, second)
    assert row.pause_reason == "errcode 45028" and row.mass_msg_id is None
    assert received(sandbox, "mass")["messages"] == 2  # the first one only


def test_without_a_template_setting_the_sandbox_template_is_used_outside_production(
    app, runner, sandbox, sandbox_calls
):
    app.config["NOTICE_TEMPLATE_ID"] = ""
    invoke(runner, "demo", "followers", "2")
    notice_id = create_and_send(runner)
    assert run_send(notice_id).status == "sent"
    ids = {c["body"]["template_id"] for c in sandbox_calls.list("message/template/send")}
    assert ids == {"sandbox-notice-template"}
    app.config["ENV"] = "production"
    args = ["notices", "create", "--title", "二", "--body", "b"]
    second = invoke(runner, *args)["id"]
    refused = runner.invoke(args=["notices", "send", str(second), "--approve-as", "bo"])
    assert refused.exit_code != 0 and "NOTICE_TEMPLATE_ID" in refused.output
