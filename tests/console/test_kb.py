"""The knowledge base in the console: editing entries (and the running bot serving the new
answer), template checks and previews, new entries, unanswered questions."""

from __future__ import annotations

import time

from sqlalchemy import select

from bot.extensions import db
from bot.models import KnowledgeEntry, UnansweredQuestion


def entry_form(row: KnowledgeEntry, **overrides) -> dict:
    form = {
        "title": row.title,
        "question": row.question,
        "paraphrases": row.paraphrases,
        "keywords": row.keywords,
        "answer": row.answer,
        "detail": row.detail,
        "source": row.source,
        "region": row.region or "",
        "valid_until": row.valid_until.isoformat() if row.valid_until else "",
        "reviewed": row.reviewed.isoformat() if row.reviewed else "",
        "active": "on",
        "action": "save",
    }
    form.update(overrides)
    return form


def test_kb_edit_bumps_the_version_and_the_new_answer_is_served(app, console, client) -> None:
    kb = app.extensions["kb"]
    redis = app.extensions["redis"]
    row = db.session.execute(select(KnowledgeEntry).order_by(KnowledgeEntry.id)).scalars().first()
    topic, question = row.topic, row.question
    console.login("ed", "editor")
    assert topic in client.get("/admin/kb").get_data(as_text=True)
    version = int(redis.get("bot:kb:version") or 0)
    new_answer = "新版答案：请携带营业执照到{{ org.short_name }}窗口办理，电话 {{ org.phone }}。"
    response = console.post(f"/admin/kb/{row.id}/edit", entry_form(row, answer=new_answer))
    assert response.status_code == 302
    assert int(redis.get("bot:kb:version")) == version + 1
    db.session.expire_all()
    assert db.session.get(KnowledgeEntry, row.id).answer == new_answer

    deadline = time.monotonic() + 3  # the watcher reloads within KB_RELOAD_SECONDS
    while time.monotonic() < deadline and kb.entry(topic).answer != new_answer:
        time.sleep(0.1)
    assert kb.entry(topic).answer == new_answer
    decision = kb.decide(question)
    assert decision.topic == topic
    served = kb.render_answer(topic, {"short_name": "示范市工商联", "phone": "0000-12345678"})
    assert served == "新版答案：请携带营业执照到示范市工商联窗口办理，电话 0000-12345678。"
    page = client.get(f"/admin/kb/{row.id}/edit").get_data(as_text=True)
    assert "新版答案：请携带营业执照到示范市工商联窗口办理" in page  # the rendered preview


def test_kb_form_refuses_broken_templates_and_previews_without_saving(app, console) -> None:
    row = db.session.execute(select(KnowledgeEntry).order_by(KnowledgeEntry.id)).scalars().first()
    original = row.answer
    version = app.extensions["redis"].get("bot:kb:version")
    console.login("ed", "editor")
    broken = console.post(f"/admin/kb/{row.id}/edit", entry_form(row, answer="电话 {{ org.phone"))
    assert broken.status_code == 400 and "模板写法有误" in broken.get_data(as_text=True)
    bad_date = console.post(f"/admin/kb/{row.id}/edit", entry_form(row, valid_until="明年"))
    assert bad_date.status_code == 400 and "有效期格式不对" in bad_date.get_data(as_text=True)
    preview = console.post(
        f"/admin/kb/{row.id}/edit", entry_form(row, answer="预览 {{ org.phone }}", action="preview")
    )
    assert preview.status_code == 200 and "预览 0000-12345678" in preview.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(KnowledgeEntry, row.id).answer == original
    assert app.extensions["redis"].get("bot:kb:version") == version


def test_kb_new_entry(console) -> None:
    console.login("ed", "editor")
    form = {
        "topic": "test.new-topic",
        "title": "测试条目",
        "question": "测试问题是什么",
        "answer": "测试答案",
        "keywords": "测试，条目",
        "active": "on",
        "action": "save",
    }
    assert console.post("/admin/kb/new", form).status_code == 302
    row = db.session.execute(
        select(KnowledgeEntry).where(KnowledgeEntry.topic == "test.new-topic")
    ).scalar_one()
    assert row.keywords == "测试,条目" and row.active
    again = console.post("/admin/kb/new", form)
    assert again.status_code == 400 and "已存在" in again.get_data(as_text=True)


def test_unanswered_questions_sorted_and_resolved(console, client) -> None:
    db.session.add_all(
        [
            UnansweredQuestion(normalised="a", text="外地商会怎么备案", count=2),
            UnansweredQuestion(normalised="b", text="工商联会费怎么交", count=9),
        ]
    )
    db.session.commit()
    console.login("ed", "editor")
    page = client.get("/admin/kb/unanswered").get_data(as_text=True)
    assert page.index("工商联会费怎么交") < page.index("外地商会怎么备案")
    row = db.session.execute(
        select(UnansweredQuestion).where(UnansweredQuestion.normalised == "b")
    ).scalar_one()
    console.post(f"/admin/kb/unanswered/{row.id}/resolve")
    db.session.refresh(row)
    assert row.resolved
    assert "工商联会费怎么交" not in client.get("/admin/kb/unanswered").get_data(as_text=True)
