"""The pull side of inspections: other people's comments and tags, and our writes kept on top.

Run by :func:`campfire.sync.engine.sync_catalog` inside its transaction, after the plain feeds.
When ``GET /version`` announces ``inspections``, :func:`pull_inspections` reads
``/sync/comments`` (incremental from ``_meta.cursor_comments``, with deletions; a full pass
purges what the archive no longer sends). An archive that also announces
``comments-touch-objects`` moves an object's ``updated_at`` with every comment written on it,
so when the objects this sync holds are the ones it held at the last comment pull (the same
objects cursor and count), no comment can have changed and the request is skipped. It also
rebuilds tag memberships from the ``object_ids`` of ``/sync/lists``. Against an archive
without ``inspections`` nothing of this runs and the catalog is what the plain contract
makes. In both cases the writes still waiting in the outbox are applied again on top of the
rows the archive just sent, so a sync never hides a write the user made.

Examples
--------
>>> changed = pull_inspections(api, store, stamp, tags, incremental=True)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from campfire.archive.inspections import EXTENSION
from campfire.catalog import feeds, outbox
from campfire.sync.outbox import reapply_pending, stored_user

if TYPE_CHECKING:
    from campfire.archive.api import ApiClient
    from campfire.catalog.store import Store

__all__ = ["pull_inspections"]

log = logging.getLogger("campfire.sync")


def pull_inspections(
    api: ApiClient,
    store: Store,
    stamp: str,
    tags: list[dict[str, Any]],
    *,
    incremental: bool,
) -> int:
    """Pull comments and list members (when announced), then re-apply pending writes.

    ``tags`` is what ``/sync/lists`` sent this sync. Returns how many rows changed.
    """
    changed = 0
    if api.server_info().has(EXTENSION):
        changed += _pull_comments(api, store, stamp, incremental)
        keep = {e.target for e in outbox.entries(store.conn, kind="create_tag")}
        changed += feeds.replace_members(store.conn, tags, keep)
    pending = reapply_pending(store, stored_user(store))
    return changed + len(pending)


#: the comments feed needs no request while the objects are what they were (``_meta`` key)
_OBJECTS_AT_COMMENTS = "comments_objects_mark"
TOUCH_EXTENSION = "comments-touch-objects"


def _objects_mark(store: Store) -> str:
    return f"{store.cursor('objects')}|{store.count('objects')}"


def _pull_comments(api: ApiClient, store: Store, stamp: str, incremental: bool) -> int:
    since = store.get_meta("cursor_comments") if incremental else None
    mark = _objects_mark(store)
    touching = api.server_info().has(TOUCH_EXTENSION)
    if since is not None and touching and store.get_meta(_OBJECTS_AT_COMMENTS) == mark:
        return 0  # no object changed since the last pull, so no comment did
    changed = _read_comments(api, store, stamp, since)
    store.set_meta(_OBJECTS_AT_COMMENTS, mark if touching else "")
    return changed


def _read_comments(api: ApiClient, store: Store, stamp: str, since: str | None) -> int:
    changed, newest, seen = 0, since or "", set()
    deletions = api.server_info().has("sync-deletions")
    pages = api.iter_sync_pages(
        "comments",
        updated_since=since,
        limit=api.server_info().sync_page_size,
        include_deleted=deletions,
    )
    for page in pages:
        if page.deleted:
            changed += feeds.delete_comments(store.conn, page.deleted)
        changed += feeds.upsert_comments(store.conn, page.rows, stamp)
        for row in page.rows:
            seen.add(int(row["id"]))
            newest = max(newest, str(row.get("updated_at") or ""))
    if since is None:
        gone = feeds.comment_ids(store.conn) - seen
        changed += feeds.delete_comments(store.conn, gone)
    if newest:
        store.set_meta("cursor_comments", newest)
    return changed
