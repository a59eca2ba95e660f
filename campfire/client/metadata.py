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
    from campfire.client.remote import RemoteRecords

__all__ = ["program_details", "programs_table", "tags_table"]

log = logging.getLogger("campfire.client")

PROGRAM_FIELDS = ("slug", "program_name", "pi_name", "is_public")
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


def programs_table(rows: list[dict[str, Any]]) -> Table:
    """Programs as a Table: ``slug, program_name, pi_name, is_public``.

    Examples
    --------
    >>> len(programs_table([]))
    0
    """
    from astropy.table import Table

    from campfire.catalog.columns import build_table

    if not rows:
        return Table(names=PROGRAM_FIELDS, dtype=(str, str, str, bool))
    cols = {n: [r.get(n) for r in rows] for n in PROGRAM_FIELDS}
    spec = {n: ("bool" if n == "is_public" else "str", None) for n in PROGRAM_FIELDS}
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
