"""One retry loop: the server counts the attempts it saw, and they are exactly the policy's.

Faults are injected by the real server (``/_test/faults``); each rule's ``hits`` is the number
of requests that reached it. Nested retry loops would multiply the attempts (a loop around a
loop of ``n + 1`` tries sees up to ``(n + 1)**2``); one loop sees exactly ``retries + 1``.
"""

from __future__ import annotations

import pytest

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.download.plan import plan_downloads
from campfire.download.run import download
from campfire.errors import APIError
from campfire.sync.engine import sync_catalog

OBS = "ember_uds_p4"


def api_for(srv, helpers, retries, sleeps):
    retry = RetryPolicy(retries=retries, backoff=0.01, jitter=0.0, sleep=sleeps.append)
    return ApiClient(
        helpers.make_settings(srv), ApiKeyProvider(helpers.user_key(srv, "alice")), retry=retry
    )


def hits(srv):
    return sum(rule["hits"] for rule in srv.faults())


JSON_FAULTS = {
    "status": [{"kind": "status", "status": 503, "times": -1}],
    "rate_limit": [{"kind": "rate_limit", "retry_after": 1, "times": -1}],
    "drop": [{"kind": "drop", "after_bytes": 10, "times": -1}],
    "corrupt": [{"kind": "corrupt", "after_bytes": 1, "times": -1}],
    "truncate": [{"kind": "truncate", "after_bytes": 20, "times": -1}],
    # a 5xx, then broken bodies: the case where a decode loop around a status loop nested
    "status_then_corrupt": [
        {"kind": "status", "status": 503, "times": 2},
        {"kind": "corrupt", "after_bytes": 1, "times": -1},
    ],
}


@pytest.mark.parametrize("retries", [2, 4])
@pytest.mark.parametrize("faults", list(JSON_FAULTS.values()), ids=list(JSON_FAULTS))
def test_a_failing_json_route_sees_exactly_retries_plus_one_attempts(
    server, helpers, faults, retries
):
    server.set_faults([{"path": "/metadata", **rule} for rule in faults])
    sleeps: list[float] = []
    with pytest.raises(APIError):
        api_for(server, helpers, retries, sleeps).get_metadata()
    assert hits(server) == retries + 1
    assert len(sleeps) == retries


def test_a_post_is_sent_once(server, helpers):
    server.set_faults([{"path": "/auth/device", "kind": "status", "status": 503, "times": -1}])
    sleeps: list[float] = []
    with pytest.raises(APIError):
        api_for(server, helpers, 3, sleeps).request("POST", "/auth/device", auth=False)
    assert hits(server) == 1 and sleeps == []


FILE_FAULTS = {
    "status": [{"kind": "status", "status": 503, "times": -1}],
    "drop": [{"kind": "drop", "after_bytes": 20_000, "times": -1}],
    "corrupt": [{"kind": "corrupt", "after_bytes": 100, "times": -1}],
    "status_then_drop": [
        {"kind": "status", "status": 502, "times": 1},
        {"kind": "drop", "after_bytes": 20_000, "times": -1},
    ],
}


@pytest.mark.parametrize("faults", list(FILE_FAULTS.values()), ids=list(FILE_FAULTS))
def test_a_failing_file_sees_exactly_retries_plus_one_attempts(server, helpers, tmp_path, faults):
    sleeps: list[float] = []
    api = api_for(server, helpers, 3, sleeps)
    with Store(tmp_path / "meta" / "campfire.db") as store:
        sync_catalog(api, store)
        plan = plan_downloads(store, observations=[OBS])
        name = sorted(f.local_path for f in plan.files)[0].split("/")[-1]
        path = f"/files/spectra/{OBS}/{name}"
        server.set_faults([{"path": path, **rule} for rule in faults])
        sleeps.clear()
        result = download(api, store, plan)  # the client's own policy: 3 retries
    assert result.failed == 1 and result.downloaded == len(plan) - 1
    assert result.failures[0].local_path == f"{OBS}/{name}"
    assert "(after 4 attempts)" in result.failures[0].reason
    assert hits(server) == 4  # 3 retries + the first attempt, not 16
    assert len(sleeps) == 3
