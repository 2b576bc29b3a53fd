"""The form engine: one declarative way to collect, validate, confirm and submit.

A form is a definition (ordered :class:`Slot` s, a confirmation, a submit action), not code
paths. The engine fills slots from the first message's entities, pre-fills from the
member's profile ("使用已登记信息…"), asks for what is missing with
``templates/replies/<form>/ask_<slot>.txt``, re-asks with a reason when a value is refused,
offers 人工/取消 after three failures, answers an unrelated question in the middle and
repeats the pending prompt, goes back one slot on 返回, changes one slot on "改电话" at the
confirmation, and submits once (an idempotency key per form run).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.dialogue.forms.spec import DONE, NO, YES, Choice, Form, Slot
from bot.dialogue.replies import Reply, render
from bot.dialogue.state import DialogueState
from bot.dialogue.turn import Turn
from bot.errors import Invalid
from bot.nlu.entities import extract
from bot.services import submissions

log = logging.getLogger(__name__)

MAX_FAILURES = 3
# Messages that answer a prompt are short; a clear question in the middle of a form is
# answered and the prompt repeated. Which intents may do so, each declares
# (``Intent(..., interrupts_forms=True)``); the registry hands the engine their names.
_QUESTION = re.compile(r"[?？吗呢]|怎么|如何|什么|哪些|哪里|多少|能不能|可不可以|是否")


class FormEngine:
    """Runs every registered form; the dispatcher asks it before understanding a message."""

    def __init__(
        self, forms: Mapping[str, Form], nlu: Any, *, interrupting: frozenset[str] = frozenset()
    ) -> None:
        self.forms = dict(forms)
        self.nlu = nlu
        self.interrupting = interrupting
        self.interrupt: Callable[[str, Turn], Reply] | None = None  # set by the dispatcher

    def active(self, state: DialogueState) -> bool:
        return state.active_form in self.forms

    # -- starting ----------------------------------------------------------------------
    def start(self, turn: Turn, name: str, values: Mapping[str, Any] | None = None) -> Reply:
        """Begin ``name`` for this member, filling what the first message already says."""
        form = self.forms[name]
        state = DialogueState(
            active_form=name, form_started_at=time.time(), handoff=turn.state.handoff
        )
        turn.state = state
        state.values.update({k: v for k, v in (values or {}).items() if v not in (None, "")})
        self._fill_from_entities(turn, form)
        if form.prefill is not None:
            profile = {k: v for k, v in form.prefill(turn).items() if v}
            offered = {
                s.name: profile[s.profile]
                for s in form.slots
                if s.profile and s.profile in profile and s.name not in state.values
            }
            if offered:
                state.stage = "prefill"
                state.values["_prefill"] = offered
                return Reply(
                    "replies/common/form_prefill.txt",
                    {"items": [(form.slot(k).label, _shown(k, v)) for k, v in offered.items()]},
                )
        return self._next(turn, form)

    def _fill_from_entities(self, turn: Turn, form: Form) -> None:
        for slot in form.slots:
            if slot.entity and slot.name not in turn.state.values:
                raw = turn.entities.get(slot.entity)
                if raw in (None, ""):
                    continue
                try:
                    turn.state.values[slot.name] = (
                        slot.validate(turn, str(raw)) if slot.validate else raw
                    )
                except Invalid:
                    continue

    # -- one step ----------------------------------------------------------------------
    def step(self, turn: Turn) -> Reply | None:
        state = turn.state
        form = self.forms[state.active_form or ""]
        text = turn.text
        if text in ("返回", "上一步", "上一个", "退回"):
            return self.back(turn)
        if state.stage == "prefill":
            return self._prefill_answer(turn, form)
        if state.stage == "confirm":
            return self._confirm_answer(turn, form)
        slot = form.slot(state.requested_slot) if state.requested_slot else None
        if slot is None:
            return self._next(turn, form)
        if slot.attachment and text in DONE:
            state.values.setdefault(slot.name, [])
            return self._advance(turn, form, slot)
        if slot.optional and text in DONE:
            state.values[slot.name] = ""
            return self._advance(turn, form, slot)
        interruption = self._interruption(turn, slot)
        if interruption is not None:
            return interruption
        try:
            value = self._validate(turn, slot, text)
        except Invalid as refusal:
            return self._refused(turn, form, slot, refusal)
        state.values[slot.name] = value
        # Other slots may be answered in passing ("张三，13800138000").
        self._fill_from_entities(turn, form)
        return self._advance(turn, form, slot)

    def attach(self, turn: Turn) -> Reply | None:
        state = turn.state
        form = self.forms[state.active_form or ""]
        slot = form.slot(state.requested_slot) if state.requested_slot else None
        if slot is None or not slot.attachment:
            return None
        files = list(state.values.get(slot.name) or [])
        message = turn.message
        files.append(
            {
                "type": message.msg_type,
                "media_id": str(message.fields.get("MediaId") or ""),
                "url": str(message.fields.get("PicUrl") or message.fields.get("Url") or ""),
                "title": str(message.fields.get("Title") or message.fields.get("Label") or ""),
            }
        )
        state.values[slot.name] = files[:9]
        return Reply("replies/common/form_attached.txt", {"count": len(files[:9])})

    def back(self, turn: Turn) -> Reply:
        state = turn.state
        form = self.forms[state.active_form or ""]
        if not state.history:
            if state.requested_slot:
                return self._ask(turn, form, form.slot(state.requested_slot))
            return self._next(turn, form)
        previous = state.history.pop()
        state.values.pop(previous, None)
        state.stage = "fill"
        state.failures = 0
        return self._ask(turn, form, form.slot(previous))

    # -- internals ---------------------------------------------------------------------
    def _validate(self, turn: Turn, slot: Slot, text: str) -> Any:
        if slot.choices is not None:
            choice = pick(slot.choices(turn), text)
            if choice is None:
                raise Invalid("replies/common/invalid_choice.txt")
            text = choice.value
        return slot.validate(turn, text) if slot.validate else text

    def _interruption(self, turn: Turn, slot: Slot) -> Reply | None:
        """Answer an unrelated message in the middle of a form, then repeat the prompt."""
        if self.interrupt is None or turn.text.isdigit():
            return None
        parse = self.nlu.parse(turn.message.text)
        if parse.intent not in self.interrupting or parse.confidence < 0.6:
            return None
        questioning = bool(_QUESTION.search(turn.text))
        if parse.intent in ("greeting", "help"):
            if len(turn.text) > 8:
                return None
        elif not questioning:
            return None
        # A clear question wins over the slot; a weaker one only when the slot refuses it
        # (a company name may look like chit-chat, a dispute summary like a question).
        if not (questioning and parse.confidence >= 0.8):
            if slot.free_text:
                return None
            try:
                self._validate(turn, slot, turn.text)
                return None
            except Invalid:
                pass
        answered = self.interrupt(parse.intent, turn)
        form = self.forms[turn.state.active_form or ""]
        prompt = self._ask(turn, form, slot)
        return Reply(
            "replies/common/form_interrupted.txt",
            {"answer": render(answered), "prompt": render(prompt)},
        )

    def _refused(self, turn: Turn, form: Form, slot: Slot, refusal: Invalid) -> Reply:
        state = turn.state
        state.failures += 1
        if state.failures >= MAX_FAILURES:
            state.failures = 0
            return Reply(
                "replies/common/form_stuck.txt",
                {"reason": render(Reply(refusal.template, refusal.context)), "label": slot.label},
            )
        reason = render(Reply(refusal.template, {"label": slot.label, **refusal.context}))
        prompt = self._ask(turn, form, slot)
        return Reply("replies/common/form_reask.txt", {"reason": reason, "prompt": render(prompt)})

    def _advance(self, turn: Turn, form: Form, slot: Slot) -> Reply:
        state = turn.state
        state.failures = 0
        state.choices = []
        if slot.name not in state.history:
            state.history.append(slot.name)
        if state.values.pop("_editing", None):
            return self._confirmation(turn, form)
        return self._next(turn, form)

    def _missing(self, form: Form, values: Mapping[str, Any]) -> Slot | None:
        for slot in form.slots:
            if slot.name in values:
                continue
            if slot.when is not None and not slot.when(values):
                continue
            return slot
        return None

    def _next(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        slot = self._missing(form, state.values)
        if slot is not None:
            state.stage = "fill"
            return self._ask(turn, form, slot)
        if form.confirm:
            return self._confirmation(turn, form)
        return self._submit(turn, form)

    def _ask(self, turn: Turn, form: Form, slot: Slot) -> Reply:
        turn.state.requested_slot = slot.name
        context: dict[str, Any] = {"values": turn.state.values, "slot": slot}
        if slot.choices is not None:
            options = slot.choices(turn)
            context["options"] = options
            turn.state.choices = [o.value for o in options]
        return Reply(form.template(f"ask_{slot.name}"), context)

    def _confirmation(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        state.stage = "confirm"
        state.requested_slot = None
        state.choices = []
        rows = [
            (s.label, _shown(s.name, state.values.get(s.name)))
            for s in form.slots
            if s.name in state.values and state.values.get(s.name) not in ("", None, [])
        ]
        extra = form.describe(turn, state.values) if form.describe else {}
        return Reply(form.template("confirm"), {"rows": rows, "values": state.values, **extra})

    def _prefill_answer(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        offered: dict[str, Any] = state.values.pop("_prefill", {})
        if turn.text in YES:
            state.values.update(offered)
        elif turn.text not in NO:
            state.values["_prefill"] = offered
            return Reply("replies/common/form_prefill_again.txt")
        state.stage = "fill"
        return self._next(turn, form)

    def _confirm_answer(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        text = turn.text
        if text in YES:
            return self._submit(turn, form)
        target = _slot_named(form, text)
        if target is not None:
            state.values.pop(target.name, None)
            state.values["_editing"] = True
            state.stage = "fill"
            return self._ask(turn, form, target)
        if text in NO:
            return Reply(
                "replies/common/form_which.txt",
                {"labels": [s.label for s in form.slots if s.name in state.values]},
            )
        return Reply("replies/common/form_confirm_again.txt")

    def _submit(self, turn: Turn, form: Form) -> Reply:
        assert form.submit is not None, f"form {form.name} has no submit action"
        state = turn.state
        key = f"{form.name}:{turn.user_id}:{state.form_started_at:.6f}"
        done = submissions.lookup(turn.db, key)
        values = {k: v for k, v in state.values.items() if not k.startswith("_")}
        turn.state = DialogueState(handoff=state.handoff)
        if done is not None:
            return Reply("replies/common/form_already.txt", {"ref": done})
        reply = form.submit(turn, values)
        ref = str(reply.context.get("ref", "")) if reply.context else ""
        # Same transaction as the record: both land, or neither does.
        if not submissions.claim(turn.db, key, form=form.name, openid=turn.user_id, record_ref=ref):
            raise RuntimeError("form submitted twice concurrently")
        return reply


def pick(options: list[Choice], text: str) -> Choice | None:
    """Match a numbered option by number, exact label, alias or fuzzy containment."""
    text = text.strip()
    number = _number(text)
    if number is not None and 1 <= number <= len(options):
        return options[number - 1]
    for option in options:
        if text in (option.label, option.value, *option.aliases):
            return option
    hits = [
        o
        for o in options
        if text and (text in o.label or any(a in text for a in o.aliases) or o.label in text)
    ]
    if len(hits) == 1:
        return hits[0]
    return None


def _number(text: str) -> int | None:
    """A picked number: "2", "第二个", "选3", "②" (the entity extractor reads these)."""
    value = extract(text).get("number")
    return int(value) if isinstance(value, int) else None


_EDIT = re.compile(r"^(?:我要|我想|帮我)?(?:改|修改|更改|更正|换)(?:一下)?(?:我的)?(.+)$")


def _slot_named(form: Form, text: str) -> Slot | None:
    m = _EDIT.match(text)
    wanted = m.group(1) if m else None
    if not wanted:
        return None
    for slot in form.slots:
        labels = {slot.label, slot.name, *slot.label.split("/")}
        if any(n and (n in wanted or wanted in n) for n in labels):
            return slot
    aliases = {
        "电话": ("phone", "mobile"),
        "手机": ("phone", "mobile"),
        "名字": ("name",),
        "姓名": ("name",),
        "单位": ("company",),
        "公司": ("company",),
        "职务": ("position",),
    }
    for word, names in aliases.items():
        if word in wanted:
            for slot in form.slots:
                if slot.name in names:
                    return slot
    return None


def _shown(name: str, value: Any) -> str:
    """How a value appears in a summary (phones masked: summaries land in logs too)."""
    if isinstance(value, list):
        return f"{len(value)} 个附件"
    text = str(value)
    if name in ("phone", "mobile") and re.fullmatch(r"1\d{10}", text):
        return text[:3] + "****" + text[-4:]
    return text
