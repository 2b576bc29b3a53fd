"""法治体检 booking as a case kind: lawyers check an enterprise's legal risks, free of charge.

What the federations and the justice bureaux run ("千家律所联千家商会"), as a declaration:

* states 已预约 → 已安排 (a time and a lawyer or law firm from the roster; the member is
  told both) → 已体检 → 已出报告 (the recommendations, and the report file where there is
  one) → 已回访; 已取消 (a reason) while it is not yet done;
* the request goes to the department that runs the check-ups (categories 法治体检, else
  法律权益), whose staff arrange it within 5 working days — and, where a law firm of the
  roster is paired with the member's chamber ("千家律所联千家商会"), to that lawyer at once;
  the lawyer arranged sees the case from then on (role ``lawyer``) and may record the
  check-up, the report and the 回访;
* the report is due 10 working days after the check-up.

Free of charge by default: the wording members read comes from ``ORG_LEGAL_CHECKUP_FEE``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.services.cases import engine, roster
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
    from bot.extensions import DBSession

NAME = "legal_checkup"
# The areas a check-up may look at (several may be picked).
AREAS = ("合同", "劳动用工", "知识产权", "税务合规", "融资担保", "公司治理")
MIXED = "综合"  # the category of a check-up of several areas
MODES = ("上门体检", "集中体检", "线上体检")

BOOKED, ARRANGED, CHECKED = "已预约", "已安排", "已体检"
REPORTED, VISITED, CANCELLED = "已出报告", "已回访", "已取消"
LAWYER = "lawyer"
STAFF = frozenset({"officer", LAWYER})
ARRANGE = Clock(workdays=5)
REPORT = Clock(workdays=10)


def category(areas: list[str]) -> str:
    """What a check-up is counted under: its one area, or 综合."""
    return areas[0] if len(areas) == 1 else MIXED


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(second=0, microsecond=0)
    try:
        return datetime.fromisoformat(str(value).strip().replace(" ", "T"))
    except ValueError:
        return None


def _paired_lawyer(db: DBSession, intake: Intake) -> Assignee | None:
    """The lawyer of the roster paired with the member's chamber, if any has a console user."""
    if intake.chamber_id is None:
        return None
    for row in roster.providers(db, LAWYER, intake.chamber_id):
        if row.user_id is not None:
            return Assignee(user_id=row.user_id)
    return None


def _arrange(step: Step) -> None:
    moment = _moment(step.data["when"])
    if moment is None:
        raise engine.CaseRefused("bad_datetime", value=str(step.data["when"]))
    step.data["when"] = moment.isoformat(timespec="minutes")
    if step.data.get("provider_id") not in (None, ""):
        roster.assign(step, LAWYER)
    else:
        # The lawyer arranging it, else the one the case was routed or arranged to before.
        roster.take(step, LAWYER)
        paired = roster.of_user(step.db, LAWYER, step.case.user_id)
        if paired is not None:
            step.data["provider_id"] = paired.id
            roster.assign(step, LAWYER)
        elif step.user is not None and step.user.role == LAWYER:  # a lawyer not on the roster
            provider = {"id": None, "name": step.user.username, "contact": ""}
            step.case.data = {**(step.case.data or {}), "provider": provider}
        elif not (step.case.data or {}).get("provider"):
            raise engine.CaseRefused("fields_required", action="arrange", fields=["provider_id"])
    data = dict(step.case.data or {})
    data["arranged"] = {"when": step.data["when"], "place": str(step.data.get("place") or "")}
    step.case.data = data
    provider = (data.get("provider") or {}).get("name") or step.context.get("provider", "")
    step.context.update(
        when=step.data["when"], place=str(step.data.get("place") or ""), provider=provider
    )


def _report(step: Step) -> None:
    data = dict(step.case.data or {})
    data["report"] = {
        "on": step.today.isoformat(),
        "recommendations": str(step.data["recommendations"]),
        "file": str(step.data.get("report_file") or ""),
    }
    step.case.data = data
    step.context.update(report=data["report"])


def _visit(step: Step) -> None:
    data = dict(step.case.data or {})
    data["followup"] = {"on": step.today.isoformat(), "feedback": str(step.data["feedback"])}
    step.case.data = data


_DEPARTMENT = roster.department_route("法治体检", "法律服务", "法律权益")


def _t(action: str, sources: tuple[str, ...], target: str | None, **kw: Any) -> Transition:
    return Transition(action, sources, target, STAFF, **kw)


KIND = register(
    CaseKind(
        name=NAME,
        prefix="FZ",
        form="legal_checkup",
        area="legal-checkups",
        categories=(*AREAS, MIXED),
        states=(
            State(BOOKED, "booked"),
            State(ARRANGED, "arranged"),
            State(CHECKED, "checked"),
            State(REPORTED, "reported"),
            State(VISITED, "visited", final=True),
            State(CANCELLED, "cancelled", final=True),
        ),
        initial=BOOKED,
        transitions=(
            _t(
                "arrange",
                (BOOKED, ARRANGED),
                ARRANGED,
                tell=True,
                fields=("when",),
                optional=("provider_id", "place"),
                hook=_arrange,
            ),
            _t("check", (ARRANGED,), CHECKED, tell=True),
            _t(
                "report",
                (CHECKED,),
                REPORTED,
                tell=True,
                fields=("recommendations",),
                optional=("report_file",),
                hook=_report,
            ),
            _t("visit", (REPORTED,), VISITED, fields=("feedback",), hook=_visit),
            _t("cancel", (BOOKED, ARRANGED), CANCELLED, tell=True, note=True),
            _t("note", (BOOKED, ARRANGED, CHECKED, REPORTED, VISITED, CANCELLED), None, note=True),
        ),  # fmt: skip
        routes=(
            Route("chamber-lawyer", roster.with_department(_paired_lawyer, _DEPARTMENT)),
            Route("checkup", _DEPARTMENT),
            Route("default", roster.default_department),
        ),
        clocks={BOOKED: ARRANGE, CHECKED: REPORT},
        success=frozenset({REPORTED}),
        remind_staff=(BOOKED, CHECKED),
        inputs=(
            Input("when", "体检时间", "datetime"),
            Input("provider_id", "律师或律所", "select", choices=roster.choices(LAWYER)),
            Input("place", "地点", max_len=200),
            Input("recommendations", "体检结论和整改建议", "textarea", max_len=4000),
            Input("report_file", "报告文件（名称或链接）", max_len=300),
            Input("feedback", "回访情况", "textarea", max_len=2000),
        ),
    )
)
