"""Periodic chores, enqueued by RQ's cron scheduler (``flask scheduler``) for the workers.

:data:`CHORES` lists each periodic job; :class:`ChoreScheduler` is RQ's
:class:`~rq.cron.CronScheduler` with the two things a deployment needs that it lacks:

* it rides out a Redis outage (RQ's loop would die on the first connection error): it retries
  every second and is back within a second of Redis;
* it runs alone: each scheduler must hold ``bot:lock:scheduler`` to enqueue, so a second
  ``flask scheduler`` (another host, a unit started twice) stands by and takes over within
  :data:`LEAD_TTL_SECONDS` when the first stops. Without this each scheduler would enqueue
  every chore (harmless — each chore is idempotent — but twice the work).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import LockError
from redis.lock import Lock
from rq.cron import CronScheduler
from rq.exceptions import SchedulerNotFound, StopRequested

from bot.jobs.notices import sweep as notices_sweep
from bot.jobs.outbox import case_chores
from bot.jobs.queue import send_reminders
from bot.jobs.staff import staff_chores

log = logging.getLogger(__name__)

LEAD_KEY = "bot:lock:scheduler"
LEAD_TTL_SECONDS = 30
# The longest the loop sleeps: it renews the lead and notices an outage this often.
TICK_SECONDS = 5.0
RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Chore:
    """One periodic job: ``func`` every ``interval_key`` seconds (a config key)."""

    name: str
    func: Callable[[], Any]
    interval_key: str


CHORES: tuple[Chore, ...] = (
    # Tomorrow's training reminders; the sweep claims each registration, so it is idempotent.
    Chore("training-reminders", send_reminders, "CHORES_INTERVAL_SECONDS"),
    # Cases: 司法确认 reminders owed today, overdue deadlines noted, the outbox swept. Each
    # reminder and message has a unique key, so a round run twice sends nothing twice.
    Chore("case-chores", case_chores, "CHORES_INTERVAL_SECONDS"),
    # Notices: sends whose every chain died restarted, mass jobs polled, job reports matched.
    # Claims are leased and keyed, so a sweep run twice sends nothing twice.
    Chore("notices", notices_sweep, "NOTICE_SWEEP_SECONDS"),
    # Staff: answered appeals past their 回访 window closed, reminders before and after a
    # deadline and the daily digests to staff's own WeChat (unique outbox keys: idempotent).
    Chore("staff-chores", staff_chores, "CHORES_INTERVAL_SECONDS"),
)


def register_chores(scheduler: CronScheduler, config: Mapping[str, Any]) -> None:
    """Register every chore on ``scheduler``, on the app's queue."""
    for chore in CHORES:
        interval = int(config[chore.interval_key])
        scheduler.register(
            chore.func,
            queue_name=str(config["RQ_QUEUE"]),
            interval=interval,
            name=chore.name,
            # A chore no worker took within one interval is dropped: the next one replaces
            # it, instead of a backlog of identical sweeps piling up while workers are down.
            ttl=interval,
        )


class ChoreScheduler(CronScheduler):
    """RQ's cron scheduler, surviving Redis outages, enqueuing only while it holds the lead."""

    def __init__(self, connection: redis.Redis, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._lead = Lock(connection, LEAD_KEY, timeout=LEAD_TTL_SECONDS, thread_local=False)
        self._leading = False
        self._registered = False
        self._reachable = True
        self._stopping = False

    def _request_stop(self, signum: int, frame: Any) -> None:
        # One stop is enough: a second SIGTERM (a launcher forwarding its group's) must not
        # interrupt the stepping down that the first one started.
        if self._stopping:
            return
        self._stopping = True
        # From here on further SIGTERMs are ignored by the OS itself: one arriving while the
        # interpreter shuts down (when Python has put the default action back) would kill
        # the process mid step-down instead of letting it exit cleanly.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        super()._request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def start(self) -> None:
        """Run until SIGTERM/SIGINT (RQ's handlers raise StopRequested)."""
        self.log.info("scheduler %s: starting with %d chores", self.name, len(self._cron_jobs))
        self._install_signal_handlers()  # type: ignore[no-untyped-call]
        try:
            while True:
                time.sleep(self.tick())
        except (KeyboardInterrupt, StopRequested):
            self.log.info("scheduler %s: stopping", self.name)
        finally:
            self._step_down()

    def tick(self) -> float:
        """One round: lead, enqueue what is due, heartbeat; the seconds to sleep after it."""
        try:
            if not self._take_lead():
                return TICK_SECONDS
            if not self._registered:
                self.register_birth()
                self._registered = True
            if self.enqueue_jobs():
                self.save()
            self.heartbeat()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if self._reachable:
                log.warning(
                    "scheduler: Redis unreachable (%s); retrying every %g s", exc, RETRY_SECONDS
                )
            self._reachable = False
            # Redis may come back empty (restarted): the lead and the registration with it.
            self._leading = self._registered = False
            return RETRY_SECONDS
        if not self._reachable:
            log.info("scheduler: Redis is back")
            self._reachable = True
        return min(self.calculate_sleep_interval(), TICK_SECONDS)

    def _take_lead(self) -> bool:
        if self._leading:
            try:
                self._lead.reacquire()  # renews the TTL; fails if another took it meanwhile
                return True
            except LockError:
                log.warning("scheduler %s: lost the lead", self.name)
                self._leading = self._registered = False
        self._leading = bool(self._lead.acquire(blocking=False, token=self.name))
        if self._leading:
            log.info("scheduler %s: leading (the others stand by)", self.name)
        return self._leading

    def _step_down(self) -> None:
        """Free the lead at once (a stand-by takes over without waiting for the TTL)."""
        try:
            if self._registered:
                self.register_death()
            if self._leading:
                self._lead.release()
        except (redis.RedisError, LockError, SchedulerNotFound):
            pass  # Redis gone or restarted: nothing left to free
        self._leading = self._registered = False


def make_scheduler(connection: redis.Redis, config: Mapping[str, Any]) -> ChoreScheduler:
    """A scheduler with every chore registered (``flask scheduler`` runs it)."""
    scheduler = ChoreScheduler(connection)
    register_chores(scheduler, config)
    return scheduler
