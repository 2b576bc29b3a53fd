"""forms: the reply a submission got, its consent; attachments fetched from WeChat

Revision ID: 5e7a9c1b2d3f
Revises: 3c1d2e4f5a6b
Create Date: 2026-12-01 10:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "5e7a9c1b2d3f"
down_revision = "3c1d2e4f5a6b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("consent_version", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("consent_at", sa.DateTime(), nullable=True))

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("submission_key", sa.String(length=200), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("media_id", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("stored_path", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index("ix_attachments_owner", ["owner_kind", "owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachments_openid"), ["openid"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachments_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_attachments_submission_key"), ["submission_key"], unique=False
        )


def downgrade():
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_submission_key"))
        batch_op.drop_index(batch_op.f("ix_attachments_status"))
        batch_op.drop_index(batch_op.f("ix_attachments_openid"))
        batch_op.drop_index("ix_attachments_owner")
    op.drop_table("attachments")
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_column("consent_at")
        batch_op.drop_column("consent_version")
        batch_op.drop_column("reply")
