"""Knowledge-base entries: the reviewed files, their database rows, and moving between them.

Files (``knowledge/entries/<topic>.md``: YAML front matter, the answer, ``<!-- more -->``,
the detail) are what staff review; ``flask kb import`` copies them into the database, which
the admin console edits; ``flask kb export`` writes them back. Whoever changes rows bumps
the version number in Redis (``bot:kb:version``), and every process's live base
(``bot.kb.base``) rebuilds its index from the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select

from bot.extensions import DBSession
from bot.kb.index import unique
from bot.models import KnowledgeEntry
from bot.nlu.normalise import normalise
from bot.paths import KNOWLEDGE_DIR

ENTRIES_DIR = KNOWLEDGE_DIR / "entries"
MORE_MARK = "<!-- more -->"
VERSION_KEY = "bot:kb:version"


@dataclass
class EntryData:
    topic: str
    title: str
    question: str
    paraphrases: list[str]
    keywords: list[str]
    answer: str
    detail: str = ""
    source: str = ""
    region: str | None = None
    valid_until: date | None = None
    reviewed: date | None = None
    offer: str = ""  # the form a "1" after the answer starts (``offer:`` in the file)

    @property
    def questions(self) -> list[str]:
        return unique([self.title, self.question, *self.paraphrases])

    def is_valid(self, today: date) -> bool:
        return self.valid_until is None or self.valid_until >= today


# -- files --------------------------------------------------------------------------------
def parse_entry(text: str) -> EntryData:
    """Parse one entry file; raises ValueError with a reason when it is malformed."""
    if not text.startswith("---"):
        raise ValueError("missing front matter (the file must start with ---)")
    _, header, body = text.split("---", 2)
    meta: dict[str, Any] = yaml.safe_load(header) or {}
    for key in ("id", "title", "question"):
        if not meta.get(key):
            raise ValueError(f"front matter lacks {key!r}")
    answer, _, detail = body.partition(MORE_MARK)
    if not answer.strip():
        raise ValueError("the answer is empty")
    return EntryData(
        topic=str(meta["id"]),
        title=str(meta["title"]),
        question=str(meta["question"]),
        paraphrases=[str(p) for p in meta.get("paraphrases") or []],
        keywords=[str(k) for k in meta.get("keywords") or []],
        answer=answer.strip(),
        detail=detail.strip(),
        source=str(meta.get("source") or ""),
        region=meta.get("region"),
        valid_until=_date(meta.get("valid_until")),
        reviewed=_date(meta.get("reviewed")),
        offer=str(meta.get("offer") or ""),
    )


def dump_entry(entry: EntryData) -> str:
    meta = {
        "id": entry.topic,
        "title": entry.title,
        "question": entry.question,
        "paraphrases": entry.paraphrases,
        "keywords": entry.keywords,
        "source": entry.source,
        "region": entry.region,
        "valid_until": entry.valid_until.isoformat() if entry.valid_until else None,
        "reviewed": entry.reviewed.isoformat() if entry.reviewed else None,
    }
    if entry.offer:
        meta["offer"] = entry.offer
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    text = f"---\n{header}---\n{entry.answer}\n"
    if entry.detail:
        text += f"{MORE_MARK}\n{entry.detail}\n"
    return text


def _date(value: Any) -> date | None:
    if value in (None, "", "null"):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def read_files(directory: Path = ENTRIES_DIR) -> list[EntryData]:
    entries = []
    for path in sorted(directory.glob("*.md")):
        try:
            entries.append(parse_entry(path.read_text(encoding="utf-8")))
        except (ValueError, yaml.YAMLError) as exc:
            raise ValueError(f"{path.name}: {exc}") from exc
    return entries


# -- database -----------------------------------------------------------------------------
def to_row(entry: EntryData, row: KnowledgeEntry | None = None) -> KnowledgeEntry:
    row = row or KnowledgeEntry(topic=entry.topic)
    row.title = entry.title
    row.question = entry.question
    row.paraphrases = "\n".join(entry.paraphrases)
    row.keywords = ",".join(entry.keywords)
    row.answer = entry.answer
    row.detail = entry.detail
    row.source = entry.source
    row.region = entry.region
    row.valid_until = entry.valid_until
    row.reviewed = entry.reviewed
    row.offer = entry.offer
    return row


def from_row(row: KnowledgeEntry) -> EntryData:
    return EntryData(
        topic=row.topic,
        title=row.title,
        question=row.question,
        paraphrases=[p for p in (row.paraphrases or "").split("\n") if p.strip()],
        keywords=[k for k in (row.keywords or "").split(",") if k.strip()],
        answer=row.answer,
        detail=row.detail or "",
        source=row.source or "",
        region=row.region,
        valid_until=row.valid_until,
        reviewed=row.reviewed,
        offer=row.offer or "",
    )


def import_entries(db: DBSession, entries: Iterable[EntryData]) -> tuple[int, int]:
    """Upsert entries by topic; answer (created, updated). The caller commits."""
    existing = {row.topic: row for row in db.execute(select(KnowledgeEntry)).scalars()}
    created = updated = 0
    for entry in entries:
        row = existing.get(entry.topic)
        if row is None:
            db.add(to_row(entry))
            created += 1
        else:
            to_row(entry, row)
            updated += 1
    return created, updated


def load_active(db: DBSession) -> list[EntryData]:
    rows = db.execute(select(KnowledgeEntry).where(KnowledgeEntry.active.is_(True))).scalars()
    return [from_row(row) for row in rows]


def record_unanswered(db: DBSession, notes: Iterable[dict[str, Any]]) -> None:
    """Count questions the knowledge base could not answer, one row per question.

    Called by the conversation-log flusher in its transaction; each flusher holds its
    batch alone (LPOP), and a savepoint absorbs another process inserting the same new
    question at the same moment.
    """
    from sqlalchemy.exc import IntegrityError

    from bot.models import UnansweredQuestion, utcnow

    for note in notes:
        key = str(note.get("normalised") or "")[:255]
        if not key:
            continue
        query = select(UnansweredQuestion).where(UnansweredQuestion.normalised == key)
        row = db.execute(query).scalar_one_or_none()
        if row is None:
            try:
                with db.begin_nested():
                    db.add(
                        UnansweredQuestion(
                            normalised=key,
                            text=str(note.get("text") or key)[:2000],
                            best_topic=note.get("topic"),
                            best_score=note.get("score"),
                        )
                    )
                continue
            except IntegrityError:
                row = db.execute(query).scalar_one()
        row.count += 1
        row.last_asked_at = utcnow()


def add_paraphrases(db: DBSession, topic: str, questions: Iterable[str]) -> int:
    """Make queued questions paraphrases of the entry ``topic``; answer how many were new.

    What the console does when a curator turns an unanswered question (or a whole group of
    them, ``bot.kb.grouping``) into an entry's paraphrase: the questions are appended to the
    entry's paraphrases (once each) and marked resolved in the queue. The caller commits
    and bumps the version, so every process reindexes.
    """
    from bot.models import UnansweredQuestion

    row = db.execute(select(KnowledgeEntry).where(KnowledgeEntry.topic == topic)).scalar_one()
    entry = from_row(row)
    known = {normalise(q) for q in entry.questions}
    added = []
    questions = list(questions)
    for question in questions:
        question = " ".join(question.split())
        if question and normalise(question) not in known:
            known.add(normalise(question))
            added.append(question)
    if added:
        row.paraphrases = "\n".join([*entry.paraphrases, *added])
    keys = [q[:255] for q in questions]
    matching = or_(UnansweredQuestion.normalised.in_(keys), UnansweredQuestion.text.in_(questions))
    for queued in db.execute(select(UnansweredQuestion).where(matching)).scalars():
        queued.resolved = True
    return len(added)


def bump_version(redis_client: Any) -> int:
    """Tell every process to rebuild its index."""
    return int(redis_client.incr(VERSION_KEY))
