"""The campfire error tree.

Every error campfire raises derives from :class:`CampfireError`, so ``except CampfireError``
always works. Builtin mix-ins let callers use the idiom they already know::

    CampfireError
    ├── AuthenticationError   (PermissionError)   credentials missing, invalid, expired or revoked
    ├── NotFoundError         (LookupError)       object, spectrum, observation or file unknown
    ├── ValidationError       (ValueError)        bad input: says what was wrong and what to do
    ├── DownloadError         (OSError)           a file could not be fetched or failed verification
    ├── OfflineError          (ConnectionError)   a network call while CAMPFIRE_OFFLINE=1
    ├── ConflictError                             someone changed the object since you loaded it
    ├── APIError                                  any other unexpected answer from the archive
    │   └── RateLimitError                        429 after the retries ran out
    ├── SchemaError                               the local catalog has a schema we cannot use
    │   └── CorruptCatalogError                   the local catalog file is damaged (unreadable)
    └── LockError             (TimeoutError)      another sync or download holds the catalog lock

HTTP answers become errors in one place, :func:`campfire.archive.status.raise_for_status`,
which keeps the ``status_code``, ``response`` body and ``request_id`` on the exception.

Examples
--------
>>> from campfire.errors import CampfireError, NotFoundError
>>> issubclass(NotFoundError, CampfireError) and issubclass(NotFoundError, LookupError)
True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "CampfireError",
    "ConflictError",
    "CorruptCatalogError",
    "DownloadError",
    "LockError",
    "NotFoundError",
    "OfflineError",
    "RateLimitError",
    "SchemaError",
    "ValidationError",
]


class CampfireError(Exception):
    """Root of every error campfire raises.

    Parameters
    ----------
    message
        What went wrong and, where possible, what to do about it.
    status_code
        The HTTP status of the answer that caused the error, if any.
    response
        The decoded body of that answer (a dict for JSON, else text), if any.
    request_id
        The server's request id (``X-Request-Id``), if it sent one.
    """

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int | None = None,
        response: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.response = response
        self.request_id = request_id


class AuthenticationError(CampfireError, PermissionError):
    """Credentials are missing, invalid, expired or revoked (HTTP 401/403)."""


class NotFoundError(CampfireError, LookupError):
    """The requested object, spectrum, observation or file does not exist or is not yours."""


class ValidationError(CampfireError, ValueError):
    """The arguments were invalid; the message names the problem and close matches."""


class DownloadError(CampfireError, OSError):
    """A file could not be downloaded, or its bytes failed SHA-256 verification."""


class OfflineError(CampfireError, ConnectionError):
    """A network call was attempted while ``CAMPFIRE_OFFLINE=1``."""


class ConflictError(CampfireError):
    """Someone else changed the object (or spectrum) since your copy of it was synced.

    Raised by ``cf.inspect`` and ``cf.set_dq_flags`` when the archive answers 409
    ``version_conflict``. Your write is kept in ``cf.outbox`` as a conflict and nothing is
    overwritten: ``force=True`` (or ``cf.resolve_conflict(id, keep="mine")``) applies yours on
    top of theirs, ``keep="theirs"`` drops yours.

    Attributes
    ----------
    target
        The object id (or spectrum id, for DQ flags) in conflict.
    current_version
        The archive's version of it now.
    current_redshift, current_quality
        The archive's inspected redshift and quality now (objects).
    current_dq_flags
        The archive's DQ bitmask now (spectra).
    changed_by, changed_by_id, changed_at
        Who made the change you missed, and when (ISO-8601 UTC), when the archive says.
    mine
        The values you tried to write.

    Examples
    --------
    >>> err = ConflictError("stale", target="J1", current_version=3, current_quality=4)
    >>> err.target, err.current_version, err.current_quality, err.changed_by
    ('J1', 3, 4, None)
    """

    def __init__(
        self,
        message: str = "",
        *,
        target: str | None = None,
        current_version: int | None = None,
        current_redshift: float | None = None,
        current_quality: int | None = None,
        current_dq_flags: int | None = None,
        changed_by: str | None = None,
        changed_by_id: str | None = None,
        changed_at: str | None = None,
        mine: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.target = target
        self.current_version = current_version
        self.current_redshift = current_redshift
        self.current_quality = current_quality
        self.current_dq_flags = current_dq_flags
        self.changed_by = changed_by
        self.changed_by_id = changed_by_id
        self.changed_at = changed_at
        self.mine = dict(mine or {})


class APIError(CampfireError):
    """The archive answered with an unexpected status or body."""


class RateLimitError(APIError):
    """The archive kept answering 429 Too Many Requests after every retry."""


class SchemaError(CampfireError):
    """The local catalog database has a schema version this campfire cannot use."""


class CorruptCatalogError(SchemaError):
    """The local catalog file is damaged; ``campfire sync --full`` sets it aside and rebuilds.

    Downloaded files are kept: the next download re-hashes them instead of fetching them.
    """


class LockError(CampfireError, TimeoutError):
    """Another campfire process holds the catalog lock (a sync or download is running)."""
