"""operations: alert state (what problems were announced to the alert webhook)

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dotsync.db.types


revision: str = '0004'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alert_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=True),
    sa.Column('book', sa.String(length=255), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('since', dotsync.db.types.UTCDateTime(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('first_seen_at', dotsync.db.types.UTCDateTime(), nullable=False),
    sa.Column('announced_at', dotsync.db.types.UTCDateTime(), nullable=True),
    sa.Column('cleared_at', dotsync.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['integration_id'], ['integration.id'], name=op.f('fk_alert_state_integration_id_integration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_state')),
    sa.UniqueConstraint('key', name=op.f('uq_alert_state_key'))
    )


def downgrade() -> None:
    op.drop_table('alert_state')
