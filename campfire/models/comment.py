"""Comments on an object, as ``cf.get_comments`` returns them.

Examples
--------
>>> c = Comment(object_id="J1", body="Ha and [NII] resolved", user_name="Alice Smith",
...             created_at="2026-05-01T12:03:00+00:00")
>>> print(c)
2026-05-01 12:03 UTC · Alice Smith: Ha and [NII] resolved
>>> print(CommentList([c]))
2026-05-01 12:03 UTC · Alice Smith: Ha and [NII] resolved
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Comment", "CommentList"]


def _when(stamp: str | None) -> str:
    """``2026-05-01T12:03:07.1+00:00`` as ``2026-05-01 12:03 UTC``."""
    if not stamp:
        return "(no time)"
    text = str(stamp).replace("T", " ")
    utc = text.endswith("+00:00") or text.endswith("Z")
    return text[:16] + (" UTC" if utc else "")


@dataclass(frozen=True)
class Comment:
    """One comment: its text, who wrote it and when.

    Attributes
    ----------
    object_id
        The object commented on.
    body
        The text.
    user_name, user_id
        The author (``user_name`` None for a comment written here before the archive told us
        the user's name).
    created_at, updated_at
        ISO-8601 UTC.
    id
        The archive's id; None while the comment waits in the outbox (``pending``).
    """

    object_id: str
    body: str
    user_name: str | None = None
    user_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    id: int | None = None

    @property
    def pending(self) -> bool:
        """True while the comment has not reached the archive yet."""
        return self.id is None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Comment:
        """From a catalog or wire row (``id, object_id, user_id, user_name, body, ...``)."""
        rid = row.get("id")
        return cls(
            object_id=str(row.get("object_id") or ""),
            body=str(row.get("body") or ""),
            user_name=row.get("user_name"),
            user_id=row.get("user_id"),
            created_at=row.get("created_at"),
            updated_at=row.get("updated_at"),
            id=None if rid is None else int(rid),
        )

    def __str__(self) -> str:
        who = self.user_name or "you"
        queued = " (not sent yet)" if self.pending else ""
        return f"{_when(self.created_at)} · {who}{queued}: {self.body}"


class CommentList(list[Comment]):
    """The comments on an object, oldest first; prints one per line.

    Examples
    --------
    >>> len(CommentList()), str(CommentList())
    (0, '(no comments)')
    """

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self) if self else "(no comments)"

    def _repr_html_(self) -> str:
        if not self:
            return "<p><em>no comments</em></p>"
        items = "".join(
            f"<li><small>{html.escape(_when(c.created_at))} · "
            f"<b>{html.escape(c.user_name or 'you')}</b>"
            f"{' (not sent yet)' if c.pending else ''}</small><br>{html.escape(c.body)}</li>"
            for c in self
        )
        return f"<ul class='campfire-comments'>{items}</ul>"
