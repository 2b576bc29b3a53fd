"""Notices (最新通知): the latest notices this member may see, numbered, with their page
links; "通知 2" (or a bare "2" right after the list) opens one. "#通知 内容" from an admin's
own bound WeChat saves a draft waiting for a second admin's approval in the console.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.models import AdminUser, Notice
from bot.nlu.entities.numbers import small_int
from bot.services import clock
from bot.services.notices import compose

_NTH = re.compile(
    r"^(?:看|看看|打开|点开|我要看|我看)?第([一二两三四五六七八九十\d]{1,3})条(?:通知)?$"
)

intent = Intent(
    "notices",
    description="最新通知公告",
    menu_keys=("NOTICES",),
    commands=("最新通知", "通知公告", "查看通知"),
    # "通知3" opens the third of the list; "#通知…" is an admin's draft (normalised text);
    # "第一条", "看第2条通知": a notice of the list (notices are counted in 条).
    patterns=(r"^通知\d{1,2}$", r"^#通知", _NTH.pattern),
)
LIST_SIZE = 8
_DRAFT = re.compile(r"^\s*[#＃]\s*通知[\s:：]*")


@intent.handler
def notices(turn: Turn) -> Reply:
    if turn.text.startswith("#"):
        return _draft(turn)
    picked = _picked(turn)
    if picked is not None:
        return _open(turn, picked)
    rows = compose.visible(turn.db, turn.user_id, LIST_SIZE)
    if not rows:
        return Reply("replies/notices/none.txt")
    turn.state.choices = [str(n.id) for n in rows]
    turn.state.choice_kind = intent.name
    urls = {n.id: turn.url("pages.notice", notice_id=n.id) for n in rows}
    # Stored in UTC; members read the organisation's wall-clock time.
    dates = {n.id: clock.to_local(n.started_at, turn.config) for n in rows}
    return Reply("replies/notices/list.txt", {"notices": rows, "urls": urls, "dates": dates})


def _picked(turn: Turn) -> int | None:
    choice = turn.entities.get("choice")
    if choice is not None and turn.state.choice_kind == intent.name:
        return int(choice)
    found = re.fullmatch(r"通知(\d{1,2})", turn.text)
    if found:
        return int(found.group(1))
    nth = _NTH.fullmatch(turn.text)
    if nth:
        return small_int(nth.group(1))
    return None


def _open(turn: Turn, number: int) -> Reply:
    ids = turn.state.choices if turn.state.choice_kind == intent.name else []
    if not ids:
        ids = [str(n.id) for n in compose.visible(turn.db, turn.user_id, LIST_SIZE)]
    if not ids:
        return Reply("replies/notices/none.txt")
    if not 1 <= number <= len(ids):
        return Reply("replies/notices/bad_choice.txt", {"count": len(ids)})
    notice = turn.db.get(Notice, int(ids[number - 1]))
    turn.state.choices, turn.state.choice_kind = [], None
    if notice is None:
        return Reply("replies/notices/none.txt")
    body = notice.body if len(notice.body) <= 300 else notice.body[:300] + "……"
    url = turn.url("pages.notice", notice_id=notice.id)
    return Reply("replies/notices/detail.txt", {"n": notice, "body": body, "url": url})


def _draft(turn: Turn) -> Reply:
    admin = turn.db.execute(
        select(AdminUser).where(
            AdminUser.openid == turn.user_id,
            AdminUser.role == "admin",
            AdminUser.active.is_(True),
        )
    ).scalar_one_or_none()
    if admin is None:
        return Reply("replies/notices/not_admin.txt")
    # What the admin typed, as typed (the normalised text lost its spaces and punctuation).
    content = _DRAFT.sub("", turn.message.text or "", count=1).strip()
    if not content:
        return Reply("replies/notices/draft_empty.txt")
    title, _, body = content.partition("\n")
    notice = compose.create(
        turn.db,
        title=title.strip()[: compose.TITLE_MAX],
        body=body.strip() or content,
        actor=admin.username,
        via="wechat",
    )
    # From a phone, whatever its audience: a second admin approves it in the console.
    notice.status = compose.PENDING
    notice.submitted_by = admin.username
    compose.audit(turn.db, admin.username, "notice.submit", notice, via="wechat")
    turn.db.flush()
    return Reply("replies/notices/draft_saved.txt", {"n": notice})
