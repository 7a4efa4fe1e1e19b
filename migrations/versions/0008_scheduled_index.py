"""scheduled index: (address_book_id, scheduled, id), so that MySQL/MariaDB, which cannot make it partial, find a
book's scheduled rows without reading every row of the book (issue 13)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _scheduled_index(columns: list[str]) -> None:
    op.drop_index("ix_abc_book_scheduled", table_name="address_book_contact")
    op.create_index(
        "ix_abc_book_scheduled",
        "address_book_contact",
        columns,
        unique=False,
        sqlite_where=sa.text("scheduled = 1"),
        postgresql_where=sa.text("scheduled"),
    )


def upgrade() -> None:
    _scheduled_index(["address_book_id", "scheduled", "id"])


def downgrade() -> None:
    _scheduled_index(["address_book_id", "id"])
