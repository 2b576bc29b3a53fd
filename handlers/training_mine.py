"""My registrations (我的报名): status, waiting-list place and check-in link. Writes nothing."""

from __future__ import annotations

from bot.dialogue.intents import Intent, Turn
from bot.dialogue.replies import Reply
from bot.services import training

intent = Intent(
    "training_mine",
    description="查看自己的报名",
    menu_keys=("TRAINING_MINE",),
    commands=("我的报名", "查看报名", "我的培训"),
)


@intent.handler
def show(turn: Turn) -> Reply:
    now = training.local_now(str(turn.config.get("ORG_TIMEZONE", "Asia/Shanghai")))
    rows = training.my_registrations(turn.db, turn.user_id, now)
    if not rows:
        return Reply("replies/training_mine/none.txt")
    base = str(turn.config.get("PUBLIC_BASE_URL", "")).rstrip("/")
    items = [
        {
            "reg": r,
            "s": r.session,
            "position": training.waitlist_position(turn.db, r),
            "checkin": f"{base}/checkin/{r.checkin_code}",
        }
        for r in rows
    ]
    return Reply("replies/training_mine/list.txt", {"items": items})
