"""The pull side of inspections: other people's comments and tags, and our writes kept on top.

Run by :func:`campfire.sync.engine.sync_catalog` inside its transaction, after the plain feeds.
When ``GET /version`` announces ``inspections``, :func:`pull_inspections` reads
``/sync/comments`` (incremental from ``_meta.cursor_comments``, with deletions; a full pass
purges what the archive no longer sends). An archive that also announces
``comments-touch-objects`` moves an object's ``updated_at`` with every comment written on it,
so when the objects this sync holds are the ones it held at the last comment pull (the same
objects cursor and count), no comment can have changed and the request is skipped. It also
rebuilds tag memberships from the ``object_ids`` of ``/sync/lists``, unless that answer, the
pending new tags and the catalog version are all what they were when the memberships were last
rebuilt (a digest in ``_meta``): then they are already what it would make. Against an archive
without ``inspections`` nothing of this runs and the catalog is what the plain contract
makes. In both cases the writes still waiting in the outbox are applied again on top of the
rows the archive just sent, so a sync never hides a write the user made.

Examples
--------
>>> changed = pull_inspections(api, store, stamp, tags, incremental=True)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import orjson

from campfire.archive.inspections import EXTENSION
from campfire.catalog import feeds, outbox
from campfire.sync.outbox import reapply_pending, stored_user

if TYPE_CHECKING:
    from campfire.archive.api import ApiClient
    from campfire.catalog.store import Store

__all__ = ["carry_members_mark", "pull_inspections"]

log = logging.getLogger("campfire.sync")


def pull_inspections(
    api: ApiClient,
    store: Store,
    stamp: str,
    tags: list[dict[str, Any]],
    *,
    incremental: bool,
    settled: bool = False,
) -> int:
    """Pull comments and list members (when announced), then re-apply pending writes.

    ``tags`` is what ``/sync/lists`` sent this sync; ``settled`` says this sync has changed no
    row so far (then memberships rebuilt from the same answer at the same catalog version are
    left as they are). Returns how many rows changed.
    """
    changed = 0
    if api.server_info().has(EXTENSION):
        changed += _pull_comments(api, store, stamp, incremental)
        keep = {e.target for e in outbox.entries(store.conn, kind="create_tag")}
        mark = _members_mark(store, tags, keep)
        if not (settled and store.get_meta(_MEMBERS_MARK) == mark):
            changed += feeds.replace_members(store.conn, tags, keep)
            store.set_meta(_MEMBERS_MARK, mark)
    pending = reapply_pending(store, stored_user(store))
    return changed + len(pending)


#: what the tag memberships were last rebuilt from (``_meta`` key)
_MEMBERS_MARK = "members_mark"


def _members_mark(store: Store, tags: list[dict[str, Any]], keep: set[str]) -> str:
    """A digest of ``/sync/lists``'s answer and the unconfirmed new tags, with the catalog
    version (every local write and every sync that changed something moves it).
    """
    text = orjson.dumps([tags, sorted(keep)], option=orjson.OPT_SORT_KEYS)
    return f"{hashlib.blake2b(text, digest_size=16).hexdigest()}|{store.catalog_version}"


def carry_members_mark(store: Store, before: int, after: int) -> None:
    """The sync moved the catalog version from ``before`` to ``after`` itself: memberships
    rebuilt (or found current) during it are still current, so the next sync may skip them.
    """
    mark = store.get_meta(_MEMBERS_MARK)
    if mark and mark.endswith(f"|{before}"):
        store.set_meta(_MEMBERS_MARK, f"{mark.rpartition('|')[0]}|{after}")


#: the comments feed needs no request while the objects are what they were (``_meta`` key)
_OBJECTS_AT_COMMENTS = "comments_objects_mark"
TOUCH_EXTENSION = "comments-touch-objects"


def _objects_mark(store: Store) -> str:
    return f"{store.cursor('objects')}|{store.count('objects')}"


def _pull_comments(api: ApiClient, store: Store, stamp: str, incremental: bool) -> int:
    since = store.get_meta("cursor_comments") if incremental else None
    mark = _objects_mark(store)
    touching = api.server_info().has(TOUCH_EXTENSION)
    if incremental and touching and store.get_meta(_OBJECTS_AT_COMMENTS) == mark:
        return 0  # no object changed since the last pull (none, if it found no comment)
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
