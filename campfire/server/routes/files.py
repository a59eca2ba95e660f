"""File routes: manifests, signed URLs, the signed file server, spectrum and redshift-fit JSON.

Routes (relative to ``/api/v1``): ``GET /observations/{obs}/manifest``, ``GET /spectra``,
``GET|HEAD /files/{fits_path}``, ``GET /spectrum``, ``GET /redshift-fit``.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campfire.server.auth.access import Principal, accessible_programs
from campfire.server.http.filestream import RangeFileResponse
from campfire.server.http.replies import (
    Params,
    data_error,
    json_response,
    raw_json,
    require_principal,
)
from campfire.server.http.signing import (
    MANIFEST_URL_SECONDS,
    SPECTRA_URL_SECONDS,
    STORE_URL_SECONDS,
)
from campfire.server.storage.database import marks

__all__ = ["ROUTES", "api_root"]

log = logging.getLogger("campfire.server")


def api_root(request: Request) -> str:
    """``<scheme>://<host>/api/v1`` as the client reached us."""
    return f"{request.url.scheme}://{request.url.netloc}/api/v1"


def _signed(request: Request, principal: Principal, fits_path: str, ttl: int) -> str:
    signer = request.app.state.signer
    return str(signer.url(api_root(request), "GET", "/files/" + fits_path, principal.user_id, ttl))


def manifest(request: Request) -> Response:
    """``GET /observations/{obs}/manifest``: every accessible spectrum with a 6 h signed URL."""
    principal = require_principal(request, "Invalid or missing authentication")
    obs = request.path_params["obs"]
    progs = sorted(principal.programs)
    conn = request.app.state.archive.db.conn()
    rows = conn.execute(
        "SELECT s.id, s.spectrum_id, s.target_id, s.grating, s.fits_path, s.file_hash, "
        "s.file_size, s.signal_to_noise, s.reduction_version, s.program_slug, s.field "
        f"FROM spectra s WHERE s.observation = ? AND s.program_slug IN ({marks(len(progs))}) "
        "ORDER BY s.spectrum_id",
        (obs, *progs),
    ).fetchall()
    if not rows:
        raise data_error(404, "Observation not found or access denied")
    prog = conn.execute(
        "SELECT slug, program_name FROM programs WHERE slug = ?", (rows[0]["program_slug"],)
    ).fetchone()
    expires = datetime.now(UTC) + timedelta(seconds=MANIFEST_URL_SECONDS)
    entries = [
        {
            "spectra_id": r["id"],
            "spectrum_id": r["spectrum_id"],
            "target_id": r["target_id"],
            "grating": r["grating"],
            "fits_path": r["fits_path"],
            "file_hash": r["file_hash"],
            "file_size": r["file_size"],
            "signal_to_noise": r["signal_to_noise"],
            "reduction_version": r["reduction_version"] or "v1.0",
            "download_url": _signed(request, principal, r["fits_path"], MANIFEST_URL_SECONDS),
        }
        for r in rows
    ]
    return json_response(
        {
            "observation": obs,
            "program_slug": prog["slug"] if prog else None,
            "program_name": prog["program_name"] if prog else None,
            "field": rows[0]["field"],
            "target_count": len({r["target_id"] for r in rows}),
            "spectrum_count": len(rows),
            "total_size_bytes": sum(r["file_size"] or 0 for r in rows),
            "url_expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{expires.microsecond // 1000:03d}Z",
            "spectra": entries,
        }
    )


# what the file routes need of a spectrum (not its sync_json), with its program's visibility
_SPECTRUM_SELECT = (
    "SELECT s.fits_path, s.program_slug, s.file_hash, p.is_public FROM spectra s "
    "LEFT JOIN programs p ON p.slug = s.program_slug WHERE "
)


def _spectrum_by(conn: Any, column: str, value: str | None) -> Any:
    rows = conn.execute(f"{_SPECTRUM_SELECT}s.{column} = ?", (value,)).fetchall()
    return rows[0] if len(rows) == 1 else None


def signed_url(request: Request) -> Response:
    """``GET /spectra?path=<fits_path>[&redirect=true]``: a 1 h signed URL for one file."""
    principal = require_principal(request)
    path = Params(request.query_params).str("path")
    if path is None:
        raise data_error(400, "Missing path parameter")
    if not principal.programs:
        raise data_error(403, "No program access")
    row = _spectrum_by(request.app.state.archive.db.conn(), "fits_path", path)
    if row is None:
        raise data_error(404, "File not found")
    if not principal.can_see(row["program_slug"]):
        raise data_error(403, "Access denied to this file")
    url = _signed(request, principal, row["fits_path"], SPECTRA_URL_SECONDS)
    if (request.query_params.get("redirect") or "") == "true":
        return RedirectResponse(url, status_code=307)
    return json_response({"url": url})


async def serve_file(request: Request) -> Response | RangeFileResponse:
    """``GET|HEAD /files/<fits_path>?expires&uid&sig``: the bytes, for a valid signature only.

    Access is checked again on every download. A local store answers the bytes (with Range); an
    S3 store answers ``307`` to a presigned URL valid :data:`STORE_URL_SECONDS`, so the bytes
    never pass through the app (the client's ``Range`` goes to the object store).
    """
    path = request.path_params["path"]
    q = request.query_params
    archive = request.app.state.archive
    if not request.app.state.signer.verify(
        "GET", "/files/" + path, q.get("uid"), q.get("expires"), q.get("sig")
    ):
        raise data_error(403, "Invalid or expired signature: ask the API for a new download URL")
    conn = archive.db.conn()
    row = _spectrum_by(conn, "fits_path", path)
    store, name = archive.store, path.rsplit("/", 1)[-1]
    local = store.local_path(path)
    if row is None or (local is not None and not local.is_file()):
        raise data_error(404, "File not found")
    if row["program_slug"] not in accessible_programs(conn, q["uid"]):
        raise data_error(403, "Access denied to this file")
    if local is None:
        how = {"filename": name, "method": request.method, "digest": row["file_hash"] or None}
        # no thread hop when the URL can be made without asking the store (its blob is known)
        url = store.presign_ready(path, STORE_URL_SECONDS, **how)
        if url is None:
            try:
                url = await run_in_threadpool(
                    functools.partial(store.presign_get, path, STORE_URL_SECONDS, **how)
                )
            except FileNotFoundError:
                raise data_error(404, "File not found") from None
            except OSError:  # the object store did not answer: say so, not a traceback
                log.warning("presigning %s failed", path, exc_info=True)
                raise data_error(502, "The file store did not answer: try again shortly") from None
        # the presigned URL is already encoded: a plain 307 (RedirectResponse would quote it
        # again, a third of this route's time)
        return Response(status_code=307, headers={"Location": url, "Cache-Control": "no-store"})
    digest = (row["file_hash"] or "").removeprefix("sha256:")
    return RangeFileResponse(local, etag=digest, filename=name)


def _cache_header(program_public: bool, max_age: int) -> dict[str, str]:
    scope = "public" if program_public else "private"
    return {"Cache-Control": f"{scope}, max-age={max_age}, stale-while-revalidate=3600"}


def _reader(request: Request) -> tuple[Principal, Params, Any]:
    """The caller (403 without any accessible program), the query and a connection."""
    principal = require_principal(request)
    if not principal.programs:
        raise data_error(403, "No accessible programs")
    return principal, Params(request.query_params), request.app.state.archive.db.conn()


def spectrum_json(request: Request) -> Response:
    """``GET /spectrum?spectrum_id=|path=``: the plotting JSON stored next to the FITS file."""
    principal, p, conn = _reader(request)
    path, sid = p.str("path"), p.str("spectrum_id")
    if path is not None:
        row = _spectrum_by(conn, "fits_path", path)
        if row is None:
            raise data_error(404, "Spectrum not found")
        if not principal.can_see(row["program_slug"]):
            raise data_error(403, "Access denied")
    elif sid is not None:
        row = _spectrum_by(conn, "spectrum_id", sid)
        if row is None:
            raise data_error(404, f"No spectrum found for {sid}")
        if not principal.can_see(row["program_slug"]):
            raise data_error(403, "Access denied to this spectrum")
    else:
        raise data_error(400, "Missing required parameters: either spectrum_id or path")
    try:
        body = request.app.state.archive.store.read_bytes(
            row["fits_path"].replace(".fits", ".json", 1)
        )
    except OSError:
        raise data_error(502, "Failed to fetch spectrum data") from None
    return raw_json(body, headers=_cache_header(bool(row["is_public"]), 86400))


def redshift_fit(request: Request) -> Response:
    """``GET /redshift-fit?spectrum_id=|target_id=&grating=|path=``: the stored zfit JSON."""
    principal, p, conn = _reader(request)
    tid, grating, sid, path = (
        p.str("target_id"),
        p.str("grating"),
        p.str("spectrum_id"),
        p.str("path"),
    )
    if tid is not None and grating is not None:
        target = conn.execute(
            "SELECT program_slug FROM targets WHERE target_id = ?", (tid,)
        ).fetchone()
        if target is None:
            raise data_error(404, "Object not found")
        if not principal.can_see(target[0]):
            raise data_error(403, "Access denied to this object")
        rows = conn.execute(
            f"{_SPECTRUM_SELECT}s.target_id = ? AND s.grating = ? COLLATE NOCASE", (tid, grating)
        ).fetchall()
        if len(rows) != 1:
            raise data_error(404, f"No {grating} spectrum found for {tid}")
        row = rows[0]
    elif path is not None or sid is not None:
        row = (
            _spectrum_by(conn, "fits_path", path)
            if path
            else _spectrum_by(conn, "spectrum_id", sid)
        )
        if row is None:
            raise data_error(404, "Spectrum not found")
        if not principal.can_see(row["program_slug"]):
            raise data_error(403, "Access denied")
    else:
        raise data_error(
            400, "Missing required parameters: either (target_id, grating), spectrum_id or path"
        )
    try:
        body = request.app.state.archive.store.read_bytes(
            row["fits_path"].replace("_spec.fits", "_zfit.json")
        )
    except FileNotFoundError:
        raise data_error(404, "Redshift fit data not available for this spectrum") from None
    except OSError:
        raise data_error(502, "Failed to fetch redshift fit data") from None
    return raw_json(body)


ROUTES = [
    Route("/observations/{obs}/manifest", manifest),
    Route("/spectra", signed_url),
    Route("/files/{path:path}", serve_file, methods=["GET", "HEAD"]),
    Route("/spectrum", spectrum_json),
    Route("/redshift-fit", redshift_fit),
]
