"""``GET /api/v1/openapi.json``: an OpenAPI 3.0 document of every route this server answers.

Each route is described once, in :data:`OPERATIONS` (its query, path and body parameters); the
summary is the first line of the handler's docstring. ``tests/server/test_openapi.py`` compares
the document with the app's routing table and names any route left out, then runs schemathesis
over it (no answer may be a 5xx). Adding a route therefore means adding one entry here.

Examples
--------
>>> doc = openapi_document()
>>> doc["openapi"], "/api/v1/objects" in doc["paths"]
('3.0.3', True)
>>> [p["name"] for p in doc["paths"]["/api/v1/spectrum"]["get"]["parameters"]]
['spectrum_id', 'path']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire._version import __version__
from campfire.server.http.replies import json_response

__all__ = ["OPERATIONS", "ROUTES", "Operation", "openapi_document"]

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def q(name: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    """A query parameter of a JSON-schema ``kind`` (``enum=[...]`` and the like in ``extra``)."""
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind, **extra}}


def path(name: str) -> dict[str, Any]:
    """A required path parameter."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def obj(**props: str | dict[str, Any]) -> dict[str, Any]:
    """A JSON object schema: ``name=type`` (or ``name={schema}``) per property."""
    return {
        "type": "object",
        "properties": {k: {"type": v} if isinstance(v, str) else v for k, v in props.items()},
    }


@dataclass(frozen=True)
class Operation:
    """One route and method: its parameters and request body (media type and schema)."""

    parameters: list[dict[str, Any]] = field(default_factory=list)
    body: tuple[str, dict[str, Any]] | None = None
    auth: bool = True


PAGE = [q("limit", "integer"), q("offset", "integer")]
RANGES = [
    q(f"{name}_{end}", "number")
    for name in ("redshift", "max_snr", "max_exposure_time")
    for end in ("min", "max")
]
DQ = [
    q(name, "integer")
    for name in ("dq_flags", "dq_flags_include_any", "dq_flags_include_all", "dq_flags_exclude")
]
FILTERS = [
    q("programs"),
    q("fields"),
    q("gratings"),
    q("observations"),
    q("search"),
    q("lists"),
    q("redshift_quality"),
    q("inspected_only", "boolean"),
    q("needs_review", "boolean"),
    q("has_photometry", "boolean"),
    q("ra", "number"),
    q("dec", "number"),
    q("radius", "number"),
    q("sort"),
    q("sort_dir", enum=["asc", "desc"]),
    *RANGES,
    *DQ,
    *PAGE,
]
FEED = [
    q("updated_since"),
    q("include_deleted", "boolean"),
    q("include_counts", "boolean"),
    *PAGE,
]
SIGNED = [q("expires", "integer"), q("uid"), q("sig")]
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
}
LIST = obj(
    slug="string",
    name="string",
    description="string",
    visibility={"enum": ["private", "public_read", "public_edit"]},
)
MEMBERS = obj(object_ids={"type": "array", "items": {"type": "string"}})
DEVICE_GRANT = obj(grant_type="string", device_code="string", device_name="string")

#: (method, path from the site root) -> what it takes; one entry per route and method
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/v1/version"): Operation(auth=False),
    ("GET", "/api/v1/openapi.json"): Operation(auth=False),
    ("GET", "/api/v1/metadata"): Operation(),
    ("GET", "/api/v1/observations"): Operation(),
    ("GET", "/api/v1/objects"): Operation(
        [*FILTERS, q("gratings_mode", enum=["any", "all", "none"]), q("photo_z_min", "number")]
    ),
    ("GET", "/api/v1/spectra/list"): Operation(FILTERS),
    ("GET", "/api/v1/sync/objects"): Operation(FEED),
    ("GET", "/api/v1/sync/spectra"): Operation(FEED),
    ("GET", "/api/v1/sync/photometry"): Operation(FEED),
    ("GET", "/api/v1/sync/lists"): Operation(),
    ("GET", "/api/v1/observations/{obs}/manifest"): Operation([path("obs")]),
    ("GET", "/api/v1/spectra"): Operation([q("path"), q("redirect", "boolean")]),
    ("GET", "/api/v1/files/{path}"): Operation([path("path"), *SIGNED], auth=False),
    ("HEAD", "/api/v1/files/{path}"): Operation([path("path"), *SIGNED], auth=False),
    ("GET", "/api/v1/spectrum"): Operation([q("spectrum_id"), q("path")]),
    ("GET", "/api/v1/redshift-fit"): Operation(
        [q("spectrum_id"), q("target_id"), q("grating"), q("path")]
    ),
    ("GET", "/api/v1/cutout"): Operation([q("object_id"), q("fov", "number"), q("size", "number")]),
    ("GET", "/api/v1/shutters"): Operation([q("object_id"), q("fov", "number")]),
    ("POST", "/api/v1/auth/device"): Operation(auth=False),
    ("POST", "/api/v1/auth/device/token"): Operation(body=(JSON, DEVICE_GRANT), auth=False),
    ("POST", "/api/v1/auth/device/validate"): Operation(
        body=(JSON, obj(user_code="string")), auth=False
    ),
    ("POST", "/api/v1/auth/device/authorize"): Operation(
        body=(
            JSON,
            obj(user_code="string", action={"type": "string", "enum": ["authorize", "deny"]}),
        ),
        auth=False,
    ),
    ("POST", "/api/v1/auth/refresh"): Operation(
        body=(JSON, obj(grant_type="string", refresh_token="string")), auth=False
    ),
    ("POST", "/api/v1/auth/revoke"): Operation(body=(JSON, obj(token="string")), auth=False),
    ("GET", "/api/v1/auth/whoami"): Operation(),
    ("POST", "/api/v1/deploy/presign"): Operation(
        body=(
            JSON,
            obj(
                uploads={"type": "array", "items": obj(key="string", size="integer")},
                bucket={"type": "string", "enum": ["data", "tiles"]},
            ),
        )
    ),
    ("POST", "/api/v1/deploy/complete"): Operation(
        body=(
            JSON,
            obj(
                key="string",
                upload_id="string",
                bucket={"type": "string", "enum": ["data", "tiles"]},
                parts={"type": "array", "items": obj(part_number="integer", etag="string")},
            ),
        )
    ),
    ("PUT", "/api/v1/deploy/upload/{key}"): Operation(
        [path("key"), q("bucket"), *SIGNED],
        body=("application/octet-stream", {"type": "string", "format": "binary"}),
        auth=False,
    ),
    ("POST", "/api/v1/deploy/ingest"): Operation(body=(JSON, obj(prefix="string"))),
    # the inspections extension (docs/api-extensions.md)
    ("PATCH", "/api/v1/objects/{object_id}/inspection"): Operation(
        [path("object_id"), IDEMPOTENCY],
        body=(
            JSON,
            obj(
                redshift_inspected="number", redshift_quality="integer", expected_version="integer"
            ),
        ),
    ),
    ("PATCH", "/api/v1/spectra/{spectrum_id}/dq"): Operation(
        [path("spectrum_id"), IDEMPOTENCY],
        body=(JSON, obj(dq_flags="integer", expected_version="integer")),
    ),
    ("POST", "/api/v1/inspections/batch"): Operation(
        body=(
            JSON,
            obj(
                items={
                    "type": "array",
                    "items": obj(
                        object_id="string",
                        idempotency_key="string",
                        redshift_inspected="number",
                        redshift_quality="integer",
                        expected_version="integer",
                    ),
                }
            ),
        )
    ),
    ("GET", "/api/v1/audit"): Operation([q("since"), q("user_id"), q("object_id"), *PAGE]),
    ("GET", "/api/v1/objects/{object_id}/comments"): Operation([path("object_id"), *PAGE]),
    ("POST", "/api/v1/objects/{object_id}/comments"): Operation(
        [path("object_id"), IDEMPOTENCY], body=(JSON, obj(body="string"))
    ),
    ("PATCH", "/api/v1/comments/{comment_id}"): Operation(
        [path("comment_id"), IDEMPOTENCY], body=(JSON, obj(body="string"))
    ),
    ("DELETE", "/api/v1/comments/{comment_id}"): Operation([path("comment_id"), IDEMPOTENCY]),
    ("GET", "/api/v1/sync/comments"): Operation(FEED),
    ("POST", "/api/v1/lists"): Operation([IDEMPOTENCY], body=(JSON, LIST)),
    ("PATCH", "/api/v1/lists/{slug}"): Operation([path("slug"), IDEMPOTENCY], body=(JSON, LIST)),
    ("DELETE", "/api/v1/lists/{slug}"): Operation([path("slug"), IDEMPOTENCY]),
    ("POST", "/api/v1/lists/{slug}/members"): Operation(
        [path("slug"), IDEMPOTENCY], body=(JSON, MEMBERS)
    ),
    ("DELETE", "/api/v1/lists/{slug}/members"): Operation(
        [path("slug"), IDEMPOTENCY], body=(JSON, MEMBERS)
    ),
    ("GET", "/login"): Operation([q("redirect")], auth=False),
    ("POST", "/login"): Operation(
        [q("redirect")],
        body=(FORM, obj(email="string", password="string", redirect="string")),
        auth=False,
    ),
    ("GET", "/logout"): Operation(auth=False),
    ("GET", "/cli-auth"): Operation([q("code")], auth=False),
    ("GET", "/profile/api-keys"): Operation(auth=False),
    ("POST", "/profile/api-keys"): Operation(
        body=(FORM, obj(csrf="string", name="string")), auth=False
    ),
}

_ERROR = {
    "description": 'An error: `{"error": ...}` (data routes) or OAuth style',
    "content": {JSON: {"schema": obj(error="string", error_description="string")}},
}


def _operation(op: Operation, summary: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary,
        "parameters": op.parameters,
        "responses": {"200": {"description": "Success"}, "default": _ERROR},
    }
    if op.body is not None:
        media, schema = op.body
        out["requestBody"] = {"required": False, "content": {media: {"schema": schema}}}
    if op.auth:
        out["security"] = [{"bearer": []}]
    return out


def openapi_document(summaries: dict[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.0 document of :data:`OPERATIONS` (``summaries`` per operation, if given).

    Examples
    --------
    >>> sorted(openapi_document()["paths"]["/api/v1/files/{path}"])
    ['get', 'head']
    """
    paths: dict[str, dict[str, Any]] = {}
    for (method, route), op in OPERATIONS.items():
        summary = (summaries or {}).get((method, route), "")
        paths.setdefault(route, {})[method.lower()] = _operation(op, summary)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "campfire archive API",
            "version": __version__,
            "description": "The CAMPFIRE /api/v1 contract with campfire's extensions "
            "(docs/api-extensions.md), and the sign-in pages.",
        },
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def route_summaries(routes: list[Any], prefix: str = "") -> dict[tuple[str, str], str]:
    """``(method, path) -> first docstring line`` for every route of a routing table."""
    from starlette.routing import Mount

    out: dict[tuple[str, str], str] = {}
    for route in routes:
        if isinstance(route, Mount):
            out.update(route_summaries(route.routes, prefix + route.path))
            continue
        endpoint: Callable[..., Any] | None = getattr(route, "endpoint", None)
        doc = (getattr(endpoint, "__doc__", None) or "").strip().splitlines()
        template = prefix + _plain(route.path)
        for method in route.methods or ():
            out[(method, template)] = doc[0] if doc else ""
    return out


def _plain(template: str) -> str:
    """``/files/{path:path}`` as OpenAPI writes it: ``/files/{path}``."""
    import re

    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", template)


async def openapi(request: Request) -> Response:
    """``GET /openapi.json``: this server's OpenAPI document (no auth)."""
    summaries = route_summaries(request.app.routes)
    return json_response(openapi_document(summaries))


ROUTES = [Route("/openapi.json", openapi)]
