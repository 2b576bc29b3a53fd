"""console: staff bound to committees and departments by foreign key, session tokens; hand-offs routed to a committee

Revision ID: fc3b5d0affc1
Revises: d73b78ffaad3
Create Date: 2026-12-01 09:22:27.623226

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fc3b5d0affc1'
down_revision = 'd73b78ffaad3'
branch_labels = None
depends_on = None


def upgrade():
    admin_users = sa.table(
        'admin_users',
        sa.column('id', sa.Integer),
        sa.column('committee_id', sa.Integer),
        sa.column('department_id', sa.Integer),
        sa.column('session_token', sa.String),
    )
    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    # Until now the ids were plain numbers (`flask admin create-user --committee 3` took any):
    # one that names no committee or department would make the foreign keys below refuse.
    for column, table in (('committee_id', 'committees'), ('department_id', 'departments')):
        known = sa.select(sa.table(table, sa.column('id')).c.id)
        conn.execute(
            admin_users.update()
            .where(admin_users.c[column].is_not(None), admin_users.c[column].not_in(known))
            .values({column: None})
        )
    # Every account gets a token of its own (sessions opened before this change named none,
    # so staff sign in once more).
    for (ident,) in conn.execute(sa.select(admin_users.c.id)).all():
        conn.execute(
            admin_users.update()
            .where(admin_users.c.id == ident)
            .values(session_token=secrets.token_hex(16))
        )
    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_admin_users_committee_id_committees'), 'committees', ['committee_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_admin_users_department_id_departments'), 'departments', ['department_id'], ['id'])

    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('committee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_handoffs_committee_id'), ['committee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_handoffs_committee_id_committees'), 'committees', ['committee_id'], ['id'])


def downgrade():
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_handoffs_committee_id_committees'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_handoffs_committee_id'))
        batch_op.drop_column('committee_id')

    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_admin_users_department_id_departments'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_admin_users_committee_id_committees'), type_='foreignkey')
        batch_op.drop_column('session_token')
