"""PATCH /objects/{id}/inspection and /spectra/{id}/dq over loopback: the compare-and-set,
409 bodies, access control, idempotent replay, audit rows and what the sync feeds carry."""

from __future__ import annotations

import threading
import uuid

import pytest
from server_products import api_call, api_get

SHARED = "J021736.00-051200.0"  # alpha_uds_p1_1 + beta_uds_p1_7 (public user sees part of it)
BETA_ONLY = "J021734.66-051200.0"  # beta_uds_p1_8: private program
ALPHA2 = "J021736.33-051200.0"  # alpha_uds_p1_2
ALPHA3 = "J021736.00-051155.0"  # alpha_uds_p1_3
ALPHA4 = "J021736.66-051150.0"  # alpha_uds_p1_4


def obj(srv, object_id, user="full"):
    rows = api_get(srv, "/sync/objects", user).json()["data"]
    return next(o for o in rows if o["object_id"] == object_id)


def inspect(srv, object_id, user="full", key=None, **body):
    return api_call(srv, "PATCH", f"/objects/{object_id}/inspection", user, body, key)


def whoami(srv, user):
    return api_get(srv, "/auth/whoami", user).json()


def audit(srv, **params):
    return api_get(srv, "/audit", "admin", **params).json()["data"]


def spectrum(srv, target_id, grating, user="full"):
    rows = api_get(srv, "/sync/spectra", user).json()["data"]
    return next(s for s in rows if s["target_id"] == target_id and s["grating"] == grating)


def test_version_announces_inspections_and_whoami_says_who_may_write(server):
    assert "inspections" in api_get(server, "/version", None).json()["extensions"]
    assert whoami(server, "full")["can_inspect"] is True
    assert whoami(server, "viewer")["can_inspect"] is False


def test_object_ids_in_this_module_exist(server):
    names = {o["object_id"] for o in api_get(server, "/sync/objects").json()["data"]}
    assert {SHARED, BETA_ONLY, ALPHA2, ALPHA3, ALPHA4} <= names


def test_inspection_sets_values_bumps_version_and_answers_the_sync_row(writable):
    before = obj(writable, ALPHA2)
    assert before["redshift_quality"] == 0 and before["redshift_inspected"] is None
    r = inspect(writable, ALPHA2, redshift_inspected=1.25, redshift_quality=4,
                expected_version=before["version"])  # fmt: skip
    assert r.status_code == 200, r.text
    row = r.json()["object"]
    me = whoami(writable, "full")
    assert row["version"] == before["version"] + 1
    assert (row["redshift_inspected"], row["redshift_quality"], row["redshift"]) == (1.25, 4, 1.25)
    assert row["last_inspected_by"] == me["user_id"]
    assert row["last_inspected_by_name"] == "full@example.org"  # no full name: the email
    assert row["last_inspected_at"] == row["updated_at"] > before["updated_at"]
    assert row == obj(writable, ALPHA2)  # exactly the feed's row
    listed = api_get(writable, "/objects", "full", search=ALPHA2).json()["data"][0]
    assert (listed["last_inspected_by"], listed["last_inspected_by_name"], listed["version"]) == (
        me["user_id"], "full@example.org", row["version"])  # fmt: skip
    spec = api_get(writable, "/spectra/list", "full", search="alpha_uds_p1_2").json()["data"][0]
    assert (spec["last_inspected_by"], spec["last_inspected_by_name"], spec["redshift"]) == (
        me["user_id"], "full@example.org", 1.25)  # fmt: skip
    # a key left out keeps its value; null clears the redshift (the auto one shows again)
    r = inspect(writable, ALPHA2, redshift_inspected=None, expected_version=row["version"])
    row2 = r.json()["object"]
    assert (row2["redshift_inspected"], row2["redshift_quality"]) == (None, 4)
    assert row2["redshift"] == row2["redshift_auto"] == before["redshift_auto"]
    # quality 1 (impossible) means no redshift, as the contract says
    row3 = inspect(writable, ALPHA2, redshift_inspected=1.3, redshift_quality=1,
                   expected_version=row2["version"]).json()["object"]  # fmt: skip
    assert row3["redshift"] is None and row3["redshift_inspected"] == 1.3


def test_stale_version_is_409_with_the_current_values_and_who(writable):
    v = obj(writable, ALPHA3)["version"]
    ok = inspect(writable, ALPHA3, "admin", redshift_inspected=2.5, redshift_quality=3,
                 expected_version=v)  # fmt: skip
    assert ok.status_code == 200
    late = inspect(writable, ALPHA3, "full", redshift_quality=2, expected_version=v)
    assert late.status_code == 409
    body = late.json()
    admin = whoami(writable, "admin")
    assert body["error"] == "version_conflict" and "version" in body["message"]
    assert body["current_version"] == v + 1
    assert (body["current_redshift_inspected"], body["current_redshift_quality"]) == (2.5, 3)
    assert body["last_inspected_at"] == ok.json()["object"]["last_inspected_at"]
    assert body["conflicting_user"] == {"id": admin["user_id"], "name": "admin@example.org"}
    assert obj(writable, ALPHA3)["redshift_quality"] == 3  # the stale write changed nothing


def test_concurrent_writes_at_one_version_give_one_200_and_one_409(writable):
    v = obj(writable, ALPHA4)["version"]
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def go(i: int) -> None:
        barrier.wait()
        r = inspect(writable, ALPHA4, ["full", "admin"][i % 2], redshift_quality=1 + i % 4,
                    expected_version=v)  # fmt: skip
        statuses.append(r.status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409, 409, 409, 409, 409]
    assert obj(writable, ALPHA4)["version"] == v + 1
    assert len([a for a in audit(writable, object_id=ALPHA4) if a["action"] == "inspect"]) == 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"redshift_quality": 4}, "expected_version is required"),
        ({"expected_version": 1}, "give redshift_inspected, redshift_quality"),
        ({"redshift_quality": 5, "expected_version": 1}, "redshift_quality must be >= 0"),
        ({"redshift_quality": True, "expected_version": 1}, "redshift_quality must be an integer"),
        ({"redshift_quality": 2.0, "expected_version": 1}, "redshift_quality must be an integer"),
        ({"redshift_inspected": 31, "expected_version": 1}, "between -0.1 and 30"),
        ({"redshift_inspected": -0.2, "expected_version": 1}, "between -0.1 and 30"),
        ({"redshift_inspected": "2", "expected_version": 1}, "finite number or null"),
        ({"redshift_quality": 2, "expected_version": "1"}, "expected_version must be an integer"),
        ({"redshift_quality": 2, "expected_version": 1, "zz": 1}, "unknown field(s) zz"),
    ],
)
def test_bad_values_are_400_naming_the_field(server, body, needle):
    r = inspect(server, SHARED, **body)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request" and needle in r.json()["message"]


def test_body_must_be_a_json_object_and_nan_is_refused(server):
    h = {"Authorization": f"Bearer {server.keys['full']}", "Content-Type": "application/json"}
    import requests

    url = f"{server.base_url}/objects/{SHARED}/inspection"
    for data in (b"not json", b"[1]", b'{"redshift_inspected": NaN, "expected_version": 1}'):
        r = requests.patch(url, data=data, headers=h, timeout=10)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", data


def test_access_control_401_403_404(server):
    v = obj(server, SHARED)["version"]
    assert inspect(server, SHARED, None, redshift_quality=2, expected_version=v).status_code == 401
    # can see the object but may not inspect: 403
    r = inspect(server, SHARED, "viewer", redshift_quality=2, expected_version=v)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    # the public-only user cannot see a private program's object: 404, as if it did not exist
    hidden = inspect(server, BETA_ONLY, "public", redshift_quality=2, expected_version=1)
    missing = inspect(server, "J000000.00+000000.0", "full", redshift_quality=2,
                      expected_version=1)  # fmt: skip
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"] == missing.json()["error"] == "not_found"
    assert obj(server, SHARED)["version"] == v


def test_same_idempotency_key_applies_once_and_replays_the_answer(writable):
    v = obj(writable, SHARED)["version"]
    key = str(uuid.uuid4())
    first = inspect(writable, SHARED, key=key, redshift_quality=3, expected_version=v)
    again = inspect(writable, SHARED, key=key, redshift_quality=3, expected_version=v)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.json() == first.json()
    assert obj(writable, SHARED)["version"] == v + 1  # applied once, not a 409 the second time
    rows = [a for a in audit(writable, object_id=SHARED) if a["action"] == "inspect"]
    assert len(rows) == 1
    # another user's same key is theirs alone
    other = inspect(writable, SHARED, "admin", key=key, redshift_quality=4, expected_version=v)
    assert other.status_code == 409 and "Idempotent-Replayed" not in other.headers
    # the same key on another route is a client bug: 400
    reused = api_call(writable, "PATCH", f"/objects/{ALPHA2}/inspection", "full",
                      {"redshift_quality": 3, "expected_version": 99}, key)  # fmt: skip
    assert reused.status_code == 400 and "already used" in reused.json()["message"]
    bad = inspect(writable, SHARED, key="é" * 3, redshift_quality=3, expected_version=v + 1)
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["message"]


def test_a_conflict_is_not_stored_under_its_key(writable):
    v = obj(writable, ALPHA2)["version"]
    key = str(uuid.uuid4())
    assert inspect(writable, ALPHA2, key=key, redshift_quality=2,
                   expected_version=v - 1).status_code == 409  # fmt: skip
    retry = inspect(writable, ALPHA2, key=key, redshift_quality=2, expected_version=v)
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers


def test_sync_feed_carries_another_users_inspection(writable):
    cursor = max(
        o["updated_at"] for o in api_get(writable, "/sync/objects", "public").json()["data"]
    )
    v = obj(writable, SHARED, "admin")["version"]
    r = inspect(writable, SHARED, "admin", redshift_inspected=3.55, redshift_quality=4,
                expected_version=v)  # fmt: skip
    assert r.status_code == 200
    page = api_get(writable, "/sync/objects", "public", updated_since=cursor).json()
    assert [o["object_id"] for o in page["data"]] == [SHARED]
    row = page["data"][0]
    assert (row["redshift_inspected"], row["version"]) == (3.55, v + 1)
    assert row["last_inspected_by"] == whoami(writable, "admin")["user_id"]
    # the public user sees only the public program's part of the object, as in the feed
    assert row["member_target_ids"] == ["alpha_uds_p1_1"]


def test_dq_flags_write_versions_the_spectrum_and_not_the_object(writable):
    spec = spectrum(writable, "alpha_uds_p1_2", "PRISM")
    assert spec["version"] == 1
    before = obj(writable, ALPHA2)
    path = f"/spectra/{spec['spectrum_id']}/dq"
    r = api_call(writable, "PATCH", path, "full", {"dq_flags": 16 | 4, "expected_version": 1})
    assert r.status_code == 200, r.text
    row = r.json()["spectrum"]
    assert (row["dq_flags"], row["version"]) == (20, 2) and row["updated_at"] > spec["updated_at"]
    assert row == spectrum(writable, "alpha_uds_p1_2", "PRISM")
    after = obj(writable, ALPHA2)
    assert after["version"] == before["version"] and after["updated_at"] > before["updated_at"]
    assert [s["dq_flags"] for s in after["spectra"]] == [20]
    stale = api_call(writable, "PATCH", path, "admin", {"dq_flags": 0, "expected_version": 1})
    assert stale.status_code == 409
    body = stale.json()
    assert (body["error"], body["current_version"], body["current_dq_flags"]) == (
        "version_conflict", 2, 20)  # fmt: skip
    assert body["conflicting_user"] == {"id": whoami(writable, "full")["user_id"],
                                        "name": "full@example.org"}  # fmt: skip
    dq = [a for a in audit(writable) if a["action"] == "dq"]
    assert dq[0]["entity_id"] == spec["spectrum_id"] and dq[0]["object_id"] == ALPHA2
    assert (dq[0]["old"], dq[0]["new"]) == ({"dq_flags": 0, "version": 1},
                                            {"dq_flags": 20, "version": 2})  # fmt: skip


def test_dq_errors(server):
    beta = spectrum(server, "beta_uds_p1_8", "PRISM")
    path = f"/spectra/{beta['spectrum_id']}/dq"
    body = {"dq_flags": 1, "expected_version": 1}
    assert api_call(server, "PATCH", path, "public", body).status_code == 404
    assert api_call(server, "PATCH", "/spectra/nope/dq", "full", body).status_code == 404
    assert api_call(server, "PATCH", path, "viewer", body).status_code == 403
    for bad in ({"dq_flags": -1, "expected_version": 1}, {"dq_flags": 2**31, "expected_version": 1},
                {"dq_flags": 1}, {"dq_flags": 1, "expected_version": 1, "x": 0}):  # fmt: skip
        r = api_call(server, "PATCH", path, "full", bad)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", bad


def test_audit_is_for_admins_and_filters(writable):
    v = obj(writable, ALPHA3)["version"]
    inspect(writable, ALPHA3, "full", redshift_quality=4, expected_version=v)
    r = api_get(writable, "/audit", "full")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert api_get(writable, "/audit", None).status_code == 401
    me = whoami(writable, "full")["user_id"]
    rows = audit(writable, user_id=me, object_id=ALPHA3)
    newest = rows[0]
    assert (newest["action"], newest["entity"], newest["entity_id"]) == (
        "inspect",
        "object",
        ALPHA3,
    )
    assert newest["new"]["redshift_quality"] == 4 and newest["new"]["version"] == v + 1
    assert newest["old"]["version"] == v
    assert all(a["user_id"] == me for a in rows)
    ids = [a["id"] for a in audit(writable)]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert audit(writable, since=newest["at"]) == []
    page = api_get(writable, "/audit", "admin", limit=1, offset=1).json()
    assert len(page["data"]) == 1 and page["pagination"]["limit"] == 1
    assert page["pagination"]["total"] == len(ids)
    assert api_get(writable, "/audit", "admin", since="yesterday").status_code == 400


def test_concurrent_requests_with_one_key_apply_once(writable):
    v = obj(writable, ALPHA4)["version"]
    key = str(uuid.uuid4())
    barrier = threading.Barrier(4)
    answers: list = []

    def go() -> None:
        barrier.wait()
        answers.append(inspect(writable, ALPHA4, key=key, redshift_quality=2, expected_version=v))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [200] * 4
    assert sum("Idempotent-Replayed" in r.headers for r in answers) == 3
    assert len({r.text for r in answers}) == 1
    assert obj(writable, ALPHA4)["version"] == v + 1


def test_an_answer_lost_on_the_way_is_replayed_not_reapplied(writable):
    """The server applies the write, the connection drops before the answer arrives (the fault
    switch), the client sends again with the same key: one write, the first answer."""
    import requests

    v = obj(writable, ALPHA3)["version"]
    key = str(uuid.uuid4())
    writable.set_faults([{"path": f"/objects/{ALPHA3}/inspection", "kind": "drop",
                          "after_bytes": 10, "method": "PATCH"}])  # fmt: skip
    try:
        with pytest.raises(requests.exceptions.RequestException):
            inspect(writable, ALPHA3, key=key, redshift_inspected=2.75, redshift_quality=3,
                    expected_version=v).json()  # fmt: skip
    finally:
        writable.clear_faults()
    assert obj(writable, ALPHA3)["version"] == v + 1  # applied although the client saw nothing
    again = inspect(writable, ALPHA3, key=key, redshift_inspected=2.75, redshift_quality=3,
                    expected_version=v)  # fmt: skip
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["object"]["version"] == v + 1
    assert obj(writable, ALPHA3)["version"] == v + 1


def test_huge_numbers_and_deep_json_are_400_not_500(server):
    import requests

    v = 10**30
    for body in ({"redshift_quality": 2, "expected_version": v},
                 {"redshift_inspected": float(v), "expected_version": 1}):  # fmt: skip
        assert inspect(server, SHARED, **body).status_code == 400
    path = f"/spectra/{spectrum(server, 'alpha_uds_p1_2', 'PRISM')['spectrum_id']}/dq"
    assert api_call(server, "PATCH", path, "full",
                    {"dq_flags": 1, "expected_version": v}).status_code == 400  # fmt: skip
    h = {"Authorization": f"Bearer {server.keys['full']}", "Content-Type": "application/json"}
    deep = b"[" * 100000 + b"]" * 100000
    r = requests.patch(f"{server.base_url}/objects/{SHARED}/inspection", data=deep, headers=h,
                       timeout=30)  # fmt: skip
    assert r.status_code in (400, 413)
    for cid in ("9" * 30, "-1", "1e3", "٣"):
        assert api_call(server, "DELETE", f"/comments/{cid}", "full").status_code == 404
