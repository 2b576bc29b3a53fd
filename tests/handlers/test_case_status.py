"""Progress of one's requests through the webhook: one's own cases only, with the last change
told and the next step; any case by its number and query code."""

from __future__ import annotations

from datetime import date

import pytest

from bot.extensions import db
from bot.services.cases import engine, mediation
from tests.conftest import WeChat
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)

TODAY = date(2026, 12, 1)


def open_for(org, openid: str, other_party: str):
    case = engine.open_case(
        db.session, mediation.KIND, openid=openid, today=TODAY, category="合同",
        data={"other_party": other_party}, chamber_id=org.zhejiang.id,
    )  # fmt: skip
    db.session.commit()
    return case


@pytest.fixture
def cases(org):
    mine = open_for(org, "o-me", "示范市华兴五金有限公司")
    theirs = open_for(org, "o-them", "示范市青禾科技有限公司")
    return mine, theirs


def test_my_progress_lists_only_my_cases(app, client, org, cases):
    mine, theirs = cases
    me = WeChat(client, "o-me")
    engine.set_status(db.session, mine, "已受理", org.mediator, "已与您电话确认", today=TODAY)
    engine.act(db.session, mine, "note", org.mediator, "对方财务难联系", today=TODAY)
    db.session.commit()
    listing = me.say("我的调解进度")
    assert mine.number in listing and theirs.number not in listing
    assert "已受理" in listing and "已与您电话确认" in listing  # the last change told
    assert "对方财务难联系" not in listing  # internal notes stay internal
    assert "调解员将联系双方" in listing  # the next step
    other = WeChat(client, "o-them").say("我反映的事怎么样了")
    assert theirs.number in other and mine.number not in other and "待受理" in other


def test_nothing_yet(app, client, org):
    assert "还没有" in WeChat(client, "o-nobody").say("查进度")


def test_my_own_case_by_its_number(app, client, org, cases):
    mine, _ = cases
    detail = WeChat(client, "o-me").say(f"{mine.number}到哪一步了")
    assert "当前状态：待受理" in detail and "下一步" in detail
    assert "查询码" not in detail  # not asked: it is theirs


def test_anyone_with_the_number_and_the_query_code(app, client, org, cases):
    mine, _ = cases
    stranger = WeChat(client, "o-stranger")
    detail = stranger.say(f"查一下 {mine.number} {mine.query_code}")
    assert mine.number in detail and "当前状态：待受理" in detail
    assert "凭编号和查询码" in detail
    asked = stranger.say(mine.number)
    assert "查询码" in asked
    assert "当前状态" in stranger.say(mine.query_code)


def test_a_wrong_code_and_a_missing_number_answer_alike(app, client, org, cases):
    mine, _ = cases
    stranger = WeChat(client, "o-stranger")
    wrong = "000000" if mine.query_code != "000000" else "111111"
    refused = stranger.say(f"{mine.number} {wrong}")
    missing = stranger.say(f"TJ20261201-0999 {wrong}")
    assert "没有查到" in refused and "没有查到" in missing
    assert "待受理" not in refused
    assert refused.replace(mine.number, "#") == missing.replace("TJ20261201-0999", "#")
