"""The client's remote side: records and queries answered by the archive's API.

:func:`archive_client` builds the client's one :class:`~campfire.archive.api.ApiClient` with
its login (``Campfire.api``, and so every CLI command). :class:`RemoteRecords` composes the
archive's endpoints into what the client returns when it has no local catalog, or when
``remote=True``: an object found by ``/objects?search=`` with its
spectra from a cone search of ``/spectra/list``; a spectrum row; ``/metadata`` and the tags
(fetched once per client); and ``query_*``/``iter_*`` by paging ``/objects`` and
``/spectra/list`` (wire rows mapped to catalog rows by :mod:`campfire.client.wire`). It lives
in the client, not in :mod:`campfire.archive`, because it combines several endpoints and the
local catalog (downloaded spectra keep their ``local_path``).

Examples
--------
>>> remote = RemoteRecords(cf._online, cf.reader)  # doctest: +SKIP
>>> remote.object_row("J021737.42-051208.5")["spectra"][0]["grating"]  # doctest: +SKIP
'PRISM'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from campfire.client.wire import DEFAULT_LIMIT, object_row, page_window, spectrum_row, wire_params

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.archive.api import ApiClient
    from campfire.catalog.filters import Filters
    from campfire.catalog.reader import CatalogReader
    from campfire.config import Settings

__all__ = ["RemoteRecords", "archive_client"]

log = logging.getLogger("campfire.client")


def archive_client(settings: Settings, *, auto_refresh: bool = True) -> ApiClient:
    """The archive client with the login for ``settings``: the one place it is built.

    Examples
    --------
    >>> api = archive_client(cf.settings)  # doctest: +SKIP
    >>> api.whoami()["email"]  # doctest: +SKIP
    'user@example.com'
    """
    from campfire.archive.api import ApiClient
    from campfire.archive.auth import FileCredentialProvider, provider_for

    provider: Any = provider_for(settings)
    if not auto_refresh and isinstance(provider, FileCredentialProvider):
        provider = _NoRefresh(provider)
    return ApiClient(settings, provider)


class _NoRefresh:
    """A saved login used as is (``Campfire(auto_refresh=False)``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def bearer(self) -> str:
        """The saved access token."""
        token = self.inner.current().bearer
        assert token is not None
        return str(token)

    def refresh_after_401(self, rejected: str) -> bool:
        """Never refresh: the login is used as saved."""
        return False


class RemoteRecords:
    """Records, vocabulary and queries from the archive (see the module docstring).

    Parameters
    ----------
    api
        ``api(what)``: the archive client for a network call described by ``what``.
    reader
        The local catalog, used to give remote spectra rows their ``local_path``.

    Examples
    --------
    >>> RemoteRecords(cf._online, cf.reader).metadata()["fields"]  # doctest: +SKIP
    ['cosmos', 'uds']
    """

    def __init__(self, api: Callable[[str], ApiClient], reader: CatalogReader) -> None:
        self._api = api
        self.reader = reader
        #: rows per request when iter_* pages through the archive
        self.page_size = DEFAULT_LIMIT
        self._metadata: dict[str, Any] | None = None
        self._vocab: dict[str, list[str]] | None = None

    # -- single records ------------------------------------------------------------------------
    def _find(self, object_id: str, what: str) -> dict[str, Any] | None:
        """The ``/objects`` row an object name or target id names, or None."""
        api = self._api(what)
        body = api.get_json("/objects", params={"search": object_id, "limit": "50"})
        rows = body.get("data") or []
        match = [r for r in rows if r.get("object_id") == object_id] or [
            r
            for r in rows
            if any(t.get("target_id") == object_id for t in r.get("member_targets") or [])
        ]
        return match[0] if match else None

    def object_name(self, object_id: str) -> str | None:
        """The name of the object an object name or target id names on the archive, or None."""
        found = self._find(object_id, f"resolve {object_id!r}")
        return None if found is None else str(found["object_id"])

    def object_row(self, object_id: str) -> dict[str, Any] | None:
        """An object by name or target id, as a catalog row with ``spectra`` and ``tags``."""
        found = self._find(object_id, "get_object(remote)")
        if found is None:
            return None
        api = self._api("get_object(remote)")
        object_id = found["object_id"]
        row = object_row(found)
        spectra: list[dict[str, Any]] = []
        if row.get("ra") is not None and row.get("dec") is not None:
            near = api.get_json(
                "/spectra/list",
                params={
                    "ra": repr(row["ra"]),
                    "dec": repr(row["dec"]),
                    "radius": "2",
                    "limit": "500",
                },
            )
            spectra = [
                spectrum_row(s)
                for s in near.get("data") or []
                if (s.get("object_id") or s.get("parent_object_id")) == object_id
            ]
            spectra.sort(key=lambda s: s["spectrum_id"])
        row["spectra"] = spectra
        return row

    def spectrum(self, spectrum_id: str) -> dict[str, Any] | None:
        """One spectrum's row as the archive sends it (``object_id`` filled), or None."""
        api = self._api("get_spectrum(remote)")
        body = api.get_json("/spectra/list", params={"search": spectrum_id, "limit": "50"})
        match = [r for r in body.get("data") or [] if r.get("spectrum_id") == spectrum_id]
        if not match:
            return None
        row = dict(match[0])
        row.setdefault("object_id", row.get("parent_object_id"))
        return row

    # -- vocabulary ----------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """``/metadata`` (programs, fields, gratings, observations), fetched once."""
        if self._metadata is None:
            self._metadata = dict(self._api("get_metadata(remote)").get_metadata())
        return self._metadata

    def cached_metadata(self) -> dict[str, Any] | None:
        """``/metadata`` if this client fetched it already, else None (no request)."""
        return self._metadata

    def tags(self) -> list[dict[str, Any]]:
        """The archive's tags (``/sync/lists``)."""
        return list(self._api("get_tags(remote)").fetch_tags())

    def vocabulary(self) -> dict[str, list[str]]:
        """Names the archive knows, for validating query arguments (fetched once)."""
        if self._vocab is None:
            meta = self.metadata()
            api = self._api("checking tag names")
            self._vocab = {
                "fields": list(meta.get("fields") or []),
                "gratings": list(meta.get("gratings") or []),
                "observations": list(meta.get("observations") or []),
                "programs": [p["slug"] for p in meta.get("programs") or []],
                "tags": sorted(str(t["slug"]) for t in api.fetch_tags()),
            }
        return self._vocab

    # -- queries -------------------------------------------------------------------------------
    def query(self, kind: str, flt: Filters) -> Table:
        """``query_<kind>`` from the archive: at most the contract's 1000 rows unless a limit
        is given (a warning says how many more match).
        """
        from campfire.catalog.columns import OBJECT_COLUMNS, SPECTRUM_COLUMNS, build_table

        limit = DEFAULT_LIMIT if flt.limit is None else flt.limit  # the contract's default
        info: dict[str, int] = {}
        rows = list(self.iter_rows(kind, replace(flt, limit=limit), info))
        total = info.get("total", 0)
        if flt.limit is None and total > flt.offset + len(rows):
            log.warning(
                "query_%s: the archive has %d matching rows; returned %d (pass limit= or use "
                "iter_%s to get them all)",
                kind,
                total,
                len(rows),
                kind,
            )
        columns = SPECTRUM_COLUMNS if kind == "spectra" else OBJECT_COLUMNS
        cols = {c: [r.get(c) for r in rows] for c in [*columns, "distance"]}
        return build_table(cols, columns, distance=flt.cone is not None)

    def _page(
        self, kind: str, flt: Filters, size: int, offset: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        api = self._api(f"query_{kind}(remote)")
        params = {**wire_params(flt), "limit": str(size), "offset": str(offset)}
        path = "/spectra/list" if kind == "spectra" else "/objects"
        body = api.get_json(path, params=params)
        convert = spectrum_row if kind == "spectra" else object_row
        rows = [convert(r) for r in body.get("data") or []]
        if kind == "spectra" and rows and self.reader.is_local:
            found = self.reader.local_paths([r["spectrum_id"] for r in rows])
            for r in rows:
                r["local_path"] = found.get(r["spectrum_id"])
        return rows, dict(body.get("pagination") or {})

    def iter_rows(
        self, kind: str, flt: Filters, info: dict[str, int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows of ``/objects`` or ``/spectra/list``, paged; ``info['total']`` is the count."""
        offset, left = flt.offset, flt.limit
        per_page = max(1, int(self.page_size))
        size = min(left or per_page, per_page)
        if self._api(f"query_{kind}(remote)").server_info().server == "campfire":
            start = offset  # our server pages by exact offsets
        else:  # the contract rounds offsets down to a page (quirk 6): fetch an aligned window
            size, start = page_window(offset, size)
        skip = offset - start
        while left is None or left > 0:
            rows, page = self._page(kind, flt, size, start)
            if info is not None:
                info["total"] = int(page.get("total") or 0)
            chunk = rows[skip:]
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            yield from chunk
            start += len(rows)
            skip = 0
            if not rows or start >= int(page.get("total") or 0):
                return
