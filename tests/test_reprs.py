"""Rich reprs: every model a user looks at renders self-contained, deterministic HTML with its key
facts, against the real tiny demo archive served on loopback (synced, one observation downloaded).

"Self-contained" means it renders where no kernel runs (GitHub, nbviewer): no script, no external
stylesheet, image or font. "Deterministic" means the same thing gives byte-identical HTML, also
when it is built a second time from scratch (no random ids), so saved notebooks can be compared.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from astropy.io import fits

from campfire import Campfire
from campfire.models.data import SpectrumData

HERO_TARGET = "ember_uds_p4_123456"  # the reference docs' object: z=3.421 LRD, UVCANDELS photo-z


@pytest.fixture(scope="module")
def world(tiny_server, tmp_path_factory):
    """A client synced from the served archive with ``ember_uds_p4`` downloaded, and results."""
    srv = tiny_server
    data = tmp_path_factory.mktemp("reprs-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CAMPFIRE_OFFLINE", raising=False)  # module fixtures run before clean_environ
        mp.setenv("CAMPFIRE_API_KEY", srv.users[0]["api_key"])
        mp.setenv("CAMPFIRE_HOME", str(tmp_path_factory.mktemp("reprs-home")))
        cf = Campfire(base_url=srv.base_url, data_dir=data)
        synced = cf.sync()
        downloaded = cf.download(observations=["ember_uds_p4"])
        yield {"cf": cf, "sync": synced, "download": downloaded, "data": data, "srv": srv}


@pytest.fixture
def hero(world):
    cf = world["cf"]
    oid = cf.query_spectra(search=HERO_TARGET)["object_id"][0]
    return cf.get_object(str(oid))


EXTERNAL = re.compile(
    r"<script|<link\b|<iframe|@import|url\((?!data:)|(?:src|href)\s*=\s*(?!['\"]?(?:data:|#))",
    re.IGNORECASE,
)


def assert_self_contained(page: str) -> None:
    assert page.strip(), "empty HTML"
    found = EXTERNAL.search(page)
    assert found is None, (
        f"not self-contained: {page[max(0, found.start() - 60) : found.end() + 60]}"
    )


def text_of(page: str) -> str:
    """The visible text of an HTML fragment (tags dropped, entities kept as typed)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# -- the client -------------------------------------------------------------------------------


def test_client_card_shows_archive_catalog_and_downloads(world):
    cf, data = world["cf"], world["data"]
    page = cf._repr_html_()
    assert page == cf._repr_html_()
    assert page == Campfire(base_url=world["srv"].base_url, data_dir=data)._repr_html_()
    assert_self_contained(page)
    text = text_of(page)
    on_disk = sorted((data / "products" / "ember_uds_p4").glob("*.fits"))
    assert len(on_disk) == world["download"].downloaded > 0
    assert world["srv"].base_url in text and str(data) in text
    assert f"{world['sync']['objects']:,} objects" in text
    assert f"{world['sync']['spectra']:,} spectra ({len(on_disk):,} downloaded)" in text


def test_client_card_before_sync_says_what_to_do(tmp_path):
    page = Campfire(base_url="http://127.0.0.1:9/api/v1", data_dir=tmp_path)._repr_html_()
    assert "not synced" in page and "cf.sync()" in page


# -- Object, SpectrumCollection, Spectrum --------------------------------------------------------


def test_object_card_has_ids_redshift_quality_tags_and_spectra(world, hero):
    page = hero._repr_html_()
    again = world["cf"].get_object(hero.object_id)._repr_html_()
    assert page == again  # built twice from the catalog: the same bytes
    assert_self_contained(page)
    text = text_of(page)
    assert hero.object_id.startswith("J") and hero.object_id in text
    assert "z=3.4210" in text and "quality: secure" in text  # the hero is inspected, quality 4
    assert "tags: lrd" in text
    for sid in ("ember_uds_p4_prism_clear_123456", "ember_uds_p4_g395m_f290lp_123456"):
        assert sid in text
    assert f"RA {hero.ra:.6f}, Dec {hero.dec:.6f}" in text
    assert "Photometry(10 bands, UVCANDELS, photo_z=3.51)" in text


def test_object_card_has_programs_sed_and_cached_cutout(world, hero):
    cf = world["cf"]
    assert "data:image/png" not in hero._repr_html_()  # nothing cached yet: no cutout shown
    png = cf.get_cutout(hero.object_id)  # now cached in the data directory
    assert png.parent == world["data"] / "cutouts"
    page = cf.get_object(hero.object_id)._repr_html_()
    assert page == cf.get_object(hero.object_id)._repr_html_()  # deterministic with a cutout
    assert_self_contained(page)
    text = text_of(page)
    assert "programs: EMBER-UDS" in text and f"target: {HERO_TARGET}" in text
    # the SED: one point per band, each named in its tooltip
    phot = hero.photometry
    assert page.count("<svg") == 1 and page.count("<circle") == len(phot) == 10
    for band in phot.bands:
        assert f"<title>{band}: " in page
    # the cutout: exactly the cached file's bytes, inline
    (b64,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(b64) == png.read_bytes()
    assert page.index("<svg") < page.index("data:image/png") < page.index("<th>spectrum_id")


def test_collection_and_spectrum_tables(hero):
    coll = hero.spectra
    page = coll._repr_html_()
    assert page == coll._repr_html_()
    assert_self_contained(page)
    rows = re.findall(r"<tr>(.*?)</tr>", page)
    assert len(rows) == 1 + len(coll) == 4  # header + one row per spectrum
    by_id = {s.spectrum_id: s for s in coll}
    for row in rows[1:]:
        cells = re.findall(r"<td>(.*?)</td>", row)
        s = by_id[cells[0]]
        assert cells[1] == s.grating
        assert cells[2] == f"{s.signal_to_noise:.1f}"
        assert cells[5] == "yes"  # ember_uds_p4 was downloaded
    one = coll[0]._repr_html_()
    assert_self_contained(one)
    assert coll[0].spectrum_id in one and len(re.findall(r"<tr>", one)) == 2


# -- SpectrumData -------------------------------------------------------------------------------


def _svg_frame(page: str) -> tuple[float, float, float, float]:
    """The plot area (x, y, width, height) as the SVG's frame rectangle says."""
    m = re.search(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', page)
    assert m, "no plot frame in the SVG"
    return tuple(float(v) for v in m.groups())


def _polylines(page: str) -> list[np.ndarray]:
    out = []
    for pts in re.findall(r'<polyline points="([^"]+)"', page):
        out.append(np.array([[float(v) for v in p.split(",")] for p in pts.split()]))
    return out


def test_spectrum_data_card_and_picture_follow_the_fits_file(world, hero):
    prism = hero.spectra[hero.spectra.grating == "PRISM"][0]
    path = prism.local_file
    spec = prism.open()
    page = spec._repr_html_()
    assert (
        page
        == SpectrumData.from_fits(path, spectrum_id=prism.spectrum_id)
        .copy(object_id=spec.object_id, redshift=spec.redshift)
        ._repr_html_()
    )  # a second read of the file: identical HTML
    assert_self_contained(page)
    assert "<svg" in page and 'xmlns="http' not in page
    # the independent reference: the file itself, read with astropy
    with fits.open(path) as hdul:
        tab = hdul["SPEC1D"].data
        wave, flux, err = (np.asarray(tab[c], float) for c in ("wave", "fnu", "fnu_err"))
    good = np.isfinite(flux) & np.isfinite(err) & (err > 0) & (flux != 0)
    text = text_of(page)
    assert f"{wave[good].min():.3f}–{wave[good].max():.3f} µm" in text
    assert f"{len(wave)} ({good.sum()} valid)" in text
    assert f"{np.median(flux[good] / err[good]):.1f} per pixel" in text
    assert "PRISM" in text and hero.object_id in text and "3.4210" in text
    # the brightest drawn point sits where the file's brightest pixel is (Hα at 2.90 µm)
    x, _y, w, _h = _svg_frame(page)
    pts = np.concatenate(_polylines(page))
    top = pts[np.argmin(pts[:, 1])]
    expected = x + (wave[good][np.argmax(flux[good])] - wave[good].min()) / np.ptp(wave[good]) * w
    assert top[0] == pytest.approx(expected, abs=1.0)
    assert abs(wave[good][np.argmax(flux[good])] - 0.6564697 * 4.421) < 0.02
    assert ">Hα<" in page  # lines are marked at the spectrum's redshift


def test_masked_pixels_are_gaps_in_the_picture():
    wave = np.linspace(1.0, 2.0, 300)
    flux = 1.0 + 0.1 * np.sin(wave * 20)
    flux[100:140] = np.nan  # a chip gap
    flux[200:205] = 0.0  # msaexp's "no data" pixels
    spec = SpectrumData(wave, flux, np.full(300, 0.05), grating="G140M", spectrum_id="gap")
    page = spec._repr_html_()
    lines = _polylines(page)
    assert [len(p) for p in lines] == [100, 60, 95]  # three runs of valid pixels, in order
    assert page.count("<polygon") == 3  # each with its ±1σ band
    x, _y, w, _h = _svg_frame(page)
    gap_lo, gap_hi = (x + (wave[i] - 1.0) * w for i in (99, 140))
    assert lines[0][-1, 0] == pytest.approx(gap_lo, abs=0.06)
    assert lines[1][0, 0] == pytest.approx(gap_hi, abs=0.06)
    assert "300 (255 valid)" in text_of(page)


def test_long_spectrum_is_thinned_but_keeps_its_peak():
    n = 20000
    wave = np.linspace(1.0, 5.0, n)
    flux = np.full(n, 1.0) + 0.01 * np.cos(np.arange(n))
    flux[12345] = 50.0  # one strong, narrow line
    spec = SpectrumData(wave, flux, np.full(n, 0.1), grating="PRISM", spectrum_id="long")
    page = spec._repr_html_()
    (line,) = _polylines(page)
    x, y, w, _h = _svg_frame(page)
    assert len(line) <= 2 * w + 2  # at most two points per pixel column
    top = line[np.argmin(line[:, 1])]
    continuum = np.median(line[:, 1])
    assert y <= top[1] and continuum - top[1] > 0.8 * _h  # the peak drawn, not clipped away
    assert top[0] == pytest.approx(x + (wave[12345] - 1.0) / 4.0 * w, abs=0.6)
    assert len(page) < 40_000


def test_spectrum_without_valid_pixels_says_so():
    spec = SpectrumData([1.0, 2.0], [np.nan, 0.0], [0.1, 0.1], spectrum_id="empty")
    page = spec._repr_html_()
    assert "<svg" not in page and "no valid pixels" in page and "2 (0 valid)" in page


def test_user_text_is_escaped():
    spec = SpectrumData([1.0, 2.0], [1.0, 1.0], [0.1, 0.1], spectrum_id="<b>x</b>&")
    page = spec._repr_html_()
    assert "<b>x</b>&" not in page and "&lt;b&gt;x&lt;/b&gt;&amp;" in page


# -- Photometry, sync and download results ------------------------------------------------------


def test_photometry_table(hero):
    phot = hero.photometry
    page = phot._repr_html_()
    assert page == phot._repr_html_()
    assert_self_contained(page)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", page)
    assert [r[0] for r in rows] == phot.bands
    f444 = phot["f444w"]
    _band, wav, flux, _err = rows[phot.bands.index("f444w")]
    assert float(wav) == pytest.approx(4.40, abs=0.05)  # F444W's pivot wavelength, µm
    assert float(flux) == pytest.approx(f444.flux, rel=1e-3)
    assert "UVCANDELS" in page and "photo_z=3.51" in page


def test_sync_result(world):
    result = world["sync"]
    page = result._repr_html_()
    assert page == type(result)(**dict(result))._repr_html_()
    assert_self_contained(page)
    cells = dict(re.findall(r"<th[^>]*>(.*?)</th><td>(.*?)</td>", page))
    assert cells["objects"] == str(result["objects"]) and int(cells["objects"]) > 0
    assert cells["spectra"] == str(result["spectra"])
    assert cells["stale_count"] == "0"


def test_download_result(world):
    result = world["download"]
    page = result._repr_html_()
    assert page == result._repr_html_()
    assert_self_contained(page)
    files = list((world["data"] / "products" / "ember_uds_p4").glob("*.fits"))
    size = sum(f.stat().st_size for f in files)
    assert f"{len(files)} file(s) downloaded ({size / 1e6:.1f} MB)" in page  # one decimal, MB
    assert page.count("<li>") == len(files) and "<details>" in page  # the list, folded
    assert "0 failed" in page


def test_client_repr_and_card_hide_a_password_in_the_archive_url(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    url = "https://ada:s3cret@archive.example/api/v1"
    cf = Campfire(base_url=url, data_dir=tmp_path)
    for text in (repr(cf), cf._repr_html_()):
        assert "s3cret" not in text
        assert "ada:***@archive.example" in text
