"""``cf.me``: the signed-in user (id, name, email, whether they may inspect).

Online it is what the archive's ``GET /auth/whoami`` said, asked only when the login changed
since it was last asked (or a day has passed, or a write's answer contradicted the record: a
permission granted or revoked since) and recorded in the local catalog
(:mod:`campfire.sync.user`); offline, or when the archive cannot be reached, it is that record,
from the last sync or write. ``None`` when it was never known.

Examples
--------
>>> cf.me  # doctest: +SKIP
User(id='5d1c…', name='Alice Chen', email='alice@campfire.demo', can_inspect=True, ...)
>>> print(cf.me)  # doctest: +SKIP
Alice Chen <alice@campfire.demo> (may inspect)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from campfire.errors import CampfireError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from campfire.client.core import Campfire

__all__ = ["ME", "User"]

log = logging.getLogger("campfire.client")


@dataclass(frozen=True)
class User:
    """The signed-in user, as the archive last said.

    Attributes
    ----------
    id
        The user's uuid on the archive (what ``last_inspected_by`` holds).
    name, email
        Their display name (the full name, else the email) and email.
    can_inspect
        Whether they may write inspections on the archive (None if the archive did not say).
    checked_at
        When the archive was last asked (ISO-8601 UTC), or None.
    """

    id: str | None
    name: str | None
    email: str | None
    can_inspect: bool | None
    checked_at: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> User | None:
        """From the catalog's record (``{"id", "name", ...}``), or None when it is empty."""
        if not record.get("id") and not record.get("email"):
            return None
        can = record.get("can_inspect")
        return cls(
            id=record.get("id"),
            name=record.get("name") or record.get("email"),
            email=record.get("email"),
            can_inspect=None if can is None else bool(can),
            checked_at=record.get("checked_at"),
        )

    def __str__(self) -> str:
        may = {True: " (may inspect)", False: " (may not inspect)", None: ""}[self.can_inspect]
        email = f" <{self.email}>" if self.email and self.email != self.name else ""
        return f"{self.name or self.id}{email}{may}"


def me(self: Campfire) -> User | None:
    """The signed-in user: id, name, email and ``can_inspect`` (None if never known).

    Online, the archive is asked only when the login changed since the catalog recorded it;
    offline, the catalog's record of the last sync answers.

    Examples
    --------
    >>> cf.me.can_inspect  # doctest: +SKIP
    True
    """
    from campfire.catalog.store import Store
    from campfire.sync.user import record_of, refresh_user

    if self.settings.offline:
        return User.from_record(self.reader.user())
    if not self.reader.is_local:  # no catalog to keep the record in: ask every time
        try:
            return User.from_record(record_of(self.api.whoami()))
        except CampfireError as exc:
            log.info("whoami failed (%s)", exc)
            return None
    with Store(self.settings.db_path, create=False) as store:
        return User.from_record(refresh_user(self.api, store))


ME = property(me)
