"""notices_and_deliveries

Revision ID: b14a0e1a0001
Revises: b13a0e1a0001
Create Date: 2026-12-01 12:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b14a0e1a0001"
down_revision = "b13a0e1a0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=64), nullable=False),
        sa.Column('summary', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('attachment_url', sa.String(length=500), nullable=False),
        sa.Column('audience', sa.String(length=100), nullable=False),
        sa.Column('audience_list', sa.JSON(), nullable=True),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('recipient_count', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=50), nullable=False),
        sa.Column('created_via', sa.String(length=12), nullable=False),
        sa.Column('submitted_by', sa.String(length=50), nullable=True),
        sa.Column('approved_by', sa.String(length=50), nullable=True),
        sa.Column('approved_at', sa.DateTime(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('preview_at', sa.DateTime(), nullable=True),
        sa.Column('paused_until', sa.DateTime(), nullable=True),
        sa.Column('pause_reason', sa.String(length=60), nullable=True),
        sa.Column('mass_msg_id', sa.BigInteger(), nullable=True),
        sa.Column('mass_msg_data_id', sa.BigInteger(), nullable=True),
        sa.Column('mass_status', sa.String(length=40), nullable=True),
        sa.Column('mass_counts', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_mass_msg_id'), ['mass_msg_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_status'), ['status'], unique=False)

    op.create_table(
        'notice_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('openid', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=40), nullable=True),
        sa.Column('msg_id', sa.BigInteger(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.Column('confirmed', sa.String(length=40), nullable=True),
        sa.Column('first_tried_at', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['notice_id'], ['notices.id'], name=op.f('fk_notice_deliveries_notice_id_notices')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_deliveries')),
        sa.UniqueConstraint('notice_id', 'openid', name=op.f('uq_notice_deliveries_notice_id')),
    )
    with op.batch_alter_table('notice_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_notice_deliveries_notice_status', ['notice_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_deliveries_msg_id'), ['msg_id'], unique=False)

    # admin_users.openid (an admin's own WeChat) is added by b13a0e1a0001.


def downgrade():
    with op.batch_alter_table('notice_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_deliveries_msg_id'))
        batch_op.drop_index('ix_notice_deliveries_notice_status')
    op.drop_table('notice_deliveries')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_status'))
        batch_op.drop_index(batch_op.f('ix_notices_mass_msg_id'))
        batch_op.drop_index(batch_op.f('ix_notices_created_at'))
    op.drop_table('notices')
