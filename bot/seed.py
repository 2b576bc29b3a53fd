"""Starter content loaded by ``flask init`` where the database is empty."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from sqlalchemy import func, select

from bot import knowledge
from bot.extensions import db
from bot.models import KnowledgeEntry


def load_all() -> Iterator[str]:
    """Load each kind of starter content; yield a line per kind for the console."""
    yield load_knowledge()


def load_knowledge() -> str:
    count = db.session.execute(select(func.count()).select_from(KnowledgeEntry)).scalar_one()
    if count:
        return f"knowledge base: {count} entries already present (kept)"
    created, _ = knowledge.import_entries(db.session, knowledge.read_files())
    db.session.commit()
    knowledge.bump_version(current_app.extensions["redis"])
    return f"knowledge base: {created} starter entries loaded"
