"""The training service on real rows: seats, the waiting list, reminders and check-in."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from bot.extensions import db
from bot.models import Registration, TrainingSession
from bot.services import training
from bot.services.clock import local_now
from tests.factories import RegistrationFactory, TrainingSessionFactory


def seats(session: TrainingSession) -> int:
    db.session.expire_all()  # the service updates seats with plain UPDATEs
    return db.session.get(TrainingSession, session.id).seats_taken


def test_cancelling_a_confirmed_seat_promotes_the_first_waiting(app):
    session = TrainingSessionFactory(capacity=2)
    first, _ = RegistrationFactory.create_batch(2, session=session)
    waiting = RegistrationFactory.create_batch(2, session=session, status="waitlisted")
    assert seats(session) == 2
    assert [training.waitlist_position(db.session, r) for r in waiting] == [1, 2]

    promoted = training.cancel(db.session, first)
    db.session.commit()

    assert promoted is not None and promoted.id == waiting[0].id
    assert promoted.status == "confirmed"
    assert seats(session) == 2  # the seat changed hands
    assert training.waitlist_position(db.session, waiting[1]) == 1


def test_cancelling_twice_or_a_waiting_place_frees_no_seat(app):
    session = TrainingSessionFactory(capacity=1)
    held = RegistrationFactory(session=session)
    waiting = RegistrationFactory(session=session, status="waitlisted")
    assert training.cancel(db.session, waiting) is None
    assert training.cancel(db.session, waiting) is None  # already cancelled: nothing changes
    db.session.commit()
    assert seats(session) == 1 and held.status == "confirmed"


def test_a_cancelled_session_cancels_every_registration(app):
    session = TrainingSessionFactory(capacity=3)
    RegistrationFactory.create_batch(2, session=session)
    RegistrationFactory(session=session, status="waitlisted")
    told = training.cancel_session(db.session, session)
    db.session.commit()
    assert len(told) == 3
    assert {r.status for r in Registration.query.all()} == {"cancelled"}
    assert (session.status, seats(session)) == ("cancelled", 0)


def test_reminders_are_due_for_confirmed_seats_tomorrow_and_claimed_once(app):
    now = local_now(current_app.config)
    tomorrow = TrainingSessionFactory(starts_at=(now + timedelta(days=1)).replace(hour=9))
    later = TrainingSessionFactory(starts_at=now + timedelta(days=5))
    due = RegistrationFactory(session=tomorrow)
    RegistrationFactory(session=tomorrow, status="waitlisted")
    RegistrationFactory(session=later)

    assert [r.id for r in training.due_reminders(db.session, now)] == [due.id]
    assert training.claim_reminder(db.session, due)
    assert not training.claim_reminder(db.session, due)  # a second sweep finds it taken
    db.session.commit()
    assert training.due_reminders(db.session, now) == []


def test_check_in_marks_attendance_once_and_only_for_a_seat(app):
    confirmed = RegistrationFactory()
    waiting = RegistrationFactory(status="waitlisted")
    assert training.check_in(db.session, confirmed.checkin_code) is confirmed
    assert confirmed.status == "attended" and confirmed.attended_at is not None
    assert training.check_in(db.session, confirmed.checkin_code) is confirmed  # idempotent
    assert training.check_in(db.session, waiting.checkin_code) is None
    assert training.check_in(db.session, "no-such-code") is None


def test_open_sessions_lists_only_open_future_sessions(app):
    now = local_now(current_app.config)
    soon = TrainingSessionFactory(starts_at=now + timedelta(days=3))
    TrainingSessionFactory(status="draft")
    TrainingSessionFactory(status="cancelled")
    TrainingSessionFactory(starts_at=now - timedelta(days=1))
    assert [s.id for s in training.open_sessions(db.session, now)] == [soon.id]
