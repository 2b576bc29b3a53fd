"""Command-line interface: ``flask init``, ``flask chat``, ``flask worker``, ``flask scheduler``,
``flask wechat …``; :func:`register` adds every group of the ``flask`` command.

The factory never starts the embedded Redis (it only computes its address). A command that
needs Redis starts it here, in :func:`ensure_redis`, when it is the configured one and nobody
runs it yet: :func:`needs_redis` on this module's commands, and the callback of the group each
other command group is mounted under (:func:`_mounted`).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
import redis
from flask import Flask, current_app
from flask.cli import AppGroup

from bot.wechat.menu import load_menu

log = logging.getLogger(__name__)
wechat_cli = AppGroup("wechat", help="The WeChat side: API sandbox and menu.")
menu_cli = AppGroup("menu", help="The official account's menu (bot/wechat/menu.yaml).")
wechat_cli.add_command(menu_cli)

# The longest a worker waits between attempts to reach Redis again.
WORKER_RECONNECT_SECONDS = 2.0

P = ParamSpec("P")
R = TypeVar("R")


def register(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(chat_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(wechat_cli)
    from bot.cli.admin import admin_cli
    from bot.cli.calendar import calendar_cli
    from bot.cli.cases import cases_cli
    from bot.cli.kb import kb_cli
    from bot.cli.nlu import nlu_cli
    from bot.cli.notices import demo_cli, notices_cli
    from bot.cli.ops import export_cli, training_cli
    from bot.cli.services import services_cli

    for group in (kb_cli, nlu_cli, admin_cli, training_cli, export_cli, calendar_cli, cases_cli):
        app.cli.add_command(_mounted(group))
    app.cli.add_command(_mounted(services_cli))
    for group in (notices_cli, demo_cli):
        app.cli.add_command(_mounted(group))


def ensure_redis() -> None:
    """Start the instance's embedded Redis if it is the configured one and none runs yet; it
    stops when this command exits. (``make run`` starts one for all of its processes.)"""
    from bot.dev.embedded import embedded_redis_url, ensure_embedded_redis

    instance = current_app.instance_path
    if current_app.config["REDIS_URL"] == embedded_redis_url(instance):
        ensure_embedded_redis(instance)


def needs_redis(command: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command callback that talks to Redis (see :func:`ensure_redis`)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        ensure_redis()
        return command(*args, **kwargs)

    return run


def _mounted(group: click.Group) -> click.Group:
    """``group``'s commands under a group of this app whose callback runs :func:`ensure_redis`
    first. The module-level group objects are shared by every app, so they are not changed."""
    return AppGroup(
        group.name,
        commands=group.commands,
        callback=ensure_redis,
        help=group.help,
        short_help=group.short_help,
        no_args_is_help=group.no_args_is_help,
    )


@click.command("init")
@needs_redis
def init_command() -> None:
    """Create or migrate the database and load starter content where it is empty."""
    from flask_migrate import upgrade

    from bot.settings import create_secret_key

    # The factory writes nothing; the instance folder (SQLite file, model cache) and the
    # secret key every process of this host shares are made here.
    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    if current_app.config.get("SECRET_KEY_TEMPORARY"):
        create_secret_key(current_app.instance_path)
        click.echo("secret key stored in instance/secret_key")
    upgrade()
    from bot.dev import seed

    for line in seed.load_all():
        click.echo(line)
    # Fit the intent model now (a subprocess, cached in instance/), not in the first worker.
    current_app.extensions["nlu"].model.ensure_ready()
    click.echo("database ready")


@click.command("chat")
@click.option("--user", default="dev-user", help="The member's openid.")
@click.option("--stdin", "from_stdin", is_flag=True, help="One message a line; print each reply.")
@click.option("--aes", is_flag=True, help="Send in safe (AES) mode when a key is configured.")
@needs_redis
def chat_command(user: str, from_stdin: bool, aes: bool) -> None:
    """Talk to the bot through the real webhook (signed XML), as WeChat would."""
    from bot.dev.chat import Conversation

    convo = Conversation(current_app, user, encrypt=aes)
    if from_stdin:
        for line in sys.stdin:
            text = line.rstrip("\n")
            if not text:
                continue
            for reply in convo.say(text):
                click.echo(reply)
            click.echo("")
        return
    click.echo(f"与商会助手对话（用户 {user}）。/follow 关注，/click KEY 点菜单，Ctrl-D 退出。")
    while True:
        try:
            text = input("> ")
        except (EOFError, KeyboardInterrupt):
            click.echo("")
            return
        if not text.strip():
            continue
        for reply in convo.say(text):
            click.echo(reply)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@needs_redis
def worker_command(burst: bool) -> None:
    """Run a background-job worker (RQ) on the app's queue."""
    import os

    from rq import Worker

    from bot.extensions import db

    queue = current_app.extensions["rq"]
    # RQ forks a work horse per job while the log writer thread keeps using the pool: a
    # child must never reuse the parent's database connections (PostgreSQL then sees two
    # processes talking over one socket).
    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    # The worker first: it raises the connection pool's read timeout for its blocking
    # dequeue, which only applies to connections opened afterwards (the log writer's).
    worker = _rq_worker(Worker, queue)
    if not burst:
        from bot.jobs.convlog import Flusher

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        Flusher().ensure_started(app)  # the conversation log is written from here
    while True:
        try:
            worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
        except redis.ConnectionError as exc:
            log.warning("worker: Redis went away while a job finished (%s)", exc)
        if burst or worker._shutdown_requested_date is not None:
            return
        # RQ rides out an outage only while it waits for work; one that begins while a job
        # finishes makes it quit. Start a fresh worker, which waits for Redis to answer.
        time.sleep(WORKER_RECONNECT_SECONDS)
        worker = _rq_worker(Worker, queue)


def _rq_worker(worker_class: Any, queue: Any) -> Any:
    """A new RQ worker on ``queue``, once Redis answers (RQ's constructor talks to it)."""
    while True:
        try:
            worker = worker_class([queue], connection=queue.connection)
            break
        except redis.ConnectionError:
            time.sleep(WORKER_RECONNECT_SECONDS)
    # RQ doubles its wait after each failed dequeue up to a minute; after an outage the
    # worker should be back within seconds of Redis, like the scheduler.
    worker.max_connection_wait_time = WORKER_RECONNECT_SECONDS
    return worker


@click.command("scheduler")
@needs_redis
def scheduler_command() -> None:
    """Enqueue the periodic chores (bot/jobs/chores.py) for the workers; run one per deployment
    (a second one stands by and takes over when the first stops)."""
    from bot.jobs.chores import make_scheduler

    queue = current_app.extensions["rq"]
    make_scheduler(queue.connection, current_app.config).start()


@wechat_cli.command("sandbox")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5001, type=int)
def sandbox_command(host: str, port: int) -> None:
    """Serve the local WeChat API sandbox (records calls, injects faults)."""
    from bot.dev.sandbox import run_sandbox

    click.echo(f"WeChat API sandbox on http://{host}:{port}/cgi-bin/ (calls: /_sandbox/)")
    run_sandbox(host, port)


@menu_cli.command("push")
@needs_redis
def menu_push() -> None:
    """Publish bot/wechat/menu.yaml as the account's menu."""
    from bot.jobs.queue import wechat_api

    menu = load_menu()
    result = wechat_api().menu.create(menu)
    click.echo(json.dumps(result, ensure_ascii=False))


@menu_cli.command("show")
def menu_show() -> None:
    """Print the menu as WeChat will receive it."""
    click.echo(json.dumps(load_menu(), ensure_ascii=False, indent=2))
