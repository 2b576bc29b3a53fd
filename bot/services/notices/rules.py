"""The WeChat platform's rules for the three notice channels, as data.

The sending code enforces these and the console shows them (``admin/notices/rules.html``
reads :data:`CHANNELS`, :data:`ERRORS` and the limits), so a rule changes in one place.
Staff-facing words for each reason and channel are in the templates, keyed by the names here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

# -- template messages ---------------------------------------------------------------------
# A keyword's value: at most 20 characters, one line (the platform refuses others: 47003).
FIELD_MAX_CHARS = 20
# Since 2023 the platform drops first/remark: a template using them shows an empty message.
FORBIDDEN_TEMPLATE_KEYS = frozenset({"first", "remark"})
# The notice template's keywords: logical field → the template's data key.
TEMPLATE_KEYS = {"title": "thing1", "summary": "thing2", "date": "time3"}
# WeChat de-duplicates a template message on (openid, client_msg_id) for 10 minutes.
CLIENT_MSG_ID_WINDOW = timedelta(minutes=10)
CLIENT_MSG_ID_MAX = 64

# -- customer-service messages -------------------------------------------------------------
# A member's message opens 5 pushes within 48 hours (bot.config.PUSH_WINDOW_MESSAGE).
CUSTOM_WINDOW = timedelta(hours=48)
CUSTOM_PUSHES_PER_WINDOW = 5

# -- mass sends ----------------------------------------------------------------------------
# clientmsgid: the same id within 24 h answers 45065 with the earlier job (it is sent).
MASS_CLIENTMSGID_MAX = 64


@dataclass(frozen=True)
class MassQuota:
    """How often an account type may mass-send."""

    per: str  # "day" | "month"
    count: int
    scope: str  # "account": sends by the account; "follower": notices each follower receives


MASS_QUOTAS = {
    "subscription": MassQuota("day", 1, "account"),
    "service": MassQuota("month", 4, "follower"),
}


@dataclass(frozen=True)
class Channel:
    name: str
    per_recipient: bool  # a delivery row per member (template, custom) or one job (mass)
    dedup_key: str | None  # the field WeChat de-duplicates on; None: a retry may duplicate


CHANNELS = {
    "template": Channel("template", True, "client_msg_id"),
    "custom": Channel("custom", True, None),
    "mass": Channel("mass", False, "clientmsgid"),
}


@dataclass(frozen=True)
class ErrorRule:
    """What an error code means for a notice send.

    ``action``: ``backoff`` (stop, resume after ``delay``), ``refresh`` (the token: once),
    ``skip`` (this recipient cannot get it: recorded with ``reason``), ``sent`` (the
    platform already has it), ``invalid`` (the message itself is refused: fix and retry).
    """

    code: int
    action: str
    reason: str
    delay: float = 0.0


ERRORS = {
    rule.code: rule
    for rule in (
        ErrorRule(45009, "backoff", "api_quota", 600.0),
        ErrorRule(-1, "backoff", "busy", 5.0),
        ErrorRule(40001, "refresh", "token"),
        ErrorRule(42001, "refresh", "token"),
        ErrorRule(43004, "skip", "unsubscribed"),
        ErrorRule(43019, "skip", "blocked"),
        ErrorRule(45015, "skip", "window"),
        ErrorRule(45047, "skip", "quota"),
        ErrorRule(45065, "sent", "duplicate"),
        ErrorRule(47003, "invalid", "template_field"),
        ErrorRule(45028, "backoff", "mass_quota", 3600.0),
    )
}


def rule_for(code: int) -> ErrorRule | None:
    return ERRORS.get(code)


# -- checks --------------------------------------------------------------------------------
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")


def field_problem(value: str) -> str | None:
    """Why ``value`` cannot be a template keyword's value (``empty``, ``too_long``,
    ``line_break``), or None when it can."""
    if not value.strip():
        return "empty"
    if len(value) > FIELD_MAX_CHARS:
        return "too_long"
    if _LINE_BREAK.search(value):
        return "line_break"
    return None


def template_problems(data: dict[str, str]) -> dict[str, str]:
    """Every keyword of ``data`` that breaks the rules, with why (empty when all pass)."""
    problems = {key: "forbidden_key" for key in data if key in FORBIDDEN_TEMPLATE_KEYS}
    for key, value in data.items():
        problem = field_problem(value)
        if problem is not None and key not in problems:
            problems[key] = problem
    return problems


def template_client_msg_id(notice_id: int, delivery_id: int) -> str:
    """The template message's de-duplication key for one recipient (stable across retries)."""
    return f"notice-{notice_id}-{delivery_id}"[:CLIENT_MSG_ID_MAX]


def mass_clientmsgid(notice_id: int) -> str:
    """The mass send's de-duplication key, derived from the notice id."""
    return f"notice-{notice_id}"[:MASS_CLIENTMSGID_MAX]
