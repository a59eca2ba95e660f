"""Local queries (DuckDB over the synced catalog) on a store filled through real Store upserts.

Expected answers come from independent references: astropy's great-circle separations, the
contract's redshift and DQ rules evaluated by hand in plain Python, and sorted Python lists.
"""

from __future__ import annotations

import math
import random

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from campfire import Campfire
from campfire.catalog.store import Store
from campfire.errors import NotFoundError, ValidationError
from campfire.flags import DQFlags

STAMP = "2026-05-01T00:00:00+00:00"


def obj(oid, ra, dec, **kw):
    row = {
        "object_id": oid, "field": kw.pop("field", "uds"), "ra": ra, "dec": dec,
        "n_targets": 1, "n_spectra": 1, "programs": ["EMBER-UDS"], "gratings": ["PRISM"],
        "observations": ["ember_uds_p4"], "member_target_ids": [f"ember_uds_p4_{oid[-4:]}"],
        "redshift_quality": 0, "is_active": True, "updated_at": STAMP, "lists": [],
    }  # fmt: skip
    row.update(kw)
    return row


def spec(sid, oid, grating="PRISM", dq=0, snr=10.0, obs="ember_uds_p4", **kw):
    row = {
        "spectrum_id": sid, "target_id": f"{obs}_{oid[-4:]}", "object_id": oid,
        "grating": grating, "fits_path": f"spectra/{obs}/{sid}_spec.fits",
        "file_hash": "sha256:" + "0" * 64, "file_size": 100, "signal_to_noise": snr,
        "exposure_time": 3000.0, "reduction_version": "v1.0", "dq_flags": dq,
        "program_slug": "EMBER-UDS", "observation": obs, "field": "uds", "updated_at": STAMP,
    }  # fmt: skip
    row.update(kw)
    return row


def fill(root, objects, spectra=(), lists=(), photometry=()):
    with Store(root / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("objects", list(objects), STAMP)
        store.upsert("spectra", list(spectra), STAMP)
        store.upsert("lists", list(lists), STAMP)
        store.upsert("photometry", list(photometry), STAMP)
        store.bump("catalog_version")
    return Campfire(data_dir=root)


def ids(table, col="object_id"):
    return list(table[col])


# -- cone search ---------------------------------------------------------------------------------


def _sky_sample(rng, ra0, dec0, n, spread_deg):
    """Points scattered around (ra0, dec0) on the sphere (uniform in offset angle/direction)."""
    c0 = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    pa = rng.uniform(0, 360, n) * u.deg
    sep = rng.uniform(0, spread_deg, n) * u.deg
    return c0.directional_offset_by(pa, sep)


@pytest.mark.parametrize(
    ("ra0", "dec0", "radius"),
    [(0.0005, 0.2, 40.0), (359.9995, -3.0, 25.0), (123.0, 89.995, 30.0), (10.0, -89.99, 60.0),
     (150.08, 2.35, 30.0)],
)  # fmt: skip
def test_cone_search_is_great_circle_across_ra_wrap_and_poles(tmp_path, ra0, dec0, radius):
    rng = np.random.default_rng(7)
    pts = _sky_sample(rng, ra0, dec0, 400, 3 * radius / 3600)
    rows = [obj(f"J{i:04d}", float(c.ra.deg), float(c.dec.deg)) for i, c in enumerate(pts)]
    cf = fill(tmp_path, rows)
    sep = pts.separation(SkyCoord(ra0 * u.deg, dec0 * u.deg)).arcsec
    clear = np.abs(sep - radius) > 1e-6  # skip points sitting on the boundary
    expected = sorted(f"J{i:04d}" for i in np.flatnonzero((sep <= radius) & clear))
    got = cf.query_objects(cone_search=(ra0, dec0, radius))
    got_ids = [o for o in ids(got) if clear[int(o[1:])]]
    assert sorted(got_ids) == expected and len(expected) > 20
    # sorted by distance, distance in arcsec equal to astropy's separation
    assert list(got["distance"]) == sorted(got["distance"])
    assert got["distance"].unit == u.arcsec and got["ra"].unit == u.deg
    np.testing.assert_allclose(got["distance"], sep[[int(o[1:]) for o in ids(got)]], atol=1e-6)


def test_cone_search_box_never_drops_far_ra_points_near_pole(tmp_path):
    # at dec 89.9°, 20" east/west is ~3.2° of RA: a flat (uncorrected) RA box would miss them
    c0 = SkyCoord(45 * u.deg, 89.9 * u.deg)
    pts = [c0.directional_offset_by(pa * u.deg, 19 * u.arcsec) for pa in (90, 270, 0, 180)]
    far = c0.directional_offset_by(90 * u.deg, 21 * u.arcsec)
    rows = [obj(f"J000{i}", float(p.ra.deg), float(p.dec.deg)) for i, p in enumerate([*pts, far])]
    cf = fill(tmp_path, rows)
    assert sorted(ids(cf.query_objects(cone_search=(45, 89.9, 20)))) == [
        "J0000", "J0001", "J0002", "J0003"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "cone",
    [(1, 2), (1, 2, 3, 4), ("a", 2, 3), (400, 0, 3), (10, 91, 3), (10, 0, 0), (10, 0, -5),
     (10, 0, float("nan")), 5],
)  # fmt: skip
def test_malformed_cone_search_is_rejected(tmp_path, cone):
    cf = fill(tmp_path, [obj("J0001", 1, 1)])
    with pytest.raises(ValidationError, match="cone_search"):
        cf.query_objects(cone_search=cone)


# -- redshifts, tags, DQ -------------------------------------------------------------------------


def test_redshift_is_inspected_over_auto_and_null_for_quality_1(tmp_path):
    cf = fill(
        tmp_path,
        [
            obj("J0001", 1, 1, redshift_auto=7.0, redshift_inspected=2.5, redshift_quality=3),
            obj("J0002", 1, 1, redshift_auto=3.0, redshift_quality=0),
            obj("J0003", 1, 1, redshift_auto=3.1, redshift_inspected=3.2, redshift_quality=1),
            obj("J0004", 1, 1, redshift_auto=None, redshift_quality=0),
        ],
    )
    t = cf.query_objects()
    zs = zip(t["object_id"], t["redshift"], t["redshift"].mask, strict=True)
    z = {o: (None if m else float(v)) for o, v, m in zs}
    assert z == {"J0001": 2.5, "J0002": 3.0, "J0003": None, "J0004": None}
    assert ids(cf.query_objects(redshift_range=(2.0, 3.0))) == ["J0001", "J0002"]
    assert ids(cf.query_objects(redshift_range=(2.5, 2.5))) == ["J0001"]  # inclusive
    assert ids(cf.query_objects(redshift_quality=["probable", "secure"])) == ["J0001"]
    assert ids(cf.query_objects(inspected_only=True)) == ["J0001", "J0003"]
    assert ids(cf.query_objects(inspected_only=False)) == ["J0002", "J0004"]


def test_tag_filter_matches_any_listed_tag_and_spectra_join_through_parent(tmp_path):
    lists = [{"slug": s, "name": s.upper(), "id": i} for i, s in enumerate(["lrd", "blagn", "qg"])]
    cf = fill(
        tmp_path,
        [obj("J0001", 1, 1, lists=["lrd"]), obj("J0002", 1, 1, lists=["blagn", "qg"]),
         obj("J0003", 1, 1)],
        [spec("s1", "J0001"), spec("s2", "J0002"), spec("s3", "J0003")],
        lists,
    )  # fmt: skip
    assert ids(cf.query_objects(tags=["lrd", "blagn"])) == ["J0001", "J0002"]
    assert ids(cf.query_objects(tags=["QG"])) == ["J0002"]
    assert ids(cf.query_spectra(tags=["lrd"]), "spectrum_id") == ["s1"]
    assert list(cf.query_objects(search="J0002")["tags"][0]) == ["blagn", "qg"]
    with pytest.raises(ValidationError, match=r"unknown tag 'lrdd'.*'lrd'"):
        cf.query_objects(tags=["lrdd"])


def _dq_case(tmp_path):
    # object -> its spectra's DQ bitmasks
    masks = {"J0001": [0], "J0002": [2], "J0003": [1, 32], "J0004": [34], "J0005": [1],
             "J0006": []}  # fmt: skip
    objects = [obj(o, 1, 1) for o in masks]
    spectra = [spec(f"{o}_{i}", o, dq=m) for o, ms in masks.items() for i, m in enumerate(ms)]
    return fill(tmp_path, objects, spectra), masks


def test_dq_flags_on_objects_go_through_their_spectra(tmp_path):
    cf, masks = _dq_case(tmp_path)

    def expect(any_=0, all_=0, exclude=0):  # api-v1 8.3, each mode on its own
        out = []
        for o, ms in masks.items():
            ok = not any_ or any(m & any_ for m in ms)
            ok &= not all_ or any(m & all_ == all_ for m in ms)
            ok &= not any(m & exclude for m in ms)
            if ok:
                out.append(o)
        return out

    clean = ~DQFlags.CONTAMINATION & ~DQFlags.LOW_SNR
    assert ids(cf.query_objects(dq_flags=clean)) == expect(exclude=34)
    assert ids(cf.query_objects(dq_flags=DQFlags.CHIP_GAP | DQFlags.LOW_SNR)) == expect(any_=33)
    assert ids(cf.query_objects(dq_flags=DQFlags.CONTAMINATION & DQFlags.LOW_SNR)) == expect(
        all_=34
    )
    assert expect(exclude=34) == ["J0001", "J0005", "J0006"]  # the hand-checked answer


def test_dq_flags_on_spectra_apply_every_mode_per_spectrum(tmp_path):
    cf, masks = _dq_case(tmp_path)
    all_masks = {f"{o}_{i}": m for o, ms in masks.items() for i, m in enumerate(ms)}
    q = (DQFlags.CHIP_GAP | DQFlags.CONTAMINATION) & ~DQFlags.LOW_SNR
    expected = sorted(s for s, m in all_masks.items() if m & 3 and not m & 32)
    assert sorted(ids(cf.query_spectra(dq_flags=q), "spectrum_id")) == expected
    assert expected == ["J0002_0", "J0003_0", "J0005_0"]


# -- sorting, paging, columns --------------------------------------------------------------------


def test_sorting_puts_nulls_last_both_ways_and_breaks_ties_by_object_id(tmp_path):
    snr = {"J0001": 5.0, "J0002": None, "J0003": 9.0, "J0004": 5.0, "J0005": None}
    cf = fill(tmp_path, [obj(o, 1, 1, max_snr=v) for o, v in snr.items()])
    assert ids(cf.query_objects(sort="max_snr")) == ["J0001", "J0004", "J0003", "J0002", "J0005"]
    assert ids(cf.query_objects(sort="max_snr", sort_dir="desc")) == [
        "J0003", "J0001", "J0004", "J0002", "J0005"
    ]  # fmt: skip
    rows = list(cf.iter_objects(sort="max_snr", sort_dir="DESC"))
    assert [r["object_id"] for r in rows][:3] == ["J0003", "J0001", "J0004"]


def test_offset_and_limit_page_through_the_sorted_rows(tmp_path):
    rng = random.Random(3)
    rows = [obj(f"J{i:04d}", 1, 1, max_snr=rng.uniform(0, 50)) for i in range(57)]
    cf = fill(tmp_path, rows)
    order = [r["object_id"] for r in sorted(rows, key=lambda r: r["max_snr"])]
    pages = [ids(cf.query_objects(sort="max_snr", limit=10, offset=o)) for o in range(0, 60, 10)]
    assert [o for page in pages for o in page] == order
    assert ids(cf.query_objects(sort="max_snr", limit=4, offset=13)) == order[13:17]
    assert len(cf.query_objects(limit=0)) == 0
    assert [r["object_id"] for r in cf.iter_objects(sort="max_snr", offset=50)] == order[50:]


def test_query_spectra_columns_units_and_parent_fields(tmp_path):
    cf = fill(
        tmp_path,
        [obj("J0001", 34.4, -5.2, redshift_auto=6.1, redshift_quality=4, redshift_inspected=6.0)],
        [spec("s_prism", "J0001", snr=12.5), spec("s_g395m", "J0001", grating="G395M", snr=3.0)],
    )
    t = cf.query_spectra(max_snr_range=(5, None))
    assert list(t["spectrum_id"]) == ["s_prism"]
    for col in ("spectrum_id", "target_id", "object_id", "grating", "fits_path",
                "signal_to_noise", "exposure_time", "reduction_version", "redshift_auto",
                "dq_flags", "local_path"):  # fmt: skip
        assert col in t.colnames
    assert t["exposure_time"].unit == u.s and t["ra"].unit == u.deg
    assert float(t["redshift"][0]) == 6.0 and int(t["redshift_quality"][0]) == 4
    assert ids(cf.query_spectra(gratings=["g395m"]), "spectrum_id") == ["s_g395m"]


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fields": ["udss"]}, r"unknown field 'udss'.*'uds'"),
        ({"gratings": ["PRISIM"]}, r"unknown grating 'PRISIM'.*'PRISM'"),
        ({"observations": ["ember_uds_p5"]}, r"unknown observation.*'ember_uds_p4'"),
        ({"programs": ["EMBER-UD"]}, r"unknown program.*'EMBER-UDS'"),
        ({"programs": [9999]}, r"program 9999 is no program id"),
        ({"sort": "redshfit"}, r"cannot sort objects by 'redshfit'.*'redshift'"),
        ({"sort_dir": "up"}, r"sort_dir must be 'asc' or 'desc'"),
        ({"redshift_range": (5, 2)}, r"redshift_range \(5, 2\) is inverted"),
        ({"max_snr_range": (10, 1)}, r"max_snr_range \(10, 1\) is inverted"),
        ({"redshift_range": (1,)}, r"redshift_range must be a \(min, max\) pair"),
        ({"redshift_quality": ["secur"]}, r"unknown redshift quality 'secur'"),
        ({"sort": "distance"}, r"needs a cone_search"),
        ({"limit": -1}, r"limit must be an integer"),
        ({"inspected_only": "yes"}, r"inspected_only must be True, False or None"),
    ],
)
def test_bad_input_raises_validation_error_naming_the_fix(tmp_path, kwargs, message):
    cf = fill(tmp_path, [obj("J0001", 1, 1)], [spec("s1", "J0001")])
    with pytest.raises(ValidationError, match=message):
        cf.query_objects(**kwargs)


def test_programs_by_slug_case_insensitively_or_by_program_number(tmp_path):
    cf = fill(
        tmp_path,
        [obj("J0001", 1, 1, programs=["RUBIES-4233"]), obj("J0002", 1, 1)],
        [spec("s1", "J0001", program_slug="RUBIES-4233"), spec("s2", "J0002")],
    )
    assert ids(cf.query_objects(programs=["rubies-4233"])) == ["J0001"]
    assert ids(cf.query_objects(programs=[4233])) == ["J0001"]
    assert ids(cf.query_spectra(programs=["EMBER-UDS"]), "spectrum_id") == ["s2"]


def test_unknown_object_is_none_and_inactive_objects_are_hidden(tmp_path, monkeypatch):
    cf = fill(
        tmp_path,
        [obj("J0001", 1, 1), obj("J0002", 1, 1, is_active=False)],
        [spec("s1", "J0001"), spec("s2", "J0002")],
    )
    assert cf.get_object("J9999") is None and cf.get_object("J0002") is None
    assert ids(cf.query_objects()) == ["J0001"]
    assert ids(cf.query_spectra(), "spectrum_id") == ["s1"]
    assert cf.get_spectrum("nope") is None
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    with pytest.raises(NotFoundError, match="CAMPFIRE_OFFLINE"):
        Campfire(data_dir=tmp_path).open_spectrum("nope")


# -- the snapshot --------------------------------------------------------------------------------


def test_queries_follow_store_changes_and_new_processes_reuse_the_snapshot(tmp_path):
    cf = fill(tmp_path, [obj("J0001", 1, 1)], [spec("s1", "J0001")])
    assert ids(cf.query_objects()) == ["J0001"]
    with Store(tmp_path / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("objects", [obj("J0002", 2, 2, redshift_auto=1.5)], STAMP)
        store.bump("catalog_version")
    assert ids(cf.query_objects()) == ["J0001", "J0002"]  # same client sees the sync
    with Store(tmp_path / "meta" / "campfire.db") as store, store.transaction():
        store.record_download("s1", "ember_uds_p4/s1_spec.fits", "sha256:" + "0" * 64, 100, 0.0)
        store.bump("files_version")
    assert list(cf.query_spectra()["local_path"]) == ["ember_uds_p4/s1_spec.fits"]
    snaps = sorted(p.name for p in (tmp_path / "meta" / "snapshot").glob("catalog-*.duckdb"))
    assert snaps == ["catalog-c2-f1.duckdb"]  # old versions are cleaned up
    fresh = Campfire(data_dir=tmp_path)  # a new process: attaches the snapshot file
    assert ids(fresh.query_objects(redshift_range=(1, 2))) == ["J0002"]
    tables = fresh.reader.catalog._files
    assert tables.path == tmp_path / "meta" / "snapshot" / snaps[0] and not tables.private
    assert list(fresh.query_spectra()["local_path"]) == ["ember_uds_p4/s1_spec.fits"]


def test_sql_reads_the_catalog_and_refuses_writes(tmp_path):
    cf = fill(tmp_path, [obj("J0001", 1, 1), obj("J0002", 1, 1, field="cosmos")],
              [spec("s1", "J0001")])  # fmt: skip
    t = cf.sql("SELECT field, count(*) AS n FROM objects GROUP BY field ORDER BY field")
    assert list(t["field"]) == ["cosmos", "uds"] and list(t["n"]) == [1, 1]
    assert list(cf.sql("SELECT spectrum_id FROM spectra WHERE dq_flags = 0")["spectrum_id"]) == [
        "s1"
    ]
    for bad in ("DROP TABLE objects", "SELECT 1; SELECT 2", "SELEC 1", "SELECT * FROM nope"):
        with pytest.raises(ValidationError):
            cf.sql(bad)
    assert len(cf.query_objects()) == 2  # still intact


def test_no_duckdb_extension_is_installed_or_loaded_at_run_time(tmp_path):
    cf = fill(tmp_path, [obj("J0001", 1, 1)], [spec("s1", "J0001")])
    cf.query_objects(cone_search=(1, 1, 10))
    dynamic = cf.sql(
        "SELECT extension_name FROM duckdb_extensions() "
        "WHERE (loaded OR installed) AND install_mode <> 'STATICALLY_LINKED'"
    )
    assert len(dynamic) == 0
    assert math.isfinite(float(cf.query_objects()["ra"][0]))


def _plain(value):
    """A Table cell as iter_objects gives it: masked -> None, arrays -> lists, numpy -> Python."""
    if np.ma.is_masked(value):
        return None
    if isinstance(value, list | np.ndarray):
        return list(value)
    return value.item() if isinstance(value, np.generic) else value


def test_iterated_rows_carry_their_lists_and_equal_the_table_rows(tmp_path):
    # list columns stream as ';'-joined text and are split back: empty, one and several items
    objects = [
        obj("J0001", 1, 1, gratings=[], programs=[], lists=[]),
        obj("J0002", 1, 2, gratings=["PRISM"], lists=["lrd"]),
        obj("J0003", 1, 3, gratings=["G140M", "G395M", "PRISM"], lists=["blagn", "qg"],
            member_target_ids=["ember_uds_p4_0003", "ember_uds_p5_0003"]),
    ]  # fmt: skip
    tags = [{"slug": s, "name": s.upper(), "id": i} for i, s in enumerate(["lrd", "blagn", "qg"])]
    spectra = [spec("s1", "J0002"), spec("s2", "J0003", grating="G395M")]
    cf = fill(tmp_path, objects, spectra, tags)
    rows = {r["object_id"]: r for r in cf.iter_objects()}
    assert [rows[o]["gratings"] for o in ("J0001", "J0002", "J0003")] == [
        [], ["PRISM"], ["G140M", "G395M", "PRISM"]
    ]  # fmt: skip
    assert [rows[o]["tags"] for o in ("J0001", "J0002", "J0003")] == [[], ["lrd"], ["blagn", "qg"]]
    assert rows["J0001"]["programs"] == [] and rows["J0002"]["programs"] == ["EMBER-UDS"]
    assert rows["J0003"]["member_target_ids"] == ["ember_uds_p4_0003", "ember_uds_p5_0003"]
    table = cf.query_objects()
    assert sorted(rows) == sorted(table["object_id"])
    for trow in table:
        row = rows[trow["object_id"]]
        assert set(row) == set(table.colnames)
        for name in table.colnames:
            expect = _plain(trow[name])
            same = row[name] == expect or (expect != expect and row[name] != row[name])  # NaN
            assert same, (trow["object_id"], name, row[name], expect)
    by_id = {r["spectrum_id"]: r for r in cf.iter_spectra()}
    assert set(by_id["s2"]) == set(cf.query_spectra().colnames)
    assert (by_id["s1"]["object_id"], by_id["s2"]["grating"]) == ("J0002", "G395M")
