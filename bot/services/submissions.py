"""Form submissions by idempotency key: a repeated confirmation submits nothing twice.

The form engine makes one key per form run (form, member, the moment the run started).
It looks the key up before submitting and claims it in the same transaction as the record
the submit action writes, so both land or neither does.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.extensions import DBSession
from bot.models import FormSubmission


def lookup(db: DBSession, key: str) -> str | None:
    """The record reference of the submission made under ``key``, or None if there is none."""
    row = db.execute(select(FormSubmission).where(FormSubmission.key == key)).scalar_one_or_none()
    return None if row is None else row.record_ref


def claim(db: DBSession, key: str, *, form: str, openid: str, record_ref: str) -> bool:
    """Record the submission under ``key`` in the caller's transaction.

    False when another process claimed the same key first (the unique key refused it); a
    savepoint keeps the caller's transaction usable either way.
    """
    try:
        with db.begin_nested():
            db.add(FormSubmission(key=key, form=form, openid=openid, record_ref=record_ref))
    except IntegrityError:
        return False
    return True
