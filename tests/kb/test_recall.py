"""Members' own words: typos and homophones, synonyms, long accounts reduced to their question."""

from __future__ import annotations

import pytest

from bot.kb import answers
from bot.kb import query as queries
from bot.kb.speller import Speller, fuzzy, sound, sounds_alike
from bot.nlu import segment


def test_pinyin_of_characters_and_the_usual_confusions():
    assert sound("体") == sound("提") == "ti"
    assert sound("堂") == sound("唐") == "tang"
    assert sound("a") == ""
    assert fuzzy("zhang") == "zan" and fuzzy("ling") == fuzzy("nin")
    assert sounds_alike("裁", "栽", loose=True) and not sounds_alike("裁", "栽")
    assert not sounds_alike("保", "障", loose=True)


def test_the_speller_corrects_one_character_of_a_domain_word():
    speller = Speller(["劳动仲裁", "会费", "大讲堂", "体检"], is_word={"汇费"}.__contains__)
    every_bigram_unseen = lambda bigram: True  # noqa: E731 - the index's answer, stubbed
    assert speller.correct("劳动仲栽怎么申请", every_bigram_unseen) == "劳动仲裁怎么申请"
    assert speller.correct("大讲唐在哪", every_bigram_unseen) == "大讲堂在哪"
    assert speller.correct("提检收费吗", every_bigram_unseen) == "体检收费吗"
    assert speller.correct("会废多少", every_bigram_unseen) == "会费多少"  # a homophone
    # A real word is not a slip for a domain word that sounds the same.
    assert speller.correct("汇费多少", every_bigram_unseen) is None
    # Two characters that neither sound nor look related are left alone.
    assert speller.correct("仲夏怎么过", every_bigram_unseen) is None
    # Nothing unseen, nothing corrected (and nothing looked at).
    assert speller.correct("劳动仲栽", lambda bigram: False) is None


@pytest.mark.parametrize(
    "question,topic",
    [
        ("劳动仲栽要交钱吗", "legal.labor-dispute"),
        ("法治提检收费吗", "legal.checkup"),
        ("大讲唐怎么报名", "training.lecture-hall"),
        ("银锐互动怎么申请", "finance.tax-credit-loan"),
    ],
)
def test_a_typo_on_a_domain_word_still_finds_its_entry(app, question, topic):
    kb = app.extensions["kb"]
    prepared, ranked = kb.search(kb.index, question)
    assert prepared.corrected
    assert ranked.candidates[0].topic == topic
    assert kb.decide(question).band == "answer"


def test_a_question_without_typos_is_not_corrected(app):
    kb = app.extensions["kb"]
    prepared, _ = kb.search(kb.index, "法治体检收费吗")
    assert not prepared.corrected


@pytest.mark.parametrize(
    "question,topic",
    [
        ("社责报告怎么写", "csr.report"),  # a short name
        ("老企业家想搞师傅带徒弟", "training.mentoring"),  # the member's word for 传帮带
        ("被客户拖欠货款要不回来", "finance.risk"),  # for 债务纠纷
        ("老家的证明能不能找人代跑腿", "gov.proxy"),  # for 代办
        ("企业借钱难有什么渠道", "finance.matchmaking"),  # for 融资
        ("残障金能不能少交", "policy.disability-levy"),  # a common misnaming
    ],
)
def test_members_words_fold_into_the_entries_words(app, question, topic):
    decision = app.extensions["kb"].decide(question)
    assert decision.candidates[0].topic == topic


STORY = (
    "我们是一家做五金配件的工厂，在工业园里开了十二年，现在有一百二十个工人。"
    "这几年订单时好时坏，去年下半年开始原材料涨价，利润越来越薄，老板压力很大。"
    "今年春节后我们调整了生产线，有一个车间合并了，十几个老员工被调到了别的岗位。"
    "其中一个员工不愿意调岗，连续一个星期没来上班，也不接电话，车间主任去他家找过两次。"
    "后来我们按厂规给他发了解除劳动合同的通知，他一直没来办手续，工资我们也按月打到他卡上了。"
)
QUESTION = "请问员工说要去申请劳动仲裁，我们企业该怎么应对，仲裁时效是多久？"


def test_a_long_account_is_reduced_to_its_question():
    story = STORY * 7  # over 1,000 characters
    assert len(story + QUESTION) > 1000
    question, before = segment.split_question(story + QUESTION)
    assert question == QUESTION and before == story
    # A message with no question cue keeps its last sentences.
    question, _ = segment.split_question(STORY * 7)
    assert question and len(question) <= segment.QUESTION_CHARS


def test_a_long_account_is_answered_with_its_questions_entry(app):
    message = STORY * 7 + QUESTION
    kb = app.extensions["kb"]
    prepared, ranked = kb.search(kb.index, message)
    assert prepared.reduced and prepared.length > 1000
    # The story's domain words weigh in at half a question word's weight.
    assert queries.STORY_WEIGHT in prepared.terms.values()
    assert ranked.candidates[0].topic == "legal.labor-dispute"
    found = answers.answer(kb, message)
    assert found.topic == "legal.labor-dispute"
    assert kb.entry("legal.labor-dispute").source in found.text


def test_a_short_story_before_the_question_is_kept_whole(app):
    kb = app.extensions["kb"]
    prepared, ranked = kb.search(kb.index, "我们厂一直按时交税，纳税信用是A级，没有抵押能贷到款吗")
    assert not prepared.reduced
    assert ranked.candidates[0].topic == "finance.tax-credit-loan"
