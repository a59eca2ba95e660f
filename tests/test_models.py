"""Object, SpectrumCollection and Spectrum: built from catalog rows, indexed, opened."""

import copy
import os

import numpy as np
import pytest
from astropy.io import fits

from campfire.errors import NotFoundError, ValidationError
from campfire.models import Object, Photometry, Spectrum, SpectrumCollection
from campfire.spectrum import SpectrumData

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
