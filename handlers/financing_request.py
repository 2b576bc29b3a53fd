"""Financing needs (融资需求, 政银企对接): a form that opens a ``financing_request`` case.

Slots: the amount (money, also from the first message: "想贷三百万扩产" fills amount and
purpose), the purpose (流动资金, 设备, 扩产, 其他), the term, the guarantee offered (信用,
抵押, 担保, 其他), last year's revenue range, the enterprise (pre-filled when bound), its
统一社会信用代码 (optional, checked), statements or other files (at any step), the
contact's name and phone, consent to share the request with the partner banks (named from
the settings), then confirmation.

Submitting opens a ``financing_request`` case (``bot.services.cases.financing``): with the
department that runs the matchmaking, which pushes it to a partner bank within 3 working
days; the bank's manager then contacts the enterprise.
"""

from __future__ import annotations

import re
from typing import Any

from bot.dialogue.forms.spec import DONE, SKIP, Choice, Money, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.nlu.normalise import normalise
from bot.services import members
from bot.services.cases import engine as cases
from bot.services.cases import financing
from handlers import validators

intent = Intent(
    "financing_request",
    description="融资需求登记（政银企对接）",
    menu_keys=("FINANCING_REQUEST",),
    commands=("融资需求", "登记融资需求", "提交融资需求", "我要融资", "我要贷款"),
)

PURPOSES = (
    Choice(
        "流动资金",
        "流动资金周转",
        ("流动资金", "周转", "资金周转", "进货", "备货", "发工资", "付货款", "原材料", "采购")
        + ("垫资", "应急", "过桥", "日常经营"),
    ),
    Choice("设备", "购买设备", ("设备", "机器", "生产线", "设备更新", "技改", "购置", "机床")),
    Choice(
        "扩产", "扩大生产", ("扩产", "扩大生产", "扩建", "新厂房", "建厂", "扩大规模", "新项目")
    ),
    Choice("其他", "其他用途", ("其他", "别的")),
)
if tuple(c.value for c in PURPOSES) != financing.PURPOSES:
    raise RuntimeError("handlers.financing_request.PURPOSES must offer financing.PURPOSES")

GUARANTEES = (
    Choice("信用", "信用（无抵押）", ("信用", "信用贷", "无抵押", "纯信用", "税银", "银税")),
    Choice("抵押", "抵押（房产、土地、设备等）", ("抵押", "房产", "厂房抵押", "土地抵押", "押")),
    Choice("担保", "担保公司或他人担保", ("担保", "担保公司", "保证", "联保", "互保")),
    Choice("其他", "其他（应收账款、知识产权质押等）", ("其他", "质押", "应收账款", "订单")),
)
if tuple(c.value for c in GUARANTEES) != financing.GUARANTEES:
    raise RuntimeError("handlers.financing_request.GUARANTEES must offer financing.GUARANTEES")

# Also as members type them: "500万以下", "500万-2000万", "2000万到1亿", "1亿以上".
_REVENUE_ALIASES = (
    ("500万以下", "五百万以下", "不到500万"),
    ("500万-2000万", "500-2000万", "500万到2000万", "500万至2000万", "500万—2000万"),
    ("2000万-1亿", "2000万到1亿", "2000万至1亿", "2000万—1亿"),
    ("1亿以上", "一亿以上", "超过1亿", "上亿"),
)
REVENUES = tuple(
    Choice(r, r, aliases) for r, aliases in zip(financing.REVENUES, _REVENUE_ALIASES, strict=True)
)


def loan_amount(turn: Turn, value: Money) -> Money:
    if value.yuan <= 0 or value.yuan > 10**11:
        raise Invalid("replies/financing_request/invalid_amount.txt")
    return value


# A term names a length of time ("1年", "三年", "12个月", "一年半", "3到5年") or a kind of
# term ("短期", "长期", "随借随还"); "300w" or "没有抵押" at this question are no term.
_TERM = re.compile(
    r"[\d.一二两三四五六七八九十半几]+\s*(?:个)?\s*(?:年|月|天|季度|期)|半年|[短中长]期|"
    r"随借随还|循环|不限|都可以|都行|越长越好"
)


def loan_term(turn: Turn, text: str) -> str:
    """The term as said ("1年", "三年", "12个月", "短期"), kept as typed."""
    if normalise(text) in DONE | SKIP or not _TERM.search(normalise(text)):
        raise Invalid("replies/financing_request/invalid_term.txt")
    return text


def contact_name(turn: Turn, text: str) -> str:
    if normalise(text) in DONE | SKIP:
        raise Invalid("replies/common/invalid_name.txt")
    return validators.person_name(turn, text)


request = intent.form(
    Slot("amount", "融资金额", "money", entity="money", validate=loan_amount),
    Slot("purpose", "资金用途", "choice", options=PURPOSES, mention=True),
    Slot("term", "期限", validate=loan_term, numeric=True, max_len=30),
    Slot("guarantee", "担保方式", "choice", options=GUARANTEES, mention=True),
    Slot("revenue", "上年营业收入", "choice", options=REVENUES),
    Slot("company", "企业名称", entity="company", profile="company", min_len=2, max_len=100,
         free_text=True),
    Slot("credit_code", "统一社会信用代码", validate=validators.credit_code, optional=True,
         numeric=True, max_len=30),
    Slot("files", "财务报表等材料", "media", optional=True),
    Slot("name", "联系人", validate=contact_name, profile="name"),
    Slot("phone", "联系电话", "phone", entity="phone", profile="mobile"),
    Slot("consent", "信息授权", "consent", consent="replies/financing_request/consent.txt"),
    collects_media="files",
    owner_kind="case",
)  # fmt: skip


@request.on_prefill
def from_profile(turn: Turn) -> dict[str, Any]:
    return members.profile(turn.db, turn.user_id)


@request.on_submit
def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    """Open the financing request and tell the member what happens next."""
    member = members.by_openid(turn.db, turn.user_id)
    amount: Money = values["amount"]
    consent = values["consent"]
    data = {
        "amount_text": amount.text,
        "purpose": values["purpose"],
        "term": values["term"],
        "guarantee": values["guarantee"],
        "revenue": values["revenue"],
        "company": values["company"],
        "credit_code": values.get("credit_code") or "",
        "contact": values["name"],
        "phone": values["phone"],
        "files": len(values.get("files") or []),
        "banks": turn.org.get("partner_banks", ""),
        "consent": {"version": consent.version, "at": consent.at.isoformat()},
        "submission": key,
    }
    case = cases.open_case(
        turn.db,
        financing.KIND,
        openid=turn.user_id,
        today=turn.local_now().date(),
        data=data,
        category=values["purpose"],
        title=values["company"],
        amount=amount.yuan,
        chamber_id=member.chamber_id if member is not None else None,
    )
    reply = Reply(
        "replies/financing_request/done.txt",
        {
            "case": case,
            "department": cases.member_context(turn.db, case)["assignee"],
            "push_by": case.due_at,
            "workdays": financing.PUSH.workdays,
        },
    )
    return Submitted(case.number, reply)
