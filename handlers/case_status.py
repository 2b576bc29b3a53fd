"""Progress of one's requests (我的调解进度, 我反映的事怎么样了): every case of every kind.

With no number in the message the member's own cases are listed, newest first, each with
its status, the last change they were told of and the next step. A case number in the
message shows that case when it is theirs; anyone else needs its query code too (the
lookup form asks for what is missing). A wrong code and a missing number get the
same answer, so guessing tells nothing.
"""

from __future__ import annotations

import re
from typing import Any

from bot.dialogue.forms.spec import Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply, render
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.models.cases import Case
from bot.services import numbering
from bot.services.cases import engine as cases
from bot.services.cases.spec import kind_of

intent = Intent(
    "case_status",
    description="办理进度",
    menu_keys=("CASE_STATUS",),
    commands=("查进度", "进度查询", "我的调解进度", "我的进度", "我反映的事怎么样了"),
    # "我的申请办得怎么样了" at a form's question is answered, and the question asked again.
    interrupts_forms=True,
)

LISTED = 5  # a WeChat reply holds about this many cases readably
_CODE = re.compile(r"(?<!\d)(\d{4,6})(?!\d)")


def case_number(turn: Turn, text: str) -> str:
    found = numbering.find_numbers(text)
    if not found:
        raise Invalid("replies/case_status/bad_number.txt")
    return found[0]


def query_code(turn: Turn, text: str) -> str:
    match = _CODE.fullmatch(text.strip())
    if match is None:
        raise Invalid("replies/case_status/bad_code.txt")
    number = str(turn.state.values.get("number") or "")
    if number and cases.lookup(turn.db, number, match.group(1)) is None:
        # Asked again (three tries, as every slot): a mistyped code is not the end. A wrong
        # code and a missing number get the same words, so guessing tells nothing.
        raise Invalid("replies/case_status/not_found_retry.txt", number=number)
    return match.group(1)


lookup = intent.form(
    Slot("number", "编号", validate=case_number, numeric=True, max_len=40),
    Slot("code", "查询码", validate=query_code, numeric=True, max_len=10),
    confirm=False,
)


@intent.handler
def status(turn: Turn) -> Reply:
    """List the member's cases, or show (or look up) the case the message names."""
    text = turn.message.text if turn.message.msg_type in ("text", "voice") else ""
    numbers = numbering.find_numbers(text)
    if not numbers:
        return listing(turn)
    number = numbers[0]
    case = cases.by_number(turn.db, number)
    if case is not None and case.openid == turn.user_id:
        return Reply("replies/case_status/detail.txt", {"item": item(turn, case), "own": True})
    code = _CODE.search(numbering.without_numbers(text))
    values = {"number": number, **({"code": code.group(1)} if code else {})}
    return turn.start_form("case_status", values)


@lookup.on_submit
def look_up(turn: Turn, values: dict[str, Any]) -> Submitted:
    case = cases.lookup(turn.db, values["number"], values["code"])
    if case is None:
        return Submitted(
            "", Reply("replies/case_status/not_found.txt", {"number": values["number"]})
        )
    reply = Reply(
        "replies/case_status/detail.txt",
        {"item": item(turn, case), "own": case.openid == turn.user_id},
    )
    return Submitted(case.number, reply)


def listing(turn: Turn) -> Reply:
    mine = cases.of_member(turn.db, turn.user_id)
    if not mine:
        return Reply("replies/case_status/none.txt")
    items = [item(turn, case) for case in mine[:LISTED]]
    return Reply("replies/case_status/list.txt", {"items": items, "more": len(mine) - LISTED})


def item(turn: Turn, case: Case) -> dict[str, Any]:
    """What a member reads about one case: status, the last change told, the next step."""
    kind = kind_of(case)
    state = kind.state(case.status)
    context = cases.revive(cases.member_context(turn.db, case))
    last = cases.last_member_event(case)
    # The member's own step (补材料 supplied) is news to the status line too: the change
    # they were told before it ("待补材料：…") is stale once they have answered it.
    own = [
        e
        for e in case.events
        if e.actor == cases.MEMBER and e.action != "submit" and e.to_status == case.status
    ]
    if own and (last is None or own[-1].at >= last.at):
        last = own[-1]
    change = ""
    if last is not None:
        change = render(
            Reply(
                kind.template("event"),
                {
                    **context,
                    "action": last.action,
                    "note": last.note,
                    "event": cases.revive(last.data),
                },
            )
        )
    slug = state.slug if state is not None else "unknown"
    return {
        "number": case.number,
        "label": render(Reply(kind.template("label"))),
        "status": case.status,
        "category": case.category,
        "created": case.created_at,
        "changed": last.at if last is not None else case.created_at,
        "change": change,
        "next": render(Reply(kind.template(f"next_{slug}"), context)),
    }
