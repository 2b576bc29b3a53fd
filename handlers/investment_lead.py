"""Investment leads (招商线索, 商会+招商引才): a form that opens an ``investment_lead`` case.

Slots: what the lead is (a project, an investor, a talent team — also understood from the
first message), who (the investor or project side), what (the project: products, scale,
needs), where it might land (optional), the amount (optional money), how to reach them
(the investor's contact, as typed), files (at any step), the provider's name and phone
(pre-filled when bound), consent, then confirmation.

Submitting opens an ``investment_lead`` case (``bot.services.cases.investment``) with the
federation's economic-service department, which gets in touch within 5 working days.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from bot.dialogue.forms.spec import DONE, SKIP, Choice, Money, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.nlu.entities.numbers import money_with_text
from bot.nlu.normalise import normalise
from bot.services import members
from bot.services.cases import engine as cases
from bot.services.cases import investment
from handlers import validators

intent = Intent(
    "investment_lead",
    description="提供招商线索（商会+招商引才）",
    menu_keys=("INVESTMENT_LEAD",),
    commands=("招商线索", "提供招商线索", "提交招商线索", "我有招商线索", "招商信息登记"),
)

LEAD_TYPES = (
    Choice(
        "项目",
        "投资项目",
        ("项目", "建厂", "落地", "投资项目", "产业项目", "回乡投资", "回老家投资", "设厂"),
    ),
    Choice(
        "投资方",
        "有投资意向的企业或老板",
        ("投资方", "老板", "客户想来", "企业想来", "投资意向", "想来投资", "外地企业", "投资商"),
    ),
    Choice(
        "人才团队",
        "人才或团队",
        ("人才", "团队", "专家", "技术团队", "博士", "研发团队", "招才引智", "引才"),
    ),
)
if tuple(c.value for c in LEAD_TYPES) != investment.LEAD_TYPES:
    raise RuntimeError("handlers.investment_lead.LEAD_TYPES must offer investment.LEAD_TYPES")


def named(turn: Turn, text: str) -> str:
    if normalise(text) in DONE | SKIP:
        raise Invalid("replies/investment_lead/invalid_who.txt")
    return text


# -- answers that belong to another question: kept there, and this one asked again --------
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
PROJECT_MIN = 10


def _keep_amount(turn: Turn, text: str) -> str:
    """The amount said in ``text``, kept for the 投资额 slot when it has none yet; the words
    of the amount ("投资大概5个亿"), or "" when there is none."""
    found = money_with_text(text)
    if found is None:
        return ""
    yuan, said = found
    if "amount" not in turn.state.values:  # stored as the money kind stores it
        plain = yuan.quantize(Decimal(1)) if yuan == yuan.to_integral_value() else yuan
        turn.state.values["amount"] = {"yuan": str(plain), "text": said}
    return said


def project(turn: Turn, text: str) -> str:
    """The project's description; an amount in it is kept as the amount, a contact alone
    (张总 13700001111) is kept as the contact and the project asked again."""
    value = text.strip()
    # "投资大概5个亿" is the amount; "年产值5000万" in a long description is not.
    said = _keep_amount(turn, value) if "投资" in value or len(value) < PROJECT_MIN else ""
    phone = _MOBILE.search(value)
    if phone is not None and len(_MOBILE.sub("", value).strip()) < PROJECT_MIN:
        turn.state.values.setdefault("their_contact", value[:200])
        raise Invalid("replies/investment_lead/what_is_contact.txt")
    if len(value) < PROJECT_MIN:
        if said:
            raise Invalid("replies/investment_lead/what_after_amount.txt", amount=said)
        raise Invalid("replies/common/too_short.txt", min_len=PROJECT_MIN)
    return value


def landing_place(turn: Turn, text: str) -> str:
    """Where it may land; an amount alone (0.5亿) is the amount, and the place asked again."""
    value = text.strip()
    said = _keep_amount(turn, value)
    if said and len(value.replace(said, "").strip(" ，,。")) < 2:
        raise Invalid("replies/investment_lead/where_is_amount.txt", amount=said)
    return value


def contact_name(turn: Turn, text: str) -> str:
    if normalise(text) in DONE | SKIP:
        raise Invalid("replies/common/invalid_name.txt")
    return validators.person_name(turn, text)


lead = intent.form(
    Slot("lead_type", "线索类型", "choice", options=LEAD_TYPES, mention=True),
    Slot("who", "投资方或项目方", validate=named, min_len=2, max_len=200, free_text=True),
    Slot("what", "项目情况", validate=project, min_len=2, max_len=2000, free_text=True),
    Slot("where", "意向落地地点", validate=landing_place, optional=True, max_len=200,
         free_text=True),
    Slot("amount", "投资额", "money", entity="money", optional=True),
    Slot("their_contact", "对方联系方式", numeric=True, min_len=2, max_len=200, free_text=True),
    Slot("files", "相关资料", "media", optional=True),
    Slot("name", "提供人姓名", validate=contact_name, profile="name"),
    Slot("phone", "提供人电话", "phone", entity="phone", profile="mobile"),
    Slot("consent", "信息授权", "consent", consent="replies/investment_lead/consent.txt"),
    collects_media="files",
    owner_kind="case",
)  # fmt: skip


@lead.on_prefill
def from_profile(turn: Turn) -> dict[str, Any]:
    return members.profile(turn.db, turn.user_id)


@lead.on_submit
def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    """Register the lead with the economic-service department."""
    member = members.by_openid(turn.db, turn.user_id)
    amount: Money | None = values.get("amount") or None
    consent = values["consent"]
    data = {
        "lead_type": values["lead_type"],
        "who": values["who"],
        "what": values["what"],
        "where": values.get("where") or "",
        "amount_text": amount.text if amount else "",
        "their_contact": values["their_contact"],
        "informant": values["name"],
        "phone": values["phone"],
        "company": (members.profile(turn.db, turn.user_id) or {}).get("company", ""),
        "files": len(values.get("files") or []),
        "consent": {"version": consent.version, "at": consent.at.isoformat()},
        "submission": key,
    }
    case = cases.open_case(
        turn.db,
        investment.KIND,
        openid=turn.user_id,
        today=turn.local_now().date(),
        data=data,
        category=values["lead_type"],
        title=values["who"],
        amount=amount.yuan if amount else None,
        chamber_id=member.chamber_id if member is not None else None,
    )
    reply = Reply(
        "replies/investment_lead/done.txt",
        {
            "case": case,
            "department": cases.member_context(turn.db, case)["assignee"],
            "contact_by": case.due_at,
            "workdays": investment.CONTACT.workdays,
        },
    )
    return Submitted(case.number, reply)
