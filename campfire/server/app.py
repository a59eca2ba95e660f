"""The archive server as a Starlette app: :func:`create_app`.

Routes live under ``/api/v1`` (``campfire.server.routes.*``); the sign-in, device-approval and
API-key pages at the site root. Every error answer has a JSON body. JSON answers over 1 KiB are
gzip-compressed for clients that accept it; file downloads never are (Range must address the
stored bytes).

Examples
--------
>>> app = create_app("archive/")  # doctest: +SKIP
>>> import uvicorn; uvicorn.run(app, port=8765)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from campfire.server.archive import Archive
from campfire.server.catalog.kept import KeptAnswers
from campfire.server.http.accesslog import AccessLogMiddleware
from campfire.server.http.bodylimit import BodyLimitMiddleware, BodyLimits
from campfire.server.http.faults import FaultMiddleware, FaultRules, fault_routes
from campfire.server.http.handoff import HandOffMiddleware
from campfire.server.http.limiter import LoginThrottle, RateLimitMiddleware
from campfire.server.http.replies import ApiError, json_response
from campfire.server.http.signing import UrlSigner
from campfire.server.routes import (
    auth,
    catalog,
    comments,
    deploy,
    files,
    inspections,
    lists,
    openapi,
    pages,
    sky,
    sync,
)
from campfire.server.storage.database import NulInTextError
from campfire.server.storage.filestore import FileStore

__all__ = ["create_app"]

log = logging.getLogger("campfire.server")
_NO_GZIP = ("/api/v1/files/", "/api/v1/deploy/upload/")
#: request body caps above the default (1 MiB): deploy uploads are checked by their route
BODY_ALLOWANCES = {"/api/v1/deploy/upload/": deploy.MAX_UPLOAD_BYTES}


class _SelectiveGZip:
    """GZip everything except raw file transfers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1024, compresslevel=5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith(_NO_GZIP):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        msg = f"Not found: {request.url.path} (the API lives under /api/v1; see /api/v1/version)"
    elif exc.status_code == 405:
        msg = f"Method {request.method} not allowed on {request.url.path}"
    else:
        msg = str(exc.detail)
    return json_response({"error": msg}, exc.status_code, dict(exc.headers or {}))


async def _too_deep(request: Request, exc: Exception) -> Response:
    """A request nested too deeply for a parser (JSON, forms) is the caller's mistake: 400."""
    log.warning("request too deeply nested on %s %s", request.method, request.url.path)
    return json_response({"error": "The request is nested too deeply to read"}, 400)


async def _nul_in_text(request: Request, exc: Exception) -> Response:
    """A NUL character in text the catalog would compare or store (PostgreSQL cannot): 400."""
    return json_response({"error": "Invalid parameter: text may not contain NUL characters"}, 400)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response({"error": "Internal server error", "details": type(exc).__name__}, 500)


def create_app(
    archive_dir: str | os.PathLike[str],
    *,
    faults: bool = False,
    rate_limit: int | None = None,
    secret: str | bytes | None = None,
    database: str | None = None,
    store: str | FileStore | None = None,
    hand_off_after: float | None = None,
) -> Starlette:
    """Build the archive server for one archive directory.

    Parameters
    ----------
    archive_dir
        The archive (``archive.db`` + ``store/``); created empty when missing.
    faults
        Enable the test-only fault switch (``/api/v1/_test/faults``).
    rate_limit
        Requests per minute per caller; None (default) means no limit.
    secret
        Server secret for tokens and signed URLs (default: the archive's own, kept in its DB).
    database
        The catalog database URL (``sqlite:///path`` or ``postgresql://...``; default: the
        archive directory's own, see :class:`Archive`).
    store
        The file store's URL (``file:///dir``, ``s3://bucket/prefix``) or an open store
        (default: the one the archive was last opened with, else ``<archive>/store``).
    hand_off_after
        Close the connection after any request that took longer than this many seconds, so
        the client's next one goes to a free worker (``campfire serve --workers N``; see
        :mod:`campfire.server.http.handoff`). None (default): keep every connection.

    Returns
    -------
    Starlette
        The ASGI app; ``app.state.archive`` is the open :class:`Archive`.
    """
    if rate_limit is not None and rate_limit < 1:
        raise ValueError(
            f"rate_limit must be a positive number of requests per minute, got {rate_limit}"
        )
    archive = Archive(archive_dir, secret=secret, database=database, store=store)
    rules = FaultRules()
    api_routes: list[Route | Mount] = [
        *catalog.ROUTES,
        *sync.ROUTES,
        *files.ROUTES,
        *sky.ROUTES,
        *auth.ROUTES,
        *deploy.ROUTES,
        *inspections.ROUTES,
        *comments.ROUTES,
        *lists.ROUTES,
        *openapi.ROUTES,
    ]
    if faults:
        api_routes += fault_routes(rules)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        archive.close()

    app = Starlette(
        routes=[Mount("/api/v1", routes=api_routes), *pages.ROUTES],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            RecursionError: _too_deep,
            NulInTextError: _nul_in_text,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.archive = archive
    app.state.signer = UrlSigner(archive.secret)
    app.state.rate_limit = rate_limit
    app.state.poll_tracker = auth.PollTracker(archive.db)
    # per process by design: page_cursors only remembers where pages ended (a miss falls back
    # to OFFSET); fault_rules is the test-only switch of the one in-thread test server
    app.state.page_cursors = sync.PageCursors()
    app.state.kept = KeptAnswers()  # answers kept until the catalog generation moves
    app.state.fault_rules = rules
    app.state.login_throttle = LoginThrottle(archive.db)
    # innermost first: gzip, body caps, the rate limit, faults, then the access log (outermost,
    # so it sees and stamps every answer, injected faults and 429s included)
    app.add_middleware(_SelectiveGZip)
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits(BODY_ALLOWANCES))
    if rate_limit is not None:
        app.add_middleware(RateLimitMiddleware, per_minute=rate_limit, archive=archive)
    if faults:
        app.add_middleware(FaultMiddleware, rules=rules)
    app.add_middleware(AccessLogMiddleware)
    if hand_off_after is not None:  # outermost: it times the whole answer
        app.add_middleware(HandOffMiddleware, after_seconds=hand_off_after)
    return app
