"""The organisation's wall clock: one place that turns UTC into local time.

Sessions, deadlines and office hours are set in the organisation's local time
(``ORG_TIMEZONE``); records store naive UTC. Everything that shows or compares local time
goes through here instead of reading the setting itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def zone(config: Mapping[str, Any]) -> ZoneInfo:
    """The organisation's time zone from the app's settings."""
    return ZoneInfo(str(config.get("ORG_TIMEZONE") or DEFAULT_ZONE))


def local_now(config: Mapping[str, Any], now: datetime | None = None) -> datetime:
    """Naive local time now (or at the aware/UTC-naive ``now``)."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(config)).replace(tzinfo=None)


def to_local(value: datetime | None, config: Mapping[str, Any]) -> datetime | None:
    """A stored naive-UTC timestamp as naive local time."""
    if value is None:
        return None
    return local_now(config, value)
