"""The compatibility gate: a published ``.vN`` schema may only change in ways old data survives.

``released/<type>.json`` is a snapshot of every schema ever published (events and commands). The
policy (contracts/README.md, "Compatibility") is that within a major version a contract only
gains optional fields. :func:`breaking_changes` compares a released schema with the one the
models produce now and names every change that breaks a subscriber or refuses data that was valid:

- a field lost (a property of the released schema is gone);
- a field made required, or a required field made optional (subscribers rely on it being there);
- a type changed or narrowed (a JSON type no longer accepted, a branch of ``anyOf`` gone);
- an enum or const narrowed (a value no longer accepted), or an enum put on an open value;
- a bound tightened (``minLength``, ``maxLength``, ``minimum``, ``maximum``, ``minItems``, ...),
  a ``pattern`` or ``format`` changed or added;
- an event type (or command) that disappeared.

Adding an optional field, widening a type or an enum, loosening a bound, and editing descriptions
or examples pass. The check is deliberately conservative: what it cannot prove compatible (a
changed pattern) it reports, and a reviewer who disagrees makes a ``.v2``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["RELEASED_DIR", "breaking_changes", "catalogue_changes", "load_released"]

RELEASED_DIR = "released"

_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
# Keywords whose larger value accepts less (and the reverse).
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf")


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref``s (``#/$defs/...``) until a schema without one."""
    seen: set[str] = set()
    while "$ref" in schema:
        ref = str(schema["$ref"])
        if ref in seen or not ref.startswith("#/"):
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**target, **siblings}
    return schema


def _branches(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alternatives a value may match: the ``anyOf``/``oneOf`` branches, or the schema."""
    schema = _resolve(schema, root)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            shared = {k: v for k, v in schema.items() if k != keyword}
            out: list[Mapping[str, Any]] = []
            for branch in schema[keyword]:
                out += _branches({**shared, **_resolve(branch, root)}, root)
            return out
    return [schema]


def _types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a (branch-free) schema accepts."""
    if "const" in schema:
        return {_type_of(schema["const"])}
    if "enum" in schema:
        return {_type_of(value) for value in schema["enum"]}
    declared = schema.get("type")
    if declared is None:
        return set(_JSON_TYPES)
    types = {declared} if isinstance(declared, str) else set(declared)
    if "number" in types:
        types.add("integer")
    return types


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _values(schema: Mapping[str, Any]) -> list[Any] | None:
    """The closed set of values a schema accepts, or None when it is open."""
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _shown(path: str) -> str:
    return path or "(the data)"


def _compare_branch(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    path: str,
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
) -> list[str]:
    """What ``new`` refuses or drops of ``old``; both are branch-free and of a shared type."""
    problems: list[str] = []
    old_types, new_types = _types(old), _types(new)
    lost = sorted(old_types - new_types)
    if lost:
        problems.append(f"{_shown(path)}: type narrowed, no longer accepts {', '.join(lost)}")
    old_values, new_values = _values(old), _values(new)
    if new_values is not None:
        if old_values is None:
            problems.append(f"{_shown(path)}: an enum now restricts a value that was open")
        else:
            gone = [value for value in old_values if value not in new_values]
            if gone:
                problems.append(
                    f"{_shown(path)}: enum narrowed, no longer accepts "
                    + ", ".join(json.dumps(value, ensure_ascii=False) for value in gone)
                )
    for keyword in _LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            problems.append(f"{_shown(path)}: {keyword} tightened to {new[keyword]}")
    for keyword in _UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            problems.append(f"{_shown(path)}: {keyword} tightened to {new[keyword]}")
    for keyword in _EXACT:
        if keyword in new and new.get(keyword) != old.get(keyword):
            problems.append(f"{_shown(path)}: {keyword} changed to {new[keyword]!r}")
    if "object" in old_types & new_types:
        problems += _compare_object(old, new, path, old_root, new_root)
    if "array" in old_types & new_types and "items" in new:
        old_items = old.get("items", {})
        problems += _compare(old_items, new["items"], f"{path}[]", old_root, new_root)
    return problems


def _compare_object(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    path: str,
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
) -> list[str]:
    problems: list[str] = []
    old_props: Mapping[str, Any] = old.get("properties", {})
    new_props: Mapping[str, Any] = new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    prefix = f"{path}." if path else ""
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{prefix}{name}: field removed")
            continue
        problems += _compare(old_prop, new_props[name], f"{prefix}{name}", old_root, new_root)
    for name in sorted(new_required - old_required):
        what = "field made required" if name in old_props else "new field is required"
        problems.append(f"{prefix}{name}: {what}")
    for name in sorted(old_required - new_required):
        if name in new_props:
            problems.append(f"{prefix}{name}: required field made optional")
    if new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
        problems.append(f"{_shown(path)}: additional fields now forbidden")
    old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
    if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
        problems += _compare(old_extra, new_extra, f"{prefix}*", old_root, new_root)
    return problems


def _compare(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    path: str,
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
) -> list[str]:
    """Every old alternative must be taken, whole, by some new alternative of a shared type."""
    old_branches, new_branches = _branches(old, old_root), _branches(new, new_root)
    if len(old_branches) == 1 and len(new_branches) == 1:
        return _compare_branch(old_branches[0], new_branches[0], path, old_root, new_root)
    problems: list[str] = []
    for old_branch in old_branches:
        candidates = [b for b in new_branches if _types(b) & _types(old_branch)]
        if not candidates:
            shown = ", ".join(sorted(_types(old_branch)))
            problems.append(f"{_shown(path)}: type narrowed, no longer accepts {shown}")
            continue
        attempts = [
            _compare_branch(old_branch, candidate, path, old_root, new_root)
            for candidate in candidates
        ]
        best = min(attempts, key=len)
        problems += best
    return problems


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why ``new`` breaks subscribers of the released ``old`` schema; empty when compatible."""
    return _compare(old, new, "", old, new)


def load_released(root: Path) -> dict[str, dict[str, Any]]:
    """Type (e.g. ``payments.bill.issued.v1``) -> its released schema, from ``root/released``."""
    return {
        path.name.removesuffix(".json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((root / RELEASED_DIR).glob("*.json"))
    }


def catalogue_changes(
    released: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Every breaking change between the released catalogue and the current one, one line each."""
    problems: list[str] = []
    for name in sorted(released):
        if name not in current:
            problems.append(f"{name}: released, but no longer published (a type disappeared)")
            continue
        problems += [f"{name}: {p}" for p in breaking_changes(released[name], current[name])]
    return problems


def unreleased(released: Iterable[str], current: Iterable[str]) -> list[str]:
    """The current types without a snapshot yet."""
    return sorted(set(current) - set(released))
