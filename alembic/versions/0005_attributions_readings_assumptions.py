"""Who states each figure, the readings made visible, and each check's assumptions (issue 12).

- `attributions`: who states figures as a source presents them (a report, an unidentified survey, the
  article itself); every metric names one (`attributed_to`, NOT NULL) with `attribution_basis`
  (explicit | section | none), the attributing quote and a note.
- Notes on `periods`, `measures` and `sources`; the report's written instructions on `reports`.
- `checks.assumptions` (a JSON list) and the status `info` (a relation that rests on our reading only).

A database that already holds data is carried over: each source becomes an `article` attribution and every
metric is attributed to the source of its first citation, basis `none`, until the next load replaces them.

Revision ID: 7e4a1c9d2b05
Revises: 5b8e2c4f9a13
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '7e4a1c9d2b05'
down_revision: str | None = '5b8e2c4f9a13'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUS = "status IN ('pass', 'warn', 'fail')"
NEW_STATUS = "status IN ('pass', 'warn', 'fail', 'info')"


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('periods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instructions_by', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('instructions_quote', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.execute("UPDATE reports SET instructions_by = '[]'")
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.alter_column('instructions_by', existing_type=sa.JSON(), nullable=False)

    op.create_table('attributions',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('report_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('quote', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.CheckConstraint("(kind = 'report') = (report_id IS NOT NULL)", name=op.f('ck_attributions_report_for_report')),
    sa.CheckConstraint("kind IN ('report', 'survey', 'article')", name=op.f('ck_attributions_kind')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_attributions_report_id_reports')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_attributions_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attributions'))
    )
    with op.batch_alter_table('attributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attributions_source_id'), ['source_id'], unique=False)

    # Carry over a loaded dataset: each source speaks for itself until the next load says who states what.
    op.execute(
        "INSERT INTO attributions (id, kind, label, source_id) SELECT id, 'article', publisher, id FROM sources"
    )
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributed_to', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('attribution_basis', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('attribution_quote', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('attribution_note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.execute(
        "UPDATE metrics SET attribution_basis = 'none', attributed_to = (SELECT c.source_id FROM citations c "
        "WHERE c.metric_id = metrics.id ORDER BY c.position LIMIT 1)"
    )
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.alter_column('attributed_to', existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
        batch_op.alter_column('attribution_basis', existing_type=sa.String(length=8), nullable=False)
        batch_op.create_index(batch_op.f('ix_metrics_attributed_to'), ['attributed_to'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_metrics_attributed_to_attributions'), 'attributions', ['attributed_to'], ['id']
        )
        batch_op.create_check_constraint(
            'attribution_basis', "attribution_basis IN ('explicit', 'section', 'none')"
        )

    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assumptions', sa.JSON(), nullable=True))
        batch_op.drop_constraint(op.f('ck_checks_status'), type_='check')
        batch_op.create_check_constraint('status', NEW_STATUS)
    op.execute("UPDATE checks SET assumptions = '[]'")
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.alter_column('assumptions', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    # The old schema has no `info`: those results go (the next load under the old code recomputes the audit).
    op.execute("DELETE FROM check_metrics WHERE check_id IN (SELECT id FROM checks WHERE status = 'info')")
    op.execute("DELETE FROM checks WHERE status = 'info'")
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_checks_status'), type_='check')
        batch_op.create_check_constraint('status', OLD_STATUS)
        batch_op.drop_column('assumptions')
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_metrics_attribution_basis'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_metrics_attributed_to_attributions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_metrics_attributed_to'))
        batch_op.drop_column('attribution_note')
        batch_op.drop_column('attribution_quote')
        batch_op.drop_column('attribution_basis')
        batch_op.drop_column('attributed_to')
    with op.batch_alter_table('attributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attributions_source_id'))
    op.drop_table('attributions')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('instructions_quote')
        batch_op.drop_column('instructions_by')
    for table in ('measures', 'periods', 'sources'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('note')
