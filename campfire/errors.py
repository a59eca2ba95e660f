"""The campfire error tree.

Every error campfire raises derives from :class:`CampfireError`, so ``except CampfireError``
always works. Builtin mix-ins let callers use the idiom they already know::

    CampfireError
    ├── AuthenticationError   (PermissionError)   credentials missing, invalid, expired or revoked
    ├── NotFoundError         (LookupError)       object, spectrum, observation or file unknown
    ├── ValidationError       (ValueError)        bad input: says what was wrong and what to do
    ├── DownloadError         (OSError)           a file could not be fetched or failed verification
    ├── OfflineError          (ConnectionError)   a network call while CAMPFIRE_OFFLINE=1
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
