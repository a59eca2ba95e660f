"""Cone searches are index range scans on both catalog backends (#12, migration 0005).

The server's own cone filter (``object_filter`` with ``ra``, ``dec``, ``radius``) runs over
20,000 objects; the plan (``EXPLAIN`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite) must use
``idx_objects_dec_ra`` and never scan the table, and the rows found must be exactly those
astropy's separation puts inside the cone.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from starlette.datastructures import QueryParams

from campfire.server.catalog.filters import object_filter
from campfire.server.http.replies import Params
from campfire.server.storage.database import Database

N = 20_000
RA0, DEC0 = 150.1, 2.2


@pytest.fixture(scope="module")
def sky_db(backend, tmp_path_factory):
    url = backend.database("cone") or tmp_path_factory.mktemp("cone") / "archive.db"
    db = Database(url)
    rng = np.random.default_rng(7)
    ra = RA0 + rng.uniform(-1.0, 1.0, N)
    dec = DEC0 + rng.uniform(-1.0, 1.0, N)
    rows = [
        (f"obj-{i:05d}", float(ra[i]), float(dec[i]), "P", "2026-01-01", "2026-01-01")
        for i in range(N)
    ]
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO objects (object_id, ra, dec, programs_key, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.conn().execute("ANALYZE")
    yield db, ra, dec
    db.close()


def _cone_sql(radius_arcsec: float) -> tuple[str, list[object]]:
    q = QueryParams(f"ra={RA0}&dec={DEC0}&radius={radius_arcsec}")
    f = object_filter(Params(q), {"P"}, ["P"])
    return f"SELECT o.object_id FROM objects o WHERE {f.sql()}", f.args


def test_the_cone_filter_walks_the_declination_index(sky_db):
    db, _, _ = sky_db
    sql, args = _cone_sql(60.0)
    conn = db.conn()
    if db.path is None:
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, args))
        assert "idx_objects_dec_ra" in plan, plan
        assert "Seq Scan on objects" not in plan, plan
    else:
        plan = "\n".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert "idx_objects_dec_ra" in plan, plan
        assert "SCAN o\n" not in plan + "\n" and not plan.startswith("SCAN"), plan


@pytest.mark.parametrize("radius", [5.0, 60.0, 300.0])
def test_the_cone_finds_exactly_what_astropy_puts_inside(sky_db, radius):
    db, ra, dec = sky_db
    sql, args = _cone_sql(radius)
    got = {r[0] for r in db.conn().execute(sql, args)}
    sep = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(RA0 * u.deg, DEC0 * u.deg))
    inside = np.flatnonzero(sep.arcsec <= radius)
    assert got == {f"obj-{i:05d}" for i in inside}
    assert radius < 60 or len(got) > 0  # the larger cones are not vacuous
