"""Appeal intake (诉求反映): a form on the form engine that opens an ``appeal`` case.

Slots: category (a choice, also understood from the first message: "用地遇到困难" is 用地),
urgency (紧急 / 一般, understood from words like 停产, 马上), a short title, what happened and
what is asked for (≥ 15 characters), pictures or files at any step, the company with its
统一社会信用代码 (optional), the contact's name and phone (pre-filled when bound), real-name
or confidential (a confidential appeal reaches the department without the enterprise's
identity), then confirmation.

Submitting opens an ``appeal`` case (``bot.services.cases.appeals``): numbered, routed to the
department of its category, with the acknowledgement due in 1 working day and the answer
date promised by the settings for its category and urgency; the reply gives the ticket
number, the query code and that date.
"""

from __future__ import annotations

import re
from typing import Any

from bot.dialogue.forms.spec import DONE, SKIP, Choice, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.models.cases import Case
from bot.nlu.normalise import normalise
from bot.services import members
from bot.services.cases import appeals
from bot.services.cases import engine as cases
from handlers import validators

intent = Intent(
    "appeal_submit",
    description="诉求反映",
    menu_keys=("APPEAL_SUBMIT",),
    commands=("反映问题", "我要反映问题", "提诉求", "我要提诉求", "诉求反映"),
)

# The values are the categories of bot.services.cases.appeals; the aliases are the words
# enterprises use for them (the longest one named in a message decides).
CATEGORIES = (
    Choice(
        "融资",
        "融资难、融资贵",
        ("融资", "贷款", "借贷", "资金周转", "周转", "授信", "抽贷", "断贷", "续贷", "银行")
        + ("抵押", "担保", "利率", "利息高", "资金链", "缺钱", "缺资金"),
    ),
    Choice(
        "用地",
        "用地、厂房",
        ("用地", "土地", "地块", "征地", "拆迁", "厂房", "土地证", "不动产证", "产权证")
        + ("规划", "容积率", "建设用地", "工业用地"),
    ),
    Choice(
        "人才",
        "人才、用工",
        ("人才", "招工", "招人", "用工荒", "缺人", "技术工人", "技工", "落户", "人才公寓")
        + ("招聘", "留不住人", "员工流失", "招不到", "缺工", "缺工人", "子女入学"),
    ),
    Choice(
        "税费",
        "税费负担",
        ("税费", "税收", "纳税", "退税", "留抵", "发票", "税务", "缴税", "交税", "个税")
        + ("社保费", "乱收费", "收费", "规费"),
    ),
    Choice(
        "政策落实",
        "惠企政策落实",
        ("政策落实", "政策没落实", "补贴", "补助", "奖励资金", "扶持资金", "专项资金")
        + ("兑现", "没兑现", "政策兑现", "奖补", "惠企政策", "申报不上"),
    ),
    Choice(
        "营商环境",
        "营商环境（审批、执法、服务）",
        ("营商环境", "审批", "办证", "吃拿卡要", "刁难", "乱检查", "检查太多", "乱罚款")
        + ("罚款", "执法", "推诿", "踢皮球", "办事难", "拖着不办", "停水", "停电", "限电")
        + ("用电", "用水", "电力", "供电", "限行", "态度差"),
    ),
    Choice(
        "法律权益",
        "合法权益保护",
        ("法律", "维权", "权益", "侵权", "拖欠", "欠款", "账款", "清欠", "工程款")
        + ("合同", "官司", "诉讼", "执行难", "知识产权", "商标", "被骗", "货款", "欠我们")
        + ("欠钱", "赖账", "不给钱"),
    ),
    Choice("建言献策", "意见建议", ("建议", "意见", "建言", "献策", "提个建议", "提议")),
    Choice("其他", "其他问题", ("其他", "别的")),
)
if tuple(c.value for c in CATEGORIES) != appeals.CATEGORIES:
    raise RuntimeError("handlers.appeal_submit.CATEGORIES must offer appeals.CATEGORIES")

URGENCY = (
    Choice(
        appeals.URGENT,
        "紧急（已影响正常生产经营）",
        ("紧急", "很急", "特别急", "非常急", "着急", "急需", "马上", "立刻", "尽快")
        + ("停产", "停工", "停业", "停摆", "关门", "撑不下去", "等不了", "火烧眉毛")
        + ("迫在眉睫", "发不出工资", "断贷", "急死", "十万火急", "撑不住", "快断了")
        + ("资金链断", "要倒闭", "急", "挺急", "比较急", "加急"),
    ),
    Choice(appeals.NORMAL, "一般", ("不急", "不着急", "不是很急", "不算急", "一般情况")),
)

IDENTITY = (
    Choice("real", "实名反映", ("实名", "可以公开", "公开也行", "不用保密", "无所谓", "不介意")),
    Choice(
        "confidential",
        "保密（承办部门看不到企业身份）",
        ("保密", "匿名", "不公开", "不要公开", "别公开", "不想公开", "不要透露", "别透露")
        + ("不想让", "别让", "不要让", "不实名", "隐藏", "不署名", "不留名"),
    ),
)


def contact_name(turn: Turn, text: str) -> str:
    """A person's name; "完成" or "没有" (what ends the attachments before it) is not one."""
    if normalise(text) in DONE | SKIP:
        raise Invalid("replies/common/invalid_name.txt")
    return validators.person_name(turn, text)


submit_form = intent.form(
    Slot("category", "问题类别", "choice", options=CATEGORIES, mention=True),
    Slot("urgency", "紧急程度", "choice", options=URGENCY, mention=True),
    Slot("title", "诉求标题", min_len=4, max_len=40, free_text=True),
    Slot("content", "具体情况和诉求", min_len=15, max_len=2000, free_text=True),
    Slot("files", "图片或文件", "media", optional=True),
    Slot("company", "企业名称", entity="company", profile="company", min_len=2, max_len=100,
         free_text=True),
    Slot("credit_code", "统一社会信用代码", validate=validators.credit_code, optional=True,
         numeric=True, max_len=30),
    Slot("name", "联系人", validate=contact_name, profile="name"),
    # A landline is how many enterprises are reached: a mobile or an area-coded number.
    Slot("phone", "联系电话", validate=validators.contact_phone, entity="phone",
         profile="mobile", numeric=True, mask=True, max_len=30),
    Slot("identity", "是否实名", "choice", options=IDENTITY),
    collects_media="files",
    owner_kind="case",  # attachments belong to the ticket number
)  # fmt: skip


# Words that only ask for the service ("我要反映问题"): what is left of a first message
# once they are taken out is the member's own account, kept when it is long enough.
_ASKING_WORDS = re.compile(
    r"我要|我想|想要|想|要|帮我|请|麻烦|向(?:工商联|商会|政府|你们)|给(?:工商联|商会|政府)|"
    r"反映(?:一下|个|一个)?(?:问题|情况|困难|诉求)?|提(?:个|一个|交)?(?:诉求|意见|建议)|"
    r"投诉|诉求|[，,。.!！?？\s]"
)
ACCOUNT_MIN_CHARS = 20


@intent.handler
def start(turn: Turn) -> Reply:
    """Begin the intake; a first message that already tells the story is kept as the
    account of what happened (the member is not asked to type it again)."""
    raw = turn.message.text.strip() if turn.message.msg_type in ("text", "voice") else ""
    own = _ASKING_WORDS.sub("", raw)
    values = {"content": raw} if len(own) >= ACCOUNT_MIN_CHARS and len(raw) <= 2000 else {}
    return turn.start_form("appeal_submit", values)


@submit_form.on_prefill
def from_profile(turn: Turn) -> dict[str, Any]:
    return members.profile(turn.db, turn.user_id)


@submit_form.on_submit
def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    """Open the appeal and tell the member its number, query code and answer date."""
    same = _already_open(turn, values)
    if same is not None:
        # The same problem sent again (the member was not sure it went through): one ticket.
        return Submitted(same.number, Reply("replies/appeal_submit/duplicate.txt", {"case": same}))
    member = members.by_openid(turn.db, turn.user_id)
    today = turn.local_now().date()
    workdays = appeals.answer_workdays(values["category"], values["urgency"], turn.config)
    promised = appeals.promise(turn.db, today, workdays)
    data = {
        "category": values["category"],
        "urgency": values["urgency"],
        "title": values["title"],
        "content": values["content"],
        "company": values["company"],
        "credit_code": values.get("credit_code") or "",
        "contact": values["name"],
        "phone": values["phone"],
        "confidential": values["identity"] == "confidential",
        "files": len(values.get("files") or []),
        "answer_workdays": workdays,
        "answer_due": promised.isoformat() if promised else "",
        "submission": key,
    }
    case = cases.open_case(
        turn.db,
        appeals.KIND,
        openid=turn.user_id,
        today=today,
        data=data,
        category=values["category"],
        title=values["title"],
        chamber_id=member.chamber_id if member is not None else None,
    )
    reply = Reply(
        "replies/appeal_submit/done.txt",
        {
            "case": case,
            "department": cases.member_context(turn.db, case)["assignee"],
            "acknowledge_by": case.due_at,
            "answer_by": promised,
            "workdays": workdays,
            "confidential": data["confidential"],
        },
    )
    return Submitted(case.number, reply)


def _already_open(turn: Turn, values: dict[str, Any]) -> Case | None:
    """The member's open appeal with the same account of the problem, if any."""
    wanted = "".join(str(values["content"]).split())
    for case in cases.of_member(turn.db, turn.user_id):
        if case.kind != appeals.NAME or appeals.KIND.is_final(case.status):
            continue
        if "".join(str((case.data or {}).get("content", "")).split()) == wanted:
            return case
    return None
