"""services_roster_and_proxy_catalogue

Revision ID: b15a0e1a0001
Revises: b14a0e1a0001
Create Date: 2026-12-01 12:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b15a0e1a0001"
down_revision = "b14a0e1a0001"
branch_labels = None
depends_on = None


def upgrade():
    # The rosters of the 法治体检, 融资对接 and 代办 services (lawyers, partner banks, 代办员).
    op.create_table(
        'service_providers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('organisation', sa.String(length=200), nullable=False),
        sa.Column('contact', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('chamber_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['chamber_id'], ['chambers.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['admin_users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('service_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_providers_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_providers_user_id'), ['user_id'], unique=False)

    # The 代办事项清单 (商会+最多跑一次), imported from the departments' lists.
    op.create_table(
        'proxy_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('department', sa.String(length=100), nullable=False),
        sa.Column('materials', sa.Text(), nullable=False),
        sa.Column('by_proxy', sa.Boolean(), nullable=False),
        sa.Column('workdays', sa.Integer(), nullable=True),
        sa.Column('keywords', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )

    # A knowledge-base answer may offer to start a service's form ("回复1立即预约").
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('offer', sa.String(length=40), nullable=False, server_default='')
        )


def downgrade():
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.drop_column('offer')
    op.drop_table('proxy_items')
    with op.batch_alter_table('service_providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_providers_user_id'))
        batch_op.drop_index(batch_op.f('ix_service_providers_kind'))
    op.drop_table('service_providers')
