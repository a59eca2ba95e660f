"""HTTP transport and typed endpoints of the CAMPFIRE ``/api/v1`` archive.

:class:`ApiClient` is the only place campfire talks HTTP to the archive's JSON routes. It adds
the Bearer token from a credential provider (:mod:`campfire.archive.auth`), retries GETs on
429, 5xx,
dropped connections and broken bodies with exponential backoff plus jitter that honours
``Retry-After``, applies timeouts, refuses to open a socket when ``CAMPFIRE_OFFLINE=1``, and
turns every unexpected answer into the :mod:`campfire.errors` tree through one function,
:func:`raise_for_status`. Extensions (``docs/api-extensions.md``) are discovered from
``GET /version`` and used only when announced.

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

import contextlib
import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import orjson
import requests

from campfire._version import __version__
from campfire.config import Settings
from campfire.errors import (
    APIError,
    AuthenticationError,
    CampfireError,
    NotFoundError,
    OfflineError,
    RateLimitError,
)

__all__ = [
    "USER_AGENT",
    "ApiClient",
    "CredentialProvider",
    "RetryPolicy",
    "ServerInfo",
    "SyncPage",
    "raise_for_status",
]

USER_AGENT = f"campfire-python/{__version__}"
SYNC_FEEDS = ("objects", "spectra", "photometry")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_LOGIN_HINT = "Run: campfire login"


class CredentialProvider(Protocol):
    """What :class:`ApiClient` needs from a login (see :mod:`campfire.archive.auth`)."""

    def bearer(self) -> str:
        """The token to send now (refreshed first if it is about to expire)."""
        ...

    def refresh_after_401(self, rejected: str) -> bool:
        """Called once when ``rejected`` got a 401; True if a new token is worth trying."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How requests are retried: exponential backoff with jitter, honouring ``Retry-After``.

    Parameters
    ----------
    retries
        Retries after the first attempt (so ``retries + 1`` attempts in all).
    backoff
        The first delay in seconds; attempt ``n`` waits ``backoff * 2**n`` (capped).
    max_backoff
        Cap on one computed delay.
    max_retry_after
        A ``Retry-After`` longer than this is not waited for: the error is raised at once.
    sleep
        The function that waits (tests pass one that records the delays).

    Examples
    --------
    >>> RetryPolicy(backoff=1.0, jitter=0.0).delay(2)
    4.0
    >>> RetryPolicy().delay(0, retry_after=7.0)
    7.0
    """

    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base * (1.0 + self.jitter * random.random())


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    Examples
    --------
    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after(None) is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def decode_json(response: requests.Response) -> Any:
    """A response's JSON body: orjson (several times faster on sync pages), else the standard
    parser for what orjson refuses but Python reads (``NaN``, huge integers, non-UTF-8).

    Raises
    ------
    ValueError
        The body is not JSON at all.

    Examples
    --------
    >>> r = requests.Response()
    >>> r._content = b'{"data": [1, NaN]}'
    >>> decode_json(r)
    {'data': [1, nan]}
    """
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def raise_for_status(response: requests.Response) -> None:
    """Turn a non-2xx answer into the matching :class:`~campfire.errors.CampfireError`.

    401 and 403 become :class:`AuthenticationError` (with ``Run: campfire login``), 404
    :class:`NotFoundError`, 429 :class:`RateLimitError`, anything else :class:`APIError`; each
    keeps ``status_code``, the decoded ``response`` body and the ``X-Request-Id``.

    Examples
    --------
    >>> r = requests.Response(); r.status_code = 200
    >>> raise_for_status(r) is None
    True
    """
    code = response.status_code
    if 200 <= code < 300:
        return
    body = _body(response)
    detail = ""
    if isinstance(body, dict):
        detail = str(body.get("error_description") or body.get("error") or "")
    elif body:
        detail = str(body)
    kw: dict[str, Any] = {
        "status_code": code,
        "response": body,
        "request_id": response.headers.get("X-Request-Id"),
    }
    if code == 401:
        raise AuthenticationError(f"Invalid or expired credentials (HTTP 401). {_LOGIN_HINT}", **kw)
    if code == 403:
        why = f": {detail}" if detail else ""
        raise AuthenticationError(
            f"Access denied{why} (HTTP 403). If you should have access, {_LOGIN_HINT}", **kw
        )
    if code == 404:
        raise NotFoundError(detail or f"Not found: {response.url}", **kw)
    if code == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        hint = f" Try again in {wait:.0f} s." if wait is not None else " Try again later."
        raise RateLimitError(f"The archive is rate limiting requests (HTTP 429).{hint}", **kw)
    raise APIError(f"API error: {code} - {detail or body}", **kw)


@dataclass(frozen=True)
class ServerInfo:
    """What ``GET /version`` announced: versions, extensions and the largest sync page.

    Examples
    --------
    >>> info = ServerInfo.from_json({"latest": "0.1.0", "extensions": ["sync-gzip"]})
    >>> info.has("sync-gzip"), info.has("sync-deletions"), info.sync_page_size
    (True, False, 1000)
    """

    latest: str | None = None
    minimum: str | None = None
    server: str | None = None
    extensions: frozenset[str] = frozenset()
    max_sync_limit: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ServerInfo:
        """Build from the ``/version`` body; anything missing means "plain contract"."""
        data = data or {}
        ext = data.get("extensions") or []
        limit = data.get("max_sync_limit")
        return cls(
            latest=data.get("latest"),
            minimum=data.get("minimum"),
            server=data.get("server"),
            extensions=frozenset(str(e) for e in ext) if isinstance(ext, list) else frozenset(),
            max_sync_limit=int(limit) if isinstance(limit, int) and limit > 0 else None,
        )

    def has(self, extension: str) -> bool:
        """True when the server announced ``extension``."""
        return extension in self.extensions

    @property
    def sync_page_size(self) -> int:
        """The page size to ask the ``/sync/*`` feeds for."""
        if self.has("sync-large-pages") and self.max_sync_limit:
            return self.max_sync_limit
        return 1000


@dataclass
class SyncPage:
    """One page of a ``/sync/*`` feed: rows, the first page's counts, deleted keys."""

    rows: list[dict[str, Any]]
    offset: int
    total: int
    total_accessible_count: int | None = None
    deleted: list[Any] = field(default_factory=list)


def _csv(value: Any) -> str:
    if isinstance(value, str):
        return value
    return ",".join(str(v) for v in value)


_QUALITY = {"impossible": 1, "tentative": 2, "probable": 3, "secure": 4, "none": 0}


def filter_params(filters: Mapping[str, Any]) -> dict[str, str]:
    """Convert Python filter arguments to ``/objects`` and ``/spectra/list`` query params.

    Python-style names (``redshift_range``, ``tags``, ``cone_search``, lists) follow section 6.1
    of the contract; raw wire names (``redshift_min``, ``lists``, ...) pass through.

    Examples
    --------
    >>> filter_params({"fields": ["uds", "egs"], "redshift_range": (2, 3), "tags": ["lrd"]})
    {'fields': 'uds,egs', 'redshift_min': '2', 'redshift_max': '3', 'lists': 'lrd'}
    """
    out: dict[str, str] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key in ("redshift_range", "max_snr_range"):
            stem = key.removesuffix("_range")
            lo, hi = value
            if lo is not None:
                out[f"{stem}_min"] = str(lo)
            if hi is not None:
                out[f"{stem}_max"] = str(hi)
        elif key == "cone_search":
            out["ra"], out["dec"], out["radius"] = (str(v) for v in value)
        elif key == "tags":
            out["lists"] = _csv(value)
        elif key == "redshift_quality":
            items = [value] if isinstance(value, int | str) else list(value)
            out[key] = ",".join(
                str(_QUALITY.get(v.lower(), v) if isinstance(v, str) else int(v)) for v in items
            )
        elif key == "dq_flags" and isinstance(value, int):
            if value:
                out["dq_flags_include_any"] = str(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            out[key] = _csv(value)
        else:
            out[key] = str(value)
    return out


def _is_loopback(url: str) -> bool:
    """True for an archive on this machine (gzip is used for every other one).

    Examples
    --------
    >>> _is_loopback("http://127.0.0.1:8765/api/v1"), _is_loopback("https://x.org/api/v1")
    (True, False)
    """
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


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
        The :class:`RetryPolicy` for GETs.
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
        self.compress = not _is_loopback(settings.base_url) if compress is None else compress
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._session = session
        # a session given by the caller is shared by our threads: one request at a time
        self._session_lock: Any = (
            threading.Lock() if session is not None else contextlib.nullcontext()
        )
        self._local = threading.local()
        self._info: ServerInfo | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, session: requests.Session | None = None
    ) -> ApiClient:
        """A client using the login for ``settings`` (see ``auth.provider_for``)."""
        from campfire.archive.auth import provider_for

        settings = settings or Settings.from_env()
        return cls(settings, provider_for(settings), session=session)

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
        if self._session is not None:
            return self._session
        s: requests.Session | None = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = USER_AGENT
            if not self.compress:
                s.headers["Accept-Encoding"] = "identity"
            self._local.session = s
        return s

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
    ) -> requests.Response:
        """Send one request (with retries for GETs) and return the answer.

        With ``check`` (default) a non-2xx answer raises through :func:`raise_for_status`.
        ``token`` overrides the provider's token; ``auth=False`` sends no Authorization.
        """
        if self.settings.offline:
            raise OfflineError(
                f"Network access is disabled (CAMPFIRE_OFFLINE=1): cannot {method} {path}. "
                "Unset CAMPFIRE_OFFLINE to reach the archive."
            )
        retries = self.retry.retries if (method == "GET" if retry is None else retry) else 0
        url = self.url(path)
        refreshed = False
        attempt = 0
        while True:
            headers = {"User-Agent": USER_AGENT}
            bearer = token
            if bearer is None and auth:
                if self.credentials is None:
                    raise AuthenticationError(f"This request needs a login. {_LOGIN_HINT}")
                bearer = self.credentials.bearer()
            if bearer:
                headers["Authorization"] = f"Bearer {bearer}"
            error: Exception | None = None
            response: requests.Response | None = None
            try:
                with self._session_lock:
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        json=json,
                        headers=headers,
                        timeout=timeout or self.timeout,
                    )
            except requests.RequestException as exc:
                error = exc
            if response is not None and error is None:
                code = response.status_code
                if (
                    code == 401
                    and auth
                    and token is None
                    and not refreshed
                    and self.credentials is not None
                    and self.credentials.refresh_after_401(bearer or "")
                ):
                    refreshed = True
                    continue
                if code not in _RETRY_STATUSES or attempt >= retries:
                    if check:
                        raise_for_status(response)
                    return response
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > self.retry.max_retry_after:
                    raise_for_status(response)
            else:
                if attempt >= retries:
                    raise APIError(
                        f"Could not reach the archive at {self.base_url} ({type(error).__name__}: "
                        f"{error}). Check your network connection and CAMPFIRE_API_URL."
                    ) from error
                wait = None
            self.retry.sleep(self.retry.delay(attempt, wait))
            attempt += 1

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` and decode its JSON body (a broken body is retried like a 5xx)."""
        last: Exception | None = None
        for attempt in range(self.retry.retries + 1):
            response = self.request("GET", path, **kwargs)
            try:
                return decode_json(response)
            except ValueError as exc:
                last = exc
                if attempt < self.retry.retries:
                    self.retry.sleep(self.retry.delay(attempt))
        raise APIError(
            f"The archive sent an unreadable answer for {path} ({last}). Try again later."
        )

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

    def _query(self, path: str, sort: str, params: Mapping[str, Any]) -> tuple[list, dict]:
        p = filter_params(params)
        p.setdefault("limit", "1000")
        p.setdefault("offset", "0")
        p.setdefault("sort", sort)
        p.setdefault("sort_dir", "asc")
        body = self.get_json(path, params=p)
        return list(body.get("data") or []), dict(body.get("pagination") or {})

    def _iter(self, path: str, sort: str, params: Mapping[str, Any]) -> Iterator[dict]:
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
            raise CampfireError(
                "This archive does not accept spectrum_id on /redshift-fit; pass path=fits_path."
            )
        params = {"path": path} if path is not None else {"spectrum_id": spectrum_id}
        data: dict[str, Any] = self.get_json("/redshift-fit", params=params)
        return data

    def get_signed_url(self, fits_path: str) -> str:
        """``GET /spectra?path=``: a signed, expiring URL for one FITS file."""
        url = self.get_json("/spectra", params={"path": fits_path}).get("url")
        if not url:
            from campfire.errors import DownloadError

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
    ) -> Iterator[SyncPage]:
        """Page through ``/sync/<feed>`` (objects, spectra or photometry), as section 7 says.

        Counts come from the first page (``include_counts`` is sent only there). With
        ``include_deleted`` (the ``sync-deletions`` extension) the first page also carries the
        keys deleted or no longer accessible since ``updated_since``.
        """
        if feed not in SYNC_FEEDS:
            raise ValueError(f"unknown sync feed {feed!r}; expected one of {SYNC_FEEDS}")
        limit = limit or self.server_info().sync_page_size
        offset, total, accessible = 0, 0, None
        while True:
            params: dict[str, Any] = {"limit": limit, "offset": offset}
            if updated_since:
                params["updated_since"] = updated_since
                if include_deleted and offset == 0:
                    params["include_deleted"] = "true"
            if feed != "photometry":
                params["include_counts"] = "true" if offset == 0 else "false"
            body = self.get_json(f"/sync/{feed}", params=params)
            rows = list(body.get("data") or [])
            if offset == 0 or feed == "photometry":
                total = int((body.get("pagination") or {}).get("total") or 0)
            if offset == 0 and body.get("total_accessible_count") is not None:
                accessible = int(body["total_accessible_count"])
            deleted = list(body.get("deleted") or []) if offset == 0 else []
            yield SyncPage(rows, offset, total, accessible, deleted)
            offset += len(rows)
            if not rows or offset >= total:
                return
