"""The unanswered queue in groups, and a group turned into an entry's paraphrases."""

from __future__ import annotations

from dataclasses import dataclass

from bot.extensions import db
from bot.kb import entries as knowledge
from bot.kb.grouping import group_unanswered
from bot.models import KnowledgeEntry, UnansweredQuestion


@dataclass
class Queued:
    text: str
    count: int
    best_topic: str | None = None


def test_alike_questions_share_a_group_with_their_counts_summed():
    rows = [
        Queued("无人机航拍服务怎么收费", 3, "member.fee"),
        Queued("无人机航拍服务收费标准", 2, "member.fee"),
        Queued("商会无人机航拍服务多少钱", 1, "legal.lawyer"),
        Queued("火锅店哪家好吃", 5),
        Queued("哪家火锅店好吃", 1),
        Queued("明天会下雨吗", 1),
    ]
    groups = group_unanswered(rows)
    assert [g.count for g in groups] == [6, 6, 1]
    drones = next(g for g in groups if "航拍" in g.representative)
    assert len(drones.questions) == 3 and drones.topic == "member.fee"
    assert drones.representative == "无人机航拍服务怎么收费"  # the most asked first
    assert drones.words  # a label of shared terms
    hotpot = next(g for g in groups if "火锅" in g.representative)
    assert {q.text for q in hotpot.questions} == {"火锅店哪家好吃", "哪家火锅店好吃"}
    assert group_unanswered([]) == []


def test_synonyms_bring_members_words_together(app):
    analyzer = app.extensions["kb"].analyzer
    rows = [Queued("小厂贷款难怎么办", 2), Queued("小厂融资难怎么办", 1), Queued("天气怎么样", 1)]
    groups = group_unanswered(rows, analyzer)
    assert [len(g.questions) for g in groups] == [2, 1]
    assert "融资" in groups[0].words


def test_a_group_becomes_paraphrases_of_an_entry(app):
    db.session.add_all(
        [
            UnansweredQuestion(normalised="社保费能延后几个月交吗", text="社保费能延后几个月交吗"),
            UnansweredQuestion(normalised="社保费可以推迟缴纳吗", text="社保费可以推迟缴纳吗"),
        ]
    )
    db.session.commit()
    questions = ["社保费能延后几个月交吗", "社保费可以推迟缴纳吗"]
    assert knowledge.add_paraphrases(db.session, "policy.social-insurance", questions) == 2
    db.session.commit()
    # Once only, and the queue is cleared.
    assert knowledge.add_paraphrases(db.session, "policy.social-insurance", questions[:1]) == 0
    row = db.session.execute(
        db.select(KnowledgeEntry).where(KnowledgeEntry.topic == "policy.social-insurance")
    ).scalar_one()
    assert row.paraphrases.splitlines()[-2:] == questions
    assert all(q.resolved for q in UnansweredQuestion.query.all())
    kb = app.extensions["kb"]
    kb.rebuild(knowledge.load_active(db.session))
    assert kb.decide("社保费可以推迟缴纳吗").candidates[0].topic == "policy.social-insurance"
