"""Sky routes: ``/cutout`` (PNG image cutout) and ``/shutters`` (MSA shutter geometry).

Both look the object up by its IAU name and require access to one of its programs. Unlike
upstream, ``/shutters`` returns only shutters of observations the caller can see.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire.server.auth.access import Principal
from campfire.server.catalog.cutouts import native_size, render_cutout, tile_contains
from campfire.server.http.replies import Params, data_error, json_response, require_principal

__all__ = ["ROUTES"]

SHUTTER_WIDTH_ARCSEC = 0.20
SHUTTER_HEIGHT_ARCSEC = 0.46


def _object(request: Request, principal: Principal) -> Any:
    if not principal.programs:
        raise data_error(403, "No accessible programs")
    p = Params(request.query_params)
    oid = p.str("object_id")
    if oid is None:
        raise data_error(400, "Missing required parameter: object_id")
    conn = request.app.state.archive.db.conn()
    row = conn.execute("SELECT * FROM objects WHERE object_id = ?", (oid,)).fetchone()
    if row is None:
        raise data_error(404, "Object not found")
    if not principal.can_see(json.loads(row["programs"])):
        raise data_error(403, "Access denied to this object")
    return row


def _fov(p: Params) -> float:
    raw = p.str("fov")
    if raw is None:
        return 5.0
    try:
        fov = float(raw)
    except ValueError:
        raise data_error(400, "Invalid parameter: fov must be a finite number") from None
    if not math.isfinite(fov):
        raise data_error(400, "Invalid parameter: fov must be a finite number")
    return max(1.0, min(30.0, fov))


async def cutout(request: Request) -> Response:
    """``GET /cutout?object_id=&fov=&size=``: a north-up, east-left RGBA PNG."""
    principal = require_principal(request)
    obj = _object(request, principal)
    p = Params(request.query_params)
    fov = _fov(p)
    raw_size = p.str("size")
    size: int | None = None
    if raw_size is not None:
        try:
            size = int(float(raw_size))
        except (ValueError, OverflowError):  # not a number, or inf / 1e309
            raise data_error(400, "Invalid parameter: size must be a finite number") from None
    archive = request.app.state.archive
    layers = (
        archive.db.conn()
        .execute(
            "SELECT * FROM map_layers WHERE field = ? "
            "ORDER BY filter != 'rgb', is_default DESC, filter, name",
            (obj["field"],),
        )
        .fetchall()
    )
    if not layers:
        raise data_error(404, "No map layers found for this field")

    def render() -> bytes:
        for layer in layers:
            wcs = json.loads(layer["wcs"])
            if tile_contains(wcs, layer["naxis1"], layer["naxis2"], obj["ra"], obj["dec"]):
                n = max(16, min(2048, size)) if size is not None else native_size(fov, wcs)
                local = archive.store.local_path(layer["path"])
                return render_cutout(
                    local or functools.partial(archive.store.read_bytes, layer["path"]),
                    layer["file_hash"] or "",
                    wcs,
                    obj["ra"],
                    obj["dec"],
                    fov,
                    n,
                )
        raise data_error(404, "No map tile of this field covers the object")

    png = await run_in_threadpool(render)
    return Response(
        png,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=604800, stale-while-revalidate=86400"},
    )


def shutters(request: Request) -> Response:
    """``GET /shutters?object_id=&fov=``: shutters in a box of half-size ``fov`` arcsec."""
    principal = require_principal(request)
    obj = _object(request, principal)
    radius = _fov(Params(request.query_params))
    conn = request.app.state.archive.db.conn()
    ddec = radius / 3600.0
    dra = ddec / max(1e-6, math.cos(math.radians(obj["dec"])))
    progs = sorted(principal.programs)
    rows = conn.execute(
        "SELECT sh.*, o.object_id AS label FROM shutters sh "
        "JOIN observations ob ON ob.observation = sh.observation "
        "LEFT JOIN targets t ON t.observation = sh.observation AND t.source_id = sh.source_id "
        "AND sh.source_id > 0 LEFT JOIN objects o ON o.id = t.object_pk "
        "WHERE sh.field = ? AND sh.center_dec BETWEEN ? AND ? AND sh.center_ra BETWEEN ? AND ? "
        f"AND ob.program_slug IN ({','.join('?' * len(progs))}) ORDER BY sh.id",
        (
            obj["field"],
            obj["dec"] - ddec,
            obj["dec"] + ddec,
            obj["ra"] - dra,
            obj["ra"] + dra,
            *progs,
        ),
    ).fetchall()
    data = [
        {
            "object_id": r["label"],
            "source_id": r["source_id"],
            "center_ra": r["center_ra"],
            "center_dec": r["center_dec"],
            "position_angle": r["position_angle"],
            "shutter_idx": r["shutter_idx"],
            "dither_id": r["dither_id"],
            "shutter_state": r["shutter_state"],
            "observation": r["observation"],
            "slitlet_id": r["slitlet_id"],
        }
        for r in rows
    ]
    meta = {
        "shutter_width_arcsec": SHUTTER_WIDTH_ARCSEC,
        "shutter_height_arcsec": SHUTTER_HEIGHT_ARCSEC,
        "center_ra": obj["ra"],
        "center_dec": obj["dec"],
        "radius_arcsec": radius,
        "field": obj["field"],
    }
    return json_response({"shutters": data, "meta": meta})


ROUTES = [Route("/cutout", cutout), Route("/shutters", shutters)]
