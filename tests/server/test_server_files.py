"""Manifests, signed URLs (expiry, tampering, replay), Range, spectrum and zfit JSON, cutouts."""

from __future__ import annotations

import hashlib
import io
import time
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import numpy as np
import pytest
import requests
from astropy.io import fits
from PIL import Image
from server_products import api_get

from campfire.server.archive import Archive
from campfire.server.auth.users import revoke_program

ALPHA_FILE = "spectra/alpha_uds_p1/alpha_uds_p1_prism_clear_1_spec.fits"
BETA_FILE = "spectra/beta_uds_p1/beta_uds_p1_prism_clear_7_spec.fits"
SHARED = "J021736.00-051200.0"


def product(srv_or_root, fits_path):
    """The original product file for a storage key."""
    _, obs, name = fits_path.split("/")
    prog = "ALPHA-UDS" if obs.startswith("alpha") else "BETA-UDS"
    root = getattr(srv_or_root, "products", None) or srv_or_root
    return root / prog / obs / name


def signed(srv, path, user="full"):
    r = api_get(srv, "/spectra", user, path=path)
    assert r.status_code == 200, r.text
    return r.json()["url"]


def with_query(url, **changes):
    parts = urlparse(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q.update(changes)
    return urlunparse(parts._replace(query=urlencode(q)))


@pytest.fixture(scope="module")
def products_root(built):
    return built[0] / "products"


def test_manifest_urls_download_verified_bytes(server, products_root):
    body = api_get(server, "/observations/alpha_uds_p1/manifest").json()
    assert body["spectrum_count"] == len(body["spectra"]) == 5
    expires_at = time.mktime(time.strptime(body["url_expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(expires_at - time.mktime(time.gmtime()) - 6 * 3600) < 120
    assert body["url_expires_at"].endswith("Z") and len(body["url_expires_at"]) == 24
    for entry in body["spectra"]:
        assert set(entry) == {
            "spectra_id",
            "spectrum_id",
            "target_id",
            "grating",
            "fits_path",
            "file_hash",
            "file_size",
            "signal_to_noise",
            "reduction_version",
            "download_url",
        }
        q = parse_qs(urlparse(entry["download_url"]).query)
        assert abs(int(q["expires"][0]) - time.time() - 21600) < 120
        r = requests.get(entry["download_url"], timeout=10)  # no Authorization header
        original = product(products_root, entry["fits_path"]).read_bytes()
        assert r.content == original
        assert entry["file_hash"] == "sha256:" + hashlib.sha256(original).hexdigest()
        assert entry["file_size"] == len(original) == int(r.headers["content-length"])
        if server.app.state.archive.store.local_path(entry["fits_path"]) is not None:
            assert r.headers["etag"] == '"' + entry["file_hash"][7:] + '"'  # (S3's is its MD5)
        assert "content-encoding" not in r.headers  # never gzip a file


def test_spectra_signed_url_one_hour_and_redirect(server):
    url = signed(server, ALPHA_FILE)
    assert abs(int(parse_qs(urlparse(url).query)["expires"][0]) - time.time() - 3600) < 120
    r = api_get(server, "/spectra", path=ALPHA_FILE, redirect="true")
    assert r.history and r.history[0].status_code == 307 and r.status_code == 200
    assert r.content[:6] == b"SIMPLE"


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [({}, 400, "Missing path parameter"), ({"path": "spectra/nope.fits"}, 404, "File not found")],
)
def test_spectra_errors(server, params, status, message):
    r = api_get(server, "/spectra", **params)
    assert (r.status_code, r.json()) == (status, {"error": message})


def test_public_user_cannot_reach_private_files(server):
    r = api_get(server, "/spectra", "public", path=BETA_FILE)
    assert (r.status_code, r.json()["error"]) == (403, "Access denied to this file")
    assert api_get(server, "/observations/beta_uds_p1/manifest", "public").status_code == 404
    sid = "beta_uds_p1_prism_clear_7"
    assert api_get(server, "/spectrum", "public", spectrum_id=sid).status_code == 403
    assert api_get(server, "/redshift-fit", "public", spectrum_id=sid).status_code == 403
    assert api_get(server, "/spectrum", "public", path=BETA_FILE).status_code == 403
    # a guessed URL, and a genuine public URL edited to point at the private file
    guessed = server.base_url + "/files/" + BETA_FILE
    assert requests.get(guessed, timeout=10).status_code == 403
    public_url = signed(server, ALPHA_FILE, "public")
    edited = public_url.replace(ALPHA_FILE, BETA_FILE)
    assert requests.get(edited, timeout=10).status_code == 403
    assert requests.get(public_url, timeout=10).status_code == 200


def test_tampered_and_expired_urls_are_403(server):
    url = signed(server, ALPHA_FILE)
    sig = parse_qs(urlparse(url).query)["sig"][0]
    bad_sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    variants = [
        with_query(url, sig=bad_sig),
        with_query(url, expires=str(int(time.time()) + 99999)),
        with_query(url, uid="someone-else"),
        url.replace("prism_clear_1", "prism_clear_2"),
    ]
    for v in variants:
        r = requests.get(v, timeout=10)
        assert r.status_code == 403 and "signature" in r.json()["error"]
    signer = server.app.state.signer
    expired = signer.url(server.base_url, "GET", "/files/" + ALPHA_FILE, "x", ttl=-5)
    assert requests.get(expired, timeout=10).status_code == 403


def test_replayed_url_dies_with_the_grant(fresh):
    url = signed(fresh, BETA_FILE)
    assert requests.get(url, timeout=10).status_code == 200
    archive = Archive(fresh.archive_dir)
    try:
        revoke_program(archive, "full@example.org", "BETA-UDS")
    finally:
        archive.close()
    r = requests.get(url, timeout=10)
    assert (r.status_code, r.json()["error"]) == (403, "Access denied to this file")


@pytest.mark.local_files  # our Range, If-Range and ETag (S3 answers with its own)
def test_range_requests(server, products_root):
    url = signed(server, ALPHA_FILE)
    original = product(products_root, ALPHA_FILE).read_bytes()
    size = len(original)
    r = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert r.status_code == 206 and r.content == original[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{size}"
    assert r.headers["content-length"] == "100"
    r = requests.get(url, headers={"Range": "bytes=-50"}, timeout=10)
    assert r.status_code == 206 and r.content == original[-50:]
    r = requests.get(url, headers={"Range": f"bytes={size - 10}-"}, timeout=10)
    assert r.content == original[-10:]
    r = requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=10)
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    etag = requests.head(url, timeout=10).headers["etag"]
    r = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'}, timeout=10)
    assert r.status_code == 200 and r.content == original
    r = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}, timeout=10)
    assert r.status_code == 206 and r.content == original[:10]
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=10).status_code == 304
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.headers["content-length"] == str(size)
    assert head.content == b""


def test_spectrum_json_matches_the_fits_file(server, products_root):
    r = api_get(server, "/spectrum", spectrum_id="alpha_uds_p1_prism_clear_1")
    assert r.status_code == 200 and "max-age=86400" in r.headers["cache-control"]
    body = r.json()
    with fits.open(product(products_root, ALPHA_FILE)) as hdul:
        tab = hdul["SPEC1D"].data
        snr = hdul["SCI"].data / hdul["ERR"].data
        np.testing.assert_allclose(body["wave"], tab["wave"], rtol=1e-6)
        assert body["fnu"][:3] == [None, None, None]  # err=0, NaN flux, zero flux
        np.testing.assert_allclose(body["fnu"][3:], tab["fnu"][3:], rtol=1e-6)
        np.testing.assert_allclose(np.array(body["snr_2d"], dtype=float), snr, rtol=2e-3)
    assert (body["n_wave"], body["n_spatial"]) == (60, 7)
    assert len(body["profile"]) == len(body["profile_pix"]) == 7
    assert body["profile_pix"][0] == 0.5
    by_path = api_get(server, "/spectrum", path=ALPHA_FILE).json()
    assert by_path == body
    assert api_get(server, "/spectrum").status_code == 400
    assert api_get(server, "/spectrum", spectrum_id="nope").json() == {
        "error": "No spectrum found for nope"
    }


def test_redshift_fit_by_each_key(server):
    by_id = api_get(server, "/redshift-fit", spectrum_id="alpha_uds_p1_prism_clear_1").json()
    assert by_id["redshift"] == 3.5 and by_id["chi2_min"] == 1.25 and by_id["confidence"] == 0.95
    # chi2 = (z - zbest)^2 + chi2min on a 0..10 grid (how the fixture wrote it)
    z = np.asarray(by_id["z_grid"])
    np.testing.assert_allclose(by_id["chi2_grid"], (z - 3.5) ** 2 + 1.25, rtol=1e-6)
    by_target = api_get(server, "/redshift-fit", target_id="alpha_uds_p1_1", grating="PRISM")
    by_path = api_get(server, "/redshift-fit", path=ALPHA_FILE)
    assert by_target.json() == by_path.json() == by_id
    none = api_get(server, "/redshift-fit", spectrum_id="alpha_uds_p1_prism_clear_3")
    assert (none.status_code, none.json()["error"]) == (
        404,
        "Redshift fit data not available for this spectrum",
    )
    assert api_get(server, "/redshift-fit", target_id="x_1", grating="PRISM").status_code == 404
    assert api_get(server, "/redshift-fit").status_code == 400


def test_cutout_is_north_up_east_left(server):
    r = api_get(server, "/cutout", object_id=SHARED, fov=30, size=60)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = np.asarray(Image.open(io.BytesIO(r.content)))
    assert img.shape == (60, 60, 4)
    # 0.5"/px. Pixel (10, 10) is 9.75" north and 9.75" east: the tile's red east half and its
    # green northern quarter; (48, 48) is 9.25" south-west: blue only; (0, 0) is off the tile.
    assert tuple(img[10, 10]) == (255, 255, 0, 255)
    assert tuple(img[48, 48]) == (0, 0, 255, 255)
    assert img[0, 0, 3] == 0
    native = Image.open(io.BytesIO(api_get(server, "/cutout", object_id=SHARED).content))
    assert native.size == (50, 50)  # fov 5" at the tile's 0.1"/px


@pytest.mark.parametrize(
    ("params", "user", "status"),
    [
        ({}, "full", 400),
        ({"object_id": "J000000.00+000000.0"}, "full", 404),
        ({"object_id": "J021734.66-051200.0"}, "public", 403),
        ({"object_id": SHARED, "fov": "nan"}, "full", 400),
        ({"object_id": SHARED, "size": "big"}, "full", 400),
    ],
)
def test_cutout_errors(server, params, user, status):
    r = api_get(server, "/cutout", user, **params)
    assert r.status_code == status and "error" in r.json()


def test_shutters_box_and_access(server):
    body = api_get(server, "/shutters", object_id=SHARED, fov=100).json()
    assert body["meta"]["radius_arcsec"] == 30 and body["meta"]["center_ra"] == pytest.approx(34.4)
    obs = {s["observation"] for s in body["shutters"]}
    assert obs == {"alpha_uds_p1", "beta_uds_p1"}
    own = [s for s in body["shutters"] if s["object_id"] == SHARED]
    assert {s["source_id"] for s in own} == {1, 7} and all(
        s["shutter_state"] == "open" for s in own
    )
    assert any(
        s["shutter_state"] == "stuck_closed" and s["object_id"] is None for s in body["shutters"]
    )
    pub = api_get(server, "/shutters", "public", object_id=SHARED, fov=100).json()
    assert {s["observation"] for s in pub["shutters"]} == {"alpha_uds_p1"}
    small = api_get(server, "/shutters", object_id=SHARED, fov=1).json()["shutters"]
    # box of +-1": the two target shutters x 2 dithers, +0.5" stuck ones; not the 5" neighbours
    assert {s["source_id"] for s in small} == {0, 1, 7} and len(small) == 8


def test_spectrum_json_cache_scope_follows_program_visibility(server):
    # ALPHA-UDS is public (program.json is_public: true), BETA-UDS private: a shared cache may
    # keep the first but not the second.
    pub = api_get(server, "/spectrum", spectrum_id="alpha_uds_p1_prism_clear_1")
    priv = api_get(server, "/spectrum", spectrum_id="beta_uds_p1_prism_clear_7")
    assert pub.status_code == 200 and pub.headers["cache-control"].startswith("public,")
    assert priv.status_code == 200 and priv.headers["cache-control"].startswith("private,")
