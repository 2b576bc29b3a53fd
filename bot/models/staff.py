"""Console users and the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from bot.extensions import db
from bot.models.base import utcnow
from bot.models.org import Committee, Department


def new_session_token() -> str:
    return secrets.token_hex(16)


class AdminUser(db.Model):  # type: ignore[name-defined,misc]
    """A staff account for the console.

    It offers what Flask-Login asks of a user (``is_authenticated``, ``is_active``,
    ``is_anonymous``, ``get_id``). The id it gives Flask-Login carries ``session_token``,
    which changes whenever the password or the ``active`` flag does: the cookies of every
    session opened before then name a token that no longer loads anyone.
    """

    __tablename__ = "admin_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # bot.console.access.ROLES
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # The staff member's own WeChat (a follower of the account): reminders, digests and the
    # admins' "#通知" drafts come and go through it. Optional; unique when set.
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    committee: Mapped[Committee | None] = relationship()
    department: Mapped[Department | None] = relationship()

    @validates("password_hash", "active")
    def _end_sessions_on_change(self, key: str, value: Any) -> Any:
        # On the attribute, not in the views or the CLI: no code path that changes the
        # password or deactivates the account can forget to sign its sessions out.
        if getattr(self, key) != value:
            self.session_token = new_session_token()
        return value

    # -- what Flask-Login asks of a user -------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie stores: the id and the current session token."""
        return f"{self.id}:{self.session_token}"


class AuditLog(db.Model):  # type: ignore[name-defined,misc]
    """Who changed what in the console."""

    __tablename__ = "audit_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
