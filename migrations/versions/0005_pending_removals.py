"""pending removals: a book row's removal is pending until a read of the book no longer lists the contact

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dotsync.db.types

revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('address_book_contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removal_requested_at', dotsync.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('removal_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('removal_checked_at', dotsync.db.types.UTCDateTime(), nullable=True))
    # Partial on SQLite and PostgreSQL (MySQL ignores the condition): only pending rows are in it.
    op.create_index(
        'ix_abc_book_removal', 'address_book_contact', ['address_book_id', 'removal_requested_at'], unique=False,
        sqlite_where=sa.text('removal_requested_at IS NOT NULL'),
        postgresql_where=sa.text('removal_requested_at IS NOT NULL'),
    )
    with op.batch_alter_table('address_book', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removal_note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('address_book', schema=None) as batch_op:
        batch_op.drop_column('removal_note')
    op.drop_index('ix_abc_book_removal', table_name='address_book_contact')
    with op.batch_alter_table('address_book_contact', schema=None) as batch_op:
        batch_op.drop_column('removal_checked_at')
        batch_op.drop_column('removal_attempts')
        batch_op.drop_column('removal_requested_at')
