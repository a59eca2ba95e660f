"""Catalog routes: ``/version``, ``/metadata``, ``/observations``, ``/objects``, ``/spectra/list``.

Every list is filtered to the caller's accessible programs (contract 0.3); ``/metadata``'s
vocabularies too (stricter than upstream, which leaks private names).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire._version import __version__
from campfire.server.catalog.filters import object_filter, spectrum_filter
from campfire.server.catalog.visibility import sees_all, visible_aggregates, with_visible_redshift
from campfire.server.http.replies import Params, json_response, require_principal
from campfire.server.storage.database import marks

__all__ = ["EXTENSIONS", "MAX_LIMIT", "ROUTES", "page_args"]

MAX_LIMIT = 10000
EXTENSIONS = [
    "sync-deletions",
    "sync-gzip",
    "sync-large-pages",
    "rate-limit",
    "redshift-fit-spectrum-id",
    "deploy-ingest",
    "inspections",
    "inspections-batch",
    "comments-touch-objects",
]
#: the upstream client versions whose wire this server speaks (api-v1 was written from 0.4.0)
UPSTREAM_CLIENT_LATEST = UPSTREAM_CLIENT_MINIMUM = "0.4.0"
#: the oldest campfire client this server serves (every extension is optional to clients)
CAMPFIRE_CLIENT_MINIMUM = "0.1.0"
_EMPTY_PAGE = {"data": [], "pagination": {"total": 0, "limit": 0, "offset": 0}}


def page_args(p: Params) -> tuple[int, int]:
    """``(limit, offset)``: limit defaults to 1000 and is clamped to :data:`MAX_LIMIT`."""
    return min(p.int("limit", 1000), MAX_LIMIT), p.int("offset", 0)


def version(request: Request) -> Response:
    """``GET /version``: client version policy plus our extensions (no auth)."""
    body = {
        # the contract's meaning: versions of the upstream Python client this server supports
        "latest": UPSTREAM_CLIENT_LATEST,
        "minimum": UPSTREAM_CLIENT_MINIMUM,
        # ours (an extension): versions of the campfire client this server supports
        "campfire_client": {"latest": __version__, "minimum": CAMPFIRE_CLIENT_MINIMUM},
        "server": "campfire",
        "server_version": __version__,
        "extensions": EXTENSIONS,
        "max_sync_limit": MAX_LIMIT,
        "rate_limit_per_minute": request.app.state.rate_limit,
    }
    return json_response(
        body, headers={"Cache-Control": "public, max-age=3600, stale-while-revalidate=600"}
    )


def metadata(request: Request) -> Response:
    """``GET /metadata``: accessible programs and the fields/gratings/observations in them."""
    principal = require_principal(request, "Invalid or missing authentication")
    headers = {"Cache-Control": "private, max-age=300, stale-while-revalidate=60"}
    progs = sorted(principal.programs)
    if not progs:
        return json_response(
            {"programs": [], "fields": [], "gratings": [], "observations": []}, headers=headers
        )
    conn = request.app.state.archive.db.conn()
    m = marks(len(progs))
    programs = [
        {"id": r[4], "slug": r[0], "program_name": r[1], "pi_name": r[2], "is_public": bool(r[3])}
        for r in conn.execute(  # id: the program's integer row id (a compatible superset)
            "SELECT slug, program_name, pi_name, is_public, rowid FROM programs "
            f"WHERE slug IN ({m}) "
            "ORDER BY slug",
            progs,
        )
    ]

    generation = request.app.state.archive.db.generation()

    def distinct(sql: str) -> list[str]:  # a scan each: kept until the catalog changes
        def values() -> list[str]:
            return sorted({r[0] for r in conn.execute(sql, progs) if r[0] is not None})

        found: list[str] = request.app.state.kept.get(generation, ("metadata", sql, *progs), values)
        return found

    return json_response(
        {
            "programs": programs,
            "fields": distinct(f"SELECT DISTINCT field FROM targets WHERE program_slug IN ({m})"),
            "gratings": distinct(
                f"SELECT DISTINCT grating FROM spectra WHERE program_slug IN ({m})"
            ),
            "observations": distinct(
                f"SELECT DISTINCT observation FROM targets WHERE program_slug IN ({m})"
            ),
        },
        headers=headers,
    )


def observations(request: Request) -> Response:
    """``GET /observations``: one row per (observation, program, field) with statistics."""
    principal = require_principal(request, "Invalid or missing authentication")
    progs = sorted(principal.programs)
    if not progs:
        return json_response({"observations": []})
    conn = request.app.state.archive.db.conn()
    rows = conn.execute(
        "SELECT t.observation, t.program_slug, p.program_name, t.field, "
        "count(DISTINCT t.id) AS target_count, "
        "(SELECT count(*) FROM spectra s WHERE s.observation = t.observation) AS spectrum_count, "
        "(SELECT coalesce(sum(file_size), 0) FROM spectra s WHERE s.observation = t.observation) "
        "AS total_size_bytes, ob.pointings, ob.reduction_version, ob.crds_context, "
        "ob.cfpipe_version, ob.jwst_version, ob.reduced_at, ob.deployed_at, u.email, u.full_name, "
        "ob.n_patches_since_full, ob.last_patch_at "
        "FROM targets t JOIN programs p ON p.slug = t.program_slug "
        "LEFT JOIN observations ob ON ob.observation = t.observation "
        "LEFT JOIN users u ON u.id = ob.deployed_by "
        f"WHERE t.program_slug IN ({marks(len(progs))}) "
        # grouped by the joined keys too: each row's columns depend on them (PostgreSQL asks)
        "GROUP BY t.observation, t.program_slug, t.field, p.slug, ob.observation, u.id "
        "ORDER BY t.observation",
        progs,
    ).fetchall()
    out = []
    for r in rows:
        out.append(
            {
                "observation": r[0],
                "program_slug": r[1],
                "program_name": r[2],
                "field": r[3],
                "target_count": r[4],
                "spectrum_count": r[5],
                "total_size_bytes": r[6],
                "pointings": json.loads(r[7]) if r[7] else None,
                "reduction_version": r[8],
                "crds_context": r[9],
                "cfpipe_version": r[10],
                "jwst_version": r[11],
                "reduced_at": r[12],
                "deployed_at": r[13],
                "deployed_by_username": r[14].split("@")[0] if r[14] else None,
                "deployed_by_full_name": r[15],
                "n_patches_since_full": r[16] or 0,
                "last_patch_at": r[17],
            }
        )
    return json_response({"observations": out})


def _page(total: int, limit: int, offset: int, data: list[Any]) -> dict[str, Any]:
    return {"data": data, "pagination": {"total": total, "limit": limit, "offset": offset}}


#: the columns ``/objects`` answers from (not ``sync_json``, the feed's large pre-rendered row)
_OBJECT_COLUMNS = (
    "o.id, o.object_id, o.field, o.ra, o.dec, o.n_targets, o.n_spectra, o.programs, "
    "o.programs_key, o.gratings, o.max_snr, o.max_exposure_time, o.redshift, "
    "o.redshift_quality, o.redshift_inspected, o.redshift_auto, o.inspected_used_auto, "
    "o.last_inspected_at, o.last_inspected_by, o.last_inspected_by_name, "
    "o.last_data_change_at, o.staleness_reason, o.version, o.is_active, o.photo_z, "
    "o.photo_z_err_lo, o.photo_z_err_hi, o.has_photometry, o.created_at, o.updated_at"
)


def objects(request: Request) -> Response:
    """``GET /objects``: filtered, sorted, paginated objects."""
    principal = require_principal(request)
    if not principal.programs:
        return json_response(_EMPTY_PAGE)
    p = Params(request.query_params)
    limit, offset = page_args(p)
    conn = request.app.state.archive.db.conn()
    keys = [r[0] for r in conn.execute("SELECT key FROM program_keys")]
    f = object_filter(p, principal.programs, keys, principal.user_id)
    if f.empty:
        return json_response(_page(0, limit, offset, []))
    # a cone's matches are all visited for its sort anyway: count them in the same statement
    counted = f.cone is not None
    rows = conn.execute(
        f"SELECT {_OBJECT_COLUMNS}, {f.distance_sql} AS distance"
        + (", count(*) OVER () AS total_count" if counted else "")
        + f" FROM objects o WHERE {f.sql()} ORDER BY {f.order} LIMIT ? OFFSET ?",
        [*f.distance_args, *f.args, *f.order_args, limit, offset],
    ).fetchall()
    if counted and (rows or offset == 0):
        total = rows[0]["total_count"] if rows else 0
    else:
        total = conn.execute(f"SELECT count(*) FROM objects o WHERE {f.sql()}", f.args).fetchone()[
            0
        ]
    pks = [r["id"] for r in rows]
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    lists: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if pks:
        progs = sorted(f.programs)
        for t in conn.execute(
            "SELECT object_pk, target_id, program_slug, observation, "
            "(SELECT s.redshift_auto FROM spectra s WHERE s.target_pk = t.id AND "
            " s.redshift_auto IS NOT NULL ORDER BY s.signal_to_noise DESC LIMIT 1) AS z "
            f"FROM targets t WHERE object_pk IN ({marks(len(pks))}) "
            f"AND program_slug IN ({marks(len(progs))}) ORDER BY target_id",
            [*pks, *progs],
        ):
            members[t[0]].append(
                {
                    "target_id": t[1],
                    "program_slug": t[2],
                    "observation": t[3],
                    "redshift_auto": t[4],
                }
            )
        for m in conn.execute(
            "SELECT m.object_pk, l.id, l.name, l.slug, l.icon, l.color FROM list_members m "
            "JOIN lists l ON l.id = m.list_id WHERE (l.visibility != 'private' OR "
            f"l.created_by = ?) AND m.object_pk IN ({marks(len(pks))}) ORDER BY l.name",
            [principal.user_id, *pks],
        ):
            lists[m[0]].append(
                {"id": m[1], "name": m[2], "slug": m[3], "icon": m[4], "color": m[5]}
            )
    partial = [r["id"] for r in rows if not sees_all(r["programs_key"], principal.programs)]
    seen = visible_aggregates(conn, partial, principal.programs)
    data = []
    for r in rows:
        mt = members[r["id"]]
        row = {
            "id": r["id"],
            "object_id": r["object_id"],
            "field": r["field"],
            "ra": r["ra"],
            "dec": r["dec"],
            "n_targets": r["n_targets"],
            "n_spectra": r["n_spectra"],
            "programs": json.loads(r["programs"]),
            "gratings": json.loads(r["gratings"]),
            "observations": sorted({t["observation"] for t in mt}),
            "max_snr": r["max_snr"],
            "max_exposure_time": r["max_exposure_time"],
            "redshift": r["redshift"],
            "redshift_quality": r["redshift_quality"],
            "redshift_inspected": r["redshift_inspected"],
            "redshift_auto": r["redshift_auto"],
            "inspected_used_auto": bool(r["inspected_used_auto"]),
            "last_inspected_at": r["last_inspected_at"],
            "last_inspected_by": r["last_inspected_by"],
            "last_inspected_by_name": r["last_inspected_by_name"],
            "last_data_change_at": r["last_data_change_at"],
            "staleness_reason": r["staleness_reason"],
            "version": r["version"],
            "is_active": bool(r["is_active"]),
            "photo_z": r["photo_z"],
            "photo_z_err_lo": r["photo_z_err_lo"],
            "photo_z_err_hi": r["photo_z_err_hi"],
            "has_photometry": bool(r["has_photometry"]),
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
            "distance": r["distance"],
            "member_targets": mt,
            "lists": lists[r["id"]],
        }
        data.append(with_visible_redshift(row, seen[r["id"]]) if r["id"] in seen else row)
    return json_response(_page(total, limit, offset, data))


_SPECTRA_SELECT = """
SELECT s.id, s.spectrum_id, s.grating, s.fits_path, s.signal_to_noise, s.exposure_time,
       s.redshift_auto, s.dq_flags, s.file_hash, s.file_size, s.program_slug,
       t.target_id, t.field, t.observation, t.ra, t.dec, t.created_at, t.updated_at,
       o.object_id AS parent_object_id, o.redshift, o.redshift_inspected, o.redshift_quality,
       o.last_inspected_at, o.last_inspected_by, o.last_inspected_by_name, p.program_name,
       (SELECT max(s2.signal_to_noise) FROM spectra s2 WHERE s2.target_pk = t.id) AS max_snr,
       (SELECT max(s2.exposure_time) FROM spectra s2 WHERE s2.target_pk = t.id)
         AS max_exposure_time,
       {distance} AS distance
FROM {spectra} JOIN targets t ON t.id = s.target_pk
LEFT JOIN objects o ON o.id = s.object_pk
LEFT JOIN programs p ON p.slug = s.program_slug
"""


def _spectra_from(where: str) -> str:
    """The FROM of a spectra count: join targets/objects only when the filter needs them."""
    out = "spectra s INDEXED BY idx_spectra_feed"
    if re.search(r"\bt\.", where):
        out += " JOIN targets t ON t.id = s.target_pk"
    if re.search(r"\bo\.", where):
        out += " LEFT JOIN objects o ON o.id = s.object_pk"
    return out


def spectra_list(request: Request) -> Response:
    """``GET /spectra/list``: filtered, sorted, paginated spectra (target and object fields)."""
    principal = require_principal(request)
    if not principal.programs:
        return json_response(_EMPTY_PAGE)
    p = Params(request.query_params)
    limit, offset = page_args(p)
    f = spectrum_filter(p, principal.programs, principal.user_id)
    if f.empty:
        return json_response(_page(0, limit, offset, []))
    conn = request.app.state.archive.db.conn()
    total = conn.execute(
        f"SELECT count(*) FROM {_spectra_from(f.sql())} WHERE {f.sql()}",
        f.args,
    ).fetchone()[0]
    walk = f.order.startswith("s.spectrum_id") and f.cone is None  # index order, no sort
    rows = conn.execute(
        _SPECTRA_SELECT.format(
            distance=f.distance_sql,
            spectra="spectra s INDEXED BY idx_spectra_feed" if walk else "spectra s",
        )
        + f"WHERE {f.sql()} ORDER BY {f.order} LIMIT ? OFFSET ?",
        [*f.distance_args, *f.args, *f.order_args, limit, offset],
    ).fetchall()
    data = []
    for r in rows:
        row = dict(r)
        row["object_id"] = row["parent_object_id"]
        row["dq_flags"] = row["dq_flags"] or 0
        row["thumbnail_svg_fnu"] = row["thumbnail_svg_flambda"] = None
        data.append(row)
    return json_response(_page(total, limit, offset, data))


ROUTES = [
    Route("/version", version),
    Route("/metadata", metadata),
    Route("/observations", observations),
    Route("/objects", objects),
    Route("/spectra/list", spectra_list),
]
