"""HTTP plumbing shared by the routes: JSON answers, error bodies and query parameters.

Errors are raised as :class:`ApiError` and turned into a JSON body by the app's exception
handler, in the two styles of the contract (section 0.4): data style ``{"error": "<message>"}``
and OAuth style ``{"error": "<code>", "error_description": "<text>"}``.

Examples
--------
>>> from starlette.datastructures import QueryParams
>>> p = Params(QueryParams("limit=10&fields=uds, egs,&inspected_only=TRUE"))
>>> p.int("limit", 1000), p.csv("fields"), p.bool("inspected_only")
(10, ['uds', 'egs'], True)
>>> p.float("redshift_min") is None
True
"""

from __future__ import annotations

import builtins
import json
import math
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from campfire.server.auth.access import Principal, authenticate

__all__ = [
    "ApiError",
    "Params",
    "data_error",
    "json_response",
    "oauth_error",
    "raw_json",
    "read_json_object",
    "require_principal",
]


class ApiError(Exception):
    """An error answer: status, JSON body and extra headers."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        """The error as a JSON response."""
        return json_response(self.body, self.status, self.headers)


def data_error(status: int, message: str, **extra: Any) -> ApiError:
    """A data-style error: ``{"error": message, ...}``."""
    return ApiError(status, {"error": message, **extra})


def oauth_error(status: int, code: str, description: str, **extra: Any) -> ApiError:
    """An OAuth-style error: ``{"error": code, "error_description": description, ...}``."""
    return ApiError(status, {"error": code, "error_description": description, **extra})


def raw_json(
    text: str | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response whose body is already JSON text."""
    return Response(text, status_code=status, headers=headers, media_type="application/json")


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialize ``obj`` compactly (NaN is refused) into a JSON response."""
    return raw_json(json.dumps(obj, separators=(",", ":"), allow_nan=False), status, headers)


#: SQLite's integer range: a query parameter outside it is a 400, never an OverflowError
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


async def read_json_object(request: Request, error: Any = None) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` when empty), or a 400 saying what is wrong.

    Malformed JSON, a body that is not an object, and nesting too deep for the parser
    (``RecursionError``) are all the caller's mistake. ``error(status, message)`` builds the
    error (default :func:`data_error`; the OAuth routes pass their own).

    Examples
    --------
    >>> body = await read_json_object(request)  # doctest: +SKIP
    """
    make = error or data_error
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise make(400, "The request body must be JSON (nested at most ~900 deep)") from None
    if not isinstance(body, dict):
        raise make(400, "The request body must be a JSON object")
    return body


def require_principal(request: Request, message: str = "Invalid or missing API key") -> Principal:
    """The authenticated principal, or a 401 ``{"error": message}``."""
    principal = authenticate(request.app.state.archive, request.headers.get("authorization"))
    if principal is None:
        raise data_error(401, message)
    request.state.principal = principal
    return principal


class Params:
    """Typed access to query parameters; a malformed value is a 400 that names it."""

    # the methods are named after the types they return (params.int("limit", 100)), so inside
    # this class the annotations spell the builtins as builtins.str, builtins.int …

    def __init__(self, query: QueryParams) -> None:
        self.q = query

    def str(self, name: builtins.str) -> builtins.str | None:
        """A stripped string, None when absent or blank."""
        v = self.q.get(name)
        if v is None or not v.strip():
            return None
        return v.strip()

    def has(self, name: builtins.str) -> builtins.bool:
        """Whether the parameter is present and not blank."""
        return self.str(name) is not None

    def float(self, name: builtins.str) -> builtins.float | None:
        """A finite float, None when absent."""
        v = self.str(name)
        if v is None:
            return None
        try:
            out = float(v)
        except ValueError:
            raise data_error(
                400, f"Invalid parameter: {name} must be a number (got {v!r})"
            ) from None
        if not math.isfinite(out):
            raise data_error(400, f"Invalid parameter: {name} must be a finite number")
        return out

    def int(
        self, name: builtins.str, default: builtins.int, minimum: builtins.int = 0
    ) -> builtins.int:
        """An integer ≥ ``minimum``, ``default`` when absent."""
        v = self.str(name)
        if v is None:
            return default
        try:
            out = int(v)
        except ValueError:
            raise data_error(
                400, f"Invalid parameter: {name} must be an integer (got {v!r})"
            ) from None
        if out < minimum:
            raise data_error(400, f"Invalid parameter: {name} must be >= {minimum} (got {out})")
        if out > INT64_MAX:
            raise data_error(400, f"Invalid parameter: {name} must be at most {INT64_MAX}")
        return out

    def bool(self, name: builtins.str) -> builtins.bool | None:
        """``true`` (any case) is True, any other non-empty value False, absent None."""
        v = self.str(name)
        if v is None:
            return None
        return v.lower() == "true"

    def csv(self, name: builtins.str) -> list[builtins.str] | None:
        """Comma-separated items, trimmed, blanks dropped; None when absent or empty."""
        v = self.q.get(name)
        if v is None:
            return None
        items = [s.strip() for s in v.split(",") if s.strip()]
        return items or None

    def ints(self, name: builtins.str) -> list[builtins.int] | None:
        """Comma-separated integers; items that are not 64-bit integers are dropped."""
        items = self.csv(name)
        if items is None:
            return None
        out = []
        for s in items:
            try:
                value = int(s)
            except ValueError:
                continue
            if INT64_MIN <= value <= INT64_MAX:
                out.append(value)
        return out

    def mask(self, name: builtins.str) -> builtins.int | None:
        """A 64-bit integer bit mask, None when absent."""
        v = self.str(name)
        if v is None:
            return None
        try:
            out = int(v)
        except ValueError:
            out = INT64_MAX + 1
        if not INT64_MIN <= out <= INT64_MAX:
            raise data_error(
                400, f"Invalid parameter: {name} must be an integer bit mask (64-bit, got {v!r})"
            )
        return out
