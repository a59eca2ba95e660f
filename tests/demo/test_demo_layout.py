"""The demo products follow docs/products-format.md; users, scales, errors and determinism."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from campfire.errors import ValidationError
from campfire.server.demo.generate import DEMO_USERS, SCALES, generate_products

OBS_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*_p[0-9]+$")
SLUG_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")


def test_programs_observations_and_objects(tiny_demo, truth, obs_dirs):
    programs = [json.loads(p.read_text()) for p in sorted(tiny_demo.glob("*/program.json"))]
    assert len(programs) >= 2
    assert all(SLUG_RE.match(p["slug"]) for p in programs)
    assert {p["is_public"] for p in programs} == {True, False}  # at least one private
    assert all(p["program_name"] and p["pi_name"] for p in programs)
    slugs = {p["slug"] for p in programs}
    observations = obs_dirs
    assert 3 <= len(observations) <= 4
    fields = set()
    for folder in observations:
        meta = json.loads((folder / "observation.json").read_text())
        assert meta["observation"] == folder.name and OBS_RE.match(folder.name)
        assert meta["program_slug"] in slugs
        program = json.loads((folder.parent / "program.json").read_text())
        assert meta["program_slug"] == program["slug"]
        assert meta["field"] == meta["field"].lower()
        assert folder.name.split("_")[1] == meta["field"]
        (pointing,) = meta["pointings"]
        assert pointing["n_dithers"] == 3 and 0 <= pointing["position_angle"] < 360
        fields.add(meta["field"])
    assert len(fields) >= 2
    objects = {(f, c) for f, c in zip(truth["field"], truth["catalog_id"], strict=True)}
    assert 40 <= len(objects) <= 60


def test_every_spectrum_is_named_listed_and_has_a_fit(tiny_demo, obs_dirs):
    for folder in obs_dirs:
        targets = Table.read(folder / "targets.ecsv")
        assert targets["source_id"].dtype.kind == "i" and (targets["source_id"] > 0).all()
        assert len(set(targets["source_id"])) == len(targets)
        ids = set(targets["source_id"].tolist())
        specs = sorted(folder.glob("*_spec.fits"))
        assert len(specs) >= len(targets)  # every target has at least a PRISM spectrum
        for path in specs:
            m = re.match(rf"^{folder.name}_([a-z0-9]+)_([a-z0-9]+)_([0-9]+)_spec\.fits$", path.name)
            assert m, path.name
            assert int(m[3]) in ids
            assert path.with_name(path.name.replace("_spec.fits", "_zfit.fits")).exists()
            head = fits.getheader(path)
            assert head["GRATING"] == m[1].upper() and head["FILTER"] == m[2].upper()
            assert head["SOURCEID"] == int(m[3])


def test_reference_docs_object_exists(tiny_demo, truth):
    folder = tiny_demo / "ember-uds" / "ember_uds_p4"
    names = {p.name for p in folder.glob("*_123456_spec.fits")}
    assert names == {
        "ember_uds_p4_prism_clear_123456_spec.fits",
        "ember_uds_p4_g140m_f100lp_123456_spec.fits",
        "ember_uds_p4_g395m_f290lp_123456_spec.fits",
    }
    row = truth[(truth["observation"] == "ember_uds_p4") & (truth["source_id"] == 123456)]
    assert row["kind"][0] == "lrd" and row["z"][0] == pytest.approx(3.421)
    insp = Table.read(folder / "inspections.ecsv")
    hero = insp[insp["source_id"] == 123456]
    assert hero["redshift_quality"][0] == 4 and hero["tags"][0] == "lrd"
    assert hero["redshift_inspected"][0] == pytest.approx(3.421)


def test_some_objects_were_observed_by_two_programs(truth):
    ra, dec = np.radians(truth["ra"]), np.radians(truth["dec"])
    pairs = 0
    for i in range(len(truth)):
        for j in range(i + 1, len(truth)):
            if truth["program"][i] == truth["program"][j] or truth["field"][i] != truth["field"][j]:
                continue
            cosd = np.sin(dec[i]) * np.sin(dec[j]) + np.cos(dec[i]) * np.cos(dec[j]) * np.cos(
                ra[i] - ra[j]
            )
            if np.degrees(np.arccos(min(cosd, 1.0))) * 3600 < 0.1:
                pairs += 1
    assert pairs >= 2


def test_target_positions_of_shared_objects_agree_within_a_tenth_arcsec(tiny_demo, obs_dirs):
    from astropy.coordinates import SkyCoord

    uds = [Table.read(p / "targets.ecsv") for p in obs_dirs if "_uds_" in p.name]
    a = SkyCoord(uds[0]["ra"], uds[0]["dec"], unit="deg")
    b = SkyCoord(uds[1]["ra"], uds[1]["dec"], unit="deg")
    _, sep, _ = a.match_to_catalog_sky(b)
    assert (sep.arcsec < 0.1).sum() >= 2


def test_demo_users():
    by_email = {u["email"]: u for u in DEMO_USERS}
    alice, bob = by_email["alice@campfire.demo"], by_email["bob@campfire.demo"]
    assert alice["admin"] is True and alice["programs"] == "*"
    assert bob["admin"] is False and bob["programs"] == []
    assert all(len(u["password"]) >= 8 for u in DEMO_USERS)
    private = {p.slug for p in SCALES["tiny"].programs if not p.public}
    assert private and not private & set(bob["programs"])


def test_scales_are_defined():
    assert {"tiny", "small"} <= set(SCALES)
    small = SCALES["small"]
    assert len(small.observations) == 8
    assert len({o.program for o in small.observations}) >= 3
    assert len({o.field for o in small.observations}) >= 3
    names = {o.name for o in small.observations}
    assert {"ember_uds_p4", "capers_cosmos_p1", "rubies_egs_p2"} <= names


def test_unknown_scale_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match=r"unknown demo scale 'huge'.*tiny"):
        generate_products(tmp_path / "x", scale="huge")
    assert not (tmp_path / "x").exists()


def test_refuses_a_folder_it_did_not_make_and_loses_nothing(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    with pytest.raises(ValidationError, match="not made by the demo generator"):
        generate_products(tmp_path, scale="tiny")
    assert precious.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_progress_is_reported(demo_progress, spec_files):
    spectra = [(s, int(d), int(t)) for s, d, t in demo_progress if s.startswith("spectra ")]
    assert spectra and all(0 < d <= t for _, d, t in spectra)
    n_spec = len(spec_files)
    finals = {s: t for s, d, t in spectra if d == t}
    assert sum(finals.values()) == n_spec


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tiny_demo, tmp_path):
    # a folder an earlier run made: its old products are replaced, not mixed in
    again = tmp_path / "again"
    stale = again / "ember-uds" / "ember_uds_p9" / "ember_uds_p9_prism_clear_1_spec.fits"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    shutil.copy(tiny_demo / "demo-manifest.json", again / "demo-manifest.json")
    # a fresh interpreter, so nothing cached in this process can make the files agree
    code = (
        "import sys; from pathlib import Path; "
        "from campfire.server.demo.generate import generate_products;"
        "generate_products(Path(sys.argv[1]), scale='tiny', seed=42)"
    )
    subprocess.run([sys.executable, "-c", code, str(again)], check=True)
    assert not stale.exists()
    first, second = _digests(tiny_demo), _digests(again)
    assert first.keys() == second.keys()
    assert len(first) > 150
    assert first == second
