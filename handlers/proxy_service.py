"""商会代办 (商会+最多跑一次): find an item of the 代办事项清单 by describing it, see what it
needs, and ask a 代办员 to handle it; send missing materials when asked (补材料).

The member describes the item ("老家的户口迁移能代办吗", "社保转移"): the catalogue is
searched with the knowledge base's retrieval (``bot.kb.catalogue``). One clear match is shown
with its department, materials and typical time, and the request form starts; several are
offered as a numbered list; an item that needs the person in person says so and opens
nothing. A bare "商会代办" starts the form, whose first question is the description.

Form slots: what to handle (a description, then the matching items to pick from), the
details (from where to where, for whom), photos of the materials (at any step), where to
send the result (optional), name and phone (pre-filled when bound), consent (the 授权委托),
then confirmation. Submitting opens a ``proxy_service`` case (``bot.services.cases.proxy``),
routed to the 代办员 of the member's chamber.

When the 代办员 asks for missing materials (待补材料), the member replies "补材料": the
supplement form reopens the case for them — photos or files, a remark — and moves it back to
办理中, the attachments belonging to the case.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.forms.spec import DONE, SKIP, Choice, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply, render
from bot.dialogue.turn import Turn
from bot.errors import FormEnded, Invalid
from bot.kb import catalogue as search
from bot.models import ProxyItem
from bot.models.cases import Case
from bot.nlu.normalise import normalise
from bot.services import catalogue, members
from bot.services.cases import engine as cases
from bot.services.cases import proxy, roster
from handlers import validators

intent = Intent(
    "proxy_service",
    description="商会代办（商会+最多跑一次）",
    menu_keys=("PROXY_SERVICE",),
    commands=("商会代办", "我要代办", "申请代办", "代办服务", "家乡事务代办"),
)
supplement = Intent(
    "proxy_supplement",
    description="为代办申请补交材料",
    commands=("补材料", "补充材料", "补交材料", "我要补材料"),
    # Members' own ways of saying it: "我要补交材料", "材料我补一下", "材料补好了", "补齐材料".
    patterns=(
        r"^(?:我|我们)?(?:要|想|来|现在)?(?:补|补交|补充|补齐|补上|补发|补传)(?:一下|下)?"
        r"(?:缺的|要的|代办的?)?(?:材料|资料)",
        r"^(?:代办的?)?(?:材料|资料)(?:我|我们)?(?:已经|马上|现在)?"
        r"(?:补|补交|补充|补齐|补上|补发)(?:一下|下|好了|齐了|上了|好|了)?$",
    ),
    classified=False,
)
LISTED = 5


# -- the catalogue -----------------------------------------------------------------------------
def matches(turn: Turn, text: str) -> tuple[list[ProxyItem], list[search.Match]]:
    """The active items ``text`` may describe, best first, and how well each matched."""
    items = {str(i.id): i for i in catalogue.active(turn.db)}
    rows = [search.Row(*r) for r in catalogue.search_rows(items.values())]
    words = turn.kb.analyzer if turn.kb is not None else None
    found = search.find(catalogue.version(turn.db), rows, text, words=words, k=LISTED)
    return [items[m.key] for m in found], found


def _options(turn: Turn) -> list[Choice]:
    """The items the description so far may mean (the ``item`` slot's choices)."""
    items, _ = matches(turn, str(turn.state.values.get("need") or ""))
    options = [Choice(catalogue.label(i), _shown(i)) for i in items]
    picked = str(turn.state.values.get("item") or "")
    if picked and picked not in {o.value for o in options}:
        options.insert(0, Choice(picked, picked))  # chosen from the list before the form
    return options


def _shown(item: ProxyItem) -> str:
    return catalogue.label(item) + ("" if item.by_proxy else "（须本人办理）")


def described(turn: Turn, text: str) -> str:
    """A description that names at least one item of the catalogue (kept as typed)."""
    items, _ = matches(turn, text)
    if not items:
        raise Invalid("replies/proxy_service/no_match_in_form.txt", phone=turn.org.get("phone"))
    return text


def picked(turn: Turn, value: str) -> str:
    """An item that can be done by proxy; one that cannot ends the form, saying what to do."""
    item = catalogue.by_label(turn.db, value)
    if item is not None and not item.by_proxy:
        raise FormEnded("replies/proxy_service/not_by_proxy.txt", item=_facts(item))
    return value


def contact_name(turn: Turn, text: str) -> str:
    if normalise(text) in DONE | SKIP:
        raise Invalid("replies/common/invalid_name.txt")
    return validators.person_name(turn, text)


request = intent.form(
    Slot("need", "要办的事", min_len=2, max_len=200, free_text=True, validate=described),
    Slot("item", "代办事项", "choice", choices=_options, validate=picked),
    Slot("details", "具体情况", min_len=4, max_len=1000, free_text=True),
    Slot("files", "材料照片", "media", optional=True),
    Slot("delivery", "办好后寄送地址", optional=True, max_len=200, free_text=True, numeric=True),
    Slot("name", "申请人姓名", validate=contact_name, profile="name"),
    Slot("phone", "联系电话", "phone", entity="phone", profile="mobile"),
    Slot("consent", "代办授权", "consent", consent="replies/proxy_service/consent.txt"),
    collects_media="files",
    owner_kind="case",
)  # fmt: skip


def _describe(turn: Turn, values: dict[str, Any]) -> dict[str, Any]:
    item = catalogue.by_label(turn.db, str(values.get("item") or ""))
    return {"item": _facts(item) if item is not None else None}


request.describe = _describe


def _facts(item: ProxyItem) -> dict[str, Any]:
    return {
        "label": catalogue.label(item),
        "name": item.name,
        "department": item.department,
        "materials": item.material_list,
        "by_proxy": item.by_proxy,
        "workdays": item.workdays,
        "note": item.note,
    }


@intent.handler
def find(turn: Turn) -> Reply:
    """Find the item the member describes; show it and start the request."""
    if turn.message.msg_type == "event":
        return turn.start_form("proxy_service")
    choice = turn.entities.get("choice")
    if choice is not None and turn.state.choice_kind == intent.name:
        offered = list(turn.state.choices)
        turn.state.choices, turn.state.choice_kind = [], None
        number = int(choice)
        if not 1 <= number <= len(offered):
            return Reply("replies/proxy_service/bad_choice.txt", {"count": len(offered)})
        item = turn.db.get(ProxyItem, int(offered[number - 1]))
        if item is None:
            return Reply("replies/proxy_service/ask_need.txt")
        return _present(turn, item, item.name)
    query = search.core(turn.message.text)
    if not query:
        return turn.start_form("proxy_service")  # "商会代办": the form asks what to handle
    items, found = matches(turn, turn.message.text)
    if not items:
        return Reply("replies/proxy_service/no_match.txt", {"text": turn.message.text[:40]})
    if search.is_sure(found):
        return _present(turn, items[0], turn.message.text)
    turn.state.choices = [str(i.id) for i in items]
    turn.state.choice_kind = intent.name
    return Reply("replies/proxy_service/choices.txt", {"items": [_facts(i) for i in items]})


def _present(turn: Turn, item: ProxyItem, need: str) -> Reply:
    facts = _facts(item)
    if not item.by_proxy:
        return Reply("replies/proxy_service/not_by_proxy.txt", {"item": facts})
    prompt = turn.start_form(
        "proxy_service", {"need": need[:200] or item.name, "item": catalogue.label(item)}
    )
    return Reply("replies/proxy_service/item.txt", {"item": facts, "prompt": render(prompt)})


@request.on_prefill
def from_profile(turn: Turn) -> dict[str, Any]:
    return members.profile(turn.db, turn.user_id)


@request.on_submit
def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    """Open the 代办 case with the 代办员 of the member's chamber."""
    member = members.by_openid(turn.db, turn.user_id)
    item = catalogue.by_label(turn.db, values["item"])
    if item is None:  # retired from the catalogue while the member was filling the form
        raise FormEnded("replies/proxy_service/item_gone.txt", item=values["item"])
    consent = values["consent"]
    data = {
        "need": values["need"],
        "item": _facts(item) | {"id": item.id},
        "workdays": item.workdays or "",
        "details": values["details"],
        "delivery": values.get("delivery") or "",
        "applicant": values["name"],
        "phone": values["phone"],
        "files": len(values.get("files") or []),
        "consent": {"version": consent.version, "at": consent.at.isoformat()},
        "submission": key,
    }
    case = cases.open_case(
        turn.db,
        proxy.KIND,
        openid=turn.user_id,
        today=turn.local_now().date(),
        data=data,
        category=item.department[:40],
        title=item.name,
        chamber_id=member.chamber_id if member is not None else None,
    )
    agent = roster.of_user(turn.db, proxy.AGENT, case.user_id)
    if agent is not None:  # the member reads whom their request went to, and how to reach them
        case.data = {
            **case.data,
            "provider": {"id": agent.id, "name": roster.label(agent), "contact": agent.contact},
        }
    reply = Reply(
        "replies/proxy_service/done.txt",
        {
            "case": case,
            "agent": roster.label(agent) if agent is not None else "",
            "agent_contact": agent.contact if agent is not None else "",
            "take_by": case.due_at,
            "item": _facts(item),
        },
    )
    return Submitted(case.number, reply)


# -- 补材料: the form reopens for the missing materials ------------------------------
def _waiting(turn: Turn) -> list[Case]:
    return [
        c
        for c in cases.of_member(turn.db, turn.user_id)
        if c.kind == proxy.NAME and c.status == proxy.MISSING
    ]


supply = supplement.form(
    Slot("number", "代办编号", numeric=True, max_len=24),
    Slot("files", "补充材料", "media"),
    Slot("remark", "补充说明", optional=True, max_len=500, free_text=True),
    name=proxy.SUPPLY_FORM,
    confirm=False,
    collects_media="files",
    owner_kind="case",
)


@supplement.handler
def reopen(turn: Turn) -> Reply:
    """Reopen the member's case that waits for materials (the newest, or the one named)."""
    waiting = _waiting(turn)
    if not waiting:
        return Reply("replies/proxy_service/nothing_missing.txt")
    named = [c for c in waiting if c.number in turn.message.text.upper()]
    case = (named or waiting)[0]
    prompt = turn.start_form(proxy.SUPPLY_FORM, {"number": case.number})
    return Reply(
        "replies/proxy_service/supplement.txt",
        {
            "number": case.number,
            "missing": (case.data or {}).get("missing", ""),
            "prompt": render(prompt),
        },
    )


@supply.on_submit
def supplied(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    case = cases.by_number(turn.db, values["number"])
    if case is None or case.openid != turn.user_id or case.status != proxy.MISSING:
        raise FormEnded("replies/proxy_service/nothing_missing.txt")
    files = len(values.get("files") or [])
    if not files and not values.get("remark"):
        # Nothing sent and nothing said: no supplement to record; the case keeps waiting.
        raise FormEnded("replies/proxy_service/nothing_sent.txt", number=case.number)
    provider = (case.data or {}).get("provider") or {}
    cases.act(
        turn.db,
        case,
        "supplied",
        None,
        values.get("remark") or "",
        today=turn.local_now().date(),
        data={"files": files, "submission": key},
        by_member=True,
    )
    reply = Reply(
        "replies/proxy_service/supplied.txt",
        {
            "number": case.number,
            "files": files,
            # The 代办员 the request went to, by name; the department when none is known.
            "assignee": provider.get("name") or cases.member_context(turn.db, case)["assignee"],
        },
    )
    return Submitted(case.number, reply)
