"""Index metrics on (destination_id, period_id): a filter on both finds its few rows without walking every
metric of the destination (the benchmark's 1,000,000 synthetic metrics, bench/README.md).

Revision ID: 3c1f0b6a7d21
Revises: 9d3376c8a132
Create Date: 2026-11-27 00:50:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '3c1f0b6a7d21'
down_revision: str | None = '9d3376c8a132'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_metrics_destination_id_period_id', 'metrics', ['destination_id', 'period_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_metrics_destination_id_period_id', table_name='metrics')
