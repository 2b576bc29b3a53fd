"""The knowledge base (政策知识库): entries, their edit form with a live preview, and the
questions it could not answer.

A saved entry bumps the knowledge-base version in Redis; every process reloads within
``KB_RELOAD_SECONDS`` (``bot.kb.entries``).
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select

from bot.console import access, nav
from bot.console.common import PER_PAGE, audit, int_arg, local_now, render, sql, staff
from bot.console.forms import EntryForm
from bot.extensions import db
from bot.kb import entries as knowledge
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
    if request.method == "GET":
        form = EntryForm(row=row)
        return render("kb/form.html", row=row, form=form, preview=form.preview())
    form = EntryForm(row=row, data={})
    valid = form.validate()
    if not valid or request.form.get("action") == "preview":
        page = render("kb/form.html", row=row, form=form, preview=form.preview())
        return page, 200 if valid else 400
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
    audit(action, f"knowledge_entry:{row.topic}", fields=changed)
    sql().commit()
    try:
        knowledge.bump_version(current_app.extensions["redis"])
    except Exception:
        log.exception("could not bump the knowledge-base version")
        flash("已保存，但通知各进程更新失败：新答案将在服务重启后生效。", "warning")
    else:
        flash("已保存。各服务进程将在 2 秒内使用新内容。", "success")
    return redirect(url_for(".edit", entry_id=row.id))


@bp.get("/unanswered")
@access.require(*ROLES)
def unanswered() -> ResponseReturnValue:
    show_all = request.args.get("all") == "1"
    query = select(UnansweredQuestion)
    if not show_all:
        query = query.where(UnansweredQuestion.resolved.is_(False))
    query = query.order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.last_asked_at.desc())
    pager = db.paginate(
        access.scoped(query, staff()), page=int_arg("page"), per_page=PER_PAGE, error_out=False
    )
    rows = sql().execute(select(KnowledgeEntry.topic, KnowledgeEntry.id)).all()
    topics = {topic: ident for topic, ident in rows}
    return render("kb/unanswered.html", pager=pager, show_all=show_all, topics=topics)


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
