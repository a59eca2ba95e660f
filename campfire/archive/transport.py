"""The one HTTP layer: sessions, TLS, proxies, the offline switch, JSON and streamed requests.

Everything campfire sends over the network goes through a :class:`Transport`: the typed
endpoints of :class:`~campfire.archive.api.ApiClient` and the file downloads of
:mod:`campfire.download.transfer` alike. It holds

* the session factory: one ``requests.Session`` per thread (keep-alive, the user agent),
  timeouts, and proxies from the environment (``https_proxy``, ``http_proxy``, ``no_proxy``,
  read on every request as ``requests`` does);
* the CA bundle: ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else ``SSL_CERT_FILE``
  (:func:`ca_bundle`), else the bundle ``requests`` ships with; a certificate that fails to
  verify becomes an error that says which variable to set, never a traceback;
* streamed file bytes on a lean path (:mod:`campfire.archive.streams`: ``http.client``
  keep-alive connections) that takes all of the above from here;
* the retry policy (:class:`~campfire.archive.backoff.RetryPolicy`, the one loop);
* the offline switch (``CAMPFIRE_OFFLINE=1``, :meth:`Transport.require_online`).

Examples
--------
>>> from campfire.config import Settings
>>> t = Transport(Settings.from_env({"CAMPFIRE_OFFLINE": "1"}))
>>> try:
...     t.require_online("GET /version")
... except Exception as exc:
...     type(exc).__name__
'OfflineError'
>>> ca_bundle({"SSL_CERT_FILE": "/etc/ca.pem"})
'/etc/ca.pem'
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from campfire._version import __version__
from campfire.archive.backoff import Retryable, RetryPolicy, parse_retry_after
from campfire.archive.status import status_error
from campfire.archive.streams import StreamPool
from campfire.config import Settings
from campfire.errors import APIError, CampfireError, DownloadError, OfflineError

__all__ = [
    "CA_VARIABLES",
    "RETRY_STATUSES",
    "USER_AGENT",
    "Transport",
    "ca_bundle",
    "certificate_problem",
    "redact_url",
    "require_online",
    "tls_message",
]

USER_AGENT = f"campfire-python/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
_ONLINE_HINT = "Unset CAMPFIRE_OFFLINE to reach the archive."


def require_online(settings: Settings, what: str, hint: str = _ONLINE_HINT) -> None:
    """The one offline switch: raise :class:`~campfire.errors.OfflineError` when
    ``CAMPFIRE_OFFLINE=1``, before anything touches the network (or asks for a login).

    ``what`` completes "cannot ..." in the message; ``hint`` follows it.

    Examples
    --------
    >>> from campfire.config import Settings
    >>> require_online(Settings.from_env({}), "sync")  # online: nothing happens
    """
    if settings.offline:
        tail = f" {hint}" if hint else ""
        raise OfflineError(f"Network access is disabled (CAMPFIRE_OFFLINE=1): cannot {what}.{tail}")


def ca_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle the environment names (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``,
    ``SSL_CERT_FILE``, first set wins), or None for the default bundle.

    Examples
    --------
    >>> ca_bundle({"CURL_CA_BUNDLE": "/a.pem", "SSL_CERT_FILE": "/b.pem"})
    '/a.pem'
    >>> ca_bundle({}) is None
    True
    """
    env = os.environ if environ is None else environ
    for name in CA_VARIABLES:
        value = env.get(name)
        if value:
            return value
    return None


def certificate_problem(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a failed certificate verification.

    Examples
    --------
    >>> certificate_problem(ssl.SSLCertVerificationError("self-signed certificate"))
    True
    >>> certificate_problem(ConnectionRefusedError())
    False
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
            return True
        todo += [e.__cause__, e.__context__]
        todo += [a for a in e.args if isinstance(a, BaseException)]
        todo.append(getattr(e, "reason", None))
    return False


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]*@")


def redact_url(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL in it hidden.

    Messages name the archive's URL; one given with a password in it must not echo it.

    Examples
    --------
    >>> redact_url("Could not reach https://ada:s3cret@archive.example/api/v1 (timeout)")
    'Could not reach https://ada:***@archive.example/api/v1 (timeout)'
    """
    return _USERINFO.sub(r"\g<scheme>\g<user>:***@", text)


def tls_message(url: str) -> str:
    """What to say when ``url``'s certificate could not be verified, and what to do.

    Examples
    --------
    >>> tls_message("https://archive.example/api/v1/x").split(".")[0]
    'Could not verify the TLS certificate of archive'
    """
    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    using = ca_bundle()
    bundle = f" (now {using})" if using else ""
    return (
        f"Could not verify the TLS certificate of {host}. If the archive or your network uses "
        f"its own certificate authority, set REQUESTS_CA_BUNDLE{bundle} to a PEM file holding "
        "that CA's certificate (SSL_CERT_FILE and CURL_CA_BUNDLE work too)."
    )


class Transport:
    """Sessions, TLS, proxies, the retry policy and the offline switch, shared by every request.

    Parameters
    ----------
    settings
        Where the archive is (``base_url``) and whether the network is allowed (``offline``).
    session
        A :class:`requests.Session` to use for every request (serialised, since sessions are
        not thread-safe); by default each thread gets its own.
    retry
        The :class:`~campfire.archive.backoff.RetryPolicy` of every retried request.
    timeout
        ``(connect, read)`` seconds for each request.
    compress
        Ask for gzip-compressed JSON answers.

    Examples
    --------
    >>> from campfire.config import Settings
    >>> t = Transport(Settings.from_env({"CAMPFIRE_API_URL": "http://127.0.0.1:9/api/v1"}))
    >>> t.session.headers["User-Agent"] == USER_AGENT
    True
    """

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        compress: bool = True,
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.compress = compress
        self._session = session
        # a session given by the caller is shared by our threads: one request at a time
        self._session_lock: Any = (
            threading.Lock() if session is not None else contextlib.nullcontext()
        )
        self._local = threading.local()
        self.streams = StreamPool(USER_AGENT)

    # -- the offline switch -------------------------------------------------------------------

    def require_online(self, what: str, hint: str = _ONLINE_HINT) -> None:
        """Raise :class:`~campfire.errors.OfflineError` when ``CAMPFIRE_OFFLINE=1``
        (see :func:`require_online`).
        """
        require_online(self.settings, what, hint)

    # -- sessions -----------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """The session for the calling thread (the one given, or one per thread)."""
        if self._session is not None:
            return self._session
        s: requests.Session | None = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = USER_AGENT
            if not self.compress:
                s.headers["Accept-Encoding"] = "identity"
            self._local.session = s
        return s

    @staticmethod
    def verify() -> str | bool:
        """``verify=`` for requests: the CA bundle the environment names, else the default."""
        return ca_bundle() or True

    # -- one attempt --------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request: no retry, no status check.

        Raises
        ------
        Retryable
            Wrapping :class:`~campfire.errors.APIError` ("Could not reach the archive"): the
            archive could not be reached or the answer broke off.
        APIError
            The archive's TLS certificate could not be verified (with what to do about it).
        """
        try:
            with self._session_lock:
                return self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=dict(headers or {}),
                    timeout=timeout or self.timeout,
                    verify=self.verify(),
                    stream=stream,
                )
        except requests.RequestException as exc:
            raise self.network_error(url, exc, APIError) from exc

    def network_error(
        self, url: str, exc: BaseException, kind: type[CampfireError]
    ) -> CampfireError | Retryable:
        """The error for a request to ``url`` that failed with ``exc``: a ``kind`` error saying
        what to do for a certificate that failed to verify (not worth retrying), else a
        :class:`Retryable` "could not reach" error.
        """
        if certificate_problem(exc):
            return kind(tls_message(url))
        return Retryable(
            kind(
                redact_url(
                    f"Could not reach the archive at {self.settings.base_url} "
                    f"({type(exc).__name__}: {exc}). Check your network connection and "
                    "CAMPFIRE_API_URL."
                )
            )
        )

    @staticmethod
    def retryable_status(response: requests.Response) -> Retryable | None:
        """A :class:`Retryable` for a 429 or 5xx answer (with its ``Retry-After``), else None."""
        if response.status_code not in RETRY_STATUSES:
            return None
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return Retryable(status_error(response), wait)

    # -- streams ------------------------------------------------------------------------------

    def open_stream(
        self, url: str, headers: Mapping[str, str], read_timeout: float
    ) -> http.client.HTTPResponse:
        """GET ``url`` for streaming its body, on the lean path (:mod:`campfire.archive.streams`).

        One attempt (redirects followed): the caller's loop retries through :attr:`retry`. The
        proxy and the TLS context come from the same environment and CA bundle as every other
        request. Network errors are raised as they are (``OSError``,
        ``http.client.HTTPException``), except a certificate that fails to verify, which
        becomes a :class:`~campfire.errors.DownloadError` saying what to do.
        """
        try:
            return self.streams.open(url, dict(headers), cafile=ca_bundle(), timeout=read_timeout)
        except ssl.SSLError as exc:
            if certificate_problem(exc):
                raise DownloadError(tls_message(url)) from None
            raise

    def close_streams(self, every_thread: bool = False) -> None:
        """Close this thread's kept-alive file connections (after a one-off download); with
        ``every_thread``, the finished download workers' too.
        """
        self.streams.close(every_thread)

    def stream_socket(self, url: str) -> socket.socket | None:
        """The calling thread's socket to ``url``'s host on the lean path, or None.

        See :meth:`~campfire.archive.streams.StreamPool.live_socket`.
        """
        return self.streams.live_socket(url)

    def discard_stream(self, url: str) -> None:
        """Close this thread's connection to ``url``'s host (after an error or an unread body)."""
        self.streams.discard(url)
