"""Cancelling a registration (取消报名): pick one, confirm → cancelled; the seat passes on.

Slot: registration (numbered choice of the member's active registrations; filled at once
when there is only one). Submitting cancels it and promotes the first on the waiting list,
who is told by a WeChat message after the transaction commits.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.forms.spec import Choice, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.models import Registration
from bot.services import training

intent = Intent(
    "training_cancel",
    description="取消已报名的培训",
    commands=("取消报名", "退报名", "不去了"),
)


def my_choices(turn: Turn) -> list[Choice]:
    rows = [
        r
        for r in training.my_registrations(turn.db, turn.user_id, turn.local_now())
        if r.status in ("confirmed", "waitlisted")
    ]
    return [
        Choice(
            str(r.id),
            f"{r.session.title}（{r.session.starts_at:%m月%d日}）",
            (r.session.title, r.session.kind),
        )
        for r in rows
    ]


def mine(turn: Turn, value: str) -> str:
    reg = turn.db.get(Registration, int(value)) if value.isdigit() else None
    if reg is None or reg.openid != turn.user_id or reg.status not in ("confirmed", "waitlisted"):
        raise Invalid("replies/common/invalid_choice.txt")
    return value


withdraw = intent.form(Slot("registration", "培训", "choice", validate=mine, choices=my_choices))


def describe(turn: Turn, values: dict[str, Any]) -> dict[str, Any]:
    return {"reg": turn.db.get(Registration, int(values["registration"]))}


withdraw.describe = describe


@intent.handler
def start(turn: Turn) -> Reply:
    options = my_choices(turn)
    if not options:
        return Reply("replies/training_mine/none.txt")
    values = {}
    kind = str(turn.entities.get("training_kind") or "")
    named = [o for o in options if kind and any(kind[:3] in a for a in o.aliases)]
    if len(options) == 1:
        values["registration"] = options[0].value
    elif len(named) == 1:
        values["registration"] = named[0].value
    return turn.start_form("training_cancel", values)


@withdraw.on_submit
def cancel(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    reg = turn.db.get(Registration, int(values["registration"]))
    assert reg is not None
    promoted = training.cancel(turn.db, reg)
    if promoted is not None:
        checkin = turn.url("pages.checkin_code", code=promoted.checkin_code)
        turn.notify(
            promoted.openid,
            Reply(
                "replies/training_cancel/promoted.txt", {"s": promoted.session, "checkin": checkin}
            ),
        )
    return Submitted(str(reg.id), Reply("replies/training_cancel/done.txt", {"s": reg.session}))
