"""Catalog rows: object names, object aggregates and the precomputed ``/sync/*`` JSON.

After any ingest step, :func:`refresh_objects` recomputes each touched object's aggregates from
its targets and spectra (``n_targets``, ``programs``, ``max_snr``, ``redshift_auto`` …) and its
``/sync/objects`` JSON; :func:`refresh_spectra` does the same for spectra. A row's
``updated_at`` (and an object's ``version``) moves only when its JSON really changed, so
re-deploying unchanged products changes nothing.

Examples
--------
>>> object_name(150.1, 2.2)
'J100024.00+021200.0'
>>> object_name(34.5, -5.123456)
'J021800.00-050724.4'
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from campfire.server.storage.database import Database, marks

__all__ = [
    "SPECTRUM_FILE_FIELDS",
    "object_name",
    "photometry_json",
    "refresh_objects",
    "refresh_spectra",
]

_CHUNK = 500

_OBJECT_KEYS = (
    "id",
    "object_id",
    "field",
    "ra",
    "dec",
    "n_targets",
    "n_spectra",
    "programs",
    "gratings",
    "observations",
    "max_snr",
    "max_exposure_time",
    "redshift",
    "redshift_quality",
    "redshift_inspected",
    "redshift_auto",
    "inspected_used_auto",
    "last_inspected_at",
    "last_inspected_by",
    "last_inspected_by_name",
    "last_data_change_at",
    "staleness_reason",
    "version",
    "is_active",
    "has_photometry",
    "photo_z",
    "photo_z_err_lo",
    "photo_z_err_hi",
    "created_at",
    "updated_at",
)
_LIST_COLS = ("programs", "gratings", "observations")
_BOOL_COLS = ("inspected_used_auto", "is_active", "has_photometry")
#: The ``spectra`` columns measured from the spectrum file (its bytes and header).
SPECTRUM_FILE_FIELDS = (
    "file_hash",
    "file_size",
    "signal_to_noise",
    "exposure_time",
    "reduction_version",
    "redshift_auto",
    "dq_flags",
)
_SPECTRUM_KEYS = (
    "id",
    "spectrum_id",
    "target_id",
    "object_id",
    "grating",
    "fits_path",
    *SPECTRUM_FILE_FIELDS,
    "program_slug",
    "observation",
    "field",
    "created_at",
    "updated_at",
    "version",
)


def object_name(ra: float, dec: float) -> str:
    """The IAU-style name ``JHHMMSS.ss+DDMMSS.s`` (truncated, not rounded) of a position."""
    cs = math.floor((ra % 360.0) / 15.0 * 360000.0 + 1e-6)
    hh, mm, ss = cs // 360000, (cs // 6000) % 60, (cs % 6000) / 100.0
    sign = "-" if dec < 0 else "+"
    ds = math.floor(abs(dec) * 36000.0 + 1e-6)
    dd, dm, dsec = ds // 36000, (ds // 600) % 60, (ds % 600) / 10.0
    return f"J{hh:02d}{mm:02d}{ss:05.2f}{sign}{dd:02d}{dm:02d}{dsec:04.1f}"


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _object_doc(
    row: dict[str, Any], targets: list[str], spectra: list[dict[str, Any]], lists: list[str]
) -> dict[str, Any]:
    doc = {k: row[k] for k in _OBJECT_KEYS}
    for k in _LIST_COLS:
        doc[k] = json.loads(row[k]) if isinstance(row[k], str) else row[k]
    for k in _BOOL_COLS:
        doc[k] = bool(doc[k])
    doc["member_target_ids"] = targets
    doc["spectra"] = spectra
    doc["lists"] = lists
    return doc


def refresh_objects(
    conn: sqlite3.Connection,
    pks: Iterable[int],
    now: str,
    reason: dict[int, str] | None = None,
    *,
    bump_version: bool = True,
    touch: bool = False,
) -> int:
    """Recompute aggregates and sync JSON of objects; bump those that changed.

    Parameters
    ----------
    conn
        A connection inside a write transaction.
    pks
        Object primary keys to refresh.
    now
        The timestamp for changed rows.
    reason
        ``{pk: staleness_reason}`` for objects whose data changed under an inspection.
    bump_version
        Add one to ``version`` of the objects that changed (data changed under the inspectors);
        False for changes that are not the object's data (an inspection, which bumps the version
        itself, a DQ flag, a list membership).
    touch
        Move ``updated_at`` to ``now`` even where the shared JSON did not change (a change only
        some users see, such as a membership of a private list).

    Returns
    -------
    int
        How many objects changed.
    """
    reason = reason or {}
    todo = sorted(set(pks))
    changed = 0
    Database.bump_generation(conn)  # answers kept by any server process are now stale
    for chunk in _chunks(todo):
        q = marks(len(chunk))
        rows = {
            r["id"]: dict(r)
            for r in conn.execute(f"SELECT * FROM objects WHERE id IN ({q})", chunk)
        }
        targets: dict[int, list[sqlite3.Row]] = defaultdict(list)
        for t in conn.execute(
            f"SELECT * FROM targets WHERE object_pk IN ({q}) ORDER BY target_id", chunk
        ):
            targets[t["object_pk"]].append(t)
        spectra: dict[int, list[sqlite3.Row]] = defaultdict(list)
        for s in conn.execute(
            f"SELECT * FROM spectra WHERE object_pk IN ({q}) ORDER BY target_id, grating", chunk
        ):
            spectra[s["object_pk"]].append(s)
        lists: dict[int, list[str]] = defaultdict(list)
        for m in conn.execute(
            f"SELECT m.object_pk, l.slug FROM list_members m JOIN lists l ON l.id = m.list_id "
            f"WHERE m.object_pk IN ({q}) AND l.visibility != 'private' ORDER BY l.slug",
            chunk,
        ):
            lists[m[0]].append(m[1])
        phot: dict[int, sqlite3.Row] = {}
        for p in conn.execute(
            f"SELECT * FROM photometry WHERE object_pk IN ({q}) ORDER BY catalog_name DESC", chunk
        ):
            if p["photo_z"] is not None or p["object_pk"] not in phot:
                phot[p["object_pk"]] = p
        for pk in chunk:
            row = rows.get(pk)
            if row is None:
                continue
            if _refresh_one(
                conn, row, targets[pk], spectra[pk], lists[pk], phot.get(pk), now, reason.get(pk),
                (bump_version, touch),
            ):  # fmt: skip
                changed += 1
    return changed


def _refresh_one(
    conn: sqlite3.Connection,
    row: dict[str, Any],
    targets: list[sqlite3.Row],
    spectra: list[sqlite3.Row],
    lists: list[str],
    phot: sqlite3.Row | None,
    now: str,
    reason: str | None,
    how: tuple[bool, bool] = (True, False),
) -> bool:
    bump_version, touch = how
    new = dict(row)
    new["n_targets"] = len(targets)
    new["n_spectra"] = len(spectra)
    programs = sorted({t["program_slug"] for t in targets})
    new["programs"] = _dumps(programs)
    new["programs_key"] = ";".join(programs)
    new["gratings"] = _dumps(sorted({s["grating"] for s in spectra}))
    new["observations"] = _dumps(sorted({t["observation"] for t in targets}))
    snrs = [s["signal_to_noise"] for s in spectra if s["signal_to_noise"] is not None]
    exps = [s["exposure_time"] for s in spectra if s["exposure_time"] is not None]
    new["max_snr"] = max(snrs) if snrs else None
    new["max_exposure_time"] = max(exps) if exps else None
    with_z = [s for s in spectra if s["redshift_auto"] is not None]
    best = max(with_z, key=lambda s: (s["signal_to_noise"] or -math.inf, -s["id"]), default=None)
    new["redshift_auto"] = best["redshift_auto"] if best is not None else None
    q = new["redshift_quality"] or 0
    if q == 1:
        new["redshift"] = None
    elif new["redshift_inspected"] is not None:
        new["redshift"] = new["redshift_inspected"]
    else:
        new["redshift"] = new["redshift_auto"]
    new["inspected_used_auto"] = int(q > 1 and new["redshift_inspected"] is None)
    new["has_photometry"] = int(phot is not None)
    for k in ("photo_z", "photo_z_err_lo", "photo_z_err_hi"):
        new[k] = phot[k] if phot is not None else None
    new["is_active"] = int(bool(targets))
    if new["is_active"] and not row["is_active"]:
        reason = reason or "membership_changed"
    if reason is not None and row["sync_json"] is not None:
        new["last_data_change_at"] = now
        new["staleness_reason"] = reason
    spectra_docs = [
        {
            k: s[k]
            for k in (
                "id",
                "target_id",
                "grating",
                "signal_to_noise",
                "exposure_time",
                "redshift_auto",
                "dq_flags",
            )
        }
        for s in spectra
    ]
    target_ids = [t["target_id"] for t in targets]
    text = _dumps(_object_doc(new, target_ids, spectra_docs, lists))
    if text == row["sync_json"] and not touch:
        return False
    if row["sync_json"] is not None and bump_version:
        new["version"] = row["version"] + 1
    new["updated_at"] = now
    new["sync_json"] = _dumps(_object_doc(new, target_ids, spectra_docs, lists))
    if row["is_active"] and not new["is_active"] and row["sync_json"] is not None:
        conn.execute(
            "INSERT INTO tombstones (kind, key, programs, deleted_at) VALUES ('object', ?, ?, ?)",
            (row["object_id"], row["programs"], now),
        )
    cols = [k for k in new if k not in ("id", "object_id", "created_at")]
    conn.execute(
        f"UPDATE objects SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
        [new[c] for c in cols] + [row["id"]],
    )
    conn.execute(
        "INSERT INTO program_keys VALUES (?) ON CONFLICT DO NOTHING", (new["programs_key"],)
    )
    conn.execute("DELETE FROM object_programs WHERE object_pk = ?", (row["id"],))
    conn.executemany(
        "INSERT INTO object_programs (object_pk, program_slug) VALUES (?, ?)",
        [(row["id"], p) for p in programs],
    )
    return True


def refresh_spectra(
    conn: sqlite3.Connection, pks: Iterable[int], now: str, *, bump_version: bool = True
) -> int:
    """Recompute the ``/sync/spectra`` JSON of spectra; bump ``updated_at`` where it changed.

    ``version`` counts changes of ``dq_flags``: with ``bump_version`` (a deploy), a spectrum whose
    flags differ from its last rendered row gets ``version + 1``; a DQ write through the API
    bumps it itself and passes False.

    Returns
    -------
    int
        How many spectra changed.
    """
    changed = 0
    Database.bump_generation(conn)
    for chunk in _chunks(sorted(set(pks))):
        rows = conn.execute(
            "SELECT s.*, o.object_id AS object_name FROM spectra s "
            f"LEFT JOIN objects o ON o.id = s.object_pk WHERE s.id IN ({marks(len(chunk))})",
            chunk,
        ).fetchall()
        for r in rows:
            doc = {k: r[k] for k in _SPECTRUM_KEYS if k != "object_id"}
            doc["object_id"] = r["object_name"]
            doc = {k: doc[k] for k in _SPECTRUM_KEYS}
            text = _dumps(doc)
            if text == r["sync_json"]:
                continue
            if r["sync_json"] is not None:
                doc["updated_at"] = now
                if bump_version and json.loads(r["sync_json"])["dq_flags"] != r["dq_flags"]:
                    doc["version"] = r["version"] + 1
                text = _dumps(doc)
            conn.execute(
                "UPDATE spectra SET sync_json = ?, updated_at = ?, version = ? WHERE id = ?",
                (text, doc["updated_at"], doc["version"], r["id"]),
            )
            changed += 1
    return changed


def photometry_json(row: dict[str, Any], object_id: str) -> str:
    """The ``/sync/photometry`` JSON of one photometry row."""
    doc = {
        "id": row["id"],
        "object_id": object_id,
        "field": row["field"],
        "catalog_name": row["catalog_name"],
        "catalog_id": row["catalog_id"],
        "match_distance_arcsec": row["match_distance_arcsec"],
        "photometry": json.loads(row["photometry"]),
        "photo_z": row["photo_z"],
        "photo_z_err_lo": row["photo_z_err_lo"],
        "photo_z_err_hi": row["photo_z_err_hi"],
        "has_pz": bool(row["has_pz"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    return _dumps(doc)
