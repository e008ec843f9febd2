"""The read path at scale (issues 17, 18): indexes that serve every sort with its id tie-break (nulls last,
either direction), the stored representation of each metric, and the text index `q=` searches.

The order indexes and `metric_search` are not in the models (expression indexes, and a search table that
is an FTS5 virtual table on SQLite and a pg_trgm-indexed table on PostgreSQL); alembic/env.py leaves them
out of `alembic check`.

Revision ID: 7a1d5e0c2b47
Revises: 7e4a1c9d2b05
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '7a1d5e0c2b47'
down_revision: str | None = '7e4a1c9d2b05'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> indexed expressions; ORDER BY in app/api/filters.py (order_by) renders the same expressions.
ORDER_INDEXES = {
    **{
        f'ix_metrics_order_{column}{suffix}': f'({column} IS NULL), {column}{direction}, id'
        for column in ('lower', 'upper', 'destination_id')
        for suffix, direction in (('', ''), ('_desc', ' DESC'))
    },
    **{
        f'ix_metrics_order_{column}{suffix}': f'{column}{direction}, id'
        for column in ('unit', 'measure')
        for suffix, direction in (('', ''), ('_desc', ' DESC'))
    },
}


def upgrade() -> None:
    op.create_table('metric_representations',
    sa.Column('metric_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('document', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('csv_head', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('csv_tail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['metric_id'], ['metrics.id'], name=op.f('fk_metric_representations_metric_id_metrics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('metric_id', name=op.f('pk_metric_representations'))
    )
    for name, expressions in ORDER_INDEXES.items():
        op.execute(f'CREATE INDEX {name} ON metrics ({expressions})')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE metric_search USING fts5(metric_id UNINDEXED, text, tokenize='trigram', detail='none', columnsize=0)")
    else:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute(
            'CREATE TABLE metric_search (metric_id VARCHAR PRIMARY KEY REFERENCES metrics (id) ON DELETE CASCADE, '
            'text TEXT NOT NULL)'
        )
        op.execute('CREATE INDEX ix_metric_search_text ON metric_search USING gin (lower(text) gin_trgm_ops)')


def downgrade() -> None:
    op.execute('DROP TABLE metric_search')
    for name in ORDER_INDEXES:
        op.execute(f'DROP INDEX {name}')
    op.drop_table('metric_representations')
