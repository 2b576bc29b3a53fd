"""Case numbers members can read over the phone (``TJ20261201-0007``) and query codes.

A number is the kind's prefix, the organisation's local date and that day's serial. The
serial comes from one counter row per prefix and day, bumped by a single atomic
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite ≥ 3.35 and PostgreSQL): the database
serialises concurrent bumps on the row, so two processes — or two hosts on one PostgreSQL —
never get the same serial, and no lock outside the database is needed. The bump belongs to
the caller's transaction: a rolled-back intake gives its serial back.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.extensions import DBSession
from bot.models.cases import CaseCounter

QUERY_CODE_DIGITS = 6
# How members type a number back: any case, with or without the dash, spaces around it.
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{2,3})\s*(20\d{6})(?:\s*[-－—–_ ]\s*(\d{1,6})|(\d{3,6}))(?!\d)"
)


def next_serial(db: DBSession, prefix: str, day: date) -> int:
    """The next serial of ``prefix`` on ``day`` (1, 2, …), unique across processes."""
    dialect = db.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert: Any
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = (
            insert(CaseCounter)
            .values(prefix=prefix, day=day, value=1)
            .on_conflict_do_update(
                index_elements=[CaseCounter.prefix, CaseCounter.day],
                set_={"value": CaseCounter.value + 1},
            )
            .returning(CaseCounter.value)
        )
        return int(db.execute(statement).scalar_one())
    return _portable_serial(db, prefix, day)


def _portable_serial(db: DBSession, prefix: str, day: date) -> int:
    """Other databases: a conditional UPDATE, else INSERT, retried when another INSERT won."""
    where = (CaseCounter.prefix == prefix, CaseCounter.day == day)
    for _ in range(5):
        bumped = db.execute(update(CaseCounter).where(*where).values(value=CaseCounter.value + 1))
        if getattr(bumped, "rowcount", 0):
            return int(db.execute(select(CaseCounter.value).where(*where)).scalar_one())
        try:
            with db.begin_nested():
                db.add(CaseCounter(prefix=prefix, day=day, value=1))
            return 1
        except IntegrityError:
            continue  # another process inserted the row first: bump it instead
    raise RuntimeError(f"could not allocate a serial for {prefix} on {day}")


def format_number(prefix: str, day: date, serial: int) -> str:
    return f"{prefix}{day:%Y%m%d}-{serial:04d}"


def next_number(db: DBSession, prefix: str, day: date) -> str:
    """A new case number, ``TJ20261201-0007``, for the local ``day``."""
    return format_number(prefix, day, next_serial(db, prefix, day))


def query_code() -> str:
    """A 6-digit code for looking a case up without a bound account."""
    return f"{secrets.randbelow(10**QUERY_CODE_DIGITS):0{QUERY_CODE_DIGITS}d}"


def find_numbers(text: str) -> list[str]:
    """Case numbers in ``text``, canonical (``tj20261201 7`` → ``TJ20261201-0007``)."""
    found = []
    # Full-width letters, digits and dashes (ＳＱ２０２６…－０００１) read as half-width.
    for m in _NUMBER.finditer(unicodedata.normalize("NFKC", text or "")):
        prefix, day, serial = m.group(1).upper(), m.group(2), int(m.group(3) or m.group(4))
        found.append(f"{prefix}{day}-{serial:04d}")
    return found


def without_numbers(text: str) -> str:
    """``text`` with its case numbers blanked (what is left may hold a query code)."""
    return _NUMBER.sub(" ", unicodedata.normalize("NFKC", text or ""))


def codes_match(given: str, stored: str) -> bool:
    """Compare query codes in constant time (a code is a small secret)."""
    return secrets.compare_digest(given.strip().encode(), stored.encode())
