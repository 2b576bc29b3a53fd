"""商会助手: the application factory."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from bot import config as defaults
from bot.paths import MIGRATIONS_DIR, ROOT, TEMPLATES_DIR
from bot.settings import (
    check_production,
    normalise_db_url,
    read_dotenv,
    read_secret_key,
    settings_from_env,
)
from bot.web import guards, headers

log = logging.getLogger(__name__)


def create_app(
    overrides: Mapping[str, Any] | None = None, *, instance_path: str | Path | None = None
) -> Flask:
    """Build a configured app. Tests pass ``overrides``; deployments set environment variables.

    :param instance_path: the instance folder (SQLite file, secret key, embedded Redis, model
        cache); ``instance/`` in the repository unless given.
    """
    from bot.kb.index import cap_mmap_threshold

    cap_mmap_threshold()  # before the model and the index are loaded (see its docstring)
    configure_logging()
    app = Flask(
        __name__,
        instance_path=str(instance_path or ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(TEMPLATES_DIR),
    )
    app.config.from_object(defaults)
    from_env = settings_from_env(os.environ, read_dotenv(ROOT / ".env"))
    app.config.update(from_env)
    app.config.update(overrides or {})
    # Nothing here starts a process or writes a file (STYLE rule 1): `flask init` writes the
    # secret key, and `make run`, the CLI and the test fixtures start the embedded Redis.
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _stored_or_throwaway_key(app)
    check_production(app.config)
    if app.config.get("ENV") == "production" and "SESSION_COOKIE_SECURE" not in {
        **from_env,
        **(overrides or {}),
    }:
        # Production is served over HTTPS (nginx): the console's cookies never travel in
        # clear, unless SESSION_COOKIE_SECURE says otherwise explicitly.
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])
    if not app.config.get("REDIS_URL"):
        from bot.dev.embedded import embedded_redis_url

        app.config["REDIS_URL"] = embedded_redis_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(
        app.config.get("DATABASE_URL"), app.instance_path
    )
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    app.config["MAX_CONTENT_LENGTH"] = app.config["WEBHOOK_MAX_BODY_BYTES"]
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    app.session_interface = WebhookAwareSessions()
    from bot.dialogue.replies import when

    app.jinja_env.filters["when"] = when
    guards.init_app(app)  # before any route: the bounded <int:> converter
    headers.init_app(app)
    register_extensions(app)
    register_blueprints(app)
    register_handlers(app)
    register_commands(app)
    if int(app.config.get("PROXY_COUNT") or 0) > 0:
        # Behind nginx (deploy/nginx.conf) the client's address and scheme arrive in
        # X-Forwarded-*; trust exactly the configured number of hops, no more.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        proxied = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]
    return app


def _stored_or_throwaway_key(app: Flask) -> str:
    """The key `flask init` stored in the instance folder; else, in development only, a random
    one for this process (sessions then end with it, and processes do not share it)."""
    if app.config.get("ENV") == "production":
        return ""  # check_production refuses: production's key comes from the environment
    stored = read_secret_key(app.instance_path)
    if stored:
        return stored
    log.warning("no SECRET_KEY and no instance/secret_key (run `flask init`): using a random key")
    app.config["SECRET_KEY_TEMPORARY"] = True  # `flask init` stores one for next time
    return secrets.token_hex(32)


class WebhookAwareSessions(SecureCookieSessionInterface):
    """No cookie session on the webhook: WeChat's POSTs carry no cookie, and opening a signed
    session for each costs the webhook a few percent of its throughput."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path == "/wechat":
            return None  # Flask then uses a null session
        return super().open_session(app, request)


def warm_up(app: Flask) -> None:
    """Load the segmenter, the intent model and the knowledge index before serving.

    Each costs a second or more the first time; paid here (gunicorn's post_worker_init),
    it never lands on a member's first message and its 5-second budget.
    """
    with app.app_context():
        try:
            app.extensions["kb"].ensure_loaded()
        except Exception:  # no tables yet (before `flask init`): load on first use instead
            logging.getLogger(__name__).warning("knowledge base not loaded at start-up")
        app.extensions["nlu"].model.ensure_ready()


def configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # Alembic announces every plugin at INFO; jieba prints its cache loading.
    for noisy in ("alembic.runtime.plugins", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from bot.extensions import confine_hooks, csrf, db, limiter, login_manager, migrate, redis_ext
    from bot.jobs.queue import jobs_ext

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    redis_ext.init_app(app)
    jobs_ext.init_app(app)
    csrf.init_app(app)  # every POST of the app; the factory exempts what is not a form
    # Sign-in and its throttle are the console's: their request hooks run on its requests only.
    confine_hooks(app, "admin", login_manager.init_app)
    confine_hooks(app, "admin", limiter.init_app)


def register_blueprints(app: Flask) -> None:
    from bot import console
    from bot.extensions import csrf
    from bot.web import health, pages, webhook

    app.register_blueprint(webhook.bp)
    console.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    # CSRF tokens guard the console's forms: WeChat's POSTs are signed instead, and the
    # public pages and /dev take no form posts.
    for blueprint in (webhook.bp, pages.bp):
        csrf.exempt(blueprint)
    if app.config.get("ENV") != "production":
        from bot.dev import views as dev

        app.register_blueprint(dev.bp)
        csrf.exempt(dev.bp)


def register_handlers(app: Flask) -> None:
    """Freeze the intent registry and build the webhook's runtime objects."""
    import functools

    import handlers
    from bot.dialogue.dispatcher import Dispatcher
    from bot.dialogue.intents import Registry
    from bot.kb.base import KnowledgeBase
    from bot.links import public_url
    from bot.nlu.classifier import ClassifierNLU, IntentModel
    from bot.web.webhook import Runtime
    from bot.wechat.channel import WeChatChannel
    from bot.wechat.ledger import Ledger

    cfg = app.config
    intents = tuple(cfg.get("HANDLERS") or handlers.ALL)
    registry = Registry(intents)
    org = {k[4:].lower(): str(v) for k, v in cfg.items() if k.startswith("ORG_")}
    kb = KnowledgeBase(app)
    # The classifier learns the registry's labels: an intent is declared in one place.
    model = IntentModel(lambda: kb.analyzer, app.instance_path, labels=registry.labels)
    extract = _entity_extractor()
    nlu = ClassifierNLU(model, extract)
    kb.intent_model = model
    app.extensions["kb"] = kb
    app.extensions["nlu"] = nlu
    # One link builder for every turn (handlers build check-in and knowledge links with it).
    links = functools.partial(public_url, app=app)
    dispatcher = Dispatcher(registry, nlu, config=cfg, org=org, kb=kb, extract=extract, links=links)
    channel = WeChatChannel(
        cfg["WECHAT_TOKEN"],
        cfg["WECHAT_APP_ID"],
        cfg.get("WECHAT_AES_KEY") or "",
        int(cfg["WEBHOOK_TIMESTAMP_WINDOW_SECONDS"]),
    )
    ledger = Ledger(
        app.extensions["redis"],
        dedup_ttl=int(cfg["DEDUP_TTL_SECONDS"]),
        nonce_ttl=2 * int(cfg["WEBHOOK_TIMESTAMP_WINDOW_SECONDS"]),
        state_ttl=int(cfg["DIALOGUE_TTL_SECONDS"]) + 24 * 3600,
        windows={"msg": tuple(cfg["PUSH_WINDOW_MESSAGE"]), "evt": tuple(cfg["PUSH_WINDOW_EVENT"])},
        redis_url=cfg["REDIS_URL"],
    )
    app.extensions["registry"] = registry
    app.extensions["dispatcher"] = dispatcher
    app.extensions["webhook"] = Runtime(app, channel, ledger, dispatcher)


def _entity_extractor() -> Any:
    try:
        from bot.nlu.entities import extract
    except ImportError:  # pragma: no cover - the module ships with the bot
        return None
    return extract


def register_commands(app: Flask) -> None:
    from bot.cli import commands as cli

    cli.register(app)
