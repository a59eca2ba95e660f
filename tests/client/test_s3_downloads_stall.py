"""A bucket that drips: after the archive's redirect, the download's deadline must cover the
object store's connection too (#12: it used to watch the archive's idle connection instead,
so a stalled bucket held the download until the bucket finished).

The bucket side is slowed by a loopback TCP proxy in front of moto_server: the archive signs its
URLs for the proxy (``AWS_ENDPOINT_URL`` points at it), and the proxy drips the answer to any
request for the slow file's blob (its key holds the SHA-256), 200 bytes every 0.05 s, so no
single read ever stalls.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from s3archive import s3_served

from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.download.plan import plan_downloads
from campfire.download.run import download
from campfire.sync.engine import sync_catalog

OBS = "ember_uds_p4"


class DripProxy:
    """A TCP proxy to ``upstream`` that drips the answers to requests naming a string of
    :attr:`slow` (after their first ``after`` bytes), for at most ``limit`` seconds a
    connection, then passes the rest at full speed (so a client without a deadline finishes
    late, instead of hanging the test run).
    """

    def __init__(self, upstream: str, after: int = 10_000, limit: float = 20.0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.after, self.limit = after, limit
        self.slow: set[str] = set()
        self.dripped = 0  # connections slowed down
        self._socks: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        _close(*self._socks)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._socks += [client, server]
            state = {"slow": False}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    def _up(self, src: socket.socket, dst: socket.socket, state: dict[str, bool]) -> None:
        try:
            while data := src.recv(65536):
                if any(text.encode() in data for text in self.slow):
                    state["slow"] = True
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src, dst)

    def _down(self, src: socket.socket, dst: socket.socket, state: dict[str, bool]) -> None:
        sent, began = 0, None
        try:
            while data := src.recv(65536):
                view = memoryview(data)
                while view:
                    if not state["slow"] or sent < self.after:
                        n = len(view) if not state["slow"] else min(len(view), self.after - sent)
                    elif began is None or time.monotonic() - began < self.limit:
                        if began is None:
                            began = time.monotonic()
                            self.dripped += 1
                        n = min(len(view), 200)
                        time.sleep(0.05)
                    else:
                        n = len(view)
                    dst.sendall(view[:n])
                    view, sent = view[n:], sent + n
        except OSError:
            pass
        finally:
            _close(src, dst)


def _close(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()


@pytest.fixture(scope="module")
def dripping(demo_archive, tmp_path_factory, s3_endpoint):
    """The tiny archive served with its files in a bucket reached through a :class:`DripProxy`."""
    proxy = DripProxy(s3_endpoint)
    served = tmp_path_factory.mktemp("s3-stall") / "archive"
    shutil.copytree(demo_archive, served)
    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ENDPOINT_URL", proxy.url)  # the archive signs URLs for the proxy
    try:
        with s3_served(served, proxy.url) as srv:
            yield srv, proxy
    finally:
        patch.undo()
        proxy.close()


def test_a_stalled_bucket_is_cut_off_after_the_redirect(dripping, helpers, tmp_path):
    srv, proxy = dripping
    bucket = srv.app.state.archive.store
    names = sorted(k.rsplit("/", 1)[1] for k in bucket.keys(f"spectra/{OBS}/"))
    names = [n for n in names if n.endswith("_spec.fits")]
    want = {
        n: "sha256:" + hashlib.sha256(bucket.read_bytes(f"spectra/{OBS}/{n}")).hexdigest()
        for n in names
    }
    slow = names[0]
    blob = want[slow].split(":")[1]  # the bucket keeps files under their SHA-256
    with Store(tmp_path / "meta" / "campfire.db") as store:
        api = helpers.make_api(srv)
        sync_catalog(api, store)
        plan = plan_downloads(store, observations=[OBS])
        proxy.slow = {blob}
        try:
            retry = RetryPolicy(retries=1, backoff=0.01, jitter=0.0, sleep=lambda s: None)
            # each attempt may take 0.5 s plus its bytes at 200 kB/s; the drip gives 4 kB/s
            result = download(api, store, plan, retry=retry, stall_timeout=0.5, min_rate=200_000)
        finally:
            proxy.slow = set()
        folder = store.products_dir / OBS
        got = {
            p.name: "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.glob("*_spec.fits")
        }
    assert proxy.dripped >= 2  # both attempts went to the bucket through the drip
    assert [f.local_path.rsplit("/", 1)[1] for f in result.failures] == [slow]
    assert "too slow" in result.failures[0].reason
    assert got == {n: h for n, h in want.items() if n != slow}  # the others verified in place
