"""Enterprise appeals (诉求反映) as a case kind: departments answer within working days.

What federations do with enterprises' problems, as a declaration on the case engine:

* states 已提交 → 已受理 → 办理中 → 已答复 → 已办结, or 退回 (a reason is required);
* routed by category to the department that handles it (the rule is recorded), reassigned
  when it is not theirs (recorded); the first department keeps ownership when others take
  part (co-handling units are recorded beside it);
* the department acknowledges within 1 working day and answers within the working days
  its category and urgency allow (settings: 紧急 1, 一般 10, 复杂 15) — the promised date is
  fixed at submission and told to the enterprise; an officer may ask for more time before
  the deadline, an admin approves (the enterprise is told) or refuses;
* the officer's answer is delivered in WeChat; then the enterprise is asked whether the
  problem was solved (已解决 / 部分解决 / 未解决) and for a rating (满意 / 基本满意 / 不满意):
  a good outcome ends it (已办结), 未解决 or 不满意 reopens it for 重办 (counted), and a second
  不满意 escalates it to an admin;
* a confidential appeal reaches the department without the enterprise's identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.models import Department
from bot.models.cases import Case, CaseEvent
from bot.services import calendar
from bot.services.cases import engine
from bot.services.cases.engine import CaseRefused
from bot.services.cases.spec import (
    Assignee,
    CaseKind,
    Clock,
    Input,
    Intake,
    Route,
    State,
    Step,
    Transition,
    register,
)

if TYPE_CHECKING:
    from datetime import tzinfo

    from bot.extensions import DBSession
    from bot.models import AdminUser

NAME = "appeal"
CATEGORIES = (
    "融资",
    "用地",
    "人才",
    "税费",
    "政策落实",
    "营商环境",
    "法律权益",
    "建言献策",
    "其他",
)
URGENT, NORMAL = "紧急", "一般"
URGENCIES = (URGENT, NORMAL)
# Answer times in working days (the defaults of the APPEAL_ANSWER_WORKDAYS setting): by
# urgency, and 复杂 for the categories of APPEAL_COMPLEX_CATEGORIES (land, policy …).
ANSWER_WORKDAYS = {URGENT: 1, NORMAL: 10, "复杂": 15}
COMPLEX_CATEGORIES = ("用地",)
ACKNOWLEDGE = Clock(workdays=1)
# After the answer the enterprise has this long to say how it went; then it is closed.
FEEDBACK = Clock(workdays=5)

SUBMITTED, ACKNOWLEDGED, HANDLING = "已提交", "已受理", "办理中"
ANSWERED, CLOSED, RETURNED = "已答复", "已办结", "退回"
OPEN = (SUBMITTED, ACKNOWLEDGED, HANDLING)
SOLVED = ("已解决", "部分解决", "未解决")
RATINGS = ("满意", "基本满意", "不满意")
GOOD_RATINGS = frozenset({"满意", "基本满意"})
OFFICERS = frozenset({"officer"})
ADMINS_ONLY: frozenset[str] = frozenset()  # admin may make every transition


def answer_workdays(category: str, urgency: str, config: Mapping[str, Any]) -> int:
    """The working days to answer an appeal of ``category`` and ``urgency`` by the settings
    (``APPEAL_ANSWER_WORKDAYS`` "紧急:1,一般:10,复杂:15", ``APPEAL_COMPLEX_CATEGORIES``)."""
    table = dict(ANSWER_WORKDAYS)
    for pair in str(config.get("APPEAL_ANSWER_WORKDAYS") or "").replace("，", ",").split(","):
        name, _, days = pair.replace("：", ":").partition(":")
        if name.strip() and days.strip().isdigit():
            table[name.strip()] = int(days)
    if urgency == URGENT:
        return table[URGENT]
    listed = config.get("APPEAL_COMPLEX_CATEGORIES")
    complex_ = COMPLEX_CATEGORIES if listed is None else _names(str(listed))
    if category in complex_:
        return table.get("复杂", table[NORMAL])
    return table[NORMAL]


def _names(text: str) -> tuple[str, ...]:
    return tuple(
        n.strip() for n in text.replace("，", ",").replace("、", ",").split(",") if n.strip()
    )


def promise(db: DBSession, today: date, workdays: int) -> date | None:
    """The answer date promised at submission (None when the calendar has a gap)."""
    try:
        return calendar.add_workdays(db, today, workdays)
    except calendar.CalendarGap:
        return None


# -- routing ---------------------------------------------------------------------------------
def _departments(db: DBSession) -> list[Department]:
    return list(
        db.execute(
            select(Department).where(Department.active.is_(True)).order_by(Department.id)
        ).scalars()
    )


def department_categories(department: Department) -> list[str]:
    value = department.categories or []
    if isinstance(value, str):
        value = value.replace("，", ",").replace("、", ",").split(",")
    return [str(v).strip() for v in value if str(v).strip()]


def _by_category(db: DBSession, intake: Intake) -> Assignee | None:
    rows = [d for d in _departments(db) if intake.category in department_categories(d)]
    return Assignee(department_id=rows[0].id) if rows else None


def _default(db: DBSession, intake: Intake) -> Assignee | None:
    # What no department claims goes to the one that takes 其他, else the first.
    rows = _departments(db)
    for wanted in ([d for d in rows if "其他" in department_categories(d)], rows):
        if wanted:
            return Assignee(department_id=wanted[0].id)
    return None


def _other_departments(db: DBSession, case: Case) -> list[tuple[str, str]]:
    return [(str(d.id), d.name) for d in _departments(db) if d.id != case.department_id]


def _department(step: Step, field: str = "department_id") -> Department:
    try:
        target = step.db.get(Department, int(step.data[field]))
    except (TypeError, ValueError):
        target = None
    if target is None or not target.active:
        raise CaseRefused("unknown_department", value=str(step.data[field]))
    return target


# -- the actions' own rules ------------------------------------------------------------------
def _data(case: Case) -> dict[str, Any]:
    return dict(case.data or {})


def _acknowledge(step: Step) -> None:
    case = step.case
    if step.user is not None and step.user.role in OFFICERS:
        case.user_id = step.user.id  # the officer who acknowledges handles it
    # From now on the clock is the answer date promised at submission.
    data = _data(case)
    promised = data.get("answer_due")
    if promised:
        case.due_at = date.fromisoformat(promised)
        deadlines = dict(data.get("deadlines") or {})
        deadlines.setdefault(ACKNOWLEDGED, promised)
        case.data = {**data, "deadlines": deadlines}
    step.context.update(due=case.due_at.isoformat() if case.due_at else "")


def _answer(step: Step) -> None:
    data = _data(step.case)
    answers = list(data.get("answers") or [])
    answers.append({"on": step.today.isoformat(), "text": step.note, "by": _who(step)})
    data["answers"] = answers
    data.setdefault("answered_on", step.today.isoformat())
    data["answered_last"] = step.today.isoformat()
    data["awaiting_feedback"] = True
    step.case.data = data
    step.context.update(answer=step.note, round=len(answers))


def _return(step: Step) -> None:
    step.context.update(reason=step.note)


def _reassign(step: Step) -> None:
    target = _department(step)
    if target.id == step.case.department_id:
        raise CaseRefused("same_department", department=target.name)
    step.data.update(from_department=step.case.department_id, department_id=target.id)
    step.case.department_id = target.id
    step.case.user_id = None  # the new department's officer takes it up
    step.case.route_rule = "reassign"
    step.context.update(department=target.name)


def _cohandle(step: Step) -> None:
    target = _department(step)
    data = _data(step.case)
    helpers = [int(i) for i in data.get("cohandlers") or []]
    if target.id == step.case.department_id or target.id in helpers:
        raise CaseRefused("same_department", department=target.name)
    data["cohandlers"] = [*helpers, target.id]
    step.case.data = data
    step.data.update(department_id=target.id, department=target.name)


def _request_extension(step: Step) -> None:
    case = step.case
    if case.due_at is None:
        raise CaseRefused("no_deadline", number=case.number)
    if case.due_at < step.today:
        raise CaseRefused("extension_too_late", number=case.number, due=case.due_at)
    if _data(case).get("extension_request"):
        raise CaseRefused("extension_pending", number=case.number)
    try:
        days = int(step.data["workdays"])
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 30:
        raise CaseRefused("bad_workdays", value=str(step.data["workdays"]))
    step.data["workdays"] = days
    request = {"workdays": days, "reason": step.note, "by": _who(step), "on": str(step.today)}
    case.data = {**_data(case), "extension_request": request}


def _approve_extension(step: Step) -> None:
    case = step.case
    data = _data(case)
    request = data.pop("extension_request", None)
    if not request:
        raise CaseRefused("no_extension_request", number=case.number)
    before = case.due_at
    try:
        engine.extend_clock(step.db, case, Clock(workdays=int(request["workdays"])))
    except calendar.CalendarGap as gap:
        raise CaseRefused("calendar_gap", year=gap.day.year, day=gap.day) from gap
    case.extensions += 1
    data.setdefault("extensions_granted", []).append({**request, "approved_on": str(step.today)})
    case.data = data
    step.data.update(
        workdays=request["workdays"],
        reason=request["reason"],
        due_before=before.isoformat() if before else "",
        due_after=case.due_at.isoformat() if case.due_at else "",
    )
    step.context.update(
        due=case.due_at.isoformat() if case.due_at else "", reason=request["reason"]
    )


def _deny_extension(step: Step) -> None:
    data = _data(step.case)
    request = data.pop("extension_request", None)
    if not request:
        raise CaseRefused("no_extension_request", number=step.case.number)
    step.case.data = data
    step.data.update(workdays=request["workdays"])


def _feedback(step: Step) -> None:
    """The enterprise's 回访 answer, kept on the case; reopened when not solved or not
    satisfied (the transition chosen by :func:`feedback`)."""
    case = step.case
    data = _data(case)
    record = {
        "solved": str(step.data["solved"]),
        "rating": str(step.data.get("rating") or ""),
        "comment": str(step.data.get("comment") or ""),
        "on": step.today.isoformat(),
    }
    rounds = [*(data.get("feedback_rounds") or []), record]
    data.update(feedback=record, feedback_rounds=rounds, awaiting_feedback=False)
    if step.transition.action == "reopen":
        data["reopened"] = int(data.get("reopened") or 0) + 1
        unhappy = sum(1 for r in rounds if r["rating"] == "不满意")
        if unhappy >= 2 and not data.get("escalated"):
            data["escalated"] = {"on": step.today.isoformat(), "round": len(rounds)}
            step.context.update(escalated=True)
        workdays = int(data.get("answer_workdays") or ANSWER_WORKDAYS[NORMAL])
        try:
            case.due_at = calendar.add_workdays(step.db, step.today, workdays)
        except calendar.CalendarGap:
            case.due_at = None
        step.data.update(due=case.due_at.isoformat() if case.due_at else "")
        step.context.update(due=case.due_at.isoformat() if case.due_at else "")
    case.data = data
    step.context.update(feedback=record)


def _close(step: Step) -> None:
    case = step.case
    case.data = {**_data(case), "awaiting_feedback": False}


def _who(step: Step) -> str:
    return step.user.username if step.user is not None else engine.SYSTEM


def _t(action: str, sources: tuple[str, ...], target: str | None, **kw: Any) -> Transition:
    return Transition(action, sources, target, OFFICERS, **kw)


def _system(action: str, sources: tuple[str, ...], target: str | None, **kw: Any) -> Transition:
    # Made by the bot for the enterprise (its 回访 answer), or by an admin on its behalf.
    return Transition(action, sources, target, ADMINS_ONLY, **kw)


KIND = register(
    CaseKind(
        name=NAME,
        prefix="SQ",
        form="appeal_submit",
        area="appeals",
        categories=CATEGORIES,
        states=(
            State(SUBMITTED, "submitted"),
            State(ACKNOWLEDGED, "acknowledged"),
            State(HANDLING, "handling"),
            State(ANSWERED, "answered"),
            State(CLOSED, "closed", final=True),
            State(RETURNED, "returned", final=True),
        ),
        initial=SUBMITTED,
        transitions=(
            _t("acknowledge", (SUBMITTED,), ACKNOWLEDGED, tell=True, hook=_acknowledge),
            _t("start", (ACKNOWLEDGED,), HANDLING, tell=True),
            _t("answer", (ACKNOWLEDGED, HANDLING), ANSWERED, tell=True, note=True, hook=_answer),
            _t("return", (SUBMITTED, ACKNOWLEDGED), RETURNED, tell=True, note=True, hook=_return),
            _t("reassign", OPEN, None, tell=True, fields=("department_id",), hook=_reassign),
            _t("cohandle", OPEN, None, fields=("department_id",), hook=_cohandle),
            _t(
                "request_extension",
                (ACKNOWLEDGED, HANDLING),
                None,
                note=True,
                fields=("workdays",),
                hook=_request_extension,
            ),
            _system(
                "approve_extension",
                (ACKNOWLEDGED, HANDLING),
                None,
                tell=True,
                hook=_approve_extension,
            ),
            _system("deny_extension", (ACKNOWLEDGED, HANDLING), None, hook=_deny_extension),
            _system(
                "rate",
                (ANSWERED,),
                CLOSED,
                tell=True,
                fields=("solved",),
                optional=("rating", "comment"),
                hook=_feedback,
            ),
            _system(
                "reopen",
                (ANSWERED,),
                HANDLING,
                tell=True,
                fields=("solved",),
                optional=("rating", "comment"),
                hook=_feedback,
            ),
            _t("close", (ANSWERED,), CLOSED, tell=True, hook=_close),
            _t(
                "note",
                (SUBMITTED, ACKNOWLEDGED, HANDLING, ANSWERED, CLOSED, RETURNED),
                None,
                note=True,
            ),
        ),  # fmt: skip
        routes=(Route("category", _by_category), Route("default", _default)),
        clocks={SUBMITTED: ACKNOWLEDGE, ANSWERED: FEEDBACK},
        success=frozenset({CLOSED}),
        failure=frozenset({RETURNED}),
        max_extensions=2,
        remind_staff=(SUBMITTED, ACKNOWLEDGED, HANDLING),
        inputs=(
            Input("department_id", "部门", "select", choices=_other_departments),
            Input("workdays", "延期工作日数", "int"),
            Input(
                "solved",
                "问题是否解决",
                "select",
                choices=lambda db, case: [(s, s) for s in SOLVED],
            ),
            Input("rating", "满意度", "select", choices=lambda db, case: [(r, r) for r in RATINGS]),
            Input("comment", "评价意见", "textarea", max_len=500),
        ),  # fmt: skip
    )
)


# -- the enterprise's 回访 answer --------------------------------------------------------------
def awaiting_feedback(db: DBSession, openid: str) -> list[Case]:
    """The member's answered appeals still waiting for their 回访 answer, newest first."""
    return [
        c
        for c in engine.of_member(db, openid)
        if c.kind == NAME and c.status == ANSWERED and (c.data or {}).get("awaiting_feedback")
    ]


def feedback(
    db: DBSession, case: Case, *, solved: str, rating: str, comment: str, today: date
) -> CaseEvent:
    """Record the enterprise's answer: closed when solved and satisfied enough, reopened for
    重办 when 未解决 or 不满意 (a second 不满意 escalates to an admin)."""
    if solved not in SOLVED or (rating and rating not in RATINGS):
        raise CaseRefused("bad_feedback", solved=solved, rating=rating)
    action = "reopen" if solved == "未解决" or rating == "不满意" else "rate"
    data = {"solved": solved, "rating": rating, "comment": comment}
    return engine.act(db, case, action, None, today=today, data=data, by_member=True)


def close_unrated(db: DBSession, today: date) -> int:
    """Close the answered appeals whose 回访 window passed without an answer (a chore)."""
    closed = 0
    rows = db.execute(
        select(Case).where(
            Case.kind == NAME,
            Case.status == ANSWERED,
            Case.due_at.is_not(None),
            Case.due_at < today,
        )
    ).scalars()
    for case in rows:
        engine.act(db, case, "close", None, "回访期满未评价，自动办结。", today=today)
        closed += 1
    return closed


def is_confidential(case: Case) -> bool:
    return case.kind == NAME and bool((case.data or {}).get("confidential"))


# -- the rates the dashboard and reports show ----------------------------------------------------
def rates(
    db: DBSession,
    start: date | None,
    end: date | None,
    user: AdminUser | None,
    *,
    zone: tzinfo | None = None,
    today: date | None = None,
) -> dict[str, tuple[int, int]]:
    """Each appeal rate for appeals submitted from ``start`` to ``end`` (local dates, both
    included) that ``user`` may see (None: all): ``acknowledged_in_time`` (响应率),
    ``solved`` (解决率), ``satisfied`` (满意率), ``answered_on_time`` (按期答复率), ``closed``
    (办结率), each as (numerator, denominator). The definitions: ``appeal_stats``."""
    from bot.services import clock
    from bot.services.cases import appeal_stats

    return appeal_stats.rates(db, start, end, user, today=today, zone=zone or clock.zone({}))
