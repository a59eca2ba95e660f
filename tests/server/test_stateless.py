"""Issue #12: no state in one server process. Two ``campfire serve`` processes on one archive
(and ``campfire serve --workers 2``) answer as one server: a login made on one is good on the
other, a device flow started on one finishes on the other, rate limits and login throttles are
counted across both, and a worker pool answers exactly what a single process answers.

Every server here is a real ``campfire serve`` process (``server_process``); the in-thread
``running_server`` over the same archive is the reference the worker pool is compared with.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from server_products import USERS
from test_server_auth import GRANT, approve_page, browser_login, refresh, start

from campfire.server.archive import Archive
from campfire.server.testing import running_server, server_process


@pytest.fixture(scope="module")
def two(built, tmp_path_factory):
    """Two server processes on one copy of the archive: ``(a, b)``."""
    root, keys = built
    served = tmp_path_factory.mktemp("two") / "archive"
    shutil.copytree(root / "archive", served)
    with server_process(served) as a, server_process(served) as b:
        a.keys = b.keys = keys
        yield a, b


def _poll(srv, code):
    body = {"grant_type": GRANT, "device_code": code}
    return requests.post(srv.base_url + "/auth/device/token", json=body, timeout=10)


def _let_the_interval_pass(srv, device_code):
    """What waiting out the poll interval does, without the wait."""
    archive = Archive(srv.archive_dir)
    try:
        with archive.db.transaction() as conn:
            conn.execute(
                "UPDATE device_codes SET polled_at = polled_at - 60 WHERE device_code = ?",
                (device_code,),
            )
    finally:
        archive.close()


def test_a_device_login_moves_between_processes_without_noticing(two):
    a, b = two
    assert a.port != b.port
    dev = start(a)
    assert dev["verification_uri"] == a.root_url + "/cli-auth"
    # polled on B, then at once on A: the poll time is shared, so A says slow down
    assert _poll(b, dev["device_code"]).json()["error"] == "authorization_pending"
    fast = _poll(a, dev["device_code"]).json()
    assert (fast["error"], fast["interval"]) == ("slow_down", 10)
    # signed in on A; the session cookie opens B's approval page (the session is in the db)
    browser = browser_login(a, "full")
    on_b = dev["verification_uri_complete"].replace(a.root_url, b.root_url)
    html, csrf = approve_page(browser, on_b)
    assert USERS["full"]["email"] in html and dev["user_code"] in html
    done = browser.post(
        b.base_url + "/auth/device/authorize",
        data={"user_code": dev["user_code"], "action": "authorize", "csrf": csrf},
        timeout=10,
    )
    assert done.status_code == 200 and "Approved" in done.text
    _let_the_interval_pass(a, dev["device_code"])
    tokens = _poll(a, dev["device_code"])
    assert tokens.status_code == 200, tokens.text
    first = tokens.json()
    _let_the_interval_pass(b, dev["device_code"])
    again = _poll(b, dev["device_code"]).json()  # consumed on A: B knows
    assert again["error"] == "invalid_grant"
    # the access token from A opens B; its refresh token rotates on B; the rotated one,
    # replayed on A, is refused and ends the family, so B refuses the newer token too
    who = requests.get(
        b.base_url + "/auth/whoami",
        headers={"Authorization": f"Bearer {first['access_token']}"},
        timeout=10,
    )
    assert who.json()["email"] == USERS["full"]["email"]
    second = refresh(b, first["refresh_token"])
    assert second.status_code == 200
    meta = requests.get(
        a.base_url + "/metadata",
        headers={"Authorization": f"Bearer {second.json()['access_token']}"},
        timeout=10,
    ).json()
    assert [p["slug"] for p in meta["programs"]] == ["ALPHA-UDS", "BETA-UDS"]
    replay = refresh(a, first["refresh_token"])
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert refresh(b, second.json()["refresh_token"]).json()["error"] == "invalid_grant"
    # signing out on B ends the session A made
    browser.get(b.root_url + "/logout", timeout=10)
    page = browser.get(a.root_url + "/profile/api-keys", allow_redirects=False, timeout=10)
    assert page.status_code in (302, 303, 307) and "/login" in page.headers["location"]


def test_failed_logins_are_counted_across_processes(two):
    a, b = two
    email = USERS["admin"]["email"]

    def attempt(srv, password="wrong"):
        return requests.post(
            srv.root_url + "/login",
            data={"email": email, "password": password},
            allow_redirects=False,
            timeout=30,
        )

    codes = [attempt((a, b)[i % 2]).status_code for i in range(10)]
    assert codes == [401] * 10  # five on each process: neither alone reached ten
    held = attempt(a, USERS["admin"]["password"])
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert attempt(b, USERS["admin"]["password"]).status_code == 429


def test_the_rate_limit_is_counted_across_processes(built, tmp_path):
    root, keys = built
    shutil.copytree(root / "archive", tmp_path / "archive")
    with (
        server_process(tmp_path / "archive", "--rate-limit", "4") as a,
        server_process(tmp_path / "archive", "--rate-limit", "4") as b,
    ):
        head = {"Authorization": f"Bearer {keys['full']}"}
        codes = [
            requests.get((a, b)[i % 2].base_url + "/metadata", headers=head, timeout=10).status_code
            for i in range(6)
        ]
        assert codes == [200] * 4 + [429] * 2
        other = {"Authorization": f"Bearer {keys['public']}"}
        assert requests.get(b.base_url + "/metadata", headers=other, timeout=10).ok


ROUTES = [
    "/version",
    "/metadata",
    "/observations",
    "/objects?limit=50",
    "/objects?ra=34.40&dec=-5.20&radius=30",
    "/spectra/list?limit=50",
    "/sync/objects?limit=3",
    "/sync/objects?limit=3&offset=3",
    "/sync/spectra?limit=100",
    "/sync/photometry",
    "/sync/lists",
]


def test_two_workers_answer_what_one_process_answers(built, tmp_path):
    root, keys = built
    shutil.copytree(root / "archive", tmp_path / "archive")
    heads = [{"Authorization": f"Bearer {keys[u]}"} for u in ("full", "public")]
    with running_server(tmp_path / "archive") as one:
        want = {
            (i, route): requests.get(one.base_url + route, headers=h, timeout=10).json()
            for route in ROUTES
            for i, h in enumerate(heads)
        }
    with server_process(tmp_path / "archive", "--workers", "2") as pool:

        def get(job):
            i, route = job
            s = requests.Session()  # a connection each, so both workers take some
            return s.get(pool.base_url + route, headers=heads[i], timeout=30).json()

        jobs = list(want) * 4
        with ThreadPoolExecutor(8) as ex:
            got = list(ex.map(get, jobs))
        for job, body in zip(jobs, got, strict=True):
            assert body == want[job], job
        # a file through its signed URL, whole and by range
        spectra = requests.get(pool.base_url + "/spectra/list", headers=heads[0], timeout=10)
        path = spectra.json()["data"][0]["fits_path"]
        url = requests.get(
            pool.base_url + "/spectra", params={"path": path}, headers=heads[0], timeout=10
        ).json()["url"]
        whole = requests.get(url, timeout=10)
        part = requests.get(url, headers={"Range": "bytes=10-99"}, timeout=10)
        assert whole.status_code == 200 and whole.content.startswith(b"SIMPLE")
        assert part.status_code == 206 and part.content == whole.content[10:100]
        # the device flow on the pool
        dev = start(pool)
        assert _poll(pool, dev["device_code"]).json()["error"] == "authorization_pending"


def test_the_window_slides_across_the_turn_of_a_minute(tmp_path):
    """No burst of twice the budget at a window boundary: the previous minute still counts, by
    the part of it inside the last 60 s (against an estimate worked out by hand)."""
    from campfire.server.http.limiter import WindowCounters
    from campfire.server.storage.database import Database

    w = WindowCounters(Database(tmp_path / "archive.db"), "api", 10)
    assert [w.hit("k", now=50.0) for _ in range(10)] == [None] * 10
    assert w.hit("k", now=50.0) == 10  # the 11th in the minute [0, 60): wait for its end
    # at 90 s half of [0, 60) is still inside the last minute: 10 * 0.5 + this minute's hits
    assert [w.hit("k", now=90.0) for _ in range(5)] == [None] * 5  # 6 ... 10
    # 11 > 10 (refused, and taken back): one more fits once 10 * (1 - (t - 60) / 60) + 5 <= 9,
    # at t = 96 s
    assert w.hit("k", now=90.0) == 6
    assert w.wait("k", now=90.0) == 6 and w.wait("other", now=90.0) is None
    assert w.hit("k", now=96.5) is None
    assert w.hit("k", now=125.0) is None  # [60, 120) had 6: 6 * (55 / 60) + 1


def test_a_long_request_hands_its_connection_back(built, tmp_path):
    """With ``hand_off_after`` (what ``campfire serve --workers N`` sets), a request that took
    longer closes its keep-alive connection, so the client's next request is accepted by
    whichever worker is free; a short one keeps it.
    """
    root, _ = built
    shutil.copytree(root / "archive", tmp_path / "archive")
    with running_server(tmp_path / "archive", faults=True, hand_off_after=0.2) as srv:
        s = requests.Session()
        quick = s.get(srv.base_url + "/version", timeout=10)
        assert quick.status_code == 200 and quick.headers.get("connection") != "close"
        srv.set_faults([{"path": "/version", "kind": "status", "status": 503,
                         "delay_seconds": 0.5}])  # fmt: skip
        slow = s.get(srv.base_url + "/version", timeout=10)
        assert slow.status_code == 503 and slow.headers.get("connection") == "close"
        srv.clear_faults()
        again = s.get(srv.base_url + "/version", timeout=10)  # a new connection, no error
        assert again.status_code == 200 and again.headers.get("connection") != "close"
