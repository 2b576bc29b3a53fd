"""Policy questions (政策咨询), answered from the curated knowledge base.

Three bands (``bot.kb.answers``): a confident answer with its source; "您是想问" with
numbered choices (a reply of the number answers it); or an honest "暂时没有找到", which
records the question in ``unanswered_questions`` for curators. No slots.

An entry about a service may offer to start its form (front matter ``offer: legal_checkup``):
the answer ends with the form's ``replies/<form>/offer.txt`` ("回复1立即预约"), and a "1"
next starts that form.
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply, render
from bot.dialogue.turn import Turn
from bot.kb import answers
from bot.kb.base import Decision

intent = Intent(
    "policy_question",
    description="政策、办事流程、商会事务等知识性问题",
    menu_keys=("POLICY_ASK", "POLICY_HOT"),
    light=True,  # the index is in memory; unanswered questions are noted, written later
    interrupts_forms=True,  # "报名要带什么材料吗" in the middle of a form is answered
)


@intent.handler
def answer(turn: Turn) -> Reply:
    if turn.message.msg_type == "event":
        return Reply("replies/policy_question/ask.txt")
    if turn.kb is None:
        return Reply("replies/policy_question/none.txt", {"question": turn.text})
    choice = turn.entities.get("choice")
    if choice is not None and turn.state.choice_kind == intent.name:
        return _chosen(turn, int(choice))
    found = answers.answer(turn.kb, turn.text, org=turn.org, links=turn.links)
    if found.band == "choices":
        turn.state.choices = found.choices
        turn.state.choice_kind = intent.name
    elif found.band == "none":
        _record_unanswered(turn, found.decision)
    elif found.topic is not None:
        return _with_offer(turn, found.topic, found.reply)
    return found.reply


def _chosen(turn: Turn, number: int) -> Reply:
    topics = turn.state.choices
    if not 1 <= number <= len(topics):
        return Reply("replies/policy_question/bad_choice.txt", {"count": len(topics)})
    turn.state.choices = []
    turn.state.choice_kind = None
    picked = topics[number - 1]
    if picked.startswith(OFFER):
        return turn.start_form(picked[len(OFFER) :])
    reply = answers.answer_topic(turn.kb, picked, org=turn.org, links=turn.links)
    return _with_offer(turn, picked, reply)


# A choice that starts a form rather than answering an entry ("offer:legal_checkup").
OFFER = "offer:"


def _with_offer(turn: Turn, topic: str, reply: Reply) -> Reply:
    """The answer, and the entry's offer to start its form when it makes one."""
    entry = turn.kb.entry(topic)
    form = getattr(entry, "offer", "") if entry is not None else ""
    if not form or turn.degraded or turn.forms is None or form not in turn.forms.forms:
        return reply  # in an outage the answer alone: a "回复1" could not be remembered
    turn.state.choices = [f"{OFFER}{form}"]
    turn.state.choice_kind = intent.name
    return Reply(
        "replies/policy_question/offered.txt",
        {"answer": render(reply), "offer": render(Reply(f"replies/{form}/offer.txt"))},
    )


def _record_unanswered(turn: Turn, decision: Decision) -> None:
    best = decision.candidates[0] if decision.candidates else None
    turn.note(
        "unanswered",
        normalised=turn.text[:255],
        text=turn.message.text[:2000],
        topic=best.topic if best else None,
        score=round(best.score, 4) if best else None,
    )
