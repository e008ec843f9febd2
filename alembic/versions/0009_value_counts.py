"""Stored value counts, and metrics.unit as text on PostgreSQL (issue 18).

Stored value counts: rows per value of the columns that collections count (`metric_count` of
destinations, periods, measures, populations, reports, attributions; `citation_count` of sources) and that an
unfiltered `facet=` reports, written by the loader so that no request counts the whole metrics table.

metrics.unit: on PostgreSQL it was the enum type `unit`, which sorts in its declared order (persons, cases, USD)
where SQLite sorts the text (USD, cases, persons): `sort=unit` answered differently by backend. Now VARCHAR(7)
on both, with a CHECK on PostgreSQL keeping the values to the enum's (SQLite's column is already VARCHAR(7)).

Revision ID: 4c7e9a2d1f60
Revises: 8b2f6c1d3e58
Create Date: 2026-11-30 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '4c7e9a2d1f60'
down_revision: str | None = '8b2f6c1d3e58'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('value_counts',
    sa.Column('table_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('column_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('table_name', 'column_name', name=op.f('pk_value_counts'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE metrics ALTER COLUMN unit TYPE VARCHAR(7) USING unit::text')
        op.execute("ALTER TABLE metrics ADD CONSTRAINT ck_metrics_unit CHECK (unit IN ('persons', 'cases', 'USD'))")
        op.execute('DROP TYPE unit')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE TYPE unit AS ENUM ('persons', 'cases', 'USD')")
        op.execute('ALTER TABLE metrics DROP CONSTRAINT ck_metrics_unit')
        op.execute('ALTER TABLE metrics ALTER COLUMN unit TYPE unit USING unit::unit')
    op.drop_table('value_counts')
