"""`flask export appeals` (CONTRACT.md's fields plus issue 13's) and `flask export departments`,
and the staff chore that closes unrated appeals and owes the reminders."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from bot.extensions import db
from bot.models import Case, Outbox
from bot.services.cases import appeals, engine, rows
from tests.services.appeal_fixtures import *  # noqa: F403 (the appeal fixtures)

DAY = date(2026, 12, 1)


def appeal(category, openid, confidential=False):
    case = engine.open_case(
        db.session, appeals.KIND, openid=openid, today=DAY, category=category, title="问题",
        data={"category": category, "urgency": "紧急", "answer_due": "2026-12-02",
              "company": "示范市青禾科技有限公司", "confidential": confidential},
    )  # fmt: skip
    db.session.commit()
    return case


def test_export_appeals_has_the_contract_fields_and_issue_13s(runner, depts):
    case = appeal("融资", "o-1", confidential=True)
    engine.act(db.session, case, "acknowledge", depts.officer, today=DAY)
    engine.act(db.session, case, "answer", depts.officer, "已协调", today=date(2026, 12, 2))
    appeals.feedback(db.session, case, solved="未解决", rating="不满意", comment="", today=DAY)
    db.session.commit()
    out = runner.invoke(args=["export", "appeals"])
    assert out.exit_code == 0, out.output
    (row,) = [json.loads(line) for line in out.output.splitlines()]
    assert list(row) == list(rows.APPEAL_FIELDS)
    assert row["ticket_no"] == case.number and row["openid"] == "o-1"  # operators see all
    assert (row["category"], row["department"], row["status"]) == (
        "融资", "示范市工商联经济服务部", "办理中",
    )  # fmt: skip
    assert (row["urgency"], row["answered_at"], row["solved"], row["rating"], row["reopened"]) == (
        "紧急", "2026-12-02", "未解决", "不满意", 1,
    )  # fmt: skip
    assert row["acknowledged_at"] and row["created_at"] and row["due_at"]
    table = list(
        csv.DictReader(
            io.StringIO(runner.invoke(args=["export", "appeals", "--format", "csv"]).output)
        )
    )
    assert table[0]["ticket_no"] == case.number and table[0]["reopened"] == "1"


def test_export_departments_as_json(runner, depts):
    out = runner.invoke(args=["export", "departments", "--format", "json"])
    listed = [json.loads(line) for line in out.output.splitlines()]
    assert [(d["id"], d["name"], d["categories"]) for d in listed] == [
        (depts.economic.id, "示范市工商联经济服务部", ["融资", "税费"]),
        (depts.land.id, "示范市投资促进局", ["用地", "人才"]),
        (depts.rights.id, "示范市工商联法律维权部", ["法律权益", "其他"]),
    ]


def test_the_staff_chore_closes_unrated_appeals_and_reminds(app, depts, sandbox_calls):
    from bot.jobs.staff import staff_chores
    from bot.services.clock import local_now

    today = local_now(app.config).date()
    case = appeal("融资", "o-2")
    engine.act(db.session, case, "acknowledge", depts.officer, today=DAY)
    engine.act(db.session, case, "answer", depts.officer, "已办理", today=DAY)
    case.due_at = today.replace(year=today.year - 1)  # the 回访 window long past
    db.session.commit()
    app.config["STAFF_REMINDER_HOUR"] = 0
    staff_chores()
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "已办结"
    assert Outbox.query.filter(Outbox.template.like("%appeal/close%")).count() == 1
    staff_chores()  # again: nothing more
    assert Outbox.query.filter(Outbox.template.like("%appeal/close%")).count() == 1
