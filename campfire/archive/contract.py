"""The contract's shapes on the client side: the ``/version`` announcement, sync pages, and
Python filter arguments as ``/objects`` and ``/spectra/list`` query parameters (api-v1 6.1).

Examples
--------
>>> filter_params({"fields": ["uds"], "tags": ["lrd"]})
{'fields': 'uds', 'lists': 'lrd'}
>>> ServerInfo.from_json({"extensions": ["sync-gzip"]}).has("sync-gzip")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["SYNC_FEEDS", "ServerInfo", "SyncPage", "filter_params", "is_loopback"]

SYNC_FEEDS = ("objects", "spectra", "photometry")


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
    #: the campfire client versions the server supports (``campfire_client``, our extension);
    #: ``latest``/``minimum`` are the upstream client's, in its own numbering
    client_latest: str | None = None
    client_minimum: str | None = None
    extensions: frozenset[str] = frozenset()
    max_sync_limit: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ServerInfo:
        """Build from the ``/version`` body; anything missing means "plain contract"."""
        data = data or {}
        ext = data.get("extensions") or []
        limit = data.get("max_sync_limit")
        ours = data.get("campfire_client")
        ours = ours if isinstance(ours, dict) else {}
        return cls(
            client_latest=ours.get("latest"),
            client_minimum=ours.get("minimum"),
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


def is_loopback(url: str) -> bool:
    """True for an archive on this machine (gzip is used for every other one).

    Examples
    --------
    >>> is_loopback("http://127.0.0.1:8765/api/v1"), is_loopback("https://x.org/api/v1")
    (True, False)
    """
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")
