"""services_roster_and_proxy_catalogue

Revision ID: b15a0e1a0001
Revises: b14a0e1a0001
Create Date: 2026-12-01 12:00:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = "b15a0e1a0001"
down_revision = "b14a0e1a0001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
