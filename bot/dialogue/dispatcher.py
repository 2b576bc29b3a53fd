"""One turn of conversation: from a parsed message and the user's state to a reply.

This is the only place the next dialogue state is decided; ``bot.web.webhook`` persists it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.dialogue.forms import asides
from bot.dialogue.forms.engine import FormEngine as Engine
from bot.dialogue.intents import Intent, Registry
from bot.dialogue.replies import Reply, render, split_for_wechat
from bot.dialogue.state import DialogueState
from bot.dialogue.turn import LinkBuilder, Notice, Turn, no_links
from bot.errors import HandlerError
from bot.extensions import db, sqlite_immediate
from bot.nlu.normalise import Parse, Understanding, normalise
from bot.services import handoff
from bot.wechat import events
from bot.wechat.channel import Inbound
from bot.wechat.push import take_pending

log = logging.getLogger(__name__)

MEDIA_TYPES = frozenset({"image", "video", "shortvideo", "location", "link", "file"})
MORE_WORDS = frozenset({"更多", "more", "继续", "下一页", "后续"})
# Below this the classifier is unsure a message asks for a service (a form).
UNSURE_SERVICE = 0.6
HANDOFF_EXIT = frozenset(
    {"取消", "退出", "退出人工", "结束人工", "结束", "不用了", "算了", "不用人工了"}
)


class FormEngine(Protocol):
    """The form engine's face to the dispatcher (``bot.dialogue.forms.engine``)."""

    def active(self, state: DialogueState) -> bool: ...

    def step(self, turn: Turn) -> Reply | None: ...

    def attach(self, turn: Turn) -> Reply | None: ...

    def replay(self, turn: Turn) -> Reply | None: ...


@dataclass
class Outcome:
    reply: str
    state: DialogueState | None
    intent: str | None = None
    confidence: float | None = None
    handler: str | None = None
    more: str | None = None
    notices: list[Notice] = field(default_factory=list)
    consumed_pending: bool = False
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        registry: Registry,
        nlu: Understanding,
        *,
        config: Mapping[str, Any],
        org: Mapping[str, str],
        kb: Any = None,
        extract: Any = None,
        links: LinkBuilder | None = None,
    ) -> None:
        self.registry = registry
        self.nlu = nlu
        self.config = config
        self.org = org
        self.kb = kb
        self.extract = extract
        # One link builder for every turn, made here once: a turn only carries a reference.
        self.links = links or no_links
        engine = Engine(registry.forms, nlu, interrupting=registry.interrupting)
        engine.interrupt = self._interrupt
        self.forms: FormEngine | None = engine

    def handle(
        self,
        message: Inbound,
        state: DialogueState,
        *,
        has_pending: bool = False,
        more: str | None = None,
        degraded: bool = False,
    ) -> Outcome:
        """Answer one message. Never raises: a crash becomes the apology reply."""
        token = sqlite_immediate.set(True)
        try:
            return self._handle(message, state, has_pending, more, degraded)
        finally:
            sqlite_immediate.reset(token)

    def _handle(
        self,
        message: Inbound,
        state: DialogueState,
        has_pending: bool,
        more: str | None,
        degraded: bool,
    ) -> Outcome:
        now = datetime.now(UTC)
        expired = self._expired(state, now)
        if expired:
            state = DialogueState()
        turn = Turn(
            user_id=message.openid,
            text="",
            message=message,
            db=db.session,
            now=now,
            state=state.copy(),
            org=self.org,
            kb=self.kb,
            config=self.config,
            forms=self.forms,
            links=self.links,
            degraded=degraded,
        )
        outcome = Outcome(reply="", state=state)
        try:
            reply = self._route(turn, outcome, more)
            # Most small talk touches no table: then there is no session to commit at all.
            if db.session.registry.has() and db.session().in_transaction():
                db.session.commit()
        except HandlerError as refusal:
            db.session.rollback()
            reply = Reply(refusal.template, refusal.context)
            turn.state = state
        except Exception:
            db.session.rollback()
            error_id = secrets.token_hex(4)
            log.exception(
                "handler crashed error_id=%s openid=%s intent=%s",
                error_id,
                message.openid,
                outcome.intent,
            )
            # An event (follow, tap, a job's result) has nobody waiting for an apology.
            if message.msg_type == "event":
                reply = Reply.nothing()
            else:
                reply = Reply("replies/common/sorry.txt", {"error_id": error_id})
            turn.state = state
            turn.notices.clear()
        if degraded and (turn.state.active_form or turn.state.choices):
            # Without Redis the member's next answer cannot be remembered: a form or a
            # numbered list offered now would lead nowhere ("回复序号" and then "2" is not
            # understood). Say so, and what still works.
            reply = Reply("replies/common/degraded_forms.txt")
            turn.state = DialogueState()
        text = render(reply)
        if expired and text:
            text = render(Reply("replies/common/form_expired.txt")) + "\n\n" + text
        if degraded and text and reply.template != "replies/common/degraded_forms.txt":
            text = text + "\n\n" + render(Reply("replies/common/degraded.txt"))
        if has_pending and not reply.silent:
            held = self._take_held(message.openid)
            if held:
                notice = render(Reply("replies/common/pending.txt", {"count": len(held)}))
                text = (
                    "\n\n".join([notice, *held, "——", text])
                    if text
                    else "\n\n".join([notice, *held])
                )
                outcome.consumed_pending = True
        limit = int(self.config["REPLY_MAX_BYTES"])
        if text and len(text) * 3 > limit and len(text.encode()) > limit:
            hint = render(Reply("replies/common/more_hint.txt"))
            text, rest = split_for_wechat(text, limit, hint)
            if outcome.more is None:
                outcome.more = rest
        outcome.reply = text
        turn.state.touched_at = time.time()
        outcome.state = None if _is_blank(turn.state) else turn.state
        outcome.notices = list(turn.notices)
        # In an outage the member's form answers (a name, a job title) arrive as new
        # messages: they must not reach the curators' queue as unanswered questions.
        outcome.notes = [] if degraded else list(turn.notes)
        return outcome

    def is_light(self, message: Inbound, state: DialogueState, has_pending: bool) -> bool:
        """Whether this message will be answered by a light intent (no I/O, fast)."""
        if has_pending or message.msg_type != "text" or state.handoff or state.active_form:
            return False
        if state.choices or len(message.text) > 500:
            return False
        text = normalise(message.text)
        if not text or text in MORE_WORDS:
            return True
        command = self.registry.commands.get(text)
        if command is not None:
            return command.light
        intent = self.registry.get(self.nlu.parse(text).intent)
        return intent is not None and intent.light

    # -- routing --------------------------------------------------------------------------
    def _route(self, turn: Turn, outcome: Outcome, more: str | None) -> Reply:
        message = turn.message
        if message.msg_type == "event":
            events.record(turn.db, message)
            if message.event == "click":
                intent = self.registry.menu.get(message.event_key)
                if intent is None:
                    return Reply("replies/common/unknown_menu.txt")
                turn.state = DialogueState(handoff=turn.state.handoff)  # a menu tap starts over
                return self._run(intent, turn, outcome, 1.0)
            intent = self.registry.events.get(message.event)
            if intent is None:
                return Reply.nothing()
            return self._run(intent, turn, outcome, 1.0)
        if turn.state.handoff and message.msg_type in (*MEDIA_TYPES, "text", "voice"):
            during = self._during_handoff(turn, outcome)
            if during is not None:
                return during
        if message.msg_type in MEDIA_TYPES or message.msg_type == "voice":
            # A form that collects media attaches it (a voice message too, unless it was
            # speech answering the prompt: then its recognised text is the answer).
            if self.forms is not None and self.forms.active(turn.state):
                attached = self.forms.attach(turn)
                if attached is not None:
                    return attached
            if message.msg_type in MEDIA_TYPES:
                return Reply("replies/common/received.txt", {"kind": message.msg_type})
        if message.msg_type == "voice" and not message.text.strip():
            return Reply("replies/common/voice_unclear.txt")
        if message.msg_type not in ("text", "voice"):
            return Reply.nothing()

        raw = message.text
        turn.text = normalise(raw[:5000])
        if not turn.text:
            return Reply("replies/common/empty.txt")
        if turn.text in MORE_WORDS:
            outcome.more = ""
            if more:
                return Reply(text=more)
            return Reply("replies/common/no_more.txt")
        command = self.registry.commands.get(turn.text) or self.registry.matching(turn.text)
        if command is not None and not command.in_forms:
            if self.forms is not None and self.forms.active(turn.state):
                command = None  # words at a form's prompt (its own or another's) answer it
        if command is not None:
            return self._run(command, turn, outcome, 1.0)
        if turn.state.submitted and self.forms is not None:
            replayed = self.forms.replay(turn)  # "1" again right after a submission
            if replayed is not None:
                return replayed
        if turn.state.choices and turn.state.choice_kind:
            owner = self.registry.get(turn.state.choice_kind)
            if owner is not None and turn.text.isdigit():
                turn.entities["choice"] = int(turn.text)
                return self._run(owner, turn, outcome, 1.0)
            # Anything but a number moves on: the offered choices no longer apply.
            turn.state.choices, turn.state.choice_kind = [], None
        if turn.text.isdigit() and not (self.forms and self.forms.active(turn.state)):
            # A bare number with no list on offer (the list expired, or was never shown).
            return Reply("replies/common/number_without_choices.txt")
        if self.extract is not None:
            # Dates resolve against the organisation's today, not the server's or UTC's.
            turn.entities.update(self.extract(raw, today=turn.local_now().date()))
        if self.forms is not None and self.forms.active(turn.state):
            stepped = self.forms.step(turn)
            if stepped is not None:
                outcome.intent = turn.state.active_form or outcome.intent
                return stepped
        for claimant in self.registry.claimants:
            assert claimant.claims is not None
            if claimant.claims(turn):
                return self._run(claimant, turn, outcome, 1.0)
        parse = self.nlu.parse(turn.text)
        return self._understood(parse, turn, outcome)

    def _during_handoff(self, turn: Turn, outcome: Outcome) -> Reply | None:
        """A person is handling this member: pass the message on, don't talk over them."""
        row = handoff.current(turn.db, turn.user_id)
        if row is None:  # staff closed it
            turn.state.handoff = False
            return None
        message = turn.message
        text = normalise(message.text) if message.text else ""
        outcome.intent, outcome.handler = "human_agent", "bot.services.handoff"
        if text in HANDOFF_EXIT:
            handoff.close(turn.db, row, staff="member")
            turn.state.handoff = False
            return Reply("replies/human_agent/left.txt")
        shown = message.text or f"[{message.msg_type}]"
        handoff.add_member_message(turn.db, row, shown)
        answered = self._answer_during_handoff(turn, text)
        quiet = float(self.config.get("HANDOFF_ACK_SECONDS", 600))
        told = time.time() - turn.state.acked_at < quiet
        turn.state.acked_at = turn.state.acked_at if told else time.time()
        if answered is not None:
            # Staff see in the thread what the bot said on its own behalf.
            text_answered = render(answered)
            handoff.add_bot_message(turn.db, row, text_answered)
            outcome.intent, outcome.handler = "policy_question", "bot.dialogue.dispatcher"
            return Reply("replies/human_agent/bot_answer.txt", {"answer": text_answered})
        if told:  # told once that staff will answer: the bot does not talk over them
            return Reply.nothing()
        return Reply("replies/human_agent/forwarded.txt")

    def _answer_during_handoff(self, turn: Turn, text: str) -> Reply | None:
        """A policy question the knowledge base answers confidently, answered even while a
        person is on the case (the answer is marked as the bot's)."""
        if not text or turn.kb is None or turn.message.msg_type not in ("text", "voice"):
            return None
        parse = self.nlu.parse(text)
        policy = self.registry.get("policy_question")
        if parse.intent != "policy_question" or parse.confidence < 0.5 or policy is None:
            return None
        if turn.kb.decide(text).band != "answer":
            return None  # "maybe this?" lists and misses are left to the staff
        assert policy.run is not None
        turn.text = text
        saved = turn.state
        turn.state = saved.copy()
        try:
            return policy.run(turn)
        finally:
            turn.state = saved

    def _interrupt(self, name: str, turn: Turn) -> Reply:
        """Answer an unrelated question inside a form without touching the form's state."""
        intent = self.registry.get(name) or self.registry.get("out_of_scope")
        assert intent is not None and intent.run is not None
        saved = turn.state
        turn.state = saved.copy()
        try:
            return intent.run(turn)
        finally:
            turn.state = saved

    def _understood(self, parse: Parse, turn: Turn, outcome: Outcome) -> Reply:
        for name, value in parse.entities.items():
            turn.entities.setdefault(name, value)  # the turn's own (local today) win
        intent = self.registry.get(parse.intent) or self.registry.get("out_of_scope")
        assert intent is not None, "handlers.ALL must define out_of_scope"
        if intent.forms and parse.confidence < UNSURE_SERVICE and self._kb_is_sure(turn):
            # "…工资都快发不出来了，听说有稳岗补贴，我们能不能申请": a story that could be an
            # appeal but ends in a question the knowledge base answers well is a question.
            policy = self.registry.get("policy_question")
            if policy is not None:
                return self._run(policy, turn, outcome, parse.confidence)
        return self._run(intent, turn, outcome, parse.confidence)

    def _kb_is_sure(self, turn: Turn) -> bool:
        if turn.kb is None or not asides.QUESTION.search(turn.text):
            return False
        return bool(turn.kb.decide(turn.text).band == "answer")

    def _run(self, intent: Intent, turn: Turn, outcome: Outcome, confidence: float) -> Reply:
        turn.intent = intent.name
        turn.confidence = confidence
        outcome.intent = intent.name
        outcome.confidence = round(confidence, 3)
        assert intent.run is not None
        outcome.handler = intent.handler_name
        return intent.run(turn)

    # -- helpers --------------------------------------------------------------------------
    def _expired(self, state: DialogueState, now: datetime) -> bool:
        if not state.active_form or not state.touched_at:
            return False
        ttl = float(self.config["DIALOGUE_TTL_SECONDS"])
        return now.timestamp() - state.touched_at > ttl

    def _take_held(self, openid: str) -> list[str]:
        try:
            held = take_pending(db.session, openid)
            db.session.commit()
            return held
        except Exception:
            db.session.rollback()
            log.exception("could not read held replies for %s", openid)
            return []


def _is_blank(state: DialogueState) -> bool:
    """Nothing worth storing (a fresh record but for its timestamps)."""
    return (
        state.active_form is None
        and not state.values
        and not state.choices
        and not state.handoff
        and not state.history
        and state.requested_slot is None
        and not state.submitted
    )
