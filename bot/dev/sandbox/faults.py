"""Injected failures: what ``POST /_sandbox/faults`` registers and the next calls meet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_FAULT_DELAY = 600.0


@dataclass
class Fault:
    """A pending injected failure for the next ``times`` calls to a path."""

    path: str
    times: int = 1
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    delay: float = 0.0
    # Processed first, then answered after ``delay``: the time-out after sending, whose
    # outcome the client cannot know.
    processed: bool = False

    def matches(self, path: str) -> bool:
        # Suffix matching is anchored at a "/" so that "token" faults /cgi-bin/token but not
        # /cgi-bin/stable_token, while "message/custom/send" still matches the full path.
        suffix = "/" + self.path.lstrip("/")
        return path == self.path or path.endswith(suffix)

    @property
    def answers_error(self) -> bool:
        """False for delay-only faults, which slow the call down but then answer normally."""
        return self.errcode is not None or self.status is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "times": self.times,
            "errcode": self.errcode,
            "errmsg": self.errmsg,
            "status": self.status,
            "delay": self.delay,
            "processed": self.processed,
        }


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_fault(body: Any) -> Fault | str:
    """Validate a POST /_sandbox/faults body; returns the fault or an error message."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    path = body.get("path")
    if not isinstance(path, str) or not path.strip().split("?")[0].strip("/"):
        return "path must be a non-empty string"
    path = path.strip().split("?")[0]
    errcode = body.get("errcode")
    if errcode is not None and (isinstance(errcode, bool) or not isinstance(errcode, int)):
        return "errcode must be an integer"
    errmsg = body.get("errmsg")
    if errmsg is not None and not isinstance(errmsg, str):
        return "errmsg must be a string"
    status = body.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        return "status must be an HTTP error status (400-599)"
    delay = number(body.get("delay", 0))
    if delay is None or not 0 <= delay <= MAX_FAULT_DELAY:
        return f"delay must be a number of seconds between 0 and {MAX_FAULT_DELAY:g}"
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        return "times must be a positive integer"
    processed = body.get("processed", False)
    if not isinstance(processed, bool):
        return "processed must be true or false"
    if errcode is None and status is None and delay == 0:
        return "nothing to inject: give errcode, status and/or delay"
    return Fault(path, times, errcode, errmsg, status, delay, processed)
