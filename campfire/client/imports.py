"""Inspections from a spreadsheet: ``campfire inspect --import FILE.csv`` and
``cf.import_inspections``.

The file (``docs/inspecting.md`` has the format): UTF-8 text (a byte-order mark is fine), one
header row, then one row per object. Columns, by header name in any order: ``object_id``
(required: an object id or a target id), ``redshift``, ``quality`` (0-4 or a name) and
``comment``; an empty cell changes nothing, other columns are ignored. Commas, semicolons or
tabs separate cells (as the header row shows). Every row is checked before anything is saved;
a row that cannot be used is reported with its line number, and a file with such rows saves
nothing unless ``skip_bad_rows`` says to save the good ones. The rows that are saved go in one
transaction and are then sent like any write (conflicts are reported, not raised).

Examples
--------
>>> report = cf.import_inspections("inspections.csv", dry_run=True)  # doctest: +SKIP
>>> print(report)  # doctest: +SKIP
3 row(s) to apply, 1 error(s):
  line 4: quality 'supreme' is not 0-4 or a name (bad, uncertain, probable, secure)
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.client.inspections import check_redshift
from campfire.client.outbox import Write, accept, need_catalog, push_now
from campfire.errors import CampfireError, ValidationError
from campfire.flags import RedshiftQuality
from campfire.sync.outbox import describe

if TYPE_CHECKING:
    from campfire.client.core import Campfire

__all__ = ["COLUMNS", "IMPORT_INSPECTIONS", "ImportReport", "read_rows"]

#: the columns of an inspections CSV (``object_id`` required, the others optional)
COLUMNS = ("object_id", "redshift", "quality", "comment")


@dataclass
class ImportReport:
    """What an import found and did.

    Attributes
    ----------
    rows
        The usable rows: ``line, object_id, redshift, quality, comment`` (None: unchanged) and
        the catalog's ``current_redshift`` and ``current_quality``.
    errors
        ``(line, message)`` of every row that cannot be used.
    skipped
        Lines with an object id and nothing to change.
    applied
        Rows saved (0 for a dry run, or a file with errors and no ``skip_bad_rows``).
    pushed, queued, conflicts
        Writes the archive took now, writes waiting for the next sync, and conflicts (dicts
        with both values, as ``cf.sync()`` reports them).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    dry_run: bool = False
    applied: int = 0
    pushed: int = 0
    queued: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        verb = "to apply" if self.dry_run or not self.applied else "applied"
        lines = [f"{len(self.rows)} row(s) {verb}, {len(self.errors)} error(s)"]
        lines += [f"  line {n}: {msg}" for n, msg in self.errors]
        return "\n".join(lines)


def _cell(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def read_rows(path: Path) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The rows of an inspections CSV, parsed and checked: ``(rows, [(line, error)])``.

    Object ids are not looked up here (:func:`import_inspections` does that).

    Raises
    ------
    ValidationError
        The file cannot be read, or its header has no ``object_id`` column.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from exc
    header = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=header.count)
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter)
    names = [n.strip().lower() for n in reader.fieldnames or []]
    if "object_id" not in names:
        raise ValidationError(
            f"{path} has no object_id column (its header is {header!r}); the columns are "
            f"{', '.join(COLUMNS)} (see docs/inspecting.md)"
        )
    reader.fieldnames = names
    rows, errors = [], []
    for raw in reader:
        line = reader.line_num
        if None in raw:
            errors.append((line, f"more cells than the header has columns ({len(names)})"))
            continue
        oid = _cell(raw, "object_id")
        if not oid:
            if any(_cell(raw, c) for c in names):
                errors.append((line, "no object_id"))
            continue
        parsed: dict[str, Any] = {"line": line, "object_id": oid}
        try:
            z = _cell(raw, "redshift")
            parsed["redshift"] = check_redshift(z) if z else None
            q = _cell(raw, "quality")
            parsed["quality"] = int(RedshiftQuality.parse(q)) if q else None
        except ValidationError as exc:
            errors.append((line, exc.message))
            continue
        parsed["comment"] = _cell(raw, "comment") or None
        rows.append(parsed)
    return rows, errors


def import_inspections(
    self: Campfire,
    path: str | os.PathLike[str],
    dry_run: bool = False,
    skip_bad_rows: bool = False,
) -> ImportReport:
    """Apply the inspections of a CSV file (``object_id, redshift, quality, comment``).

    Every row is checked first; errors are reported with their line numbers, and a file with
    errors saves nothing unless ``skip_bad_rows=True``. ``dry_run`` only checks and reports.

    Examples
    --------
    >>> report = cf.import_inspections("inspections.csv")  # doctest: +SKIP
    >>> report.applied, report.errors  # doctest: +SKIP
    (12, [])
    """
    need_catalog(self)
    rows, errors = read_rows(Path(path))
    report = ImportReport(errors=errors, dry_run=dry_run)
    found = self.reader.resolve_objects([r["object_id"] for r in rows])
    seen: dict[str, int] = {}
    for row in rows:
        oid = found.get(row["object_id"])
        if oid is None:
            report.errors.append((row["line"], f"no object {row['object_id']!r} in the catalog"))
            continue
        if oid in seen:
            report.errors.append((row["line"], f"{oid} is already on line {seen[oid]}"))
            continue
        seen[oid] = row["line"]
        if row["redshift"] is None and row["quality"] is None and row["comment"] is None:
            report.skipped.append(row["line"])
            continue
        record = self.reader.object_record(oid)
        current = {} if record is None else record["row"]
        report.rows.append(
            {**row, "object_id": oid, "version": int(current.get("version") or 1),
             "current_redshift": current.get("redshift_inspected"),
             "current_quality": current.get("redshift_quality")}
        )  # fmt: skip
    report.errors.sort()
    if dry_run or (report.errors and not skip_bad_rows) or not report.rows:
        return report
    writes, lines = [], []
    for row in report.rows:
        pairs = (("redshift_inspected", row["redshift"]), ("redshift_quality", row["quality"]))
        body: dict[str, Any] = {k: v for k, v in pairs if v is not None}
        if body:
            body["expected_version"] = row["version"]
            writes.append(Write("inspect", row["object_id"], body))
            lines.append(row["line"])
        if row["comment"]:
            writes.append(Write("comment", row["object_id"], {"body": row["comment"]}))
            lines.append(row["line"])
    entries = accept(self, writes)
    report.applied = len(report.rows)
    line_of = {e.seq: n for e, n in zip(entries, lines, strict=True)}
    try:
        pushed = push_now(self)
    except CampfireError:
        pushed = None
    if pushed is not None:
        report.pushed = sum(
            1 for s, status in pushed.statuses.items() if s in line_of and 200 <= status < 300
        )
        report.conflicts = [describe(e) for e in pushed.conflicts if e.seq in line_of]
        report.errors += [
            (line_of[e.seq], f"the archive refused it: {e.error}")
            for e in pushed.rejected
            if e.seq in line_of
        ]
    report.queued = sum(1 for e in self.reader.outbox(["pending"]) if e.seq in line_of)
    return report


IMPORT_INSPECTIONS = import_inspections
