"""factory_boy factories for the rows tests need: a believable row with one call, any field
overridden by keyword (``TrainingSessionFactory(capacity=5)``).

They save through the test's SQLAlchemy session (``db.session`` of the app context the
``app`` fixture pushes) and commit, so the webhook, which works in a session of its own,
sees the rows. Only the fields a row cannot do without are set; models gain fields over
time, and their defaults apply.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory
from flask import current_app
from werkzeug.security import generate_password_hash

from bot.extensions import db
from bot.models import (
    AdminUser,
    Case,
    Chamber,
    Committee,
    Department,
    Follower,
    Handoff,
    HandoffMessage,
    KnowledgeEntry,
    Member,
    MemberRequest,
    Registration,
    TrainingSession,
)
from bot.services.clock import local_now

PASSWORD = "correct-horse-battery"  # AdminUserFactory's password unless one is given


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        # Looked up at each use: the session of whichever app context the test is in.
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


def in_days(days: float) -> factory.LazyFunction:
    """A local time ``days`` from now, in the organisation's zone (how sessions store time)."""
    return factory.LazyFunction(lambda: local_now(current_app.config) + timedelta(days=days))


class ChamberFactory(BaseFactory):
    class Meta:
        model = Chamber

    name = factory.Sequence(lambda n: f"示范市第{n + 1}商会")


class MemberFactory(BaseFactory):
    """A member on the roster; ``openid`` is unset until they bind their WeChat account."""

    class Meta:
        model = Member

    name = factory.Iterator(["张三", "李四", "王五", "赵六"])
    company = factory.Sequence(lambda n: f"示范市华兴{n + 1}号五金有限公司")
    mobile = factory.Sequence(lambda n: f"1380000{n:04d}")


class MemberRequestFactory(BaseFactory):
    class Meta:
        model = MemberRequest

    openid = factory.Sequence(lambda n: f"o-applicant-{n}")
    name = "赵六"
    mobile = factory.Sequence(lambda n: f"1370000{n:04d}")


class TrainingSessionFactory(BaseFactory):
    """An open session anyone may join, in ten days; registration closes two hours before."""

    class Meta:
        model = TrainingSession

    title = "第三期新生代企业家培训班"
    kind = "新生代企业家培训班"
    starts_at = in_days(10)
    deadline = factory.LazyAttribute(lambda s: s.starts_at - timedelta(hours=2))
    capacity = 30
    status = "open"
    audience = "anyone"
    place = "市委党校"


class RegistrationFactory(BaseFactory):
    """A confirmed registration (its seat taken) for a new session unless one is given."""

    class Meta:
        model = Registration

    session = factory.SubFactory(TrainingSessionFactory)
    openid = factory.Sequence(lambda n: f"o-registrant-{n}")
    name = "张三"
    company = "示范市华兴五金有限公司"
    phone = factory.Sequence(lambda n: f"1390000{n:04d}")
    status = "confirmed"
    checkin_code = factory.Sequence(lambda n: f"test-checkin-{n:06d}")

    @factory.post_generation
    def take_seat(self, create: bool, extracted: object, **kwargs: object) -> None:
        # A confirmed (or attended) registrant holds one of the session's seats.
        if self.status in ("confirmed", "attended"):
            self.session.seats_taken += 1
            if create:
                db.session.commit()


class AdminUserFactory(BaseFactory):
    """A console account; log in with ``PASSWORD`` (or the ``password`` given)."""

    class Meta:
        model = AdminUser
        exclude = ("password",)

    username = factory.Sequence(lambda n: f"staff{n}")
    password = PASSWORD
    password_hash = factory.LazyAttribute(lambda u: generate_password_hash(u.password))
    role = "admin"


class FollowerFactory(BaseFactory):
    class Meta:
        model = Follower

    openid = factory.Sequence(lambda n: f"o-follower-{n}")
    subscribed = True


class HandoffFactory(BaseFactory):
    """A member waiting for a person."""

    class Meta:
        model = Handoff

    openid = factory.Sequence(lambda n: f"o-handoff-{n}")
    status = "waiting"
    reason = "asked"


class HandoffMessageFactory(BaseFactory):
    """A line from the member, in a new hand-off unless ``handoff`` is given."""

    class Meta:
        model = HandoffMessage
        exclude = ("handoff",)

    handoff = factory.SubFactory(HandoffFactory)
    handoff_id = factory.SelfAttribute("handoff.id")
    sender = "member"
    text = "我想咨询一下入会的事"


class KnowledgeEntryFactory(BaseFactory):
    class Meta:
        model = KnowledgeEntry

    topic = factory.Sequence(lambda n: f"test.topic-{n}")
    title = factory.Sequence(lambda n: f"测试条目{n}")
    question = "测试条目怎么办理"
    answer = "测试条目的答复：请携带营业执照到服务大厅办理。"


class CommitteeFactory(BaseFactory):
    """A mediation committee of the federation (no chamber) taking every dispute type."""

    class Meta:
        model = Committee

    name = factory.Sequence(lambda n: f"示范市第{n + 1}人民调解委员会")
    dispute_types = factory.LazyFunction(
        lambda: ["合同", "货款债务", "劳动用工", "知识产权", "租赁", "金融", "其他"]
    )
    contact = "王调解员 0000-12345678"


class DepartmentFactory(BaseFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"示范市工商联第{n + 1}部门")
    categories = factory.LazyFunction(lambda: ["融资"])


class CaseFactory(BaseFactory):
    """A mediation case waiting to be accepted, routed to a new committee unless given.

    Numbers come from their own sequence (``TJ20261201-9001`` …), apart from the day
    counters the engine uses, so a factory row never collides with an intake.
    """

    class Meta:
        model = Case
        exclude = ("committee",)

    committee = factory.SubFactory(CommitteeFactory)
    committee_id = factory.SelfAttribute("committee.id")
    number = factory.Sequence(lambda n: f"TJ20261201-{9001 + n}")
    kind = "mediation"
    query_code = "123456"
    openid = factory.Sequence(lambda n: f"o-applicant-{n}")
    status = "待受理"
    category = "合同"
    title = "示范市华兴五金有限公司"
    data = factory.LazyFunction(dict)
    extensions = 0
