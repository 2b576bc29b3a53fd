"""My registrations (我的报名): status, waiting-list place and check-in link. Writes nothing."""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.services import training

intent = Intent(
    "training_mine",
    description="查看自己的报名",
    menu_keys=("TRAINING_MINE",),
    commands=("我的报名", "查看报名", "我的培训"),
)


@intent.handler
def show(turn: Turn) -> Reply:
    rows = training.my_registrations(turn.db, turn.user_id, turn.local_now())
    if not rows:
        return Reply("replies/training_mine/none.txt")
    items = [
        {
            "reg": r,
            "s": r.session,
            "position": training.waitlist_position(turn.db, r),
            "checkin": turn.url("pages.checkin_code", code=r.checkin_code),
        }
        for r in rows
    ]
    return Reply("replies/training_mine/list.txt", {"items": items})
