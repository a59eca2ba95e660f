"""The test-only fault switch and the rate-limit extension, over real HTTP."""

from __future__ import annotations

import hashlib
import json
import logging
import time

import pytest
import requests
from server_products import api_get

from campfire.server.testing import running_server

FILE = "spectra/alpha_uds_p1/alpha_uds_p1_prism_clear_1_spec.fits"


def signed(server):
    return api_get(server, "/spectra", path=FILE).json()["url"]


def test_status_fault_hits_once_then_clears(server):
    server.set_faults([{"path": "/sync/objects", "kind": "status", "status": 503, "times": 1}])
    first = api_get(server, "/sync/objects")
    assert first.status_code == 503 and "error" in first.json()
    assert api_get(server, "/sync/objects").status_code == 200
    assert api_get(server, "/sync/spectra").status_code == 200  # other paths untouched
    (rule,) = server.faults()
    assert (rule["hits"], rule["times"]) == (1, 0)


def test_rate_limit_fault_sends_retry_after(server):
    server.set_faults([{"path": "/objects", "kind": "rate_limit", "retry_after": 7, "times": -1}])
    for _ in range(2):
        r = api_get(server, "/objects")
        assert r.status_code == 429 and r.headers["retry-after"] == "7"
        assert r.json() == {"error": "Rate limit exceeded", "retry_after": 7}
    assert server.faults()[0]["hits"] == 2
    server.clear_faults()
    assert api_get(server, "/objects").status_code == 200


@pytest.mark.local_files  # faults act on the bytes the app sends; from S3 it sends none
def test_truncate_gives_a_short_complete_body(server):
    url = signed(server)
    full = requests.get(url, timeout=10).content
    server.set_faults([{"path": "/files/", "kind": "truncate", "after_bytes": 1000}])
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == full[:1000]
    assert r.headers["content-length"] == "1000"


@pytest.mark.local_files  # faults act on the bytes the app sends; from S3 it sends none
def test_corrupt_flips_one_byte(server):
    url = signed(server)
    full = requests.get(url, timeout=10).content
    server.set_faults([{"path": "/files/", "kind": "corrupt", "after_bytes": 2880}])
    bad = requests.get(url, timeout=10).content
    assert len(bad) == len(full) and bad[2880] == full[2880] ^ 0xFF
    assert bad[:2880] == full[:2880] and bad[2881:] == full[2881:]
    assert hashlib.sha256(bad).digest() != hashlib.sha256(full).digest()


@pytest.mark.local_files  # faults act on the bytes the app sends; from S3 it sends none
def test_drop_closes_the_connection_mid_file(server):
    url = signed(server)
    server.set_faults([{"path": "/files/", "kind": "drop", "after_bytes": 4000}])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=10).content  # noqa: B018
    assert requests.get(url, timeout=10).status_code == 200  # times=1: next one is fine


def test_truncated_json_is_not_json(server):
    server.set_faults([{"path": "/metadata", "kind": "truncate", "after_bytes": 20}])
    r = api_get(server, "/metadata")
    assert len(r.content) == 20
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_stall_delays_and_times_out_a_short_client(server):
    server.set_faults([{"path": "/version", "kind": "stall", "stall_seconds": 2}])
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(server.base_url + "/version", timeout=0.3)


def test_a_stall_ends_when_its_client_hangs_up(server, caplog):
    """A stalled request whose client went away ends then, not a minute later in the log of
    whatever runs next (CI once saw a killed client's 20 s stall logged in another test).
    """
    server.set_faults([{"path": "/version", "kind": "stall", "stall_seconds": 60}])
    with caplog.at_level(logging.INFO, logger="campfire.server.access"):
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(server.base_url + "/version", timeout=0.3,
                         headers={"X-Request-Id": "held-then-left"})  # fmt: skip
        ended = []
        for _ in range(300):  # the request's one log line: written when it ends
            ended = [r.access for r in caplog.records
                     if getattr(r, "access", {}).get("request_id") == "held-then-left"]  # fmt: skip
            if ended:
                break
            time.sleep(0.1)
    assert ended and ended[0]["duration_ms"] < 60_000 and ended[0]["bytes"] == 0


def test_a_stall_before_the_answer_keeps_the_request_body(server):
    """The body a held request sent is the body the route reads."""
    oid = api_get(server, "/objects", limit=1).json()["data"][0]["object_id"]
    path = f"/objects/{oid}/comments"
    server.set_faults([{"path": path, "kind": "stall", "stall_seconds": 0.3}])
    r = requests.post(server.base_url + path, json={"body": "held, then kept"}, timeout=30,
                      headers={"Authorization": f"Bearer {server.keys['full']}"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["comment"]["body"] == "held, then kept" and server.faults()[0]["hits"] == 1


def test_bad_rules_are_400(server):
    r = requests.post(
        server.base_url + "/_test/faults",
        json={"rules": [{"path": "x", "kind": "status"}]},
        timeout=10,
    )
    assert r.status_code == 400 and "path" in r.json()["error"]
    r = requests.post(
        server.base_url + "/_test/faults",
        json={"rules": [{"path": "/x", "kind": "explode"}]},
        timeout=10,
    )
    assert r.status_code == 400 and "kind" in r.json()["error"]


def test_switch_is_off_by_default(built, backend, tmp_path):
    root, _ = built
    backend.copy(root / "archive", tmp_path / "a")
    with running_server(tmp_path / "a") as srv:
        r = requests.post(srv.base_url + "/_test/faults", json={"rules": []}, timeout=10)
        assert r.status_code == 404
        with pytest.raises(RuntimeError, match="faults=True"):
            srv.set_faults([])


def test_rate_limit_per_key(built, backend, tmp_path):
    root, keys = built
    backend.copy(root / "archive", tmp_path / "a")
    with running_server(tmp_path / "a", rate_limit=3) as srv:
        srv.keys = keys
        assert (
            requests.get(srv.base_url + "/version", timeout=10).json()["rate_limit_per_minute"] == 3
        )
        codes = [api_get(srv, "/objects").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = api_get(srv, "/objects")
        assert r.json()["error"] == "Rate limit exceeded"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert api_get(srv, "/objects", "public").status_code == 200  # another key: own budget
        url = api_get(srv, "/spectra", "public", path=FILE).json()["url"]
        assert all(requests.get(url, timeout=10).status_code == 200 for _ in range(5))
