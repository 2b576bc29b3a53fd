"""Durable records (SQLAlchemy 2, typed), one module per area, all re-exported here.

Models never commit: the dispatcher or view does. Only portable column types, so the same
models and migrations run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from bot.models.attachments import Attachment
from bot.models.base import utcnow
from bot.models.calendar import CalendarYear, Holiday
from bot.models.cases import Case, CaseCounter, CaseEvent, Outbox
from bot.models.forms import FormSubmission
from bot.models.handoff import Handoff, HandoffMessage
from bot.models.kb import KnowledgeEntry, UnansweredQuestion
from bot.models.log import ConversationLog
from bot.models.members import Chamber, Member, MemberRequest
from bot.models.notices import Delivery, Notice
from bot.models.org import Committee, Department
from bot.models.services import Provider, ProxyItem
from bot.models.staff import AdminUser, AuditLog
from bot.models.training import Registration, TrainingSession
from bot.models.wechat import Follower, OutboundMessage, PendingReply

__all__ = [
    "AdminUser",
    "Attachment",
    "AuditLog",
    "CalendarYear",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "Chamber",
    "Committee",
    "ConversationLog",
    "Delivery",
    "Department",
    "Follower",
    "FormSubmission",
    "Handoff",
    "HandoffMessage",
    "Holiday",
    "KnowledgeEntry",
    "Member",
    "MemberRequest",
    "Notice",
    "OutboundMessage",
    "Outbox",
    "PendingReply",
    "Provider",
    "ProxyItem",
    "Registration",
    "TrainingSession",
    "UnansweredQuestion",
    "utcnow",
]
