"""ObjectBrowser at the trait level: paging, sorting, filtering, selection, SQL, payloads.

Expected rows come from the plain Python rows the catalog was written from (sorted and filtered
by hand), and cone searches from astropy's separations.
"""

from __future__ import annotations

import json

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from widget_comm import attach_comm, frontend_message

from campfire import Campfire
from campfire.errors import NotFoundError, ValidationError
from campfire.views.widgets.object_browser import DEFAULT_COLUMNS, inline_sql
from campfire.widgets import ObjectBrowser


def by(rows, key, reverse=False):
    """Sort like the table: by key (None last in either direction), then object_id."""
    present = sorted((r for r in rows if r[key] is not None), key=lambda r: r["object_id"])
    present.sort(key=lambda r: r[key], reverse=reverse)
    missing = sorted((r for r in rows if r[key] is None), key=lambda r: r["object_id"])
    return [r["object_id"] for r in present + missing]


def test_first_page_is_in_the_state_and_pages_follow_the_sorted_catalog(cf200):
    cf, rows = cf200
    b = ObjectBrowser(cf, page_size=20)
    expected = sorted(r["object_id"] for r in rows)
    assert b.total == 200
    assert [r["object_id"] for r in b.rows] == expected[:20]  # on screen with no round trip
    assert list(b.rows[0]) == DEFAULT_COLUMNS
    assert [r["object_id"] for r in b.page(40)] == expected[40:60]
    assert [r["object_id"] for r in b.page(190, 50)] == expected[190:]
    assert b.page(400) == []
    first = next(r for r in rows if r["object_id"] == expected[0])
    assert b.rows[0]["ra"] == pytest.approx(first["ra"])
    assert b.rows[0]["redshift"] == first["redshift"]
    assert sorted(b.rows[0]["gratings"]) == first["gratings"]


def test_page_requests_are_answered_by_custom_messages(cf200):
    cf, rows = cf200
    b = ObjectBrowser(cf, page_size=10)
    rec = attach_comm(b)
    frontend_message(b, {"type": "page", "offset": 30, "limit": 10, "seq": 7})
    (reply,) = rec.custom()
    expected = sorted(r["object_id"] for r in rows)[30:40]
    assert reply["type"] == "page" and reply["seq"] == 7 and reply["offset"] == 30
    assert reply["query_id"] == b.query_id
    assert [r["object_id"] for r in reply["rows"]] == expected
    # only the page travels: a page of 10 rows is a few KB whatever the catalog size
    assert len(json.dumps(reply)) < 4000
    frontend_message(b, {"type": "page", "offset": -5, "seq": 8})
    assert rec.custom()[-1]["rows"][0]["object_id"] == sorted(r["object_id"] for r in rows)[0]
    frontend_message(b, {"type": "page", "offset": "abc", "seq": 9})
    err = rec.custom()[-1]
    assert err["type"] == "error" and err["seq"] == 9 and "abc" in err["message"]


@pytest.mark.parametrize(
    ("key", "reverse"), [("redshift", True), ("max_snr", False), ("dec", True)]
)
def test_sort_by_any_column_nulls_last(cf200, key, reverse):
    cf, rows = cf200
    b = ObjectBrowser(cf, page_size=200, columns=["object_id", key])
    b.sort, b.sort_dir = key, "desc" if reverse else "asc"
    assert [r["object_id"] for r in b.rows] == by(rows, key, reverse)
    assert 'ORDER BY "' + key + '" ' + ("DESC" if reverse else "ASC") in b.sql


def test_sort_by_a_list_column_and_a_bad_sort_keeps_the_table(cf200):
    cf, _ = cf200
    b = ObjectBrowser(cf, page_size=5)
    b.sort = "gratings"
    assert b.error == ""
    assert b.rows[0]["gratings"] == ["G140M"]  # lists sort element by element
    before = list(b.rows)
    b.sort = "colour"
    assert "cannot sort by 'colour'" in b.error and b.rows == before


def test_filters_match_a_hand_selection(cf200):
    cf, rows = cf200
    b = ObjectBrowser(cf, page_size=200)
    b.filters = {
        "fields": ["uds", "egs"],
        "redshift_range": [2.0, 8.0],
        "redshift_quality": [2, 3, 4],
        "max_snr_range": [5.0, None],
    }
    want = sorted(
        r["object_id"]
        for r in rows
        if r["field"] in ("uds", "egs")
        and r["redshift"] is not None
        and 2.0 <= r["redshift"] <= 8.0
        and r["redshift_quality"] in (2, 3, 4)
        and r["max_snr"] >= 5.0
    )
    assert b.error == ""
    assert 10 < len(want) == b.total
    assert [r["object_id"] for r in b.rows] == want
    assert [str(o) for o in b.to_table()["object_id"]] == want


def test_tags_programs_gratings_and_text_search(cf200):
    cf, rows = cf200
    b = ObjectBrowser(cf, page_size=200, tags=["lrd"], gratings=["g395m"])
    want = sorted(r["object_id"] for r in rows if "lrd" in r["lists"] and "G395M" in r["gratings"])
    assert [r["object_id"] for r in b.rows] == want and want
    b.filters = {"programs": ["CAPERS"], "search": "j0012"}
    want = sorted(
        r["object_id"]
        for r in rows
        if r["programs"] == ["CAPERS"] and "j0012" in r["object_id"].lower()
    )
    assert [r["object_id"] for r in b.rows] == want and want


def test_cone_search_matches_astropy_and_can_sort_by_distance(cf200):
    cf, rows = cf200
    centre = SkyCoord(34.40 * u.deg, -5.20 * u.deg)
    radius = 300.0
    sep = {
        r["object_id"]: SkyCoord(r["ra"] * u.deg, r["dec"] * u.deg).separation(centre).arcsec
        for r in rows
    }
    want = sorted((o for o, s in sep.items() if s <= radius), key=lambda o: sep[o])
    b = ObjectBrowser(cf, page_size=200, columns=[*DEFAULT_COLUMNS, "distance"])
    b.filters = {"cone_search": [34.40, -5.20, radius]}
    b.sort = "distance"
    assert [r["object_id"] for r in b.rows] == want and len(want) > 3
    for r in b.rows:
        assert r["distance"] == pytest.approx(sep[r["object_id"]], abs=1e-3)


def test_bad_filters_say_what_is_wrong_and_lose_nothing(cf200):
    cf, _ = cf200
    b = ObjectBrowser(cf, page_size=5, fields=["uds"])
    before, total, query = list(b.rows), b.total, b.query_id
    bad = {"fields": ["udss"], "redshift_range": [2, 4]}
    b.filters = bad
    assert "unknown field 'udss'" in b.error and "did you mean 'uds'" in b.error
    assert b.filters == bad  # what was typed is kept for fixing
    assert (b.rows, b.total, b.query_id) == (before, total, query)  # the last good table stays
    b.filters = {"redshift_range": [5, 2]}
    assert "inverted" in b.error
    b.filters = {"cone_search": [34.4, -5.2]}
    assert "cone_search" in b.error
    b.filters = {"fields": ["uds"], "redshift_range": [2, 4]}
    assert b.error == "" and b.query_id == query + 1
    with pytest.raises(ValidationError, match="unknown field"):
        b.set_filters(fields=["nowhere"])
    with pytest.raises(TypeError, match="unknown filter"):
        b.set_filters(colour="red")


def test_columns_shown_and_hidden(cf200):
    cf, _ = cf200
    b = ObjectBrowser(cf, page_size=3, columns=["redshift", "tags"])
    assert b.columns == ["object_id", "redshift", "tags"]  # the id is always shown
    assert all(set(r) == {"object_id", "redshift", "tags"} for r in b.rows)
    b.columns = ["object_id", "photo_z", "has_photometry"]
    assert set(b.rows[0]) == {"object_id", "photo_z", "has_photometry"}
    with pytest.raises(ValidationError, match="unknown column"):
        b.columns = ["object_id", "colour"]
    assert set(b.all_columns) >= {"max_exposure_time", "member_target_ids", "staleness_reason"}


def test_sql_runs_in_cf_sql_to_the_same_rows(cf200):
    cf, _ = cf200
    b = ObjectBrowser(cf, tags=["hae"], redshift_range=(1, 9), sort="max_snr", sort_dir="desc")
    table = cf.sql(b.sql)
    assert [str(o) for o in table["object_id"]] == [str(o) for o in b.to_table()["object_id"]]
    assert len(table) == b.total > 0
    assert "list_contains(tags, 'hae')" in b.sql and "$" not in b.sql
    assert inline_sql("a = $x OR b = $xy", {"x": [1, "o'k"], "xy": None}) == (
        "a = [1, 'o''k'] OR b = NULL"
    )


def test_selection_step_and_position(cf200):
    cf, rows = cf200
    b = ObjectBrowser(cf, page_size=10, sort="redshift", sort_dir="desc")
    order = by(rows, "redshift", reverse=True)
    b.selected = order[41]
    assert b.position(order[41]) == 41
    assert b.step(1) == order[42] == b.selected
    assert b.step(-5) == order[37]
    assert b.step(-1000) == order[0]
    rec = attach_comm(b)
    frontend_message(b, {"type": "step", "delta": 2, "seq": 1})
    assert rec.custom()[-1]["selected"] == order[2] == b.selected
    assert b.position("nope") is None


def test_state_does_not_grow_with_the_catalog(tmp_path):
    from catalog_data import fill_catalog

    sizes = {}
    for n in (100, 2000):
        root = tmp_path / str(n)
        fill_catalog(root, n, seed=5)
        b = ObjectBrowser(Campfire(data_dir=root), page_size=25)
        sizes[n] = len(json.dumps(b.get_state(), default=str))
        assert b.total == n
    assert abs(sizes[2000] - sizes[100]) < 600  # ids and numbers differ in length, not count


def test_the_table_follows_a_sync_that_changes_the_catalog(cf200, tmp_path):
    from catalog_data import STAMP, make_rows

    from campfire.catalog.store import Store

    cf, _ = cf200
    b = ObjectBrowser(cf, page_size=5, sort="object_id", sort_dir="desc")
    new, _ = make_rows(1, seed=9)
    new[0]["object_id"], new[0]["id"] = "J99999", 99999
    with Store(tmp_path / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("objects", new, STAMP)
        store.bump("catalog_version")
    assert b.page(0)[0]["object_id"] == "J99999"
    assert b.total == 201


def test_errors_without_a_catalog_and_with_unknown_settings(tmp_path, cf200):
    with pytest.raises(NotFoundError, match=r"cf\.sync\(\)"):
        ObjectBrowser(Campfire(data_dir=tmp_path / "empty"))
    cf, _ = cf200
    with pytest.raises(TypeError, match="unknown filter"):
        ObjectBrowser(cf, colour="red")
    with pytest.raises(ValidationError, match="page_size"):
        ObjectBrowser(cf, page_size=0)
    with pytest.raises(ValidationError, match="unknown field"):
        ObjectBrowser(cf, fields=["mars"])


def test_static_picture_is_an_html_table_of_the_page(cf200):
    cf, rows = cf200
    b = ObjectBrowser(cf, page_size=4)
    data, _ = b._repr_mimebundle_()
    html = data["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert html.count("<tr>") == 5 and "rows 1-4 of 200" in html
    first = sorted(rows, key=lambda r: r["object_id"])[0]
    assert first["object_id"] in html
    assert f"{first['ra']:.4f}" in html
