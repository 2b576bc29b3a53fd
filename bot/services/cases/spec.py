"""What a case kind is: states, a transition table, routing rules, clocks and reminders.

A kind is a value declared once (``bot.services.cases.mediation`` declares mediation) and
registered in :data:`KINDS`; the engine (``bot.services.cases.engine``) runs every kind the
same way. Nothing here touches the database except through the small callables a kind
supplies (its routing rules and its action hooks).

Words are not declared here: a kind's member-visible wording lives in
``templates/replies/cases/<kind>/<action>.txt`` (and ``next_<state slug>.txt`` for the next
step a member reads), its staff-facing labels in ``templates/admin/cases/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.extensions import DBSession
    from bot.models.cases import Case
    from bot.models.staff import AdminUser

ADMIN = "admin"


@dataclass(frozen=True)
class State:
    """A status a case can be in. ``name`` is stored and shown (待受理); ``slug`` names its
    templates (``next_pending.txt``)."""

    name: str
    slug: str
    final: bool = False


@dataclass(frozen=True)
class Assignee:
    """Who a case is routed to: a committee, a department, a person (any combination)."""

    committee_id: int | None = None
    department_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class Route:
    """One routing rule, tried in order; ``name`` is recorded on the case as the rule that chose."""

    name: str
    pick: Callable[[DBSession, Intake], Assignee | None]


@dataclass(frozen=True)
class Intake:
    """What a routing rule may look at: the kind's category and the applicant's chamber."""

    category: str
    chamber_id: int | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Input:
    """A value staff give with an action, as the console asks for it (the table's
    ``fields``/``optional`` name them).

    ``type`` is ``text``, ``textarea``, ``date``, ``datetime``, ``int``, ``money``,
    ``select`` (``choices`` gives the options for a case: value, label) or ``yes_no``.
    """

    name: str
    label: str
    type: str = "text"
    max_len: int = 500
    choices: Callable[[DBSession, Case], list[tuple[str, str]]] | None = None


@dataclass(frozen=True)
class Clock:
    """The target of a state, counted from the day the case enters it (local date).

    ``workdays`` counts in the holiday calendar (and refuses a year it does not cover);
    ``months`` is a calendar period (一个月: 12月1日 → 1月1日, month ends clipped).
    """

    workdays: int = 0
    months: int = 0


# A state's clock: fixed, or chosen for the case (an appeal's answer time by category and
# urgency); ``None`` from the callable means no deadline in that state for this case.
ClockRule = Clock | Callable[["Case"], Clock | None]


@dataclass
class Step:
    """The change an action is making, handed to the action's hook before it is recorded.

    A hook may change ``case`` (its assignee, ``data``, ``due_at``), put what the history and
    the member's message should carry in ``data``/``context``, or raise ``CaseRefused``.
    """

    db: DBSession
    case: Case
    user: AdminUser | None
    transition: Transition
    note: str
    data: dict[str, Any]
    today: date
    context: dict[str, Any] = field(default_factory=dict)


Hook = Callable[[Step], None]


@dataclass(frozen=True)
class Transition:
    """One row of a kind's transition table.

    :param sources: the states it may be made from.
    :param target: the state it leads to; ``None`` keeps the status (a session scheduled, a
        transfer, an internal note).
    :param roles: who may make it (``admin`` may make every transition of every kind).
    :param tell: the member is told (a member-visible history row and an outbox row with the
        template ``replies/cases/<kind>/<action>.txt``); otherwise it is internal.
    :param note: a note (reason) is required.
    :param fields: the values of ``data`` it requires; ``optional`` those it accepts besides.
    :param hook: the kind's own rule for it (see :class:`Step`).
    """

    action: str
    sources: tuple[str, ...]
    target: str | None
    roles: frozenset[str]
    tell: bool = False
    note: bool = False
    fields: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    hook: Hook | None = None

    def allows(self, role: str) -> bool:
        return role == ADMIN or role in self.roles


@dataclass(frozen=True)
class Reminder:
    """Messages at fixed days after an anchor date (the 司法确认 window after an agreement).

    On day ``d`` after ``anchor(case)`` the latest of ``days`` that is ≤ d is sent, once, as
    long as ``d`` ≤ ``until``; ``template`` is ``replies/cases/<kind>/<template>.txt``.
    """

    name: str
    states: tuple[str, ...]
    anchor: Callable[[Case], date | None]
    days: tuple[int, ...]
    until: int
    template: str


@dataclass(frozen=True)
class CaseKind:
    """A service request kind, declared; ``initial`` is the state an intake opens it in.

    :param area: the console's URL area (``/admin/<area>``); ``form``: the intake form.
    :param success: outcome states counted as solved in statistics; ``failure`` the others.
    :param max_extensions: how many times an ``extend`` action may move the clock.
    :param inputs: what the actions' ``fields``/``optional`` are, for the console's forms.
    :param remind_staff: the states in which the assignee's staff owe the next step: they
        are reminded the working day before the deadline and every working day after it,
        and get a daily digest of such cases.
    """

    name: str
    prefix: str
    form: str
    area: str
    states: tuple[State, ...]
    initial: str
    transitions: tuple[Transition, ...]
    routes: tuple[Route, ...]
    clocks: Mapping[str, ClockRule] = field(default_factory=dict)
    reminders: tuple[Reminder, ...] = ()
    success: frozenset[str] = frozenset()
    failure: frozenset[str] = frozenset()
    max_extensions: int = 0
    categories: tuple[str, ...] = ()
    inputs: tuple[Input, ...] = ()
    remind_staff: tuple[str, ...] = ()

    def clock(self, case: Case, status: str | None = None) -> Clock | None:
        """The clock ``case`` runs on in ``status`` (its own by default), if any."""
        rule = self.clocks.get(status or case.status)
        return rule(case) if callable(rule) else rule

    def input(self, name: str) -> Input | None:
        return next((i for i in self.inputs if i.name == name), None)

    def state(self, name_or_slug: str) -> State | None:
        for state in self.states:
            if name_or_slug in (state.name, state.slug):
                return state
        return None

    def is_final(self, status: str) -> bool:
        state = self.state(status)
        return state is not None and state.final

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states if not s.final)

    def transition(self, action: str) -> Transition | None:
        return next((t for t in self.transitions if t.action == action), None)

    def template(self, name: str) -> str:
        return f"replies/cases/{self.name}/{name}.txt"


KINDS: dict[str, CaseKind] = {}


def register(kind: CaseKind) -> CaseKind:
    """Add ``kind`` to :data:`KINDS`; a prefix or name used twice is a declaration error."""
    for other in KINDS.values():
        if kind.name == other.name or kind.prefix == other.prefix:
            raise RuntimeError(f"case kind {kind.name!r} clashes with {other.name!r}")
    names = {s.name for s in kind.states}
    for t in kind.transitions:
        unknown = (set(t.sources) | ({t.target} if t.target else set())) - names
        if unknown:
            raise RuntimeError(f"{kind.name}.{t.action}: unknown states {sorted(unknown)}")
    if kind.initial not in names:
        raise RuntimeError(f"{kind.name}: initial state {kind.initial!r} is not declared")
    KINDS[kind.name] = kind
    return kind


def kind_of(case: Case) -> CaseKind:
    return KINDS[case.kind]


def by_prefix(prefix: str) -> CaseKind | None:
    return next((k for k in KINDS.values() if k.prefix == prefix), None)
