"""What a ``/sync/*`` page must look like before any of it reaches the catalog.

A page is ``{"data": [row, ...], "pagination": {"total": int, ...}}`` (plus, on the first page,
``total_accessible_count`` and ``deleted``). :func:`parse_page` checks the shapes the catalog and
the downloads rely on and turns the body into a :class:`~campfire.archive.contract.SyncPage`;
anything else (a list for a body, ``"data": "x"``, a row without its key or ``grating``, a
``total`` of ``"abc"``, a ``file_hash`` that is not ``sha256:<64 hex>``, an observation or file
name that would leave the products folder) raises one :class:`~campfire.errors.APIError` line
that says which feed, which row and what the archive sent. The sync then stops and its
transaction rolls back, so the catalog keeps its previous state.

Examples
--------
>>> page = parse_page("objects", {"data": [{"object_id": "J1"}], "pagination": {"total": 1}}, 0)
>>> page.rows, page.total
([{'object_id': 'J1'}], 1)
>>> parse_page("spectra", [], 0)
Traceback (most recent call last):
...
campfire.errors.APIError: The archive sent a malformed /sync/spectra page (offset 0): the body \
is a list, not an object with "data" and "pagination". Try again later; if it persists, tell \
the archive's operators.
"""

from __future__ import annotations

import re
from typing import Any

from campfire.archive.contract import SyncPage
from campfire.errors import APIError

__all__ = ["parse_page"]

#: each feed's key column and the other columns a row must carry, with their types
_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "objects": ("object_id", str),
    "spectra": ("spectrum_id", str),
    "photometry": ("id", int),
    "comments": ("id", int),
}
_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_NAME = re.compile(r"[^/\\\x00]+")  # one path component


def _fail(feed: str, offset: int, what: str) -> APIError:
    return APIError(
        f"The archive sent a malformed /sync/{feed} page (offset {offset}): {what}. "
        "Try again later; if it persists, tell the archive's operators."
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _count(feed: str, offset: int, name: str, value: Any, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(feed, offset, f"{name} is {_shown(value)}, not a count")
    return value


def _plain_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_NAME.fullmatch(value)) and value not in (".", "..")


def _check_spectrum(feed: str, offset: int, i: int, row: dict[str, Any]) -> None:
    sid = row["spectrum_id"]
    grating = row.get("grating")
    if not isinstance(grating, str) or not grating:
        raise _fail(feed, offset, f"row {i} ({sid!r}) has grating {_shown(grating)}")
    digest = row.get("file_hash")
    if digest is not None and not (isinstance(digest, str) and _HASH.fullmatch(digest)):
        raise _fail(
            feed, offset, f"row {i} ({sid!r}) has file_hash {_shown(digest)}, not sha256:<64 hex>"
        )
    obs = row.get("observation")
    if obs is not None and not _plain_name(obs):
        raise _fail(feed, offset, f"row {i} ({sid!r}) has observation {_shown(obs)}")
    fits_path = row.get("fits_path")
    if fits_path is not None and not (
        isinstance(fits_path, str) and _plain_name(fits_path.rsplit("/", 1)[-1])
    ):
        raise _fail(feed, offset, f"row {i} ({sid!r}) has fits_path {_shown(fits_path)}")


def _check_rows(feed: str, offset: int, rows: list[Any]) -> None:
    key, kind = _KEYS.get(feed, ("", object))
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _fail(feed, offset, f"row {i} is {_shown(row)}, not an object")
        if key:
            value = row.get(key)
            if not isinstance(value, kind) or isinstance(value, bool) or value == "":
                raise _fail(feed, offset, f"row {i} has {key} {_shown(value)}")
        if feed == "spectra":
            _check_spectrum(feed, offset, i, row)


def parse_page(feed: str, body: Any, offset: int, total: int | None = None) -> SyncPage:
    """Check one decoded ``/sync/<feed>`` body and return it as a :class:`SyncPage`.

    Parameters
    ----------
    feed
        ``objects``, ``spectra``, ``photometry`` (or ``comments``).
    body
        The decoded JSON of the answer.
    offset
        The offset the page was asked for.
    total
        The total to report when this page's own does not count (pages after the first of
        ``objects`` and ``spectra``, which send no counts); None to take the page's.

    Raises
    ------
    APIError
        Naming the feed, the offset, the row and what was wrong with it.
    """
    if not isinstance(body, dict):
        raise _fail(
            feed,
            offset,
            f'the body is a {type(body).__name__}, not an object with "data" and "pagination"',
        )
    rows = body.get("data")
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise _fail(feed, offset, f"data is {_shown(rows)}, not a list of rows")
    pagination = body.get("pagination")
    if pagination is None:
        pagination = {}
    if not isinstance(pagination, dict):
        raise _fail(feed, offset, f"pagination is {_shown(pagination)}, not an object")
    own_total = _count(feed, offset, "pagination.total", pagination.get("total"), optional=False)
    own_total = own_total or 0
    accessible = None
    deleted: list[Any] = []
    if offset == 0:
        accessible = _count(
            feed,
            offset,
            "total_accessible_count",
            body.get("total_accessible_count"),
            optional=True,
        )
        raw_deleted = body.get("deleted")
        if raw_deleted is not None and not isinstance(raw_deleted, list):
            raise _fail(feed, offset, f"deleted is {_shown(raw_deleted)}, not a list of keys")
        deleted = list(raw_deleted or [])
    _check_rows(feed, offset, rows)
    return SyncPage(rows, offset, own_total if total is None else total, accessible, deleted)
