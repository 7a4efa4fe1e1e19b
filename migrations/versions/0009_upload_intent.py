"""upload intent: members about to be uploaded to a book for the first time, recorded before the upload, so a
run killed between the upload and its bookkeeping still lets the contact import know dotsync added them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import dotsync.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upload_intent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_book_id", sa.Integer(), nullable=False),
        sa.Column(
            "member_ids", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"), nullable=False
        ),
        sa.Column("created_at", dotsync.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["address_book_id"],
            ["address_book.id"],
            name=op.f("fk_upload_intent_address_book_id_address_book"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_intent")),
    )
    with op.batch_alter_table("upload_intent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_intent_address_book_id"), ["address_book_id"], unique=False)


def downgrade() -> None:
    op.drop_table("upload_intent")  # its index goes with it (MySQL refuses to drop one a foreign key needs)
