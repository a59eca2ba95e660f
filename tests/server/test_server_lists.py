"""Lists (tags) over loopback: create, rename, re-scope, delete, members, who may do what, and a
private list that does not exist for anyone but its creator."""

from __future__ import annotations

from server_products import api_call, api_get

SHARED = "J021736.00-051200.0"
BETA_ONLY = "J021734.66-051200.0"
ALPHA2 = "J021736.33-051200.0"
ALPHA3 = "J021736.00-051155.0"


def create(srv, user="full", **body):
    return api_call(srv, "POST", "/lists", user, body)


def members(srv, slug, ids, user="full", add=True):
    method = "POST" if add else "DELETE"
    return api_call(srv, method, f"/lists/{slug}/members", user, {"object_ids": ids})


def lists(srv, user="full"):
    return {x["slug"]: x for x in api_get(srv, "/sync/lists", user).json()["data"]}


def obj(srv, object_id, user="full"):
    rows = api_get(srv, "/sync/objects", user).json()["data"]
    return next(o for o in rows if o["object_id"] == object_id)


def test_create_defaults_to_private_and_answers_the_sync_row(writable):
    r = create(writable, slug="mine", name="My candidates")
    assert r.status_code == 201, r.text
    row = r.json()["list"]
    me = api_get(writable, "/auth/whoami", "full").json()["user_id"]
    assert (row["slug"], row["name"], row["visibility"], row["created_by"]) == (
        "mine", "My candidates", "private", me)  # fmt: skip
    assert (row["member_count"], row["object_ids"], row["is_system"]) == (0, [], False)
    assert lists(writable)["mine"] == row
    assert create(writable, slug="mine").json()["error"] == "slug_taken"
    assert create(writable, "public", slug="mine").status_code == 409
    assert create(writable, slug="Not A Slug").status_code == 400
    assert create(writable, slug="ok-slug", visibility="secret").status_code == 400
    assert create(writable, slug="ok-slug", colour="red").status_code == 400
    assert create(writable, "viewer", slug="viewer-list").status_code == 403
    assert create(writable, None, slug="anon").status_code == 401


def test_private_list_of_another_user_is_404_everywhere(writable):
    assert create(writable, slug="secret-z").status_code == 201
    assert members(writable, "secret-z", [SHARED, ALPHA2]).json()["changed"] == 2
    assert "secret-z" not in lists(writable, "public")
    assert "secret-z" in obj(writable, SHARED, "full")["lists"]  # the owner sees it on the row
    assert "secret-z" not in obj(writable, SHARED, "public")["lists"]  # nobody else does
    assert "secret-z" not in obj(writable, SHARED, "admin")["lists"]  # not even an admin
    for method, path, body in (
        ("PATCH", "/lists/secret-z", {"name": "x"}),
        ("DELETE", "/lists/secret-z", None),
        ("POST", "/lists/secret-z/members", {"object_ids": [ALPHA3]}),
        ("DELETE", "/lists/secret-z/members", {"object_ids": [SHARED]}),
    ):
        for user in ("public", "admin"):
            r = api_call(writable, method, path, user, body)
            assert r.status_code == 404 and r.json()["error"] == "not_found", (method, path, user)
    objects = api_get(writable, "/objects", "public", search=SHARED).json()["data"][0]
    assert "secret-z" not in [x["slug"] for x in objects["lists"]]


def test_lists_filter_on_objects_ignores_another_users_private_list(writable):
    create(writable, slug="secret-filter")
    members(writable, "secret-filter", [ALPHA2])
    mine = api_get(writable, "/objects", "full", lists="secret-filter").json()["data"]
    assert [o["object_id"] for o in mine] == [ALPHA2]
    theirs = api_get(writable, "/objects", "public", lists="secret-filter").json()
    assert theirs["data"] == [] and theirs["pagination"]["total"] == 0


def test_members_add_remove_and_what_sync_carries(writable):
    create(writable, slug="shared-edit", visibility="public_edit")
    before = obj(writable, ALPHA2, "public")
    r = members(writable, "shared-edit", [ALPHA2, BETA_ONLY, "J000000.00+000000.0", ALPHA2],
                "public")  # fmt: skip
    assert r.status_code == 200
    body = r.json()
    # the public user cannot see BETA_ONLY: it is not found for them, exactly like a bad id
    assert body["changed"] == 1 and body["not_found"] == [BETA_ONLY, "J000000.00+000000.0"]
    assert body["list"]["object_ids"] == [ALPHA2] and body["list"]["member_count"] == 1
    assert members(writable, "shared-edit", [ALPHA2], "public").json()["changed"] == 0
    after = obj(writable, ALPHA2, "public")
    assert "shared-edit" in after["lists"] and after["updated_at"] > before["updated_at"]
    assert after["version"] == before["version"]  # a tag is not an inspection
    # full adds a private-program object: member_count counts it, the public user's ids do not
    assert members(writable, "shared-edit", [BETA_ONLY], "full").json()["changed"] == 1
    assert lists(writable, "public")["shared-edit"]["object_ids"] == [ALPHA2]
    assert lists(writable, "public")["shared-edit"]["member_count"] == 2
    assert lists(writable, "full")["shared-edit"]["object_ids"] == sorted([ALPHA2, BETA_ONLY])
    gone = members(writable, "shared-edit", [ALPHA2, ALPHA3], "public", add=False).json()
    assert (gone["changed"], gone["not_found"]) == (1, [])
    assert "shared-edit" not in obj(writable, ALPHA2, "public")["lists"]
    assert members(writable, "shared-edit", [ALPHA2], "viewer").status_code == 403
    assert members(writable, "shared-edit", "not a list", "viewer").status_code == 403
    for bad in ({"object_ids": "J1"}, {"object_ids": [1]}, {"ids": []},
                {"object_ids": ["x"] * 10001}):  # fmt: skip
        r = api_call(writable, "POST", "/lists/shared-edit/members", "full", bad)
        assert r.status_code == 400, bad
    audit = api_get(writable, "/audit", "admin").json()["data"]
    adds = [a for a in audit if a["action"] == "list.add" and a["new"]["slug"] == "shared-edit"]
    assert [a["new"]["object_ids"] for a in adds] == [[BETA_ONLY], [ALPHA2]]


def test_public_read_list_members_only_by_its_creator(writable):
    create(writable, slug="curated", visibility="public_read")
    assert members(writable, "curated", [ALPHA2], "public").status_code == 403
    assert members(writable, "curated", [ALPHA2], "full").json()["changed"] == 1
    assert members(writable, "curated", [ALPHA3], "admin").json()["changed"] == 1  # admins may
    # system lists have no creator: only admins change them
    assert members(writable, "lrd", [ALPHA2], "full").status_code == 403
    assert api_call(writable, "PATCH", "/lists/lrd", "full", {"name": "x"}).status_code == 403


def test_rename_rescope_and_delete(writable):
    create(writable, slug="draft", visibility="public_edit")
    members(writable, "draft", [ALPHA3])
    path = "/lists/draft"
    assert api_call(writable, "PATCH", path, "public", {"name": "mine now"}).status_code == 403
    r = api_call(writable, "PATCH", path, "full", {"slug": "final", "name": "Final",
                                                    "description": "z>3"})  # fmt: skip
    assert r.status_code == 200
    assert (r.json()["list"]["slug"], r.json()["list"]["description"]) == ("final", "z>3")
    assert "final" in obj(writable, ALPHA3, "public")["lists"]
    assert "draft" not in obj(writable, ALPHA3, "public")["lists"]
    assert api_call(writable, "PATCH", path, "full", {"name": "x"}).status_code == 404
    create(writable, slug="taken")
    clash = api_call(writable, "PATCH", "/lists/final", "full", {"slug": "taken"})
    assert clash.status_code == 409 and clash.json()["error"] == "slug_taken"
    hide = api_call(writable, "PATCH", "/lists/final", "full", {"visibility": "private"})
    assert hide.status_code == 200
    assert "final" not in obj(writable, ALPHA3, "public")["lists"]
    assert "final" in obj(writable, ALPHA3, "full")["lists"]
    assert api_call(writable, "DELETE", "/lists/final", "public").status_code == 404
    assert api_call(writable, "DELETE", "/lists/final", "full").status_code == 204
    assert "final" not in lists(writable, "full")
    assert "final" not in obj(writable, ALPHA3, "full")["lists"]
    actions = [a["action"] for a in api_get(writable, "/audit", "admin").json()["data"]
               if a["entity"] == "list"]  # fmt: skip
    assert {"list.create", "list.update", "list.delete", "list.add"} <= set(actions)
