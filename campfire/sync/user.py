"""Who the local catalog is written as: the record of the last ``GET /auth/whoami``.

Kept in the catalog's ``_meta`` row ``user`` (JSON: ``id``, ``name``, ``email``,
``can_inspect``, plus ``credential``, a fingerprint of the login it was asked with, and
``checked_at``), so local writes carry their author offline and ``cf.me`` answers without the
network. :func:`refresh_user` asks the archive again only when it may have changed: the login
is another one (another API key, another account, another archive), the record is older than
:data:`MAX_AGE` (a permission granted since), or there is none; otherwise a sync makes no
``whoami`` request.

Examples
--------
>>> record_of({"user_id": "u1", "full_name": "Ada", "email": "ada@x", "can_inspect": True})
{'id': 'u1', 'name': 'Ada', 'email': 'ada@x', 'can_inspect': True}
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from campfire.catalog.edits import USER_KEY
from campfire.errors import CampfireError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from campfire.archive.api import ApiClient
    from campfire.catalog.store import Store

__all__ = ["MAX_AGE", "USER_KEY", "credential_id", "record_of", "refresh_user", "stored_user"]

log = logging.getLogger("campfire.sync")

#: a record older than this is asked again (a permission may have been granted since)
MAX_AGE = timedelta(hours=24)
_FIELDS = ("id", "name", "email", "can_inspect")


def stored_user(store: Store) -> dict[str, Any]:
    """The user the last sync or write was made as (``{}`` if never known)."""
    text = store.get_meta(USER_KEY)
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def record_of(who: Mapping[str, Any]) -> dict[str, Any]:
    """``{"id", "name", "email", "can_inspect"}`` from a ``whoami`` answer (api-v1 2.7 names
    the first two ``user_id`` and ``full_name``).
    """
    user = {k: who.get(k) for k in _FIELDS}
    user.update(id=who.get("user_id", user["id"]), name=who.get("full_name", user["name"]))
    return user


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def credential_id(api: ApiClient) -> str | None:
    """A fingerprint of the login ``api`` sends (the archive, and the API key or the account),
    or None when it cannot be told (no login).

    Refreshed tokens of one account keep the fingerprint; another key or account changes it.
    """
    provider = api.credentials
    if provider is None:
        return None
    key = getattr(provider, "key", None)
    if isinstance(key, str):
        who = "key:" + _digest(key)
    else:
        try:
            creds = provider.current()  # type: ignore[attr-defined]
        except (CampfireError, AttributeError):
            return None
        secret = creds.user_email or creds.api_key or creds.refresh_token or creds.access_token
        if not secret:
            return None
        who = f"{creds.type}:" + _digest(str(secret))
    return f"{_digest(api.base_url)}:{who}"


def _fresh(user: Mapping[str, Any], credential: str | None) -> bool:
    if not user.get("id") or credential is None or user.get("credential") != credential:
        return False
    try:
        checked = datetime.fromisoformat(str(user.get("checked_at")))
    except ValueError:
        return False
    return datetime.now(UTC) - checked < MAX_AGE


def refresh_user(api: ApiClient, store: Store, *, force: bool = False) -> dict[str, Any]:
    """The user record, asked of the archive (``whoami``) only when it may have changed.

    A failed ``whoami`` keeps the stored record (the sync or the write says what is wrong).
    Takes the store's write transaction only when the record changes.

    Examples
    --------
    >>> refresh_user(api, store)["name"]  # doctest: +SKIP
    'Alice Chen'
    """
    stored = stored_user(store)
    credential = credential_id(api)
    if not force and _fresh(stored, credential):
        return stored
    try:
        who = api.whoami()
    except CampfireError as exc:
        log.info("whoami failed (%s); keeping the user record of the last sync", exc)
        return stored
    user = {
        **record_of(who),
        "credential": credential,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with store.transaction():
        store.set_meta(USER_KEY, json.dumps(user))
    return user
