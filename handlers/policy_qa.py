"""Policy questions (政策咨询), answered from the curated knowledge base.

Three bands (``bot.kb.answers``): a confident answer with its source; "您是想问" with
numbered choices (a reply of the number answers it); or an honest "暂时没有找到", which
records the question in ``unanswered_questions`` for curators. No slots.
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
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
    return found.reply


def _chosen(turn: Turn, number: int) -> Reply:
    topics = turn.state.choices
    if not 1 <= number <= len(topics):
        return Reply("replies/policy_question/bad_choice.txt", {"count": len(topics)})
    turn.state.choices = []
    turn.state.choice_kind = None
    return answers.answer_topic(turn.kb, topics[number - 1], org=turn.org, links=turn.links)


def _record_unanswered(turn: Turn, decision: Decision) -> None:
    best = decision.candidates[0] if decision.candidates else None
    turn.note(
        "unanswered",
        normalised=turn.text[:255],
        text=turn.message.text[:2000],
        topic=best.topic if best else None,
        score=round(best.score, 4) if best else None,
    )
