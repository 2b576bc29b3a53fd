"""Mediation intake (申请调解): a form on the form engine that opens a mediation case.

Slots: dispute type (a choice, also understood from the first message: "合同纠纷，对方欠我
20万" fills type and amount), the other party and their contact (optional), the amount
(optional money), what happened (≥ 15 characters), whether a court or arbitration case is
under way (and if so which — mediation can still help through 诉调对接), evidence (images or
files, sent at any step), the applicant's name, company and phone (pre-filled when bound),
consent to pass the details to the committee, then confirmation.

Submitting opens a ``mediation`` case (``bot.services.cases``): numbered, routed to a
committee by the applicant's chamber and the dispute type, with the committee's first
contact due in 3 working days; the reply gives the number, the query code, the committee
and that date.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.forms.spec import DONE, SKIP, Choice, Money, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.nlu.normalise import normalise
from bot.services import members
from bot.services.cases import engine as cases
from bot.services.cases import mediation
from handlers import validators

intent = Intent(
    "mediation_apply",
    description="调解申请",
    menu_keys=("MEDIATION_APPLY",),
    commands=("申请调解", "我要申请调解", "调解申请"),
)

# The values are the dispute types of bot.services.cases.mediation; the aliases are the
# words members use for them (the longest one named in a message decides).
DISPUTES = (
    Choice("合同", "合同纠纷", ("合同", "违约", "协议纠纷", "毁约")),
    Choice(
        "货款债务",
        "货款、债务纠纷",
        (
            "货款",
            "欠款",
            "欠钱",
            "欠我",
            "拖欠",
            "债务",
            "工程款",
            "借款",
            "欠账",
            "账款",
            "不给钱",
            "不付钱",
            "尾款",
            "货款债务",
        ),
    ),  # fmt: skip
    Choice(
        "劳动用工",
        "劳动用工纠纷",
        ("劳动", "工资", "员工", "工人", "工伤", "辞退", "社保", "用工", "加班费", "劳务"),
    ),
    Choice(
        "知识产权",
        "知识产权纠纷",
        ("知识产权", "商标", "专利", "版权", "著作权", "抄袭", "仿冒", "山寨", "侵权"),
    ),
    Choice("租赁", "租赁纠纷", ("租赁", "租金", "房租", "房东", "租房", "厂房", "租户", "承租")),
    Choice("金融", "金融纠纷", ("金融", "贷款", "银行", "担保", "融资", "保险", "理财", "利息")),
    Choice("其他", "其他纠纷", ("其他", "别的")),
)
if tuple(c.value for c in DISPUTES) != mediation.DISPUTE_TYPES:
    raise RuntimeError("handlers.mediation_apply.DISPUTES must offer mediation.DISPUTE_TYPES")


def applicant_name(turn: Turn, text: str) -> str:
    """A person's name; "完成" or "没有" (what ends the evidence before it) is not one."""
    if normalise(text) in DONE | SKIP:
        raise Invalid("replies/common/invalid_name.txt")
    return validators.person_name(turn, text)


apply = intent.form(
    Slot("dispute_type", "纠纷类型", "choice", options=DISPUTES, mention=True),
    Slot(
        "other_party",
        "对方名称",
        entity="company",
        min_len=2,
        max_len=100,
        free_text=True,
    ),
    # A phone number here is the other party's: free text, and never mapped to our phone slot.
    Slot("other_contact", "对方联系方式", optional=True, numeric=True, max_len=100, free_text=True),
    Slot("amount", "涉及金额", "money", entity="money", optional=True),
    Slot("facts", "纠纷经过", min_len=15, max_len=2000, free_text=True),
    Slot("litigation", "是否已起诉或申请仲裁", "yes_no"),
    Slot(
        "litigation_detail",
        "法院或仲裁机构",
        optional=True,
        numeric=True,
        max_len=200,
        free_text=True,
        when=lambda v: bool(v.get("litigation")),
    ),
    Slot("evidence", "证据材料", "media", optional=True),
    Slot("name", "申请人姓名", validate=applicant_name, profile="name"),
    Slot("company", "申请人单位", optional=True, profile="company", max_len=100, free_text=True),
    Slot("phone", "联系电话", "phone", entity="phone", profile="mobile"),
    Slot("consent", "信息授权", "consent", consent="replies/mediation_apply/consent.txt"),
    collects_media="evidence",
    owner_kind="case",  # attachments belong to the case number
)


@apply.on_prefill
def from_profile(turn: Turn) -> dict[str, Any]:
    return members.profile(turn.db, turn.user_id)


@apply.on_submit
def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    """Open the mediation case and tell the member its number, committee and contact date."""
    member = members.by_openid(turn.db, turn.user_id)
    amount: Money | None = values.get("amount") or None
    consent = values["consent"]
    data = {
        "dispute_type": values["dispute_type"],
        "other_party": values["other_party"],
        "other_contact": values.get("other_contact") or "",
        "amount_text": amount.text if amount else "",
        "facts": values["facts"],
        "litigation": bool(values.get("litigation")),
        "litigation_detail": values.get("litigation_detail") or "",
        "applicant": values["name"],
        "company": values.get("company") or "",
        "phone": values["phone"],
        "evidence": len(values.get("evidence") or []),
        "consent": {"version": consent.version, "at": consent.at.isoformat()},
        "submission": key,
    }
    case = cases.open_case(
        turn.db,
        mediation.KIND,
        openid=turn.user_id,
        today=turn.local_now().date(),
        data=data,
        category=values["dispute_type"],
        title=values["other_party"],
        amount=amount.yuan if amount else None,
        chamber_id=member.chamber_id if member is not None else None,
    )
    reply = Reply(
        "replies/mediation_apply/done.txt",
        {
            "case": case,
            "committee": cases.member_context(turn.db, case)["assignee"],
            "contact_by": case.due_at,
            "workdays": mediation.CONTACT.workdays,
            "litigation": data["litigation"],
        },
    )
    return Submitted(case.number, reply)
