"""The inspection bar's state machine: a draft being edited, and each save as it travels.

Pure Python (no widgets, no client), so every transition is unit-tested on its own.

A **draft** is what the bar proposes for the object shown: the redshift typed or dragged and the
quality chosen, compared with the object's stored values (:func:`draft_changes`). A **save** is
one write on its way, with the states it goes through::

    saving ──local write──▶ sending ──200──▶ saved
       │                       ├──offline / unreachable──▶ queued ──sync──▶ saved
       │                       ├──409──▶ conflict ──keep mine──▶ saving (force)
       │                       │                   └─take theirs─▶ discarded
       └──refused locally──▶ error ◀──400/403/404─┘

*Keep mine* writes locally and sends in one call, so from ``saving`` a save may also go
straight to ``saved``, ``queued`` or ``conflict``.

The on-screen confirmation is the step to ``sending``: it follows the local write, before the
server answers. :class:`SaveRecord` enforces the arrows (anything else raises
:class:`~campfire.errors.ValidationError`) and says what to show (:meth:`SaveRecord.as_dict`).

Examples
--------
>>> rec = SaveRecord("J1", redshift=2.31, quality=4)
>>> rec.local_done().state
'sending'
>>> rec.server_done().state, rec.text()
('saved', 'saved: z = 2.3100, 4 secure')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from campfire.errors import ValidationError
from campfire.flags import RedshiftQuality

__all__ = [
    "SAVE_STATES",
    "TRANSITIONS",
    "SaveRecord",
    "check_redshift",
    "draft_changes",
    "quality_text",
]

#: Where a save may go from each state (the arrows of the module's diagram).
TRANSITIONS: dict[str, frozenset[str]] = {
    "saving": frozenset({"sending", "saved", "queued", "conflict", "error"}),
    "sending": frozenset({"saved", "queued", "conflict", "error"}),
    "queued": frozenset({"sending", "saved", "conflict", "error"}),
    "conflict": frozenset({"saving", "discarded"}),
    "error": frozenset({"saving"}),
    "saved": frozenset(),
    "discarded": frozenset(),
}
SAVE_STATES = tuple(TRANSITIONS)
_Z_TOLERANCE = 5e-5  # what the bar shows (4 decimals) is what counts as "unchanged"


def quality_text(quality: int | None) -> str:
    """``'4 secure'``, ``'0 none'``; empty for None.

    Examples
    --------
    >>> quality_text(3), quality_text(None)
    ('3 probable', '')
    """
    if quality is None:
        return ""
    return f"{int(quality)} {RedshiftQuality.parse(int(quality)).label}"


def _z_text(z: float | None) -> str:
    return "z unset" if z is None else f"z = {z:.4f}"


def _same_z(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < _Z_TOLERANCE


def check_redshift(z: Any) -> float | None:
    """A proposed ``redshift_inspected``: None, or a finite number from -0.1 to 30.

    Raises
    ------
    ValidationError
        Saying what a redshift must be.

    Examples
    --------
    >>> check_redshift("2.5"), check_redshift(None)
    (2.5, None)
    """
    if z is None:
        return None
    try:
        value = float(z)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(z, bool) or not math.isfinite(value) or not -0.1 <= value <= 30:
        raise ValidationError(f"redshift must be a number from -0.1 to 30 (got {z!r})")
    return value


def draft_changes(
    stored: dict[str, Any], redshift: float | None, quality: int | None
) -> dict[str, Any]:
    """What a save of the draft would change: ``{'redshift': z, 'quality': q}``, each only if new.

    ``stored`` is the object's row (``redshift``, ``redshift_inspected``, ``redshift_quality``).
    The bar starts from the best redshift, so a draft equal to it (to the 4 decimals shown)
    proposes nothing unless the object has an inspected value that differs.

    Examples
    --------
    >>> row = {"redshift": 2.30, "redshift_inspected": None, "redshift_quality": 0}
    >>> draft_changes(row, 2.30, 4), draft_changes(row, 2.31, None)
    ({'quality': 4}, {'redshift': 2.31})
    >>> draft_changes(row, 2.30, 0)
    {}
    """
    out: dict[str, Any] = {}
    inspected = stored.get("redshift_inspected")
    best = stored.get("redshift")
    reference = inspected if inspected is not None else best
    if redshift is not None and not _same_z(redshift, reference):
        out["redshift"] = check_redshift(redshift)
    if quality is not None and int(quality) != int(stored.get("redshift_quality") or 0):
        out["quality"] = int(RedshiftQuality.parse(int(quality)))
    return out


@dataclass
class SaveRecord:
    """One inspection write and where it is: ``saving`` → ``sending`` → ``saved`` (or not).

    Parameters
    ----------
    object_id
        The object written.
    redshift, quality
        The values written (None: left as they were).
    force
        Whether this save overrides a conflict ("keep mine").

    Examples
    --------
    >>> rec = SaveRecord("J1", redshift=None, quality=3).local_done()
    >>> rec.server_conflict({"current_redshift_inspected": 2.5, "current_redshift_quality": 4,
    ...                      "conflicting_user": {"name": "ana"}}).text()
    'conflict: yours 3 probable; theirs z = 2.5000, 4 secure by ana'
    """

    object_id: str
    redshift: float | None = None
    quality: int | None = None
    force: bool = False
    state: str = "saving"
    message: str = ""
    theirs: dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    def _go(self, new: str, message: str = "") -> SaveRecord:
        if new not in TRANSITIONS[self.state]:
            raise ValidationError(
                f"a save of {self.object_id} cannot go from {self.state!r} to {new!r}"
            )
        self.state, self.message = new, message
        return self

    # -- events --------------------------------------------------------------------------------
    def local_done(self) -> SaveRecord:
        """The local catalog and the outbox hold the write: the on-screen confirmation."""
        return self._go("sending")

    def server_done(self) -> SaveRecord:
        """The archive accepted the write."""
        return self._go("saved")

    def offline(self, why: str = "") -> SaveRecord:
        """The archive cannot be reached: the write waits in the outbox for the next sync."""
        return self._go("queued", why)

    def server_conflict(self, info: dict[str, Any]) -> SaveRecord:
        """Someone else changed the object first (409): keep both values for the user to choose.

        ``info`` has the 409's keys (``current_redshift_inspected``,
        ``current_redshift_quality``, ``last_inspected_at``, ``conflicting_user``), or the
        attributes of a ``ConflictError`` gathered into a dict.
        """
        user = info.get("conflicting_user") or {}
        name = user.get("name") if isinstance(user, dict) else user
        self.theirs = {
            "redshift": info.get("current_redshift_inspected"),
            "quality": info.get("current_redshift_quality"),
            "by": name or "someone",
            "at": info.get("last_inspected_at"),
            "version": info.get("current_version"),
        }
        return self._go("conflict", str(info.get("message") or ""))

    def failed(self, message: str) -> SaveRecord:
        """The write was refused (bad value, no permission, unknown object)."""
        return self._go("error", message)

    def keep_mine(self) -> SaveRecord:
        """Resolve a conflict (or retry an error) by writing mine again over theirs."""
        self.force = self.state == "conflict" or self.force
        return self._go("saving")

    def take_theirs(self) -> SaveRecord:
        """Resolve a conflict by dropping mine."""
        return self._go("discarded")

    # -- display -------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Whether nothing more will happen to this save (saved or discarded)."""
        return not TRANSITIONS[self.state]

    def values_text(self) -> str:
        """``'z = 2.3100, 4 secure'`` (only the values written)."""
        parts = []
        if self.redshift is not None:
            parts.append(_z_text(self.redshift))
        if self.quality is not None:
            parts.append(quality_text(self.quality))
        return ", ".join(parts) or "no change"

    def text(self) -> str:
        """One line for the bar: what was written and where it is."""
        mine = self.values_text()
        if self.state == "conflict":
            th = self.theirs
            theirs = ", ".join(
                p for p in (_z_text(th.get("redshift")), quality_text(th.get("quality"))) if p
            )
            return f"conflict: yours {mine}; theirs {theirs} by {th.get('by')}"
        label = {
            "saving": "saving",
            "sending": "saved locally, sending",
            "saved": "saved",
            "queued": "queued offline",
            "error": "not saved",
            "discarded": "dropped (theirs kept)",
        }[self.state]
        text = f"{label}: {mine}"
        return f"{text} ({self.message})" if self.message and self.state == "error" else text

    def as_dict(self) -> dict[str, Any]:
        """The record as the browser shows it (JSON values only)."""
        return {
            "seq": self.seq,
            "object_id": self.object_id,
            "redshift": self.redshift,
            "quality": self.quality,
            "quality_text": quality_text(self.quality),
            "state": self.state,
            "message": self.message,
            "text": self.text(),
            "theirs": dict(self.theirs),
        }
