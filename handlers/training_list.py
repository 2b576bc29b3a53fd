"""Open training sessions (近期培训): a numbered list; a number shows one session's details.

No slots; it writes nothing. The session last shown is remembered so that "报名" right
after it signs up for that one.
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.models import TrainingSession
from bot.services import training

intent = Intent(
    "training_list",
    description="有哪些培训、讲座可以报名",
    menu_keys=("TRAINING_LIST",),
    commands=("近期培训", "培训列表", "最近培训"),
)


@intent.handler
def list_sessions(turn: Turn) -> Reply:
    sessions = training.open_sessions(turn.db, turn.local_now())
    choice = turn.entities.get("choice")
    if choice is not None and turn.state.choice_kind == intent.name:
        ids = turn.state.choices
        if not 1 <= int(choice) <= len(ids):
            return Reply("replies/training_list/bad_choice.txt", {"count": len(ids)})
        session = turn.db.get(TrainingSession, int(ids[int(choice) - 1]))
        turn.state.choices, turn.state.choice_kind = [], None
        if session is None:
            return Reply("replies/training_list/none.txt")
        turn.state.values["last_session"] = str(session.id)
        return Reply("replies/training_list/detail.txt", {"s": session})
    kind = str(turn.entities.get("training_kind") or "")
    if kind:
        wanted = [s for s in sessions if training.kind_matches(s, kind)]
        sessions = wanted or sessions
    if not sessions:
        return Reply("replies/training_list/none.txt")
    sessions = sessions[:8]
    turn.state.choices = [str(s.id) for s in sessions]
    turn.state.choice_kind = intent.name
    return Reply("replies/training_list/list.txt", {"sessions": sessions})
