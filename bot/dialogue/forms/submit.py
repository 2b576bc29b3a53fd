"""Submitting a form once: the idempotency key, the record, the reply kept, the attachments.

The key (form, member, the moment the run started) is claimed in the same savepoint as the
record the submit action writes, so both land or neither does; the reply the member got is
kept with the claim, and a repeated or retried confirmation — the state not saved after the
first, another process a moment earlier — is answered with that same text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, timedelta
from typing import Any

from bot.dialogue.forms import kinds
from bot.dialogue.forms.spec import Consent, Form, Submitted
from bot.dialogue.replies import Reply, render
from bot.dialogue.turn import Turn
from bot.services import submissions

# The same answers submitted again within this window are the same request.
SAME_REQUEST_WINDOW = timedelta(hours=24)


def digest_of(form: Form, values: Mapping[str, Any]) -> str:
    """A hash of the answers (not the media, not the moment of consent)."""
    kept = {
        slot.name: kinds.dump(slot, values.get(slot.name))
        for slot in form.slots
        if slot.kind not in ("media", "consent")
    }
    text = json.dumps(kept, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def key_of(form: Form, turn: Turn) -> str:
    """The idempotency key of the form run in progress."""
    return f"{form.name}:{turn.user_id}:{turn.state.form_started_at:.6f}"


def submit(turn: Turn, form: Form, values: dict[str, Any], key: str) -> Reply:
    """Run the submit action once for ``key``; the reply (the first one, if repeated).

    A :class:`~bot.errors.FormEnded` or :class:`~bot.errors.HandlerError` from the action
    rolls the savepoint back (claim included) and propagates.
    """
    done = submissions.lookup(turn.db, key)
    if done is not None:  # submitted already (the state was not saved after it)
        return Reply(text=done.reply)
    digest = digest_of(form, values) if form.confirm else ""
    since = turn.now.astimezone(UTC).replace(tzinfo=None) - SAME_REQUEST_WINDOW
    same = submissions.same_as(
        turn.db, form=form.name, openid=turn.user_id, digest=digest, since=since
    )
    if same is not None:  # the very same request again, in a new run of the form
        return Reply("replies/common/form_duplicate.txt", {"ref": same.record_ref})
    try:
        with turn.db.begin_nested():
            row = submissions.claim(turn.db, key, form=form.name, openid=turn.user_id)
            ref, reply = _run(turn, form, values, key)
            text = render(reply)
            consent = next((v for v in values.values() if isinstance(v, Consent)), None)
            submissions.complete(
                row,
                ref=ref,
                reply=text,
                consent_version=consent.version if consent else None,
                consent_at=consent.at if consent else None,
                digest=digest,
            )
            _keep_attachments(turn, form, values, key, ref)
    except submissions.AlreadyClaimed:
        again = submissions.lookup(turn.db, key)
        return Reply(text=again.reply if again is not None else "")
    return Reply(text=text)


def _run(turn: Turn, form: Form, values: dict[str, Any], key: str) -> tuple[str, Reply]:
    assert form.submit is not None, f"form {form.name} has no submit action"
    outcome = form.submit(turn, values, key) if form.submit_takes_key else form.submit(turn, values)
    if isinstance(outcome, Submitted):
        return outcome.ref, outcome.reply
    if isinstance(outcome, Reply):  # the older contract: the reference in the context
        return (str(outcome.context.get("ref", "")) if outcome.context else ""), outcome
    raise TypeError(f"form {form.name}: on_submit must return Submitted or Reply")


def _keep_attachments(
    turn: Turn, form: Form, values: Mapping[str, Any], key: str, ref: str
) -> None:
    items = [item for s in form.slots if s.kind == "media" for item in (values.get(s.name) or [])]
    if items:
        submissions.record_attachments(
            turn.db,
            owner_kind=form.owner_kind,
            owner_id=ref or key,
            openid=turn.user_id,
            key=key,
            items=items,
        )
