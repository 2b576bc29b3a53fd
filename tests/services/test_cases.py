"""The case engine with mediation declared on it: routing, the transition table, history,
clocks, scope, and what is owed to the member (the outbox; sending is test_case_outbox)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.extensions import db
from bot.models import CalendarYear, CaseEvent, Outbox
from bot.services import calendar
from bot.services.cases import engine, mediation, scope
from bot.services.cases.clocks import note_overdue, overdue_clause
from tests.factories import AdminUserFactory, CaseFactory
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)

TODAY = date(2026, 12, 1)  # a Tuesday


def intake(org, *, category="合同", chamber=None, openid="o-member", **data):
    return engine.open_case(
        db.session,
        mediation.KIND,
        openid=openid,
        today=TODAY,
        data={"other_party": "示范市华兴五金有限公司", **data},
        category=category,
        title="示范市华兴五金有限公司",
        amount=200000,
        chamber_id=chamber.id if chamber is not None else None,
    )


@pytest.mark.parametrize(
    ("chamber", "category", "committee", "rule"),
    [
        ("zhejiang", "合同", "chamber_committee", "chamber+type"),
        ("zhejiang", "劳动用工", "labour_committee", "type"),  # the chamber's does not take it
        ("zhejiang", "租赁", "chamber_committee", "chamber"),  # nobody takes 租赁
        ("building", "租赁", "default_committee", "default"),  # no committee of its own
        (None, "金融", "default_committee", "default"),  # not a member
    ],
)
def test_routing_by_each_rule_and_the_default(org, chamber, category, committee, rule):
    case = intake(org, category=category, chamber=getattr(org, chamber) if chamber else None)
    assert case.committee_id == getattr(org, committee).id
    assert case.route_rule == rule
    submitted = case.events[0]
    assert (submitted.action, submitted.data["route_rule"]) == ("submit", rule)


def test_a_new_case_is_numbered_coded_and_on_its_clock(org):
    first, second = intake(org, chamber=org.zhejiang), intake(org, chamber=org.zhejiang)
    assert (first.number, second.number) == ("TJ20261201-0001", "TJ20261201-0002")
    assert len(first.query_code) == 6 and first.query_code.isdigit()
    assert first.status == "待受理" and first.amount == 200000
    # 3 working days from Tuesday 1 December: Friday 4 December.
    assert first.due_at == date(2026, 12, 4)


def test_the_table_decides_who_may_do_what(org):
    case = intake(org, chamber=org.zhejiang)
    with pytest.raises(engine.CaseRefused) as refused:
        engine.set_status(db.session, case, "调解成功", org.mediator, today=TODAY)
    assert refused.value.reason == "no_transition"
    with pytest.raises(engine.CaseRefused) as refused:
        engine.set_status(db.session, case, "不予受理", org.mediator, today=TODAY)
    assert refused.value.reason == "note_required"  # a rejection needs its reason
    editor = AdminUserFactory(role="admin")
    editor.role = "editor"
    with pytest.raises(engine.CaseNotFound):
        engine.set_status(db.session, case, "已受理", editor, today=TODAY)
    with pytest.raises(engine.CaseRefused) as refused:
        engine.set_status(db.session, case, "结束", org.mediator, today=TODAY)
    assert refused.value.reason == "unknown_status"
    assert [e.action for e in case.events] == ["submit"]  # nothing refused left a trace


def test_a_mediator_acts_only_on_their_committees_cases(org):
    case = intake(org, chamber=org.zhejiang)
    with pytest.raises(engine.CaseNotFound):
        engine.set_status(db.session, case, "已受理", org.other_mediator, today=TODAY)
    with pytest.raises(engine.CaseNotFound):
        engine.visible_case(db.session, case.number, org.other_mediator)
    with pytest.raises(engine.CaseNotFound):
        engine.visible_case(db.session, "TJ20261201-0999", org.other_mediator)
    assert engine.allowed_actions(case, org.other_mediator) == []
    mine = db.session.execute(scope.visible(org.mediator)).scalars().all()
    theirs = db.session.execute(scope.visible(org.other_mediator)).scalars().all()
    assert [c.number for c in mine] == [case.number] and theirs == []
    assert len(db.session.execute(scope.visible(org.admin)).scalars().all()) == 1


def test_the_whole_way_to_a_settlement_keeps_every_step(org):
    case = intake(org, chamber=org.zhejiang)
    engine.set_status(db.session, case, "已受理", org.mediator, "已电话联系双方", today=TODAY)
    assert case.user_id == org.mediator.id and case.accepted_at is not None
    assert case.due_at == date(2027, 1, 1)  # one month after acceptance
    engine.act(
        db.session, case, "schedule", org.mediator, today=TODAY,
        data={"when": "2026-12-08T14:30", "place": "市民中心 5 楼调解室"},
    )  # fmt: skip
    assert case.status == "调解中" and case.data["sessions"][0]["place"] == "市民中心 5 楼调解室"
    engine.act(db.session, case, "extend", org.mediator, "双方电话同意延期", today=TODAY)
    assert case.due_at == date(2027, 2, 1) and case.extensions == 1
    with pytest.raises(engine.CaseRefused) as refused:
        engine.act(db.session, case, "extend", org.mediator, "再延一次", today=TODAY)
    assert refused.value.reason == "extension_used"  # once only
    engine.act(db.session, case, "note", org.mediator, "对方要求分期付款", today=TODAY)
    engine.set_status(
        db.session, case, "调解成功", org.mediator, today=TODAY + timedelta(days=9),
        data={"agreement": "对方分三期付清货款20万元", "obligations": "每月10日前付款"},
    )  # fmt: skip
    agreement = case.data["agreement"]
    assert (agreement["effective_on"], agreement["confirm_by"]) == ("2026-12-10", "2027-01-09")
    assert case.outcome == "success" and case.settled_at is not None
    engine.act(
        db.session,
        case,
        "followup",
        org.mediator,
        today=TODAY,
        data={"performed": "按期履行第一期"},
    )
    engine.set_status(db.session, case, "已结案", org.mediator, today=TODAY)
    assert case.closed_at is not None and case.outcome == "success"
    history = [(e.action, e.from_status, e.to_status, e.visibility) for e in case.events]
    assert history == [
        ("submit", "", "待受理", "member"),
        ("accept", "待受理", "已受理", "member"),
        ("schedule", "已受理", "调解中", "member"),
        ("extend", "调解中", "调解中", "member"),
        ("note", "调解中", "调解中", "internal"),
        ("settle", "调解中", "调解成功", "member"),
        ("followup", "调解成功", "调解成功", "internal"),
        ("close", "调解成功", "已结案", "member"),
    ]
    assert all(e.actor == "med-zj" for e in case.events[1:])
    owed = db.session.query(Outbox).filter_by(case_id=case.id).order_by(Outbox.id).all()
    assert [o.template.rsplit("/", 1)[1] for o in owed] == [
        "accept.txt", "schedule.txt", "extend.txt", "settle.txt", "close.txt",
    ]  # fmt: skip
    assert all(o.openid == "o-member" and o.status == "pending" for o in owed)


@pytest.mark.parametrize(
    ("path", "outcome"),
    [(["已受理", "调解未成功"], "failure"), (["已受理", "对方不同意调解"], "failure")],
)
def test_failures_end_it(org, path, outcome):
    case = intake(org, chamber=org.zhejiang)
    for status in path:
        engine.set_status(db.session, case, status, org.mediator, today=TODAY)
    assert case.outcome == outcome
    assert (case.closed_at is not None) == (path[-1] == "对方不同意调解")


def test_a_transfer_moves_the_case_out_of_the_mediators_sight(org):
    case = intake(org, chamber=org.zhejiang)
    engine.act(
        db.session, case, "transfer", org.mediator, "涉及劳动争议", today=TODAY,
        data={"committee_id": org.labour_committee.id},
    )  # fmt: skip
    assert case.committee_id == org.labour_committee.id and case.route_rule == "transfer"
    assert case.events[-1].data["from_committee"] == org.chamber_committee.id
    assert not scope.may_see(case, org.mediator) and scope.may_see(case, org.labour_mediator)


def test_an_uncovered_year_is_never_guessed(org):
    db.session.query(CalendarYear).filter_by(year=2027).delete()
    late = engine.open_case(
        db.session, mediation.KIND, openid="o-late", today=date(2026, 12, 30), data={},
        category="合同", chamber_id=org.zhejiang.id,
    )  # fmt: skip
    # The intake is kept (the member is told "within 3 working days"); staff see why.
    assert late.due_at is None and late.events[0].data["calendar_gap"] == "2027-01-01"
    with pytest.raises(calendar.CalendarGap):
        calendar.add_workdays(db.session, date(2026, 12, 30), 3)


def test_overdue_is_noted_once_per_deadline(org):
    case = CaseFactory(committee=org.chamber_committee, due_at=date(2026, 12, 4))
    CaseFactory(committee=org.chamber_committee, due_at=date(2026, 12, 4), status="已结案")
    later = date(2026, 12, 7)
    overdue = db.session.execute(db.select(type(case)).where(overdue_clause(later))).scalars().all()
    assert [c.id for c in overdue] == [case.id]  # a closed case is never overdue
    assert note_overdue(db.session, later) == 1
    assert note_overdue(db.session, later) == 0
    noted = db.session.query(CaseEvent).filter_by(case_id=case.id, action="overdue").one()
    assert noted.visibility == "internal" and noted.data == {"due": "2026-12-04"}
