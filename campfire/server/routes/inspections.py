"""Inspection routes (``inspections`` extension): an object's redshift and quality, a spectrum's
DQ flags, and the audit log.

``PATCH /objects/{object_id}/inspection`` and ``PATCH /spectra/{spectrum_id}/dq`` are
compare-and-set writes on a version (409 ``version_conflict`` with the current values);
``GET /audit`` lists every write for admins. See ``docs/api-extensions.md``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire.server.catalog.audit import audit_rows
from campfire.server.catalog.inspections import (
    check_dq,
    check_inspection,
    inspect_object,
    set_dq_flags,
    visible_object,
    visible_spectrum,
)
from campfire.server.http.replies import Params, json_response
from campfire.server.http.writes import (
    Answer,
    Writer,
    api_error,
    read_body,
    require_user,
    run_write,
)
from campfire.server.routes.sync import object_row
from campfire.server.storage.database import parse_ts

__all__ = ["ROUTES"]

_AUDIT_LIMIT = 1000


async def patch_inspection(request: Request) -> Response:
    """``PATCH /objects/{object_id}/inspection``: set redshift and/or quality at a version."""
    object_id = request.path_params["object_id"]
    body = await read_body(request)

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        row = visible_object(conn, writer.principal, object_id)
        writer.require_inspect()
        changes, expected = check_inspection(body)
        inspect_object(conn, row, changes, expected, (writer.user_id, writer.name), now)
        return Answer(200, {"object": object_row(conn, writer.principal, row["id"])})

    return await run_write(request, op)


async def patch_dq(request: Request) -> Response:
    """``PATCH /spectra/{spectrum_id}/dq``: set a spectrum's DQ flags at a version."""
    spectrum_id = request.path_params["spectrum_id"]
    body = await read_body(request)

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        row = visible_spectrum(conn, writer.principal, spectrum_id)
        writer.require_inspect()
        flags, expected = check_dq(body)
        set_dq_flags(conn, row, flags, expected, writer.user_id, now)
        text = conn.execute("SELECT sync_json FROM spectra WHERE id = ?", (row["id"],))
        spectrum: dict[str, Any] = json.loads(text.fetchone()[0])
        return Answer(200, {"spectrum": spectrum})

    return await run_write(request, op)


def audit(request: Request) -> Response:
    """``GET /audit``: the audit log, newest first (admins only)."""
    principal = require_user(request)
    if not principal.is_admin:
        raise api_error(403, "forbidden", "Only admins may read the audit log")
    p = Params(request.query_params)
    limit = min(p.int("limit", 100, minimum=1), _AUDIT_LIMIT)
    offset = p.int("offset", 0)
    since = p.str("since")
    if since is not None:
        try:
            since = parse_ts(since)
        except ValueError:
            msg = f"since must be an ISO-8601 timestamp (got {since!r})"
            raise api_error(400, "invalid_request", msg) from None
    rows, total = audit_rows(
        request.app.state.archive.db.conn(),
        limit=limit,
        offset=offset,
        since=since,
        user_id=p.str("user_id"),
        object_id=p.str("object_id"),
    )
    return json_response(
        {"data": rows, "pagination": {"total": total, "limit": limit, "offset": offset}}
    )


ROUTES = [
    Route("/objects/{object_id}/inspection", patch_inspection, methods=["PATCH"]),
    Route("/spectra/{spectrum_id}/dq", patch_dq, methods=["PATCH"]),
    Route("/audit", audit),
]
