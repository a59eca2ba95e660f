"""The lean path for file bytes: keep-alive ``http.client`` connections, configured by the layer.

``benchmarks/bench_download.py`` showed that, with a few download workers, the Python work per
request limits throughput, and ``requests`` spends about 1 ms more of it per file than
``http.client`` (0.31 s against 0.13 s of CPU for the 168 files of the small demo's largest
observation). So the byte loop of a download keeps one ``http.client`` connection per worker
thread and host, but it decides nothing on its own: the
:class:`~campfire.archive.transport.Transport` gives it the user agent, the timeouts, the TLS
context (built from the same CA bundle as every API call, :func:`ssl_context`) and the proxy for
each connection (the environment as ``requests`` reads it, ``NO_PROXY`` included); retries and
the offline switch stay with the transport's callers.

Examples
--------
>>> pool = StreamPool(user_agent="campfire-python/x")
>>> pool.target("http://127.0.0.1:9/api/v1/files/a.fits?sig=1", proxied=False)
'/api/v1/files/a.fits?sig=1'
"""

from __future__ import annotations

import base64
import functools
import http.client
import socket
import ssl
import threading
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import requests.utils

from campfire.errors import DownloadError

__all__ = ["StreamPool", "proxy_for", "ssl_context"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@functools.lru_cache(maxsize=8)
def ssl_context(cafile: str | None) -> ssl.SSLContext:
    """A verifying TLS context trusting ``cafile`` (default: the bundle requests ships).

    Examples
    --------
    >>> ssl_context(None).verify_mode == ssl.CERT_REQUIRED
    True
    """
    return ssl.create_default_context(cafile=cafile or requests.utils.DEFAULT_CA_BUNDLE_PATH)


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``NO_PROXY`` honoured), as requests does.

    Examples
    --------
    With ``http_proxy=http://proxy:3128`` in the environment:

    >>> proxy_for("http://example.org/x")  # doctest: +SKIP
    'http://proxy:3128'
    """
    proxies = requests.utils.get_environ_proxies(url)
    return requests.utils.select_proxy(url, proxies)


_Conn = tuple[http.client.HTTPConnection, bool, dict[str, str]]


class StreamPool:
    """Keep-alive connections for streamed GETs, one per worker thread and host.

    Parameters
    ----------
    user_agent
        Sent with every request.
    """

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self._local = threading.local()
        self._every: dict[int, http.client.HTTPConnection] = {}  # every thread's connections
        self._every_lock = threading.Lock()

    def _pool(self) -> dict[tuple[str, ...], _Conn]:
        pool: dict[tuple[str, ...], _Conn] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    @staticmethod
    def target(url: str, *, proxied: bool) -> str:
        """What goes on the request line: the absolute URL through a plain-HTTP proxy, else
        the path and query.
        """
        if proxied:
            return url
        parts = urlsplit(url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @staticmethod
    def _connect(
        parts: SplitResult, proxy: str | None, cafile: str | None, timeout: float
    ) -> _Conn:
        """(connection, absolute-URL requests, extra headers) for ``parts``' host.

        The TLS context (loading the CA bundle: about 50 ms of CPU) is built for HTTPS only.
        """
        host, https = parts.hostname or "", parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        if proxy is None:
            if https:
                tls = http.client.HTTPSConnection(
                    host, port, timeout=timeout, context=ssl_context(cafile)
                )
                return tls, False, {}
            return http.client.HTTPConnection(host, port, timeout=timeout), False, {}
        p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
        auth: dict[str, str] = {}
        if p.username:
            token = base64.b64encode(f"{unquote(p.username)}:{unquote(p.password or '')}".encode())
            auth = {"Proxy-Authorization": "Basic " + token.decode()}
        if https:  # a CONNECT tunnel through the proxy, TLS end to end
            tunnel: http.client.HTTPConnection = http.client.HTTPSConnection(
                p.hostname or "", p.port or 8080, timeout=timeout, context=ssl_context(cafile)
            )
            tunnel.set_tunnel(host, port, headers=auth)
            return tunnel, False, {}
        conn = http.client.HTTPConnection(p.hostname or "", p.port or 8080, timeout=timeout)
        return conn, True, auth  # plain HTTP through a proxy: request the absolute URL

    def open(
        self, url: str, headers: dict[str, str], *, cafile: str | None, timeout: float
    ) -> http.client.HTTPResponse:
        """GET ``url`` (following up to five redirects); the caller reads the body.

        The response's ``url`` is the one that answered (after a redirect, another host: its
        connection is the one to cut off or discard, :meth:`live_socket`, :meth:`discard`).

        A kept-alive connection that the server had closed is replaced once, at once: that
        is not a retry of a failure (a fresh connection's failure is raised as it is).
        """
        pool = self._pool()
        for _ in range(6):
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, cafile or "")
            reused = key in pool
            if not reused:  # the proxy is chosen per connection (asking costs about 1 ms)
                pool[key] = self._connect(parts, proxy_for(url), cafile, timeout)
                with self._every_lock:
                    self._every[id(pool[key][0])] = pool[key][0]
            conn, absolute, extra = pool[key]
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request(
                    "GET",
                    self.target(url, proxied=absolute),
                    headers={"User-Agent": self.user_agent, **headers, **extra},
                )
                sock = conn.sock  # the connection forgets it when the answer ends keep-alive
                resp = conn.getresponse()
            except (http.client.HTTPException, OSError):
                self.discard(url)
                if not reused:
                    raise
                continue  # a keep-alive connection the server had closed: once more, fresh
            location = resp.getheader("Location")
            if resp.status in _REDIRECTS and location:
                resp.read()
                url = urljoin(url, location)
                continue
            resp.url = url  # where the bytes come from (after redirects: the object store)
            self._local.live = (parts.scheme, parts.netloc, sock)
            return resp
        raise DownloadError(f"too many redirects or dropped connections for {url}")

    def close(self, every_thread: bool = False) -> None:
        """Close this thread's kept-alive connections (they reopen on next use); with
        ``every_thread``, those of finished worker threads too (call it once they are done).
        """
        pool = self._pool()
        while pool:
            self._forget(pool.popitem()[1][0])
        if every_thread:
            with self._every_lock:
                left, self._every = list(self._every.values()), {}
            for conn in left:
                conn.close()

    def _forget(self, conn: http.client.HTTPConnection) -> None:
        with self._every_lock:
            self._every.pop(id(conn), None)
        conn.close()

    def live_socket(self, url: str) -> socket.socket | None:
        """The calling thread's socket to ``url``'s host (the one of the answer it opened last
        there), or None: another thread may ``shutdown`` it to cut a transfer off.
        """
        parts = urlsplit(url)
        live: tuple[str, str, socket.socket | None] | None = getattr(self._local, "live", None)
        if live is not None and live[:2] == (parts.scheme, parts.netloc):
            return live[2]  # the last answer's, even when its server ends keep-alive (HTTP/1.0)
        for key, (conn, _, _) in self._pool().items():
            if key[:2] == (parts.scheme, parts.netloc):
                return conn.sock
        return None

    def discard(self, url: str) -> None:
        """Close the connections to ``url``'s host (after an error or an unread body)."""
        parts = urlsplit(url)
        pool = self._pool()
        for key in [k for k in pool if k[:2] == (parts.scheme, parts.netloc)]:
            self._forget(pool.pop(key)[0])
