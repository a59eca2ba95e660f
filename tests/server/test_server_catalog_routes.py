"""/version, /metadata, /observations, /objects, /spectra/list against the real server."""

from __future__ import annotations

import math

import pytest
import requests
from server_products import ALPHA, ARCSEC, BETA, DEC0, RA0, api_get

SHARED = "J021736.00-051200.0"  # alpha_uds_p1_1 + beta_uds_p1_7 (0.1" apart)

DATA_ROUTES = {
    "/objects": "Invalid or missing API key",
    "/spectra/list": "Invalid or missing API key",
    "/metadata": "Invalid or missing authentication",
    "/observations": "Invalid or missing authentication",
    "/sync/objects": "Invalid or missing authentication",
    "/sync/spectra": "Invalid or missing authentication",
    "/sync/photometry": "Invalid or missing authentication",
    "/sync/lists": "Invalid or missing authentication",
    "/observations/alpha_uds_p1/manifest": "Invalid or missing authentication",
    "/spectrum": "Invalid or missing API key",
    "/redshift-fit": "Invalid or missing API key",
    "/cutout": "Invalid or missing API key",
    "/shutters": "Invalid or missing API key",
    "/spectra": "Invalid or missing API key",
}


def test_version_needs_no_auth_and_lists_extensions(server):
    r = requests.get(server.base_url + "/version", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["server"] == "campfire" and body["max_sync_limit"] == 10000
    assert {"sync-deletions", "sync-gzip", "redshift-fit-spectrum-id"} <= set(body["extensions"])
    assert "max-age=3600" in r.headers["cache-control"]


@pytest.mark.parametrize("path", sorted(DATA_ROUTES))
@pytest.mark.parametrize(
    "header",
    [None, "Bearer sk_live_" + "0" * 64, "bearer " + "x", "Token abc", "Bearer not-a-jwt"],
)
def test_every_data_route_answers_401_with_its_message(server, path, header):
    headers = {"Authorization": header} if header else {}
    r = requests.get(server.base_url + path, headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.json() == {"error": DATA_ROUTES[path]}


def test_unknown_route_has_json_404(server):
    r = requests.get(server.base_url + "/nope", timeout=10)
    assert r.status_code == 404 and "error" in r.json()


def test_metadata_is_filtered_by_access(server):
    full = api_get(server, "/metadata").json()
    pub = api_get(server, "/metadata", "public").json()
    assert [p["slug"] for p in full["programs"]] == ["ALPHA-UDS", "BETA-UDS"]
    db = server.app.state.archive.db.conn()  # SQLite or PostgreSQL: the server's own database
    (beta_id,) = db.execute("SELECT rowid FROM programs WHERE slug = 'BETA-UDS'").fetchone()
    assert full["programs"][1] == {
        "id": beta_id,  # the program's integer id (#15: programs=[id])
        "slug": "BETA-UDS",
        "program_name": "BETA-UDS survey",
        "pi_name": "A. Astronomer",
        "is_public": False,
    }
    assert full["gratings"] == ["G140M", "G395M", "PRISM"]
    assert [p["slug"] for p in pub["programs"]] == ["ALPHA-UDS"]
    # the private program's observation and its only G140M spectrum do not leak
    assert pub["observations"] == ["alpha_uds_p1"] and pub["gratings"] == ["G395M", "PRISM"]


def test_admin_gets_no_implicit_access(server):
    body = api_get(server, "/metadata", "admin").json()
    assert [p["slug"] for p in body["programs"]] == ["ALPHA-UDS"]


def test_observations_rows(server):
    rows = api_get(server, "/observations").json()["observations"]
    assert [r["observation"] for r in rows] == ["alpha_uds_p1", "beta_uds_p1"]
    a = rows[0]
    assert (a["target_count"], a["spectrum_count"]) == (4, 5)
    assert a["crds_context"] == "jwst_1293.pmap" and a["pointings"][0]["n_dithers"] == 3
    assert a["total_size_bytes"] == sum(
        s["file_size"]
        for s in api_get(server, "/sync/spectra").json()["data"]
        if s["observation"] == "alpha_uds_p1"
    )
    assert [
        r["observation"] for r in api_get(server, "/observations", "public").json()["observations"]
    ] == ["alpha_uds_p1"]


def test_objects_access_and_shared_object(server):
    full = api_get(server, "/objects").json()
    pub = api_get(server, "/objects", "public").json()
    assert full["pagination"]["total"] == 6
    assert pub["pagination"]["total"] == 4  # alpha's 4 objects, including the shared one
    shared = next(o for o in pub["data"] if o["object_id"] == SHARED)
    # the public user sees alpha's target and its two spectra, nothing of beta's (#12 item 5)
    assert shared["n_targets"] == 1 and shared["programs"] == ["ALPHA-UDS"]
    assert (shared["n_spectra"], shared["gratings"]) == (2, ["G395M", "PRISM"])
    assert shared["max_snr"] == pytest.approx(8.0)  # alpha's g395m (scale 2), not beta's 12
    assert [t["target_id"] for t in shared["member_targets"]] == ["alpha_uds_p1_1"]
    full_shared = next(o for o in full["data"] if o["object_id"] == SHARED)
    assert [t["target_id"] for t in full_shared["member_targets"]] == [
        "alpha_uds_p1_1",
        "beta_uds_p1_7",
    ]
    # S/N = fnu/err = (2 * scale) / 0.5 on valid pixels; the best spectrum is beta's (scale 3)
    assert full_shared["max_snr"] == pytest.approx(12.0)
    assert (full_shared["n_targets"], full_shared["n_spectra"]) == (2, 3)
    assert full_shared["programs"] == ["ALPHA-UDS", "BETA-UDS"]
    assert full_shared["redshift_auto"] != shared["redshift_auto"]  # beta's best fit, then alpha's
    # inspected: redshift = inspected value; quality 4; tags lrd + blagn as dicts sorted by name
    assert (full_shared["redshift"], full_shared["redshift_quality"]) == (3.52, 4)
    assert [lst["slug"] for lst in full_shared["lists"]] == ["blagn", "lrd"]
    keys = set(full["data"][0])
    assert all(set(o) == keys for o in full["data"])  # same key set in every row


def test_objects_pagination_is_stable_and_complete(server):
    seen = []
    for offset in range(0, 6, 4):
        page = api_get(server, "/objects", limit=4, offset=offset).json()
        assert page["pagination"] == {"total": 6, "limit": 4, "offset": offset}
        seen += [o["object_id"] for o in page["data"]]
    assert seen == sorted(seen) and len(set(seen)) == 6


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"redshift_min": 3, "redshift_max": 7}, {SHARED, "J021736.66-051150.0"}),
        ({"search": "beta_uds_p1_8"}, {"J021734.66-051200.0"}),
        ({"search": "j021736.00"}, {SHARED, "J021736.00-051155.0"}),
        ({"lists": "lrd"}, {SHARED}),
        ({"lists": "no-such-list"}, set()),
        ({"inspected_only": "true"}, {SHARED}),
        ({"has_photometry": "true"}, {SHARED}),
        ({"gratings": "G140M"}, {"J021734.66-051220.0"}),
        ({"gratings": "PRISM,G395M", "gratings_mode": "all"}, {SHARED}),
        ({"programs": "BETA-UDS"}, {SHARED, "J021734.66-051200.0", "J021734.66-051220.0"}),
        ({"programs": "NOPE"}, set()),
        (
            {"observations": "beta_uds_p1", "fields": "uds"},
            {SHARED, "J021734.66-051200.0", "J021734.66-051220.0"},
        ),
        ({"search": "%"}, set()),  # literal, not a wildcard
    ],
)
def test_object_filters(server, params, expected):
    body = api_get(server, "/objects", **params).json()
    assert {o["object_id"] for o in body["data"]} == expected
    assert body["pagination"]["total"] == len(expected)


def test_cone_search_distance_in_degrees_sorted(server):
    body = api_get(server, "/objects", ra=RA0, dec=DEC0, radius=6).json()
    names = [o["object_id"] for o in body["data"]]
    # independent: a 5" RA offset is 5*cos(dec) = 4.98" on the sky, nearer than 5" in Dec
    assert names == [SHARED, "J021736.33-051200.0", "J021736.00-051155.0"]
    d = [o["distance"] for o in body["data"]]
    assert d[0] == pytest.approx(0.0, abs=1e-9)
    assert d[1] == pytest.approx(5 * math.cos(math.radians(DEC0)) / 3600, rel=1e-4)
    assert d[2] == pytest.approx(5 / 3600, rel=1e-6)
    assert api_get(server, "/objects").json()["data"][0]["distance"] is None


@pytest.mark.parametrize("radius", [6.0, 20.0, 3600.0])
def test_a_cone_pages_and_counts_as_a_brute_force_haversine(server, radius):
    """The total counted beside a cone's rows, each page of it, and a page past its end
    (counted apart), against a haversine over every object in numpy.
    """
    import numpy as np

    every = api_get(server, "/objects", limit=10000).json()["data"]
    ra, dec = np.radians([o["ra"] for o in every]), np.radians([o["dec"] for o in every])
    r0, d0 = math.radians(RA0), math.radians(DEC0)
    h = np.sin((dec - d0) / 2) ** 2 + np.cos(d0) * np.cos(dec) * np.sin((ra - r0) / 2) ** 2
    dist = np.degrees(2 * np.arcsin(np.sqrt(h)))
    inside = sorted((d, o["object_id"]) for d, o in zip(dist, every, strict=True)
                    if d <= radius / 3600)  # fmt: skip
    assert inside
    got = []
    for offset in range(0, len(inside) + 2, 2):
        body = api_get(server, "/objects", ra=RA0, dec=DEC0, radius=radius, limit=2,
                       offset=offset).json()  # fmt: skip
        assert body["pagination"]["total"] == len(inside), offset
        got += [(o["distance"], o["object_id"]) for o in body["data"]]
    assert [g[1] for g in got] == [i[1] for i in inside]
    assert [g[0] for g in got] == pytest.approx([i[0] for i in inside], abs=1e-9)


def test_object_sort_desc_nulls_last(server):
    data = api_get(server, "/objects", sort="redshift", sort_dir="desc").json()["data"]
    zs = [o["redshift"] for o in data]
    assert zs[-1] is None and zs[:-1] == sorted(zs[:-1], reverse=True)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"redshift_min": "abc"}, "redshift_min"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"ra": "1", "dec": "2", "radius": "-3"}, "radius"),
    ],
)
def test_bad_parameters_are_400_with_the_name(server, params, fragment):
    r = api_get(server, "/objects", **params)
    assert r.status_code == 400 and fragment in r.json()["error"]


def test_spectra_list_rows(server):
    body = api_get(server, "/spectra/list", "public").json()
    assert body["pagination"]["total"] == len(ALPHA["spectra"])
    row = next(r for r in body["data"] if r["spectrum_id"] == "alpha_uds_p1_prism_clear_1")
    assert row["object_id"] == row["parent_object_id"] == SHARED
    assert row["signal_to_noise"] == pytest.approx(4.0) and row["dq_flags"] == 0
    assert row["file_hash"].startswith("sha256:") and len(row["file_hash"]) == 71
    assert row["program_name"] == "ALPHA-UDS survey" and row["redshift"] == 3.52
    assert row["ra"] == pytest.approx(RA0) and row["thumbnail_svg_fnu"] is None
    assert row["max_snr"] == pytest.approx(8.0)  # target aggregate: its G395M has scale 2
    full = api_get(server, "/spectra/list").json()
    assert full["pagination"]["total"] == len(ALPHA["spectra"]) + len(BETA["spectra"])


@pytest.mark.parametrize(
    ("params", "n"),
    [
        ({"gratings": "G395M"}, 1),
        ({"search": "prism_clear_1"}, 1),
        ({"max_snr_min": 5}, 3),
        ({"dq_flags_include_any": 4}, 0),
        ({"dq_flags_exclude": 4}, 8),
        ({"redshift_quality": "4"}, 3),
        ({"ra": RA0, "dec": DEC0, "radius": 1}, 3),
        ({"observations": "alpha_uds_p1"}, 5),
    ],
)
def test_spectra_list_filters(server, params, n):
    assert api_get(server, "/spectra/list", **params).json()["pagination"]["total"] == n


def test_cone_search_near_target_position(server):
    body = api_get(server, "/spectra/list", ra=RA0 + 0.1 * ARCSEC, dec=DEC0, radius=0.05).json()
    assert [r["target_id"] for r in body["data"]] == ["beta_uds_p1_7"]
