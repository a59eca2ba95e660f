"""Ingest of one observation folder into the archive, in one transaction.

Targets join sky objects within 0.25″ (:class:`ObjectIndex`), spectra are stored with their
JSON renderings, files that disappeared are deleted (tombstoned), shutters replaced,
inspections applied, and the touched objects' aggregates refreshed.

Examples
--------
>>> objects = ObjectIndex(archive.db.conn())  # doctest: +SKIP
>>> ingest_observation(archive, objects, obs, spectra, report, deployed_by=None)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from campfire.server.catalog.rows import SPECTRUM_FILE_FIELDS, refresh_objects, refresh_spectra
from campfire.server.catalog.skyindex import SkyIndex
from campfire.server.ingest.products import PROVENANCE_KEYS
from campfire.server.storage.database import utc_now

if TYPE_CHECKING:
    from campfire.server.archive import Archive
    from campfire.server.ingest.deploy import IngestReport
    from campfire.server.ingest.products import ObservationProducts
    from campfire.server.ingest.spectrumfile import SpecFile, ZfitFile

__all__ = ["JOIN_RADIUS_ARCSEC", "ObjectIndex", "ingest_observation"]

JOIN_RADIUS_ARCSEC = 0.25
_SPEC_FIELDS = (
    "grating",
    "filter",
    *SPECTRUM_FILE_FIELDS,
    "has_zfit",
    "zfit_hash",
)


def _spec_key(observation: str, name: str) -> str:
    return f"spectra/{observation}/{name}"


def _json_key(fits_path: str) -> str:
    return fits_path.replace(".fits", ".json", 1)


def _zfit_key(fits_path: str) -> str:
    return fits_path.replace("_spec.fits", "_zfit.json")


class ObjectIndex:
    """Sky objects of the archive, indexed per field, for joining targets."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._fields: dict[str, SkyIndex] = {}

    def use(self, conn: Any) -> None:
        """Work through ``conn`` (the current transaction's connection)."""
        self._conn = conn

    def index(self, fld: str) -> SkyIndex:
        """The positional index of one field's objects (built on first use)."""
        if fld not in self._fields:
            idx = SkyIndex()
            for pk, ra, dec in self._conn.execute(
                "SELECT id, ra, dec FROM objects WHERE field = ?", (fld,)
            ):
                idx.add(ra, dec, pk)
            self._fields[fld] = idx
        return self._fields[fld]

    def join_or_create(
        self, conn: Any, fld: str, ra: float, dec: float, now: str
    ) -> tuple[int, bool]:
        """``(object pk, created)``: the object within 0.25″ in the field, or a new one."""
        from campfire.server.catalog.rows import object_name

        hit = self.index(fld).nearest(ra, dec, JOIN_RADIUS_ARCSEC)
        if hit is not None:
            return int(hit[0]), False
        name = base = object_name(ra, dec)
        n = 1
        while conn.execute("SELECT 1 FROM objects WHERE object_id = ?", (name,)).fetchone():
            n += 1
            name = f"{base}_{n}"
        cur = conn.execute(
            "INSERT INTO objects (object_id, field, ra, dec, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, fld, ra, dec, now, now),
        )
        pk = int(cur.lastrowid)
        self._fields[fld].add(ra, dec, pk)
        return pk, True


def _tombstone(conn: Any, kind: str, key: str, programs: list[str], now: str) -> None:
    conn.execute(
        "INSERT INTO tombstones (kind, key, programs, deleted_at) VALUES (?, ?, ?, ?)",
        (kind, key, json.dumps(programs), now),
    )


def _delete_spectrum(archive: Archive, conn: Any, row: Any, now: str) -> None:
    conn.execute("DELETE FROM spectra WHERE id = ?", (row["id"],))
    _tombstone(conn, "spectrum", row["spectrum_id"], [row["program_slug"]], now)
    for key in (row["fits_path"], _json_key(row["fits_path"]), _zfit_key(row["fits_path"])):
        archive.store.delete(key)


def ingest_observation(
    archive: Archive,
    objects: ObjectIndex,
    obs: ObservationProducts,
    good: list[tuple[SpecFile, ZfitFile | None]],
    report: IngestReport,
    deployed_by: str | None,
) -> None:
    """Write one validated observation folder (and its good spectra) in one transaction."""
    now = utc_now()
    name = obs.observation
    with archive.db.transaction() as conn:
        objects.use(conn)
        conn.execute(
            "INSERT INTO observations (observation, program_slug, field, pointings, "
            "reduction_version, crds_context, cfpipe_version, jwst_version, reduced_at, "
            "deployed_at, deployed_by) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(observation) DO UPDATE SET program_slug=excluded.program_slug, "
            "field=excluded.field, pointings=excluded.pointings, "
            "reduction_version=excluded.reduction_version, crds_context=excluded.crds_context, "
            "cfpipe_version=excluded.cfpipe_version, jwst_version=excluded.jwst_version, "
            "reduced_at=excluded.reduced_at, deployed_at=excluded.deployed_at, "
            "deployed_by=excluded.deployed_by, n_patches_since_full=0, last_patch_at=NULL",
            (
                name,
                obs.program_slug,
                obs.field,
                json.dumps(obs.pointings),
                *(obs.provenance[k] for k in PROVENANCE_KEYS),
                now,
                deployed_by,
            ),
        )
        touched: set[int] = set()
        reasons: dict[int, str] = {}
        existing = {
            r["source_id"]: r
            for r in conn.execute("SELECT * FROM targets WHERE observation = ?", (name,))
        }
        target_pk: dict[int, tuple[int, int]] = {}
        for sid, (ra, dec) in obs.targets.items():
            t = existing.get(sid)
            if t is not None and abs(t["ra"] - ra) < 1e-9 and abs(t["dec"] - dec) < 1e-9:
                target_pk[sid] = (t["id"], t["object_pk"])
                continue
            obj, created = objects.join_or_create(conn, obs.field, ra, dec, now)
            report.objects_created += int(created)
            if t is None:
                cur = conn.execute(
                    "INSERT INTO targets (target_id, observation, program_slug, field, source_id,"
                    " ra, dec, object_pk, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        f"{name}_{sid}",
                        name,
                        obs.program_slug,
                        obs.field,
                        sid,
                        ra,
                        dec,
                        obj,
                        now,
                        now,
                    ),
                )
                assert cur.lastrowid is not None  # an INSERT sets it
                target_pk[sid] = (int(cur.lastrowid), obj)
                if not created:
                    reasons[obj] = "new_target"
            else:
                conn.execute(
                    "UPDATE targets SET ra=?, dec=?, object_pk=?, updated_at=? WHERE id=?",
                    (ra, dec, obj, now, t["id"]),
                )
                conn.execute("UPDATE spectra SET object_pk=? WHERE target_pk=?", (obj, t["id"]))
                target_pk[sid] = (t["id"], obj)
                touched.add(t["object_pk"])
                reasons[t["object_pk"]] = reasons[obj] = "membership_changed"
            touched.add(obj)
        old_spectra = {
            r["spectrum_id"]: r
            for r in conn.execute("SELECT * FROM spectra WHERE observation = ?", (name,))
        }
        for sid, t in existing.items():
            if sid in obs.targets:
                continue
            for s in [r for r in old_spectra.values() if r["target_pk"] == t["id"]]:
                _delete_spectrum(archive, conn, s, now)
                del old_spectra[s["spectrum_id"]]
                report.deleted += 1
            conn.execute("DELETE FROM targets WHERE id = ?", (t["id"],))
            touched.add(t["object_pk"])
            reasons[t["object_pk"]] = "membership_changed"
        present = {p.name[: -len("_spec.fits")] for p in obs.spec_files}
        for sid, s in list(old_spectra.items()):
            if sid not in present:
                _delete_spectrum(archive, conn, s, now)
                del old_spectra[sid]
                touched.add(s["object_pk"])
                report.deleted += 1
        spec_pks: list[int] = []
        for spec, zfit in good:
            tpk, obj = target_pk[spec.source_id]
            fits_path = _spec_key(name, spec.path.name)
            values = {
                "grating": spec.grating,
                "filter": spec.filter,
                "file_hash": spec.file_hash,
                "file_size": spec.file_size,
                "signal_to_noise": spec.signal_to_noise,
                "exposure_time": spec.exposure_time,
                "reduction_version": spec.reduction_version,
                "redshift_auto": zfit.redshift if zfit else None,
                "dq_flags": spec.dq_flags,
                "has_zfit": int(zfit is not None),
                "zfit_hash": zfit.file_hash if zfit else None,
            }
            old = old_spectra.get(spec.spectrum_id)
            if old is not None and all(old[k] == values[k] for k in _SPEC_FIELDS):
                report.unchanged += 1
                spec_pks.append(old["id"])
                if not archive.store.exists(fits_path):
                    archive.store.put_file(fits_path, spec.path, spec.file_hash)
                continue
            archive.store.put_file(fits_path, spec.path, spec.file_hash)
            archive.store.put_bytes(
                _json_key(fits_path), spec.spectrum_json, spec.file_hash + ".spectrum.json"
            )
            if zfit is not None:
                archive.store.put_bytes(
                    _zfit_key(fits_path), zfit.zfit_json, zfit.file_hash + ".zfit.json"
                )
            else:
                archive.store.delete(_zfit_key(fits_path))
            if old is None:
                cur = conn.execute(
                    f"INSERT INTO spectra (spectrum_id, target_pk, target_id, object_pk, "
                    f"fits_path, program_slug, observation, field, created_at, updated_at, "
                    f"{', '.join(_SPEC_FIELDS)}) "
                    f"VALUES ({','.join('?' * (10 + len(_SPEC_FIELDS)))})",
                    (
                        spec.spectrum_id,
                        tpk,
                        f"{name}_{spec.source_id}",
                        obj,
                        fits_path,
                        obs.program_slug,
                        name,
                        obs.field,
                        now,
                        now,
                        *(values[k] for k in _SPEC_FIELDS),
                    ),
                )
                assert cur.lastrowid is not None  # an INSERT sets it
                spec_pks.append(int(cur.lastrowid))
                reasons.setdefault(obj, "new_target")
            else:
                conn.execute(
                    f"UPDATE spectra SET {', '.join(f'{k} = ?' for k in _SPEC_FIELDS)}, "
                    "updated_at = ? WHERE id = ?",
                    (*(values[k] for k in _SPEC_FIELDS), now, old["id"]),
                )
                spec_pks.append(old["id"])
                reasons[obj] = "reprocessed"
            report.ingested += 1
            touched.add(obj)
        conn.execute("DELETE FROM shutters WHERE observation = ?", (name,))
        conn.executemany(
            "INSERT INTO shutters (observation, field, source_id, slitlet_id, shutter_idx, "
            "dither_id, center_ra, center_dec, position_angle, shutter_state) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    name,
                    obs.field,
                    s["source_id"] or 0,
                    s["slitlet_id"],
                    s["shutter_idx"],
                    s["dither_id"],
                    s["center_ra"],
                    s["center_dec"],
                    s["position_angle"],
                    s["shutter_state"] or "open",
                )
                for s in obs.shutters
                if s["center_ra"] is not None and s["center_dec"] is not None
            ],
        )
        _apply_inspections(conn, obs, target_pk, touched, now)
        refresh_spectra(conn, spec_pks, now)
        changed = refresh_objects(conn, touched, now, reasons)
        report.objects_changed += changed
        conn.execute(
            "INSERT INTO deployments (program_slug, observation, kind, deployed_at, deployed_by) "
            "VALUES (?, ?, 'full', ?, ?)",
            (obs.program_slug, name, now, deployed_by),
        )


def _inspector(conn: Any, who: str | None) -> tuple[str | None, str | None]:
    """``(user uuid, display name)`` of an inspector named in a products file: a user's uuid
    when a user has that email (or id), else no uuid and the name as written.
    """
    if not who:
        return None, None
    row = conn.execute(
        "SELECT id, coalesce(full_name, email) FROM users WHERE id = ? OR lower(email) = lower(?)",
        (who, who),
    ).fetchone()
    return (row[0], row[1]) if row is not None else (None, who)


def _apply_inspections(
    conn: Any,
    obs: ObservationProducts,
    target_pk: dict[int, tuple[int, int]],
    touched: set[int],
    now: str,
) -> None:
    inspectors: dict[str | None, tuple[str | None, str | None]] = {}
    for sid, ins in obs.inspections.items():
        if sid not in target_pk:
            continue
        obj = target_pk[sid][1]
        z = ins.get("redshift_inspected")
        who = ins.get("inspected_by")
        if who not in inspectors:
            inspectors[who] = _inspector(conn, who)
        by, name = inspectors[who]
        at = ins.get("inspected_at")
        # a products file never overwrites a later inspection (one written through the API)
        conn.execute(
            "UPDATE objects SET redshift_inspected = ?, redshift_quality = ?, "
            "last_inspected_by = ?, last_inspected_by_name = ?, last_inspected_at = ?, "
            "staleness_reason = CASE WHEN ? IS NOT NULL THEN NULL ELSE staleness_reason END "
            "WHERE id = ? AND (redshift_inspected IS NOT ? OR redshift_quality IS NOT ? "
            "OR last_inspected_by IS NOT ? OR last_inspected_by_name IS NOT ? "
            "OR last_inspected_at IS NOT ?) "
            "AND (last_inspected_at IS NULL OR last_inspected_at <= ?)",
            (z, ins["redshift_quality"], by, name, at, at, obj,
             z, ins["redshift_quality"], by, name, at, at),
        )  # fmt: skip
        tags = [t.strip().lower() for t in str(ins.get("tags") or "").split(";") if t.strip()]
        for slug in tags:
            row = conn.execute("SELECT id FROM lists WHERE slug = ?", (slug,)).fetchone()
            if row is None:
                row = conn.execute(
                    "INSERT INTO lists (slug, name, visibility, is_system, created_at, updated_at)"
                    " VALUES (?, ?, 'public_read', 0, ?, ?) RETURNING id",
                    (slug, slug, now, now),
                ).fetchone()
            conn.execute(
                "INSERT INTO list_members (list_id, object_pk) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                (row[0], obj),
            )
        touched.add(obj)
