"""Policy questions (政策咨询), answered from the curated knowledge base.

Three bands: a confident answer with its source; "您是想问" with numbered choices (a reply
of the number answers it); or an honest "暂时没有找到", which records the question in
``unanswered_questions`` for curators.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.intents import Intent, Turn
from bot.dialogue.replies import Reply

intent = Intent(
    "policy_question",
    description="政策、办事流程、商会事务等知识性问题",
    menu_keys=("POLICY_ASK", "POLICY_HOT"),
    light=True,  # the index is in memory; unanswered questions are noted, written later
)
MAX_CHOICES = 3


@intent.handler
def answer(turn: Turn) -> Reply:
    kb = turn.kb
    if turn.message.msg_type == "event":
        return Reply("replies/policy_question/ask.txt")
    if kb is None:
        return Reply("replies/policy_question/none.txt", {"question": turn.text})
    choice = turn.entities.get("choice")
    if choice is not None and turn.state.choice_kind == intent.name:
        return _chosen(turn, int(choice))
    decision = kb.decide(turn.text)
    reply = reply_for(kb, decision, turn.text, org=turn.org, base_url=_base(turn))
    if decision.band == "choices":
        turn.state.choices = [c.topic for c in decision.candidates[:MAX_CHOICES]]
        turn.state.choice_kind = intent.name
    elif decision.band == "none":
        _record_unanswered(turn, decision)
    return reply


def reply_for(
    kb: Any,
    decision: Any,
    question: str,
    *,
    org: Any = None,
    base_url: str = "",
) -> Reply:
    """The reply for a retrieval decision (shared with ``flask kb ask``)."""
    if decision.band == "answer":
        return answer_reply(kb, decision.topic, org=org, base_url=base_url)
    if decision.band == "choices":
        titles = [kb.entry(c.topic).title for c in decision.candidates[:MAX_CHOICES]]
        return Reply("replies/policy_question/choices.txt", {"titles": titles})
    return Reply("replies/policy_question/none.txt", {"question": question[:40]})


def answer_reply(kb: Any, topic: str, *, org: Any = None, base_url: str = "") -> Reply:
    """The answer with its source, rendered once per entry and index (then reused)."""
    from bot.dialogue.replies import org_settings, render

    cached = kb.reply_cache.get((topic, base_url))
    if cached is not None:
        return Reply(text=cached)
    entry = kb.entry(topic)
    text = render(
        Reply(
            "replies/policy_question/answer.txt",
            {
                "answer": kb.render_answer(topic, org or org_settings()),
                "entry": entry,
                "link": f"{base_url}/kb/{topic}" if base_url and entry.detail else "",
            },
        )
    )
    kb.reply_cache[(topic, base_url)] = text
    return Reply(text=text)


def _chosen(turn: Turn, number: int) -> Reply:
    topics = turn.state.choices
    if not 1 <= number <= len(topics):
        return Reply("replies/policy_question/bad_choice.txt", {"count": len(topics)})
    turn.state.choices = []
    turn.state.choice_kind = None
    if turn.kb.entry(topics[number - 1]) is None:
        return Reply("replies/policy_question/none.txt", {"question": ""})
    return answer_reply(turn.kb, topics[number - 1], org=turn.org, base_url=_base(turn))


def _base(turn: Turn) -> str:
    return str(turn.config.get("PUBLIC_BASE_URL", "")).rstrip("/")


def _record_unanswered(turn: Turn, decision: Any) -> None:
    best = decision.candidates[0] if decision.candidates else None
    turn.note(
        "unanswered",
        normalised=turn.text[:255],
        text=turn.message.text[:2000],
        topic=best.topic if best else None,
        score=round(best.score, 4) if best else None,
    )
