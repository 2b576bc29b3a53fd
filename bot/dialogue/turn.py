"""One turn of conversation as a handler sees it: the message, the member's state, the tools.

Handlers import nothing else (STYLE rule 6): the dispatcher builds a :class:`Turn` per
message and passes it in, so a handler never reaches for ``current_app``, the request or a
Redis client, and its dependencies are visible in what it reads from the turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.dialogue.replies import Reply
from bot.dialogue.state import DialogueState
from bot.extensions import DBSession
from bot.services import clock
from bot.wechat.channel import Inbound

# Builds the absolute public URL of an endpoint: ``links("pages.checkin_code", code=...)``.
LinkBuilder = Callable[..., str]


@dataclass
class Notice:
    """A message for another member, pushed after the turn's transaction commits."""

    openid: str
    reply: Reply


def no_links(endpoint: str, **values: Any) -> str:
    """The link builder of a turn made without one (a test's bare turn): it refuses."""
    raise RuntimeError(f"this turn has no link builder; cannot build {endpoint!r}")


@dataclass
class Turn:
    """Everything a handler may use for one message; handlers import nothing else."""

    user_id: str
    text: str
    message: Inbound
    db: DBSession
    now: datetime  # aware UTC; injected so tests can pin time
    state: DialogueState
    org: Mapping[str, str]
    kb: Any = None
    intent: str = ""
    confidence: float = 0.0
    entities: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    config: Mapping[str, Any] = field(default_factory=dict)
    forms: Any = None  # the form engine
    # Records that may be written after the reply, in batches (see bot.jobs.convlog): kind → data.
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Made once by the factory and shared by every turn (never built per message).
    links: LinkBuilder = no_links
    # Redis is down: nothing offered now could be remembered (no form, no numbered choice).
    degraded: bool = False

    def local_now(self) -> datetime:
        """This turn's moment in the organisation's wall-clock time (naive local)."""
        return clock.local_now(self.config, self.now)

    def url(self, endpoint: str, **values: Any) -> str:
        """The absolute public URL of ``endpoint`` (``pages.checkin_code``, ``code=...``)."""
        return self.links(endpoint, **values)

    def note(self, kind: str, **data: Any) -> None:
        """Record something for curators off the request path (e.g. an unanswered question)."""
        self.notes.append((kind, data))

    def notify(self, openid: str, reply: Reply) -> None:
        """Queue a message to another member, sent only if this turn commits."""
        self.notices.append(Notice(openid, reply))

    def start_form(self, name: str, values: Mapping[str, Any] | None = None) -> Reply:
        """Begin the form ``name``; slots the message already answers are filled."""
        reply: Reply = self.forms.start(self, name, values)
        return reply
