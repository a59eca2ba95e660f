"""The reference's query vocabulary, locally and remotely (#15 items 2, 3 and 9).

Program ids (``programs=[1]``, "Program IDs or slugs"), ``query_spectra(search=...)`` finding
an object's spectra by the object's name as ``query_objects`` does, and cone searches given as
sexagesimal strings, ``SkyCoord`` and angle ``Quantity``s. Expected rows come from the server's
own database or from the same query written in degrees and slugs.
"""

from __future__ import annotations

import sqlite3

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord

from campfire import Campfire
from campfire.errors import ValidationError

HERO_NAME_SEXAGESIMAL = "02:17:40.53 -05:12:28.2"


def archive_db(server):
    return sqlite3.connect(server.archive_dir / "archive.db")


@pytest.fixture
def cf(server, helpers, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(server, "alice"))
    client = Campfire()
    client.sync()
    return client


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
def test_programs_take_the_ids_get_programs_shows(server, cf, remote):
    with archive_db(server) as db:
        expected = dict(db.execute("SELECT rowid, slug FROM programs").fetchall())
    table = cf.get_programs(remote=remote)
    assert dict(zip(table["id"].tolist(), table["slug"].tolist(), strict=True)) == expected
    for pid, slug in expected.items():
        by_id = cf.query_objects(programs=[pid], remote=remote)
        by_slug = cf.query_objects(programs=[slug], remote=remote)
        assert len(by_id) > 0
        assert by_id["object_id"].tolist() == by_slug["object_id"].tolist()
        spectra = cf.query_spectra(programs=[pid], remote=remote)
        assert set(spectra["program_slug"]) == {slug}
    missing = max(expected) + 1
    with pytest.raises(ValidationError, match=rf"program {missing} is no program id.*1 \("):
        cf.query_objects(programs=[missing], remote=remote)


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
def test_query_spectra_search_finds_an_objects_spectra_by_its_name(server, cf, remote):
    with archive_db(server) as db:
        name, *_ = db.execute(
            "SELECT o.object_id FROM objects o JOIN spectra s ON s.object_pk = o.id "
            "GROUP BY o.id HAVING count(*) >= 2 ORDER BY o.object_id LIMIT 1"
        ).fetchone()
        expected = sorted(
            r[0]
            for r in db.execute(
                "SELECT s.spectrum_id FROM spectra s JOIN objects o ON o.id = s.object_pk "
                "WHERE o.object_id = ?",
                (name,),
            )
        )
    assert len(cf.query_objects(search=name, remote=remote)) == 1
    found = cf.query_spectra(search=name, remote=remote)
    assert sorted(found["spectrum_id"]) == expected
    assert set(found["object_id"]) == {name}
    # a part of the name matches too, as for objects (case-insensitively)
    part = cf.query_spectra(search=name[:8].lower(), remote=remote)
    assert set(expected) <= set(part["spectrum_id"])


def _degrees(text: str) -> tuple[float, float]:
    """Sexagesimal hours and degrees by hand (the independent reference)."""
    ra_s, dec_s = text.split()
    h, m, s = (float(x) for x in ra_s.split(":"))
    sign = -1.0 if dec_s.startswith("-") else 1.0
    d, dm, ds = (abs(float(x)) for x in dec_s.split(":"))
    return 15.0 * (h + m / 60 + s / 3600), sign * (d + dm / 60 + ds / 3600)


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
def test_cone_search_takes_sexagesimal_skycoord_and_quantities(cf, remote):
    ra, dec = _degrees(HERO_NAME_SEXAGESIMAL)
    expected = cf.query_objects(cone_search=(ra, dec, 60.0), remote=remote)
    assert len(expected) >= 2  # the hero and its neighbours
    ra_text, dec_text = HERO_NAME_SEXAGESIMAL.split()
    forms = [
        (HERO_NAME_SEXAGESIMAL, 60.0),
        ("2h17m40.53s -5d12m28.2s", 60 * u.arcsec),
        (SkyCoord(ra * u.deg, dec * u.deg), 1 * u.arcmin),
        (ra_text, dec_text, 60.0),
        (ra * u.deg, dec * u.deg, 60 * u.arcsec),
        (f"{ra} {dec}", 60.0),
    ]
    for form in forms:
        got = cf.query_objects(cone_search=form, remote=remote)
        assert got["object_id"].tolist() == expected["object_id"].tolist(), form
        assert got["distance"].tolist() == pytest.approx(expected["distance"].tolist(), abs=1e-6)


def test_cone_search_errors_say_what_is_accepted(cf):
    for bad in [("02:17:40.53 -05:12:28.2",), (SkyCoord(1 * u.deg, 2 * u.deg), 3 * u.kg),
                ("not a place", 3.0), (True, 2.0, 3.0)]:  # fmt: skip
        with pytest.raises(ValidationError, match="SkyCoord"):
            cf.query_objects(cone_search=bad)
