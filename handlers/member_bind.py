"""Member binding (会员认证): name, mobile, company → the roster row gets this openid.

No match offers to apply as a new member (a ``MemberRequest`` staff approve). A member who
is already bound sees their details and may change company, position or mobile through
the second form, ``member_update``.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.forms.spec import Slot
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.models import Member, MemberRequest
from bot.services import members
from handlers import validators

intent = Intent(
    "member_bind",
    description="认证会员身份或修改会员资料",
    menu_keys=("MEMBER_BIND",),
    commands=("会员认证", "绑定会员", "认证会员", "修改资料"),
)


def company_and_lookup(turn: Turn, text: str) -> str:
    """The company; also looks the person up, so the form knows whether to offer applying."""
    company = "" if text in ("跳过", "无", "没有") else validators.free_text(2, 100)(turn, text)
    values = turn.state.values
    found = members.match(turn.db, values.get("name", ""), values.get("phone", ""), company)
    values["matched"] = found.id if found is not None else 0
    return company


bind_form = intent.form(
    Slot("name", "姓名", validate=validators.person_name, entity="person_name"),
    Slot("phone", "手机号", validate=validators.cn_mobile, entity="phone"),
    Slot("company", "单位", validate=company_and_lookup, free_text=True),
    Slot("apply", "申请入会", validate=validators.yes_no, when=lambda v: v.get("matched") == 0),
    Slot(
        "chamber",
        "所属商会",
        validate=validators.free_text(2, 100),
        optional=True,
        free_text=True,
        when=lambda v: v.get("matched") == 0 and v.get("apply") == "yes",
    ),
    name="member_bind",
    confirm=False,
)

update_form = intent.form(
    Slot(
        "company", "单位", validate=validators.free_text(2, 100), profile="company", free_text=True
    ),
    Slot(
        "position", "职务", validate=validators.free_text(1, 50), profile="position", free_text=True
    ),
    Slot("phone", "手机号", validate=validators.cn_mobile, profile="mobile", entity="phone"),
    name="member_update",
)


@update_form.on_prefill
def current_details(turn: Turn) -> dict[str, Any]:
    return members.profile(turn.db, turn.user_id)


@intent.handler
def start(turn: Turn) -> Reply:
    member = members.by_openid(turn.db, turn.user_id)
    if member is None:
        return turn.start_form("member_bind")
    if "修改" in turn.message.text or "改" in turn.text:
        return turn.start_form("member_update")
    return Reply("replies/member_bind/already.txt", {"m": member})


@bind_form.on_submit
def bind(turn: Turn, values: dict[str, Any]) -> Reply:
    matched = int(values.get("matched") or 0)
    if matched:
        member = turn.db.get(Member, matched)
        assert member is not None
        if member.openid and member.openid != turn.user_id:
            return Reply("replies/member_bind/taken.txt")
        members.bind(turn.db, member, turn.user_id)
        return Reply("replies/member_bind/bound.txt", {"m": member, "ref": str(member.id)})
    if values.get("apply") != "yes":
        return Reply("replies/member_bind/not_found.txt")
    request = MemberRequest(
        openid=turn.user_id,
        name=values["name"],
        mobile=values["phone"],
        company=values.get("company", ""),
        chamber_name=values.get("chamber", ""),
    )
    turn.db.add(request)
    turn.db.flush()
    return Reply("replies/member_bind/applied.txt", {"ref": str(request.id)})


@update_form.on_submit
def update(turn: Turn, values: dict[str, Any]) -> Reply:
    member = members.by_openid(turn.db, turn.user_id)
    if member is None:
        return Reply("replies/member_bind/not_found.txt")
    member.company = values["company"]
    member.position = values["position"]
    member.mobile = values["phone"]
    return Reply("replies/member_bind/updated.txt", {"m": member, "ref": str(member.id)})
