"""What the catalog knows about downloads: the reads download planning and listing need.

:mod:`campfire.download.plan` decides what to fetch from these rows alone (no per-file
requests): :func:`known_names` for checking ``--obs``/``--program``/... names,
:func:`download_rows` for the spectra a filter selects with their server and local hashes,
and :func:`observation_summary` for the per-observation overview ``campfire download`` and
``campfire status`` print. Writes of download state are :class:`~campfire.catalog.store.Store`
methods (``record_download``, ``forget_downloads``, the ``sync_log`` rows).

Examples
--------
>>> with Store(db) as store:  # doctest: +SKIP
...     known_names(store.conn, "grating")
['G395M', 'PRISM']
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "FILTER_COLUMNS",
    "download_rows",
    "known_names",
    "observation_count",
    "observation_summary",
    "stale_files",
]

#: download filter -> its ``spectra`` column
FILTER_COLUMNS = {
    "observations": "observation",
    "programs": "program_slug",
    "fields": "field",
    "gratings": "grating",
}


def known_names(conn: sqlite3.Connection, column: str) -> list[str]:
    """The distinct non-null values of a filter column of ``spectra``, sorted.

    Examples
    --------
    >>> known_names(store.conn, "observation")  # doctest: +SKIP
    ['capers_cosmos_p1', 'ember_uds_p4']
    """
    if column not in FILTER_COLUMNS.values():
        raise ValueError(f"not a download filter column: {column!r}")
    return [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT {column} FROM spectra WHERE {column} IS NOT NULL ORDER BY 1"
        )
    ]


def download_rows(conn: sqlite3.Connection, wanted: Mapping[str, Sequence[str]]) -> Iterator[Any]:
    """Spectra whose columns match ``wanted`` (column -> names; AND across, OR within), with
    their server and local file state, ordered by observation and spectrum id.

    Examples
    --------
    >>> rows = download_rows(store.conn, {"grating": ["PRISM"]})  # doctest: +SKIP
    >>> next(rows)["local_path"]  # doctest: +SKIP
    """
    where, args = [], []
    for column, names in wanted.items():
        if column not in FILTER_COLUMNS.values():
            raise ValueError(f"not a download filter column: {column!r}")
        if names:
            where.append(f"{column} IN ({','.join('?' * len(names))})")
            args += list(names)
    sql = (
        "SELECT spectrum_id, observation, grating, fits_path, file_hash, file_size, local_path, "
        "local_file_hash, program_slug, field FROM spectra"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY observation, spectrum_id"
    )
    yield from conn.execute(sql, args)


def observation_summary(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per observation: program, field, spectra, files downloaded, their size, stale files.

    Examples
    --------
    >>> observation_summary(store.conn)[0]["spectra"]  # doctest: +SKIP
    1350
    """
    rows = conn.execute(
        "SELECT observation, MIN(program_slug) AS program, MIN(field) AS field, "
        "COUNT(*) AS spectra, COUNT(local_path) AS local, "
        "COALESCE(SUM(local_file_size), 0) AS local_bytes, "
        "SUM(local_path IS NOT NULL AND file_hash IS NOT NULL AND local_file_hash IS NOT "
        "file_hash) AS stale FROM spectra GROUP BY observation ORDER BY observation"
    )
    return [dict(zip([d[0] for d in rows.description], r, strict=True)) for r in rows]


def stale_files(conn: sqlite3.Connection) -> list[str]:
    """Local paths whose server ``file_hash`` differs from the downloaded file's hash.

    Examples
    --------
    >>> stale_files(store.conn)  # doctest: +SKIP
    ['ember_uds_p4/ember_uds_p4_prism_clear_123456_spec.fits']
    """
    return [
        r[0]
        for r in conn.execute(
            "SELECT local_path FROM spectra WHERE local_path IS NOT NULL AND file_hash IS NOT "
            "NULL AND local_file_hash IS NOT file_hash ORDER BY local_path"
        )
    ]


def observation_count(conn: sqlite3.Connection) -> int:
    """Distinct observations among the local spectra.

    Examples
    --------
    >>> observation_count(store.conn)  # doctest: +SKIP
    8
    """
    row = conn.execute(
        "SELECT COUNT(DISTINCT observation) FROM spectra WHERE observation IS NOT NULL"
    ).fetchone()
    return int(row[0])
