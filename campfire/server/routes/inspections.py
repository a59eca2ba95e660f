"""Inspection routes (``inspections`` extension): an object's redshift and quality, a spectrum's
DQ flags, and the audit log.

``PATCH /objects/{object_id}/inspection`` and ``PATCH /spectra/{spectrum_id}/dq`` are
compare-and-set writes on a version (409 ``version_conflict`` with the current values);
``GET /audit`` lists every write for admins. ``POST /inspections/batch`` (the
``inspections-batch`` extension) applies up to :data:`MAX_BATCH` object inspections in one
transaction, each judged as its own PATCH would be. See ``docs/api-extensions.md``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.concurrency import run_in_threadpool
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
from campfire.server.http.replies import ApiError, Params, json_response
from campfire.server.http.writes import (
    Answer,
    Writer,
    api_error,
    read_body,
    require_user,
    run_write,
    valid_key,
    writer_of,
)
from campfire.server.routes.sync import object_row
from campfire.server.storage.database import parse_ts, utc_now
from campfire.server.storage.idempotency import store_answer, stored_answer

__all__ = ["MAX_BATCH", "ROUTES"]

_AUDIT_LIMIT = 1000
#: the most inspections one ``POST /inspections/batch`` takes
MAX_BATCH = 1000
_ITEM_KEYS = ("object_id", "idempotency_key")


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


def _batch_items(body: dict[str, Any]) -> list[Any]:
    unknown = sorted(set(body) - {"items"})
    if unknown:
        raise api_error(400, "invalid_request", f"unknown field(s) {', '.join(unknown)}; "
                        "allowed: items")  # fmt: skip
    items = body.get("items")
    if not isinstance(items, list):
        raise api_error(400, "invalid_request", "items must be a list of inspections")
    if len(items) > MAX_BATCH:
        msg = f"items holds {len(items)} inspections; send at most {MAX_BATCH} per request"
        raise api_error(400, "invalid_request", msg)
    return items


def _item(
    conn: sqlite3.Connection, writer: Writer, item: Any, root: str, now: str
) -> tuple[int, dict[str, Any], bool]:
    """One item of a batch: ``(status, body, replayed)`` exactly as its own PATCH answers."""
    if not isinstance(item, dict) or not isinstance(item.get("object_id"), str):
        return 400, {"error": "invalid_request", "message": "each item must be a JSON object "
                     "with an object_id (str)"}, False  # fmt: skip
    object_id, raw_key = item["object_id"], item.get("idempotency_key")
    key = valid_key(raw_key) if isinstance(raw_key, str) else None
    if raw_key is not None and key is None:
        msg = "idempotency_key must be 1-128 printable ASCII characters"
        return 400, {"error": "invalid_request", "message": msg}, False
    path = f"{root}/objects/{object_id}/inspection"
    if key is not None:
        stored = stored_answer(conn, writer.user_id, key)
        if stored is not None:
            if stored[:2] != ("PATCH", path):
                msg = (f"idempotency_key {key!r} was already used for {stored[0]} {stored[1]}; "
                       "send a new key with each write")  # fmt: skip
                return 400, {"error": "invalid_request", "message": msg}, False
            return stored[2], json.loads(stored[3] or "null"), True
    conn.execute("SAVEPOINT batch_item")
    try:
        row = visible_object(conn, writer.principal, object_id)
        writer.require_inspect()
        changes, expected = check_inspection({k: v for k, v in item.items() if k not in _ITEM_KEYS})
        inspect_object(conn, row, changes, expected, (writer.user_id, writer.name), now)
        answer = {"object": object_row(conn, writer.principal, row["id"])}
    except ApiError as exc:
        conn.execute("ROLLBACK TO SAVEPOINT batch_item")
        conn.execute("RELEASE SAVEPOINT batch_item")
        return exc.status, dict(exc.body), False
    conn.execute("RELEASE SAVEPOINT batch_item")
    if key is not None:
        text = json.dumps(answer, separators=(",", ":"), allow_nan=False)
        store_answer(conn, writer.user_id, key, "PATCH", path, 200, text, now)
    return 200, answer, False


def _run_batch(request: Request, items: list[Any]) -> list[dict[str, Any]]:
    principal = require_user(request)
    root = request.url.path.removesuffix("/inspections/batch")
    results = []
    with request.app.state.archive.db.transaction() as conn:
        writer = writer_of(conn, principal)
        now = utc_now()
        for item in items:
            status, body, replayed = _item(conn, writer, item, root, now)
            results.append({"status": status, "replayed": replayed, "body": body})
    return results


async def post_batch(request: Request) -> Response:
    """``POST /inspections/batch``: many object inspections in one transaction, one result each."""
    require_user(request)
    items = _batch_items(await read_body(request))
    results = await run_in_threadpool(_run_batch, request, items)
    return json_response({"results": results})


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
    Route("/inspections/batch", post_batch, methods=["POST"]),
    Route("/audit", audit),
]
