"""Read the seed's YAML files keeping line numbers, and validate each section's entries against their model,
reporting every problem with the line it sits on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.loader.entries import RULE, SKIP_RULES
from app.loader.problems import Problems

Entry = TypeVar("Entry", bound=BaseModel)
Loc = Sequence[int | str]


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key (1-based)."""

    line: int | None = None
    key_lines: dict[str, int]

    def line_of_key(self, key: str) -> int | None:
        """The line of `key` (of the first part of a dotted field), else the mapping's own line."""
        return self.key_lines.get(key.split(".")[0], self.line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_document(seed_dir: Path, name: str, problems: Problems) -> LineDict | None:
    """One seed file as a mapping of section names; None (and a problem) if it cannot be read as one."""
    try:
        text = (seed_dir / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(name, "file not found")
        return None
    except UnicodeDecodeError as exc:
        problems.add(name, f"not UTF-8: {exc.reason} at byte {exc.start}")
        return None
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        problems.add(name, f"invalid YAML: {problem}", line=mark.line + 1 if mark else None)
        return None
    if not isinstance(document, LineDict):
        problems.add(name, "the file must be a mapping of section names to lists")
        return None
    return document


def line_of(item: Any, loc: Loc) -> int | None:
    """The line of the deepest mapping key on the error's path that the YAML recorded."""
    line = item.line if isinstance(item, LineDict) else None
    node = item
    for part in loc:
        if isinstance(node, LineDict):
            line = node.key_lines.get(str(part), line)
            node = node.get(str(part)) if isinstance(part, str) else None
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, LineDict):
                line = node.line
        else:
            break
    return line


def read_section(
    problems: Problems, name: str, document: LineDict | None, key: str, model: type[Entry], allowed_keys: set[str]
) -> list[tuple[Entry, LineDict]]:
    """The entries of section `key` that validate, each with its YAML mapping (for lines)."""
    if document is None:
        return []
    for unknown in sorted(set(document) - allowed_keys):
        problems.add(
            name,
            f"unknown section {unknown!r} (expected one of {sorted(allowed_keys)})",
            line=document.key_lines.get(str(unknown)),
            field=str(unknown),
        )
    raw = document.get(key)
    if raw is None:
        problems.add(name, f"missing section {key!r}", field=key)
        return []
    if not isinstance(raw, list):
        problems.add(name, f"section {key!r} must be a list", line=document.key_lines.get(key), field=key)
        return []
    out: list[tuple[Entry, LineDict]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, LineDict):
            problems.add(name, f"{key}[{index}] must be a mapping", line=document.key_lines.get(key))
            continue
        entry_id = str(item.get("id")) if item.get("id") is not None else f"{key}[{index}]"
        entry = validate_entry(problems, name, model, item, entry_id)
        if entry is not None:
            out.append((entry, item))
    seen = Counter(getattr(entry, "id", None) for entry, _ in out)
    for entry, item in out:
        duplicate = getattr(entry, "id", None)
        if duplicate is not None and seen[duplicate] > 1:
            problems.add(name, f"duplicate id {duplicate!r} in {key!r}", line=item.line, entry=duplicate, field="id")
    return out


def validate_entry(problems: Problems, file: str, model: type[Entry], item: Any, entry: str) -> Entry | None:
    """The entry, or None (and its problems) if a field is invalid."""
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        return invalid_entry(problems, file, model, item, exc, entry)


def invalid_entry(
    problems: Problems,
    file: str,
    model: type[Entry],
    item: Any,
    exc: ValidationError,
    entry: str,
    *,
    line: int | None = None,
) -> Entry | None:
    """Report each error of `exc`; an entry that breaks only its own rules (entries.RULE) is still returned, so
    the checks across entries see it too. `item` is a YAML mapping, or a JSON line (bytes) at `line`."""
    for error in exc.errors():
        line_at = error.get("ctx", {}).get("line_at")
        at = line if line is not None else line_of(item, error["loc"] if line_at is None else line_at)
        field = ".".join(str(part) for part in error["loc"]) or None
        problems.add(file, error["msg"], line=at, entry=entry, field=field)
    if any(error["type"] != RULE for error in exc.errors()):
        return None
    if isinstance(item, bytes):
        return model.model_validate_json(item, context=SKIP_RULES)
    return model.model_validate(item, context=SKIP_RULES)
