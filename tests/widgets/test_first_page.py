"""Issue #14: a fresh kernel's Explorer shows its first rows from the opening page kept beside
the catalog, imports neither numpy nor DuckDB for them, and builds its table after.

Expected rows come from a browser that queried DuckDB itself (the kept page is deleted first),
and from the catalog's rows sorted in Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from catalog_data import STAMP, make_rows
from test_object_browser import by

from campfire.catalog.store import Store
from campfire.views.widgets import first_page
from campfire.views.widgets.first_page import KEPT, load_page, page_key, save_page
from campfire.widgets import ObjectBrowser

ROOT = Path(__file__).resolve().parents[2]


def kept_file(cf) -> Path:
    return cf.settings.db_path.parent / "explorer-pages.json"


def test_a_second_browser_opens_on_the_kept_page_and_then_queries(cf200, monkeypatch):
    cf, rows = cf200
    monkeypatch.setattr(first_page, "WARM_AFTER", 60.0)  # the table waits to be needed
    first = ObjectBrowser(cf, page_size=7, sort="redshift", sort_dir="desc")
    assert kept_file(cf).is_file()
    again = ObjectBrowser(cf, page_size=7, sort="redshift", sort_dir="desc")
    assert again.opened_from == "kept" and again._warm is not None  # the table comes later
    assert again.rows == first.rows and again.total == first.total == len(rows)
    assert again.vocab == first.vocab and again.sql == first.sql
    want = by(rows, "redshift", reverse=True)
    # before the table is built, the opening page answers what it holds
    assert again._warm.thread.ident is None and again._table is None
    assert [r["object_id"] for r in again.page(2, 4)] == want[2:6]
    assert again.position(want[5]) == 5 and again._table is None
    # the table it builds after agrees with the catalog
    assert [r["object_id"] for r in again.page(0, 50)] == want[:50]
    assert again.position(want[3]) == 3
    again.sort_dir = "asc"  # later queries run as before
    assert [r["object_id"] for r in again.rows] == by(rows, "redshift")[:7]


def test_a_changed_catalog_or_query_does_not_use_the_kept_page(cf200, tmp_path):
    cf, _ = cf200
    ObjectBrowser(cf, page_size=5, sort="object_id", sort_dir="desc")
    other = ObjectBrowser(cf, page_size=6, sort="object_id", sort_dir="desc")
    assert other.opened_from == "duckdb" and len(other.rows) == 6  # another query: queried
    new, _ = make_rows(1, seed=9)
    new[0]["object_id"], new[0]["id"] = "J99999", 99999
    with Store(tmp_path / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("objects", new, STAMP)
        store.bump("catalog_version")
    after = ObjectBrowser(cf, page_size=5, sort="object_id", sort_dir="desc")
    assert after.opened_from == "duckdb"
    assert after.rows[0]["object_id"] == "J99999" and after.total == 201


def test_without_a_kept_page_the_first_page_comes_from_duckdb_without_the_table(cf200):
    cf, rows = cf200
    kept_file(cf).unlink(missing_ok=True)
    b = ObjectBrowser(cf, page_size=9, sort="redshift", sort_dir="asc", redshift_range=(1, 6))
    assert b.opened_from == "duckdb" and b._table is None
    want = [r for r in rows if r["redshift"] is not None and 1 <= r["redshift"] <= 6]
    assert b.total == len(want)
    # the rows equal those of the whole table (Arrow), which the browser builds after
    first = [dict(r) for r in b.rows]
    b._settle()
    assert b._table is not None and b.page(0, 9) == first
    assert [r["object_id"] for r in first] == by(want, "redshift")[:9]
    # and it was kept for the next kernel
    again = ObjectBrowser(cf, page_size=9, sort="redshift", sort_dir="asc", redshift_range=(1, 6))
    assert again.opened_from == "kept" and again.rows == first


def test_widget_only_filters_query_the_whole_table_first(cf200):
    cf, _ = cf200
    kept_file(cf).unlink(missing_ok=True)
    b = ObjectBrowser(cf, page_size=5, photo_z_range=(0, 100))
    assert b.opened_from == "query" and b._table is not None


def test_a_wrong_kept_page_is_corrected_by_the_query(cf200):
    cf, _ = cf200
    truth = ObjectBrowser(cf, page_size=4)
    data = json.loads(kept_file(cf).read_text())
    (key,) = data
    data[key]["rows"][0]["object_id"] = "J-not-there"
    kept_file(cf).write_text(json.dumps(data))
    b = ObjectBrowser(cf, page_size=4)
    b._settle()
    assert b.rows == truth.rows


def test_kept_pages_are_bounded_and_unreadable_files_ignored(tmp_path):
    for i in range(KEPT + 3):
        save_page(tmp_path, page_key(("1", "1"), {"i": i}), {"rows": [], "total": i, "vocab": {}})
    data = json.loads((tmp_path / "explorer-pages.json").read_text())
    assert len(data) == KEPT
    newest = page_key(("1", "1"), {"i": KEPT + 2})
    assert next(iter(data)) == newest and load_page(tmp_path, newest)["total"] == KEPT + 2
    assert load_page(tmp_path, page_key(("1", "1"), {"i": 0})) is None  # the oldest went
    (tmp_path / "explorer-pages.json").write_text("{not json")
    assert load_page(tmp_path, newest) is None
    save_page(tmp_path / "missing-dir", newest, {"rows": []})  # never raises


def test_the_first_cell_imports_neither_numpy_nor_duckdb():
    code = (
        "import sys\n"
        "from campfire import Campfire\n"
        "from campfire.widgets import Explorer\n"
        "heavy = {'numpy', 'duckdb', 'pyarrow', 'requests', 'astropy', 'pandas', 'matplotlib'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, timeout=120)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_the_table_behind_the_opening_page_is_built_on_its_own_shortly_after(cf200, monkeypatch):
    cf, rows = cf200
    ObjectBrowser(cf, page_size=3)  # keeps its opening page
    monkeypatch.setattr(first_page, "WARM_AFTER", 0.05)
    b = ObjectBrowser(cf, page_size=3)
    assert b.opened_from == "kept"
    thread = b._warm.thread
    for _ in range(600):  # started by its timer, nobody asking
        if thread.ident is not None:
            break
        time.sleep(0.05)
    thread.join(60)
    assert b._table is not None and b._table.num_rows == len(rows)
