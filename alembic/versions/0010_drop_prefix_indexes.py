"""metrics.unit and metrics.measure lose their single-column indexes (0001): the order indexes `(unit, id)` and
`(measure, id)` (0007) lead with the same column and serve every query those served (`unit=`, `measure=`, a
parent's foreign key lookup), so the two were only written, never needed: two of the 30 indexes every loaded
metric maintains (PostgreSQL) or the load rebuilds (SQLite).

Revision ID: 5e1b8d3c7a92
Revises: 4c7e9a2d1f60
Create Date: 2026-11-30 19:20:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '5e1b8d3c7a92'
down_revision: str | None = '4c7e9a2d1f60'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIXED = ('unit', 'measure')


def upgrade() -> None:
    for column in PREFIXED:
        op.drop_index(f'ix_metrics_{column}', table_name='metrics')


def downgrade() -> None:
    for column in PREFIXED:
        op.create_index(f'ix_metrics_{column}', 'metrics', [column], unique=False)
