"""Extension objects, created unbound; ``init_app`` puts per-app state in ``app.extensions``."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

# Named constraints, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
# What code receives as a database session: Flask-SQLAlchemy's scoped one, or a plain one.
DBSession = Session | scoped_session[Any]
migrate = Migrate()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets readers work while a writer commits, and busy_timeout makes concurrent
    # writers from several gunicorn processes wait instead of failing with "locked".
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # We issue BEGIN ourselves (below), so pysqlite must not start transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# Set by code about to write (a conversation turn): its SQLite transactions take the write
# lock at BEGIN. A deferred SQLite transaction that reads and then writes fails at once
# with "database is locked" when another process committed in between (busy_timeout does
# not help); BEGIN IMMEDIATE makes concurrent turns (50 sign-ups for 10 seats from several
# gunicorn workers) queue instead. Read-only sessions stay deferred so they block nobody.
# PostgreSQL is unaffected.
sqlite_immediate: ContextVar[bool] = ContextVar("sqlite_immediate", default=False)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_immediate.get() else "BEGIN")


class RedisExtension:
    """One Redis client per app, with short timeouts so an outage degrades, not hangs."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis"] = make_redis(app.config["REDIS_URL"])


def make_redis(url: str) -> redis.Redis:
    """A decoding client whose calls fail fast when Redis is down."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=0.5,
        socket_timeout=2.0,
        health_check_interval=30,
    )


redis_ext = RedisExtension()


def redis_client() -> redis.Redis:
    return cast(redis.Redis, current_app.extensions["redis"])


# -- the staff console's extensions (bot/console) ----------------------------------------------
login_manager = LoginManager()  # sign-in sessions; the user loader is in bot/console/auth.py
csrf = CSRFProtect()  # every POST of the app, less the blueprints the factory exempts


class RedisLimiter(Limiter):
    """Flask-Limiter keeping its counters in the app's Redis (``REDIS_URL``).

    The console's sign-in throttle is its one user. Redis down must cost only the throttle:
    short socket timeouts, so the login page does not hang, and storage errors swallowed
    (logged by Flask-Limiter), so it does not fail either.
    """

    def init_app(self, app: Flask) -> None:
        url = str(app.config["REDIS_URL"])
        if url.startswith("unix://"):  # the embedded Redis's socket; limits spells it so
            url = "redis+" + url
        app.config.setdefault("RATELIMIT_STORAGE_URI", url)
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {"socket_connect_timeout": 0.5, "socket_timeout": 1.0, "key_prefix": "bot:limit"},
        )
        super().init_app(app)


def confine_hooks(app: Flask, blueprint: str, init_app: Callable[[Flask], None]) -> None:
    """Run an extension's ``init_app`` and keep the request hooks it adds to one blueprint.

    Flask-Limiter and Flask-Login hang bookkeeping on every request of the app; only the
    console signs in and is rate-limited, and the webhook, whose budget is counted in
    microseconds, would pay tens of them a message for nothing. Moved after the fact because
    neither extension can be told where to hang them.
    """
    registries: tuple[dict[str | None, list[Any]], ...] = (
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
    )
    had = [list(registry.get(None, ())) for registry in registries]
    init_app(app)
    for registry, before in zip(registries, had, strict=True):
        added = [fn for fn in registry.get(None, ()) if fn not in before]
        if added:
            registry[None] = before
            registry.setdefault(blueprint, []).extend(added)


# A moving window: "10 failures within any 15 minutes", wherever the window happens to start.
limiter = RedisLimiter(key_func=get_remote_address, strategy="moving-window", swallow_errors=True)
