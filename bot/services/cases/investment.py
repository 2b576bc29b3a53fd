"""Investment leads (商会+招商引才) as a case kind: projects and investors passed on by members.

* states 已登记 → 对接中 → 已落地 / 未落地 (a reason);
* a lead goes to the federation's economic-service department (categories 招商引资, else
  the department that takes 其他), which gets in touch within 5 working days;
* ``amount`` is the investment the lead speaks of; the amount that landed is kept as
  ``outcome_amount``. The reports count leads and projects landed (``success``).
"""

from __future__ import annotations

from typing import Any

from bot.services.cases import engine, roster
from bot.services.cases.financing import parse_yuan
from bot.services.cases.spec import (
    CaseKind,
    Clock,
    Input,
    Route,
    State,
    Step,
    Transition,
    register,
)

NAME = "investment_lead"
LEAD_TYPES = ("项目", "投资方", "人才团队")

REGISTERED, TALKING, LANDED, NOT_LANDED = "已登记", "对接中", "已落地", "未落地"
OPEN = (REGISTERED, TALKING)
STAFF = frozenset({"officer"})
CONTACT = Clock(workdays=5)


def _land(step: Step) -> None:
    data = dict(step.case.data or {})
    given = step.data.get("landed_amount")
    if given not in (None, ""):
        amount = parse_yuan(given)
        if amount is None:
            raise engine.CaseRefused("bad_amount", value=str(given))
        data["outcome_amount"] = str(int(amount)) if amount == amount.to_integral() else str(amount)
        step.data["landed_amount"] = data["outcome_amount"]
    data["landed"] = {"on": step.today.isoformat(), "project": str(step.data.get("project") or "")}
    step.case.data = data
    step.context.update(project=data["landed"]["project"])


def _t(action: str, sources: tuple[str, ...], target: str | None, **kw: Any) -> Transition:
    return Transition(action, sources, target, STAFF, **kw)


KIND = register(
    CaseKind(
        name=NAME,
        prefix="ZS",
        form="investment_lead",
        area="investment-leads",
        categories=LEAD_TYPES,
        states=(
            State(REGISTERED, "registered"),
            State(TALKING, "talking"),
            State(LANDED, "landed", final=True),
            State(NOT_LANDED, "not_landed", final=True),
        ),
        initial=REGISTERED,
        transitions=(
            _t("start", (REGISTERED,), TALKING, tell=True),
            _t("land", OPEN, LANDED, tell=True, optional=("landed_amount", "project"), hook=_land),
            _t("drop", OPEN, NOT_LANDED, tell=True, note=True),
            _t("note", (*OPEN, LANDED, NOT_LANDED), None, note=True),
        ),  # fmt: skip
        routes=(
            Route("investment", roster.department_route("招商引资", "招商引才", "招商")),
            Route("default", roster.default_department),
        ),
        clocks={REGISTERED: CONTACT},
        success=frozenset({LANDED}),
        failure=frozenset({NOT_LANDED}),
        remind_staff=(REGISTERED,),
        inputs=(
            Input("landed_amount", "落地投资额（元）", "money"),
            Input("project", "落地项目", max_len=200),
        ),
    )
)
