"""Object ids as users write them: one resolver for every method that takes an object id.

An object is named by its IAU-style name (``J021737.42-051208.5``, what the archive's
``/cutout`` and ``/shutters`` routes take) or by the id of one of its targets
(``ember_uds_p4_123456``, ``<observation>_<source_id>``, what the reference docs use).
:func:`resolve_object_id` turns either into the object's name, from the synced catalog when
there is one and else from the archive, so ``get_object``, ``get_cutout``, ``get_shutters``,
``get_shutters_region``, ``plot_cutout`` and the download selection accept the same ids.
It is bound to :class:`~campfire.client.Campfire` as ``cf.resolve_object_id``.

Examples
--------
>>> cf.resolve_object_id("ember_uds_p4_123456")  # doctest: +SKIP
'J021737.42-051208.5'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from campfire.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from campfire.client.core import Campfire

__all__ = ["check_id", "resolve_object_id"]

log = logging.getLogger("campfire.client")


def check_id(what: str, value: object) -> str:
    """``value`` stripped, if it is a non-empty string; else :class:`ValidationError`.

    Examples
    --------
    >>> check_id("object_id", " J1 ")
    'J1'
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string (got {value!r})")
    return value.strip()


def resolve_object_id(self: Campfire, object_id: str, remote: bool = False) -> str:
    """The name of the object ``object_id`` names: an object name or one of its target ids.

    The synced catalog answers when there is one; an id it does not know, or a client with no
    catalog (or ``remote=True``), asks the archive (one ``/objects`` search).

    Parameters
    ----------
    object_id
        ``J021737.42-051208.5`` (returned as it is when known) or a target id such as
        ``ember_uds_p4_123456``.
    remote
        Ask the archive even when a synced catalog exists.

    Returns
    -------
    str
        The object's name, as ``/cutout``, ``/shutters`` and ``query_objects`` use it.

    Raises
    ------
    NotFoundError
        Neither the catalog nor the archive knows the id.
    ValidationError
        ``object_id`` is not a non-empty string.

    Examples
    --------
    >>> cf.resolve_object_id("ember_uds_p4_123456")  # doctest: +SKIP
    'J021737.42-051208.5'
    """
    oid = check_id("object_id", object_id)
    local = not remote and self.reader.is_local
    if local:
        name = self.reader.object_name(oid)
        if name is not None:
            return name
        if self.settings.offline:
            raise NotFoundError(
                f"no object {oid!r} in the local catalog (an object name such as "
                "J021737.42-051208.5 or a target id such as ember_uds_p4_123456), and "
                "CAMPFIRE_OFFLINE=1 stops us asking the archive. Check the id, or sync when online."
            )
        log.info("resolve_object_id(%s): not in the local catalog; asking the archive", oid)
    name = self.remote.object_name(oid)
    if name is None:
        raise NotFoundError(
            f"no object {oid!r}: it is neither an object name (such as J021737.42-051208.5) nor "
            "a target id (such as ember_uds_p4_123456) "
            + ("in the local catalog or on the archive" if local else "on the archive")
            + ". Check the id (cf.query_objects(search=...) finds partial ones)."
        )
    return name
