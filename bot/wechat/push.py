"""Customer-service pushes within WeChat's window, holding what cannot be sent.

A member's message opens 5 pushes within 48 h; a menu click, follow or scan opens 3 within
a minute (the ledger sets these counters on every inbound message). A push takes one from
the counter; with none left the text is kept in ``pending_replies`` and shown, with
"您有一条待查看的回复", on the member's next message.
"""

from __future__ import annotations

import logging

import redis
from wechatpy.exceptions import WeChatClientException

from bot.extensions import DBSession
from bot.models import OutboundMessage, PendingReply, utcnow
from bot.wechat.api import BotWeChatClient

log = logging.getLogger(__name__)

# Take one push from the first window that has one left; answer which, or nil.
_TAKE = """
for i, key in ipairs(KEYS) do
  local left = tonumber(redis.call('get', key) or '0')
  if left > 0 then redis.call('decr', key) return key end
end
return false
"""
# 45015: out of the 48 h window; 45047: pushes used up; 43004: the user unfollowed.
WINDOW_CLOSED = frozenset({45015, 45047})


def take_window(client: redis.Redis, openid: str) -> bool:
    script = client.register_script(_TAKE)
    return bool(script(keys=[f"bot:win:msg:{openid}", f"bot:win:evt:{openid}"]))


def hold(db: DBSession, client: redis.Redis | None, openid: str, text: str) -> None:
    """Keep ``text`` for the member's next message (durable in SQL, flagged in Redis)."""
    db.add(PendingReply(openid=openid, text=text))
    db.flush()
    if client is not None:
        client.set(f"bot:pending:{openid}", 1, ex=30 * 24 * 3600)


def push_text(
    db: DBSession,
    client: redis.Redis,
    api: BotWeChatClient,
    openid: str,
    text: str,
    *,
    template_id: str | None = None,
) -> str:
    """Send ``text`` as a customer-service message, else as a template message when a
    template is given, else hold it; answer "sent", "template" or "held"."""
    if not take_window(client, openid):
        return _outside_window(db, client, api, openid, text, template_id)
    try:
        api.message.send_text(openid, text)
    except WeChatClientException as exc:
        if exc.errcode in WINDOW_CLOSED:
            return _outside_window(db, client, api, openid, text, template_id)
        raise
    db.add(OutboundMessage(kind="custom", openid=openid, status="sent", detail=text[:500]))
    return "sent"


def take_pending(db: DBSession, openid: str) -> list[str]:
    """The held texts for ``openid``, oldest first, marked delivered."""
    rows = (
        db.query(PendingReply)
        .filter(PendingReply.openid == openid, PendingReply.delivered_at.is_(None))
        .order_by(PendingReply.id)
        .all()
    )
    now = utcnow()
    for row in rows:
        row.delivered_at = now
    return [row.text for row in rows]


def _outside_window(
    db: DBSession,
    client: redis.Redis,
    api: BotWeChatClient,
    openid: str,
    text: str,
    template_id: str | None,
) -> str:
    if template_id:
        # The notice template: first line as the title, the rest as the remark.
        title, _, rest = text.partition("\n")
        data = {"first": {"value": title}, "remark": {"value": rest[:180]}}
        try:
            result = api.message.send_template(openid, template_id, data)
        except WeChatClientException:
            log.warning("template message to %s failed; holding the notice", openid)
        else:
            db.add(
                OutboundMessage(
                    kind="template",
                    openid=openid,
                    msg_id=result.get("msgid"),
                    status="sent",
                    detail=text[:500],
                )
            )
            return "template"
    hold(db, client, openid, text)
    return "held"
