"""`q=`: the metrics whose own text or whose measure, population or destination contains the words, as one
condition whose cost follows the rows it keeps (issues 17, 18).

The small tables (measures, populations, destinations and their aliases and members) are searched first and
become plain `IN (ids)` lists on indexed metric columns; their texts are read once per dataset, lowered by the
database, and tested in Python (labelled_in). A metric's own text (its value as printed and its
quotes) goes through the trigram index when that is selective, else through a per-row test. Either way the
condition is cheap per row, so a common word walks the sort's index and stops when the page is full, and a rare
one reads a few index entries; no plan gathers every match of a subquery first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, false, func, literal, literal_column, or_, select, table, text, union_all
from sqlalchemy import column as sql_column

from app.api.pagination import TOTAL_BOUND, loaded_count
from app.api.queries import (
    SEARCHED_LABELS,
    citation_table,
    destination_alias_table,
    destination_member_table,
    destination_table,
    in_list,
    metric_table,
)
from app.api.representation import per_dataset

Condition = Any
search_table = table("metric_search", sql_column("metric_id"), sql_column("text"))
"""One row per metric: its own searched text (app.api.queries.search_text); migration 0007 indexes it (SQLite
FTS5 trigram, PostgreSQL pg_trgm GIN on lower(text))."""
SELECTIVE = 5_000
"""The most candidates the text index may return for its matches to become an id list; past it, each row is
tested (a list that long costs more to pass around than the per-row test costs to stop early)."""


def like_pattern(q: str) -> str:
    """`%q%`, lower-cased, with LIKE's wildcards escaped (escape character `\\`)."""
    return "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_condition(conn: Connection, q: str) -> Condition:
    """Case-insensitive substring of the measure's or population's id or label, the value as printed, a quote, or
    the destination's name, label, aliases or member names (`q=usa`): exactly what a LIKE over each field keeps."""
    pattern = like_pattern(q)
    lists = _labelled(conn, q)
    own = _own_text(conn, q, pattern)
    if not isinstance(own, list):  # a per-row test: no index serves the OR anyway
        return or_(*(in_list(metric_table.c[name], ids) for name, ids in lists.items()), own)
    if own:
        lists["id"] = own
    if not lists:
        return false()
    indexed = or_(*(in_list(metric_table.c[name], ids) for name, ids in lists.items()))
    if conn.dialect.name != "sqlite" or set(lists) == {"id"} or not _past_the_total_bound(conn, indexed):
        return indexed
    # Most rows match: test each row (`+column` keeps the lists off their indexes), so that the page walks the
    # sort's index and stops when it is full, where an index per list would gather every match and sort them.
    # PostgreSQL's statistics tell the two apart; SQLite's do not. (Text ids alone are at most SELECTIVE.)
    return or_(*(in_list(literal_column(f"+{metric_table.name}.{name}"), ids) for name, ids in lists.items()))


def _past_the_total_bound(conn: Connection, condition: Condition) -> bool:
    """Whether more than TOTAL_BOUND metrics match (index reads only, at most TOTAL_BOUND + 1)."""
    matching = select(literal(1)).select_from(metric_table).where(condition).limit(TOTAL_BOUND + 1).subquery()
    return int(conn.execute(select(func.count()).select_from(matching)).scalar_one()) > TOTAL_BOUND


def _like(column: Any, pattern: str) -> Any:
    return func.lower(column).like(pattern, escape="\\")


LabelRows = tuple[tuple[str, str, str], ...]
"""(metric column, id, the searched text lower-cased by the database): what `q=` searches in the small tables."""


def label_rows_statement() -> Any:
    """The small tables' searched texts: measures and populations by id and label, destinations by name, label,
    alias and member name, each as (metric column, the id that column holds, lower(text)). The database lowers
    them, with the lower() its LIKE is compared with, so a Python substring test agrees with `lower(x) LIKE ?`."""
    d, alias, member = destination_table.c, destination_alias_table.c, destination_member_table.c
    branches = [
        *(
            (name, parent.c.id, column)
            for name, parent in SEARCHED_LABELS.items()
            for column in (parent.c.id, parent.c.label)
        ),
        ("destination_id", d.id, d.name),
        ("destination_id", d.id, d.label),
        ("destination_id", alias.destination_id, alias.alias),
        ("destination_id", member.group_id, member.name),
    ]
    return union_all(
        *(
            select(literal(name).label("column"), key.label("id"), func.lower(column).label("text")).where(
                column.is_not(None)
            )
            for name, key, column in branches
        )
    )


def read_label_rows(conn: Connection) -> LabelRows:
    return tuple((str(c), str(i), str(t)) for c, i, t in conn.execute(label_rows_statement()))


LABEL_ROWS = "search_label_rows"
"""The per_dataset key of read_label_rows: kept for the dataset, so the hot path (app.api.fastpath) reads it too."""


def labelled_in(rows: LabelRows, q: str) -> dict[str, list[str]]:
    """Metric column -> the ids of the small tables' rows whose text contains q, as `lower(text) LIKE` with
    like_pattern(q) keeps them: the pattern escapes every wildcard, so it is a substring test of q.lower() (SQLite's
    LIKE also folds ASCII case, which neither side has left)."""
    needle = q.lower()
    lists: dict[str, set[str]] = {}
    for column, key, lowered in rows:
        if needle in lowered:
            lists.setdefault(column, set()).add(key)
    return {column: sorted(ids) for column, ids in sorted(lists.items())}


def _labelled(conn: Connection, q: str) -> dict[str, list[str]]:
    """Metric column -> the ids of the small tables' rows that match: measures and populations by id or label,
    destinations by name, label, an alias or a member's name. Read once per dataset (per_dataset), tested here."""
    return labelled_in(per_dataset(LABEL_ROWS, lambda: read_label_rows(conn)), q)


def _own_text(conn: Connection, q: str, pattern: str) -> list[str] | Condition:
    """The metrics whose value as printed or a quote contains q: their ids when the text index finds at most
    SELECTIVE candidates, else a per-row test."""
    m = metric_table.c
    if "\n" not in q:  # the stored text is one field per line: a q with a newline could match across two
        ids = _indexed_matches(conn, q, pattern)
        if ids is not None:
            return ids
    # A correlated scalar subquery, not EXISTS: PostgreSQL would turn EXISTS into one hashed set of every
    # matching quote, gathered before the first row.
    quoted = (
        select(literal(1))
        .where(citation_table.c.metric_id == m.id, _like(citation_table.c.quote, pattern))
        .limit(1)
        .scalar_subquery()
    )
    return or_(_like(m.value_text, pattern), quoted.is_not(None))


def _indexed_matches(conn: Connection, q: str, pattern: str) -> list[str] | None:
    """The ids whose stored text contains q, found through the trigram index; None when the index cannot
    narrow it (SQLite: q shorter than a trigram) or finds more than SELECTIVE candidates."""
    s = search_table.c
    if conn.dialect.name == "sqlite":
        if len(q) < 3:
            return None
        # FTS5 (detail=none) matches trigrams, not phrases: every trigram of q gives the candidates (a superset),
        # counted by rowid alone (no text read) up to SELECTIVE + 1; LIKE on each then keeps the real matches.
        trigrams = {q[i : i + 3] for i in range(len(q) - 2)}
        match = text("metric_search MATCH :trigrams").bindparams(
            trigrams=" ".join('"' + t.replace('"', '""') + '"' for t in sorted(trigrams))
        )
        # (Not counted when the dataset holds at most SELECTIVE metrics: one row each, so they cannot be more.)
        few = select(literal_column("rowid")).select_from(search_table).where(match).limit(SELECTIVE + 1).subquery()
        if (
            loaded_count(conn, "metrics") > SELECTIVE
            and conn.execute(select(func.count()).select_from(few)).scalar_one() > SELECTIVE
        ):
            return None
        candidates = select(s.metric_id, _like(s.text, pattern)).where(match)
    else:
        # pg_trgm's GIN index answers LIKE itself (it rechecks each candidate): these are the matches.
        candidates = select(s.metric_id, text("true")).where(_like(s.text, pattern)).limit(SELECTIVE + 1)
    rows = conn.execute(candidates).all()
    if len(rows) > SELECTIVE:
        return None
    return sorted(metric_id for metric_id, matched in rows if matched)
