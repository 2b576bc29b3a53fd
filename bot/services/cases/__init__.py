"""One case engine for every service request; each kind is a declaration on it.

``spec`` says what a kind is (states, transition table, routing, clocks, reminders),
``engine`` runs every kind (open, change, history, owing the member a message), ``outbox``
keeps what is owed until a job sends it, ``scope`` says who sees which cases, ``clocks``
watches deadlines and reminders, ``stats`` counts, ``rows`` exports. One module per kind
declares it: ``mediation`` (调解), ``appeals`` (诉求), ``legal_checkup`` (法治体检),
``financing`` (政银企对接), ``proxy`` (商会代办), ``investment`` (招商线索).
"""

from __future__ import annotations

from bot.services.cases import (
    appeals,
    financing,
    investment,
    legal_checkup,
    mediation,
    proxy,
)
from bot.services.cases.engine import (
    CaseNotFound,
    CaseRefused,
    act,
    allowed_actions,
    by_number,
    lookup,
    of_member,
    open_case,
    set_status,
    visible_case,
)
from bot.services.cases.scope import cases_visible_to, may_see
from bot.services.cases.spec import KINDS, CaseKind, kind_of

__all__ = [
    "KINDS",
    "CaseKind",
    "CaseNotFound",
    "CaseRefused",
    "act",
    "allowed_actions",
    "appeals",
    "by_number",
    "cases_visible_to",
    "financing",
    "investment",
    "kind_of",
    "legal_checkup",
    "lookup",
    "may_see",
    "mediation",
    "of_member",
    "open_case",
    "proxy",
    "set_status",
    "visible_case",
]
