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

import re
from itertools import product
from typing import Any

from bot.dialogue.forms.spec import Choice, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
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
    Choice(
        "满意",
        "满意",
        ("满意", "很满意", "非常满意", "挺满意", "比较满意", "非常好", "很好", "点赞"),
    ),
    Choice(
        "基本满意",
        "基本满意",
        ("基本满意", "还算满意", "凑合", "马马虎虎", "一般般", "还行", "还可以", "一般"),
    ),
    Choice("不满意", "不满意", ("不满意", "很不满意", "非常不满意", "不太满意")),
)
if (
    tuple(c.value for c in SOLVED) != appeals.SOLVED
    or tuple(c.value for c in RATINGS) != appeals.RATINGS
):
    raise RuntimeError("handlers.appeal_feedback must offer appeals.SOLVED and appeals.RATINGS")


# Words that answer "问题解决了吗" or "满意吗" on their own (not "一般", "还行": too common).
_CLAIMING = tuple(a for c in SOLVED for a in c.aliases) + tuple(
    a for c in RATINGS for a in c.aliases if "满意" in a
)
_ASKING = re.compile(r"[?？吗]$|怎么|如何|为什么|什么时候")


def _commands() -> tuple[str, ...]:
    """The exact replies that select this intent: a solved word, a rating, or both in
    either order ("已解决满意", "不满意没解决"), normalised as messages are."""
    solved = [a for c in SOLVED for a in c.aliases]
    ratings = [a for c in RATINGS for a in c.aliases if "满意" in a]
    phrases = [*solved, *ratings]
    phrases += [s + r for s, r in product(solved, ratings)]
    phrases += [r + s for s, r in product(solved, ratings)]
    return tuple(dict.fromkeys(normalise(p) for p in phrases))


def claims(turn: Turn) -> bool:
    """A 回访 answer in the member's own words ("解决了，谢谢你们", "还是没解决，银行没联系
    我们"): it names an outcome or a rating, is not a question, and an answered appeal of
    theirs is waiting for it."""
    text = turn.text
    if turn.state.active_form or len(text) > 80 or _ASKING.search(text):
        return False
    if not any(word in text for word in _CLAIMING):
        return False
    return bool(appeals.awaiting_feedback(turn.db, turn.user_id))


intent = Intent(
    "appeal_feedback",
    description="诉求回访评价",
    commands=_commands(),
    classified=False,  # reached by its own words only: they answer the bot's question
    in_forms=False,  # at another form's prompt "满意" answers that form
    claims=claims,
)


def waiting(turn: Turn) -> list[Choice]:
    """The member's appeals waiting for a 回访 answer, as options (by number or title)."""
    return [
        Choice(c.number, f"{c.number}（{c.title}）" if c.title else c.number, (c.number, c.title))
        for c in appeals.awaiting_feedback(turn.db, turn.user_id)
    ]


feedback_form = intent.form(
    Slot("number", "哪一件诉求", "choice", choices=waiting),
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
    open_ = appeals.awaiting_feedback(turn.db, turn.user_id)
    named = numbering.find_numbers(turn.message.text if turn.message else "")
    if named:
        open_ = [c for c in open_ if c.number == named[0]] or open_
    if not open_:
        closed = [
            c
            for c in cases.of_member(turn.db, turn.user_id)
            if c.kind == appeals.NAME and c.status == appeals.CLOSED
        ]
        return Reply("replies/appeal_feedback/none.txt", {"closed": closed[:1]})
    # Several waiting and none named: the form asks which one.
    return turn.start_form(
        "appeal_feedback", {"number": open_[0].number} if len(open_) == 1 else {}
    )


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
            "title": case.title,
            "reopened": case.status != appeals.CLOSED,
            "escalated": bool(data.get("escalated")) and case.status != appeals.CLOSED,
            "due": case.due_at,
            "solved": values["solved"],
            "rating": values["rating"],
        },
    )
    return Submitted(case.number, reply)
