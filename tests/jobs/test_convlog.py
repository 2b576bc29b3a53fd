"""The conversation log stores each line once, whoever writes it."""

from __future__ import annotations

import json

from bot.extensions import db
from bot.jobs import convlog
from bot.models import ConversationLog, UnansweredQuestion


def _line(text: str, **extra) -> dict:
    data = convlog.entry(
        openid="o-log", msg_type="text", text=text, reply="答复", intent="policy_question",
        confidence=0.4, handler="h", latency_ms=3.0,
    )  # fmt: skip
    data.update(extra)
    return data


def test_a_line_written_by_the_worker_and_again_by_a_web_process_is_stored_once(app):
    client = app.extensions["redis"]
    first, second = (
        _line("一"),
        _line("二", notes=[{"kind": "unanswered", "text": "二", "normalised": "二"}]),
    )
    client.rpush("bot:convlog", json.dumps(first), json.dumps(second))
    recent = convlog.RecentLines()
    recent.add(json.dumps(first))
    recent.add(json.dumps(second))
    assert convlog.flush(client) == 2
    assert recent.save() == 0  # both are stored already: nothing new, notes not doubled
    assert db.session.query(ConversationLog).count() == 2
    question = db.session.query(UnansweredQuestion).one()
    assert question.text == "二" and question.count == 1


def test_kept_lines_are_saved_when_redis_lost_them(app):
    recent = convlog.RecentLines()
    for text in ("三", "四"):
        recent.add(json.dumps(_line(text)))
    assert recent.save() == 2
    assert recent.save() == 0  # taken once
    assert sorted(r.text for r in db.session.query(ConversationLog)) == ["三", "四"]


def test_lines_older_than_the_window_are_not_kept(app):
    recent = convlog.RecentLines(seconds=0.0)
    recent.add(json.dumps(_line("旧")))
    assert recent.take() == []
