"""Human hand-off (人工): opens a ``Handoff`` staff answer from the console.

In office hours the member is told a person will answer; outside them, when someone will
be back, and that a message left now will be answered then. While the hand-off is open the
dispatcher routes the member's messages to it instead of answering them itself.
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.kb import answers
from bot.services import handoff

intent = Intent(
    "human_agent",
    description="要求人工客服",
    commands=("人工", "转人工", "人工客服", "人工服务", "找人工"),
)


# Asking to leave a hand-off that is already over is not asking for a person.
_LEAVING = frozenset({"退出人工", "结束人工", "退出人工服务", "不用人工了"})
# Below this the model is guessing: a worried member's long story is not a request for a
# person when the knowledge base can answer the question at its end.
_SURE = 0.5


@intent.handler
def hand_over(turn: Turn) -> Reply:
    text = turn.message.text.strip()
    if turn.text in _LEAVING:
        return Reply("replies/human_agent/not_in_handoff.txt")
    if text not in intent.commands and turn.confidence < _SURE and turn.kb is not None:
        found = answers.answer(turn.kb, turn.text, org=turn.org, links=turn.links)
        if found.band == "answer":
            return found.reply
    row = handoff.open_handoff(turn.db, turn.user_id, reason="asked")
    if (
        turn.message.msg_type in ("text", "voice")
        and turn.message.text.strip() not in intent.commands
    ):
        handoff.add_member_message(turn.db, row, turn.message.text)
    turn.state.handoff = True
    turn.state.active_form = None
    turn.state.requested_slot = None
    if handoff.in_office_hours(turn.local_now(), turn.config):
        return Reply("replies/human_agent/waiting.txt")
    return Reply("replies/human_agent/after_hours.txt")
