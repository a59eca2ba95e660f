"""What every write route of the ``inspections`` extension shares: who is writing, the JSON
body, errors as ``{"error": code, "message": text}``, and one transaction per write that
honours the ``Idempotency-Key`` header.

:func:`run_write` runs the route's operation inside the database's write transaction
(``BEGIN IMMEDIATE``: writers take turns), looks the key up first and replays a stored answer
with ``Idempotent-Replayed: true``, and stores the answer of an applied (2xx) write in the same
transaction. An error answer is not stored: the client's next try is judged afresh.

Examples
--------
>>> api_error(404, "not_found", "No object J1").body
{'error': 'not_found', 'message': 'No object J1'}
>>> valid_key("3f2c-…") is None, valid_key("0b7e4c1e-uuid")
(True, '0b7e4c1e-uuid')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from campfire.server.auth.access import Principal, authenticate
from campfire.server.http.replies import ApiError, raw_json
from campfire.server.storage.database import Database, utc_now
from campfire.server.storage.idempotency import store_answer, stored_answer

__all__ = [
    "Answer",
    "Writer",
    "api_error",
    "read_body",
    "require_user",
    "run_write",
    "valid_key",
    "writer_of",
]

_KEY_RE = re.compile(r"^[\x20-\x7e]{1,128}$")


def api_error(status: int, code: str, message: str, **extra: Any) -> ApiError:
    """An error answer ``{"error": code, "message": message, **extra}``."""
    return ApiError(status, {"error": code, "message": message, **extra})


def valid_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` value if it is 1-128 printable ASCII characters, else None."""
    return value if value is not None and _KEY_RE.match(value) else None


@dataclass(frozen=True)
class Writer:
    """The caller of a write: their principal, display name and ``can_inspect`` permission."""

    principal: Principal
    name: str
    can_inspect: bool

    @property
    def user_id(self) -> str:
        """The user's uuid."""
        return self.principal.user_id

    def require_inspect(self) -> None:
        """403 unless the user may write inspections."""
        if not self.can_inspect:
            raise api_error(
                403,
                "forbidden",
                "You may not write inspections on this archive (ask an admin for "
                "'campfire admin grant-inspect')",
            )


def require_user(request: Request) -> Principal:
    """The authenticated principal, or 401 ``{"error": "unauthorized", "message"}``."""
    principal = authenticate(request.app.state.archive, request.headers.get("authorization"))
    if principal is None:
        raise api_error(
            401, "unauthorized", "Invalid or missing authentication (send a Bearer API key)"
        )
    request.state.principal = principal
    return principal


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object in the request body, or 400 ``invalid_request``."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):  # not JSON (or nested beyond reason)
        raise api_error(400, "invalid_request", "The request body must be JSON") from None
    if not isinstance(body, dict):
        raise api_error(400, "invalid_request", "The request body must be a JSON object")
    return body


@dataclass(frozen=True)
class Answer:
    """What an operation answers: a status and a JSON body (None for 204)."""

    status: int
    body: dict[str, Any] | None = None


#: an operation: (connection inside the write transaction, writer, now) -> answer
Operation = Callable[[Any, Writer, str], Answer]


def _response(status: int, text: str | None, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    if text is None:
        return Response(status_code=status, headers=headers)
    return raw_json(text, status, headers)


def _run(
    request: Request, principal: Principal, key: str | None, op: Operation
) -> tuple[int, str | None, bool]:
    db = request.app.state.archive.db
    method, path = request.method, request.url.path
    with db.transaction() as conn:
        if key is not None:
            stored = stored_answer(conn, principal.user_id, key)
            if stored is not None:
                if stored[:2] != (method, path):
                    raise api_error(
                        400,
                        "invalid_request",
                        f"Idempotency-Key {key!r} was already used for {stored[0]} {stored[1]}; "
                        "send a new key with each write",
                    )
                return stored[2], stored[3], True
        writer = writer_of(conn, principal)
        now = utc_now()
        answer = op(conn, writer, now)
        text = (
            None
            if answer.body is None
            else json.dumps(answer.body, separators=(",", ":"), allow_nan=False)
        )
        if 200 <= answer.status < 300:  # a catalog write: kept answers are now stale
            Database.bump_generation(conn)
        if key is not None and 200 <= answer.status < 300:
            store_answer(conn, principal.user_id, key, method, path, answer.status, text, now)
    return answer.status, text, False


async def run_write(request: Request, op: Operation) -> Response:
    """Authenticate, then run ``op`` in one write transaction with idempotent replay.

    Parameters
    ----------
    request
        The write request (its ``Idempotency-Key`` header, if any, is honoured).
    op
        The operation; it raises :class:`ApiError` for an error answer (nothing is written).

    Returns
    -------
    Response
        The operation's answer, or the stored one (``Idempotent-Replayed: true``).
    """
    principal = require_user(request)
    raw_key = request.headers.get("idempotency-key")
    key = valid_key(raw_key)
    if raw_key is not None and key is None:
        raise api_error(
            400, "invalid_request", "Idempotency-Key must be 1-128 printable ASCII characters"
        )
    status, text, replayed = await run_in_threadpool(_run, request, principal, key, op)
    return _response(status, text, replayed)


def writer_of(conn: Any, principal: Principal) -> Writer:
    """The :class:`Writer` a write is made as: the caller, its display name and ``can_inspect``,
    read inside the write's transaction.
    """
    row = conn.execute(
        "SELECT can_inspect, coalesce(full_name, email) FROM users WHERE id = ?",
        (principal.user_id,),
    ).fetchone()
    return Writer(principal, row[1], bool(row[0]))
