"""The typed endpoints of the CAMPFIRE ``/api/v1`` archive: :class:`ApiClient`.

:class:`ApiClient` turns the archive's JSON routes into Python methods. It adds the Bearer token
from a :class:`CredentialProvider` (passed in; :mod:`campfire.archive.auth` makes them), and
sends everything through one :class:`~campfire.archive.transport.Transport`: sessions, TLS and
proxies, the offline switch (``CAMPFIRE_OFFLINE=1``), and one retry loop
(:class:`~campfire.archive.backoff.RetryPolicy`) in which GETs are retried on 429, 5xx, dropped
connections and broken bodies with exponential backoff plus jitter that honours
``Retry-After``. Unexpected answers become :mod:`campfire.errors` through
:func:`~campfire.archive.status.raise_for_status`. Extensions (``docs/api-extensions.md``) are
discovered from ``GET /version`` and used only when announced.

Examples
--------
>>> from campfire.config import Settings
>>> api = ApiClient(Settings.from_env({"CAMPFIRE_OFFLINE": "1"}))
>>> try:
...     api.version()
... except Exception as exc:
...     type(exc).__name__
'OfflineError'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote

import requests

from campfire.archive.backoff import Retryable, RetryPolicy
from campfire.archive.contract import (
    SYNC_FEEDS,
    ServerInfo,
    SyncPage,
    filter_params,
    is_loopback,
)
from campfire.archive.status import LOGIN_HINT, decode_json, raise_for_status
from campfire.archive.transport import Transport
from campfire.config import Settings
from campfire.errors import (
    APIError,
    AuthenticationError,
    DownloadError,
    NotFoundError,
    ValidationError,
)

__all__ = ["ApiClient", "CredentialProvider", "PageParser"]

log = logging.getLogger(__name__)

#: ``parse(body, offset, total)``: one decoded sync page, checked, as a :class:`SyncPage`
PageParser = Callable[[Any, int, "int | None"], SyncPage]


def _plain_page(body: Any, offset: int, total: int | None) -> SyncPage:
    """A sync page read as the contract says (no row checks), or an :class:`APIError`."""
    try:
        rows = list(body.get("data") or [])
        own = int((body.get("pagination") or {}).get("total") or 0)
        accessible = body.get("total_accessible_count") if offset == 0 else None
        deleted = list(body.get("deleted") or []) if offset == 0 else []
        return SyncPage(
            rows, offset, own if total is None else total,
            None if accessible is None else int(accessible), deleted,
        )  # fmt: skip
    except (AttributeError, TypeError, ValueError) as exc:
        raise APIError(
            f"The archive sent a malformed sync page at offset {offset} ({exc}). Try again "
            "later; if it persists, tell the archive's operators."
        ) from None


def _page_size(body: Any, asked: int) -> int:
    """The page size the archive used: the ``pagination.limit`` it echoed, if smaller."""
    echoed = (body.get("pagination") or {}).get("limit") if isinstance(body, dict) else None
    if isinstance(echoed, int) and not isinstance(echoed, bool) and 0 < echoed < asked:
        return echoed
    return asked


class CredentialProvider(Protocol):
    """What :class:`ApiClient` needs from a login (see :mod:`campfire.archive.auth`)."""

    def bearer(self) -> str:
        """The token to send now (refreshed first if it is about to expire)."""
        ...

    def refresh_after_401(self, rejected: str) -> bool:
        """Called once when ``rejected`` got a 401; True if a new token is worth trying."""
        ...


class ApiClient:
    """The archive's ``/api/v1`` routes as Python methods.

    Parameters
    ----------
    settings
        Where the archive is (``base_url``) and whether the network is allowed (``offline``).
    credentials
        A :class:`CredentialProvider`; None for the routes that need no login.
    session
        A :class:`requests.Session` to use for every request (serialised, since sessions are
        not thread-safe); by default each thread gets its own.
    retry
        The :class:`RetryPolicy` for GETs (and for downloads through this client).
    timeout
        ``(connect, read)`` seconds for each request.
    compress
        Ask for gzip-compressed answers (``sync-gzip``); by default yes, except from an archive
        on this machine, where compressing costs more time than it saves.
    plain
        Ignore the server's extensions and speak the plain contract (as against the upstream
        archive): for comparing behaviour, or to work around a misbehaving extension.

    Examples
    --------
    >>> from campfire.config import Settings
    >>> api = ApiClient(Settings.from_env({"CAMPFIRE_API_URL": "http://127.0.0.1:9/api/v1"}))
    >>> api.url("/objects")
    'http://127.0.0.1:9/api/v1/objects'
    """

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialProvider | None = None,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        plain: bool = False,
        compress: bool | None = None,
    ) -> None:
        self.settings = settings
        self.plain = plain
        self.compress = not is_loopback(settings.base_url) if compress is None else compress
        self.credentials = credentials
        self.transport = Transport(
            settings, session=session, retry=retry, timeout=timeout, compress=self.compress
        )
        self._info: ServerInfo | None = None

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy (the transport's: one policy for JSON and downloads)."""
        return self.transport.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self.transport.retry = policy

    @property
    def timeout(self) -> tuple[float, float]:
        """``(connect, read)`` seconds for each request."""
        return self.transport.timeout

    @property
    def base_url(self) -> str:
        """The archive base URL, including ``/api/v1``."""
        return self.settings.base_url

    def url(self, path: str) -> str:
        """Absolute URL of an API ``path`` (plain concatenation, as the contract says)."""
        return self.base_url + path

    @property
    def session(self) -> requests.Session:
        """The session for the calling thread (the one given, or one per thread)."""
        return self.transport.session

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        auth: bool = True,
        token: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        retry: bool | None = None,
        check: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one request (with retries for GETs) and return the answer.

        With ``check`` (default) a non-2xx answer raises through :func:`raise_for_status`.
        ``token`` overrides the provider's token; ``auth=False`` sends no Authorization.
        ``retry`` forces retries on (or off); by default only GETs are retried (a write is
        safe to retry only with an ``Idempotency-Key`` in ``headers``).
        """
        response: requests.Response = self._call(
            method, path, params=params, json=json, auth=auth, token=token, timeout=timeout,
            retry=retry, check=check, headers=headers,
        )  # fmt: skip
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` and decode its JSON body (a broken body is retried like a 5xx).

        Takes the keyword arguments of :meth:`request`.
        """
        return self._call("GET", path, decode=True, **kwargs)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        auth: bool = True,
        token: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        retry: bool | None = None,
        check: bool = True,
        decode: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One retry loop around send, 401 refresh, status check and decoding."""
        self.transport.require_online(f"{method} {path}")
        retries = self.retry.retries if (method == "GET" if retry is None else retry) else 0
        url = self.url(path)
        refreshed = False

        def attempt(n: int) -> Any:
            nonlocal refreshed
            while True:  # twice at most: once more with a refreshed login after a 401
                bearer = token
                if bearer is None and auth:
                    if self.credentials is None:
                        raise AuthenticationError(f"This request needs a login. {LOGIN_HINT}")
                    bearer = self.credentials.bearer()
                sent = {"Authorization": f"Bearer {bearer}"} if bearer else {}
                response = self.transport.send(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={**(headers or {}), **sent},
                    timeout=timeout,
                )
                if (
                    response.status_code == 401
                    and auth
                    and token is None
                    and not refreshed
                    and self.credentials is not None
                    and self.credentials.refresh_after_401(bearer or "")
                ):
                    refreshed = True
                    continue
                break
            again = self.transport.retryable_status(response)
            if again is not None and (check or n < retries):
                raise again
            if check:
                raise_for_status(response)
            if not decode:
                return response
            try:
                return decode_json(response)
            except ValueError as exc:
                raise Retryable(
                    APIError(
                        f"The archive sent an unreadable answer for {path} ({exc}). "
                        "Try again later."
                    )
                ) from exc

        return self.retry.run(attempt, retries=retries)

    # -- discovery and login helpers -----------------------------------------------------------

    def version(self) -> dict[str, Any]:
        """``GET /version`` (no login): versions and, on our server, the extensions."""
        data: dict[str, Any] = self.get_json("/version", auth=False, timeout=(5.0, 10.0))
        return data

    def server_info(self, *, refresh: bool = False) -> ServerInfo:
        """The server's announced extensions (cached); the plain contract if ``/version`` fails."""
        if self._info is None or refresh:
            try:
                data = self.version()
            except (APIError, NotFoundError):
                data = {}
            if self.plain:
                data = {k: data.get(k) for k in ("latest", "minimum")}
            self._info = ServerInfo.from_json(data)
        return self._info

    def whoami(self, token: str | None = None) -> dict[str, Any]:
        """``GET /auth/whoami``: the logged-in user (``token`` to check a specific token)."""
        data: dict[str, Any] = self.get_json("/auth/whoami", token=token, timeout=(10.0, 10.0))
        return data

    # -- queries -----------------------------------------------------------------------------

    def _query(
        self, path: str, sort: str, params: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        p = filter_params(params)
        p.setdefault("limit", "1000")
        p.setdefault("offset", "0")
        p.setdefault("sort", sort)
        p.setdefault("sort_dir", "asc")
        body = self.get_json(path, params=p)
        return list(body.get("data") or []), dict(body.get("pagination") or {})

    def _iter(self, path: str, sort: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        while True:
            rows, page = self._query(path, sort, {**params, "offset": offset})
            yield from rows
            offset += len(rows)
            if not rows or offset >= int(page.get("total") or 0):
                return

    def query_objects(self, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """``GET /objects``: one page of objects and its ``pagination``."""
        return self._query("/objects", "object_id", params)

    def iter_objects(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every object matching the filters, paging ``/objects``."""
        return self._iter("/objects", "object_id", params)

    def query_spectra(self, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """``GET /spectra/list``: one page of spectra and its ``pagination``."""
        return self._query("/spectra/list", "spectrum_id", params)

    def iter_spectra(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every spectrum matching the filters, paging ``/spectra/list``."""
        return self._iter("/spectra/list", "spectrum_id", params)

    def fetch_tags(self) -> list[dict[str, Any]]:
        """``GET /sync/lists``: the tags (object lists) the user can see."""
        return list(self.get_json("/sync/lists", timeout=(10.0, 30.0)).get("data") or [])

    def get_metadata(self) -> dict[str, Any]:
        """``GET /metadata``: programs, fields, gratings and observations."""
        data: dict[str, Any] = self.get_json("/metadata")
        return data

    def get_observations(self) -> list[dict[str, Any]]:
        """``GET /observations``: one row per observation with counts and provenance."""
        return list(self.get_json("/observations", timeout=(10.0, 30.0)).get("observations") or [])

    def fetch_manifest(self, observation: str) -> dict[str, Any]:
        """``GET /observations/{obs}/manifest``: every file of an observation with signed URLs."""
        try:
            data: dict[str, Any] = self.get_json(
                f"/observations/{quote(observation, safe='')}/manifest", timeout=(10.0, 60.0)
            )
        except NotFoundError as exc:
            raise NotFoundError(
                f"Observation '{observation}' not found or you don't have access",
                status_code=exc.status_code,
                response=exc.response,
                request_id=exc.request_id,
            ) from exc
        return data

    def get_spectrum_data(self, spectrum_id: str) -> dict[str, Any]:
        """``GET /spectrum?spectrum_id=``: the plotting JSON of one spectrum."""
        data: dict[str, Any] = self.get_json("/spectrum", params={"spectrum_id": spectrum_id})
        return data

    def get_redshift_fit_data(
        self, spectrum_id: str | None = None, *, path: str | None = None
    ) -> dict[str, Any]:
        """``GET /redshift-fit``: by ``spectrum_id`` when the server announces it, else ``path``."""
        if path is None and not self.server_info().has("redshift-fit-spectrum-id"):
            raise ValidationError(
                "This archive does not accept spectrum_id on /redshift-fit; pass path=fits_path."
            )
        params = {"path": path} if path is not None else {"spectrum_id": spectrum_id}
        data: dict[str, Any] = self.get_json("/redshift-fit", params=params)
        return data

    def get_signed_url(self, fits_path: str) -> str:
        """``GET /spectra?path=``: a signed, expiring URL for one FITS file."""
        url = self.get_json("/spectra", params={"path": fits_path}).get("url")
        if not url:
            raise DownloadError(f"The archive returned no download URL for {fits_path}")
        return str(url)

    def get_cutout(self, object_id: str, size: int | None = None, fov: float = 5.0) -> bytes:
        """``GET /cutout``: a PNG image centred on the object."""
        params: dict[str, Any] = {"object_id": object_id, "fov": fov}
        if size is not None:
            params["size"] = size
        return self.request("GET", "/cutout", params=params, timeout=(10.0, 30.0)).content

    def get_shutters(self, object_id: str, radius: float = 5.0) -> dict[str, Any]:
        """``GET /shutters``: MSA shutter geometry within ``radius`` arcsec of the object."""
        data: dict[str, Any] = self.get_json(
            "/shutters", params={"object_id": object_id, "fov": radius}, timeout=(10.0, 30.0)
        )
        return data

    # -- sync feeds --------------------------------------------------------------------------

    def iter_sync_pages(
        self,
        feed: str,
        *,
        updated_since: str | None = None,
        limit: int | None = None,
        include_deleted: bool = False,
        parse: PageParser | None = None,
    ) -> Iterator[SyncPage]:
        """Page through ``/sync/<feed>`` (objects, spectra, photometry; ``comments`` with the
        ``inspections`` extension), as section 7 says.

        Counts come from the first page (``include_counts`` is sent only there). With
        ``include_deleted`` (the ``sync-deletions`` extension) the first page also carries the
        keys deleted or no longer accessible since ``updated_since``. ``parse(body, offset,
        total)`` checks and converts each decoded page (the sync passes
        :func:`campfire.sync.pages.parse_page`); a page it cannot read raises
        :class:`~campfire.errors.APIError`.

        Paging is bounded whatever the archive says: it stops at an empty page, at a short
        one (fewer rows than the page size), and raises :class:`~campfire.errors.APIError`
        when the pages go on past what the first page's total allows (a total that never
        shrinks), so a broken or hostile archive cannot keep a sync paging forever.
        """
        if feed not in (*SYNC_FEEDS, "comments"):
            raise ValueError(f"unknown sync feed {feed!r}; expected one of {SYNC_FEEDS}")
        limit = limit or self.server_info().sync_page_size
        read = parse or _plain_page
        offset, total, pages, budget, announced = 0, 0, 0, 0, 0
        while True:
            params: dict[str, Any] = {"limit": limit, "offset": offset}
            if updated_since:
                params["updated_since"] = updated_since
                if include_deleted and offset == 0:
                    params["include_deleted"] = "true"
            if feed != "photometry":
                params["include_counts"] = "true" if offset == 0 else "false"
            body = self.get_json(f"/sync/{feed}", params=params)
            first = offset == 0
            page = read(body, offset, None if first or feed == "photometry" else total)
            total = page.total
            if first:  # every later page must bring the feed nearer this total
                announced = total
                budget = -(-total // limit) + max(3, total // limit // 10)
            yield page
            pages += 1
            offset += len(page.rows)
            if not page.rows or offset >= total:
                return
            if len(page.rows) < _page_size(body, limit):
                log.warning(
                    "/sync/%s: the archive announced %d rows but sent a short page (%d rows at "
                    "offset %d); stopping there",
                    feed,
                    total,
                    len(page.rows),
                    page.offset,
                )
                return
            if pages >= budget:
                raise APIError(
                    f"The archive kept sending /sync/{feed} pages past the total it announced "
                    f"({pages} pages of {limit}, {offset} rows; the first page said "
                    f"{announced}). Sync stopped, the "
                    "catalog is unchanged; try again later, or tell the archive's operators."
                )
