"""The one answer function: what the handler, `flask kb ask` and the console's hit test share."""

from __future__ import annotations

from bot.kb import answers


def test_a_confident_answer_links_to_its_detail_page_for_members(app, wechat):
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    reply = wechat.say("法治体检是免费的吗")
    assert "来源：" in reply and f"{base}/kb/legal.checkup" in reply


def test_the_cli_gets_the_same_answer_without_the_link(app):
    kb = app.extensions["kb"]
    found = answers.answer(kb, "法治体检是免费的吗")
    assert (found.band, found.topic) == ("answer", "legal.checkup")
    assert "来源：" in found.text and "/kb/legal.checkup" not in found.text
    linked = answers.answer(kb, "法治体检是免费的吗", links=app.extensions["dispatcher"].links)
    assert "/kb/legal.checkup" in linked.text
    assert found.text == linked.text.replace(
        f"\n详细说明：{app.config['PUBLIC_BASE_URL'].rstrip('/')}/kb/legal.checkup", ""
    )


def test_no_public_base_url_no_link(app):
    kb = app.extensions["kb"]
    app.config["PUBLIC_BASE_URL"] = ""
    found = answers.answer(kb, "法治体检是免费的吗", links=app.extensions["dispatcher"].links)
    assert "来源：" in found.text and "/kb/" not in found.text


def test_choices_are_the_titles_shown_in_order(app):
    kb = app.extensions["kb"]
    question = next(
        q
        for q in ("商会登记", "商会管理", "商会的事", "商会会员", "培训班")
        if kb.decide(q).band == "choices"
    )
    found = answers.answer(kb, question)
    assert found.choices == [c.topic for c in found.candidates[: answers.MAX_CHOICES]]
    for number, topic in enumerate(found.choices, start=1):
        assert f"{number}. {kb.entry(topic).title}" in found.text
    assert found.topic is None


def test_nothing_found_is_said_honestly(app):
    found = answers.answer(app.extensions["kb"], "今天天气怎么样")
    assert found.band == "none" and found.choices == [] and "没有找到" in found.text
