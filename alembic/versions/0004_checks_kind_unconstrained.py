"""Drop the CHECK constraint listing every kind of check: the kinds are the loader's registry
(app/checks/registry.py), the only writer of `checks`, so a new kind needs no migration.

Revision ID: 5b8e2c4f9a13
Revises: 3c1f0b6a7d21
Create Date: 2026-11-30 13:30:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '5b8e2c4f9a13'
down_revision: str | None = '3c1f0b6a7d21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_checks_kind'), type_='check')


def downgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'kind', "kind IN ('sum', 'subset', 'ratio', 'coverage', 'restatement')"
        )
