"""What a member asking a policy question reads: the one answer function.

The handler (``handlers/policy_qa.py``), ``flask kb ask`` and the console's hit test all
call :func:`answer`, so what staff test is what members get. Three bands: a confident
answer with its source; "您是想问" with up to :data:`MAX_CHOICES` numbered titles; or an
honest "暂时没有找到". The words are in ``templates/replies/policy_question/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.dialogue.replies import Reply, org_settings, render
from bot.kb.base import Decision, KnowledgeBase
from bot.kb.index import Candidate

MAX_CHOICES = 3
DETAIL_ENDPOINT = "pages.kb_entry"  # the public page with an entry's detail
# Builds an absolute public URL: ``links("pages.kb_entry", topic=...)`` (see bot.links).
Links = Callable[..., str]


@dataclass(frozen=True)
class Answer:
    """A decision and the reply it becomes."""

    decision: Decision
    reply: Reply

    @property
    def band(self) -> str:
        return self.decision.band

    @property
    def topic(self) -> str | None:
        """The entry answered (only in the ``answer`` band)."""
        return self.decision.topic if self.decision.band == "answer" else None

    @property
    def score(self) -> float:
        return self.decision.score

    @property
    def candidates(self) -> list[Candidate]:
        """Every entry retrieved, best first, with its score."""
        return self.decision.candidates

    @property
    def choices(self) -> list[str]:
        """The topics offered as numbered choices, in the order shown (``choices`` band)."""
        if self.decision.band != "choices":
            return []
        return [c.topic for c in self.decision.candidates[:MAX_CHOICES]]

    @property
    def text(self) -> str:
        """The reply as plain text (needs an app context, like every rendering)."""
        return render(self.reply)


def answer(
    kb: KnowledgeBase,
    question: str,
    *,
    org: Mapping[str, str] | None = None,
    links: Links | None = None,
) -> Answer:
    """Decide ``question`` and build the reply for its band.

    :param org: the organisation's settings for ``org.*`` in answers (the app's by default).
    :param links: a link builder; without one (the CLI) answers carry no detail link.
    """
    decision = kb.decide(question)
    if decision.band == "answer" and decision.topic is not None:
        return Answer(decision, answer_topic(kb, decision.topic, org=org, links=links))
    if decision.band == "choices":
        titles = [_title(kb, c.topic) for c in decision.candidates[:MAX_CHOICES]]
        return Answer(decision, Reply("replies/policy_question/choices.txt", {"titles": titles}))
    return Answer(decision, Reply("replies/policy_question/none.txt", {"question": question[:40]}))


def answer_topic(
    kb: KnowledgeBase,
    topic: str,
    *,
    org: Mapping[str, str] | None = None,
    links: Links | None = None,
) -> Reply:
    """One entry's answer with its source (a confident match, or a numbered choice picked).

    Rendered once per entry and index, then reused: the same popular answers go out many
    times a day, and the cache is replaced with the index when an entry changes.
    """
    key = (topic, links is not None)
    cached = kb.reply_cache.get(key)
    if cached is not None:
        return Reply(text=cached)
    entry = kb.entry(topic)
    if entry is None:  # retired between the choice being offered and being picked
        return Reply("replies/policy_question/none.txt", {"question": ""})
    context: dict[str, Any] = {
        "answer": kb.render_answer(topic, org or org_settings()),
        "entry": entry,
        "link": _detail_link(links, topic) if entry.detail else "",
    }
    text = render(Reply("replies/policy_question/answer.txt", context))
    kb.reply_cache[key] = text
    return Reply(text=text)


def _title(kb: KnowledgeBase, topic: str) -> str:
    entry = kb.entry(topic)
    return entry.title if entry is not None else topic


def _detail_link(links: Links | None, topic: str) -> str:
    if links is None:
        return ""
    url = links(DETAIL_ENDPOINT, topic=topic)
    # Without PUBLIC_BASE_URL the link is a bare path, which no phone can open: leave it out.
    return url if "://" in url else ""
