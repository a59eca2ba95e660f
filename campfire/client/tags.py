"""Tags from Python: ``cf.create_tag``, ``cf.tag`` and ``cf.untag``, bound into ``Campfire``.

Saved and sent like every write (:mod:`campfire.client.inspections`): in the local catalog at
once (``query_objects(tags=...)`` sees it), to the archive now or with the next ``cf.sync()``.

Examples
--------
>>> cf.create_tag("my-lrds", name="My LRD candidates")["visibility"]  # doctest: +SKIP
'private'
>>> cf.tag(["J021737.42-051208.5"], "my-lrds")  # doctest: +SKIP
1
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from campfire.client.inspections import send_checked
from campfire.client.outbox import Write, accept, need_catalog
from campfire.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from campfire.client.core import Campfire

__all__ = ["CREATE_TAG", "SLUG", "TAG", "UNTAG", "VISIBILITIES"]

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
VISIBILITIES = ("private", "public_read", "public_edit")


def create_tag(
    self: Campfire,
    slug: str,
    name: str | None = None,
    visibility: str = "private",
    push: bool = True,
) -> dict[str, Any]:
    """Create a tag (an object list): ``private`` (only you see it), ``public_read`` (everyone
    sees it) or ``public_edit`` (everyone may tag with it). Returns its catalog row.

    Examples
    --------
    >>> cf.create_tag("my-lrds", name="My LRD candidates")["visibility"]  # doctest: +SKIP
    'private'
    """
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise ValidationError(
            f"a tag slug is 1-64 lower-case letters, digits, '-' or '_', starting with a letter "
            f"or digit (got {slug!r})"
        )
    if visibility not in VISIBILITIES:
        raise ValidationError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    need_catalog(self)
    if slug in {t["slug"] for t in self.reader.tags()}:
        raise ValidationError(f"there is already a tag {slug!r}: cf.tag(ids, {slug!r})")
    body = {"slug": slug, "name": name or slug, "visibility": visibility}
    send_checked(self, accept(self, [Write("create_tag", slug, body)]), push)
    return next(t for t in self.reader.tags() if t["slug"] == slug)


def _tagging(self: Campfire, kind: str, object_ids: Any, slug: str, push: bool) -> int:
    ids = [object_ids] if isinstance(object_ids, str) else list(object_ids)
    if not ids:
        raise ValidationError("pass at least one object id")
    if slug not in {t["slug"] for t in self.reader.tags()}:
        raise NotFoundError(f"no tag {slug!r} in the synced catalog; cf.create_tag({slug!r}) first")
    found = self.reader.resolve_objects([str(i) for i in ids])
    missing = [n for n, oid in found.items() if oid is None]
    if missing:
        raise NotFoundError(f"not in the synced catalog: {', '.join(missing[:10])}")
    oids = list(dict.fromkeys(str(v) for v in found.values()))
    entries = accept(self, [Write(kind, slug, {"object_ids": oids})])
    changed = len((entries[0].previous or {}).get("changed") or [])
    send_checked(self, entries, push)
    return changed


def tag(self: Campfire, object_ids: str | Iterable[str], slug: str, push: bool = True) -> int:
    """Add objects (ids or target ids) to a tag; returns how many were not in it yet.

    Examples
    --------
    >>> cf.tag(["J021737.42-051208.5", "ember_uds_p4_654321"], "my-lrds")  # doctest: +SKIP
    2
    """
    return _tagging(self, "tag", object_ids, slug, push)


def untag(self: Campfire, object_ids: str | Iterable[str], slug: str, push: bool = True) -> int:
    """Remove objects from a tag; returns how many were in it.

    Examples
    --------
    >>> cf.untag("J021737.42-051208.5", "my-lrds")  # doctest: +SKIP
    1
    """
    return _tagging(self, "untag", object_ids, slug, push)


CREATE_TAG = create_tag
TAG = tag
UNTAG = untag
