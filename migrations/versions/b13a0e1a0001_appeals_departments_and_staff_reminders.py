"""appeals_departments_and_staff_reminders

Revision ID: b13a0e1a0001
Revises: fc3b5d0affc1
Create Date: 2026-12-01 12:00:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = "b13a0e1a0001"
down_revision = "fc3b5d0affc1"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
