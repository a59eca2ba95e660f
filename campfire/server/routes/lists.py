"""List (tag) routes (``inspections`` extension): create, rename and re-scope, delete, add and
remove members. Every answer names the list as ``/sync/lists`` does (with ``object_ids``);
another user's private list is 404 on every route.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire.server.auth.access import Principal
from campfire.server.catalog.lists import (
    change_members,
    create_list,
    delete_list,
    list_json,
    update_list,
    visible_list,
)
from campfire.server.http.writes import Answer, Writer, read_body, run_write

__all__ = ["ROUTES"]


def _list(conn: sqlite3.Connection, principal: Principal, slug: str) -> dict[str, Any]:
    return list_json(conn, principal, [visible_list(conn, principal, slug)])[0]


async def post_list(request: Request) -> Response:
    """``POST /lists``: create a list (201; 409 ``slug_taken``)."""
    body = await read_body(request)

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        slug = create_list(conn, writer, body, now)
        return Answer(201, {"list": _list(conn, writer.principal, slug)})

    return await run_write(request, op)


async def patch_list(request: Request) -> Response:
    """``PATCH /lists/{slug}``: rename, describe or change the visibility of a list."""
    slug = request.path_params["slug"]
    body = await read_body(request)

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        row = visible_list(conn, writer.principal, slug)
        new_slug = update_list(conn, writer, row, body, now)
        return Answer(200, {"list": _list(conn, writer.principal, new_slug)})

    return await run_write(request, op)


async def remove_list(request: Request) -> Response:
    """``DELETE /lists/{slug}``: delete a list and its memberships (204)."""
    slug = request.path_params["slug"]

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        delete_list(conn, writer, visible_list(conn, writer.principal, slug), now)
        return Answer(204)

    return await run_write(request, op)


async def members(request: Request) -> Response:
    """``POST|DELETE /lists/{slug}/members``: add or remove objects."""
    slug = request.path_params["slug"]
    body = await read_body(request)
    add = request.method == "POST"

    def op(conn: sqlite3.Connection, writer: Writer, now: str) -> Answer:
        row = visible_list(conn, writer.principal, slug)
        changed, not_found = change_members(conn, writer, row, body, add, now)
        return Answer(
            200,
            {"list": _list(conn, writer.principal, slug), "changed": changed,
             "not_found": not_found},
        )  # fmt: skip

    return await run_write(request, op)


ROUTES = [
    Route("/lists", post_list, methods=["POST"]),
    Route("/lists/{slug}", patch_list, methods=["PATCH"]),
    Route("/lists/{slug}", remove_list, methods=["DELETE"]),
    Route("/lists/{slug}/members", members, methods=["POST", "DELETE"]),
]
