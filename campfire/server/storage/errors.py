"""The storage layer's errors (kept apart so the dialect modules and the app share them).

Examples
--------
>>> issubclass(DatabaseURLError, ValueError)
True
"""

from __future__ import annotations

from campfire.errors import CampfireError

__all__ = ["DatabaseURLError", "NulInTextError", "UploadTooLargeError"]


class NulInTextError(ValueError):
    """A text value holding a NUL character, which PostgreSQL cannot store or compare (the
    server answers 400).
    """


class DatabaseURLError(CampfireError, ValueError):
    """A ``--database`` / ``CAMPFIRE_DATABASE_URL`` value that names no database we open."""


class UploadTooLargeError(CampfireError, ValueError):
    """A multipart upload whose parts add up to more than the archive takes (the server
    answers 413 and abandons the upload).
    """
