"""Issue 18, the rest: `sort=period` and keyset pages (`after=`) in every order read only the rows of the page.

- `metrics.period_dates`: the period's `start_date/end_date` (ISO 8601), copied from `periods` by the loader
  (filled here for the rows already stored); its text order is the period order (start, then end), so
  `sort=period` walks an index of `metrics` like every other sort. Order indexes as 0007's (nulls last).
- Keyset indexes `(column, id)` and `(column DESC, id)`: a page after a cursor is read as a few index range
  scans (equal to the cursor's value with a greater id; beyond its value; the nulls), app/api/keyset.py.
  0007's order indexes lead with `(column IS NULL)`, which neither SQLite nor PostgreSQL can range-scan from a
  cursor (the OR of a row comparison walked the index from its start, filtering). They lead with `lower`,
  `upper` and `destination_id`, so those columns' own indexes (0001) go: the same index count to maintain.

Revision ID: 8b2f6c1d3e58
Revises: 9d4a7e2b6c05 (0006, which follows 0007 in the chain)
Create Date: 2026-11-30 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '8b2f6c1d3e58'
down_revision: str | None = '9d4a7e2b6c05'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> indexed expressions; app/api/filters.py (order_by) and app/api/keyset.py render the same orders.
ORDER_INDEXES = {
    'ix_metrics_order_period_dates': '(period_dates IS NULL), period_dates, id',
    'ix_metrics_order_period_dates_desc': '(period_dates IS NULL), period_dates DESC, id',
    **{
        f'ix_metrics_order_{column}{suffix}_keyset': f'{column}{direction}, id'
        for column in ('lower', 'upper', 'destination_id', 'period_dates')
        for suffix, direction in (('', ''), ('_desc', ' DESC'))
    },
}

PREFIXED = ('lower', 'upper', 'destination_id')
"""Columns whose single-column index (0001) a keyset index above now leads with."""


def upgrade() -> None:
    op.add_column('metrics', sa.Column('period_dates', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        dates = "periods.start_date || '/' || periods.end_date"
    else:
        dates = "to_char(periods.start_date, 'YYYY-MM-DD') || '/' || to_char(periods.end_date, 'YYYY-MM-DD')"
    op.execute(
        f'UPDATE metrics SET period_dates = (SELECT {dates} FROM periods WHERE periods.id = metrics.period_id) '
        'WHERE period_id IS NOT NULL'
    )
    for name, expressions in ORDER_INDEXES.items():
        op.execute(f'CREATE INDEX {name} ON metrics ({expressions})')
    for column in PREFIXED:
        op.drop_index(f'ix_metrics_{column}', table_name='metrics')
    if op.get_bind().dialect.name != 'sqlite':
        op.execute('ANALYZE metrics')  # statistics for the new column, as a load leaves them (SQLite keeps none)


def downgrade() -> None:
    for column in PREFIXED:
        op.create_index(f'ix_metrics_{column}', 'metrics', [column], unique=False)
    for name in ORDER_INDEXES:
        op.execute(f'DROP INDEX {name}')
    # Not a batch (table copy) on SQLite: it would lose 0007's expression indexes, which it cannot reflect.
    op.execute('ALTER TABLE metrics DROP COLUMN period_dates')
