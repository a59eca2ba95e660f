"""Comment routes (``inspections`` extension): list and add an object's comments, edit and delete
one's own, and the ``/sync/comments`` feed.

The feed works like ``/sync/objects``: comments on the objects the caller can see, by ``id``,
``updated_since`` strictly after, comments re-sent when access to their object was gained, and
with ``include_deleted=true`` a ``deleted`` list of ids (deleted comments, comments on objects
that became inaccessible) on page 0.
"""

from __future__ import annotations

import json
import sqlite3

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire.server.catalog.comments import (
    COMMENT_SELECT,
    comment_json,
    create_comment,
    delete_comment,
    edit_comment,
    object_comments,
    visible_comment,
)
from campfire.server.http.replies import Params, json_response, raw_json
from campfire.server.http.writes import (
    Answer,
    Writer,
    api_error,
    read_body,
    require_user,
    run_write,
)
from campfire.server.routes.sync import Feed

__all__ = ["ROUTES"]

_PAGE_LIMIT = 500
_EMPTY = '{"data":[],"pagination":{"total":0,"limit":0,"offset":0}}'


def _comment_id(request: Request) -> int:
    raw = request.path_params["comment_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:  # a positive 64-bit integer
        raise api_error(404, "not_found", f"No comment {raw!r}")
    return int(raw)


def list_comments(request: Request) -> Response:
    """``GET /objects/{object_id}/comments``: an object's comments, oldest first, paged."""
    principal = require_user(request)
    p = Params(request.query_params)
    limit = min(p.int("limit", 50, minimum=1), _PAGE_LIMIT)
    offset = p.int("offset", 0)
    conn = request.app.state.archive.db.conn()
    rows, total = object_comments(conn, principal, request.path_params["object_id"], limit, offset)
    return json_response(
        {"data": rows, "pagination": {"total": total, "limit": limit, "offset": offset}}
    )


async def post_comment(request: Request) -> Response:
    """``POST /objects/{object_id}/comments``: add a comment (201)."""
    object_id = request.path_params["object_id"]
    body = await read_body(request)

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        return Answer(201, {"comment": create_comment(conn, writer, object_id, body, now)})

    return await run_write(request, op)


async def patch_comment(request: Request) -> Response:
    """``PATCH /comments/{comment_id}``: edit one's own comment."""
    cid = _comment_id(request)
    body = await read_body(request)

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        row = visible_comment(conn, writer.principal, cid)
        return Answer(200, {"comment": edit_comment(conn, writer, row, body, now)})

    return await run_write(request, op)


async def remove_comment(request: Request) -> Response:
    """``DELETE /comments/{comment_id}``: delete one's own comment (admins: any), 204."""
    cid = _comment_id(request)

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        delete_comment(conn, writer, visible_comment(conn, writer.principal, cid), now)
        return Answer(204)

    return await run_write(request, op)


def sync_comments(request: Request) -> Response:
    """``GET /sync/comments``: comments on the objects the caller can see, by ``id``."""
    principal = require_user(request)
    if not principal.programs:
        return raw_json(_EMPTY)
    feed = Feed(request, principal)
    acc_m, acc = _marks(feed.keys(principal.programs))
    table = f"({COMMENT_SELECT}) c"
    base = (
        f"c.programs_key IN ({acc_m}) AND c.object_pk IN "
        "(SELECT id FROM objects WHERE is_active = 1)"
    )
    gained = feed.keys(feed.gained)
    where, args = feed.widen(base, acc, "c.updated_at", "c.programs_key", gained)
    select = "c.id, c.object_id, c.user_id, c.user_name, c.body, c.created_at, c.updated_at"
    rows = feed.page("comments", select + ", c.programs_key", table, where, args, "c.id")
    parts = [
        feed.stamp(json.dumps(comment_json(r), separators=(",", ":")), r[6], r[7]) for r in rows
    ]
    total = feed.count(table, where, args) if feed.counts else 0
    deleted = feed.deletions(
        "comment",
        f"SELECT c.id FROM {table} WHERE c.programs_key IN ({{m}})",
        feed.keys(feed.lost),
        f"SELECT c.id FROM {table} WHERE c.id IN ({{m}}) AND {base}",
        acc,
    )
    ids = None if deleted is None else sorted(int(k) for k in deleted)
    return feed.envelope(parts, total, None, ids)


def _marks(values: list[str]) -> tuple[str, list[str]]:
    vals = sorted(values)
    return ",".join("?" * len(vals)), vals


ROUTES = [
    Route("/objects/{object_id}/comments", list_comments, methods=["GET"]),
    Route("/objects/{object_id}/comments", post_comment, methods=["POST"]),
    Route("/comments/{comment_id}", patch_comment, methods=["PATCH"]),
    Route("/comments/{comment_id}", remove_comment, methods=["DELETE"]),
    Route("/sync/comments", sync_comments),
]
