"""The tiny demo archive's inspections, comments and lists, as each demo user sees them."""

from __future__ import annotations

import pytest
import requests

pytest.importorskip("campfire.server.demo.generate")

from campfire.server.demo.annotations import COMMENTS

ALICE, BOB, CAROL = "alice@campfire.demo", "bob@campfire.demo", "carol@campfire.demo"


def get(srv, route, email, **params):
    r = requests.get(srv.base_url + route, headers=srv.auth_headers(email), params=params,
                     timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def test_demo_users_may_inspect(tiny_server):
    assert all(get(tiny_server, "/auth/whoami", u)["can_inspect"] for u in (ALICE, BOB, CAROL))


def test_demo_inspections_name_users_by_uuid(tiny_server):
    alice = get(tiny_server, "/auth/whoami", ALICE)["user_id"]
    rows = get(tiny_server, "/sync/objects", ALICE)["data"]
    by_alice = [o for o in rows if o["last_inspected_by_name"] == "Alice Admin"]
    assert by_alice and all(o["last_inspected_by"] == alice for o in by_alice)
    # dave inspects in the products but has no account: a name, no uuid
    dave = [o for o in rows if o["last_inspected_by_name"] == "dave@campfire.demo"]
    assert dave and all(o["last_inspected_by"] is None for o in dave)


def test_demo_comments_by_two_users_and_who_sees_them(tiny_server):
    every = get(tiny_server, "/sync/comments", ALICE)["data"]
    assert [c["body"] for c in every] == [text for _, _, text in COMMENTS]
    assert {c["user_name"] for c in every} == {"Alice Admin", "Carol Rubies"}
    bob = get(tiny_server, "/sync/comments", BOB)["data"]
    rubies = every[-1]  # the comment on a RUBIES object
    assert [c["id"] for c in bob] == [c["id"] for c in every[:-1]]
    r = requests.get(f"{tiny_server.base_url}/objects/{rubies['object_id']}/comments",
                     headers=tiny_server.auth_headers(BOB), timeout=30)  # fmt: skip
    assert r.status_code == 404
    hero = every[0]["object_id"]
    assert len(get(tiny_server, f"/objects/{hero}/comments", BOB)["data"]) == 2


def test_demo_lists_shared_and_private(tiny_server):
    def slugs(email):
        return {x["slug"]: x for x in get(tiny_server, "/sync/lists", email)["data"]}

    carol, bob, alice = slugs(CAROL), slugs(BOB), slugs(ALICE)
    assert carol["follow-up"]["visibility"] == "public_edit"
    assert len(carol["follow-up"]["object_ids"]) == carol["follow-up"]["member_count"] == 4
    assert bob["follow-up"]["object_ids"] == carol["follow-up"]["object_ids"]
    assert carol["carol-rubies"]["visibility"] == "private"
    assert len(carol["carol-rubies"]["object_ids"]) == 3
    assert "carol-rubies" not in bob and "carol-rubies" not in alice
