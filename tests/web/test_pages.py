"""The public pages members open from a reply, on rows made by the factories."""

from __future__ import annotations

from tests.factories import RegistrationFactory, TrainingSessionFactory


def test_a_confirmed_registration_shows_its_check_in_code(client):
    reg = RegistrationFactory(name="李四", company="青禾科技有限公司")
    page = client.get(f"/checkin/{reg.checkin_code}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<svg" in text and "到场出示此码" in text
    assert "李四 · 青禾科技有限公司" in text and "第三期新生代企业家培训班" in text


def test_a_waiting_or_cancelled_registration_shows_no_code(client):
    session = TrainingSessionFactory(title="非公经济大讲堂")
    waiting = RegistrationFactory(session=session, status="waitlisted")
    cancelled = RegistrationFactory(session=session, status="cancelled")
    waiting_page = client.get(f"/checkin/{waiting.checkin_code}").get_data(as_text=True)
    assert "候补中" in waiting_page and "<svg" not in waiting_page
    cancelled_page = client.get(f"/checkin/{cancelled.checkin_code}").get_data(as_text=True)
    assert "报名已取消" in cancelled_page and "<svg" not in cancelled_page


def test_an_attended_registration_says_so(client):
    reg = RegistrationFactory(status="attended")
    assert "已签到" in client.get(f"/checkin/{reg.checkin_code}").get_data(as_text=True)
