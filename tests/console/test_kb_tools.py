"""Knowledge-base hit testing and the grouped unanswered queue (issue 14): the console shows
the band a member would get, from the same answer function; alike questions are one group;
one click makes questions paraphrases of an entry (the chat then answers them) or starts a
new entry with them."""

from __future__ import annotations

import json
import re
import time

from flask import current_app
from sqlalchemy import select

from bot.extensions import db
from bot.kb import answers
from bot.models import AuditLog, KnowledgeEntry, UnansweredQuestion


def queue(*items: tuple[str, int, str | None]) -> list[UnansweredQuestion]:
    rows = [
        UnansweredQuestion(normalised=text, text=text, count=count, best_topic=topic)
        for text, count, topic in items
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def some_entry() -> KnowledgeEntry:
    return db.session.execute(select(KnowledgeEntry).order_by(KnowledgeEntry.id)).scalars().first()


def wait_for_band(question: str, band: str) -> answers.Answer:
    """The knowledge base reloads in the background after a save (KB_RELOAD_SECONDS)."""
    base = current_app.extensions["kb"]
    deadline = time.monotonic() + 10
    while True:
        found = answers.answer(base, question)
        if found.band == band or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_hit_test_shows_what_the_member_gets(console, client) -> None:
    entry = some_entry()
    console.login("ed", "editor")
    page = client.get("/admin/kb/test", query_string={"q": entry.question})
    text = page.get_data(as_text=True)
    found = answers.answer(current_app.extensions["kb"], entry.question)
    assert found.band == "answer" and found.topic == entry.topic
    assert '<span class="badge badge-green">直接回答</span>' in text
    first = re.search(r'<table class="hits">.*?<tbody>(.*?)</tr>', text, re.S)
    assert first and entry.title in first.group(1) and "答案" in first.group(1)
    assert f"{found.candidates[0].score:.3f}" in text
    reply = re.search(r'<div class="pre" id="reply"[^>]*>(.*?)</div>', text, re.S)
    assert reply and found.text.split("\n")[0] in reply.group(1)

    nonsense = client.get("/admin/kb/test", query_string={"q": "火星上的量子比特怎么养殖"})
    text = nonsense.get_data(as_text=True)
    assert "未能回答" in text and "抱歉，暂时没有找到" in text
    assert client.get("/admin/kb/test?q=" + "长" * 5000).status_code == 200


def test_alike_questions_are_grouped_with_counts(console, client) -> None:
    entry = some_entry()
    queue(
        ("社保费可以缓缴吗", 5, entry.topic),
        ("社保费能不能缓缴", 3, entry.topic),
        ("社保费缓缴怎么申请", 2, None),
        ("出口退税多久到账", 4, None),
    )
    console.login("ed", "editor")
    page = client.get("/admin/kb/unanswered").get_data(as_text=True)
    groups = re.findall(r'<section class="card group".*?</section>', page, re.S)
    assert len(groups) == 2
    assert "共被问 <strong>10</strong> 次 · 3 种问法" in groups[0]
    assert f'最接近：<a href="/admin/kb/{entry.id}/edit">{entry.title}</a>' in groups[0]
    assert "出口退税多久到账" in groups[1] and "共被问 <strong>4</strong> 次" in groups[1]
    # The plain list is still there.
    listing = client.get("/admin/kb/unanswered?view=list").get_data(as_text=True)
    assert listing.index("社保费可以缓缴吗") < listing.index("出口退税多久到账")


def test_one_click_makes_a_group_paraphrases_and_the_chat_answers(console, client, wechat):
    entry = some_entry()
    # Words no entry answers yet.
    rows = queue(("紫砂壶暗号七七八", 5, entry.topic), ("紫砂壶的暗号七七八", 3, None))
    assert answers.answer(current_app.extensions["kb"], "紫砂壶暗号七七八").band != "answer"
    console.login("ed", "editor")
    ids = ",".join(str(r.id) for r in rows)
    response = console.post(
        "/admin/kb/unanswered/paraphrase", {"questions": ids, "topic": entry.topic}
    )
    assert response.status_code == 302
    db.session.rollback()
    stored = db.session.get(KnowledgeEntry, entry.id)
    assert "紫砂壶暗号七七八" in stored.paraphrases.splitlines()
    assert all(db.session.get(UnansweredQuestion, r.id).resolved for r in rows)
    log = db.session.execute(select(AuditLog).where(AuditLog.action == "kb.paraphrase"))
    detail = json.loads(log.scalar_one().detail)
    assert detail == {"questions": [r.id for r in rows], "added": 2}
    page = client.get("/admin/kb/unanswered").get_data(as_text=True)
    assert "没有待处理的问题" in page
    # The chat answers with the entry the question now belongs to.
    found = wait_for_band("紫砂壶暗号七七八", "answer")
    assert found.topic == entry.topic
    assert wechat.say("紫砂壶暗号七七八").split("\n")[0] == found.text.split("\n")[0]


def test_an_unknown_entry_or_no_question_is_refused(console, client) -> None:
    [row] = queue(("出口退税多久到账", 4, None))
    console.login("ed", "editor")
    response = console.post(
        "/admin/kb/unanswered/paraphrase",
        {"questions": str(row.id), "topic": "no.such-topic"},
        follow_redirects=True,
    )
    assert "没有主题编号为“no.such-topic”的条目" in response.get_data(as_text=True)
    db.session.rollback()
    assert not db.session.get(UnansweredQuestion, row.id).resolved
    bad = console.post("/admin/kb/unanswered/paraphrase", {"questions": "x", "topic": "a"})
    assert bad.status_code == 400


def test_a_new_entry_started_from_questions_resolves_them(console, client) -> None:
    rows = queue(("出口退税多久到账", 4, None), ("出口退税要多长时间", 2, None))
    ids = ",".join(str(r.id) for r in rows)
    console.login("ed", "editor")
    form = client.get(f"/admin/kb/new?from={ids}").get_data(as_text=True)
    assert 'value="出口退税多久到账"' in form and "出口退税要多长时间</textarea>" in form
    assert f'name="from" value="{ids}"' in form
    response = console.post(
        "/admin/kb/new",
        {
            "from": ids,
            "topic": "tax.export-refund",
            "title": "出口退税办理时限",
            "question": "出口退税多久到账",
            "paraphrases": "出口退税要多长时间",
            "answer": "一般在申报后 10 个工作日内办结。",
            "active": "y",
            "action": "save",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.rollback()
    assert all(db.session.get(UnansweredQuestion, r.id).resolved for r in rows)
    log = db.session.execute(select(AuditLog).where(AuditLog.action == "kb.create"))
    assert json.loads(log.scalar_one().detail)["questions"] == [r.id for r in rows]


def test_a_large_group_lists_some_questions_and_acts_on_all(console, client) -> None:
    from bot.console import kb

    entry = some_entry()
    extra = kb.SHOWN_PER_GROUP + 5
    queue(*[(f"紫砂壶暗号七七八第{n}号", 1, entry.topic) for n in range(extra)])
    console.login("ed", "editor")
    page = client.get("/admin/kb/unanswered").get_data(as_text=True)
    [group] = re.findall(r'<section class="card group".*?</section>', page, re.S)
    assert "还有 5 种问法未列出" in group and group.count("×1") == kb.SHOWN_PER_GROUP
    ids = re.search(r'name="questions" value="([0-9,]+)"><input type="hidden" name="page"', group)
    assert ids and len(ids.group(1).split(",")) == extra
    console.post(
        "/admin/kb/unanswered/paraphrase", {"questions": ids.group(1), "topic": entry.topic}
    )
    db.session.rollback()
    left = select(UnansweredQuestion).where(UnansweredQuestion.resolved.is_(False))
    assert db.session.execute(left).first() is None
