"""Mediation (人民调解) as a case kind: committees take disputes, both parties must agree.

What the 人民调解法 and the 工商联/司法部 guidance on 商会调解 ask for, as a declaration:

* states 待受理 → 已受理 → 调解中 → 调解成功 / 调解未成功 → 已结案; 不予受理 (a reason is
  required) and 对方不同意调解 end it — mediation is voluntary for both parties;
* the committee contacts the applicant within 3 working days; mediation should be done
  within one month of acceptance, extended once when both parties agree (recorded);
* sessions are scheduled with a time and a place, and the member is told;
* on success the agreement (parties, matters, obligations, deadlines) is recorded and the
  member told that both parties may jointly apply to a court for 司法确认 within 30 days of
  the agreement taking effect — reminded on day 20 and day 27 — and the mediator records a
  回访 (is the agreement being performed?); on failure the member is told the other routes.

Routing: a committee of the applicant's chamber that takes the dispute type; else a
federation-level committee (no chamber) that takes it; else the chamber's own committee;
else the default committee. The rule that chose is kept on the case.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.models import Committee
from bot.services.cases import engine
from bot.services.cases.spec import (
    Assignee,
    CaseKind,
    Clock,
    Input,
    Intake,
    Reminder,
    Route,
    State,
    Step,
    Transition,
    register,
)

if TYPE_CHECKING:
    from bot.extensions import DBSession
    from bot.models.cases import Case

NAME = "mediation"
# The dispute types committees take (data: stored on cases and committees, and exported).
DISPUTE_TYPES = ("合同", "货款债务", "劳动用工", "知识产权", "租赁", "金融", "其他")

PENDING, ACCEPTED, MEDIATING = "待受理", "已受理", "调解中"
SETTLED, FAILED, CLOSED = "调解成功", "调解未成功", "已结案"
REJECTED, DECLINED = "不予受理", "对方不同意调解"
OPEN = (PENDING, ACCEPTED, MEDIATING)
# 司法确认: both parties apply jointly within 30 days of the agreement taking effect.
CONFIRMATION_DAYS = 30
REMINDER_DAYS = (20, 27)
MEDIATORS = frozenset({"mediator"})
TARGET = Clock(months=1)
CONTACT = Clock(workdays=3)


# -- committees ------------------------------------------------------------------------------
def committee_types(committee: Committee) -> list[str]:
    """The dispute types a committee takes (stored as a list or as comma-separated text)."""
    value = getattr(committee, "dispute_types", None) or []
    if isinstance(value, str):
        value = value.replace("，", ",").replace("、", ",").split(",")
    return [str(v).strip() for v in value if str(v).strip()]


def _committees(db: DBSession) -> list[Committee]:
    return list(
        db.execute(
            select(Committee).where(Committee.active.is_(True)).order_by(Committee.id)
        ).scalars()
    )


def _pick(rows: list[Committee]) -> Assignee | None:
    return Assignee(committee_id=rows[0].id) if rows else None


def _chamber_and_type(db: DBSession, intake: Intake) -> Assignee | None:
    if intake.chamber_id is None:
        return None
    return _pick(
        [
            c
            for c in _committees(db)
            if c.chamber_id == intake.chamber_id and intake.category in committee_types(c)
        ]
    )


def _type(db: DBSession, intake: Intake) -> Assignee | None:
    return _pick(
        [
            c
            for c in _committees(db)
            if c.chamber_id is None and intake.category in committee_types(c)
        ]
    )


def _chamber(db: DBSession, intake: Intake) -> Assignee | None:
    if intake.chamber_id is None:
        return None
    return _pick([c for c in _committees(db) if c.chamber_id == intake.chamber_id])


def default_committee(db: DBSession) -> Committee | None:
    """The committee that takes what no rule routes: the one marked default, else the first
    federation-level one, else the first."""
    rows = _committees(db)
    for wanted in (
        [c for c in rows if c.is_default],
        [c for c in rows if c.chamber_id is None],
        rows,
    ):
        if wanted:
            return wanted[0]
    return None


def _default(db: DBSession, intake: Intake) -> Assignee | None:
    committee = default_committee(db)
    return Assignee(committee_id=committee.id) if committee is not None else None


# -- the actions' own rules ------------------------------------------------------------------
def _accept(step: Step) -> None:
    # The mediator who accepts becomes the case's mediator (the committee keeps it).
    if step.user is not None and step.user.role in MEDIATORS:
        step.case.user_id = step.user.id


def _schedule(step: Step) -> None:
    moment = _moment(step.data["when"])
    if moment is None:
        raise engine.CaseRefused("bad_datetime", value=str(step.data["when"]))
    step.data["when"] = moment.isoformat(timespec="minutes")
    sessions = list((step.case.data or {}).get("sessions") or [])
    sessions.append({"when": step.data["when"], "place": str(step.data["place"])})
    step.case.data = {**(step.case.data or {}), "sessions": sessions}
    step.context.update(when=step.data["when"], place=str(step.data["place"]))


def _settle(step: Step) -> None:
    # The agreement's summary, or the note that records the outcome (`flask cases set-status
    # … 调解成功 --note …`): one of the two is required.
    summary = str(step.data.get("agreement") or step.note)
    if not summary:
        raise engine.CaseRefused("fields_required", action="settle", fields=["agreement"])
    effective = _day(step.data.get("effective_on")) or step.today
    confirm_by = effective + timedelta(days=CONFIRMATION_DAYS)
    agreement = {
        "summary": summary,
        "parties": str(step.data.get("parties", "")),
        "obligations": str(step.data.get("obligations", "")),
        "deadlines": str(step.data.get("deadlines", "")),
        "effective_on": effective.isoformat(),
        "confirm_by": confirm_by.isoformat(),
    }
    step.case.data = {**(step.case.data or {}), "agreement": agreement}
    step.data.update(effective_on=effective.isoformat(), confirm_by=confirm_by.isoformat())
    step.context.update(agreement=agreement)


def _extend(step: Step) -> None:
    kind = KIND
    if step.case.extensions >= kind.max_extensions:
        raise engine.CaseRefused("extension_used", number=step.case.number)
    if step.case.due_at is None:
        raise engine.CaseRefused("no_deadline", number=step.case.number)
    before = step.case.due_at
    engine.extend_clock(step.db, step.case, TARGET)
    step.case.extensions += 1
    step.data.update(due_before=before.isoformat(), due_after=step.case.due_at.isoformat())
    step.context.update(due=step.case.due_at.isoformat())


def _transfer(step: Step) -> None:
    try:
        target = step.db.get(Committee, int(step.data["committee_id"]))
    except (TypeError, ValueError):
        target = None
    if target is None:
        raise engine.CaseRefused("unknown_committee", value=str(step.data["committee_id"]))
    if target.id == step.case.committee_id:
        raise engine.CaseRefused("same_committee", committee=target.name)
    step.data.update(from_committee=step.case.committee_id, committee_id=target.id)
    step.case.committee_id = target.id
    step.case.user_id = None  # the new committee's mediator takes it up
    step.case.route_rule = "transfer"
    step.context.update(committee=target.name)


def _followup(step: Step) -> None:
    visits = list((step.case.data or {}).get("followups") or [])
    visits.append({"on": step.today.isoformat(), "performed": str(step.data["performed"])})
    step.case.data = {**(step.case.data or {}), "followups": visits}


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(second=0, microsecond=0)
    try:
        return datetime.fromisoformat(str(value).strip().replace(" ", "T"))
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def agreement_day(case: Case) -> date | None:
    """When the agreement took effect (the 司法确认 window's start), if there is one."""
    return _day(((case.data or {}).get("agreement") or {}).get("effective_on"))


def _other_committees(db: DBSession, case: Case) -> list[tuple[str, str]]:
    return [(str(c.id), c.name) for c in _committees(db) if c.id != case.committee_id]


def _t(action: str, sources: tuple[str, ...], target: str | None, **kw: Any) -> Transition:
    return Transition(action, sources, target, MEDIATORS, **kw)


KIND = register(
    CaseKind(
        name=NAME,
        prefix="TJ",
        form="mediation_apply",
        area="disputes",
        categories=DISPUTE_TYPES,
        states=(
            State(PENDING, "pending"),
            State(ACCEPTED, "accepted"),
            State(MEDIATING, "mediating"),
            State(SETTLED, "settled"),
            State(FAILED, "failed"),
            State(CLOSED, "closed", final=True),
            State(REJECTED, "rejected", final=True),
            State(DECLINED, "declined", final=True),
        ),
        initial=PENDING,
        transitions=(
            _t("accept", (PENDING,), ACCEPTED, tell=True, hook=_accept),
            _t("reject", (PENDING,), REJECTED, tell=True, note=True),
            _t("start", (ACCEPTED,), MEDIATING, tell=True),
            _t(
                "schedule",
                (ACCEPTED, MEDIATING),
                MEDIATING,
                tell=True,
                fields=("when", "place"),
                hook=_schedule,
            ),
            _t(
                "settle",
                (ACCEPTED, MEDIATING),
                SETTLED,
                tell=True,
                hook=_settle,
                optional=("agreement", "parties", "obligations", "deadlines", "effective_on"),
            ),
            _t("fail", (ACCEPTED, MEDIATING), FAILED, tell=True),
            _t("decline", OPEN, DECLINED, tell=True),
            # Both parties' consent to the extension is the note (who agreed, how).
            _t("extend", (ACCEPTED, MEDIATING), None, tell=True, note=True, hook=_extend),
            _t("transfer", OPEN, None, tell=True, fields=("committee_id",), hook=_transfer),
            _t("followup", (SETTLED, CLOSED), None, fields=("performed",), hook=_followup),
            _t("close", (SETTLED, FAILED), CLOSED, tell=True),
            _t(
                "note",
                (PENDING, ACCEPTED, MEDIATING, SETTLED, FAILED, CLOSED, REJECTED, DECLINED),
                None,
                note=True,
            ),
        ),  # fmt: skip
        routes=(
            Route("chamber+type", _chamber_and_type),
            Route("type", _type),
            Route("chamber", _chamber),
            Route("default", _default),
        ),
        # The committee gets in touch within 3 working days; then a month to settle.
        clocks={PENDING: CONTACT, ACCEPTED: TARGET},
        reminders=(
            Reminder(
                "judicial",
                states=(SETTLED, CLOSED),
                anchor=agreement_day,
                days=REMINDER_DAYS,
                until=CONFIRMATION_DAYS,
                template="judicial_reminder",
            ),
        ),
        success=frozenset({SETTLED}),
        failure=frozenset({FAILED, DECLINED}),
        max_extensions=1,
        inputs=(
            Input("when", "调解时间", "datetime"),
            Input("place", "调解地点", max_len=200),
            Input("agreement", "协议内容", "textarea", max_len=4000),
            Input("parties", "当事人", max_len=300),
            Input("obligations", "履行义务", "textarea", max_len=2000),
            Input("deadlines", "履行期限", max_len=300),
            Input("effective_on", "协议生效日期", "date"),
            Input("committee_id", "转交给", "select", choices=_other_committees),
            Input("performed", "履行情况", max_len=200),
        ),
    )
)
