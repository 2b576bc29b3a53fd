"""The application factory: config layering, fail-fast production checks, and no I/O.

Every app here gets an instance folder of its own under ``tmp_path`` (``instance_path``), so
what the factory would write or start shows there and nowhere else.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot import config as defaults
from bot import create_app
from bot.dev.embedded import embedded_redis_url
from bot.settings import ConfigError, create_secret_key, read_secret_key

PRODUCTION = {
    "ENV": "production",
    "WECHAT_TOKEN": "a-real-token",
    "WECHAT_APP_ID": "wx-real",
    "WECHAT_APP_SECRET": "a-real-app-secret",
    "SECRET_KEY": "9f2c4e1a7b3d8c6e5f0a2b4c6d8e1f3a",
}


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}


def child_pids() -> set[int]:
    """This process's children (from /proc): a redis-server the factory started would be one."""
    me = os.getpid()
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == me:
            found.add(int(stat.parent.name))
    return found


def processes_mentioning(text: str) -> set[int]:
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.add(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def tree(path: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``path`` with its size and modification time."""
    if not path.exists():
        return {}
    return {
        str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
    }


# -- layering: defaults < environment < overrides ---------------------------------------------


def test_defaults_apply_when_nothing_is_set(instance: Path, settings: dict[str, str]):
    app = create_app(settings, instance_path=instance)
    assert app.config["DIALOGUE_TTL_SECONDS"] == defaults.DIALOGUE_TTL_SECONDS
    assert app.config["ORG_NAME"] == defaults.ORG_NAME
    assert app.config["WECHAT_TOKEN"] == defaults.DEV_WECHAT_TOKEN


def test_environment_wins_over_defaults_and_is_typed(
    monkeypatch: pytest.MonkeyPatch, instance: Path, settings: dict[str, str]
):
    monkeypatch.setenv("DIALOGUE_TTL_SECONDS", "90")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "yes")
    monkeypatch.setenv("ORG_NAME", "环境市工商联")
    app = create_app(settings, instance_path=instance)
    assert app.config["DIALOGUE_TTL_SECONDS"] == 90  # an int, like its default
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["ORG_NAME"] == "环境市工商联"


def test_overrides_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, instance: Path, settings: dict[str, str]
):
    monkeypatch.setenv("DIALOGUE_TTL_SECONDS", "90")
    monkeypatch.setenv("ORG_NAME", "环境市工商联")
    app = create_app({**settings, "DIALOGUE_TTL_SECONDS": 45}, instance_path=instance)
    assert app.config["DIALOGUE_TTL_SECONDS"] == 45
    assert app.config["ORG_NAME"] == "环境市工商联"  # not overridden: the environment's


def test_environment_is_read_when_the_app_is_built(
    monkeypatch: pytest.MonkeyPatch, instance: Path, settings: dict[str, str]
):
    monkeypatch.setenv("ORG_NAME", "第一")
    first = create_app(settings, instance_path=instance)
    monkeypatch.setenv("ORG_NAME", "第二")
    second = create_app(settings, instance_path=instance)
    assert (first.config["ORG_NAME"], second.config["ORG_NAME"]) == ("第一", "第二")


def test_database_url_is_normalised(instance: Path):
    app = create_app({"DATABASE_URL": "postgres://u@db/bot"}, instance_path=instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/bot"
    default = create_app(instance_path=instance)
    assert default.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'shanghui.db'}"


# -- production fails fast ---------------------------------------------------------------------


def test_production_with_real_settings_starts(instance: Path, settings: dict[str, str]):
    app = create_app({**settings, **PRODUCTION}, instance_path=instance)
    assert app.config["SECRET_KEY"] == PRODUCTION["SECRET_KEY"]
    assert "dev" not in app.blueprints  # the development pages are not served


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", ""),
        ("SECRET_KEY", defaults.DEV_SECRET_KEY),
        ("SECRET_KEY", "abc"),  # issue 16: a short key was accepted
        ("SECRET_KEY", "x" * 40),
        ("SECRET_KEY", "changeme-changeme-changeme-changeme"),
        ("WECHAT_TOKEN", ""),
        ("WECHAT_TOKEN", defaults.DEV_WECHAT_TOKEN),
        ("WECHAT_APP_SECRET", defaults.WECHAT_APP_SECRET),
    ],
)
def test_production_refuses_a_missing_or_development_secret(
    instance: Path, settings: dict[str, str], name: str, value: str
):
    with pytest.raises(ConfigError, match=name):
        create_app({**settings, **PRODUCTION, name: value}, instance_path=instance)


def test_production_refuses_without_secret_key_even_with_a_stored_one(
    monkeypatch: pytest.MonkeyPatch, instance: Path, settings: dict[str, str]
):
    create_secret_key(instance)  # a development key left by `flask init`
    monkeypatch.setenv("FLASK_ENV", "production")
    production = {k: v for k, v in PRODUCTION.items() if k not in ("ENV", "SECRET_KEY")}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({**settings, **production}, instance_path=instance)


def test_a_malformed_aes_key_is_refused_everywhere(instance: Path, settings: dict[str, str]):
    with pytest.raises(ConfigError, match="WECHAT_AES_KEY"):
        create_app({**settings, "WECHAT_AES_KEY": "too-short"}, instance_path=instance)


# -- no I/O: nothing started, nothing written ---------------------------------------------------


def test_no_redis_url_means_the_embedded_address_and_no_process_or_file(
    instance: Path, settings: dict[str, str]
):
    children, servers = child_pids(), processes_mentioning(str(instance))
    app = create_app(settings, instance_path=instance)
    assert app.config["REDIS_URL"] == embedded_redis_url(instance)
    assert app.config["REDIS_URL"] == f"unix://{instance / 'redis' / 'redis.sock'}"
    assert child_pids() == children, "the factory started a process"
    assert processes_mentioning(str(instance)) == servers == set()
    assert not instance.exists(), f"the factory wrote {tree(instance)}"


def test_an_existing_instance_folder_is_left_as_it_is(
    instance: Path, settings: dict[str, str], caplog: pytest.LogCaptureFixture
):
    (instance / "redis").mkdir(parents=True)
    (instance / "notes.txt").write_text("kept")
    before = tree(instance)
    children = child_pids()
    with caplog.at_level(logging.WARNING, logger="bot"):
        create_app(settings, instance_path=instance)
    assert tree(instance) == before
    assert child_pids() == children
    assert "random key" in caplog.text  # no key stored: the warning says what to run


# -- the secret key -------------------------------------------------------------------------------


def test_secret_key_is_read_from_the_instance_folder(instance: Path, settings: dict[str, str]):
    stored = create_secret_key(instance)
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
    assert create_secret_key(instance) == stored == read_secret_key(instance)
    app = create_app(settings, instance_path=instance)
    assert app.config["SECRET_KEY"] == stored
    assert not app.config["SECRET_KEY_TEMPORARY"]


def test_without_any_key_development_gets_a_random_one_per_process(
    instance: Path, settings: dict[str, str]
):
    first = create_app(settings, instance_path=instance)
    second = create_app(settings, instance_path=instance)
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert first.config["SECRET_KEY_TEMPORARY"]
    assert read_secret_key(instance) is None


def test_a_configured_key_wins_over_the_stored_one(
    monkeypatch: pytest.MonkeyPatch, instance: Path, settings: dict[str, str]
):
    create_secret_key(instance)
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert create_app(settings, instance_path=instance).config["SECRET_KEY"] == (
        "from-the-environment"
    )


def test_make_run_refuses_production(tmp_path: Path):
    """make run starts the WeChat API sandbox and an embedded Redis: never in production."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "bot.dev.launcher"],
        cwd=ROOT,
        env={"ENV": "production", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "development runner" in done.stderr and "refuses ENV=production" in done.stderr


def test_production_cookies_are_secure(instance: Path, settings: dict[str, str]):
    app = create_app({**settings, **PRODUCTION}, instance_path=instance)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    development = create_app(settings, instance_path=instance)
    assert not development.config["SESSION_COOKIE_SECURE"]
