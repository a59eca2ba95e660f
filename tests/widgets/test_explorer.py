"""Explorer against the real demo server: choosing objects fetches their spectra and cutouts.

Nothing is downloaded before the tests, so every spectrum shown was fetched through
``cf.open_spectrum`` over loopback; faults (missing files, stalls) come from the server.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from widget_comm import attach_comm, frontend_message

from campfire.views.widgets.spectrum_traces import image2d
from campfire.widgets import Explorer


def objects_by_spectra(cf):
    """Object ids with at least two spectra and a redshift, most spectra first."""
    counts = Counter(str(o) for o in cf.query_spectra()["object_id"])
    objs = cf.query_objects()
    rows = zip(objs["object_id"], objs["redshift"], objs["redshift"].mask, strict=True)
    z = {str(o): float(v) for o, v, masked in rows if not masked}
    return [o for o, n in counts.most_common() if n >= 2 and o in z], z


def test_choosing_an_object_fetches_its_spectra_and_cutout(demo_cf):
    cf = demo_cf
    ids, z = objects_by_spectra(cf)
    oid = ids[0]
    obj = cf.get_object(oid)
    assert not any(s.downloaded for s in obj.spectra)  # nothing local yet
    ex = Explorer(cf)
    ex.browser.selected = oid
    assert ex.header.info["object_id"] == oid  # the header answers at once
    assert ex.wait(120)
    assert ex.header.progress == {
        "done": len(obj.spectra),
        "total": len(obj.spectra),
        "state": "done",
    }
    assert ex.header.errors == []
    shown = sorted(tr["spectrum_id"] for tr in ex.viewer.traces)
    assert shown == sorted(s.spectrum_id for s in obj.spectra)
    assert ex.viewer.traces[0]["grating"] == "PRISM"  # PRISM first, then the gratings
    assert ex.viewer.redshift == pytest.approx(z[oid])
    # fetched through open_spectrum into products/, and shown exactly as read from there
    again = cf.get_object(oid)
    assert all(s.downloaded for s in again.spectra)
    for tr in ex.viewer.traces:
        data = cf.open_spectrum(tr["spectrum_id"])
        np.testing.assert_allclose(np.frombuffer(tr["wave"], "<f4"), data.wavelength, rtol=1e-6)
    assert ex.cutout.image.startswith(b"\x89PNG") and ex.cutout.object_id == oid
    assert any(f["category"] == "target" for f in ex.cutout.footprints)
    assert ex.viewer.payload_bytes < 200_000
    ex.close()


def test_rest_frame_zoom_holds_while_flipping(demo_cf):
    cf = demo_cf
    ids, z = objects_by_spectra(cf)
    a, b = ids[0], next(o for o in ids[1:] if abs(z[o] - z[ids[0]]) > 0.05)
    ex = Explorer(cf, object_id=a)
    assert ex.wait(120)
    ex.viewer.zoom_rest(4800, 5100)  # Hβ + [OIII]
    ex.browser.selected = b
    assert ex.wait(120)
    assert ex.viewer.x_range == pytest.approx([0.48 * (1 + z[b]), 0.51 * (1 + z[b])])
    ex.viewer.hold_rest_zoom = False
    ex.browser.selected = a
    assert ex.wait(120)
    assert ex.viewer.x_range == []
    ex.close()


def test_header_buttons_step_through_the_table(demo_cf):
    cf = demo_cf
    ex = Explorer(cf, page_size=5, sort="object_id")
    order = [str(o) for o in cf.query_objects(sort="object_id")["object_id"]]
    ex.browser.selected = order[3]
    rec = attach_comm(ex.header)
    frontend_message(ex.header, {"type": "step", "delta": 1})
    assert ex.browser.selected == order[4] == ex.header.info["object_id"]
    frontend_message(ex.header, {"type": "step", "delta": -2})
    assert ex.browser.selected == order[2]
    assert rec.custom() == []  # the answer is the new selection, not a message
    assert ex.wait(120)
    ex.close()


def test_missing_files_are_reported_and_the_explorer_keeps_working(demo_cf, demo_server):
    cf = demo_cf
    ids, _ = objects_by_spectra(cf)
    oid = ids[0]
    wanted = {s.spectrum_id for s in cf.get_object(oid).spectra}
    demo_server.set_faults([{"path": "/files/", "kind": "status", "status": 404, "times": -1}])
    ex = Explorer(cf, object_id=oid)
    assert ex.wait(120)
    assert {e.split(":")[0] for e in ex.header.errors} == wanted  # each failure named
    assert ex.viewer.traces == [] and ex.header.progress["state"] == "error"
    demo_server.clear_faults()
    ex.show(oid)  # choosing it again, with the archive healthy, shows everything
    assert ex.wait(120)
    assert ex.header.errors == [] and {tr["spectrum_id"] for tr in ex.viewer.traces} == wanted
    ex.close()


def test_a_new_choice_drops_the_old_objects_spectra(demo_cf, demo_server):
    cf = demo_cf
    ids, _ = objects_by_spectra(cf)
    slow, fast = ids[0], ids[1]
    demo_server.set_faults([{"path": "/files/", "kind": "stall", "stall_seconds": 2, "times": 1}])
    ex = Explorer(cf)
    ex.browser.selected = slow  # its first file stalls on the server
    ex.browser.selected = fast
    assert ex.wait(120)
    assert {tr["spectrum_id"] for tr in ex.viewer.traces} == {
        s.spectrum_id for s in cf.get_object(fast).spectra
    }
    assert ex.header.info["object_id"] == fast == ex.viewer.title
    ex.close()


def test_offline_and_unknown_objects_say_so(demo_cf, monkeypatch):
    cf = demo_cf
    ids, _ = objects_by_spectra(cf)
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    from campfire import Campfire

    offline = Campfire(data_dir=cf.data_dir)
    ex = Explorer(offline, object_id=ids[0])
    assert ex.wait(60)
    assert ex.header.errors and all("CAMPFIRE_OFFLINE" in e for e in ex.header.errors)
    assert ex.viewer.traces == [] and ex.header.progress["state"] == "error"
    assert "no cutout" in ex.cutout.message
    ex.browser.selected = "J000000.00+000000.0"
    assert ex.header.errors == ["J000000.00+000000.0 is not in the synced catalog"]
    ex.close()


def test_static_picture_of_the_explorer(demo_cf):
    ids, _ = objects_by_spectra(demo_cf)
    ex = Explorer(demo_cf, object_id=ids[0])
    assert ex.wait(120)
    data, _ = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert ids[0] in html and html.count("data:image/png;base64") == 2
    ex.close()


def test_without_a_synced_catalog_the_explorer_says_to_sync(tmp_path):
    from campfire import Campfire
    from campfire.errors import NotFoundError

    with pytest.raises(NotFoundError, match=r"run cf\.sync\(\)"):
        Explorer(Campfire(data_dir=tmp_path / "nothing"))


def test_the_next_rows_spectra_are_read_ahead_and_drawn_from_memory(demo_cf):
    """#14: while one object is shown the worker reads the downloaded spectra of the rows
    around it; a click on the next row draws them without opening a file (one message)."""
    cf = demo_cf
    order = [str(o) for o in cf.query_objects(sort="object_id")["object_id"]]
    here, nxt, after = order[1], order[2], order[3]
    cf.download(object_ids=[order[0], here, nxt])  # `after` stays on the server
    ex = Explorer(cf)
    ex.show(here)
    assert ex.wait(120)
    ex._pool.submit(lambda: None).result()  # the read-ahead ran after the object's load
    ahead = {s.spectrum_id: ex._cache.get(s.spectrum_id) for s in cf.get_object(nxt).spectra}
    assert ahead and all(d is not None for d in ahead.values())
    assert all(ex._cache.get(s.spectrum_id) is not None for s in cf.get_object(order[0]).spectra)
    sent = []
    ex.viewer.observe(lambda ch: sent.append(len(ch["new"])), "traces")
    ex.show(nxt)
    assert ex.wait(120)
    assert sent == [0, len(ahead)]  # cleared, then every spectrum in one message
    assert sorted(tr["spectrum_id"] for tr in ex.viewer.traces) == sorted(ahead)
    for tr in ex.viewer.traces:  # as read from the file
        data = cf.open_spectrum(tr["spectrum_id"])
        fnu = np.asarray(data.fnu, dtype="<f4")
        np.testing.assert_array_equal(np.frombuffer(tr["fnu"], "<f4"), fnu)
    # only files on disk are read ahead: the row after `nxt` was not fetched
    ex._pool.submit(lambda: None).result()
    assert not any(s.downloaded for s in cf.get_object(after).spectra)
    assert all(ex._cache.get(s.spectrum_id) is None for s in cf.get_object(after).spectra)
    ex.close()


def test_downloaded_spectra_not_read_ahead_draw_their_1d_first_then_their_2d(demo_cf):
    """#14: a click on an object whose files are on disk but not read ahead draws every
    spectrum's 1D in one message (read 1D-only), then the same spectra with their 2D strips."""
    cf = demo_cf
    ids, _ = objects_by_spectra(cf)
    oid = ids[0]
    cf.download(object_ids=[oid])
    want = {s.spectrum_id: cf.open_spectrum(s.spectrum_id) for s in cf.get_object(oid).spectra}
    assert any(d.extras for d in want.values())  # the demo's files carry 2D products
    ex = Explorer(cf)
    sent: list[list[dict]] = []
    ex.viewer.observe(lambda ch: sent.append(list(ch["new"])), "traces")
    ex.show(oid)
    assert ex.wait(120)
    assert len(sent) == 2  # the viewer was empty: no clearing message
    first, last = sent
    assert sorted(tr["spectrum_id"] for tr in first) == sorted(want)  # all in one message
    assert all(tr["sci2d"] is None for tr in first)  # the 1D alone, drawn first
    assert [tr["spectrum_id"] for tr in last] == [tr["spectrum_id"] for tr in first]
    for tr in last:  # then as open_spectrum reads the file, the 2D strips with it
        data = want[tr["spectrum_id"]]
        np.testing.assert_array_equal(
            np.frombuffer(tr["fnu"], "<f4"), np.asarray(data.fnu, dtype="<f4")
        )
        assert (tr["sci2d"] is not None) == (image2d(data) is not None)
    assert any(tr["sci2d"] is not None for tr in last)
    ex.close()


def test_the_visible_pages_spectra_are_read_ahead_1d_and_a_click_there_draws_at_once(demo_cf):
    """#14: after a first click, the 1D of every downloaded spectrum on the visible page is
    read ahead; a click on a row further down draws its spectra from memory, 2D after."""
    cf = demo_cf
    ex = Explorer(cf, page_size=8)
    page = [str(r["object_id"]) for r in ex.browser.rows]
    far = page[5]
    cf.download(object_ids=[page[0], far])
    ex.show(page[0])
    assert ex.wait(120)
    ex._pool.submit(lambda: None).result()  # the read-ahead ran after the object's load
    ids = [s.spectrum_id for s in cf.get_object(far).spectra]
    assert ids and all(ex._cache.get(i) is None for i in ids)  # not a neighbour: no full read
    quick = {i: ex._quick.get(i) for i in ids}
    assert all(d is not None for d in quick.values())
    sent: list[list[dict]] = []
    ex.viewer.observe(lambda ch: sent.append(list(ch["new"])), "traces")
    ex.show(far)
    assert ex.wait(120)
    first = next(x for x in sent if x)
    assert sorted(tr["spectrum_id"] for tr in first) == sorted(ids)  # one message, from memory
    assert all(tr["sci2d"] is None for tr in first)
    for tr in first:  # the 1D as the file holds it
        np.testing.assert_array_equal(
            np.frombuffer(tr["fnu"], "<f4"),
            np.asarray(cf.open_spectrum(tr["spectrum_id"]).fnu, dtype="<f4"),
        )
    assert all(ex._cache.get(i) is not None for i in ids)  # then read in full, for the 2D
    assert any(tr["sci2d"] is not None for tr in sent[-1])
    ex.close()
