"""Users and roles management (issue 14): admins only; create with a role and a binding,
change it, reset a password (the account's sessions end), deactivate and reactivate, lift a
sign-in pause; every change audited; no self-lockout, no removing the last admin."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from bot.extensions import db
from bot.models import AdminUser, AuditLog
from tests.console.helpers import PASSWORD, Console, make_committee


def user(name: str) -> AdminUser:
    db.session.rollback()
    return db.session.execute(select(AdminUser).where(AdminUser.username == name)).scalar_one()


def audited(action: str) -> list[AuditLog]:
    db.session.rollback()
    return list(db.session.execute(select(AuditLog).where(AuditLog.action == action)).scalars())


def test_only_admins_open_the_users_pages(console, client) -> None:
    console.create("otto", "officer")
    console.login("otto", "officer")
    for url in ("/admin/users", "/admin/users/new", "/admin/users/1"):
        assert client.get(url).status_code == 403
    response = console.post("/admin/users/1/active", {"active": "0"})
    assert response.status_code == 403 and user("otto").active
    assert "账号与角色" not in client.get("/admin/").get_data(as_text=True)


def test_create_an_account_bound_to_a_committee(console, client) -> None:
    committee = make_committee("示范市商会人民调解委员会", "合同")
    console.login()
    response = console.post(
        "/admin/users/new",
        {
            "username": "medi",
            "password": "long-enough-1",
            "role": "mediator",
            "committee_id": str(committee.id),
            "department_id": "",
            "openid": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    row = user("medi")
    assert (row.role, row.committee_id, row.active) == ("mediator", committee.id, True)
    [entry] = [e for e in audited("admin.create_user") if e.actor != "cli"]
    assert entry.actor == "boss" and entry.target == f"admin_user:{row.id}"
    everyone = client.get("/admin/users").get_data(as_text=True)
    boss_id = user("boss").id
    boss_row = re.search(rf'href="/admin/users/{boss_id}">boss</a>.*?</tr>', everyone, re.S)
    assert boss_row and "从未登录" not in boss_row.group(0)  # signed in just now
    assert "从未登录" in everyone  # medi has not yet
    listing = client.get("/admin/users?role=mediator").get_data(as_text=True)
    assert "示范市商会人民调解委员会" in listing and f'/admin/users/{row.id}"' in listing
    assert f'/admin/users/{user("boss").id}"' not in listing
    # The new account signs in with the password the admin set.
    console.logout()
    assert console.login("medi", "mediator", password="long-enough-1").status_code == 302


def test_bad_input_is_refused_beside_its_field(console, client) -> None:
    console.login()
    response = console.post(
        "/admin/users/new",
        {"username": "boss", "password": "short", "role": "emperor", "committee_id": "999"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "该用户名已被使用" in page and "密码至少 8 位" in page
    assert db.session.execute(select(AdminUser)).scalars().all() == [user("boss")]


def test_change_role_reset_password_and_deactivate(app, console, client) -> None:
    console.create("ed", "editor")
    ed = user("ed")
    # Ed signs in in a browser of their own.
    other = Console(app.test_client(), console.runner)
    assert other.login("ed", "editor").status_code == 302
    assert other.get("/admin/kb").status_code == 200
    console.login()

    form = {"role": "officer", "committee_id": "", "department_id": "", "openid": "o-ed"}
    assert console.post(f"/admin/users/{ed.id}", form).status_code == 302
    assert (user("ed").role, user("ed").openid) == ("officer", "o-ed")
    [change] = audited("admin.update_user")
    assert json.loads(change.detail) == {"role": "officer", "openid": "o-ed"}

    reset = {"password": "brand-new-pass", "confirm": "brand-new-pass"}
    assert console.post(f"/admin/users/{ed.id}/password", reset).status_code == 302
    assert [e.actor for e in audited("admin.set_password")] == ["boss"]
    # Their open session ended with the new password; the old password no longer works.
    assert other.get("/admin/members").status_code == 302
    assert other.login("ed", "officer").status_code != 302
    assert other.login("ed", "officer", password="brand-new-pass").status_code == 302

    mismatch = {"password": "another-pass-1", "confirm": "different"}
    page = console.post(f"/admin/users/{ed.id}/password", mismatch)
    assert page.status_code == 400 and "两次输入的密码不一致" in page.get_data(as_text=True)

    assert console.post(f"/admin/users/{ed.id}/active", {"active": "0"}).status_code == 302
    assert not user("ed").active and audited("admin.deactivate")
    assert other.get("/admin/members").status_code == 302  # signed out
    assert console.post(f"/admin/users/{ed.id}/active", {"active": "1"}).status_code == 302
    assert user("ed").active and audited("admin.activate")
    assert console.post(f"/admin/users/{ed.id}/active", {"active": "x"}).status_code == 400


def test_no_admin_locks_the_console_out(console, client) -> None:
    console.login()
    boss = user("boss")
    assert console.post(f"/admin/users/{boss.id}/active", {"active": "0"}).status_code == 302
    assert user("boss").active
    demote = {"role": "editor", "committee_id": "", "department_id": "", "openid": ""}
    response = console.post(f"/admin/users/{boss.id}", demote)
    assert response.status_code == 400 and "不能停用或降级自己的账号" in response.get_data(
        as_text=True
    )
    assert user("boss").role == "admin"
    # A second admin may close the first one's account, but not the last one left.
    console.create("chief", "admin")
    console.logout()
    console.login("chief", "admin")
    assert console.post(f"/admin/users/{boss.id}/active", {"active": "0"}).status_code == 302
    assert not user("boss").active
    assert console.post(f"/admin/users/{user('chief').id}", demote).status_code == 400
    assert user("chief").role == "admin"


def test_unlock_lifts_the_sign_in_pause(console, client) -> None:
    console.create("otto", "officer")
    console.login()
    otto = user("otto")
    console.logout()

    def attempt(password: str, n: int):
        # From addresses of their own: the account's pause, not one address's.
        return console.post(
            "/admin/login",
            {"username": "otto", "password": password},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )

    for n in range(20):
        attempt("wrong-password", n)
    assert attempt(PASSWORD, 100).status_code == 429  # paused, even with the right password
    console.login()
    assert console.post(f"/admin/users/{otto.id}/unlock").status_code == 302
    assert [row.target for row in audited("admin.unlock")] == [f"admin_user:{otto.id}"]
    console.logout()
    assert attempt(PASSWORD, 101).status_code == 302
