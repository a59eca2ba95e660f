"""Logins: the credentials file, the device flow, API keys and token refresh.

The credentials file is ``$CAMPFIRE_HOME/credentials`` (default ``~/.campfire/credentials``):
pretty-printed JSON with exactly the nine keys of contract section 5.3, so the upstream client
can read ours and we can read theirs; directory 0700, file 0600, written atomically. OAuth
access tokens are refreshed five minutes before they expire (and once more if the archive
answers 401); refresh tokens rotate, and concurrent processes coordinate through a lock file so
a rotation is never lost. ``CAMPFIRE_API_KEY`` in the environment wins over the file.

Examples
--------
>>> creds = Credentials.for_api_key("sk_live_" + "0" * 64)
>>> sorted(creds.to_json()) == sorted(CREDENTIAL_KEYS)
True
>>> creds.to_json()["type"]
'api_key'
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from campfire.archive.api import ApiClient, CredentialProvider
from campfire.archive.backoff import RetryPolicy
from campfire.config import Settings
from campfire.errors import APIError, AuthenticationError, CampfireError

__all__ = [
    "CREDENTIAL_KEYS",
    "ApiKeyProvider",
    "Credentials",
    "DeviceAuthorization",
    "FileCredentialProvider",
    "delete_credentials",
    "device_name",
    "load_credentials",
    "login_with_api_key",
    "logout",
    "poll_device_flow",
    "provider_for",
    "refresh_credentials",
    "save_credentials",
    "start_device_flow",
]

CREDENTIAL_KEYS = (
    "type",
    "access_token",
    "refresh_token",
    "supabase_token",
    "supabase_url",
    "supabase_anon_key",
    "expires_at",
    "user_email",
    "api_key",
)
REFRESH_MARGIN = timedelta(minutes=5)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOGIN_HINT = "Run: campfire login"


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Credentials:
    """One saved login: an OAuth token pair or an API key (the nine keys of section 5.3)."""

    type: str
    access_token: str | None = None
    refresh_token: str | None = None
    supabase_token: str | None = None
    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    expires_at: str | None = None
    user_email: str | None = None
    api_key: str | None = None

    @classmethod
    def for_api_key(cls, key: str, email: str | None = None) -> Credentials:
        """Credentials holding an API key."""
        return cls(type="api_key", api_key=key, user_email=email)

    @classmethod
    def from_token_response(
        cls, body: dict[str, Any], email: str | None = None, previous: Credentials | None = None
    ) -> Credentials:
        """Credentials from a device-token or refresh answer (``expires_at`` computed here)."""
        for key in ("access_token", "refresh_token", "expires_in"):
            if key not in body:
                raise AuthenticationError(f"The archive's token answer lacks '{key}'. {LOGIN_HINT}")
        seconds = max(0, int(body.get("expires_in") or 0))
        prev = previous or cls(type="oauth")
        return cls(
            type="oauth",
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            supabase_token=body.get("supabase_token"),
            supabase_url=body.get("supabase_url") or prev.supabase_url,
            supabase_anon_key=body.get("supabase_anon_key") or prev.supabase_anon_key,
            expires_at=(_utc_now() + timedelta(seconds=seconds)).isoformat() + "Z",
            user_email=email or prev.user_email,
        )

    @classmethod
    def from_json(cls, data: Any) -> Credentials:
        """Parse the file's JSON; unknown or missing keys raise ``ValueError`` (as upstream)."""
        if not isinstance(data, dict) or "type" not in data:
            raise ValueError("credentials must be a JSON object with a 'type'")
        unknown = set(data) - set(CREDENTIAL_KEYS)
        if unknown:
            raise ValueError(f"unknown credential keys: {sorted(unknown)}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        """Exactly the nine keys, unset ones as ``null``."""
        return asdict(self)

    @property
    def expires(self) -> datetime | None:
        """``expires_at`` as a naive UTC datetime, or None if missing or unparsable."""
        if not self.expires_at:
            return None
        try:
            return datetime.fromisoformat(self.expires_at.rstrip("Z")).replace(tzinfo=None)
        except ValueError:
            return None

    def needs_refresh(self, margin: timedelta = REFRESH_MARGIN) -> bool:
        """True for OAuth credentials that expire within ``margin`` (or have no expiry)."""
        if self.type != "oauth":
            return False
        when = self.expires
        return when is None or when - _utc_now() <= margin

    @property
    def bearer(self) -> str | None:
        """The token to send: the API key or the access token."""
        return self.api_key if self.type == "api_key" else self.access_token


def load_credentials(path: Path) -> Credentials | None:
    """The credentials saved at ``path``, or None when absent or unreadable (= logged out)."""
    try:
        return Credentials.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def save_credentials(path: Path, creds: Credentials) -> None:
    """Write ``creds`` atomically: directory 0700, file 0600 (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        json.dump(creds.to_json(), fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def delete_credentials(path: Path) -> bool:
    """Remove the credentials file; True if there was one."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def refresh_credentials(api: ApiClient, creds: Credentials) -> Credentials:
    """Trade the refresh token for a new token pair (``POST /auth/refresh``; the old one dies).

    Raises
    ------
    AuthenticationError
        The refresh token is invalid, revoked or expired ("Run: campfire login"), or the
        archive could not be asked.
    """
    if creds.type != "oauth" or not creds.refresh_token:
        raise AuthenticationError(f"These credentials cannot be refreshed. {LOGIN_HINT}")
    try:
        r = api.request(
            "POST",
            "/auth/refresh",
            json={"grant_type": "refresh_token", "refresh_token": creds.refresh_token},
            auth=False,
            check=False,
            retry=False,
        )
    except APIError as exc:
        raise AuthenticationError(f"Token refresh failed: {exc}") from exc
    body = _json_or_empty(r)
    if r.status_code == 400 and body.get("error") in ("invalid_grant", "expired_token"):
        raise AuthenticationError(
            f"Your session has expired or was revoked. {LOGIN_HINT}", status_code=400, response=body
        )
    if not r.ok:
        raise AuthenticationError(
            f"Token refresh failed: {body.get('error') or r.status_code}. {LOGIN_HINT}",
            status_code=r.status_code,
            response=body,
        )
    return Credentials.from_token_response(body, previous=creds)


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    """Identifies a version of a file (a rewrite through a rename changes the inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class ApiKeyProvider:
    """Sends a fixed API key; never refreshes.

    Examples
    --------
    >>> ApiKeyProvider("sk_live_abc").bearer()
    'sk_live_abc'
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def bearer(self) -> str:
        """The API key."""
        return self.key

    def refresh_after_401(self, rejected: str) -> bool:
        """API keys cannot be refreshed."""
        return False


class FileCredentialProvider:
    """The login saved in the credentials file, refreshed (and re-saved) when it expires.

    The file is read lazily, so a client that never talks to the archive needs no login.
    Thread-safe; refreshes across processes are serialised by ``credentials.lock``.
    """

    def __init__(self, settings: Settings, *, api: ApiClient | None = None) -> None:
        self.settings = settings
        self.path = settings.credentials_path
        self._api = api or ApiClient(settings, None, retry=RetryPolicy(retries=2))
        self._lock = threading.Lock()
        self._creds: Credentials | None = None
        self._stamp: tuple[int, int, int] | None = None

    def current(self) -> Credentials:
        """The credentials in use: the file's, re-read whenever the file changes (another
        ``campfire login`` or a refresh by another process).
        """
        stamp = _file_stamp(self.path)
        if self._creds is None or stamp != self._stamp:
            creds = load_credentials(self.path) if stamp is not None else None
            if creds is None or not creds.bearer:
                self._creds = None
                raise AuthenticationError(f"Not logged in. {LOGIN_HINT}")
            self._creds, self._stamp = creds, stamp
        return self._creds

    def _refresh(self, seen: Credentials) -> Credentials:
        """Refresh ``seen`` unless another thread or process already rotated it.

        A rotation is recognised by its refresh token, which is new on every rotation. The
        access token is not enough: a JWT's claims have one-second resolution, so two
        rotations within a second mint the very same access token, and comparing those made
        every waiting thread rotate again in turn (issue #13's race).
        """
        with self._lock, _file_lock(self.path.with_name(self.path.name + ".lock")):
            on_disk = load_credentials(self.path)
            if on_disk is None:
                raise AuthenticationError(f"Not logged in. {LOGIN_HINT}")
            if on_disk.refresh_token != seen.refresh_token and not on_disk.needs_refresh():
                self._creds = on_disk  # someone rotated the tokens already: use theirs
                self._stamp = _file_stamp(self.path)
                return on_disk
            new = refresh_credentials(self._api, on_disk)
            save_credentials(self.path, new)
            self._creds, self._stamp = new, _file_stamp(self.path)
            return new

    def bearer(self) -> str:
        """A valid token, refreshing first if it expires within five minutes."""
        creds = self.current()
        if creds.needs_refresh():
            try:
                creds = self._refresh(creds)
            except AuthenticationError:
                expires = creds.expires
                if expires is None or expires <= _utc_now():
                    raise
                # still valid for a few minutes: send it and retry the refresh next time
        assert creds.bearer is not None
        return creds.bearer

    def refresh_after_401(self, rejected: str) -> bool:
        """Refresh once after a 401 (the token may have been revoked or clocks disagree).

        When the file already holds another token than the ``rejected`` one (another process
        rotated meanwhile), that token is used as it is.
        """
        creds = self.current()
        if creds.type != "oauth":
            return False
        if creds.bearer == rejected or creds.needs_refresh():
            self._refresh(creds)
        return True


def provider_for(settings: Settings) -> CredentialProvider:
    """The login to use: ``CAMPFIRE_API_KEY`` if set, else the credentials file.

    Examples
    --------
    >>> p = provider_for(Settings.from_env({"CAMPFIRE_API_KEY": "sk_live_x"}))
    >>> p.bearer()
    'sk_live_x'
    """
    if settings.api_key:
        return ApiKeyProvider(settings.api_key)
    return FileCredentialProvider(settings)


def login_with_api_key(api: ApiClient, key: str) -> tuple[Credentials, dict[str, Any]]:
    """Check an API key with ``GET /auth/whoami``; return the credentials to save and the user.

    Raises
    ------
    AuthenticationError
        The key is malformed or the archive rejects it.
    """
    key = key.strip()
    if not key.startswith("sk_"):
        raise AuthenticationError(
            "That does not look like an API key: keys start with 'sk_' (e.g. sk_live_...). "
            f"Create one at {profile_url(api.base_url)}"
        )
    try:
        user = api.whoami(token=key)
    except AuthenticationError as exc:
        raise AuthenticationError(
            f"Invalid API key: the archive rejected it. Check it at {profile_url(api.base_url)}",
            status_code=exc.status_code,
        ) from exc
    return Credentials.for_api_key(key, user.get("email")), user


def profile_url(base_url: str) -> str:
    """Where users create API keys (``<site>/profile/api-keys``)."""
    return base_url.replace("/api/v1", "") + "/profile/api-keys"


@dataclass(frozen=True)
class DeviceAuthorization:
    """The answer of ``POST /auth/device``: what the user must approve in a browser."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


def start_device_flow(api: ApiClient) -> DeviceAuthorization:
    """Start a device login (``POST /auth/device``)."""
    body = api.request("POST", "/auth/device", auth=False).json()
    names = [f.name for f in fields(DeviceAuthorization)]
    missing = [n for n in names if n not in body]
    if missing:
        raise AuthenticationError(f"The archive's device login answer lacks {missing}")
    return DeviceAuthorization(**{n: body[n] for n in names})


def device_name() -> str:
    """``<hostname> (<OS>)``, stored on the refresh token so users can tell devices apart."""
    host = socket.gethostname().removesuffix(".local")
    system = {"Darwin": "macOS", "Linux": "Linux", "Windows": "Windows"}.get(
        platform.system(), "other"
    )
    return f"{host} ({system})"


def poll_device_flow(
    api: ApiClient,
    auth: DeviceAuthorization,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_wait: Callable[[], None] | None = None,
) -> Credentials:
    """Poll ``POST /auth/device/token`` until the user approves (section 5.1).

    Waits one interval before each poll; ``slow_down`` lengthens the interval, network errors
    double it (at most 30 s). ``on_wait`` is called after each "still pending" answer.

    Raises
    ------
    AuthenticationError
        The code was denied, expired, or the 15 minutes ran out.
    """
    interval = float(auth.interval)
    deadline = clock() + auth.expires_in
    payload = {"grant_type": DEVICE_GRANT, "device_code": auth.device_code}
    payload["device_name"] = device_name()
    while clock() < deadline:
        sleep(interval)
        try:
            r = api.request(
                "POST", "/auth/device/token", json=payload, auth=False, check=False, retry=False
            )
            body = r.json()
        except (APIError, ValueError):
            interval = min(30.0, interval * 2)
            continue
        if r.status_code == 200:
            return Credentials.from_token_response(body)
        error = body.get("error") if isinstance(body, dict) else None
        if error == "authorization_pending":
            if on_wait:
                on_wait()
        elif error == "slow_down":
            interval = float(body.get("interval") or interval + 5)
        elif error == "expired_token":
            raise AuthenticationError(
                f"The login code expired before it was approved. {LOGIN_HINT}"
            )
        elif error == "access_denied":
            raise AuthenticationError("The login was denied in the browser.")
        else:
            why = body.get("error_description") or error or r.status_code
            raise AuthenticationError(f"Login failed: {why}. {LOGIN_HINT}")
    raise AuthenticationError(
        f"Login timed out after {auth.expires_in // 60} minutes. {LOGIN_HINT}"
    )


def logout(api: ApiClient, path: Path) -> bool:
    """Revoke the saved refresh token (best effort), then delete the file; True if logged in."""
    creds = load_credentials(path)
    if creds is not None and creds.type == "oauth" and creds.refresh_token:
        with contextlib.suppress(CampfireError):
            api.request(
                "POST",
                "/auth/revoke",
                json={"token": creds.refresh_token},
                auth=False,
                check=False,
                retry=False,
                timeout=(5.0, 5.0),
            )
    return delete_credentials(path) or creds is not None
