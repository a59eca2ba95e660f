"""The archive's vocabulary as the client shows it: program details, programs and tags tables.

Program names and PIs are stored in the local catalog by the sync (``_meta`` key
``programs``); a catalog without them falls back to ``/metadata`` once per client when online
(logged). :func:`programs_table` and :func:`tags_table` give ``get_programs`` and ``get_tags``
their astropy Tables, whichever side the rows came from.

Examples
--------
>>> programs_table([{"slug": "EMBER-UDS", "program_name": "Ember", "pi_name": "A. B.",
...                 "is_public": True}])["slug"].tolist()
['EMBER-UDS']
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from campfire.errors import CampfireError

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.catalog.reader import CatalogReader
    from campfire.client.core import Campfire
    from campfire.client.remote import RemoteRecords

__all__ = ["program_details", "program_id_map", "program_ids", "programs_table", "tags_table"]

log = logging.getLogger("campfire.client")

PROGRAM_FIELDS = ("id", "slug", "program_name", "pi_name", "is_public")
TAG_FIELDS = ("slug", "name", "member_count", "description", "visibility", "is_system")


def program_details(
    reader: CatalogReader, remote: RemoteRecords, *, offline: bool
) -> list[dict[str, Any]]:
    """Program names and PIs: stored by the sync if it did, else ``/metadata`` (logged).

    Examples
    --------
    >>> program_details(cf.reader, cf.remote, offline=False)[0]["slug"]  # doctest: +SKIP
    'EMBER-UDS'
    """
    stored = reader.stored_programs()
    if stored:
        try:
            return list(json.loads(stored))
        except ValueError:
            log.info("get_metadata: stored program details unreadable; ignoring them")
    meta = remote.cached_metadata()
    if meta is None:
        if offline:
            return []
        log.info("get_metadata: program names are not in the local catalog; asking the archive")
        try:
            meta = remote.metadata()
        except CampfireError as exc:
            log.info("get_metadata: program names unavailable (%s)", exc)
            return []
    return list(meta.get("programs") or [])


def program_ids(rows: list[dict[str, Any]]) -> dict[int, str]:
    """``id -> slug`` of the programs whose details carry the archive's integer ``id``.

    Examples
    --------
    >>> program_ids([{"id": 2, "slug": "CAPERS"}, {"slug": "RUBIES"}])
    {2: 'CAPERS'}
    """
    out: dict[int, str] = {}
    for r in rows:
        pid, slug = r.get("id"), r.get("slug")
        if isinstance(pid, int) and not isinstance(pid, bool) and slug:
            out[pid] = str(slug)
    return out


def program_id_map(cf: Campfire, programs: Any, local: bool) -> dict[int, str] | None:
    """``id -> slug`` when ``programs`` holds a number (else None: nothing to look up).

    Examples
    --------
    >>> program_id_map(cf, ["CAPERS"], local=True) is None  # doctest: +SKIP
    True
    """
    items = [programs] if isinstance(programs, str | int) else list(programs or [])
    if not any(str(p).strip().isdigit() for p in items if isinstance(p, str | int)):
        return None
    if local:
        rows = program_details(cf.reader, cf.remote, offline=cf.settings.offline)
    else:
        rows = list(cf.remote.metadata().get("programs") or [])
    return program_ids(rows)


def programs_table(rows: list[dict[str, Any]]) -> Table:
    """Programs as a Table: ``id, slug, program_name, pi_name, is_public``.

    ``id`` is the archive's integer program id (masked when the archive does not send one);
    ``query_objects(programs=[...])`` takes it as well as the slug.

    Examples
    --------
    >>> programs_table([{"id": 1, "slug": "EMBER-UDS"}])["id"].tolist()
    [1]
    """
    from astropy.table import Table

    from campfire.catalog.columns import build_table

    if not rows:
        return Table(names=PROGRAM_FIELDS, dtype=(int, str, str, str, bool))
    cols = {n: [r.get(n) for r in rows] for n in PROGRAM_FIELDS}
    kinds = {"id": "int", "is_public": "bool"}
    spec = {n: (kinds.get(n, "str"), None) for n in PROGRAM_FIELDS}
    return build_table(cols, spec)


def tags_table(rows: list[dict[str, Any]]) -> Table:
    """Tags as a Table: ``slug, name, member_count, description, visibility, is_system``.

    Examples
    --------
    >>> tags_table([{"slug": "lrd", "name": "LRD", "member_count": 3}])["is_system"].tolist()
    [None]
    """
    from campfire.catalog.columns import build_table

    cols = {n: [r.get(n) for r in rows] for n in TAG_FIELDS}
    cols["is_system"] = [None if v is None else bool(v) for v in cols["is_system"]]
    kinds = {"member_count": "int", "is_system": "bool"}
    spec = {n: (kinds.get(n, "str"), None) for n in TAG_FIELDS}
    return build_table(cols, spec)
