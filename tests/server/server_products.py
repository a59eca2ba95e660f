"""A small, hand-made products tree in the real pipeline format, with known answers.

Two programs in the ``uds`` field: ALPHA-UDS (public) and BETA-UDS (private). Target
``beta_uds_p1_7`` sits 0.1″ from ``alpha_uds_p1_1``, so both join one sky object. Every spectrum
has fnu = 2 µJy and fnu_err = 0.5 µJy on its valid pixels, so its S/N is exactly 4 (×scale).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

USERS = {
    "full": {"email": "full@example.org", "password": "full-pw", "grants": ["BETA-UDS"]},
    "public": {"email": "public@example.org", "password": "public-pw", "grants": []},
    "admin": {"email": "admin@example.org", "password": "admin-pw", "grants": [], "admin": True},
    # sees everything but may not write inspections (no can_inspect)
    "viewer": {"email": "viewer@example.org", "password": "viewer-pw", "grants": ["BETA-UDS"],
               "inspect": False},
}  # fmt: skip

RA0, DEC0 = 34.40, -5.20
ARCSEC = 1 / 3600

# spectra: (grating, filter, source_id, snr_scale, zbest)
ALPHA = {
    "slug": "ALPHA-UDS",
    "obs": "alpha_uds_p1",
    "public": True,
    "targets": {
        1: (RA0, DEC0),
        2: (RA0 + 5 * ARCSEC, DEC0),
        3: (RA0, DEC0 + 5 * ARCSEC),
        4: (RA0 + 10 * ARCSEC, DEC0 + 10 * ARCSEC),
    },
    "spectra": [
        ("prism", "clear", 1, 1.0, 3.5),
        ("g395m", "f290lp", 1, 2.0, 3.51),
        ("prism", "clear", 2, 1.0, 1.2),
        ("prism", "clear", 3, 0.5, None),
        ("prism", "clear", 4, 1.5, 6.7),
    ],
}
BETA = {
    "slug": "BETA-UDS",
    "obs": "beta_uds_p1",
    "public": False,
    "targets": {
        7: (RA0 + 0.1 * ARCSEC, DEC0),  # joins alpha 1
        8: (RA0 - 20 * ARCSEC, DEC0),
        9: (RA0 - 20 * ARCSEC, DEC0 - 20 * ARCSEC),
    },
    "spectra": [
        ("prism", "clear", 7, 3.0, 3.49),
        ("prism", "clear", 8, 1.0, 2.0),
        ("g140m", "f100lp", 9, 1.0, 0.9),
    ],
}


def write_spec(
    path: Path,
    grating: str,
    filt: str,
    sid: int,
    scale: float = 1.0,
    dq: int = 0,
    nwave: int = 60,
    ny: int = 7,
) -> None:
    wave = np.linspace(0.7, 5.2, nwave)
    fnu = np.full(nwave, 2.0 * scale)
    err = np.full(nwave, 0.5)
    err[0] = 0.0  # invalid: err <= 0
    fnu[1] = np.nan  # invalid: not finite
    fnu[2] = 0.0  # invalid: zero flux
    flam = fnu * 2.99792458e-19 / wave**2
    prim = fits.PrimaryHDU()
    h = prim.header
    h["TELESCOP"], h["INSTRUME"] = "JWST", "NIRSPEC"
    h["GRATING"], h["FILTER"], h["SOURCEID"] = grating.upper(), filt.upper(), sid
    h["EXPTIME"], h["CMPFRVER"], h["CMPFRDQ"] = 1000.0 * scale, "v1.0", dq
    spec = fits.BinTableHDU(
        Table(
            {"wave": wave, "fnu": fnu, "fnu_err": err, "flam": flam, "flam_err": flam / 4},
            units={"wave": "um", "fnu": "uJy", "fnu_err": "uJy"},
        ),
        name="SPEC1D",
    )
    sci = np.outer(np.exp(-0.5 * (np.arange(ny) - ny // 2) ** 2), fnu)
    prof = Table(
        {"ypos": np.arange(ny) + 0.5, "opt": np.exp(-0.5 * (np.arange(ny) - ny // 2) ** 2)}
    )
    hdus = [
        prim,
        spec,
        fits.ImageHDU(sci, name="SCI"),
        fits.ImageHDU(np.full((ny, nwave), 0.5), name="ERR"),
        fits.ImageHDU(np.tile(wave, (ny, 1)), name="WAVELENGTH"),
        fits.ImageHDU(np.full((ny, nwave), 4.0), name="WHT"),
        fits.BinTableHDU(prof, name="PROF1D"),
        fits.BinTableHDU(Table({"exposure": [1, 2, 3]}), name="EXPOSURES"),
    ]
    fits.HDUList(hdus).writeto(path, overwrite=True)


def write_zfit(path: Path, zbest: float) -> None:
    prim = fits.PrimaryHDU()
    prim.header["ZBEST"], prim.header["ZQUAL"], prim.header["ZCONF"] = zbest, 3, 0.95
    prim.header["CHI2MIN"] = 1.25
    zgrid = np.linspace(0, 10, 21)
    model = Table({"wav": np.linspace(0.7, 5.2, 10), "fnu": np.full(10, 2.0)})
    chi2 = Table({"z": zgrid, "chi2": (zgrid - zbest) ** 2 + 1.25})
    fits.HDUList(
        [prim, fits.BinTableHDU(model, name="MODEL"), fits.BinTableHDU(chi2, name="CHI2")]
    ).writeto(path, overwrite=True)


def write_program(root: Path, prog: dict) -> Path:
    out = root / prog["slug"]
    obs = prog["obs"]
    od = out / obs
    od.mkdir(parents=True, exist_ok=True)
    (out / "program.json").write_text(
        json.dumps(
            {
                "slug": prog["slug"],
                "program_name": f"{prog['slug']} survey",
                "pi_name": "A. Astronomer",
                "is_public": prog["public"],
            }
        )
    )
    (od / "observation.json").write_text(
        json.dumps(
            {
                "observation": obs,
                "field": "uds",
                "program_slug": prog["slug"],
                "reduction_version": "v1.0",
                "crds_context": "jwst_1293.pmap",
                "cfpipe_version": "0.5.0",
                "jwst_version": "1.18.0",
                "reduced_at": "2026-03-01T12:00:00+00:00",
                "pointings": [{"ra": RA0, "dec": DEC0, "position_angle": 71.3, "n_dithers": 3}],
            }
        )
    )
    sids = sorted(prog["targets"])
    Table(
        {
            "source_id": sids,
            "ra": [prog["targets"][s][0] for s in sids],
            "dec": [prog["targets"][s][1] for s in sids],
        }
    ).write(od / "targets.ecsv")
    rows = []
    for s in sids:
        ra, dec = prog["targets"][s]
        for dither in (1, 2):
            rows.append((s, 10 + s, 1, dither, ra, dec, 71.3, "open"))
            rows.append((0, 10 + s, 0, dither, ra, dec + 0.5 * ARCSEC, 71.3, "stuck_closed"))
    Table(
        rows=rows,
        names=[
            "source_id",
            "slitlet_id",
            "shutter_idx",
            "dither_id",
            "center_ra",
            "center_dec",
            "position_angle",
            "shutter_state",
        ],
    ).write(od / "shutters.ecsv")
    for grating, filt, sid, scale, zbest in prog["spectra"]:
        stem = f"{obs}_{grating}_{filt}_{sid}"
        write_spec(od / f"{stem}_spec.fits", grating, filt, sid, scale)
        if zbest is not None:
            write_zfit(od / f"{stem}_zfit.fits", zbest)
    if prog["slug"] == "ALPHA-UDS":
        ins = Table(
            {
                "source_id": [1],
                "redshift_inspected": [3.52],
                "redshift_quality": [4],
                "inspected_by": ["ada"],
                "inspected_at": ["2026-03-02T10:00:00+00:00"],
                "tags": ["lrd;blagn"],
            }
        )
        ins.write(od / "inspections.ecsv")
        (out / "photometry").mkdir(exist_ok=True)
        Table(
            {
                "catalog_id": ["c1", "c2"],
                "field": ["uds", "uds"],
                "ra": [RA0 + 0.05 * ARCSEC, RA0 + 60 * ARCSEC],
                "dec": [DEC0, DEC0],
                "photo_z": [3.4, 1.0],
                "photo_z_err_lo": [0.1, 0.1],
                "photo_z_err_hi": [0.2, 0.1],
                "f_f444w": [2.5, 1.0],
                "e_f444w": [0.1, 0.1],
                "f_f150w": [1.0, 1.0],
                "e_f150w": [0.05, 0.1],
            }
        ).write(out / "photometry" / "uvcandels.ecsv")
        write_cutout(out)
    return out


def write_cutout(out: Path, size: int = 200, scale_arcsec: float = 0.1) -> None:
    from PIL import Image

    (out / "cutouts").mkdir(exist_ok=True)
    img = np.zeros((size, size, 4), dtype=np.uint8)
    # left half red, right half blue, top quarter gets green: orientation is checkable
    img[:, : size // 2, 0] = 255
    img[:, size // 2 :, 2] = 255
    img[: size // 4, :, 1] = 255
    img[..., 3] = 255
    Image.fromarray(img, "RGBA").save(out / "cutouts" / "uds_rgb.png")
    s = scale_arcsec / 3600
    meta = {
        "field": "uds",
        "filter": "rgb",
        "naxis1": size,
        "naxis2": size,
        "wcs": {
            "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN",
            "CRVAL1": RA0,
            "CRVAL2": DEC0,
            "CRPIX1": size / 2 + 0.5,
            "CRPIX2": size / 2 + 0.5,
            "CD1_1": -s,
            "CD1_2": 0.0,
            "CD2_1": 0.0,
            "CD2_2": s,
        },
    }
    (out / "cutouts" / "uds_rgb.json").write_text(json.dumps(meta))


def write_all(root: Path) -> list[Path]:
    return [write_program(root, ALPHA), write_program(root, BETA)]


def api_call(srv, method, route, user="full", body=None, key=None):
    """``method`` ``route`` (after /api/v1) as a fixture user, with a JSON body and an
    ``Idempotency-Key`` when given.
    """
    import requests

    headers = {"Authorization": f"Bearer {srv.keys[user]}"} if user else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.request(method, srv.base_url + route, json=body, headers=headers, timeout=30)


def api_get(srv, route, user="full", /, **params):
    """GET ``route`` (after /api/v1) as one of the fixture users (None: no credentials)."""
    import requests

    headers = {"Authorization": f"Bearer {srv.keys[user]}"} if user else {}
    return requests.get(srv.base_url + route, params=params, headers=headers, timeout=30)
