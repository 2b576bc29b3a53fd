"""The migrations build the schema the models describe, and the demo data has committees
and departments to route to."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from bot.dev import seed
from bot.extensions import db
from bot.models import Chamber, Committee, Department
from bot.paths import ROOT


def test_the_migrations_match_the_models(app) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.drop_all()
    forget_revision()  # a shared database (PostgreSQL) may keep one from an earlier run
    try:
        # Every migration from an empty database, as `flask init` runs them; in a process of
        # its own, since Alembic's env.py reconfigures (and silences) logging for good.
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": url,
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "SECRET_KEY": "migration-test",
        }
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        check_schema()
    finally:
        forget_revision()


def forget_revision() -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def check_schema() -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []
    # The foreign keys that scope rests on are in the database, not only in the models.
    inspector = inspect(db.engine)
    targets = {
        (fk["constrained_columns"][0], fk["referred_table"])
        for fk in inspector.get_foreign_keys("admin_users")
    }
    assert {("committee_id", "committees"), ("department_id", "departments")} <= targets
    handoff = {fk["referred_table"] for fk in inspector.get_foreign_keys("handoffs")}
    assert "committees" in handoff


def test_demo_data_has_two_departments_of_different_categories(app) -> None:
    assert seed.load_departments() == "departments: 2 departments"
    departments = db.session.execute(select(Department).order_by(Department.id)).scalars().all()
    assert len(departments) == 2
    first, second = (set(d.categories) for d in departments)
    assert not first & second  # an appeal's category names one department
    assert first | second == {
        "融资",
        "用地",
        "人才",
        "税费",
        "政策落实",
        "营商环境",
        "法律权益",
        "建言献策",
        "其他",
    }
    assert "kept" in seed.load_departments()  # safe to repeat
    assert len(db.session.execute(select(Department)).scalars().all()) == 2


def test_demo_committees_take_different_dispute_types(app) -> None:
    # The committees are the case engine's demo (seed.load_mediation_demo); scope rests on them.
    db.session.add(Chamber(name="示范市浙江商会"))
    db.session.commit()
    seed.load_mediation_demo()
    committees = db.session.execute(select(Committee).order_by(Committee.id)).scalars().all()
    assert len(committees) == 2
    assert set(committees[0].dispute_types) != set(committees[1].dispute_types)
