"""The platform's rules the notice channels meet, modelled: de-duplication keys, quotas,
windows, followers who left or blocked the account, random time-outs, job-finished events.

Off by default except de-duplication and the record of what reached whom, so the other
tests see the plain sandbox; ``POST /_sandbox/platform`` (``platform_control``) turns the
rest on. What reached whom (:attr:`PlatformState.received`) counts messages a member would
see — a request the platform de-duplicated is not counted again — so tests and the
benchmark check "exactly once" from the platform's side, not from the bot's own tables.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

TEMPLATE_DEDUP_SECONDS = 600  # client_msg_id: 10 minutes
MASS_DEDUP_SECONDS = 24 * 3600  # clientmsgid: 24 hours
CUSTOM_WINDOW_SECONDS = 48 * 3600
CUSTOM_PER_WINDOW = 5
SERVICE_MASS_PER_MONTH = 4
MONTH_SECONDS = 30 * 24 * 3600


@dataclass
class Chaos:
    """Random time-outs: a share of calls to ``path`` is processed, then answered only after
    ``delay`` seconds (longer than the client waits)."""

    path: str
    rate: float
    delay: float

    def matches(self, path: str) -> bool:
        return path.endswith("/" + self.path.strip("/"))


@dataclass
class PlatformState:
    """Held under the sandbox state's lock like the rest of it."""

    account_type: str = "service"
    custom_limits: bool = False
    unsubscribed: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    out_of_window: set[str] = field(default_factory=set)
    # (kind, openid, content key) → messages that reached the member.
    received: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    template_keys: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    mass_keys: dict[str, tuple[int, float]] = field(default_factory=dict)
    mass_sends: list[float] = field(default_factory=list)
    mass_done_at: dict[int, float] = field(default_factory=dict)
    mass_received: dict[str, list[float]] = field(default_factory=dict)
    custom_sent: dict[str, list[float]] = field(default_factory=dict)
    chaos: list[Chaos] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(14))
    timeouts: int = 0
    deduplicated: int = 0
    webhook_url: str = ""
    webhook_token: str = ""
    event_delay: float = 0.2

    # -- what reached whom ------------------------------------------------------------------
    def deliver(self, kind: str, openid: str, content: Any) -> None:
        self.received[(kind, openid, content_key(content))] += 1

    def summary(self, kind: str | None = None) -> dict[str, Any]:
        items = [(k, n) for k, n in self.received.items() if kind is None or k[0] == kind]
        twice = [[k[0], k[1], n] for k, n in items if n > 1]
        return {
            "messages": sum(n for _, n in items),
            "distinct": len(items),
            "recipients": len({k[1] for k, _ in items}),
            "duplicates": len(twice),
            "duplicate_examples": twice[:20],
            "timeouts": self.timeouts,
            "deduplicated": self.deduplicated,
        }

    # -- random time-outs -------------------------------------------------------------------
    def chaos_delay(self, path: str) -> float:
        for rule in self.chaos:
            if rule.matches(path) and self.rng.random() < rule.rate:
                self.timeouts += 1
                return rule.delay
        return 0.0

    # -- quotas and windows -----------------------------------------------------------------
    def custom_refusal(self, openid: str, now: float) -> int | None:
        if openid in self.unsubscribed:
            return 43004
        if openid in self.blocked:
            return 43019
        if openid in self.out_of_window:
            return 45015
        if self.custom_limits:
            sent = self.custom_sent.get(openid, [])
            recent = [t for t in sent if now - t < CUSTOM_WINDOW_SECONDS]
            self.custom_sent[openid] = recent
            if len(recent) >= CUSTOM_PER_WINDOW:
                return 45047
        return None

    def note_custom(self, openid: str, now: float) -> None:
        if self.custom_limits:
            self.custom_sent.setdefault(openid, []).append(now)

    def template_refusal(self, openid: str) -> int | None:
        if openid in self.unsubscribed:
            return 43004
        if openid in self.blocked:
            return 43019
        return None

    def mass_account_refusal(self, now: float) -> int | None:
        """45028 (no mass-send quota): a subscription account sends once a day."""
        if self.account_type == "subscription":
            today = [t for t in self.mass_sends if now - t < 24 * 3600]
            if today:
                return 45028
        return None

    def mass_filter(self, openids: list[str], now: float) -> list[str]:
        """Who a mass send reaches: followers still there, and on a service account those
        under 4 mass messages this month."""
        kept = []
        for openid in openids:
            if openid in self.unsubscribed or openid in self.blocked:
                continue
            if self.account_type == "service":
                got = [t for t in self.mass_received.get(openid, []) if now - t < MONTH_SECONDS]
                if len(got) >= SERVICE_MASS_PER_MONTH:
                    continue
                self.mass_received[openid] = [*got, now]
            kept.append(openid)
        return kept

    # -- job-finished events ----------------------------------------------------------------
    def push_event(self, openid: str, event: str, **fields: Any) -> None:
        """Post an event to the bot's webhook (signed with its token) a moment later, from a
        thread of its own, as WeChat does after a job ends."""
        if not self.webhook_url:
            return
        url, token, delay = self.webhook_url, self.webhook_token, self.event_delay
        threading.Thread(
            target=_post_event, args=(url, token, delay, openid, event, fields), daemon=True
        ).start()


def content_key(content: Any) -> str:
    if isinstance(content, str):
        return content
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _post_event(
    url: str, token: str, delay: float, openid: str, event: str, fields: dict[str, Any]
) -> None:
    import requests

    from bot.wechat.simulate import Signer, event_xml

    time.sleep(delay)
    xml = event_xml(openid, event, **{k: v for k, v in fields.items() if v is not None})
    signer = Signer(token, "sandbox", "")
    query, body = signer.request(xml, openid=openid, encrypt=False)
    try:
        requests.post(
            url, params=query, data=body, headers={"Content-Type": "text/xml"}, timeout=10
        )
    except requests.RequestException as exc:
        logger.warning("sandbox: could not push %s to %s: %s", event, url, exc)
