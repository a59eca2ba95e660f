"""Comments over loopback: create, page, edit, delete, who may do what, and /sync/comments."""

from __future__ import annotations

import uuid

from server_products import api_call, api_get

SHARED = "J021736.00-051200.0"  # public user sees it (one of its programs is public)
BETA_ONLY = "J021734.66-051200.0"  # private program only
BETA_ONLY2 = "J021734.66-051220.0"
ALPHA2 = "J021736.33-051200.0"


def post(srv, object_id, text, user="full", key=None):
    return api_call(srv, "POST", f"/objects/{object_id}/comments", user, {"body": text}, key)


def comments(srv, object_id, user="full", **params):
    return api_get(srv, f"/objects/{object_id}/comments", user, **params)


def feed(srv, user="full", **params):
    return api_get(srv, "/sync/comments", user, **params).json()


def test_create_list_and_page_oldest_first(writable):
    made = [post(writable, ALPHA2, f"  note {i}  ") for i in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    c = made[0].json()["comment"]
    me = api_get(writable, "/auth/whoami", "full").json()
    assert set(c) == {"id", "object_id", "user_id", "user_name", "body", "created_at", "updated_at"}
    assert (c["object_id"], c["user_id"], c["user_name"], c["body"]) == (
        ALPHA2, me["user_id"], "full@example.org", "note 0")  # fmt: skip
    page = comments(writable, ALPHA2, limit=2, offset=1).json()
    assert page["pagination"] == {"total": 3, "limit": 2, "offset": 1}
    assert [x["body"] for x in page["data"]] == ["note 1", "note 2"]
    # the public-only user reads comments of an object they can see
    assert [x["body"] for x in comments(writable, ALPHA2, "public").json()["data"]] == [
        "note 0", "note 1", "note 2"]  # fmt: skip
    assert comments(writable, ALPHA2, limit=501).json()["pagination"]["limit"] == 500


def test_bad_bodies_and_unknown_objects(server):
    for body in ({"body": ""}, {"body": "   "}, {"body": 5}, {"text": "x"}, {"body": "x" * 10001}):
        r = api_call(server, "POST", f"/objects/{SHARED}/comments", "full", body)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", body
    assert post(server, "J000000.00+000000.0", "hi").status_code == 404
    assert comments(server, "J000000.00+000000.0").status_code == 404
    assert post(server, SHARED, "hi", None).status_code == 401
    assert post(server, SHARED, "hi", "viewer").status_code == 403  # sees it, may not write
    # who comes before what: a bad body on a hidden object is 404, by a non-inspector 403
    assert post(server, BETA_ONLY, "", "public").status_code == 404
    assert post(server, SHARED, "", "viewer").status_code == 403


def test_public_user_cannot_read_or_write_comments_on_private_objects(writable):
    assert post(writable, BETA_ONLY, "private remark").status_code == 201
    hidden = comments(writable, BETA_ONLY, "public")
    assert hidden.status_code == 404 and hidden.json()["error"] == "not_found"
    assert post(writable, BETA_ONLY, "let me in", "public").status_code == 404
    cid = comments(writable, BETA_ONLY).json()["data"][0]["id"]
    r = api_call(writable, "PATCH", f"/comments/{cid}", "public", {"body": "x"})
    assert r.status_code == 404
    assert api_call(writable, "DELETE", f"/comments/{cid}", "public").status_code == 404
    assert all(c["object_id"] != BETA_ONLY for c in feed(writable, "public")["data"])


def test_edit_own_only_delete_own_or_admin(writable):
    c = post(writable, SHARED, "first thought").json()["comment"]
    path = f"/comments/{c['id']}"
    other = api_call(writable, "PATCH", path, "public", {"body": "hijack"})
    assert other.status_code == 403 and other.json()["error"] == "forbidden"
    edited = api_call(writable, "PATCH", path, "full", {"body": "second thought"})
    assert edited.status_code == 200
    e = edited.json()["comment"]
    assert e["body"] == "second thought" and e["updated_at"] > e["created_at"] == c["created_at"]
    assert api_call(writable, "DELETE", path, "public").status_code == 403
    assert api_call(writable, "DELETE", path, "admin").status_code == 204  # admins moderate
    assert api_call(writable, "DELETE", path, "full").status_code == 404  # gone
    assert api_call(writable, "PATCH", "/comments/abc", "full", {"body": "x"}).status_code == 404
    audit = api_get(writable, "/audit", "admin", object_id=SHARED).json()["data"]
    mine = [a for a in audit if a["entity_id"] == str(c["id"])]
    assert [a["action"] for a in mine] == ["comment.delete", "comment.edit", "comment.create"]
    assert mine[1]["old"] == {"body": "first thought"} and mine[1]["new"] == {
        "body": "second thought"
    }
    assert mine[0]["old"]["body"] == "second thought"


def test_idempotent_create_makes_one_comment(writable):
    key = str(uuid.uuid4())
    a, b = post(writable, BETA_ONLY2, "once", key=key), post(writable, BETA_ONLY2, "once", key=key)
    assert (a.status_code, b.status_code) == (201, 201)
    assert b.headers["Idempotent-Replayed"] == "true" and a.json() == b.json()
    assert [c["body"] for c in comments(writable, BETA_ONLY2).json()["data"]] == ["once"]


def test_sync_comments_feed_incremental_and_deletions(writable):
    start = feed(writable, "full")  # sees every comment of the public user's feed and more
    cursor = max((c["updated_at"] for c in start["data"]), default="2000-01-01T00:00:00+00:00")
    c = post(writable, SHARED, "seen by everyone", "full").json()["comment"]
    post(writable, BETA_ONLY, "seen by full only", "full")
    new = feed(writable, "public", updated_since=cursor)
    assert [x["id"] for x in new["data"]] == [c["id"]] and new["data"][0] == c
    assert new["pagination"]["total"] == 1
    both = feed(writable, "full", updated_since=cursor)
    assert [x["body"] for x in both["data"]] == ["seen by everyone", "seen by full only"]
    # paging by id
    first = feed(writable, "full", limit=1, offset=0, updated_since=cursor)
    second = feed(writable, "full", limit=1, offset=1, updated_since=cursor)
    assert [x["id"] for x in first["data"] + second["data"]] == [x["id"] for x in both["data"]]
    after = max(x["updated_at"] for x in both["data"])
    assert api_call(writable, "DELETE", f"/comments/{c['id']}", "full").status_code == 204
    gone = feed(writable, "public", updated_since=after, include_deleted="true")
    assert gone["data"] == [] and gone["deleted"] == [c["id"]]
    assert "deleted" not in feed(writable, "public", updated_since=after)


def test_sync_comments_deleted_names_comments_whose_object_became_inaccessible(fresh):
    from campfire.server.auth.users import revoke_program

    c = post(fresh, BETA_ONLY, "beta note", "full").json()["comment"]
    cursor = c["updated_at"]
    revoke_program(fresh.app.state.archive, "full@example.org", "BETA-UDS")
    body = feed(fresh, "full", updated_since=cursor, include_deleted="true")
    assert c["id"] in body["deleted"]
    assert all(x["object_id"] != BETA_ONLY for x in feed(fresh, "full")["data"])
