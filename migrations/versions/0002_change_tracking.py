"""change tracking: per-list change sequence, stamped members and book rows, the sequence each book planned

Revision ID: 0002
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('marketing_list', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('list_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index('ix_list_member_list_change', ['list_id', 'change_seq'], unique=False)
    with op.batch_alter_table('address_book', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_seq', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('address_book_contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('scheduled_row', sa.Text(), nullable=True))
        batch_op.drop_column('member_hash')
    # Partial indexes (SQLite, PostgreSQL; MySQL ignores the condition): the scheduled rows, and the stamped
    # rows. A row the export inserts as sent enters neither.
    op.drop_index('ix_abc_book_scheduled', table_name='address_book_contact')
    op.create_index(
        'ix_abc_book_scheduled', 'address_book_contact', ['address_book_id', 'id'], unique=False,
        sqlite_where=sa.text('scheduled = 1'), postgresql_where=sa.text('scheduled'),
    )
    op.create_index(
        'ix_abc_book_change', 'address_book_contact', ['address_book_id', 'change_seq'], unique=False,
        sqlite_where=sa.text('change_seq > 0'), postgresql_where=sa.text('change_seq > 0'),
    )
    # Every book plans in full once under the new scheme (and writes its scheduled rows' CSV lines).
    op.execute("UPDATE address_book SET plan_signature = NULL")


def downgrade() -> None:
    op.drop_index('ix_abc_book_change', table_name='address_book_contact')
    op.drop_index('ix_abc_book_scheduled', table_name='address_book_contact')
    op.create_index(
        'ix_abc_book_scheduled', 'address_book_contact', ['address_book_id', 'scheduled', 'id'], unique=False
    )
    with op.batch_alter_table('address_book_contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_hash', sa.String(length=32), nullable=True))
        batch_op.drop_column('scheduled_row')
        batch_op.drop_column('change_seq')
    with op.batch_alter_table('address_book', schema=None) as batch_op:
        batch_op.drop_column('planned_seq')
    with op.batch_alter_table('list_member', schema=None) as batch_op:
        batch_op.drop_index('ix_list_member_list_change')
        batch_op.drop_column('change_seq')
    with op.batch_alter_table('marketing_list', schema=None) as batch_op:
        batch_op.drop_column('change_seq')
