"""Credentials: API keys, passwords, access tokens (JWT), refresh tokens and device codes.

Secrets are stored only as hashes: API keys and refresh tokens as SHA-256 hex, passwords with
scrypt. Access tokens are HS256 JWTs (1 h) with the claims of the contract (section 1.2).

Examples
--------
>>> key = new_api_key()
>>> key.startswith("sk_live_") and len(key) == 8 + 64
True
>>> stored = hash_password("correct horse")
>>> verify_password("correct horse", stored), verify_password("wrong", stored)
(True, False)
>>> token = issue_access_token(b"k" * 32, "u1", "a@b.c")
>>> verify_access_token(b"k" * 32, token)["sub"]
'u1'
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from typing import Any

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "REFRESH_TOKEN_DAYS",
    "USER_CODE_ALPHABET",
    "check_password",
    "format_user_code",
    "hash_password",
    "hash_token",
    "issue_access_token",
    "new_api_key",
    "new_device_code",
    "new_refresh_token",
    "new_user_code",
    "normalize_user_code",
    "verify_access_token",
    "verify_password",
]

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_DAYS = 90
USER_CODE_ALPHABET = "BCDFGHJKMNPQRSTVWXYZ"
_ISSUER, _AUDIENCE = "campfire", "campfire-api"


def hash_token(token: str) -> str:
    """SHA-256 hex of a whole token string (how keys and refresh tokens are stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh API key: ``sk_live_`` + 64 lowercase hex."""
    return "sk_live_" + secrets.token_hex(32)


def new_refresh_token() -> str:
    """A fresh refresh token: ``rt_`` + 64 lowercase hex."""
    return "rt_" + secrets.token_hex(32)


def new_device_code() -> str:
    """A fresh device code: 64 lowercase hex."""
    return secrets.token_hex(32)


def new_user_code() -> str:
    """A fresh 8-letter user code (stored form, no dash)."""
    return "".join(USER_CODE_ALPHABET[b % 20] for b in secrets.token_bytes(8))


def normalize_user_code(code: str) -> str:
    """Strip dashes and spaces and upper-case a user code.

    Examples
    --------
    >>> normalize_user_code(" bcdf-ghjk ")
    'BCDFGHJK'
    """
    return code.replace("-", "").replace(" ", "").strip().upper()


def format_user_code(code: str) -> str:
    """Show a stored user code as ``XXXX-XXXX``."""
    return f"{code[:4]}-{code[4:]}"


def _jwt_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"campfire-jwt", hashlib.sha256).digest()


def issue_access_token(
    secret: bytes, user_id: str, email: str | None, lifetime: int = ACCESS_TOKEN_SECONDS
) -> str:
    """An HS256 access token for ``user_id``, valid for ``lifetime`` seconds.

    Each token carries its own ``jti`` (a random id), so two tokens issued in the same second
    differ and an access log or a deny list can name one token.
    """
    import jwt

    now = int(time.time())
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(12),
        "sub": user_id,
        "type": "access",
        "iat": now,
        "exp": now + lifetime,
        "iss": _ISSUER,
        "aud": _AUDIENCE,
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, _jwt_key(secret), algorithm="HS256")


def verify_access_token(secret: bytes, token: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token, else None."""
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _jwt_key(secret),
            algorithms=["HS256"],
            audience=_AUDIENCE,
            issuer=_ISSUER,
            options={"require": ["exp", "sub", "iss", "aud"]},  # tokens before jti stay valid
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("type") == "access" else None


def hash_password(password: str) -> str:
    """Scrypt hash of a password, as ``scrypt$n$r$p$salt$hash`` (hex)."""
    salt = secrets.token_bytes(16)
    n, r, p = 2**14, 8, 1
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches a :func:`hash_password` string (constant time)."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made once: what unknown users are checked against."""
    return hash_password(secrets.token_hex(16))


def check_password(password: str, stored: str | None) -> bool:
    """Like :func:`verify_password`, at the same cost whether or not there is a stored hash.

    A user who does not exist (or has no password) is checked against a dummy hash, so the
    time a failed sign-in takes does not tell which e-mail addresses are registered.

    Examples
    --------
    >>> check_password("pw", None), check_password("pw", hash_password("pw"))
    (False, True)
    """
    if not stored or not stored.startswith("scrypt$"):
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, stored)
