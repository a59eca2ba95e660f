"""The Explorer's inspection bar against the real demo server: drafts, queue mode, saves.

Expected queues and values come from ``cf.query_objects`` and plain Python, never from the bar;
writes go through the client to the real server over loopback, and faults come from the server.
"""

from __future__ import annotations

import pytest
from widget_comm import attach_comm, frontend_message

from campfire.errors import ValidationError
from campfire.views.widgets.explorer_inspection import InspectionQueue
from campfire.widgets import Explorer


def uninspected_ids(cf):
    return [str(o) for o in cf.query_objects(inspected_only=False, sort="object_id")["object_id"]]


def test_queue_mode_steps_through_uninspected_objects_with_enter(demo_cf):
    cf = demo_cf
    todo = uninspected_ids(cf)
    assert len(todo) >= 3
    ex = Explorer(cf, queue="uninspected")
    bar = ex.inspection
    assert ex.browser.selected == todo[0] == bar.object["object_id"]
    assert bar.queue == {"name": "uninspected", "position": 0, "total": len(todo)}
    attach_comm(bar)
    frontend_message(bar, {"type": "save", "next": True})  # nothing changed: Enter just moves on
    assert ex.browser.selected == todo[1] and bar.queue["position"] == 1
    frontend_message(bar, {"type": "next"})  # the skip key
    assert ex.browser.selected == todo[2] == ex.header.info["object_id"]
    assert bar.error == "" and bar.saves == []
    ex.close()


def test_queue_from_a_table_or_ids_and_its_end(demo_cf):
    cf = demo_cf
    table = cf.query_objects(sort="redshift", sort_dir="desc", limit=2)
    order = [str(o) for o in table["object_id"]]
    ex = Explorer(cf, queue=table)
    assert ex.browser.selected == order[0]
    assert ex.inspection.queue == {"name": "query", "position": 0, "total": 2}
    ex.inspection.on_next()
    assert ex.browser.selected == order[1]
    assert ex.inspection.on_next() is None  # the end: said, and the object stays
    assert ex.browser.selected == order[1]
    assert "end of the query queue (2 objects)" in ex.inspection.error
    ex.close()
    ids = list(reversed(order))
    ex = Explorer(cf, queue=ids)
    assert ex.browser.selected == ids[0] and ex.inspection.queue["name"] == "list"
    ex.close()


def test_queue_continues_from_where_it_was_after_an_off_queue_detour():
    q = InspectionQueue(["a", "b", "c"])
    assert q.as_dict("b") == {"name": "queue", "position": 1, "total": 3}
    assert q.as_dict("zz")["position"] is None  # an object off the queue
    assert q.after("zz") == "c"  # … continues after b
    assert q.after("c") is None and len(q) == 3


def test_a_bad_queue_says_what_a_queue_can_be(demo_cf):
    with pytest.raises(ValidationError, match=r"unknown queue 'unseen'.*uninspected"):
        Explorer(demo_cf, queue="unseen")
    with pytest.raises(ValidationError, match="needs an object_id column"):
        Explorer(demo_cf, queue=demo_cf.query_spectra()["spectrum_id", "grating"])


def test_dragged_redshift_is_the_draft_and_a_typed_one_moves_the_lines(demo_cf):
    cf = demo_cf
    objs = cf.query_objects(inspected_only=False)
    obj = next(o for o in map(cf.get_object, map(str, objs["object_id"])) if o.redshift)
    oid = obj.object_id
    ex = Explorer(cf, object_id=oid)
    bar = ex.inspection
    assert bar.redshift == pytest.approx(obj.redshift) and bar.changes == {}
    assert bar.object["redshift_quality"] == obj.redshift_quality == 0
    dragged = round(obj.redshift + 0.0123, 4)
    ex.viewer.redshift = dragged  # a line let go in the viewer
    assert bar.redshift == dragged and bar.changes == {"redshift": dragged}
    bar.redshift = 3.25  # typed in the bar
    assert ex.viewer.redshift == 3.25
    bar.quality = 4
    assert bar.changes == {"redshift": 3.25, "quality": 4}
    with pytest.raises(ValidationError, match=r"from -0\.1 to 30"):
        bar.redshift = 31.0
    assert bar.redshift == 3.25
    # another object: its own values, no change proposed, though the viewer's z moved
    other = next(str(o) for o in objs["object_id"] if str(o) != oid)
    ex.browser.selected = other
    assert bar.object["object_id"] == other and bar.changes == {}
    assert ex.wait(120)
    ex.close()


def test_table_filters_on_inspection_state(demo_cf):
    cf = demo_cf
    ex = Explorer(cf)
    b = ex.browser
    b.set_filters(inspected_only=False)
    assert b.total == len(uninspected_ids(cf))
    b.set_filters(staleness=True)
    assert b.total == len(cf.query_objects(staleness=True))
    b.me = None
    b.filters = {"inspected_by": "me"}
    assert "needs to know who you are" in b.error
    ex.close()


def test_a_patched_row_is_sent_to_the_table(demo_cf):
    ex = Explorer(demo_cf)
    rec = attach_comm(ex.browser)
    ex.browser.patch_rows([{"object_id": "J1", "redshift_quality": 4, "redshift": float("nan")}])
    assert rec.custom() == [
        {"type": "patch", "rows": [{"object_id": "J1", "redshift_quality": 4, "redshift": None}]}
    ]
    ex.close()


# -- saves through the real client and server ----------------------------------------------------
def other_client(demo_cf, tmp_path, name="other"):
    """A second client of the same user (another laptop), with its own synced catalog."""
    from campfire import Campfire

    cf = Campfire(data_dir=tmp_path / name)
    cf.sync()
    return cf


def test_enter_confirms_after_the_local_write_then_the_archive_answers(demo_cf, tmp_path):
    cf = demo_cf
    todo = uninspected_ids(cf)
    ex = Explorer(cf, queue="uninspected")
    bar = ex.inspection
    rec_table = attach_comm(ex.browser)
    attach_comm(bar)
    frontend_message(bar, {"type": "save", "redshift": 2.4321, "quality": 4, "next": True})
    # confirmed on screen after the local write (the archive's answer comes on the worker)
    first = next(s for s in bar.saves if s["object_id"] == todo[0])
    assert first["state"] in ("sending", "saved")
    local = cf.get_object(todo[0])
    assert local.redshift_quality == 4 and local.redshift_inspected == pytest.approx(2.4321)
    assert ex.browser.selected == todo[1] == bar.object["object_id"]  # and on to the next
    assert bar.wait(60)
    assert bar.saves[0]["state"] == "saved" and bar.saves[0]["text"] == (
        "saved: z = 2.4321, 4 secure"
    )
    assert len(cf.outbox) == 0
    patched = [m for m in rec_table.custom() if m["type"] == "patch"]
    assert patched and patched[-1]["rows"][0]["object_id"] == todo[0]
    assert patched[-1]["rows"][0]["redshift_quality"] == 4
    # another client sees it after a sync
    other = other_client(cf, tmp_path)
    seen = other.get_object(todo[0])
    assert seen.redshift_quality == 4 and seen.redshift_inspected == pytest.approx(2.4321)
    # back to the saved object: its stored values, nothing to save, its state shown
    ex.browser.selected = todo[0]
    assert bar.changes == {} and bar.object["redshift_quality"] == 4
    assert bar.status["state"] == "saved"
    ex.close()


def test_offline_saves_are_queued_and_the_next_sync_sends_them(demo_cf, tmp_path, monkeypatch):
    from campfire import Campfire

    todo = uninspected_ids(demo_cf)
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    offline = Campfire(data_dir=demo_cf.data_dir)
    ex = Explorer(offline, queue="uninspected")
    bar = ex.inspection
    bar.quality = 3
    rec = bar.save(next=True)
    assert rec is not None and bar.wait(60)
    assert rec.state == "queued" and bar.saves[0]["text"] == "queued offline: 3 probable"
    assert [(e.kind, e.target, e.state) for e in offline.outbox] == [
        ("inspect", todo[0], "pending")
    ]
    assert offline.get_object(todo[0]).redshift_quality == 3  # the catalog has it already
    ex.close()
    # a new session shows that the object's save is still waiting
    later = Explorer(Campfire(data_dir=demo_cf.data_dir), object_id=todo[0])
    assert later.inspection.wait(60)
    assert later.inspection.status["state"] == "queued"
    assert later.inspection.status["text"] == "queued offline: 3 probable"
    assert later.inspection.changes == {}
    later.close()
    monkeypatch.delenv("CAMPFIRE_OFFLINE")
    Campfire(data_dir=demo_cf.data_dir).sync()  # push first, then pull
    assert other_client(demo_cf, tmp_path).get_object(todo[0]).redshift_quality == 3


def test_archive_down_queues_the_save(demo_cf, demo_server):
    todo = uninspected_ids(demo_cf)
    demo_server.set_faults([{"path": "/objects/", "kind": "status", "status": 503, "times": -1}])
    ex = Explorer(demo_cf, object_id=todo[0])
    bar = ex.inspection
    bar.quality = 2
    rec = bar.save()
    assert bar.wait(60) and rec.state == "queued"
    assert len(demo_cf.outbox) == 1
    demo_server.clear_faults()
    demo_cf.sync()
    assert len(demo_cf.outbox) == 0
    ex.close()


def test_a_conflict_shows_both_values_and_who_and_is_settled_either_way(demo_cf, tmp_path):
    cf = demo_cf
    todo = uninspected_ids(cf)
    other = other_client(cf, tmp_path)
    other.inspect(todo[0], redshift=1.5, quality=3)
    other.inspect(todo[1], redshift=1.7, quality=2)
    ex = Explorer(cf, queue=todo[:2])
    bar = ex.inspection
    attach_comm(bar)
    frontend_message(bar, {"type": "save", "redshift": 2.25, "quality": 4, "next": True})
    frontend_message(bar, {"type": "save", "quality": 1})
    assert bar.wait(60)
    states = {s["object_id"]: s for s in bar.saves}
    a, b = states[todo[0]], states[todo[1]]
    assert a["state"] == b["state"] == "conflict"
    assert a["theirs"]["redshift"] == 1.5 and a["theirs"]["quality"] == 3
    assert a["theirs"]["by"] and a["theirs"]["at"]
    theirs = f"theirs z = 1.5000, 3 probable by {a['theirs']['by']}"
    assert a["text"] == f"conflict: yours z = 2.2500, 4 secure; {theirs}"
    assert bar.status["state"] == "conflict"  # the object shown (the second) is in conflict
    # nothing overwritten until the user chooses
    assert other_client(cf, tmp_path, "third").get_object(todo[0]).redshift_quality == 3
    frontend_message(bar, {"type": "resolve", "object_id": todo[0], "choice": "mine"})
    frontend_message(bar, {"type": "resolve", "object_id": todo[1], "choice": "theirs"})
    assert bar.wait(60)
    states = {s["object_id"]: s["state"] for s in bar.saves}
    assert states == {todo[0]: "saved", todo[1]: "discarded"}
    assert len(cf.outbox) == 0
    assert cf.get_object(todo[1]).redshift_quality == 2  # theirs, locally too
    other.sync()
    assert other.get_object(todo[0]).redshift_quality == 4  # mine, written over theirs
    assert other.get_object(todo[1]).redshift_quality == 2
    ex.close()


def test_dq_flags_comments_and_tags_from_the_bar(demo_cf, tmp_path):
    from campfire.flags import DQFlags

    cf = demo_cf
    oid = next(o for o in uninspected_ids(cf) if len(cf.get_object(o).spectra))
    ex = Explorer(cf, object_id=oid)
    bar = ex.inspection
    attach_comm(bar)
    sid = bar.spectra[0]["spectrum_id"]
    start = bar.spectra[0]["dq_flags"]
    frontend_message(
        bar, {"type": "dq", "spectrum_id": sid, "flags": start ^ DQFlags.LOW_SNR.value}
    )
    frontend_message(bar, {"type": "comment", "text": "[OIII] doublet clear at z≈2.43"})
    frontend_message(bar, {"type": "tag", "slug": "my-lrds"})
    assert bar.wait(60) and bar.error == ""
    assert bar.spectra[0]["dq_flags"] == start ^ 32
    assert bar.comments[-1]["body"] == "[OIII] doublet clear at z≈2.43"
    assert "my-lrds" in bar.tags
    other = other_client(cf, tmp_path)
    assert other.get_spectrum(sid)["dq_flags"] == start ^ 32
    assert [c.body for c in other.get_comments(oid)][-1] == "[OIII] doublet clear at z≈2.43"
    assert "my-lrds" in other.get_object(oid).tags
    frontend_message(bar, {"type": "untag", "slug": "my-lrds"})
    assert bar.wait(60) and "my-lrds" not in bar.tags
    frontend_message(bar, {"type": "comment", "text": "   "})
    assert "a comment needs some text" in bar.error
    ex.close()


def test_the_table_shows_who_inspected_and_filters_on_me(demo_cf):
    cf = demo_cf
    todo = uninspected_ids(cf)
    ex = Explorer(cf, object_id=todo[0])
    bar = ex.inspection
    table = attach_comm(ex.browser)
    bar.quality = 3
    bar.save()
    assert bar.wait(60) and bar.status["state"] == "saved"
    me = cf.reader.user()
    assert me.get("id") and me.get("name")
    patch = [m for m in table.custom() if m["type"] == "patch"][-1]["rows"][0]
    assert patch["redshift_quality"] == 3 and patch["last_inspected_by_name"] == me["name"]
    assert ex.header.info["quality_label"] == "probable"  # the header follows the save
    obj = cf.get_object(todo[0])
    b = ex.browser
    assert {"redshift_quality", "last_inspected_by_name", "last_inspected_at"} <= set(b.columns)
    b.set_filters(inspected_by="me")
    objects = cf.query_objects()
    pairs = zip(objects["object_id"], objects["last_inspected_by"], strict=True)
    expected = sorted(str(o) for o, by in pairs if by == me["id"])
    rows = b.page(0, 500)
    assert todo[0] in expected and sorted(r["object_id"] for r in rows) == expected
    row = next(r for r in rows if r["object_id"] == todo[0])
    assert row["redshift_quality"] == 3 and row["last_inspected_by_name"] == me["name"]
    assert row["last_inspected_at"] == obj.last_inspected_at
    ex.close()


def test_a_conflict_found_by_sync_is_shown_and_settled_in_the_bar(demo_cf, tmp_path, monkeypatch):
    from campfire import Campfire

    todo = uninspected_ids(demo_cf)
    oid = todo[0]
    other = other_client(demo_cf, tmp_path)
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    Campfire(data_dir=demo_cf.data_dir).inspect(oid, quality=2)  # on the train
    monkeypatch.delenv("CAMPFIRE_OFFLINE")
    other.inspect(oid, redshift=3.3, quality=4)  # meanwhile, at the office
    cf = Campfire(data_dir=demo_cf.data_dir)
    cf.sync()  # pushes first: the archive says someone was quicker
    ex = Explorer(cf, object_id=oid)
    bar = ex.inspection
    assert bar.wait(60) and bar.status["state"] == "conflict"
    assert bar.status["theirs"]["redshift"] == 3.3 and bar.status["theirs"]["quality"] == 4
    assert bar.status["text"].startswith("conflict: yours 2 tentative; theirs z = 3.3000, 4 secure")
    bar.resolve(oid, "theirs")
    assert bar.status["state"] == "discarded" and len(cf.outbox) == 0
    assert cf.get_object(oid).redshift_quality == 4
    ex.close()
