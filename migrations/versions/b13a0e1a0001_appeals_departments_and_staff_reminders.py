"""appeals_departments_and_staff_reminders

Revision ID: b13a0e1a0001
Revises: fc3b5d0affc1
Create Date: 2026-12-01 12:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b13a0e1a0001"
down_revision = "fc3b5d0affc1"
branch_labels = None
depends_on = None


def upgrade():
    # Staff bind their own WeChat to receive reminders and digests (and admins send drafts).
    with op.batch_alter_table("admin_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("openid", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_admin_users_openid"), ["openid"])
    # The same request sent again in a new run of its form is recognised by this.
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_column("digest")
    with op.batch_alter_table("admin_users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_admin_users_openid"), type_="unique")
        batch_op.drop_column("openid")
