"""Photometry (through sedpy's real filter curves), cutout tiles and inspections."""

from __future__ import annotations

import json
from datetime import datetime

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.wcs import WCS
from PIL import Image

from campfire.server.demo.catalog import build_skies
from campfire.server.demo.generate import SCALES
from campfire.server.demo.photometry import BANDS, band_fluxes
from campfire.server.demo.sed import FLAM_PER_UJY_UM2, Population, continuum_fnu, line_fluxes

TAGS = {"lrd", "blagn", "lae", "hae", "qg"}


@pytest.fixture(scope="module")
def skies():
    return build_skies(SCALES["tiny"], 42)


def _fine_spectrum(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """f_λ (erg/s/cm²/Å) on a fine grid, lines drawn as resolved Gaussians: an independent
    rendering of the same SED for sedpy to integrate."""
    wave = np.arange(0.30, 5.6, 0.00005)  # µm
    fnu = continuum_fnu(pop, wave)[0]
    rest, flux, sig_v = line_fluxes(pop)
    flam = fnu * FLAM_PER_UJY_UM2 / wave**2
    centre = rest * (1 + pop["z"][0]) / 1e4
    for c, f, s in zip(centre, flux[0], sig_v[0], strict=True):
        sigma_aa = c * 1e4 * s / 299792.458
        flam += (
            f * np.exp(-0.5 * ((wave - c) * 1e4 / sigma_aa) ** 2) / (np.sqrt(2 * np.pi) * sigma_aa)
        )
    return wave * 1e4, flam


@pytest.mark.parametrize(
    "params",
    [
        {"z": 2.2, "mag": 24.0, "ew_ha": 800.0, "o3hb": 6.0},
        {"z": 6.5, "mag": 26.0, "ew_ha": 1200.0, "lya_fesc": 0.5},
        {"z": 4.5, "mag": 25.0, "kind": 3.0, "agn_frac": 4.0, "agn_av": 2.5,
         "broad_fwhm": 3000.0, "broad_ratio": 5.0},
        {"z": 3.0, "mag": 23.0, "balmer": 2.2, "beta": 0.8, "absorb": 3.0, "ew_ha": 0.0},
    ],
)  # fmt: skip
def test_band_fluxes_match_sedpy_synthetic_photometry(params):
    from sedpy.observate import load_filters

    pop = Population.single(**params)
    wave_aa, flam = _fine_spectrum(pop)
    bands = list(BANDS)
    ours = band_fluxes(pop, bands)[0]
    filters = load_filters([BANDS[b][0] for b in bands])
    for band, filt, value in zip(bands, filters, ours, strict=True):
        ref = 10 ** ((23.9 - filt.ab_mag(wave_aa, flam)) / 2.5)
        assert value == pytest.approx(ref, rel=0.01, abs=1e-4), band


def test_catalog_columns_rows_and_noise(tiny_demo, truth, skies):
    for folder in sorted(tiny_demo.glob("*/photometry")):
        (path,) = folder.glob("*.ecsv")
        cat = Table.read(path)
        assert cat.colnames[:7] == ["catalog_id", "field", "ra", "dec", "photo_z",
                                    "photo_z_err_lo", "photo_z_err_hi"]  # fmt: skip
        bands = [c[2:] for c in cat.colnames if c.startswith("f_")]
        assert {"f090w", "f115w", "f150w", "f200w", "f277w", "f356w", "f444w"} <= set(bands)
        assert len([b for b in bands if not b.startswith("f")]) >= 2  # a few HST bands
        assert all(cat[f"f_{b}"].unit == u.uJy and cat[f"e_{b}"].unit == u.uJy for b in bands)
        assert len(set(cat["catalog_id"])) == len(cat)
        program = path.parent.parent.name
        mine = truth[np.char.lower(truth["program"].astype(str)) == program]
        assert len(cat) > 3 * len(mine)  # the neighbours are in the catalog too
        for fld in set(mine["field"]):
            rows = cat[cat["field"] == fld]
            cc = SkyCoord(rows["ra"], rows["dec"], unit="deg")
            t = mine[mine["field"] == fld]
            _, sep, _ = SkyCoord(t["ra"], t["dec"], unit="deg").match_to_catalog_sky(cc)
            assert np.all(sep.arcsec < 0.3)
            sky = skies[fld]
            true = band_fluxes(sky.pop, bands)
            order = np.argsort(sky.catalog_id)
            assert np.allclose(np.sort(rows["catalog_id"] % 10_000_000), sky.catalog_id[order])
            pulls = []
            for j, b in enumerate(bands):
                by_id = dict(zip(sky.catalog_id, true[:, j], strict=True))
                ref = np.array([by_id[i % 10_000_000] for i in rows["catalog_id"]])
                pulls.append((rows[f"f_{b}"] - ref) / rows[f"e_{b}"])
            assert np.std(np.concatenate(pulls)) == pytest.approx(1.0, abs=0.1)


def _png_row(y_fits0: float, naxis2: int) -> int:
    """PNG row of a 0-based FITS pixel y (row 0 of the PNG is y = naxis2)."""
    return round(naxis2 - 1 - y_fits0)


def test_cutout_tiles_have_an_exact_tan_wcs_north_up_east_left(tiny_demo, skies):
    checked = bright_ok = 0
    for meta_path in sorted(tiny_demo.glob("*/cutouts/*.json"))[:30]:
        meta = json.loads(meta_path.read_text())
        img = np.asarray(Image.open(meta_path.with_suffix(".png")).convert("RGB"), dtype=float)
        assert img.shape == (meta["naxis2"], meta["naxis1"], 3)
        w = meta["wcs"]
        assert w["CTYPE1"] == "RA---TAN" and w["CTYPE2"] == "DEC--TAN"
        assert w["CD1_1"] == pytest.approx(-0.04 / 3600) and w["CD2_2"] == pytest.approx(
            0.04 / 3600
        )
        assert w["CD1_2"] == 0 and w["CD2_1"] == 0
        wcs = WCS({k: v for k, v in w.items()})
        sky = skies[meta["field"]]
        xy = wcs.world_to_pixel(SkyCoord(sky.ra, sky.dec, unit="deg"))
        x, y = np.asarray(xy[0]), np.asarray(xy[1])
        n = meta["naxis1"]
        inside = (x > 8) & (x < n - 9) & (y > 8) & (y < n - 9) & (sky.pop["mag"] < 26.5)
        light = img.sum(axis=2)
        background = np.median(light)
        for i in np.nonzero(inside)[0]:
            cx, cy = float(x[i]), float(y[i])
            if abs(cx - (n - 1) / 2) < 6:  # need an east-west offset to test the mirror
                continue
            here = light[_png_row(cy, n), round(cx)]
            mirror_x = (n - 1) - cx  # east and west swapped
            there = light[_png_row(cy, n), round(mirror_x)]
            checked += 1
            if here > background + 30 and here > there:
                bright_ok += 1
    assert checked >= 5
    assert bright_ok >= 0.8 * checked


def test_inspections_mix_and_tags(obs_dirs, truth):
    rows = []
    for folder in obs_dirs:
        t = Table.read(folder / "inspections.ecsv")
        for r in t:
            rows.append((folder.name, int(r["source_id"]), r))
    qualities = [int(r["redshift_quality"]) for _, _, r in rows]
    assert {3, 4} <= set(qualities) and {1, 2} & set(qualities)
    assert len(rows) < len(truth)  # some targets are left uninspected (quality 0)
    by_target = {(r["observation"], int(r["source_id"])): r for r in truth}
    objects = [(by_target[(o, s)]["field"], by_target[(o, s)]["catalog_id"]) for o, s, _ in rows]
    assert len(objects) == len(set(objects))  # one inspection per object
    good = close = 0
    for obs, sid, r in rows:
        t = by_target[(obs, sid)]
        tags = {x for x in str(r["tags"] or "").split(";") if x and x != "--"}
        assert tags <= TAGS
        if "qg" in tags:
            assert t["kind"] == "qg"
        if "lrd" in tags:
            assert t["kind"] == "lrd"
        if "blagn" in tags:
            assert t["kind"] in ("lrd", "blagn")
        if "hae" in tags:
            assert t["ew_ha"] > 500 and t["z"] < 7
        if "lae" in tags:
            assert t["lya_fesc"] > 0.2 and 3.9 < t["z"] < 8.5
        datetime.fromisoformat(str(r["inspected_at"]))
        assert str(r["inspected_by"]).endswith("@campfire.demo")
        q = int(r["redshift_quality"])
        if q == 1:
            assert np.ma.is_masked(r["redshift_inspected"])
        if q >= 3:
            good += 1
            close += abs(r["redshift_inspected"] - t["z"]) < 0.01 * (1 + t["z"])
    assert good and close >= 0.9 * good
    kinds = {by_target[(o, s)]["kind"] for o, s, r in rows if "lrd" in str(r["tags"])}
    assert kinds == {"lrd"}
