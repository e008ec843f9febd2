"""Names as people type them, resolved to the dataset's codes and ids: country names and aliases for
`country=`, and the nearest known ids (difflib) for a 400 that says what to type instead."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from app.api.queries import destination_alias_table, destination_member_table, destination_table
from app.api.representation import per_dataset
from app.errors import ApiProblem, shown

LIST_ALL_UP_TO = 30
"""An unknown id's 400 lists every valid id when there are at most this many; else the nearest."""


def normal(name: str) -> str:
    """The form names are compared in: case-folded, inner whitespace collapsed."""
    return " ".join(name.casefold().split())


def nearest(value: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known values closest to `value` (case-insensitively), best first."""
    by_normal: dict[str, str] = {}
    for item in known:
        by_normal.setdefault(normal(item), item)
    return [by_normal[m] for m in difflib.get_close_matches(normal(value), list(by_normal), n=n, cutoff=0.6)]


def invalid(parameter: str, reason: str) -> ApiProblem:
    """The 400 for one query parameter whose value names nothing known."""
    return ApiProblem(
        400,
        "invalid-parameter",
        f"{parameter}: {reason}",
        title="Invalid parameter",
        errors=[{"name": parameter, "in": "query", "reason": reason}],
    )


def suggestion(value: str, known: Sequence[str]) -> str:
    """`use one of a, b, c` for a short list, else `did you mean x?` (or where to find the list)."""
    if len(known) <= LIST_ALL_UP_TO:
        return "use one of " + ", ".join(known)
    close = nearest(value, known)
    return f"did you mean {' or '.join(close)}?" if close else "see the collection for the valid ids"


def country_names(conn: Connection) -> tuple[dict[str, str], dict[str, str]]:
    """Every name that resolves to an ISO code (places' names, labels, aliases and group members' names), and
    every name of a group (which has no code): normal form -> code, and normal form -> destination id."""
    d = destination_table.c
    places: dict[str, str] = {}
    groups: dict[str, str] = {}
    rows: list[Any] = list(conn.execute(select(d.id, d.name, d.label, d.code)))
    aliases: dict[str, list[str]] = {}
    for alias, destination_id in conn.execute(
        select(destination_alias_table.c.alias, destination_alias_table.c.destination_id)
    ):
        aliases.setdefault(destination_id, []).append(alias)
    for member in conn.execute(select(destination_member_table.c.name, destination_member_table.c.code)):
        places.setdefault(normal(member.name), member.code)
    for row in rows:
        for name in (row.name, row.label, *aliases.get(row.id, [])):
            if row.code:
                places[normal(name)] = row.code
            else:
                groups.setdefault(normal(name), row.id)
    return places, groups


def resolve_country(conn: Connection, value: str) -> str:
    """The ISO 3166-1 alpha-2 code `value` names: a code itself, or a name listed in the seed. 400 otherwise,
    with the closest known names."""
    places, groups = per_dataset("country_names", lambda: country_names(conn))
    key = normal(value)
    if key in places:
        return places[key]
    if len(key) == 2 and key.isascii() and key.isalpha():
        return key.upper()
    if key in groups:
        raise invalid(
            "country",
            f"{shown(value)} names a group of places, not one country; use destination={groups[key]}",
        )
    close = nearest(value, [*places, *groups])
    hint = "; try " + " or ".join(_with_code(name, places, groups) for name in close) if close else ""
    return _raise(
        f"{shown(value)} is not an ISO 3166-1 alpha-2 code or a known name{hint}"
        + ("" if close else "; see /v1/destinations for the places and their codes")
    )


def _with_code(name: str, places: dict[str, str], groups: dict[str, str]) -> str:
    return f"{places[name]} ({name})" if name in places else f"destination={groups[name]}"


def _raise(reason: str) -> str:
    raise invalid("country", reason)
