"""#12: one client served by two server processes in turn, as behind a load balancer, without
noticing. Two ``campfire serve`` processes share one copy of the tiny demo archive; a small
round-robin reverse proxy (this module) sends each request to the next process, so a device
login, a sync, a download plan and its files, an inspection and the next sync each hop between
them. The archive's answers are checked against a client served by one process alone.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from demo_clients import user_client

from campfire.server.testing import RunningServer, running_server, server_process

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate", "content-length"}  # fmt: skip


class RoundRobin(ThreadingHTTPServer):
    """An HTTP reverse proxy on loopback sending each request to the next of ``ports``."""

    daemon_threads = True

    def __init__(self, ports: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.ports, self.turn, self.served = ports, 0, Counter[int]()
        self.lock = threading.Lock()

    def next_port(self) -> int:
        with self.lock:
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            self.served[port] += 1
            return port


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RoundRobin

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        conn = http.client.HTTPConnection("127.0.0.1", self.server.next_port(), timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response_only(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in _HOP:
                self.send_header(k, v)
        size = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", size or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward


@pytest.fixture(scope="module")
def balanced(copy_tiny_archive, tmp_path_factory) -> Iterator[tuple[RunningServer, RoundRobin]]:
    """``(the proxy as a RunningServer, the proxy)`` in front of two server processes."""
    served = copy_tiny_archive(tmp_path_factory.mktemp("two-served") / "archive")
    with server_process(served) as a, server_process(served) as b:
        proxy = RoundRobin([a.port, b.port])
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            yield RunningServer(proxy.server_address[1], served, None, False), proxy
        finally:
            proxy.shutdown()
            proxy.server_close()


def _catalog(cf) -> dict[str, list]:
    return {
        "objects": sorted(map(tuple, cf.sql("SELECT object_id, version FROM objects").iterrows())),
        "spectra": sorted(str(s) for s in cf.sql("SELECT spectrum_id FROM spectra")["spectrum_id"]),
    }


def test_a_client_served_by_two_processes_in_turn_does_not_notice(
    balanced, copy_tiny_archive, tmp_path, helpers
):
    srv, proxy = balanced
    # a device login: started, approved in the browser (login, page, approve) and polled,
    # each request on the next process
    creds, waits = helpers.device_login(srv, "carol")
    assert creds.user_email == "carol@campfire.demo" and waits == [5.0]
    # sync, download, write, sync again: every request alternates
    cf = user_client(srv, "alice", tmp_path / "alice")
    first = cf.sync()
    obs = "capers_cosmos_p1"
    got = cf.download(observations=[obs])
    assert got["failed"] == 0 and got["downloaded"] > 1
    paths = list(cf.query_spectra(observations=[obs])["local_path"])
    assert paths and all((cf.data_dir / "products" / p).is_file() for p in paths)
    oid = str(cf.sql("SELECT object_id FROM objects ORDER BY 1 LIMIT 1")["object_id"][0])
    obj = cf.inspect(oid, redshift=1.234, quality="secure")
    assert (obj.redshift_inspected, obj.redshift_quality) == (1.234, 4)
    assert len(cf.outbox) == 0  # pushed, through whichever process
    again = cf.sync()
    assert again["objects"] == first["objects"]
    assert proxy.served[proxy.ports[0]] > 10 and proxy.served[proxy.ports[1]] > 10
    # the reference: one process over the same archive, a fresh client
    with running_server(srv.archive_dir) as one:
        ref = user_client(one, "alice", tmp_path / "ref")
        ref.sync()
        assert _catalog(ref) == _catalog(cf)
        row = ref.sql(f"SELECT redshift_inspected FROM objects WHERE object_id = '{oid}'")
        assert row["redshift_inspected"][0] == pytest.approx(1.234)
        assert ref.download(observations=[obs])["failed"] == 0
        for p in paths:  # the same bytes as one process serves
            mine = (cf.data_dir / "products" / p).read_bytes()
            assert mine == (ref.data_dir / "products" / p).read_bytes()
