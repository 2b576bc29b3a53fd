"""商会代办 (商会+最多跑一次) as a case kind: a chamber's 代办员 handles a hometown item.

* states 已受理 → 办理中 (a 代办员 takes it) → 待补材料 (the member is told what is missing
  and sends it in the chat: the form reopens for those materials, ``supplied`` moves it
  back to 办理中) → 已办结; 不予代办 (a reason: an item that needs the person in person);
* routed to the 代办员 of the member's chamber on the roster (role ``agent``: they see the
  cases assigned to them), else to any 代办员, with the department that runs the 代办点
  (categories 商会代办) watching; the agent takes it within 1 working day, and the item's
  typical working days (from the catalogue) are its clock while it is being handled;
* 已办结 records whether it was done without the member coming in (零跑腿).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.services.cases import roster
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
    from bot.models.cases import Case

NAME = "proxy_service"
ACCEPTED, HANDLING, MISSING = "已受理", "办理中", "待补材料"
DONE, REFUSED = "已办结", "不予代办"
OPEN = (ACCEPTED, HANDLING, MISSING)
AGENT = "agent"
STAFF = frozenset({"officer", AGENT})
TAKE = Clock(workdays=1)
DEFAULT_WORKDAYS = 10
SUPPLY_FORM = "proxy_supplement"  # the form that collects missing materials


def _handling_clock(case: Case) -> Clock | None:
    days = str((case.data or {}).get("workdays") or "")
    workdays = int(days) if days.isdigit() and int(days) > 0 else DEFAULT_WORKDAYS
    return Clock(workdays=workdays)


def _agent_of_chamber(db: DBSession, intake: Intake) -> Assignee | None:
    if intake.chamber_id is None:
        return None
    return _first_user(roster.providers(db, AGENT, intake.chamber_id))


def _any_agent(db: DBSession, intake: Intake) -> Assignee | None:
    return _first_user(roster.providers(db, AGENT))


def _first_user(rows: list[Any]) -> Assignee | None:
    for row in rows:
        if row.user_id is not None:
            return Assignee(user_id=row.user_id)
    return None


_DEPARTMENT = roster.department_route("商会代办", "代办")


def _take(step: Step) -> None:
    roster.take(step, AGENT)
    agent = roster.of_user(step.db, AGENT, step.case.user_id)
    if agent is not None:
        data = dict(step.case.data or {})
        data["provider"] = {"id": agent.id, "name": roster.label(agent), "contact": agent.contact}
        step.case.data = data
        step.context.update(agent=roster.label(agent), agent_contact=agent.contact)


def _ask(step: Step) -> None:
    missing = str(step.data["missing"]).strip()
    data = dict(step.case.data or {})
    asks = list(data.get("missing_asks") or [])
    asks.append({"on": step.today.isoformat(), "missing": missing})
    data.update(missing=missing, missing_asks=asks)
    step.case.data = data
    step.context.update(missing=missing)


def _supplied(step: Step) -> None:
    data = dict(step.case.data or {})
    data["missing"] = ""
    data["supplied"] = int(data.get("supplied") or 0) + 1
    step.case.data = data


def _done(step: Step) -> None:
    zero = step.data.get("zero_trip")
    zero_trip = zero is not False and str(zero).lower() not in ("false", "0", "no", "否")
    data = dict(step.case.data or {})
    data.update(zero_trip=zero_trip, result=str(step.data.get("result") or ""))
    step.case.data = data
    step.data["zero_trip"] = zero_trip
    step.context.update(zero_trip=zero_trip, result=data["result"])


KIND = register(
    CaseKind(
        name=NAME,
        prefix="DB",
        form="proxy_service",
        area="proxy",
        states=(
            State(ACCEPTED, "accepted"),
            State(HANDLING, "handling"),
            State(MISSING, "missing"),
            State(DONE, "done", final=True),
            State(REFUSED, "refused", final=True),
        ),
        initial=ACCEPTED,
        transitions=(
            Transition("take", (ACCEPTED,), HANDLING, STAFF, tell=True, hook=_take),
            Transition(
                "ask_materials",
                (ACCEPTED, HANDLING),
                MISSING,
                STAFF,
                tell=True,
                fields=("missing",),
                hook=_ask,
            ),
            # Made by the member in the chat (the supplement form), never from the console.
            Transition(
                "supplied", (MISSING,), HANDLING, frozenset(), optional=("files",), hook=_supplied
            ),
            Transition(
                "finish",
                (HANDLING,),
                DONE,
                STAFF,
                tell=True,
                optional=("zero_trip", "result"),
                hook=_done,
            ),
            Transition("refuse", OPEN, REFUSED, STAFF, tell=True, note=True),
            Transition("note", (*OPEN, DONE, REFUSED), None, STAFF, note=True),
        ),  # fmt: skip
        routes=(
            Route("chamber-agent", roster.with_department(_agent_of_chamber, _DEPARTMENT)),
            Route("agent", roster.with_department(_any_agent, _DEPARTMENT)),
            Route("department", _DEPARTMENT),
            Route("default", roster.default_department),
        ),
        clocks={ACCEPTED: TAKE, HANDLING: _handling_clock},
        success=frozenset({DONE}),
        failure=frozenset({REFUSED}),
        remind_staff=(ACCEPTED, HANDLING),
        inputs=(
            Input("missing", "需补充的材料", "textarea", max_len=1000),
            Input("zero_trip", "零跑腿（申请人未到场）", "yes_no"),
            Input("result", "办理结果（证照如何送达）", max_len=300),
        ),
    )
)
