"""Financing needs (政银企对接) as a case kind: requests shared with the partner banks.

* states 已提交 → 已推送 (to a partner bank of the roster, with the member's consent) → 对接中
  (the bank's manager is in touch) → 已获贷 (the amount obtained) / 未成功 (the reason);
* a request goes to the department that runs the matchmaking (categories 融资对接, else
  融资); its staff push it within 3 working days; the bank's console user (role ``bank``)
  sees only the requests pushed to their bank, and contacts the enterprise within 5;
* ``amount`` is what was asked; the amount obtained is kept as ``outcome_amount`` so the
  statistics show both — the figures federations report.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bot.services.cases import engine, roster
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

NAME = "financing_request"
PURPOSES = ("流动资金", "设备", "扩产", "其他")
GUARANTEES = ("信用", "抵押", "担保", "其他")
REVENUES = ("500万元以下", "500万–2000万元", "2000万–1亿元", "1亿元以上")

SUBMITTED, PUSHED, TALKING = "已提交", "已推送", "对接中"
GRANTED, FAILED = "已获贷", "未成功"
OPEN = (SUBMITTED, PUSHED, TALKING)
BANK = "bank"
STAFF = frozenset({"officer"})
BOTH = frozenset({"officer", BANK})
PUSH = Clock(workdays=3)
CONTACT = Clock(workdays=5)


def parse_yuan(value: Any) -> Decimal | None:
    """An amount in yuan as the console or the CLI gives it ("3000000", "300万")."""
    if isinstance(value, Decimal):
        return value
    text = str(value).strip().replace(",", "").replace("，", "").removesuffix("元")
    factor = Decimal(1)
    if text.endswith("万"):
        text, factor = text[:-1], Decimal(10000)
    elif text.endswith("亿"):
        text, factor = text[:-1], Decimal(100000000)
    try:
        amount = Decimal(text) * factor
    except InvalidOperation:
        return None
    return amount if amount >= 0 else None


def _push(step: Step) -> None:
    roster.assign(step, BANK)


def _start(step: Step) -> None:
    roster.take(step, BANK)


def _grant(step: Step) -> None:
    amount = parse_yuan(step.data["obtained"])
    if amount is None:
        raise engine.CaseRefused("bad_amount", value=str(step.data["obtained"]))
    data = dict(step.case.data or {})
    data["outcome_amount"] = str(int(amount)) if amount == amount.to_integral() else str(amount)
    step.case.data = data
    step.data["obtained"] = data["outcome_amount"]
    step.context.update(
        obtained=data["outcome_amount"], obtained_text=f"{amount:,.2f}".removesuffix(".00")
    )


def _fail(step: Step) -> None:
    step.context.update(reason=step.note)


KIND = register(
    CaseKind(
        name=NAME,
        prefix="RZ",
        form="financing_request",
        area="financing",
        categories=PURPOSES,
        states=(
            State(SUBMITTED, "submitted"),
            State(PUSHED, "pushed"),
            State(TALKING, "talking"),
            State(GRANTED, "granted", final=True),
            State(FAILED, "failed", final=True),
        ),
        initial=SUBMITTED,
        transitions=(
            Transition(
                "push",
                (SUBMITTED, PUSHED, TALKING),
                PUSHED,
                STAFF,
                tell=True,
                fields=("provider_id",),
                hook=_push,
            ),
            Transition("start", (PUSHED,), TALKING, BOTH, tell=True, hook=_start),
            Transition(
                "grant",
                (PUSHED, TALKING),
                GRANTED,
                BOTH,
                tell=True,
                fields=("obtained",),
                hook=_grant,
            ),
            Transition("fail", OPEN, FAILED, BOTH, tell=True, note=True, hook=_fail),
            Transition("note", (*OPEN, GRANTED, FAILED), None, BOTH, note=True),
        ),  # fmt: skip
        routes=(
            Route("financing", roster.department_route("融资对接", "融资")),
            Route("default", roster.default_department),
        ),
        clocks={SUBMITTED: PUSH, PUSHED: CONTACT},
        success=frozenset({GRANTED}),
        failure=frozenset({FAILED}),
        remind_staff=(SUBMITTED, PUSHED),
        inputs=(
            Input("provider_id", "推送给合作银行", "select", choices=roster.choices(BANK)),
            Input("obtained", "获贷金额（元）", "money"),
        ),
    )
)
