"""#12 item 5 (a review finding): ``/objects`` aggregates count only what the caller may see.

The tiny demo has sky objects whose targets span the public EMBER-UDS and the private RUBIES.
For bob (public programs only) each such object's counts, gratings, best S/N, exposure and
automatic redshift must be those of the spectra bob himself can list (``/spectra/list``, the
independent reference), while alice (every program) sees the private spectra counted in.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import requests


def _all(srv, path, user):
    head = {"Authorization": f"Bearer {srv.user(user)['api_key']}"}
    out, offset = [], 0
    while True:
        page = requests.get(
            srv.base_url + path, params={"limit": 500, "offset": offset}, headers=head, timeout=30
        ).json()
        out += page["data"]
        offset += len(page["data"])
        if not page["data"] or offset >= page["pagination"]["total"]:
            return out


def test_public_users_see_aggregates_of_public_spectra_only(tiny_server):
    bob, alice = "bob@campfire.demo", "alice@campfire.demo"
    mixed = {
        o["object_id"]: o
        for o in _all(tiny_server, "/objects", alice)
        if "RUBIES" in o["programs"] and len(o["programs"]) > 1
    }
    assert mixed, "the tiny demo should have objects spanning a public and a private program"
    seen = {o["object_id"]: o for o in _all(tiny_server, "/objects", bob)}
    spectra = defaultdict(list)
    for s in _all(tiny_server, "/spectra/list", bob):
        spectra[s["object_id"]].append(s)
    for oid, full in mixed.items():
        mine, listed = seen[oid], spectra[oid]
        assert "RUBIES" not in mine["programs"]
        assert mine["programs"] == sorted({s["program_slug"] for s in listed})
        assert mine["n_spectra"] == len(listed) < full["n_spectra"]
        assert mine["n_targets"] == len({s["target_id"] for s in listed}) < full["n_targets"]
        assert mine["gratings"] == sorted({s["grating"] for s in listed})
        assert mine["max_snr"] == pytest.approx(max(s["signal_to_noise"] for s in listed))
        assert mine["max_exposure_time"] == pytest.approx(max(s["exposure_time"] for s in listed))
        with_z = [s for s in listed if s["redshift_auto"] is not None]
        best = max(with_z, key=lambda s: s["signal_to_noise"], default=None)
        assert mine["redshift_auto"] == (best and best["redshift_auto"])
        if full["redshift_inspected"] is None and full["redshift_quality"] != 1:
            assert mine["redshift"] == mine["redshift_auto"]


def test_the_sync_feed_gives_public_users_the_same_public_aggregates(tiny_server):
    """``/sync/objects`` rows of a mixed object, for bob, against bob's ``/sync/spectra``."""
    bob, alice = "bob@campfire.demo", "alice@campfire.demo"
    mixed = {
        o["object_id"]: o
        for o in _all(tiny_server, "/sync/objects", alice)
        if "RUBIES" in o["programs"] and len(o["programs"]) > 1
    }
    assert mixed
    seen = {o["object_id"]: o for o in _all(tiny_server, "/sync/objects", bob)}
    listed = {o["object_id"]: o for o in _all(tiny_server, "/objects", bob)}
    spectra = defaultdict(list)
    for s in _all(tiny_server, "/sync/spectra", bob):
        spectra[s["object_id"]].append(s)
    for oid, full in mixed.items():
        mine, visible = seen[oid], spectra[oid]
        assert mine["programs"] == sorted({s["program_slug"] for s in visible})
        assert mine["n_spectra"] == len(visible) == len(mine["spectra"]) < full["n_spectra"]
        assert mine["n_targets"] == len(mine["member_target_ids"]) < full["n_targets"]
        assert mine["gratings"] == sorted({s["grating"] for s in visible})
        assert mine["max_snr"] == pytest.approx(max(s["signal_to_noise"] for s in visible))
        for key in ("n_targets", "n_spectra", "programs", "gratings", "max_snr", "redshift_auto",
                    "redshift", "max_exposure_time"):  # fmt: skip
            assert mine[key] == listed[oid][key], key  # the feed and /objects agree


def _ids(srv, user, **params):
    head = {"Authorization": f"Bearer {srv.user(user)['api_key']}"}
    r = requests.get(srv.base_url + "/objects", params={"limit": 10000, **params}, headers=head,
                     timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    return [o["object_id"] for o in r.json()["data"]], r.json()["pagination"]["total"]


def _desc(value, oid):
    """The sort key of ``sort_dir=desc`` (NULLs last, ties by object id)."""
    return (value is None, -(value or 0), oid)


def _in(value, lo=None, hi=None):
    return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)


def test_filters_and_sorts_use_only_what_the_caller_may_see(tiny_server):
    """A public user's ``/objects`` filters on gratings, S/N, exposure and redshift (and its
    sorts) match his own visible aggregates, so he cannot learn that a private spectrum exists.

    The reference is bob's unfiltered ``/objects`` rows (their aggregates are checked against
    his ``/spectra/list`` above), filtered and sorted here in Python.
    """
    bob, alice = "bob@campfire.demo", "alice@campfire.demo"
    mine = {o["object_id"]: o for o in _all(tiny_server, "/objects", bob)}
    full = {o["object_id"]: o for o in _all(tiny_server, "/objects", alice)}
    mixed = [oid for oid in mine if full[oid]["n_spectra"] > mine[oid]["n_spectra"]]
    assert mixed
    differs = 0  # filters whose answer from the full (all-program) aggregates would differ
    for g in sorted({g for o in full.values() for g in o["gratings"]}):
        for mode in ("any", "all", "none"):
            got, total = _ids(tiny_server, bob, gratings=g, gratings_mode=mode)
            has = {oid for oid, o in mine.items() if g in o["gratings"]}
            want = has if mode != "none" else set(mine) - has
            assert set(got) == want and total == len(want), (g, mode)
            leaky = {oid for oid in mine if g in full[oid]["gratings"]}
            differs += (leaky if mode != "none" else set(mine) - leaky) != want
    for col in ("max_snr", "max_exposure_time", "redshift"):
        values = sorted(mine[oid][col] for oid in mixed if mine[oid][col] is not None)
        for cut in (values[0], values[len(values) // 2], values[-1]):
            for bound in ("min", "max"):
                lo, hi = (cut, None) if bound == "min" else (None, cut)
                got, total = _ids(tiny_server, bob, **{f"{col}_{bound}": cut})
                want = {oid for oid, o in mine.items() if _in(o[col], lo, hi)}
                assert set(got) == want and total == len(want), (col, bound, cut)
                differs += want != {oid for oid in mine if _in(full[oid][col], lo, hi)}
        got, _ = _ids(tiny_server, bob, sort=col, sort_dir="desc")
        ordered = sorted(mine, key=lambda oid, c=col: _desc(mine[oid][c], oid))
        assert got == ordered, col
        differs += ordered != sorted(mine, key=lambda oid, c=col: _desc(full[oid][c], oid))
    for col in ("n_spectra", "n_targets"):
        got, _ = _ids(tiny_server, bob, sort=col, sort_dir="desc")
        ordered = sorted(mine, key=lambda oid, c=col: (-mine[oid][c], oid))
        assert got == ordered, col
        differs += ordered != sorted(mine, key=lambda oid, c=col: (-full[oid][c], oid))
    assert differs, "no filter would have told the visible from the full aggregates apart"
