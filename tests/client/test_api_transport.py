"""Transport pieces that need no archive: offline switch, unreachable hosts, retry policy,
filter conversion, the /version announcement."""

from __future__ import annotations

import socket

import pytest

from campfire.archive.api import ApiClient
from campfire.archive.backoff import RetryPolicy, parse_retry_after
from campfire.archive.contract import ServerInfo, filter_params
from campfire.config import Settings
from campfire.errors import APIError, OfflineError


def test_offline_raises_before_any_socket_opens(listener):
    port = listener.getsockname()[1]
    settings = Settings.from_env(
        {"CAMPFIRE_API_URL": f"http://127.0.0.1:{port}/api/v1", "CAMPFIRE_OFFLINE": "1"}
    )
    api = ApiClient(settings)
    for call in (api.version, api.get_metadata, lambda: api.fetch_manifest("x")):
        with pytest.raises(OfflineError, match="CAMPFIRE_OFFLINE"):
            call()
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected


def test_unreachable_archive_retries_with_backoff_then_says_so():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    waits: list[float] = []
    retry = RetryPolicy(retries=3, backoff=0.5, jitter=0.0, sleep=waits.append)
    settings = Settings.from_env({"CAMPFIRE_API_URL": f"http://127.0.0.1:{port}/api/v1"})
    with pytest.raises(APIError, match="Could not reach the archive") as info:
        ApiClient(settings, retry=retry).version()
    assert "CAMPFIRE_API_URL" in str(info.value)
    assert waits == [0.5, 1.0, 2.0]  # exponential, three retries


def test_backoff_has_bounded_jitter_and_cap():
    policy = RetryPolicy(backoff=1.0, max_backoff=4.0, jitter=0.5)
    delays = [policy.delay(n) for n in range(6) for _ in range(20)]
    assert all(1.0 <= d <= 6.0 for d in delays)
    assert max(policy.delay(5) for _ in range(50)) <= 6.0  # capped at 4 s + 50 % jitter
    assert len({round(policy.delay(2), 6) for _ in range(20)}) > 1  # jitter varies
    assert policy.delay(3, retry_after=2.5) == 2.5


def test_parse_retry_after_seconds_and_dates():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None


def test_filter_params_follow_section_6_1():
    params = filter_params(
        {
            "programs": ["ember-uds", 7],
            "gratings": ("PRISM", "G395M"),
            "redshift_range": (2.5, None),
            "max_snr_range": (None, 10),
            "redshift_quality": ["secure", 3],
            "dq_flags": 6,
            "tags": ["lrd"],
            "inspected_only": False,
            "has_photometry": True,
            "cone_search": (34.4, -5.1, 30),
            "search": "J02",
            "limit": 10,
            "observations": None,
        }
    )
    assert params == {
        "programs": "ember-uds,7",
        "gratings": "PRISM,G395M",
        "redshift_min": "2.5",
        "max_snr_max": "10",
        "redshift_quality": "4,3",
        "dq_flags_include_any": "6",
        "lists": "lrd",
        "inspected_only": "false",
        "has_photometry": "true",
        "ra": "34.4",
        "dec": "-5.1",
        "radius": "30",
        "search": "J02",
        "limit": "10",
    }


def test_server_info_falls_back_to_the_plain_contract():
    plain = ServerInfo.from_json({"latest": "0.4.0", "minimum": "0.4.0"})
    assert not plain.extensions and plain.sync_page_size == 1000
    ours = ServerInfo.from_json(
        {"extensions": ["sync-large-pages", "sync-deletions"], "max_sync_limit": 10000}
    )
    assert ours.has("sync-deletions") and ours.sync_page_size == 10000
    assert ServerInfo.from_json({"extensions": "junk", "max_sync_limit": -1}).sync_page_size == 1000
