"""api limits: the rate-limit scheme seen, the last limit hit and when calls may resume; commerce summary fields

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dotsync.db.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_limit_scheme', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('rate_limit_hit', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rate_limit_hit_at', dotsync.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('rate_limited_until', dotsync.db.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('campaign_summary', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revenue', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('conversion_rate', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('assisted_revenue', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('num_orders', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('num_assisted_orders', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_summary', schema=None) as batch_op:
        batch_op.drop_column('num_assisted_orders')
        batch_op.drop_column('num_orders')
        batch_op.drop_column('assisted_revenue')
        batch_op.drop_column('conversion_rate')
        batch_op.drop_column('revenue')
    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.drop_column('rate_limited_until')
        batch_op.drop_column('rate_limit_hit_at')
        batch_op.drop_column('rate_limit_hit')
        batch_op.drop_column('rate_limit_scheme')
