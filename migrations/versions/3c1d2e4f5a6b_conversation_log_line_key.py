"""conversation log: a key per line, so a line saved twice is stored once

Revision ID: 3c1d2e4f5a6b
Revises: 08619b835bfe
Create Date: 2026-12-01 09:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "3c1d2e4f5a6b"
down_revision = "08619b835bfe"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversation_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_key", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_conversation_logs_line_key"), ["line_key"]
        )


def downgrade():
    with op.batch_alter_table("conversation_logs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_conversation_logs_line_key"), type_="unique")
        batch_op.drop_column("line_key")
