"""Policy questions (政策咨询), answered from the curated knowledge base."""

from __future__ import annotations

from bot.dispatch import Intent, Turn
from bot.replies import Reply

intent = Intent(
    "policy_question",
    description="政策、办事流程、商会事务等知识性问题",
    menu_keys=("POLICY_ASK", "POLICY_HOT"),
)


@intent.handler
def answer(turn: Turn) -> Reply:
    if turn.message.msg_type == "event":
        return Reply("replies/policy_question/ask.txt")
    if turn.kb is None:
        return Reply("replies/policy_question/none.txt", {"question": turn.text})
    result = turn.kb.answer_turn(turn)
    assert isinstance(result, Reply)
    return result
