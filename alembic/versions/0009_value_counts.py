"""Stored value counts (issue 18): rows per value of the columns that collections count (`metric_count` of
destinations, periods, measures, populations, reports, attributions; `citation_count` of sources) and that an
unfiltered `facet=` reports, written by the loader so that no request counts the whole metrics table.

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


def downgrade() -> None:
    op.drop_table('value_counts')
