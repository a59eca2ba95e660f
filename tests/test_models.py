"""Object, SpectrumCollection and Spectrum: built from catalog rows, indexed, opened."""

import base64
import copy
import os
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from campfire.errors import NotFoundError, ValidationError
from campfire.models.data import SpectrumData
from campfire.models.object import Object, Photometry, Spectrum, SpectrumCollection

OBS = "ember_uds_p4"


def spec_row(grating, snr, dq=0, **kw):
    g = grating.lower()
    filt = {"prism": "clear", "g140m": "f100lp", "g395m": "f290lp"}[g]
    sid = f"{OBS}_{g}_{filt}_123456"
    row = {
        "spectrum_id": sid,
        "grating": grating,
        "signal_to_noise": snr,
        "exposure_time": 3000.0,
        "dq_flags": dq,
        "fits_path": f"spectra/{OBS}/{sid}_spec.fits",
        "observation": OBS,
        "reduction_version": "v1.0",
        "local_path": None,
    }
    row.update(kw)
    return row


PHOT_RECORD = {
    "catalog_name": "UVCANDELS",
    "photo_z": 3.51,
    "photometry": {
        "flux_unit": "uJy",
        "bands": {
            b: {"flux": 1.0 + i, "flux_err": 0.1, "wav": w}
            for i, (b, w) in enumerate(
                [
                    ("f435w", 0.43),
                    ("f606w", 0.59),
                    ("f814w", 0.81),
                    ("f115w", 1.15),
                    ("f150w", 1.50),
                    ("f277w", 2.78),
                    ("f356w", 3.57),
                    ("f444w", 4.40),
                ]
            )
        },
    },
}


def object_row(**kw):
    row = {
        "object_id": "ember_uds_p4_123456",
        "field": "cosmos",
        "ra": 150.1,
        "dec": 2.2,
        "redshift": 3.421,
        "redshift_quality": 4,
        "programs": "EMBER-UDS;CAPERS",
        "tags": "lrd",
        "n_spectra": 3,
        "has_photometry": 1,
        "spectra": [
            spec_row("PRISM", 25.0),
            spec_row("G395M", 8.0, 2),
            spec_row("G140M", None, 32),
        ],
    }
    row.update(kw)
    return row


def test_object_prints_as_the_reference_shows():
    obj = Object.from_dict(object_row(), photometry=PHOT_RECORD)
    assert repr(obj) == (
        "Object(ember_uds_p4_123456, z=3.4210, cosmos)\n"
        "  3 spectra (G140M, G395M, PRISM)\n"
        "  tags: lrd\n"
        "  Photometry(8 bands, UVCANDELS, photo_z=3.51)"
    )
    assert obj.programs == ["EMBER-UDS", "CAPERS"] and obj.has_photometry is True
    assert obj.redshift_quality_label == "secure"
    assert isinstance(obj.photometry, Photometry) and obj.photometry["f444w"].flux == 8.0


def test_object_from_rows_in_every_shape():
    # /objects rows: lists as lists and list dicts, no spectra, no tags key
    row = object_row(programs=["CAPERS"], spectra=None, tags=None, gratings=["PRISM", "G395M"])
    row["lists"] = [{"id": 1, "slug": "lrd", "name": "LRD"}, {"id": 2, "slug": "blagn"}]
    del row["tags"]
    obj = Object.from_dict(row)
    assert obj.tags == ["lrd", "blagn"] and obj.programs == ["CAPERS"]
    assert len(obj.spectra) == 0 and obj.photometry is None
    assert repr(obj).splitlines()[1] == "  3 spectra (PRISM, G395M)"  # from the row's aggregates
    # explicit arguments win over the row
    obj = Object.from_dict(object_row(), spectra=[spec_row("PRISM", 5.0)], tags=["qg"])
    assert obj.tags == ["qg"] and obj.spectra.grating.tolist() == ["PRISM"]
    assert obj.spectra[0].object_id == "ember_uds_p4_123456"  # inherited from the object
    assert obj.spectra[0].redshift == pytest.approx(3.421)


@pytest.mark.parametrize(
    "quality, inspected, auto, expect",
    [(0, None, 2.5, 2.5), (3, 2.7, 2.5, 2.7), (1, 2.7, 2.5, None)],
)
def test_redshift_follows_contract_3_2_when_the_row_lacks_it(quality, inspected, auto, expect):
    row = object_row(redshift_quality=quality, redshift_inspected=inspected, redshift_auto=auto)
    del row["redshift"]
    assert Object.from_dict(row).redshift == expect


def test_collection_indexing():
    obj = Object.from_dict(object_row())
    c = obj.spectra
    assert isinstance(c[0], Spectrum) and c[0].grating == "PRISM" and c[-1].grating == "G140M"
    assert isinstance(c[1:], SpectrumCollection) and len(c[1:]) == 2
    prism = c[c.grating == "PRISM"]
    assert [s.grating for s in prism] == ["PRISM"]
    high = c[c.signal_to_noise > 10]  # NaN S/N compares False
    assert high.spectrum_id.tolist() == ["ember_uds_p4_prism_clear_123456"]
    assert c[[True, False, True]].grating.tolist() == ["PRISM", "G140M"]
    assert c[np.array([2, 0])].grating.tolist() == ["G140M", "PRISM"]
    assert c[[]].spectrum_id.shape == (0,)
    assert c["ember_uds_p4_g395m_f290lp_123456"].dq_flags == 2
    with pytest.raises(KeyError, match="no spectrum 'nope'"):
        c["nope"]
    with pytest.raises(IndexError, match="holds 3 spectra"):
        c[np.array([True, False])]
    with pytest.raises(TypeError, match="boolean mask"):
        c[1.5]


def test_collection_arrays_and_table():
    c = Object.from_dict(object_row()).spectra
    snr = c.signal_to_noise
    assert snr.dtype == float and snr[0] == 25.0 and np.isnan(snr[2])
    assert c.dq_flags.dtype.kind == "i" and c.dq_flags.tolist() == [0, 2, 32]
    assert c.spectrum_id.dtype.kind == "U" and c.downloaded.tolist() == [False] * 3
    assert c.object_id.tolist() == ["ember_uds_p4_123456"] * 3
    assert c.gratings == ["G140M", "G395M", "PRISM"] and len(c) == 3
    assert [s.spectrum_id for s in c] == c.spectrum_id.tolist()
    t = c.to_table()
    assert len(t) == 3 and t["dq_flags"].tolist() == [0, 2, 32]
    assert t["spectrum_id"][1] == "ember_uds_p4_g395m_f290lp_123456"
    assert "signal_to_noise" in t.colnames and "fits_path" in t.colnames
    with pytest.raises(AttributeError, match="per-spectrum arrays"):
        _ = c.not_an_attribute
    assert "signal_to_noise" in dir(c)
    empty = SpectrumCollection()
    assert empty.grating.shape == (0,) and empty.gratings == [] and len(empty.to_table()) == 0
    assert len(copy.deepcopy(c)) == 3  # __getattr__ does not break copying


def write_spec(path, n=20):
    wave = np.linspace(1.0, 5.0, n)
    cols = [
        fits.Column(name="wave", format="D", unit="um", array=wave),
        fits.Column(name="fnu", format="D", unit="uJy", array=np.full(n, 2.0)),
        fits.Column(name="fnu_err", format="D", unit="uJy", array=np.full(n, 0.1)),
    ]
    primary = fits.PrimaryHDU()
    primary.header["GRATING"] = "PRISM"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fits.HDUList([primary, fits.BinTableHDU.from_columns(cols, name="SPEC1D")]).writeto(path)


def test_downloaded_and_open_from_the_local_products_tree():
    root = os.environ["CAMPFIRE_ROOT"]  # a per-test folder (conftest)
    s = Spectrum.from_dict(spec_row("PRISM", 10.0), redshift=3.421)
    assert not s.downloaded and s.local_file is None
    with pytest.raises(NotFoundError, match=f"campfire download --obs {OBS}"):
        s.open()
    path = os.path.join(root, "products", OBS, f"{s.spectrum_id}_spec.fits")
    write_spec(path)
    assert s.downloaded and str(s.local_file) == path
    data = s.open()
    assert isinstance(data, SpectrumData) and len(data) == 20
    assert data.spectrum_id == s.spectrum_id and data.redshift == pytest.approx(3.421)
    np.testing.assert_allclose(data.fnu, 2.0)
    assert s.data is data  # cached
    assert s.open(reload=True) is not data


def test_local_path_relative_to_products_dir_or_absolute(tmp_path):
    write_spec(str(tmp_path / "obs" / "f_spec.fits"))
    s = Spectrum.from_dict(
        {"spectrum_id": "f", "grating": "PRISM", "local_path": "obs/f_spec.fits"},
        products_dir=tmp_path,
    )
    assert s.downloaded
    s2 = Spectrum("f", "PRISM", local_path=str(tmp_path / "obs" / "f_spec.fits"))
    assert s2.downloaded and s2.open().n_valid == 20


def test_open_goes_through_the_injected_opener_once():
    calls = []
    fake = SpectrumData([1.0, 2.0], [1.0, 2.0], [0.1, 0.1], grating="PRISM", spectrum_id="x")

    def opener(spectrum):
        calls.append(spectrum)
        return fake

    obj = Object.from_dict(object_row(), opener=opener)
    s = obj.spectra[0]
    assert s.open() is fake and s.data is fake and calls == [s]
    assert fake.object_id == "ember_uds_p4_123456"  # filled in from the catalog row
    s.open(reload=True)
    assert len(calls) == 2


def test_plot_opens_and_draws():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    fake = SpectrumData([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.1] * 3, spectrum_id="x")
    s = Spectrum("x", "PRISM", opener=lambda _: fake)
    ax = s.plot()
    try:
        assert ax.lines and ax.lines[0].get_xdata().tolist()[:3] == [1.0, 2.0, 3.0]
    finally:
        plt.close("all")


def test_rows_without_their_id_are_refused():
    with pytest.raises(ValidationError, match="needs 'spectrum_id'"):
        Spectrum.from_dict({"grating": "PRISM"})
    with pytest.raises(ValidationError, match="needs 'object_id'"):
        Object.from_dict({"field": "uds"})


def test_spectrum_repr_and_flags():
    s = Spectrum.from_dict(spec_row("G395M", 8.04, 34))
    assert repr(s) == "Spectrum(ember_uds_p4_g395m_f290lp_123456, G395M, S/N=8.0)"
    assert s.dq_flag_names == ["CONTAMINATION", "LOW_SNR"]
    s = Spectrum.from_dict({"spectrum_id": "y", "grating": "prism", "parent_object_id": "J1"})
    assert s.grating == "PRISM" and s.object_id == "J1" and s.dq_flags == 0


def test_html_reprs_are_self_contained_and_escaped():
    obj = Object.from_dict(object_row(object_id="<b>x</b>"), photometry=PHOT_RECORD)
    page = obj._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "ember_uds_p4_prism_clear_123456" in page and "CONTAMINATION" in page
    assert "<script" not in page
    assert "f444w" in obj.photometry._repr_html_()


# -- the Object card: SED, cutout, programs, targets (issue #6) ---------------------------------

POINT = re.compile(
    r"<g><title>(?P<tip>[^<]*)</title>"
    r"(?:<line class='err' x1=\"(?P<bx>[-\d.]+)\" x2=\"[-\d.]+\" "
    r"y1=\"(?P<ya>[-\d.]+)\" y2=\"(?P<yb>[-\d.]+)\"[^>]*/>)?"
    r"<circle cx=\"(?P<cx>[-\d.]+)\" cy=\"(?P<cy>[-\d.]+)\""
)

SED_BANDS = {  # band: (flux µJy, error µJy, pivot µm); given out of wavelength order
    "f444w": (0.93, 0.03, 4.402),
    "acs_f606w": (0.05, 0.004, 0.592),
    "f150w": (0.15, 0.005, 1.501),
    "f277w": (0.66, 0.019, 2.776),
    "f090w": (0.07, 0.0034, 0.902),
    "f356w": (0.70, 0.021, 3.565),
    "f200w": (0.34, 0.0099, 1.988),
    "f115w": (None, 0.004, 1.154),  # no flux measured: not drawn
    "irac_ch9": (1.2, 0.3, None),  # no pivot wavelength: not drawn
}


def sed_photometry(**bands):
    record = {
        "catalog_name": "UVCANDELS",
        "photo_z": 3.51,
        "object_id": "J021740.53-051228.1",
        "photometry": {
            "flux_unit": "uJy",
            "bands": {
                b: {"flux": f, "flux_err": e, "wav": w}
                for b, (f, e, w) in (bands or SED_BANDS).items()
            },
        },
    }
    return Photometry.from_record(record)


def sed_points(svg):
    return [m.groupdict() for m in POINT.finditer(svg)]


def test_sed_has_one_point_per_finite_band_on_a_log_wavelength_axis():
    phot = sed_photometry()
    svg = phot.to_svg()
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<script" not in svg
    points = sed_points(svg)
    drawn = sorted(
        ((w, b, f, e) for b, (f, e, w) in SED_BANDS.items() if f is not None and w is not None),
    )
    assert len(points) == svg.count("<circle") == len(drawn) == 7
    # tooltips name the bands, in wavelength order, with flux ± error
    assert [p["tip"].split(":")[0] for p in points] == [b for _w, b, _f, _e in drawn]
    assert points[-1]["tip"] == "f444w: 0.93 ± 0.03 µJy at 4.402 µm"
    assert "2 bands without flux" in svg
    cx = np.array([float(p["cx"]) for p in points])
    cy = np.array([float(p["cy"]) for p in points])
    lam = np.array([w for w, *_ in drawn])
    flux = np.array([f for _w, _b, f, _e in drawn])
    err = np.array([e for *_, e in drawn])
    assert np.all(np.diff(cx) > 0)  # monotonic in wavelength
    # x is linear in log10(λ): compare the relative positions with a hand computation
    frac = (np.log10(lam) - np.log10(lam[0])) / (np.log10(lam[-1]) - np.log10(lam[0]))
    np.testing.assert_allclose((cx - cx[0]) / (cx[-1] - cx[0]), frac, atol=2e-3)
    assert abs(frac[1] - 0.5) > 0.05  # log, not linear, spacing is what the check above saw
    # y is linear in flux (SVG y grows downwards): brighter is higher
    slope = (cy[-1] - cy[0]) / (flux[-1] - flux[0])
    assert slope < 0
    np.testing.assert_allclose(cy, cy[0] + slope * (flux - flux[0]), atol=0.15)
    # each point has a vertical ±1σ error bar through it, 2σ long on the same scale
    bx = np.array([float(p["bx"]) for p in points])
    ya = np.array([float(p["ya"]) for p in points])
    yb = np.array([float(p["yb"]) for p in points])
    np.testing.assert_allclose(bx, cx, atol=0.051)
    np.testing.assert_allclose(np.abs(ya - yb), 2 * err * abs(slope), atol=0.15)
    np.testing.assert_allclose((ya + yb) / 2, cy, atol=0.1)


def test_sed_negative_flux_sits_below_zero_and_nothing_to_draw_gives_no_svg():
    phot = sed_photometry(f150w=(-0.2, 0.05, 1.5), f444w=(1.0, 0.1, 4.4), f277w=(0.5, None, 2.78))
    svg = phot.to_svg()
    zero = re.search(r'<line x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="\1" stroke="#999"', svg)
    assert zero, "no zero line although a flux is negative"
    points = {p["tip"].split(":")[0]: p for p in sed_points(svg)}
    assert float(points["f150w"]["cy"]) > float(zero.group(1)) > float(points["f444w"]["cy"])
    assert points["f277w"]["ya"] is None  # no error given: a point without a bar
    assert points["f277w"]["tip"] == "f277w: 0.5 µJy at 2.780 µm"
    empty = sed_photometry(f150w=(None, None, 1.5), x=(1.0, 0.1, None))
    assert empty.to_svg() == "" and "<svg" not in empty._repr_html_()
    one = sed_photometry(f150w=(1.0, 0.1, 1.5)).to_svg()  # a single band still draws
    assert len(sed_points(one)) == 1


def test_sed_escapes_band_names():
    svg = sed_photometry(**{"<b>&": (1.0, 0.1, 1.5)}).to_svg()
    assert "&lt;b&gt;&amp;: 1 ± 0.1 µJy" in svg and "<b>&" not in svg


def test_photometry_card_shows_its_sed_and_table():
    phot = sed_photometry()
    page = phot._repr_html_()
    assert phot.to_svg() in page and page == sed_photometry()._repr_html_()
    assert re.findall(r"<tr><td>([^<]*)</td>", page) == phot.bands


def write_png(path, shade, size=(8, 6)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (shade, 255 - shade, 40)).save(path, format="PNG")
    return path.read_bytes()


def embedded_pngs(page):
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def card_object(products_dir, **kw):
    row = object_row(object_id="J021740.53-051228.1", member_target_ids=None, **kw)
    return Object.from_dict(row, photometry=sed_photometry(), products_dir=products_dir)


def test_object_card_embeds_the_cached_cutout_with_the_smallest_fov(tmp_path):
    products = tmp_path / "products"
    cut = tmp_path / "cutouts"
    oid = "J021740.53-051228.1"
    write_png(cut / f"{oid}_fov5.png", 10)
    small = write_png(cut / f"{oid}_fov3.2.png", 200)
    write_png(cut / f"{oid}_fov3.2_s300.png", 120, size=(30, 30))
    write_png(cut / f"{oid}_fov10_s64.png", 90)
    (cut / f"{oid}_fov1.png").write_bytes(b"not a png at all")  # a broken cache entry
    (cut / f"{oid}_fov2_shutters.json").write_text("{}")
    write_png(cut / "J9_fov0.5.png", 50)  # another object's
    obj = card_object(products)
    assert obj.products_dir == str(products)
    assert obj.cached_cutout == cut / f"{oid}_fov3.2.png"
    page = obj._repr_html_()
    assert embedded_pngs(page) == [small]  # the file's exact bytes
    assert "3.2″ cutout" in page
    # the SED and the cutout come before the spectra table
    assert page.index("<svg") < page.index("data:image/png") < page.index("<th>spectrum_id")
    assert page == card_object(products)._repr_html_()  # deterministic, byte for byte
    assert "<script" not in page and "http" not in page


def test_object_card_without_a_cached_cutout_has_no_cutout_section(tmp_path):
    page = card_object(tmp_path / "products")._repr_html_()
    assert "data:image" not in page and "<img" not in page and "cutout" not in page
    assert page.count("<svg") == 1  # the SED is still there
    # without products_dir the card looks in $CAMPFIRE_ROOT/cutouts (the client's data dir)
    obj = card_object(None)
    assert obj.cached_cutout is None
    png = write_png(Path(os.environ["CAMPFIRE_ROOT"]) / "cutouts" / f"{obj.object_id}_fov5.png", 7)
    assert embedded_pngs(obj._repr_html_()) == [png]


def test_object_card_names_a_cutout_too_large_to_inline(tmp_path, monkeypatch):
    import campfire.views.cards

    png = write_png(tmp_path / "cutouts" / "J021740.53-051228.1_fov5.png", 60, size=(64, 64))
    monkeypatch.setattr(campfire.views.cards, "MAX_EMBEDDED_PNG", len(png) - 1)
    page = card_object(tmp_path / "products")._repr_html_()
    assert "data:image" not in page
    assert f"J021740.53-051228.1_fov5.png ({len(png):,} bytes, too large" in page


def test_object_card_lists_ids_programs_and_targets(tmp_path):
    obj = Object.from_dict(
        object_row(object_id="J1", member_target_ids="ember_uds_p4_123456;capers_uds_p1_77"),
        photometry=PHOT_RECORD,
        products_dir=tmp_path / "products",
    )
    assert obj.target_ids == ["ember_uds_p4_123456", "capers_uds_p1_77"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", obj._repr_html_()))
    assert "targets: ember_uds_p4_123456, capers_uds_p1_77" in text
    assert "programs: EMBER-UDS, CAPERS" in text
    assert "quality: secure (4)" in text and "tags: lrd" in text
    assert "RA 150.100000, Dec 2.200000" in text
    # lists as lists (the remote rows); no member_target_ids: the spectra's own target ids
    obj = Object.from_dict(object_row(member_target_ids=["t1"]))
    assert obj.target_ids == ["t1"]
    spectra = [spec_row("PRISM", 5.0, target_id="t9"), spec_row("G395M", 5.0, target_id="t2")]
    assert Object.from_dict(object_row(spectra=spectra)).target_ids == ["t2", "t9"]
    many = Object.from_dict(object_row(member_target_ids=[f"t{i:02d}" for i in range(30)]))
    text = re.sub(r"<[^>]+>", " ", many._repr_html_())
    assert "t11 … and 18 more" in text and "t12" not in text


def test_object_card_survives_odd_rows():
    obj = Object.from_dict({"object_id": "<b>x</b>", "redshift_quality": 7})
    page = obj._repr_html_()
    assert "quality: 7" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert obj.cached_cutout is None  # an id that cannot name a file has no cutout
    assert "<svg" not in page and "<table" not in page
