"""book error source: the import whose failure a book's sync_error reports, so it is cleared by state (issue 18)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("address_book", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_error_import_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("address_book", schema=None) as batch_op:
        batch_op.drop_column("sync_error_import_id")
