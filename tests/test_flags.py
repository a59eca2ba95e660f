"""DQ flags, flag queries, redshift quality codes: checked against hand-written bit logic."""

import itertools

import numpy as np
import pytest

import campfire
from campfire.errors import ValidationError
from campfire.flags import (
    DQFlags,
    FlagQuery,
    RedshiftQuality,
    as_flag_query,
    decode_flags,
    encode_flags,
    list_flags,
    parse_redshift_qualities,
)

A, B, C = DQFlags.CHIP_GAP, DQFlags.CONTAMINATION, DQFlags.LOW_SNR

# api-v1 section 3.3, typed in by hand
SPEC_BITS = {
    "CHIP_GAP": 1,
    "CONTAMINATION": 2,
    "STUCK_SHUTTER": 4,
    "MULTIPLE_SOURCES": 8,
    "NO_DETECTION": 16,
    "LOW_SNR": 32,
    "SPECTRAL_OVERLAP": 64,
    "PRISM_CORRUPTED": 128,
    "GRATING_CORRUPTED": 256,
}


def test_bits_match_the_contract():
    assert {f.name: f.value for f in DQFlags} == SPEC_BITS
    assert int(DQFlags.LOW_SNR) == 32 and DQFlags["CHIP_GAP"] is A


def test_reference_examples():
    assert decode_flags(3, "dq_flags") == ["CHIP_GAP", "CONTAMINATION"]
    assert encode_flags(["CHIP_GAP", "CONTAMINATION"], "dq_flags") == 3
    assert campfire.decode_flags is decode_flags and campfire.DQFlags is DQFlags


@pytest.mark.parametrize(
    "query, masks",
    [
        (A | C, (1 | 32, 0, 0)),
        (A & C, (0, 1 | 32, 0)),
        (~B, (0, 0, 2)),
        (~B & ~C, (0, 0, 2 | 32)),
        ((A | C) & ~B, (1 | 32, 0, 2)),
        (A & ~B, (0, 1, 2)),
        (A | B | C, (35, 0, 0)),
        (A & B & C, (0, 35, 0)),
        (~~A, (0, 1, 0)),
        (~(~A & ~B), (3, 0, 0)),
    ],
)
def test_operators_build_the_expected_masks(query, masks):
    assert isinstance(query, FlagQuery)
    assert query.masks == masks


def test_flags_with_plain_bitmasks_are_bit_arithmetic():
    # a catalog value tested against a flag must give the bit, never a (truthy) query object
    assert 33 & C == 32 and 1 & C == 0 and C & 33 == 32 and 3 | C == 35
    assert np.int64(34) & B == 2
    assert (np.array([1, 32, 33, 0]) & C).tolist() == [0, 32, 32, 0]
    assert C == 32 and 32 == C and C != A and {C: "x"}[DQFlags.LOW_SNR] == "x"  # noqa: SIM300
    with pytest.raises(TypeError, match=r"query.matches\(dq\)"):
        5 & (A | C)
    with pytest.raises(TypeError, match="not float"):
        (A | C) | 1.5


def _reference_match(dq: int, q: FlagQuery) -> bool:
    # written independently of FlagQuery.matches, straight from api-v1 2.13
    any_ok = q.any_mask == 0 or (dq & q.any_mask) != 0
    all_ok = (dq & q.all_mask) == q.all_mask
    excl_ok = (dq & q.exclude_mask) == 0
    return any_ok and all_ok and excl_ok


def test_queries_select_the_right_bitmasks():
    dq = np.arange(64)
    q = ~B & ~C
    expect = [not (v & 2) and not (v & 32) for v in range(64)]
    assert q.matches(dq).tolist() == expect
    q = A | C
    assert q.matches(dq).tolist() == [bool(v & 1 or v & 32) for v in range(64)]
    q = A & C
    assert q.matches(dq).tolist() == [bool(v & 1 and v & 32) for v in range(64)]
    for q in (A | B, A & B, (A | C) & ~B, ~A & ~B & ~C, A.query):
        assert q.matches(dq).tolist() == [_reference_match(v, q) for v in range(64)]
    assert q.matches(None) is False  # None counts as 0; A & ~... needs bit 1
    assert (~A).matches([None, float("nan"), 1]).tolist() == [True, True, False]


def test_to_params_matches_contract_6_1():
    assert (~B & ~C).to_params() == {"dq_flags_exclude": 34}
    assert (A | C).to_params() == {"dq_flags_include_any": 33}
    assert (A & C).to_params() == {"dq_flags_include_all": 33}
    assert ((A | C) & ~B).to_params() == {"dq_flags_include_any": 33, "dq_flags_exclude": 2}
    assert (~B).include_any == 0 and (~B).exclude == 2  # upstream attribute names


def test_not_of_an_or_is_rejected_with_the_supported_form():
    with pytest.raises(ValidationError) as exc:
        ~(B | C)
    assert "~DQFlags.CONTAMINATION & ~DQFlags.LOW_SNR" in str(exc.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: (A & B) | C,
        lambda: ~A | ~B,
        lambda: ~(A & B),
        lambda: (A | B) & (C | DQFlags.NO_DETECTION),
        lambda: A & ~A,
    ],
)
def test_inexpressible_forms_raise_clear_errors(build):
    with pytest.raises(ValidationError, match="supported forms"):
        build()


def test_as_flag_query_accepts_every_documented_input():
    assert as_flag_query(None) is None
    assert as_flag_query(0) is None
    assert as_flag_query(3).masks == (3, 0, 0)  # plain int → include_any
    assert as_flag_query(A).masks == (0, 1, 0)  # single flag → include_all
    assert as_flag_query("low_snr").masks == (0, 32, 0)  # single name → include_all
    assert as_flag_query(["CHIP_GAP", "LOW_SNR"]).masks == (33, 0, 0)  # list → include_any
    assert as_flag_query("~CONTAMINATION & ~LOW_SNR") == ~B & ~C
    assert as_flag_query("(CHIP_GAP|LOW_SNR) & ~CONTAMINATION") == (A | C) & ~B
    q = ~B
    assert as_flag_query(q) is q
    with pytest.raises(ValidationError, match="negative"):
        as_flag_query(-1)
    with pytest.raises(ValidationError, match="cannot be a float"):
        as_flag_query(1.5)


def test_unknown_names_suggest_close_matches():
    with pytest.raises(ValidationError, match="Did you mean CONTAMINATION"):
        encode_flags(["CONTAMINATON"])
    with pytest.raises(ValidationError, match="Did you mean LOW_SNR"):
        as_flag_query("LOW_SN")
    with pytest.raises(ValidationError, match="Did you mean dq_flags"):
        decode_flags(1, "dq_flag_s")


def test_decode_encode_round_trip_every_mask():
    for r in range(0, 4):
        for combo in itertools.combinations(DQFlags, r):
            mask = sum(f.value for f in combo)
            names = decode_flags(mask)
            assert names == [f.name for f in sorted(combo, key=lambda f: f.value)]
            assert encode_flags(names) == mask
    assert decode_flags(1024 + 1) == ["CHIP_GAP", "BIT10"]  # bits from a newer archive


def test_repr_reads_like_the_expression():
    assert repr(~B & ~C) == "~DQFlags.CONTAMINATION & ~DQFlags.LOW_SNR"
    assert repr((A | C) & ~B) == "(DQFlags.CHIP_GAP | DQFlags.LOW_SNR) & ~DQFlags.CONTAMINATION"


def test_redshift_quality_parsing():
    assert RedshiftQuality.parse("secure") == 4 == RedshiftQuality.SECURE
    assert RedshiftQuality.parse(4) is RedshiftQuality.SECURE
    assert RedshiftQuality.parse("Probable").label == "probable"
    assert RedshiftQuality.parse("not inspected") == 0 == RedshiftQuality.NOT_INSPECTED
    assert RedshiftQuality("tentative") == 2
    assert parse_redshift_qualities(["probable", "secure", 3]) == [3, 4]
    with pytest.raises(ValidationError, match="Did you mean secure"):
        RedshiftQuality.parse("secur")
    with pytest.raises(ValidationError, match="0-4"):
        RedshiftQuality.parse(7)
    assert decode_flags(2, "redshift_quality") == ["tentative"]
    assert encode_flags("secure", "redshift_quality") == 4


def test_list_flags_is_a_readable_table():
    t = list_flags()
    assert len(t) == 9 + 5
    dq = list_flags("dq_flags")
    assert dict(zip(dq["name"], dq["value"], strict=True)) == SPEC_BITS
    rq = list_flags("redshift_quality")
    assert rq["name"].tolist() == ["none", "impossible", "tentative", "probable", "secure"]
    text = repr(dq)
    assert "CHIP_GAP" in text and "GRATING_CORRUPTED" in text and "..." not in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_list_flags_prints_as_the_reference_says_in_a_script(tmp_path):
    # "list_flags()  # Print all flags": a script, not a notebook, must show them (#15 item 11)
    import subprocess
    import sys

    script = tmp_path / "flags.py"
    script.write_text("from campfire import list_flags\nlist_flags('dq_flags')\n")
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=False, timeout=120)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    printed = ran.stdout.splitlines()
    for name, value in SPEC_BITS.items():
        assert any(name in line and str(value) in line.split() for line in printed), name
    assert "..." not in ran.stdout  # every row, none elided
