"""法治体检 booking (预约法治体检): a form on the form engine that opens a ``legal_checkup`` case.

Slots: the enterprise (pre-filled when bound), its industry and size (employees), the areas
to check (several may be picked, also understood from the first message: "合同和劳动用工
想查一查"), the preferred dates as the member says them ("下周三上午" — a date must be
understood, and not in the past), on-site or at a 集中体检 day, documents to look at (images
or files, at any step), the contact's name and phone (pre-filled when bound), consent to
pass the details to the lawyers, then confirmation.

Submitting opens a ``legal_checkup`` case (``bot.services.cases.legal_checkup``): numbered,
with the department that runs the check-ups, which arranges a time and a lawyer within 5
working days. Free of charge by default: the wording comes from ``ORG_LEGAL_CHECKUP_FEE``.
"""

from __future__ import annotations

import re
from typing import Any

from bot.dialogue.forms.spec import DONE, SKIP, Choice, Number, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.nlu.entities import extract
from bot.nlu.normalise import normalise
from bot.services import members
from bot.services.cases import engine as cases
from bot.services.cases import legal_checkup
from handlers import validators

_CHANGE = re.compile(
    r"(?:取消|改|换|推迟|延期|调整|提前|推后|不去|不做|不要|退).{0,6}体检"
    r"|体检.{0,8}(?:取消|改|换个?时间|推迟|延期|调整|提前|推后|往后|不去了|不做了"
    r"|不要了|退掉)"
)

intent = Intent(
    "legal_checkup",
    description="预约法治体检",
    menu_keys=("LEGAL_CHECKUP",),
    commands=("预约法治体检", "法治体检预约", "我要预约法治体检", "预约法律体检"),
    # Cancelling or changing a booking ("取消体检预约", "我想改一下体检时间"): explained, never
    # a new booking (tried before the classifier, which would start the form).
    patterns=(_CHANGE.pattern,),
)

# The values are legal_checkup.AREAS; the aliases are the words enterprises use for them.
AREAS = (
    Choice("合同", "合同管理", ("合同", "协议", "对账", "催收", "应收账款", "账款")),
    Choice(
        "劳动用工",
        "劳动用工",
        ("劳动", "用工", "劳动合同", "社保", "员工", "辞退", "加班", "规章制度", "人事"),
    ),
    Choice("知识产权", "知识产权", ("知识产权", "商标", "专利", "商业秘密", "版权", "著作权")),
    Choice("税务合规", "税务和财务合规", ("税务", "发票", "纳税", "财务", "公私账户", "税")),
    Choice("融资担保", "融资和担保", ("融资", "担保", "互保", "联保", "民间借贷", "借款", "贷款")),
    Choice(
        "公司治理", "公司治理", ("公司治理", "股权", "章程", "股东", "董事会", "实际控制人", "治理")
    ),
)
if tuple(c.value for c in AREAS) != legal_checkup.AREAS:
    raise RuntimeError("handlers.legal_checkup.AREAS must offer legal_checkup.AREAS")

MODES = (
    Choice("上门体检", "律师上门体检", ("上门", "来公司", "来厂里", "到企业", "现场")),
    Choice("集中体检", "参加集中体检日", ("集中", "体检日", "商会统一", "一起做", "集中体检")),
    # Not a bare 线上 ("线上预约" in a first message is no wish for an online check-up).
    Choice(
        "线上体检",
        "线上视频体检",
        ("线上体检", "线上就行", "线上吧", "线上的", "线上可以", "线上也行", "线上方式", "线上做")
        + ("视频", "远程", "网上体检", "腾讯会议"),
    ),
)
if tuple(c.value for c in MODES) != legal_checkup.MODES:
    raise RuntimeError("handlers.legal_checkup.MODES must offer legal_checkup.MODES")


# A preference with no one day in it, which staff can arrange all the same.
_FLEXIBLE = re.compile(
    r"月底|月初|月中|月内|本月|这个月|下个?月|尽快|越快越好|尽早|马上|随时|随便|哪天都|都行|都可以"
    r"|都方便|有空|近期|最近|这几天|过几天|工作日|周末|年前|年底|年内|节前|节后|听安排|你们定|看安排"
)


def preferred(turn: Turn, text: str) -> str:
    """When the member would like it, as typed ("下周三上午或周四"): a day must be
    understood, and not one that has passed."""
    today = turn.local_now().date()
    found = extract(text, today=today).get("date")
    if not found:
        if _FLEXIBLE.search(normalise(text)):
            return text  # "月底前都行", "尽快": kept as said, for staff to arrange
        raise Invalid("replies/legal_checkup/invalid_preferred.txt")
    if found < today.isoformat():
        raise Invalid("replies/common/date_in_past.txt", label="希望的体检时间")
    return text


def employees(turn: Turn, value: Number) -> Number:
    if value.value <= 0 or value.value > 1_000_000:
        raise Invalid("replies/legal_checkup/invalid_employees.txt")
    return value


def contact_name(turn: Turn, text: str) -> str:
    """A person's name; "完成" or "没有" (what ends the documents before it) is not one."""
    if normalise(text) in DONE | SKIP:
        raise Invalid("replies/common/invalid_name.txt")
    return validators.person_name(turn, text)


book = intent.form(
    Slot("company", "企业名称", entity="company", profile="company", min_len=2, max_len=100,
         free_text=True),
    Slot("industry", "所属行业", min_len=2, max_len=50, free_text=True),
    Slot("employees", "员工人数", "number", validate=employees),
    Slot("areas", "体检重点", "choice", options=AREAS, multi=True, mention=True),
    Slot("preferred", "希望的体检时间", validate=preferred, max_len=100),
    Slot("mode", "体检方式", "choice", options=MODES, mention=True),
    Slot("files", "需要律师看的资料", "media", optional=True),
    Slot("name", "联系人", validate=contact_name, profile="name"),
    Slot("phone", "联系电话", "phone", entity="phone", profile="mobile"),
    Slot("consent", "信息授权", "consent", consent="replies/legal_checkup/consent.txt"),
    collects_media="files",
    owner_kind="case",  # attachments belong to the case number
)  # fmt: skip


@intent.handler
def start(turn: Turn) -> Reply:
    """Start the booking; a member cancelling or changing one is told how (staff do it)."""
    if turn.message.msg_type == "event" or not _CHANGE.search(normalise(turn.message.text)):
        return turn.start_form("legal_checkup")
    booked = [
        c
        for c in cases.of_member(turn.db, turn.user_id)
        if c.kind == legal_checkup.NAME and not legal_checkup.KIND.is_final(c.status)
    ]
    return Reply(
        "replies/legal_checkup/change.txt",
        {"cases": booked[:3], "phone": turn.org.get("phone")},
    )


@book.on_prefill
def from_profile(turn: Turn) -> dict[str, Any]:
    return members.profile(turn.db, turn.user_id)


@book.on_submit
def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    """Open the check-up case and tell the member its number and when it will be arranged."""
    member = members.by_openid(turn.db, turn.user_id)
    today = turn.local_now().date()
    areas: list[str] = list(values["areas"])
    size: Number = values["employees"]
    found = extract(values["preferred"], today=today)
    consent = values["consent"]
    data = {
        "company": values["company"],
        "industry": values["industry"],
        "employees": int(size.value),
        "employees_text": size.text,
        "areas": areas,
        "preferred": values["preferred"],
        "preferred_on": found.get("date", ""),
        "preferred_period": found.get("period", ""),
        "mode": values["mode"],
        "contact": values["name"],
        "phone": values["phone"],
        "files": len(values.get("files") or []),
        "consent": {"version": consent.version, "at": consent.at.isoformat()},
        "submission": key,
    }
    case = cases.open_case(
        turn.db,
        legal_checkup.KIND,
        openid=turn.user_id,
        today=today,
        data=data,
        category=legal_checkup.category(areas),
        title=values["company"],
        chamber_id=member.chamber_id if member is not None else None,
    )
    reply = Reply(
        "replies/legal_checkup/done.txt",
        {
            "case": case,
            "department": cases.member_context(turn.db, case)["assignee"],
            "arrange_by": case.due_at,
            "workdays": legal_checkup.ARRANGE.workdays,
            "mode": values["mode"],
        },
    )
    return Submitted(case.number, reply)
