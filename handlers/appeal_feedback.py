"""The enterprise's 回访 answer to an answered appeal: solved or not, and a rating.

The answer message (``replies/cases/appeal/answer.txt``) asks "问题解决了吗"; the member may
reply at once or days later, in a few words ("已解决，满意", "没解决", "不满意"). The reply
is understood by its own words — exact phrases, so they never take over another form's
answer — and applied to the member's newest appeal waiting for it (or the one whose number
the message names). What is missing (the rating, a comment when not satisfied) is asked.
A good outcome closes the appeal; 未解决 or 不满意 reopens it for 重办, and a second 不满意
escalates it to an admin (``bot.services.cases.appeals.feedback``).
"""

from __future__ import annotations

from itertools import product
from typing import Any

from bot.dialogue.forms.spec import Choice, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.nlu.normalise import normalise
from bot.services import numbering
from bot.services.cases import appeals
from bot.services.cases import engine as cases

SOLVED = (
    Choice("已解决", "已解决", ("已解决", "解决了", "已经解决", "都解决了", "搞定了", "办好了")),
    Choice("部分解决", "部分解决", ("部分解决", "解决了一部分", "解决一部分", "解决了部分")),
    Choice(
        "未解决",
        "未解决",
        ("未解决", "没解决", "没有解决", "还没解决", "未能解决", "没办好"),
    ),
)
RATINGS = (
    Choice("满意", "满意", ("满意", "很满意", "非常满意", "挺满意", "比较满意")),
    Choice("基本满意", "基本满意", ("基本满意", "还算满意", "凑合", "马马虎虎")),
    Choice("不满意", "不满意", ("不满意", "很不满意", "非常不满意", "不太满意")),
)
if (
    tuple(c.value for c in SOLVED) != appeals.SOLVED
    or tuple(c.value for c in RATINGS) != appeals.RATINGS
):
    raise RuntimeError("handlers.appeal_feedback must offer appeals.SOLVED and appeals.RATINGS")


def _commands() -> tuple[str, ...]:
    """The exact replies that select this intent: a solved word, a rating, or both in
    either order ("已解决满意", "不满意没解决"), normalised as messages are."""
    solved = [a for c in SOLVED for a in c.aliases]
    ratings = [a for c in RATINGS for a in c.aliases]
    phrases = [*solved, *ratings]
    phrases += [s + r for s, r in product(solved, ratings)]
    phrases += [r + s for s, r in product(solved, ratings)]
    return tuple(dict.fromkeys(normalise(p) for p in phrases))


intent = Intent(
    "appeal_feedback",
    description="诉求回访评价",
    commands=_commands(),
    classified=False,  # reached by its exact words only: they answer the bot's question
)


def ticket(turn: Turn, text: str) -> str:
    found = numbering.find_numbers(text)
    if not found:
        raise Invalid("replies/case_status/bad_number.txt")
    return found[0]


feedback_form = intent.form(
    Slot("number", "诉求编号", validate=ticket, numeric=True, max_len=40),
    Slot("solved", "问题是否解决", "choice", options=SOLVED, mention=True),
    Slot("rating", "满意度", "choice", options=RATINGS, mention=True),
    Slot(
        "comment",
        "意见建议",
        optional=True,
        max_len=500,
        free_text=True,
        when=lambda v: v.get("rating") == "不满意" or v.get("solved") != "已解决",
    ),
    confirm=False,
)


@intent.handler
def answer(turn: Turn) -> Reply:
    """Start the 回访 answer for the appeal it is about, or say there is none waiting."""
    waiting = appeals.awaiting_feedback(turn.db, turn.user_id)
    named = numbering.find_numbers(turn.message.text if turn.message else "")
    if named:
        waiting = [c for c in waiting if c.number == named[0]] or waiting
    if not waiting:
        return Reply("replies/appeal_feedback/none.txt")
    return turn.start_form("appeal_feedback", {"number": waiting[0].number})


@feedback_form.on_submit
def submit(turn: Turn, values: dict[str, Any]) -> Submitted:
    case = cases.by_number(turn.db, values["number"])
    if (
        case is None
        or case.openid != turn.user_id
        or case not in appeals.awaiting_feedback(turn.db, turn.user_id)
    ):
        return Submitted("", Reply("replies/appeal_feedback/none.txt"))
    appeals.feedback(
        turn.db,
        case,
        solved=values["solved"],
        rating=values["rating"],
        comment=values.get("comment") or "",
        today=turn.local_now().date(),
    )
    data = case.data or {}
    reply = Reply(
        "replies/appeal_feedback/done.txt",
        {
            "number": case.number,
            "reopened": case.status != appeals.CLOSED,
            "escalated": bool(data.get("escalated")) and case.status != appeals.CLOSED,
            "due": case.due_at,
            "solved": values["solved"],
            "rating": values["rating"],
        },
    )
    return Submitted(case.number, reply)
