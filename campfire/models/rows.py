"""Reading catalog rows: the values the models are built from, whatever their source.

A row may come from the local SQLite store, a remote JSON answer or an astropy Table, so a
missing value may be None, ``''``, NaN or ``np.ma.masked``, and a list column may be a list,
``;``-joined text or ``[{"slug": ...}]`` dicts. These helpers turn any of them into plain
Python values; :mod:`campfire.models.spectrum` and :mod:`campfire.models.object` use them.

Examples
--------
>>> as_list("uds; cosmos"), to_float(float("nan")), to_int(None, 3), truthy("yes")
(['uds', 'cosmos'], None, 3, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from campfire.errors import ValidationError

__all__ = [
    "as_list",
    "given_values",
    "is_missing",
    "require_key",
    "to_float",
    "to_int",
    "to_str",
    "truthy",
]


def as_list(value: Any) -> list[str]:
    """A list column that may arrive ``;``-joined, as a list, or as ``[{slug: ...}]`` dicts."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("slug") or item.get("name")
        if item is not None and str(item).strip():
            out.append(str(item).strip())
    return out


def is_missing(value: Any) -> bool:
    """True for None, ``np.ma.masked`` and the empty string."""
    return value is None or value is np.ma.masked or (isinstance(value, str) and not value)


def to_float(value: Any) -> float | None:
    """A float, or None when missing or NaN."""
    if is_missing(value):
        return None
    v = float(value)
    return None if np.isnan(v) else v


def to_int(value: Any, default: int = 0) -> int:
    """An int, or ``default`` when missing."""
    return default if is_missing(value) else int(value)


def to_str(value: Any) -> str | None:
    """The text, or None when missing."""
    return None if is_missing(value) else str(value)


def require_key(row: dict[str, Any], key: str) -> None:
    """Raise :class:`ValidationError` naming the row's keys when ``row[key]`` is missing."""
    if is_missing(row.get(key)):
        raise ValidationError(f"a catalog row needs {key!r}; this one has {sorted(row)}")


def given_values(row: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``row`` that are not missing."""
    return {k: v for k, v in row.items() if not is_missing(v)}


def truthy(value: Any) -> bool:
    """A flag column as a bool: ``"1"``, ``"true"``, ``"t"``, ``"yes"`` (any case) are true."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "t", "yes"}
    return bool(value)
