"""The form engine: one declarative way to collect, validate, confirm and submit.

A form is a definition — ordered :class:`~bot.dialogue.forms.spec.Slot` s and a submit
action — not code paths (Rasa's forms). A handler declares it and starts it::

    intent = Intent("mediation_apply", ...)
    apply = intent.form(
        Slot("type", "纠纷类型", options=DISPUTES, mention=True),
        Slot("amount", "涉及金额", "money", entity="money", when=lambda v: v["type"] == "debt"),
        Slot("evidence", "证据材料", "media", optional=True),
        Slot("consent", "个人信息授权", "consent", consent="replies/common/consent_privacy.txt"),
        collects_media="evidence",
    )

    @apply.on_submit
    def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
        case = cases.open(turn.db, values, idempotency_key=key)
        return Submitted(case.number, Reply("replies/mediation_apply/done.txt", {"case": case}))

Slot kinds (``bot.dialogue.forms.kinds``; what the submit action receives):

========== ==============================================================================
text       the text as typed (NFKC, trimmed); ``min_len``/``max_len``; a bare number or a
           phone number is refused (a phone number is offered for the form's phone slot:
           "这是您的手机号吗？"), unless ``numeric=True``
choice     the option's ``value`` (a list with ``multi=True``); options are ``Choice(value,
           label, aliases)``, fixed (``options=``) or made per turn (``choices=``); matched
           by name first (``bot.dialogue.forms.choices``), by number only when the reply
           is just a number or an ordinal ("2", "第二个", "选3"); ambiguity is answered
           with the short list of what matched
yes_no     True / False (是/对/有/要 …, 否/不是/没有/不要 …)
number     :class:`Number` (``value`` a Decimal, ``text`` as typed: "大概30人")
money      :class:`Money` (``yuan`` a Decimal, ``text`` as typed: "大概20万"); needs a unit
date       ``datetime.date``, resolved against today in the organisation's time zone
           (``Turn.local_now``); ``past=True``/``False`` keeps it out of the future/past
time       ``datetime.time``; ``datetime``: ``datetime.datetime`` (both needed)
phone      the 11-digit mobile; masked in summaries (138****5678)
media      a list of :class:`MediaItem`; collected while it is asked, and at *any* step
           when the form declares ``collects_media=<slot>`` (each one is acknowledged);
           "完成" ends it. After submit they are stored as ``attachments`` rows and a job
           fetches each from WeChat (temporary ids last three days)
consent    :class:`Consent` (version, time, template): the prompt shows the template
           ``consent=`` names, whose ``{% set version = "…" %}`` is recorded, also on the
           ``form_submissions`` row; "不同意" ends the form politely with alternatives
========== ==============================================================================

Mappings — where a value may come from, besides the answer to its prompt:

* ``entity="money"`` (any key of ``bot.nlu.entities``): from any message, the first one too;
* ``mention=True`` (choice slots): an option named anywhere in a message ("合同纠纷");
* ``profile="mobile"``: the member's roster profile, offered once ("使用已登记信息…");
* ``turn.start_form(name, values)``: what the handler already knows.

The first message fills every slot it can, each value validated like an answer. Then the
engine asks for what is missing with ``replies/<form>/ask_<slot>.txt`` (or the kind's
generic ``replies/common/form_ask.txt``), re-asks with a reason when a value is refused,
offers 人工/取消 after three failures, answers a clear question in the middle and repeats
the prompt, goes back on 返回, and confirms with a summary of display labels
(``replies/<form>/confirm.txt`` or ``replies/common/form_confirm.txt``). "改电话" there
changes one slot; conditions (``when``) are re-checked before confirming, so slots that no
longer apply are dropped and newly required ones asked. A validator may raise
:class:`~bot.errors.FormEnded` to close the form with a reply. Submitting happens once per
run: the idempotency key is claimed with the record in one transaction, and a repeated
confirmation gets the first reply again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.dialogue.forms import asides, choices, kinds
from bot.dialogue.forms import submit as submitting
from bot.dialogue.forms.choices import Ambiguous
from bot.dialogue.forms.spec import ANY_NO, ANY_YES, DONE, NO, SKIP, YES, Form, Slot
from bot.dialogue.replies import Reply, first_template, render
from bot.dialogue.state import DialogueState
from bot.dialogue.turn import Turn
from bot.errors import FormEnded, Invalid
from bot.services import submissions

log = logging.getLogger(__name__)

MAX_FAILURES = 3
# A message this short answers its own slot only.
PASSING_MIN_CHARS = 8
MAX_ATTACHMENTS = 20
# A repeated confirmation this soon after a submission is answered with the same reply.
REPLAY_SECONDS = 600
BACK_WORDS = frozenset({"返回", "上一步", "上一个", "退回"})
ATTACHABLE = frozenset({"image", "voice", "video", "shortvideo", "file"})


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
        ended = self._map_message(turn, form)
        if ended is not None:
            return ended
        if form.prefill is not None:
            profile = {k: v for k, v in form.prefill(turn).items() if v}
            offered = {
                s.name: profile[s.profile]
                for s in form.slots
                if s.profile and s.profile in profile and s.name not in state.values
            }
            if offered:
                state.stage = "prefill"
                state.prefill = offered
                return self._prefill_offer(form, offered)
        return self._next(turn, form)

    def _map_message(self, turn: Turn, form: Form, skip: str | None = None) -> Reply | None:
        """Fill every empty slot the message answers through a mapping (entity, mention)."""
        message = turn.message
        if message is None or message.msg_type not in ("text", "voice") or not message.text:
            return None
        raw = kinds.clean(message.text)
        values = turn.state.values
        for slot in form.slots:
            if slot.name in values or slot.name == skip or slot.kind in ("media", "consent"):
                continue
            try:
                value = self._mapped(turn, slot, raw)
                if value is None:
                    continue
                values[slot.name] = self._checked(turn, slot, value)
            except FormEnded as ended:
                return self._end(turn, Reply(ended.template, ended.context))
            except Invalid:
                continue  # not a usable value for this slot: it will be asked
        return None

    def _mapped(self, turn: Turn, slot: Slot, raw: str) -> Any:
        if slot.entity and slot.entity in turn.entities:
            value = kinds.from_entity(turn, slot, turn.entities[slot.entity], raw)
            if value is not None:
                return value
        if slot.mention and slot.kind == "choice":
            options = slot.options_for(turn)
            if slot.multi:
                named = choices.mentioned_all(options, turn.text or raw)
                return [o.value for o in named] or None
            option = choices.mentioned(options, raw)
            return option.value if option is not None else None
        return None

    # -- one step ----------------------------------------------------------------------
    def step(self, turn: Turn) -> Reply | None:
        state = turn.state
        form = self.forms[state.active_form or ""]
        text = turn.text
        if text in BACK_WORDS:
            return self.back(turn)
        if state.pending:
            answered = self._pending_answer(turn, form)
            if answered is not None:
                return answered
        if state.stage == "prefill":
            return self._prefill_answer(turn, form)
        if state.stage == "confirm":
            return self._confirm_answer(turn, form)
        slot = form.slot(state.requested_slot) if state.requested_slot else None
        if slot is None:
            return self._next(turn, form)
        if slot.kind == "media" and text in DONE | SKIP:
            if not slot.optional and not state.values.get(slot.name):
                needed = render(Reply("replies/common/media_required.txt", {"label": slot.label}))
                return self._reask(turn, form, slot, needed)
            state.values.setdefault(slot.name, [])
            return self._advance(turn, form, slot)
        if slot.optional and slot.kind not in ("yes_no", "consent") and text in SKIP:
            state.values[slot.name] = ""
            return self._advance(turn, form, slot)
        if asides.leaving(self.nlu, turn) and (slot.kind == "text" or not self._reads(turn, slot)):
            # Understood by the dispatcher: the cancel intent ends the form ("不满意" is an
            # option of a rating, not a wish to stop).
            return None
        interruption = self._interruption(turn, form, slot)
        if interruption is not None:
            return interruption
        return self._answer(turn, form, slot)

    def _reads(self, turn: Turn, slot: Slot) -> bool:
        try:
            self._read(turn, slot, turn.message.text)
        except (Invalid, FormEnded):
            return False
        return True

    def _answer(self, turn: Turn, form: Form, slot: Slot) -> Reply:
        state = turn.state
        try:
            state.values[slot.name] = self._read(turn, slot, turn.message.text)
        except kinds.LooksLikePhone as phone:
            target = self._empty_phone_slot(turn, form, slot)
            if target is None:
                return self._refused(turn, form, slot, phone)
            state.pending = {"kind": "is_phone", "slot": target.name, "value": phone.number}
            return Reply("replies/common/form_is_phone.txt", {"phone": phone.number})
        except FormEnded as ended:
            return self._end(turn, Reply(ended.template, ended.context))
        except Invalid as refusal:
            return self._refused(turn, form, slot, refusal)
        if not (slot.kind == "text" and slot.free_text) and len(turn.text) > PASSING_MIN_CHARS:
            # Other slots may be answered in passing ("张三，13800138000"); a free-text
            # answer belongs to its slot whole, and nothing in it is taken for another, nor
            # is a short answer ("担保公司" answers 担保方式, it is no company's name).
            closed = self._map_message(turn, form, skip=slot.name)
            if closed is not None:
                return closed
        return self._advance(turn, form, slot)

    def _pending_answer(self, turn: Turn, form: Form) -> Reply | None:
        """The answer to a question the engine asked; None when the message is not one."""
        state = turn.state
        pending, state.pending = state.pending, {}
        if pending.get("kind") != "is_phone" or not form.has_slot(str(pending.get("slot"))):
            return None
        slot = form.slot(state.requested_slot) if state.requested_slot else None
        if slot is None:
            return None
        if turn.text in ANY_YES:
            target = form.slot(str(pending["slot"]))
            try:
                state.values[target.name] = self._read(turn, target, str(pending["value"]))
            except (Invalid, FormEnded):
                pass
            else:
                kept = render(Reply("replies/common/form_phone_kept.txt", {"slot": target}))
                return self._reask(turn, form, slot, kept)
        if turn.text in ANY_YES | ANY_NO:
            refusal = render(Reply("replies/common/looks_like_phone.txt", {"label": slot.label}))
            return self._reask(turn, form, slot, refusal)
        return None  # they answered the prompt instead

    def attach(self, turn: Turn) -> Reply | None:
        """A media message during a form: attached when the form collects media."""
        state = turn.state
        form = self.forms[state.active_form or ""]
        requested = form.slot(state.requested_slot) if state.requested_slot else None
        target = form.media_slot or (requested if requested and requested.kind == "media" else None)
        if target is None:
            return None
        message = turn.message
        if message.msg_type == "voice" and message.text.strip() and requested is not target:
            return None  # speech answering the prompt: its recognised text is the answer
        waiting = None if requested is target else render(self._prompt(turn, form))
        if message.msg_type not in ATTACHABLE or not message.fields.get("MediaId"):
            return Reply(
                "replies/common/form_not_attachable.txt",
                {"kind": message.msg_type, "prompt": waiting},
            )
        items = list(state.values.get(target.name) or [])
        if len(items) >= MAX_ATTACHMENTS:
            return Reply("replies/common/form_attachments_full.txt", {"count": len(items)})
        items.append(
            {
                "type": message.msg_type,
                "media_id": str(message.fields.get("MediaId") or ""),
                "title": str(message.fields.get("Title") or message.fields.get("FileName") or ""),
                "at": float(message.create_time or time.time()),
            }
        )
        state.values[target.name] = items
        return Reply(
            "replies/common/form_attached.txt",
            {"count": len(items), "kind": message.msg_type, "prompt": waiting},
        )

    def back(self, turn: Turn) -> Reply:
        state = turn.state
        form = self.forms[state.active_form or ""]
        state.pending, state.editing = {}, None
        if not state.history:
            if state.requested_slot:
                return self._ask(turn, form, form.slot(state.requested_slot))
            return self._next(turn, form)
        previous = state.history.pop()
        state.values.pop(previous, None)
        state.stage = "fill"
        state.failures = 0
        return self._ask(turn, form, form.slot(previous))

    def replay(self, turn: Turn) -> Reply | None:
        """The same reply again for a confirmation repeated after the form was submitted."""
        submitted, turn.state.submitted = turn.state.submitted, {}
        fresh = time.time() - float(submitted.get("at") or 0) < REPLAY_SECONDS
        if not fresh or turn.text != submitted.get("text"):
            return None
        row = submissions.lookup(turn.db, str(submitted.get("key")))
        if row is None or not row.reply:
            return None
        turn.state.submitted = submitted
        return Reply(text=row.reply)

    # -- reading and refusing ----------------------------------------------------------
    def _read(self, turn: Turn, slot: Slot, raw: str) -> Any:
        """The value to store for ``raw`` as the answer to ``slot`` (kind, then validator)."""
        return self._checked(turn, slot, kinds.read(turn, slot, raw))

    def _checked(self, turn: Turn, slot: Slot, value: Any) -> Any:
        """``value`` (the kind's) through the slot's validator, as the state stores it."""
        if slot.validate is not None:
            value = slot.validate(turn, value)
        return kinds.dump(slot, value)

    def _empty_phone_slot(self, turn: Turn, form: Form, asked: Slot) -> Slot | None:
        for slot in form.slots:
            if slot.kind == "phone" and slot is not asked and slot.name not in turn.state.values:
                return slot
        return None

    def _interruption(self, turn: Turn, form: Form, slot: Slot) -> Reply | None:
        """Answer an unrelated message in the middle of a form, then repeat the prompt."""
        if self.interrupt is None:
            return None
        parse = self.nlu.parse(turn.message.text)
        kind = asides.aside(parse, self.interrupting, turn, slot)
        if kind is asides.Aside.NONE:
            return None
        if kind is asides.Aside.MAYBE:
            try:
                self._read(turn, slot, turn.message.text)
                return None
            except (Invalid, FormEnded):
                pass
        answered = self.interrupt(parse.intent, turn)
        prompt = self._prompt(turn, form)
        return Reply(
            "replies/common/form_interrupted.txt",
            {"answer": render(answered), "prompt": render(prompt)},
        )

    def _refused(self, turn: Turn, form: Form, slot: Slot, refusal: Invalid) -> Reply:
        state = turn.state
        context = {"label": slot.label, **refusal.context}
        if isinstance(refusal, Ambiguous):  # not a failure: the member named real options
            return Reply(refusal.template, context)
        reason = render(Reply(refusal.template, context))
        state.failures += 1
        if state.failures >= MAX_FAILURES:
            state.failures = 0
            return Reply("replies/common/form_stuck.txt", {"reason": reason, "label": slot.label})
        return self._reask(turn, form, slot, reason)

    def _reask(self, turn: Turn, form: Form, slot: Slot, reason: str) -> Reply:
        prompt = self._ask(turn, form, slot)
        return Reply("replies/common/form_reask.txt", {"reason": reason, "prompt": render(prompt)})

    def _end(self, turn: Turn, reply: Reply) -> Reply:
        turn.state = DialogueState(handoff=turn.state.handoff)
        return reply

    # -- moving on ---------------------------------------------------------------------
    def _advance(self, turn: Turn, form: Form, slot: Slot) -> Reply:
        state = turn.state
        state.failures = 0
        state.choices = []
        state.editing = None
        if slot.name not in state.history:
            state.history.append(slot.name)
        return self._next(turn, form)

    def typed(self, turn: Turn, form: Form) -> dict[str, Any]:
        """The values as the kinds hand them out (Money, dates …); control state excluded."""
        out: dict[str, Any] = {}
        for key, stored in turn.state.values.items():
            if key.startswith("_"):
                continue
            out[key] = kinds.load(form.slot(key), stored) if form.has_slot(key) else stored
        return out

    def _applies(self, slot: Slot, typed: Mapping[str, Any]) -> bool:
        if slot.when is None:
            return True
        try:
            return bool(slot.when(typed))
        except KeyError:  # ``v["type"]`` before the type is known: not yet
            return False

    def _missing(self, turn: Turn, form: Form) -> Slot | None:
        values = turn.state.values
        typed = self.typed(turn, form)
        for slot in form.slots:
            if slot.kind == "media":
                # Media sent along the way are kept, but the slot is still asked once (to
                # add more, or "完成"): it is done when it has been answered.
                if slot.name in turn.state.history:
                    continue
            # "" is a skipped optional slot; a stored value that no longer reads is missing.
            elif slot.name in values and (values[slot.name] == "" or typed[slot.name] is not None):
                continue
            if not self._applies(slot, typed):
                continue
            return slot
        return None

    def _settle(self, turn: Turn, form: Form) -> None:
        """Drop the values of slots whose condition no longer holds (after an edit)."""
        values, history = turn.state.values, turn.state.history
        changed = True
        while changed:
            changed = False
            typed = self.typed(turn, form)
            for slot in form.slots:
                if slot.name in values and not self._applies(slot, typed):
                    values.pop(slot.name)
                    if slot.name in history:
                        history.remove(slot.name)
                    changed = True

    def _next(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        slot = self._missing(turn, form)
        if slot is None:
            self._settle(turn, form)
            slot = self._missing(turn, form)
        if slot is not None:
            state.stage = "fill"
            return self._ask(turn, form, slot)
        if form.confirm:
            return self._confirmation(turn, form)
        return self._submit(turn, form)

    def _ask(self, turn: Turn, form: Form, slot: Slot) -> Reply:
        state = turn.state
        state.requested_slot = slot.name
        context: dict[str, Any] = {
            "values": state.values,
            "typed": self.typed(turn, form),
            "slot": slot,
            "label": slot.label,
        }
        if slot.kind == "choice":
            options = slot.options_for(turn)
            if not options:
                if slot.optional:
                    state.values[slot.name] = ""
                    return self._next(turn, form)
                return self._end(turn, Reply("replies/common/form_no_options.txt", context))
            context["options"] = options
            state.choices = [o.value for o in options]
        if slot.kind == "media":
            context["count"] = len(state.values.get(slot.name) or [])
        template = first_template(form.template(f"ask_{slot.name}"), "replies/common/form_ask.txt")
        return Reply(template, context)

    def _prompt(self, turn: Turn, form: Form) -> Reply:
        """What the member is being asked now, to repeat after an aside."""
        state = turn.state
        if state.pending.get("kind") == "is_phone":
            return Reply("replies/common/form_is_phone.txt", {"phone": state.pending["value"]})
        if state.stage == "prefill":
            return self._prefill_offer(form, state.prefill)
        if state.stage == "confirm":
            return self._confirmation(turn, form)
        if state.requested_slot:
            return self._ask(turn, form, form.slot(state.requested_slot))
        return self._next(turn, form)

    def _confirmation(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        state.stage = "confirm"
        state.requested_slot = None
        state.choices = []
        typed = self.typed(turn, form)
        rows = [
            (s.label, self._shown(turn, s, typed[s.name]))
            for s in form.slots
            if typed.get(s.name) not in ("", None, [])
        ]
        extra = form.describe(turn, typed) if form.describe else {}
        template = first_template(form.template("confirm"), "replies/common/form_confirm.txt")
        return Reply(template, {"rows": rows, "values": state.values, **extra})

    def _shown(self, turn: Turn, slot: Slot, value: Any) -> str:
        """A value as the summary shows it: display labels, masked where the kind says."""
        context: dict[str, Any] = {"kind": slot.kind, "value": value, "masked": None}
        if slot.kind == "choice":
            labels = {o.value: o.label for o in slot.options_for(turn)}
            picked = value if isinstance(value, list) else [value]
            context["labels"] = [labels.get(str(v), str(v)) for v in picked]
        if slot.kind == "phone" or (slot.mask and isinstance(value, str)):
            context["masked"] = kinds.mask(str(value))
        return render(Reply("replies/common/form_value.txt", context))

    def _prefill_offer(self, form: Form, offered: Mapping[str, Any]) -> Reply:
        items = [
            (
                form.slot(k).label,
                kinds.mask(str(v)) if form.slot(k).kind == "phone" or form.slot(k).mask else v,
            )
            for k, v in offered.items()
        ]
        return Reply("replies/common/form_prefill.txt", {"items": items})

    def _prefill_answer(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        if turn.text in YES:
            state.values.update(state.prefill)
        elif turn.text not in NO:
            return Reply("replies/common/form_prefill_again.txt")
        state.prefill = {}
        state.stage = "fill"
        return self._next(turn, form)

    def _confirm_answer(self, turn: Turn, form: Form) -> Reply:
        state = turn.state
        text = turn.text
        if text in YES:
            return self._submit(turn, form)
        typed = self.typed(turn, form)
        target = slot_named(form, text, lambda s: self._applies(s, typed))
        if target is not None:
            state.values.pop(target.name, None)
            state.editing = target.name
            state.stage = "fill"
            return self._ask(turn, form, target)
        if text in NO:
            labels = [s.label for s in form.slots if typed.get(s.name) not in ("", None, [])]
            return Reply("replies/common/form_which.txt", {"labels": labels})
        return Reply("replies/common/form_confirm_again.txt")

    # -- submitting --------------------------------------------------------------------
    def _submit(self, turn: Turn, form: Form) -> Reply:
        key = submitting.key_of(form, turn)
        try:
            reply = submitting.submit(turn, form, self.typed(turn, form), key)
        except FormEnded as ended:
            return self._end(turn, Reply(ended.template, ended.context))
        return self._submitted(turn, key, reply)

    def _submitted(self, turn: Turn, key: str, reply: Reply) -> Reply:
        confirming = turn.text
        turn.state = DialogueState(handoff=turn.state.handoff)
        turn.state.submitted = {"key": key, "text": confirming, "at": time.time()}
        return reply


_EDIT = re.compile(r"^(?:我要|我想|帮我)?(?:改|修改|更改|更正|换)(?:一下)?(?:我的)?(.+)$")
# What members call a slot of a kind when they want to change it ("改电话").
_KIND_WORDS = {
    "phone": ("电话", "手机", "号码"),
    "money": ("金额", "钱", "数额"),
    "date": ("日期", "时间", "哪天"),
    "datetime": ("日期", "时间"),
    "time": ("时间", "几点"),
    "media": ("附件", "图片", "照片", "文件", "材料"),
}
_NAME_WORDS = {
    "name": ("名字", "姓名"),
    "company": ("单位", "公司", "企业"),
    "position": ("职务", "职位"),
}


def slot_named(form: Form, text: str, applies: Callable[[Slot], bool]) -> Slot | None:
    """The slot "改…" names at the confirmation (by label, then by everyday words)."""
    m = _EDIT.match(text)
    wanted = m.group(1) if m else None
    if not wanted:
        return None
    slots = [s for s in form.slots if s.kind != "consent" and applies(s)]
    for slot in slots:
        labels = {slot.label, slot.name, *slot.label.split("/")}
        if any(n and (n in wanted or wanted in n) for n in labels):
            return slot
    for slot in slots:
        words = _KIND_WORDS.get(slot.kind, ()) + _NAME_WORDS.get(slot.name, ())
        if any(word in wanted for word in words):
            return slot
    return None
