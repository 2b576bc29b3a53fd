"""Member binding (会员认证): name, mobile, company → the roster row gets this openid.

No match offers to apply as a new member (a ``MemberRequest`` staff approve), with the
chamber to join picked from the ``chambers`` table (skipped when there is none). A member
who is already bound sees their details and may change company, position or mobile
through the second form, ``member_update``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.dialogue.forms.spec import Choice, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.models import Chamber, Member, MemberRequest
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
    company = "" if text in SKIP_COMPANY else validators.free_text(2, 100)(turn, text)
    values = turn.state.values
    found = members.match(turn.db, values.get("name", ""), values.get("phone", ""), company)
    values["matched"] = found.id if found is not None else 0
    return company


SKIP_COMPANY = frozenset({"跳过", "无", "没有", "不知道"})


def chamber_choices(turn: Turn) -> list[Choice]:
    """The chambers a new member may ask to join, by name (a short name names one too)."""
    rows = turn.db.execute(select(Chamber).order_by(Chamber.name)).scalars()
    return [Choice(str(c.id), c.name, _short_names(c.name)) for c in rows]


def _short_names(name: str) -> tuple[str, ...]:
    # "示范市浙江商会" is also "浙江商会"; the words are the chamber's own name, not ours.
    for cut in ("市", "区", "县"):
        head, found, rest = name.partition(cut)
        if found and len(rest) >= 3:
            return (rest,)
    return ()


bind_form = intent.form(
    Slot("name", "姓名", validate=validators.person_name, entity="person_name"),
    Slot("phone", "手机号", "phone", entity="phone"),
    Slot("company", "单位", validate=company_and_lookup, max_len=100, free_text=True),
    Slot("apply", "申请入会", "yes_no", when=lambda v: v.get("matched") == 0),
    Slot(
        "chamber",
        "所属商会",
        "choice",
        choices=chamber_choices,
        optional=True,
        when=lambda v: v.get("matched") == 0 and v.get("apply") is True,
    ),
    name="member_bind",
    confirm=False,
)

update_form = intent.form(
    Slot("company", "单位", min_len=2, max_len=100, profile="company", free_text=True),
    Slot("position", "职务", max_len=50, profile="position", free_text=True),
    Slot("phone", "手机号", "phone", profile="mobile", entity="phone"),
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
def bind(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    matched = int(values.get("matched") or 0)
    if matched:
        member = turn.db.get(Member, matched)
        assert member is not None
        if member.openid and member.openid != turn.user_id:
            return Submitted("", Reply("replies/member_bind/taken.txt"))
        members.bind(turn.db, member, turn.user_id)
        return Submitted(str(member.id), Reply("replies/member_bind/bound.txt", {"m": member}))
    if not values.get("apply"):
        return Submitted("", Reply("replies/member_bind/not_found.txt"))
    chamber = turn.db.get(Chamber, int(values["chamber"])) if values.get("chamber") else None
    request = MemberRequest(
        openid=turn.user_id,
        name=values["name"],
        mobile=values["phone"],
        company=values.get("company", ""),
        chamber_name=chamber.name if chamber is not None else "",
    )
    turn.db.add(request)
    turn.db.flush()
    ref = str(request.id)
    return Submitted(ref, Reply("replies/member_bind/applied.txt", {"ref": ref}))


@update_form.on_submit
def update(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    member = members.by_openid(turn.db, turn.user_id)
    if member is None:
        return Submitted("", Reply("replies/member_bind/not_found.txt"))
    member.company = values["company"]
    member.position = values["position"]
    member.mobile = values["phone"]
    return Submitted(str(member.id), Reply("replies/member_bind/updated.txt", {"m": member}))
