"""two way: a connection can import contacts that joined its book in Dotmailer (issue 15)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('address_book', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('import_new_contacts', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('address_book', schema=None) as batch_op:
        batch_op.drop_column('import_new_contacts')
