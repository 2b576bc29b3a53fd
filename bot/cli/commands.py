"""Command-line interface: ``flask init``, ``flask chat``, ``flask worker``, ``flask wechat …``."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from bot.paths import MENU_FILE

log = logging.getLogger(__name__)
wechat_cli = AppGroup("wechat", help="The WeChat side: API sandbox and menu.")
menu_cli = AppGroup("menu", help="The official account's menu (bot/wechat/menu.yaml).")
wechat_cli.add_command(menu_cli)


def register(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(chat_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(wechat_cli)
    from bot.cli.kb import kb_cli

    app.cli.add_command(kb_cli)
    from bot.cli.nlu import nlu_cli

    app.cli.add_command(nlu_cli)
    from bot.console.views import admin_cli

    app.cli.add_command(admin_cli)
    from bot.cli.ops import export_cli, training_cli

    app.cli.add_command(training_cli)
    app.cli.add_command(export_cli)


@click.command("init")
def init_command() -> None:
    """Create or migrate the database and load starter content where it is empty."""
    from flask_migrate import upgrade

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
    # dequeue, which only applies to connections opened afterwards (the chores thread's).
    worker = Worker([queue], connection=queue.connection)
    if not burst:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        _start_chores(app)
        from bot.jobs.convlog import Flusher

        Flusher().ensure_started(app)  # the conversation log is written from here
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")


def _start_chores(app: Flask) -> None:
    """Queue the periodic chores (reminders) from a thread; every worker may do it, since
    each chore is idempotent."""
    import threading
    import time

    interval = float(app.config["CHORES_INTERVAL_SECONDS"])

    def loop() -> None:
        while True:
            try:
                app.extensions["rq"].enqueue("bot.jobs.queue.send_reminders")
            except Exception:
                log.warning("could not queue chores", exc_info=True)
            time.sleep(interval)

    threading.Thread(target=loop, daemon=True, name="chores").start()


@wechat_cli.command("sandbox")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5001, type=int)
def sandbox_command(host: str, port: int) -> None:
    """Serve the local WeChat API sandbox (records calls, injects faults)."""
    from bot.dev.sandbox import run_sandbox

    click.echo(f"WeChat API sandbox on http://{host}:{port}/cgi-bin/ (calls: /_sandbox/)")
    run_sandbox(host, port)


def load_menu() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(MENU_FILE.read_text(encoding="utf-8"))
    return data


@menu_cli.command("push")
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
