"""Ingest of a program's optional extras: photometry catalogs and cutout tiles.

Each object is matched to the nearest catalog source in its field within 0.3″; the match becomes
its ``object_photometry`` record. Cutout tiles are copied into the store under ``maps/``.

Examples
--------
>>> ingest_photometry(Archive("archive/"), Path("products/EMBER-UDS"), report)  # doctest: +SKIP
412
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.server.catalog.bands import band_wavelengths
from campfire.server.catalog.rows import photometry_json, refresh_objects
from campfire.server.catalog.skyindex import SkyIndex
from campfire.server.ingest.products import PhotometryCatalog, read_cutouts, read_photometry
from campfire.server.storage.database import utc_now

if TYPE_CHECKING:
    from campfire.server.archive import Archive
    from campfire.server.ingest.deploy import IngestReport

__all__ = ["MATCH_RADIUS_ARCSEC", "ingest_cutouts", "ingest_photometry", "photometry_record"]

MATCH_RADIUS_ARCSEC = 0.3


def photometry_record(row: dict[str, Any], bands: list[str]) -> dict[str, Any]:
    """The ``photometry`` JSON of one catalog row (bands with a finite flux only).

    Examples
    --------
    >>> rec = photometry_record({"f_f444w": 2.0, "e_f444w": 0.1}, ["f444w"])
    >>> rec["bands"]["f444w"]["flux"], round(rec["bands"]["f444w"]["wav"], 2)
    (2.0, 4.4)
    """
    out: dict[str, Any] = {}
    for band in bands:
        flux, err = row.get(f"f_{band}"), row.get(f"e_{band}")
        if flux is None:
            continue
        entry: dict[str, Any] = {
            "flux": float(flux),
            "flux_err": None if err is None else float(err),
        }
        wav = band_wavelengths(band)
        if wav is not None:
            entry.update(wav)
        out[band] = entry
    return {"flux_unit": "uJy", "bands": out}


def _as_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _match_catalog(conn: Any, cat: PhotometryCatalog, now: str, touched: set[int]) -> int:
    by_field: dict[str, SkyIndex] = {}
    for i, row in enumerate(cat.rows):
        if row.get("ra") is None or row.get("dec") is None:
            continue
        fld = str(row.get("field") or "").lower()
        by_field.setdefault(fld, SkyIndex()).add(float(row["ra"]), float(row["dec"]), i)
    existing = {
        r["object_pk"]: r
        for r in conn.execute("SELECT * FROM photometry WHERE catalog_name = ?", (cat.name,))
    }
    changed = 0
    matched: set[int] = set()
    for fld, index in by_field.items():
        for pk, name, ra, dec in conn.execute(
            "SELECT id, object_id, ra, dec FROM objects WHERE field = ?", (fld,)
        ):
            hit = index.nearest(ra, dec, MATCH_RADIUS_ARCSEC)
            if hit is None:
                continue
            src = cat.rows[hit[0]]
            matched.add(pk)
            values = {
                "catalog_id": None if src.get("catalog_id") is None else str(src["catalog_id"]),
                "field": fld,
                "match_distance_arcsec": round(hit[1], 4),
                "photometry": json.dumps(photometry_record(src, cat.bands), sort_keys=True),
                "photo_z": _as_float(src.get("photo_z")),
                "photo_z_err_lo": _as_float(src.get("photo_z_err_lo")),
                "photo_z_err_hi": _as_float(src.get("photo_z_err_hi")),
            }
            values["has_pz"] = int(values["photo_z"] is not None)
            old = existing.get(pk)
            if old is not None and all(old[k] == v for k, v in values.items()):
                continue
            cols = list(values)
            if old is None:
                rid = conn.execute(
                    f"INSERT INTO photometry (object_pk, catalog_name, created_at, updated_at, "
                    f"{', '.join(cols)}) VALUES (?, ?, ?, ?, {', '.join('?' * len(cols))}) "
                    "RETURNING id",
                    (pk, cat.name, now, now, *values.values()),
                ).fetchone()[0]
            else:
                rid = old["id"]
                conn.execute(
                    f"UPDATE photometry SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? "
                    "WHERE id = ?",
                    (*values.values(), now, rid),
                )
            row = {**values, "id": rid, "catalog_name": cat.name, "updated_at": now,
                   "created_at": now if old is None else old["created_at"]}  # fmt: skip
            conn.execute(
                "UPDATE photometry SET sync_json = ? WHERE id = ?",
                (photometry_json(row, name), rid),
            )
            touched.add(pk)
            changed += 1
    for pk, old in existing.items():
        if pk not in matched and old["field"] in by_field:
            conn.execute("DELETE FROM photometry WHERE id = ?", (old["id"],))
            progs = [
                r[0]
                for r in conn.execute(
                    "SELECT program_slug FROM object_programs WHERE object_pk = ?", (pk,)
                )
            ]
            conn.execute(
                "INSERT INTO tombstones (kind, key, programs, deleted_at) VALUES (?, ?, ?, ?)",
                ("photometry", str(old["id"]), json.dumps(progs), now),
            )
            touched.add(pk)
            changed += 1
    return changed


def ingest_photometry(archive: Archive, products: Path, report: IngestReport) -> int:
    """Match every ``photometry/*.ecsv`` catalog to the archive's objects.

    Returns
    -------
    int
        How many photometry records were created, changed or removed.
    """
    catalogs, errors = read_photometry(products)
    for err in errors:
        report.skip(err)
    total = 0
    for cat in catalogs:
        now = utc_now()
        touched: set[int] = set()
        with archive.db.transaction() as conn:
            total += _match_catalog(conn, cat, now, touched)
            report.objects_changed += refresh_objects(conn, touched, now)
    return total


def ingest_cutouts(archive: Archive, products: Path, report: IngestReport) -> int:
    """Copy every ``cutouts/<name>.png`` tile into the store and record its WCS.

    Returns
    -------
    int
        How many tiles were new or changed.
    """
    tiles, errors = read_cutouts(products)
    for err in errors:
        report.skip(err)
    changed = 0
    for tile in tiles:
        digest = "sha256:" + hashlib.sha256(tile.png.read_bytes()).hexdigest()
        key = f"maps/{tile.name}.png"
        with archive.db.transaction() as conn:
            old = conn.execute("SELECT * FROM map_layers WHERE name = ?", (tile.name,)).fetchone()
            wcs = json.dumps(tile.wcs, sort_keys=True)
            if (
                old is not None
                and old["file_hash"] == digest
                and old["wcs"] == wcs
                and old["field"] == tile.field
                and archive.store.exists(key)
            ):
                continue
            archive.store.put_file(key, tile.png)
            conn.execute(
                "INSERT INTO map_layers (name, field, filter, is_default, path, naxis1, naxis2, "
                "wcs, file_hash) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET "
                "field=excluded.field, filter=excluded.filter, is_default=excluded.is_default, "
                "path=excluded.path, naxis1=excluded.naxis1, naxis2=excluded.naxis2, "
                "wcs=excluded.wcs, file_hash=excluded.file_hash",
                (
                    tile.name,
                    tile.field,
                    tile.filter,
                    int(tile.filter == "rgb"),
                    key,
                    tile.naxis1,
                    tile.naxis2,
                    wcs,
                    digest,
                ),
            )
            changed += 1
    return changed
