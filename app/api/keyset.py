"""Keyset pages in any order as a few index range scans ("arms"), read one after another.

The rows after a cursor in the order `k1, ..., kn, id` (nulls last) are, in order: those equal to the cursor on
every key with a greater id; then, for each key from the last to the first, those equal on the keys before it
and beyond the cursor's value on it (non-null values first, then the nulls). Each arm is a range of a
`(key, id)` index (migration 0008), where the OR of all of them is not: SQLite and PostgreSQL then walk the
order index from its start and filter. Walking back (the `prev` link) mirrors it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select

from app.api.filters import is_nullable, sort_keys
from app.api.queries import metric_table

Condition = ColumnElement[bool]


@dataclass(frozen=True)
class Arm:
    """Rows that hold `where`, read in `order` (an index range on a `(key, id)` index, in its order)."""

    where: Condition
    order: tuple[Any, ...]


def _order(keys: Sequence[tuple[Any, bool]], backwards: bool) -> tuple[Any, ...]:
    """ORDER BY for an arm whose first key is fixed to a range (no nulls-last term: the arm holds non-null values
    only, or nulls only) and whose later keys run free (nulls last, as app.api.filters.order_by)."""
    out: list[Any] = []
    for position, (column, desc) in enumerate(keys):
        if position and is_nullable(column):
            out.append(column.is_(None).desc() if backwards else column.is_(None))
        out.append(column.asc() if desc == backwards else column.desc())
    out.append(metric_table.c.id.desc() if backwards else metric_table.c.id.asc())
    return tuple(out)


def _equal(column: Any, value: Any) -> Condition:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def arms(sort: str | None, values: Sequence[Any], cursor: str, *, backwards: bool = False) -> list[Arm]:
    """The arms of the rows after the cursor row (whose sort key values are `values`) or, `backwards`, of the
    rows up to it (itself included), walking back."""
    keys = sort_keys(sort)
    equal = [_equal(column, value) for (column, _), value in zip(keys, values, strict=True)]
    id_ = metric_table.c.id
    out = [Arm(and_(*equal, id_ <= cursor if backwards else id_ > cursor), _order([], backwards))]
    for i in reversed(range(len(keys))):
        column, desc = keys[i]
        value = values[i]
        prefix = equal[:i]
        order = _order(keys[i:], backwards)
        if value is None:  # nulls come last: nothing beyond; back from one, every non-null value
            if backwards:
                out.append(Arm(and_(*prefix, column.is_not(None)), order))
            continue
        ahead = column < value if desc != backwards else column > value
        out.append(Arm(and_(*prefix, ahead), order))
        if not backwards and is_nullable(column):
            out.append(Arm(and_(*prefix, column.is_(None)), order))
    return out


def read_arms(conn: Connection, statement: Select[Any], parts: Sequence[Arm], limit: int, offset: int = 0) -> list[Any]:
    """Up to `limit` rows of `statement` from the arms read in turn, after skipping `offset` of them (an arm
    the offset passes whole is counted: linear, as any offset)."""
    rows: list[Any] = []
    for arm in parts:
        if len(rows) >= limit:
            break
        found = conn.execute(statement.where(arm.where).order_by(*arm.order).limit(limit - len(rows)).offset(offset))
        got = found.all()
        if offset and not got:
            skipped = select(func.count()).select_from(statement.where(arm.where).subquery())
            offset -= min(offset, int(conn.execute(skipped).scalar_one()))
        else:
            offset = 0
        rows.extend(got)
    return rows
