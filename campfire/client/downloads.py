"""``cf.download()`` and ``cf.download_urls()``: FITS files of a selection, fetched or listed.

Both take the same arguments. The filters of the reference (``observations``, ``programs``,
``fields``, ``gratings``) pick files by where they come from; a selection picks them by what
they are: ``object_ids`` (object names or target ids, whatever ``get_object`` accepts),
``spectrum_ids`` and ``tags``, or a table returned by ``query_objects`` or ``query_spectra``
passed as the first argument (``cf.download(table)``). A selection is the union of what it
names, narrowed by the filters given with it. Both run a quick incremental sync first, then
plan from the catalog (:class:`~campfire.download.service.DownloadService`).

Examples
--------
>>> lrds = cf.query_objects(tags=["lrd"])  # doctest: +SKIP
>>> cf.download(lrds, gratings=["PRISM"])  # doctest: +SKIP
DownloadResult(downloaded=12 files, 45.0 MB, failed=0)
>>> cf.download_urls(object_ids=["ember_uds_p4_123456"])["url", "sha256"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from campfire.errors import ValidationError

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.client.core import Campfire
    from campfire.download.plan import Plan
    from campfire.download.result import DownloadResult

__all__ = ["download", "download_urls", "id_list"]

URL_COLUMNS = ("spectrum_id", "observation", "path", "url", "sha256", "size", "expires_at")


def id_list(what: str, value: Any) -> list[str] | None:
    """``value`` as a list of ids (None stays None; one string is one id).

    Examples
    --------
    >>> id_list("object_ids", "J1"), id_list("tags", ("lrd", "blagn")), id_list("tags", None)
    (['J1'], ['lrd', 'blagn'], None)
    """
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    try:
        items = list(items.tolist() if hasattr(items, "tolist") else items)
    except TypeError:
        raise ValidationError(f"{what} must be a list of strings (got {value!r})") from None
    out = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"{what} must hold non-empty strings (got {item!r})")
        out.append(item.strip())
    return out


def _from_table(table: Any) -> tuple[list[str] | None, list[str] | None]:
    """(object_ids, spectrum_ids) of a query table: its spectrum ids if it has them."""
    names = list(getattr(table, "colnames", None) or [])
    for column, slot in (("spectrum_id", 1), ("object_id", 0)):
        if column in names:
            col = table[column]
            values = [col] if isinstance(col, str) else [v for v in col.tolist() if v]
            out: list[list[str] | None] = [None, None]
            out[slot] = [str(v) for v in values]
            return out[0], out[1]
    raise ValidationError(
        f"cf.download(table) needs a table with a spectrum_id or object_id column (the result "
        f"of query_spectra or query_objects); this one has {', '.join(names) or 'no columns'}"
    )


def _plan(
    self: Campfire,
    observations: Any,
    programs: list[str] | None,
    fields: list[str] | None,
    gratings: list[str] | None,
    stale_only: bool,
    object_ids: Any,
    spectrum_ids: Any,
    tags: Any,
    every_file: bool,
) -> Plan:
    if hasattr(observations, "colnames"):  # cf.download(table)
        objects, spectra = _from_table(observations)
        observations = None
        object_ids = [*(id_list("object_ids", object_ids) or []), *(objects or [])]
        spectrum_ids = [*(id_list("spectrum_ids", spectrum_ids) or []), *(spectra or [])]
    from campfire.download.plan import Selection

    selection = Selection(
        observations=id_list("observations", observations),
        programs=id_list("programs", programs),
        fields=id_list("fields", fields),
        gratings=id_list("gratings", gratings),
        stale_only=stale_only,
        object_ids=id_list("object_ids", object_ids),
        spectrum_ids=id_list("spectrum_ids", spectrum_ids),
        tags=id_list("tags", tags),
    )
    return self.downloads.prepare(selection, every_file=every_file)


def download(
    self: Campfire,
    observations: list[str] | Table | None = None,
    programs: list[str] | None = None,
    fields: list[str] | None = None,
    gratings: list[str] | None = None,
    stale_only: bool = False,
    max_workers: int = 4,
    progress: Callable[..., None] | None = None,
    *,
    object_ids: list[str] | None = None,
    spectrum_ids: list[str] | None = None,
    tags: list[str] | None = None,
) -> DownloadResult:
    """Download FITS files chosen from the synced catalog (verified by SHA-256).

    Like ``campfire download``, it first runs a quick incremental sync so hashes and
    access are current, then plans from the catalog alone; only files not yet downloaded (or
    replaced on the archive since) are fetched.

    Parameters
    ----------
    observations, programs, fields, gratings
        Files of these observations, programs, fields and gratings (lists; different kinds
        combine with AND). ``observations`` may instead be a table from ``query_objects``
        or ``query_spectra``: its objects' (or its spectra's) files.
    stale_only
        Only files the archive has replaced since they were downloaded.
    max_workers
        Parallel downloads.
    progress
        ``progress(kind, observation, amount, total)``, see
        :func:`campfire.download.run.download`.
    object_ids, spectrum_ids, tags
        A selection: every spectrum of these objects (object names or target ids), these
        spectra, and every spectrum of the objects with these tags; their union, narrowed by
        the filters above.

    Returns
    -------
    DownloadResult
        Counts, bytes, files and failures; ``repr`` is a one-line summary.

    Raises
    ------
    ValidationError
        Nothing was chosen, or a name, id or tag is unknown (the message says which).

    Examples
    --------
    >>> cf.download(observations=["ember_uds_p4"])  # doctest: +SKIP
    >>> cf.download(cf.query_objects(tags=["lrd"]), gratings=["PRISM"])  # doctest: +SKIP
    >>> cf.download(object_ids=["ember_uds_p4_123456"], tags=["blagn"])  # doctest: +SKIP
    >>> cf.download(stale_only=True)  # doctest: +SKIP
    """
    plan = _plan(
        self, observations, programs, fields, gratings, stale_only, object_ids, spectrum_ids,
        tags, every_file=False,
    )  # fmt: skip
    return self.downloads.run(plan, workers=max_workers, progress=progress)


def download_urls(
    self: Campfire,
    observations: list[str] | Table | None = None,
    programs: list[str] | None = None,
    fields: list[str] | None = None,
    gratings: list[str] | None = None,
    stale_only: bool = False,
    *,
    object_ids: list[str] | None = None,
    spectrum_ids: list[str] | None = None,
    tags: list[str] | None = None,
) -> Table:
    """Signed URLs of the selected files, with SHA-256 and size, without downloading them.

    For ``curl``, ``wget``, ``aria2c`` or a cluster's transfer tool; every selected file is
    listed, downloaded or not. Takes the same selection as :func:`download` (a query table
    first, or the keywords). The URLs expire (``expires_at``, six hours on the reference
    archive).

    Returns
    -------
    astropy.table.Table
        ``spectrum_id, observation, path, url, sha256, size, expires_at``; ``path`` is
        ``<observation>/<file>``, where ``campfire download`` puts it under ``products/``;
        ``sha256`` is the bare hex digest.

    Examples
    --------
    >>> urls = cf.download_urls(tags=["lrd"], gratings=["PRISM"])  # doctest: +SKIP
    >>> urls["url"][0]  # doctest: +SKIP
    'https://.../files/spectra/ember_uds_p4/ember_uds_p4_prism_clear_123456_spec.fits?...'
    """
    from campfire.catalog.columns import build_table

    plan = _plan(
        self, observations, programs, fields, gratings, stale_only, object_ids, spectrum_ids,
        tags, every_file=True,
    )  # fmt: skip
    rows = self.downloads.urls(plan)
    cols = {c: [r.get(c) for r in rows] for c in URL_COLUMNS}
    return build_table(cols, {c: ("int" if c == "size" else "str", None) for c in URL_COLUMNS})
