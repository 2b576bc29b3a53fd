"""Case numbers: per prefix and local day, never the same twice, even from several processes
on one database at once (SQLite here; PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import multiprocessing
from datetime import date

from bot.extensions import db
from bot.services import numbering

DAY = date(2026, 12, 1)
PROCESSES, EACH = 4, 25


def _allocate(config: dict, start, out) -> None:
    """One process: wait for the start signal, then take EACH numbers, a transaction each."""
    from bot import create_app

    app = create_app(config)
    with app.app_context():
        # Deferred transactions (no BEGIN IMMEDIATE), as the console and the CLI run: a
        # read-then-write allocation would fail here with "database is locked" or repeat a
        # serial; the single atomic statement does neither.
        start.wait(30)
        numbers = []
        for _ in range(EACH):
            numbers.append(numbering.next_number(db.session, "TJ", DAY))
            db.session.commit()
        out.put(numbers)
        db.engine.dispose()


def test_numbers_are_unique_across_processes(app, app_config):
    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Event(), spawn.Queue()
    workers = [
        spawn.Process(target=_allocate, args=(app_config, start, out)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    start.set()
    numbers = [n for _ in workers for n in out.get(timeout=120)]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert len(numbers) == len(set(numbers)) == PROCESSES * EACH
    expected = {f"TJ20261201-{i:04d}" for i in range(1, PROCESSES * EACH + 1)}
    assert set(numbers) == expected  # no gaps either: every commit kept its serial


def test_serials_are_per_prefix_and_day(app):
    assert numbering.next_number(db.session, "TJ", DAY) == "TJ20261201-0001"
    assert numbering.next_number(db.session, "TJ", DAY) == "TJ20261201-0002"
    assert numbering.next_number(db.session, "SQ", DAY) == "SQ20261201-0001"
    assert numbering.next_number(db.session, "TJ", date(2026, 12, 2)) == "TJ20261202-0001"
    db.session.commit()


def test_a_rolled_back_intake_gives_its_serial_back(app):
    numbering.next_number(db.session, "TJ", DAY)
    db.session.commit()
    numbering.next_number(db.session, "TJ", DAY)
    db.session.rollback()
    assert numbering.next_number(db.session, "TJ", DAY) == "TJ20261201-0002"


def test_numbers_are_read_back_as_members_type_them():
    assert numbering.find_numbers("查一下tj20261201-0007") == ["TJ20261201-0007"]
    assert numbering.find_numbers("TJ20261201 7 进度") == ["TJ20261201-0007"]
    assert numbering.find_numbers("TJ202612010007，查询码 123456") == ["TJ20261201-0007"]
    assert numbering.find_numbers("SQ20261123002到哪一步了") == ["SQ20261123-0002"]
    assert numbering.find_numbers("电话13800138000") == []


def test_query_codes_are_six_digits_and_compared_exactly():
    codes = {numbering.query_code() for _ in range(50)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 40
    assert numbering.codes_match(" 012345 ", "012345")
    assert not numbering.codes_match("012346", "012345")
