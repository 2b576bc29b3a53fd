"""The knowledge base (政策知识库): entries, their edit form with a live preview, hit testing,
and the questions it could not answer, grouped by likeness.

Hit testing (问答测试) calls the one answer function (:func:`bot.kb.answers.answer`), so the
band, the ranked entries and the reply shown are exactly what a member asking the same
words gets. The unanswered queue is grouped by :func:`bot.kb.grouping.group_unanswered`;
one click makes a question (or a whole group) paraphrases of an entry
(:func:`bot.kb.entries.add_paraphrases`) or starts a new entry with them.

A saved entry bumps the knowledge-base version in Redis; every process reloads within
``KB_RELOAD_SECONDS`` (``bot.kb.entries``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select

from bot.console import access, nav
from bot.console.common import PER_PAGE, audit, int_arg, local_now, render, sql, staff
from bot.console.forms import EntryForm
from bot.extensions import db
from bot.kb import answers
from bot.kb import entries as knowledge
from bot.kb.grouping import group_unanswered
from bot.links import public_url
from bot.models import KnowledgeEntry, UnansweredQuestion

log = logging.getLogger(__name__)

bp = Blueprint("kb", __name__)
ROLES = ("editor",)
nav.register(
    "政策知识库",
    "admin.kb.index",
    roles=ROLES,
    order=40,
    icon="kb",
    group="内容",
    also=("admin.kb.edit",),
)
nav.register(
    "未解答问题", "admin.kb.unanswered", roles=ROLES, order=41, icon="question", group="内容"
)
nav.register("问答测试", "admin.kb.hit_test", roles=ROLES, order=42, icon="chat", group="内容")
# Unresolved questions grouped at once, the most asked first. Grouping compares a question
# with the members of the groups it shares terms with: 1,000 alike questions take about 4 s
# on the 2-core machine (a diverse queue far less); the rest wait for the next page load.
GROUPED_MAX = 1000
SHOWN_PER_GROUP = 20  # questions listed per group; the group's buttons act on all of them
PER_PAGE_GROUPS = 30
MAX_QUESTION = 200  # characters of a hit-test question (a member's message is shorter)
_SEARCHED = (
    KnowledgeEntry.topic,
    KnowledgeEntry.title,
    KnowledgeEntry.question,
    KnowledgeEntry.paraphrases,
    KnowledgeEntry.keywords,
)


def open_questions() -> int:
    query = (
        select(func.count())
        .select_from(UnansweredQuestion)
        .where(UnansweredQuestion.resolved.is_(False))
    )
    return int(sql().execute(access.scoped(query, staff())).scalar_one())


@bp.get("")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    query = select(KnowledgeEntry).order_by(KnowledgeEntry.topic)
    if q:
        query = query.where(or_(*(column.contains(q, autoescape=True) for column in _SEARCHED)))
    entries = list(sql().execute(access.scoped(query, staff())).scalars())
    return render(
        "kb/list.html",
        entries=entries,
        q=q,
        today=local_now().date(),
        open_questions=open_questions(),
    )


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
@access.require(*ROLES)
def edit(entry_id: int | None = None) -> ResponseReturnValue:
    row = access.get_or_404(KnowledgeEntry, entry_id) if entry_id else None
    queued = _queued(request.values.get("from", "")) if row is None else []
    if request.method == "GET":
        form = EntryForm(row=row) if row else EntryForm(data=_prefill(queued))
        return _form_page(row, form, queued)
    form = EntryForm(row=row, data={})
    valid = form.validate()
    if not valid or request.form.get("action") == "preview":
        return _form_page(row, form, queued), 200 if valid else 400
    values = form.values()
    if row is None:
        row = KnowledgeEntry(topic=form.topic.data)
        sql().add(row)
        action = "kb.create"
    else:
        action = "kb.update"
    changed = sorted(k for k, v in values.items() if getattr(row, k, None) != v)
    for key, value in values.items():
        setattr(row, key, value)
    sql().flush()
    for question in queued:  # the queued questions this new entry now answers
        question.resolved = True
    detail: dict[str, Any] = {"fields": changed}
    if queued:
        detail["questions"] = [q.id for q in queued]
    audit(action, f"knowledge_entry:{row.topic}", **detail)
    sql().commit()
    _reload("已保存。各服务进程将在 2 秒内使用新内容。")
    return redirect(url_for(".edit", entry_id=row.id))


def _reload(saved: str) -> None:
    """Tell every process to reindex, and say whether that worked."""
    try:
        knowledge.bump_version(current_app.extensions["redis"])
    except Exception:
        log.exception("could not bump the knowledge-base version")
        flash("已保存，但通知各进程更新失败：新答案将在服务重启后生效。", "warning")
    else:
        flash(saved, "success")


def _form_page(row: KnowledgeEntry | None, form: EntryForm, queued: list[Any]) -> str:
    return render("kb/form.html", row=row, form=form, preview=form.preview(), queued=queued)


def _ids(value: str) -> list[int]:
    """Question ids from a comma-separated list (a form value or a query argument)."""
    ids = [int(part) for part in value.split(",") if part.strip().isdigit()]
    return [i for i in ids if 0 < i < 2**63][:GROUPED_MAX]


def _queued(value: str) -> list[UnansweredQuestion]:
    ids = _ids(value)
    if not ids:
        return []
    query = select(UnansweredQuestion).where(UnansweredQuestion.id.in_(ids))
    rows = {q.id: q for q in sql().execute(access.scoped(query, staff())).scalars()}
    return [rows[i] for i in ids if i in rows]


def _prefill(queued: list[UnansweredQuestion]) -> dict[str, Any]:
    """A new entry started from queued questions: the first is its question, the others
    its paraphrases (as members typed them)."""
    if not queued:
        return {}
    texts = [" ".join(q.text.split()) for q in queued]
    return {"question": texts[0][:500], "paraphrases": "\n".join(texts[1:]), "active": True}


@bp.get("/unanswered")
@access.require(*ROLES)
def unanswered() -> ResponseReturnValue:
    show_all = request.args.get("all") == "1"
    rows = sql().execute(select(KnowledgeEntry.topic, KnowledgeEntry.id, KnowledgeEntry.title))
    entries = {topic: (ident, title) for topic, ident, title in rows.all()}
    if request.args.get("view") == "list" or show_all:
        query = select(UnansweredQuestion)
        if not show_all:
            query = query.where(UnansweredQuestion.resolved.is_(False))
        query = query.order_by(
            UnansweredQuestion.count.desc(), UnansweredQuestion.last_asked_at.desc()
        )
        pager = db.paginate(
            access.scoped(query, staff()), page=int_arg("page"), per_page=PER_PAGE, error_out=False
        )
        topics = {topic: ident for topic, (ident, _) in entries.items()}
        return render("kb/unanswered.html", pager=pager, show_all=show_all, topics=topics)
    query = (
        select(UnansweredQuestion)
        .where(UnansweredQuestion.resolved.is_(False))
        .order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.id)
        .limit(GROUPED_MAX)
    )
    queue = list(sql().execute(access.scoped(query, staff())).scalars())
    base = current_app.extensions["kb"]
    groups = group_unanswered(queue, base.analyzer)
    page = int_arg("page")
    pages = max(1, -(-len(groups) // PER_PAGE_GROUPS))
    shown = groups[(page - 1) * PER_PAGE_GROUPS : page * PER_PAGE_GROUPS]
    return render(
        "kb/unanswered_groups.html",
        groups=shown,
        total_groups=len(groups),
        total_questions=len(queue),
        page=min(page, pages),
        pages=pages,
        entries=entries,
        capped=len(queue) >= GROUPED_MAX,
        shown_per_group=SHOWN_PER_GROUP,
    )


@bp.post("/unanswered/paraphrase")
@access.require(*ROLES)
def paraphrase() -> ResponseReturnValue:
    """Make queued questions paraphrases of an entry (one question or a whole group)."""
    topic = request.form.get("topic", "").strip()
    queued = _queued(request.form.get("questions", ""))
    back = redirect(url_for(".unanswered", page=request.form.get("page") or None))
    entry = sql().execute(select(KnowledgeEntry).where(KnowledgeEntry.topic == topic[:80]))
    row = entry.scalar_one_or_none()
    if not queued:
        abort(400)
    if row is None:
        flash(f"没有主题编号为“{topic[:80]}”的条目，请从列表中选择。", "error")
        return back
    added = knowledge.add_paraphrases(sql(), row.topic, [q.text for q in queued])
    for question in queued:
        question.resolved = True
    audit(
        "kb.paraphrase",
        f"knowledge_entry:{row.topic}",
        questions=[q.id for q in queued],
        added=added,
    )
    sql().commit()
    _reload(f"已把 {len(queued)} 个问题加为“{row.title}”的问法（新增 {added} 条）。")
    return back


@bp.get("/test")
@access.require(*ROLES)
def hit_test() -> ResponseReturnValue:
    """What a member asking these words would get: the band, the ranked entries, the reply."""
    question = request.args.get("q", "").strip()[:MAX_QUESTION]
    result = None
    if question:
        base = current_app.extensions["kb"]
        found = answers.answer(base, question, links=public_url)
        shown = found.choices
        result = {
            "band": found.band,
            "topic": found.topic,
            "score": found.score,
            "p_answer": found.decision.p_answer,
            "p_choices": found.decision.p_choices,
            "reply": found.text,
            "candidates": [
                {
                    "topic": c.topic,
                    "score": c.score,
                    "title": (base.entry(c.topic).title if base.entry(c.topic) else c.topic),
                    "choice": shown.index(c.topic) + 1 if c.topic in shown else None,
                }
                for c in found.candidates
            ],
        }
    rows = sql().execute(select(KnowledgeEntry.topic, KnowledgeEntry.id)).all()
    ids = {topic: ident for topic, ident in rows}
    return render("kb/test.html", question=question, result=result, ids=ids)


@bp.post("/unanswered/<int:question_id>/resolve")
@access.require(*ROLES)
def resolve(question_id: int) -> ResponseReturnValue:
    row = access.get_or_404(UnansweredQuestion, question_id)
    if not row.resolved:
        row.resolved = True
        audit("kb.resolve", f"unanswered_question:{row.id}", text=row.text[:100])
        sql().commit()
        flash("已标记为已处理。", "success")
    return redirect(url_for(".unanswered"))
