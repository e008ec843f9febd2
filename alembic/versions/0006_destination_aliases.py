"""Destination aliases: the other names people give a place (`USA`, `America`), from seed/destinations.yaml,
so `country=` and `q=` accept them (issue 14).

Revision ID: 9d4a7e2b6c05
Revises: 7a1d5e0c2b47
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '9d4a7e2b6c05'
down_revision: str | None = '7a1d5e0c2b47'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'destination_aliases',
        sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('destination_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ['destination_id'],
            ['destinations.id'],
            name=op.f('fk_destination_aliases_destination_id_destinations'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('alias', name=op.f('pk_destination_aliases')),
    )
    with op.batch_alter_table('destination_aliases', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_destination_aliases_destination_id'), ['destination_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('destination_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destination_aliases_destination_id'))
    op.drop_table('destination_aliases')
