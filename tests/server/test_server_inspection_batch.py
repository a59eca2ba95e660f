"""POST /inspections/batch over loopback: many inspections in one transaction, each item
answered exactly as its own PATCH would be (applied, 409, 404, 403, 400), an item's failure
never failing the others, and idempotency keys shared with the single PATCH."""

from __future__ import annotations

import uuid

from server_products import api_call, api_get

ALPHA5 = "J021735.66-051200.0"
BETA_ONLY = "J021734.66-051200.0"  # beta_uds_p1_8: private program


def objects(srv, user="full"):
    return {o["object_id"]: o for o in api_get(srv, "/sync/objects", user).json()["data"]}


def batch(srv, items, user="full"):
    return api_call(srv, "POST", "/inspections/batch", user, {"items": items})


def pick(srv, n):
    """``n`` objects the full user can see, not touched by the other tests of this module."""
    rows = objects(srv)
    ids = sorted(i for i in rows if i not in (ALPHA5, BETA_ONLY))
    return [rows[i] for i in ids[-n:]]


def test_version_announces_the_batch(server):
    assert "inspections-batch" in api_get(server, "/version", None).json()["extensions"]


def test_each_item_is_judged_alone_and_conflicts_fail_only_themselves(writable):
    a, b, c = pick(writable, 3)
    stale = api_call(writable, "PATCH", f"/objects/{b['object_id']}/inspection", "admin",
                     {"redshift_quality": 2, "expected_version": b["version"]})  # fmt: skip
    assert stale.status_code == 200
    items = [
        {"object_id": a["object_id"], "redshift_inspected": 2.5, "redshift_quality": 4,
         "expected_version": a["version"], "idempotency_key": str(uuid.uuid4())},
        {"object_id": b["object_id"], "redshift_quality": 3, "expected_version": b["version"]},
        {"object_id": "J000000.00+000000.0", "redshift_quality": 3, "expected_version": 1},
        {"object_id": c["object_id"], "redshift_quality": 9, "expected_version": c["version"]},
        {"object_id": c["object_id"], "redshift_inspected": None, "redshift_quality": 3,
         "expected_version": c["version"]},
        "not an object",
    ]  # fmt: skip
    r = batch(writable, items)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200, 409, 404, 400, 200, 400]
    assert results[0]["body"]["object"]["redshift_inspected"] == 2.5
    assert results[1]["body"]["error"] == "version_conflict"
    assert results[1]["body"]["current_version"] == b["version"] + 1
    assert results[1]["body"]["current_redshift_quality"] == 2
    assert "redshift_quality" in results[3]["body"]["message"]
    after = objects(writable)
    # the applied items are what the feed shows now, exactly as the single PATCH answers them
    assert results[0]["body"]["object"] == after[a["object_id"]]
    assert results[4]["body"]["object"] == after[c["object_id"]]
    assert after[a["object_id"]]["version"] == a["version"] + 1
    assert after[b["object_id"]]["redshift_quality"] == 2  # the stale item changed nothing
    assert after[c["object_id"]]["redshift_quality"] == 3
    assert after[c["object_id"]]["version"] == c["version"] + 1  # the 400 item wrote nothing
    log = api_get(writable, "/audit", "admin", object_id=a["object_id"]).json()["data"]
    assert [e["action"] for e in log][:1] == ["inspect"]


def test_keys_are_shared_with_the_single_patch(writable):
    (a,) = pick(writable, 4)[:1]
    key = str(uuid.uuid4())
    item = {"object_id": a["object_id"], "redshift_quality": 4, "expected_version": a["version"],
            "idempotency_key": key}  # fmt: skip
    first = batch(writable, [item]).json()["results"][0]
    again = batch(writable, [item, item]).json()["results"]
    assert first["status"] == 200 and first["replayed"] is False
    assert [(x["status"], x["replayed"]) for x in again] == [(200, True), (200, True)]
    assert again[0]["body"] == first["body"]
    # the same key through the single route replays the batch's answer, applies nothing
    single = api_call(writable, "PATCH", f"/objects/{a['object_id']}/inspection", "full",
                      {"redshift_quality": 4, "expected_version": a["version"]}, key)  # fmt: skip
    assert single.status_code == 200 and single.headers["Idempotent-Replayed"] == "true"
    assert single.json() == first["body"]
    assert objects(writable)[a["object_id"]]["version"] == a["version"] + 1
    # a key used for another route is refused for that item only
    other = str(uuid.uuid4())
    api_call(writable, "POST", f"/objects/{a['object_id']}/comments", "full", {"body": "x"}, other)
    reused = batch(writable, [{**item, "idempotency_key": other}]).json()["results"][0]
    assert reused["status"] == 400 and "already used" in reused["body"]["message"]


def test_access_and_permission_per_item(writable):
    rows = objects(writable, "public")
    public = sorted(rows)[0]
    items = [{"object_id": BETA_ONLY, "redshift_quality": 2, "expected_version": 1},
             {"object_id": public, "redshift_quality": 2,
              "expected_version": rows[public]["version"]}]  # fmt: skip
    assert [x["status"] for x in batch(writable, items, "public").json()["results"]] == [404, 200]
    viewer = batch(writable, items[1:], "viewer").json()["results"][0]
    assert viewer["status"] == 403 and viewer["body"]["error"] == "forbidden"


def test_malformed_batches_are_400_and_no_token_is_401(writable):
    assert batch(writable, [], None).status_code == 401
    assert batch(writable, []).json() == {"results": []}
    too_many = [{"object_id": ALPHA5, "redshift_quality": 1, "expected_version": 1}] * 1001
    r = batch(writable, too_many)
    assert r.status_code == 400 and "at most 1000" in r.json()["message"]
    r = api_call(writable, "POST", "/inspections/batch", "full", {"items": {}, "x": 1})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
