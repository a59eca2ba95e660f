"""Upserts go in many-row statements: every row lands exactly once, batch edges included."""

from __future__ import annotations

import pytest

from campfire.catalog.rows import prepare_rows
from campfire.catalog.schema import utc_now


def spectrum(i: int, **kw):
    row = {
        "id": 1000 + i,
        "spectrum_id": f"s{i:04d}",
        "target_id": f"t{i}",
        "object_id": f"J{i // 3}",
        "grating": "PRISM" if i % 2 else "G395M",
        "fits_path": f"spectra/obs{i % 5}/s{i:04d}_spec.fits",
        "file_hash": f"sha256:{i:064d}",
        "file_size": 5000 + i,
        "signal_to_noise": i / 7,
        "dq_flags": i % 4,
        "observation": f"obs{i % 5}",
        "updated_at": f"2026-01-{1 + i % 28:02d}T00:00:00+00:00",
    }
    row.update(kw)
    return row


@pytest.mark.parametrize("n", [1, 255, 256, 257, 600])
def test_every_row_is_stored_once_with_its_values(store, n):
    rows = [spectrum(i) for i in range(n)]
    with store.transaction():
        assert store.upsert("spectra", rows, "stamp") == n
    got = {
        r[0]: tuple(r[1:])
        for r in store.conn.execute(
            "SELECT spectrum_id, id, object_id, file_size, signal_to_noise, dq_flags, _synced_at "
            "FROM spectra"
        )
    }
    assert len(got) == n
    for i in (0, n // 2, n - 1):  # first, middle and last batch
        assert got[f"s{i:04d}"] == (1000 + i, f"J{i // 3}", 5000 + i, i / 7, i % 4, "stamp")
    newest = max(f"2026-01-{1 + i % 28:02d}T00:00:00+00:00" for i in range(n))
    assert store.cursor("spectra") == newest


def test_changes_are_counted_across_batches(store):
    rows = [spectrum(i) for i in range(600)]
    store.upsert("spectra", rows, utc_now())
    assert store.upsert("spectra", rows, utc_now()) == 0  # nothing changed
    for i in (3, 300, 599):  # one row in each of three statements
        rows[i] = {**rows[i], "dq_flags": 9}
    assert store.upsert("spectra", rows, utc_now()) == 3
    flagged = [r[0] for r in store.conn.execute("SELECT spectrum_id FROM spectra WHERE dq_flags=9")]
    assert sorted(flagged) == ["s0003", "s0300", "s0599"]


def test_a_reused_id_in_a_later_batch_still_moves_the_old_row(store):
    store.upsert("spectra", [spectrum(i) for i in range(300)], utc_now())
    # s9999 arrives in the second statement carrying the id s0010 had
    incoming = [spectrum(i) for i in range(299) if i != 10] + [spectrum(9999, id=1010)]
    store.upsert("spectra", incoming, utc_now())
    ids = dict(store.conn.execute("SELECT spectrum_id, id FROM spectra"))
    assert ids["s9999"] == 1010
    assert ids["s0010"] < 0  # kept, with a local id out of the server's way
    assert len(ids) == 301 and ids["s0011"] == 1011


def test_prepared_rows_carry_keys_newest_and_stamp():
    rows = [spectrum(1), spectrum(2, updated_at=None), spectrum(30)]
    p = prepare_rows("spectra", rows, "now")
    assert p.keys == ["s0001", "s0002", "s0030"]
    assert p.newest == "2026-01-03T00:00:00+00:00"  # 30 % 28 = 2 -> Jan 3, the largest
    assert [v[-1] for v in p.values] == ["now"] * 3
    assert p.values[0][:2] == ("s0001", 1001)
