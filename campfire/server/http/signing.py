"""Signed, expiring URLs for files (GET) and deploy uploads (PUT).

A signature is HMAC-SHA256, keyed by the server secret, over the method, the path, the expiry
(Unix seconds) and the user the URL was issued to. Changing any of them, or waiting past the
expiry, makes :meth:`UrlSigner.verify` fail; the file route then also re-checks that the user
still has access to the file's program, so a replayed URL dies with the grant.

Examples
--------
>>> signer = UrlSigner(b"secret")
>>> q = signer.query("GET", "/files/spectra/a/b_spec.fits", "u1", ttl=60)
>>> signer.verify("GET", "/files/spectra/a/b_spec.fits", q["uid"], q["expires"], q["sig"])
True
>>> signer.verify("GET", "/files/spectra/a/c_spec.fits", q["uid"], q["expires"], q["sig"])
False
>>> signer.verify("GET", "/files/spectra/a/b_spec.fits", q["uid"], q["expires"], "é" * 64)
False
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote, urlencode

__all__ = [
    "MANIFEST_URL_SECONDS",
    "SPECTRA_URL_SECONDS",
    "STORE_URL_SECONDS",
    "UPLOAD_URL_SECONDS",
    "UrlSigner",
]

MANIFEST_URL_SECONDS = 6 * 3600
SPECTRA_URL_SECONDS = 3600
UPLOAD_URL_SECONDS = 3600
#: lifetime of an object store's presigned GET that ``/files/...`` redirects to: short, as it
#: cannot be revoked (the signed ``/files/`` URL re-checks access and signs a new one each time)
STORE_URL_SECONDS = 300


class UrlSigner:
    """Sign and verify URLs with a server secret.

    Parameters
    ----------
    secret
        The server secret; a URL key is derived from it.
    """

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"campfire-url", hashlib.sha256).digest()

    def signature(self, method: str, path: str, uid: str, expires: int) -> str:
        """The hex signature of one (method, path, user, expiry)."""
        msg = f"{method.upper()}\n{path}\n{uid}\n{int(expires)}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def query(self, method: str, path: str, uid: str, ttl: int) -> dict[str, str]:
        """The query parameters (``expires``, ``uid``, ``sig``) for a URL valid ``ttl`` s."""
        expires = int(time.time()) + int(ttl)
        return {
            "expires": str(expires),
            "uid": uid,
            "sig": self.signature(method, path, uid, expires),
        }

    def url(self, root: str, method: str, path: str, uid: str, ttl: int) -> str:
        """A full signed URL: ``root`` (``http://host/api/v1``) + quoted ``path`` + query."""
        return f"{root}{quote(path)}?{urlencode(self.query(method, path, uid, ttl))}"

    def verify(
        self, method: str, path: str, uid: str | None, expires: str | None, sig: str | None
    ) -> bool:
        """Whether a signature is genuine and not expired."""
        if not (uid and expires and sig):
            return False
        try:
            exp = int(expires)
        except ValueError:
            return False
        if exp < time.time():
            return False
        good = self.signature(method, path, uid, exp)
        return hmac.compare_digest(good.encode(), sig.encode("utf-8", "replace"))
