"""Training registration (培训报名): session, name, company, position, mobile → Registration.

The form is pre-filled from the member's roster profile and asks only for what is missing;
a session named in the first message ("报名新生代培训", or its exact title) is taken from it.
Submitting takes a seat by a conditional UPDATE (``bot.services.training.register``) or a
waiting-list place; the registration's id is the submission's reference.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.forms import choices
from bot.dialogue.forms.spec import Choice, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.errors import HandlerError, Invalid
from bot.models import TrainingSession
from bot.services import members, training
from handlers import validators

intent = Intent(
    "training_register",
    description="报名参加培训",
    menu_keys=("TRAINING_REGISTER",),
    commands=("报名", "我要报名", "培训报名"),
)


def session_choices(turn: Turn) -> list[Choice]:
    return [
        Choice(str(s.id), f"{s.title}（{s.starts_at:%m月%d日}）", (s.title, s.kind))
        for s in training.open_sessions(turn.db, turn.local_now())[:8]
    ]


def open_session(turn: Turn, value: str) -> str:
    """A session the member may still join; the reason when not."""
    session = turn.db.get(TrainingSession, int(value)) if value.isdigit() else None
    if session is None:
        raise Invalid("replies/common/invalid_choice.txt")
    member = members.by_openid(turn.db, turn.user_id)
    try:
        training.check_open(session, turn.local_now())
    except HandlerError as refusal:
        raise Invalid(refusal.template, **refusal.context) from None
    reason = training.eligibility(session, member)
    if reason:
        raise Invalid(reason, session=session)
    row = training.existing(turn.db, session.id, turn.user_id)
    if row is not None and row.status in training.ACTIVE:
        raise Invalid("replies/training_register/already.txt", session=session, reg=row)
    return value


signup = intent.form(
    Slot("session", "培训", "choice", validate=open_session, choices=session_choices),
    Slot("name", "姓名", validate=validators.person_name, profile="name", entity="person_name"),
    Slot(
        "company",
        "单位",
        min_len=2,
        max_len=100,
        profile="company",
        entity="company",
        free_text=True,
    ),
    Slot("position", "职务", max_len=50, profile="position", free_text=True),
    Slot("phone", "手机号", "phone", profile="mobile", entity="phone"),
)


@signup.on_prefill
def from_profile(turn: Turn) -> dict[str, Any]:
    profile = members.profile(turn.db, turn.user_id)
    if profile:
        return profile
    # Not on the roster: what they gave last time they registered.
    last = training.last_registration(turn.db, turn.user_id)
    if last is None:
        return {}
    return {
        "name": last.name,
        "company": last.company,
        "position": last.position,
        "mobile": last.phone,
    }


def describe(turn: Turn, values: dict[str, Any]) -> dict[str, Any]:
    session = turn.db.get(TrainingSession, int(values["session"]))
    return {"session": session}


signup.describe = describe


@intent.handler
def start(turn: Turn) -> Reply:
    """Start the form with the session the message (or the list just shown) names."""
    values: dict[str, Any] = {}
    sessions = training.open_sessions(turn.db, turn.local_now())
    if not sessions:
        return Reply("replies/training_list/none.txt")
    typed = turn.message.msg_type != "event"
    picked: list[TrainingSession] = []
    if typed:
        # By name first, as the form matches it (the most specific name wins, so a title
        # typed whole picks its session even when others share its kind).
        named = choices.mentioned(session_choices(turn), turn.message.text)
        picked = [s for s in sessions if named is not None and str(s.id) == named.value]
    kind = str(turn.entities.get("training_kind") or "")
    if not picked and kind:
        picked = [s for s in sessions if training.kind_matches(s, kind)]
    if not picked and typed and turn.state.values.get("last_session"):
        picked = [s for s in sessions if str(s.id) == turn.state.values["last_session"]]
    if len(picked) == 1:
        try:
            values["session"] = open_session(turn, str(picked[0].id))
        except Invalid as refusal:
            return Reply(refusal.template, refusal.context)
    return turn.start_form("training_register", values)


@signup.on_submit
def register(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    session = turn.db.get(TrainingSession, int(values["session"]))
    assert session is not None
    try:
        outcome = training.register(
            turn.db,
            session,
            openid=turn.user_id,
            member=members.by_openid(turn.db, turn.user_id),
            name=values["name"],
            company=values["company"],
            position=values.get("position", ""),
            phone=values["phone"],
            now=turn.local_now(),
        )
    except HandlerError as refusal:
        return Submitted("", Reply(refusal.template, refusal.context))
    reg = outcome.registration
    if reg.status == "confirmed":
        checkin = turn.url("pages.checkin_code", code=reg.checkin_code)
        context = {"s": session, "reg": reg, "checkin": checkin}
        return Submitted(str(reg.id), Reply("replies/training_register/confirmed.txt", context))
    return Submitted(
        str(reg.id),
        Reply(
            "replies/training_register/waitlisted.txt",
            {"s": session, "reg": reg, "position": outcome.position},
        ),
    )
