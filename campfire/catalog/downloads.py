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

import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FILTER_COLUMNS",
    "Selection",
    "download_rows",
    "known_names",
    "known_tags",
    "observation_count",
    "observation_summary",
    "select_spectra",
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


@dataclass
class Selection:
    """What a hand-made selection named, resolved against the catalog.

    ``spectra`` are the spectrum ids selected; ``unknown`` the ids and ``unknown_tags`` the tag
    slugs the catalog does not know; ``tags`` are the known tag slugs.
    """

    spectra: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    unknown_tags: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _json(values: Iterable[str]) -> str:
    return json.dumps(list(dict.fromkeys(values)))


_IN = "IN (SELECT value FROM json_each(?))"


def select_spectra(
    conn: sqlite3.Connection,
    *,
    ids: Sequence[str] = (),
    object_ids: Sequence[str] = (),
    spectrum_ids: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> Selection:
    """The spectra a selection names: every spectrum of the objects named (by object name or
    target id, as ``get_object`` resolves them) or tagged, and the spectra named.

    ``ids`` may hold any of object names, target ids and spectrum ids (``--from-file``);
    ``object_ids`` names objects, ``spectrum_ids`` spectra. Tags match case-insensitively.

    Examples
    --------
    >>> sel = select_spectra(store.conn, object_ids=["ember_uds_p4_123456"])  # doctest: +SKIP
    >>> sorted(sel.spectra)[:1]  # doctest: +SKIP
    ['ember_uds_p4_g395m_f290lp_123456']
    """
    out = Selection()
    objects: set[str] = set()
    wanted_objects = [*ids, *object_ids]
    if wanted_objects:
        found = _json(wanted_objects)
        named = {
            r[0]
            for r in conn.execute(f"SELECT object_id FROM objects WHERE object_id {_IN}", (found,))
        }
        targets = dict(
            conn.execute(
                f"SELECT target_id, object_id FROM spectra WHERE target_id {_IN} "
                "AND object_id IS NOT NULL",
                (found,),
            ).fetchall()
        )
        objects |= named | set(targets.values())
        seen = named | set(targets)
    else:
        seen = set()
    wanted_spectra = [*ids, *spectrum_ids]
    if wanted_spectra:
        rows = conn.execute(
            f"SELECT spectrum_id FROM spectra WHERE spectrum_id {_IN}", (_json(wanted_spectra),)
        )
        direct = {r[0] for r in rows}
        out.spectra |= direct
        seen |= direct
    out.unknown = [i for i in dict.fromkeys([*ids, *object_ids, *spectrum_ids]) if i not in seen]
    if tags:
        known = {
            r[0].casefold(): r[0]
            for r in conn.execute(
                "SELECT slug FROM object_lists UNION SELECT list_slug FROM object_list_memberships"
            )
        }
        out.tags = [known[t.casefold()] for t in tags if t.casefold() in known]
        out.unknown_tags = [t for t in tags if t.casefold() not in known]
        objects |= {
            r[0]
            for r in conn.execute(
                f"SELECT object_id FROM object_list_memberships WHERE list_slug {_IN}",
                (_json(out.tags),),
            )
        }
    if objects:
        rows = conn.execute(
            f"SELECT spectrum_id FROM spectra WHERE object_id {_IN}", (_json(objects),)
        )
        out.spectra |= {r[0] for r in rows}
    return out


def known_tags(conn: sqlite3.Connection) -> list[str]:
    """The tag slugs of the catalog, sorted.

    Examples
    --------
    >>> known_tags(store.conn)  # doctest: +SKIP
    ['blagn', 'lrd']
    """
    return [r[0] for r in conn.execute("SELECT slug FROM object_lists ORDER BY 1")]


def download_rows(
    conn: sqlite3.Connection,
    wanted: Mapping[str, Sequence[str]],
    spectrum_ids: Collection[str] | None = None,
) -> Iterator[Any]:
    """Spectra whose columns match ``wanted`` (column -> names; AND across, OR within) and,
    when ``spectrum_ids`` is given, among those spectra, with their server and local file
    state, ordered by observation and spectrum id.

    Examples
    --------
    >>> rows = download_rows(store.conn, {"grating": ["PRISM"]})  # doctest: +SKIP
    >>> next(rows)["local_path"]  # doctest: +SKIP
    """
    where, args = [], []
    if spectrum_ids is not None:
        where.append(f"spectrum_id {_IN}")
        args.append(_json(sorted(spectrum_ids)))
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
