"""Console accounts and sign-in: the CLI, Flask-Login sessions, the throttle, CSRF, roles,
the nav, and the error pages."""

from __future__ import annotations

import json
import re
import socket
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from bot import create_app
from bot.extensions import db
from bot.models import AdminUser, AuditLog, TrainingSession
from tests.console.helpers import PASSWORD, Console, make_committee

ALL_PAGES = (
    "/admin/",
    "/admin/reports",
    "/admin/handoffs",
    "/admin/disputes",
    "/admin/appeals",
    "/admin/financing",
    "/admin/investment-leads",
    "/admin/legal-checkups",
    "/admin/proxy",
    "/admin/training",
    "/admin/notices",
    "/admin/members",
    "/admin/members/requests",
    "/admin/kb",
    "/admin/kb/unanswered",
    "/admin/kb/test",
    "/admin/log",
    "/admin/proxy-catalogue",
    "/admin/rosters",
    "/admin/calendar",
    "/admin/departments",
    "/admin/users",
    "/admin/audit",
)
# What each role finds in the sidebar, in order; every other page answers 403. A lawyer, a
# bank and a 代办员 work the service areas their roles take part in (issue 15).
NAV = {
    "admin": ALL_PAGES,
    "officer": (
        "/admin/",
        "/admin/reports",
        "/admin/handoffs",
        "/admin/appeals",
        "/admin/financing",
        "/admin/investment-leads",
        "/admin/legal-checkups",
        "/admin/proxy",
        "/admin/training",
        "/admin/notices",
        "/admin/members",
        "/admin/members/requests",
        "/admin/proxy-catalogue",
    ),
    "mediator": ("/admin/", "/admin/handoffs", "/admin/disputes"),
    "editor": (
        "/admin/",
        "/admin/notices",
        "/admin/kb",
        "/admin/kb/unanswered",
        "/admin/kb/test",
        "/admin/log",
    ),
    "lawyer": ("/admin/", "/admin/legal-checkups"),
    "bank": ("/admin/", "/admin/financing"),
    "agent": ("/admin/", "/admin/proxy", "/admin/proxy-catalogue"),
}


def user(name: str) -> AdminUser:
    return db.session.execute(select(AdminUser).where(AdminUser.username == name)).scalar_one()


# -- accounts (flask admin …) -----------------------------------------------------------------
def test_create_user_prints_id_and_stores_a_hash(runner, app) -> None:
    committee = make_committee("示范市商会人民调解委员会", "合同")
    result = runner.invoke(
        args=[
            "admin",
            "create-user",
            "alice",
            "--role",
            "mediator",
            "--committee",
            str(committee.id),
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    alice = db.session.get(AdminUser, out["id"])
    assert out["username"] == "alice" and alice.role == "mediator"
    assert alice.committee_id == committee.id and alice.committee.name == committee.name
    assert alice.password_hash != PASSWORD and alice.password_hash.startswith(("scrypt", "pbkdf2"))

    again = runner.invoke(
        args=["admin", "create-user", "alice", "--role", "admin", "--password", PASSWORD]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(
        args=["admin", "create-user", "bob", "--role", "root", "--password", PASSWORD]
    )
    assert bad_role.exit_code != 0


def test_create_user_refuses_an_unknown_committee_or_department(runner, app) -> None:
    for option in ("--committee", "--department"):
        result = runner.invoke(
            args=["admin", "create-user", "bob", "--role", "mediator", option, "99", "--password"]
            + [PASSWORD]
        )
        assert result.exit_code != 0
        assert f"no {option[2:]} with id 99" in result.output
    assert db.session.execute(select(func.count()).select_from(AdminUser)).scalar_one() == 0


@pytest.mark.parametrize("role", ["lawyer", "bank", "agent"])
def test_create_user_takes_every_role(runner, app, role) -> None:
    result = runner.invoke(
        args=["admin", "create-user", f"u-{role}", "--role", role, "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert user(f"u-{role}").role == role


def test_create_user_prompts_for_the_password_twice(runner, app) -> None:
    result = runner.invoke(
        args=["admin", "create-user", "carol", "--role", "editor"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert json.loads(result.output.strip().splitlines()[-1])["username"] == "carol"
    short = runner.invoke(
        args=["admin", "create-user", "dan", "--role", "editor", "--password", "short"]
    )
    assert short.exit_code != 0


# -- signing in and out -------------------------------------------------------------------------
def test_pages_need_a_login(client) -> None:
    response = client.get("/admin/training")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/training")
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/handoffs/1.json").status_code == 401
    login = client.get("/admin/login")
    assert login.status_code == 200 and "登录" in login.get_data(as_text=True)


def test_login_and_logout(console, client) -> None:
    response = console.login()
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "工作台" in page and "boss" in page
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    console.logout()
    assert client.get("/admin/").status_code == 302


def test_login_redirects_back_to_a_local_page_only(console, client) -> None:
    console.create("boss", "admin")
    response = console.login(next="//evil.example/x")
    assert response.headers["Location"] == "/admin/"
    console.logout()
    response = console.login(next="/admin/kb")
    assert response.headers["Location"] == "/admin/kb"


def test_wrong_password_is_refused(console, client) -> None:
    console.create("boss", "admin")
    response = console.login(password="not-the-password")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    unknown = console.login(name="nobody-here-xyz", password="whatever-123")
    assert unknown.status_code == 401
    failed = db.session.execute(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "login.failed")
    ).scalar_one()
    assert failed == 2


def test_an_empty_form_says_what_is_missing(console) -> None:
    response = console.post("/admin/login", {"username": "", "password": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请输入用户名" in page and "请输入密码" in page


def _attempt(console, name: str, password: str, address: str):
    return console.post(
        "/admin/login",
        {"username": name, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_repeated_failures_from_one_address_pause_that_address(console, client) -> None:
    console.create("boss", "admin")
    console.create("otto", "officer")
    for _ in range(10):
        assert console.login(password="wrong-password").status_code == 401
    blocked = console.login()  # even the right password waits now
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert "次数过多" in page and "15 分钟" in page
    assert client.get("/admin/").status_code == 302
    # Counted per address: the same account signs in from another address as usual.
    assert _attempt(console, "boss", PASSWORD, "10.1.2.3").status_code == 302


def test_failures_for_one_account_pause_it_from_any_address(console, runner) -> None:
    console.create("boss", "admin")
    console.create("otto", "officer")
    for i in range(20):  # spread over addresses, as a distributed guesser would
        assert _attempt(console, "boss", "wrong-password", f"10.0.0.{i}").status_code == 401
    assert _attempt(console, "boss", PASSWORD, "10.9.9.9").status_code == 429
    assert _attempt(console, "otto", PASSWORD, "10.9.9.8").status_code == 302
    # An admin lifts the pause.
    result = runner.invoke(args=["admin", "unlock", "boss"])
    assert result.exit_code == 0, result.output
    assert _attempt(console, "boss", PASSWORD, "10.9.9.7").status_code == 302


def test_signing_out_ends_the_session_a_saved_cookie_names(app, console, client) -> None:
    assert console.login().status_code == 302
    saved = client.get_cookie("session").value
    assert client.get("/admin/").status_code == 200
    console.logout()
    db.session.rollback()  # as a server's next request starts with a fresh session
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/admin/").status_code == 302  # to the sign-in page, not the console


def test_successful_sign_ins_do_not_count_towards_the_pause(console) -> None:
    console.create("boss", "admin")
    for _ in range(12):
        assert console.login().status_code == 302
        console.logout()
    for _ in range(9):
        assert console.login(password="wrong-password").status_code == 401
    assert console.login().status_code == 302


@contextmanager
def isolated_app(config: dict, **kw):
    """A second app with tables of its own; yields it and cleans up as the ``app`` fixture does."""
    made = create_app(config, **kw)
    with made.app_context():
        db.drop_all()
        db.create_all()
        try:
            yield made
        finally:
            made.extensions["webhook"].flusher.stop()
            made.extensions["kb"].stop()
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_the_pause_works_on_the_embedded_redis(app_config, instance_path, embedded_redis):
    # `make run` without REDIS_URL: the throttle's counters go to the embedded server's socket.
    config = {k: v for k, v in app_config.items() if k != "REDIS_URL"}
    with isolated_app(config, instance_path=instance_path) as made:
        assert made.config["REDIS_URL"] == embedded_redis.url
        console = Console(made.test_client(), made.test_cli_runner())
        console.create("boss", "admin")
        for _ in range(10):
            assert console.login(password="wrong-password").status_code == 401
        assert console.login().status_code == 429


def test_sign_in_works_without_redis(app_config) -> None:
    # A Redis outage costs the throttle, never the sign-in page (swallowed, short timeouts).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    config = {**app_config, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{closed}/0"}
    with isolated_app(config) as broken:
        console = Console(broken.test_client(), broken.test_cli_runner())
        console.create("boss", "admin")
        for _ in range(11):
            assert console.login(password="wrong-password").status_code == 401
        assert console.login().status_code == 302


# -- sessions end with the password or the account ----------------------------------------------
def test_a_changed_password_ends_sessions_opened_before(app, console, client, runner) -> None:
    console.login("otto", "officer")
    assert client.get("/admin/training").status_code == 200
    saved = client.get_cookie("session").value
    result = runner.invoke(args=["admin", "set-password", "otto", "--password", "new-secret-99"])
    assert result.exit_code == 0, result.output
    # The test shares its database session with the requests; a server's request starts
    # with a fresh one, which sees the CLI's commit.
    db.session.rollback()
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/admin/").status_code == 302  # the saved cookie no longer opens it
    assert client.get("/admin/training").status_code == 302
    assert console.login("otto").status_code == 401  # the old password is gone too
    assert console.login("otto", password="new-secret-99").status_code == 302
    assert client.get("/admin/training").status_code == 200


def test_deactivated_account_is_signed_out(console, client) -> None:
    console.login("otto", "officer")
    saved = client.get_cookie("session").value
    otto = user("otto")
    otto.active = False
    db.session.commit()
    assert client.get("/admin/training").status_code == 302
    otto.active = True  # back on: a session from before is not revived
    db.session.commit()
    client.set_cookie("session", saved)
    assert client.get("/admin/training").status_code == 302


def test_deactivate_command_ends_sessions_and_refuses_sign_in(console, client, runner) -> None:
    console.login("otto", "officer")
    result = runner.invoke(args=["admin", "deactivate", "otto"])
    assert result.exit_code == 0, result.output
    db.session.rollback()  # as in the password test: see the CLI's commit
    assert client.get("/admin/").status_code == 302
    assert console.login("otto").status_code == 401
    assert runner.invoke(args=["admin", "deactivate", "nobody"]).exit_code != 0


# -- CSRF ---------------------------------------------------------------------------------------
def test_a_post_without_the_csrf_token_is_refused(console, client) -> None:
    console.create("boss", "admin")
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": "boss", "password": PASSWORD})
    assert response.status_code == 400
    assert "请求无效" in response.get_data(as_text=True)
    console.login()
    response = client.post("/admin/training/new", data={"title": "x"})
    assert response.status_code == 400 and "请求无效" in response.get_data(as_text=True)
    wrong = client.post("/admin/training/new", data={"title": "x", "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert client.post("/admin/logout").status_code == 400
    assert client.get("/admin/").status_code == 200  # still signed in
    assert db.session.execute(select(func.count()).select_from(TrainingSession)).scalar_one() == 0


def test_a_nul_byte_in_a_field_is_a_bad_request(console, client) -> None:
    # PostgreSQL refuses NUL in text: the form refuses it first (a 400, never a 500).
    console.create("boss", "admin")
    nul_name = {"username": "bo\x00ss", "password": PASSWORD}
    assert console.post("/admin/login", nul_name).status_code == 400
    console.login()
    response = console.post("/admin/kb/new", {"topic": "a\x00b", "title": "x", "answer": "y"})
    assert response.status_code == 400 and "请求无效" in response.get_data(as_text=True)


def test_the_token_of_another_session_is_refused(app, console, client) -> None:
    stranger = Console(app.test_client(), console.runner)
    foreign = stranger.token()
    console.login()
    response = client.post("/admin/training/new", data={"title": "x", "csrf_token": foreign})
    assert response.status_code == 400


# -- roles and the nav ----------------------------------------------------------------------------
def test_roles_limit_the_sections(console, client) -> None:
    console.login("ed", "editor")
    assert client.get("/admin/training").status_code == 403
    refused = client.get("/admin/members")
    assert refused.status_code == 403 and "没有权限" in refused.get_data(as_text=True)
    assert client.get("/admin/handoffs").status_code == 403
    assert client.get("/admin/kb").status_code == 200
    assert client.get("/admin/log").status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    assert "/admin/kb" in page and "/admin/training" not in page  # the nav shows what one may open
    console.logout()

    console.login("mia", "mediator")
    assert client.get("/admin/handoffs").status_code == 200
    assert client.get("/admin/training").status_code == 403
    assert client.get("/admin/kb").status_code == 403
    console.logout()

    console.login("otto", "officer")
    assert client.get("/admin/training").status_code == 200
    assert client.get("/admin/members").status_code == 200
    assert client.get("/admin/kb").status_code == 403


@pytest.mark.parametrize("role", sorted(NAV))
def test_the_nav_shows_only_what_the_role_may_open(console, client, role) -> None:
    console.login(f"u-{role}", role)
    page = client.get("/admin/").get_data(as_text=True)
    sidebar = re.search(r'<nav class="nav" aria-label="主导航">(.*?)</nav>', page, re.S)
    assert sidebar is not None
    assert tuple(re.findall(r'href="([^"]+)"', sidebar.group(1))) == NAV[role]
    for url in ALL_PAGES:
        expected = 200 if url in NAV[role] else 403
        assert client.get(url).status_code == expected, url


def test_every_console_page_declares_who_may_open_it(app) -> None:
    # The gate refuses a console view without roles; this names any before a user meets it.
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.build_only:
            continue
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "console_roles", None) or getattr(view, "console_public", False)
        assert declared, f"{rule.endpoint} does not say who may open it (access.require)"


# -- error pages --------------------------------------------------------------------------------
def test_missing_records_and_unknown_pages_are_404_pages(console, client) -> None:
    console.login()
    for url in (
        "/admin/training/999",
        "/admin/handoffs/999",
        "/admin/kb/999/edit",
        "/admin/no-such-page",
        "/admin/training/1/export.pdf",
        "/admin/members/export.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "找不到该页面" in response.get_data(as_text=True), url
    # Outside /admin/ the default response stays.
    assert "找不到该页面" not in client.get("/no-such-page").get_data(as_text=True)


def test_a_crash_renders_the_500_page_and_rolls_back(app, console, client, monkeypatch) -> None:
    from bot.console import handoffs

    def explode():
        raise RuntimeError("boom")

    console.login()
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(handoffs, "open_handoffs", explode)
    response = client.get("/admin/handoffs")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "系统出了点问题" in page and "boom" not in page


def test_the_webhook_runs_none_of_the_sign_in_hooks(app) -> None:
    # Flask-Login's and Flask-Limiter's request hooks run for the console only (the webhook
    # counts microseconds); the pause tests above show they still work there.
    def modules(scope: str | None) -> set[str]:
        hooks = [
            *app.before_request_funcs.get(scope, ()),
            *app.after_request_funcs.get(scope, ()),
            *app.teardown_request_funcs.get(scope, ()),
        ]
        return {getattr(getattr(fn, "func", fn), "__module__", "") for fn in hooks}

    assert not {m for m in modules(None) if m.startswith(("flask_limiter", "flask_login"))}
    assert {"flask_limiter._extension", "flask_login.login_manager"} <= modules("admin")


def test_with_redis_down_failures_are_counted_from_the_database(app_config) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    config = {**app_config, "REDIS_URL": f"redis://127.0.0.1:{closed}/0"}
    with isolated_app(config) as down:
        console = Console(down.test_client(), down.test_cli_runner())
        console.create("boss", "admin")
        for _ in range(10):
            assert console.login(password="wrong-password").status_code == 401
        assert console.login().status_code == 429  # the throttle did not switch off
        result = console.runner.invoke(args=["admin", "unlock", "boss"])
        assert result.exit_code == 0, result.output
        assert console.login().status_code == 302
