"""Who a notice reaches: each kind of audience, never an unsubscribed follower, and the
customer-service channel only within the 48-hour window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.extensions import db
from bot.models import ConversationLog, utcnow
from bot.services.notices import audience, compose
from tests.factories import (
    ChamberFactory,
    FollowerFactory,
    MemberFactory,
    RegistrationFactory,
    TrainingSessionFactory,
)


def notice(spec: str, channel: str = "template", **kw):
    row = compose.create(db.session, title="通知", body="b", actor="ada", audience_spec=spec,
                         channel=channel, **kw)  # fmt: skip
    db.session.commit()
    return row


def test_each_audience_kind_and_no_unsubscribed_follower(app):
    east, west = ChamberFactory(), ChamberFactory()
    MemberFactory(openid="o-east-1", chamber_id=east.id, tags="新生代,理事")
    MemberFactory(openid="o-east-2", chamber_id=east.id, tags="理事")
    MemberFactory(openid="o-west-1", chamber_id=west.id, tags="新生代一期")  # not the tag 新生代
    MemberFactory(openid=None, chamber_id=east.id, tags="新生代")  # not bound: unreachable
    for openid in ("o-east-1", "o-east-2", "o-west-1", "o-other"):
        FollowerFactory(openid=openid)
    FollowerFactory(openid="o-east-2-left", subscribed=False)
    MemberFactory(openid="o-east-2-left", chamber_id=east.id, tags="理事")
    session = TrainingSessionFactory()
    RegistrationFactory(session=session, openid="o-west-1", status="confirmed")
    RegistrationFactory(session=session, openid="o-other", status="cancelled")
    now = utcnow()

    assert audience.recipients(db.session, notice("all"), now) == [
        "o-east-1",
        "o-east-2",
        "o-other",
        "o-west-1",
    ]
    assert audience.recipients(db.session, notice(f"chamber:{east.id}"), now) == [
        "o-east-1",
        "o-east-2",
    ]
    assert audience.recipients(db.session, notice("tag:新生代"), now) == ["o-east-1"]
    assert audience.recipients(db.session, notice("tag:理事"), now) == ["o-east-1", "o-east-2"]
    assert audience.recipients(db.session, notice(f"session:{session.id}"), now) == ["o-west-1"]
    listed = notice("list", audience_list=["o-other", "o-east-2-left"])
    assert audience.recipients(db.session, listed, now) == ["o-other"]


def test_customer_service_notices_only_reach_the_window(app):
    for openid in ("o-recent", "o-old", "o-tapped"):
        FollowerFactory(openid=openid)
    now = utcnow()
    db.session.add_all(
        [
            ConversationLog(at=now - timedelta(hours=3), openid="o-recent", msg_type="text"),
            ConversationLog(at=now - timedelta(hours=50), openid="o-old", msg_type="text"),
            # A menu tap opens no 48-hour window.
            ConversationLog(at=now - timedelta(hours=1), openid="o-tapped", msg_type="event"),
        ]
    )
    db.session.commit()
    assert audience.recipients(db.session, notice("all", channel="custom"), now) == ["o-recent"]


@pytest.mark.parametrize("spec", ["chamber:abc", "fish", "tag:", "session:1;drop", ""])
def test_an_audience_that_names_nothing_is_refused(app, spec):
    with pytest.raises(audience.AudienceError):
        audience.parse(spec)
