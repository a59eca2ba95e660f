"""The benchmark runner's table and ratio logic on fixed rows (no benchmark is run here)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[ModuleType, ModuleType]]:
    """``benchmarks/results.py`` and ``benchmarks/run.py``, imported for this module only."""
    sys.path.insert(0, str(BENCH))
    try:
        import results
        import run
    finally:
        sys.path.remove(str(BENCH))
    yield results, run
    sys.modules.pop("results", None)
    sys.modules.pop("run", None)


def rows(results: ModuleType) -> list:
    Row, Target = results.Row, results.Target
    return [
        Row("catalog", "get_object", 0.12, "ms", Target("<", 5), 0.05, "sqlite3", "large"),
        Row(
            "catalog", "iter_objects", 219000.0, "rows/s", Target(">=", 200000), 66000.0, "sqlite3"
        ),
        Row("sync", "full sync", 11.4, "s", Target("<=", 1.5, "ratio"), 8.8, "bare loop"),
        Row("download", "one observation", 60.0, "MB/s", Target(">=", 0.8, "ratio"), 100.0, "curl"),
        Row("sync", "tiny sync", 0.9, "s", Target("<=", 1.5, "ratio", applies=False), 0.03, "bare"),
        Row("download", "curl", None, "MB/s", skipped="curl not found"),
        Row("widgets", "", None, "", crashed="exit 1: ImportError: no module"),
    ]


def test_ratio_is_figure_over_baseline_and_targets_judge_figure_or_ratio(bench):
    results, _ = bench
    r = rows(results)
    assert r[0].ratio == pytest.approx(2.4) and r[0].met is True
    assert r[1].ratio == pytest.approx(219 / 66) and r[1].met is True
    assert r[2].ratio == pytest.approx(11.4 / 8.8) and r[2].met is True  # 1.30 <= 1.5
    assert r[3].ratio == pytest.approx(0.6) and r[3].met is False  # 60% of curl < 80%
    assert r[4].met is None  # shown, not judged
    assert r[5].ratio is None and r[5].met is None
    assert results.ratio(1.0, 0.0) is None and results.ratio(float("nan"), 1.0) is None
    assert results.target_met(results.Target(">=", 0.8, "ratio"), 5.0, None) is None
    assert results.target_met(results.Target("<", 20), 20.0, None) is False  # strict bound


def test_number_format(bench):
    format_number = bench[0].format_number
    got = [format_number(x) for x in (0.000123, 0.05, 6.789, 42.19, 999.6, 219876.0, 0.0)]
    assert got == ["0.000123", "0.05", "6.79", "42.2", "1,000", "219,876", "0"]


def test_plain_table_is_aligned_and_says_met_missed_skipped_crashed(bench):
    results, _ = bench
    text = results.format_table(rows(results))
    lines = text.splitlines()
    assert lines[0].split() == ["benchmark", "measure", "median", "target", "baseline", "ratio",
                                "met", "measured", "on"]  # fmt: skip
    assert set(lines[1]) == {"-", " "} and len(lines) == 2 + 7
    # each column sits in its dash run: left-aligned text starts there, "median" and "ratio" end
    spans = [(m.start(), m.end()) for m in re.finditer("-+", lines[1])]
    assert len(spans) == len(results.COLUMNS)
    for line in lines[2:]:
        for (start, end), col in zip(spans, results.COLUMNS, strict=True):
            cell = line[start:end]
            assert line[start - 2 : start].strip() == "" if start else True
            if cell.strip() and col in results.RIGHT:
                assert cell[-1] != " " and cell == cell.rjust(end - start), (col, line)
            elif cell.strip():
                assert cell[0] != " ", (col, line)
    get, it, full, dl, tiny, skip, crash = lines[2:]
    assert "0.12 ms" in get and "< 5 ms" in get and "sqlite3 0.05 ms" in get and "2.4x" in get
    assert get.split("  ")[-1].strip() == "large" and " yes " in get
    assert "219,000 rows/s" in it and ">= 200,000 rows/s" in it and "3.32x" in it
    assert "ratio <= 1.5" in full and "1.3x" in full and " yes" in full
    assert "60 MB/s" in dl and "curl 100 MB/s" in dl and "0.6x" in dl and "MISSED" in dl
    assert "(ratio <= 1.5)" in tiny and " n/a" in tiny and "MISSED" not in tiny
    assert skip.split()[2] == "skipped" and skip.endswith("skipped: curl not found")
    assert "CRASHED" in crash and "ImportError" in crash
    assert lines[2].index("0.12 ms") + len("0.12 ms") == lines[0].index("median") + 6


def test_markdown_table(bench):
    results, _ = bench
    text = results.format_table(rows(results)[:2], markdown=True)
    lines = text.splitlines()
    assert lines[0] == "| " + " | ".join(results.COLUMNS) + " |"
    assert lines[1].count("|") == len(results.COLUMNS) + 1 and "---:" in lines[1]
    assert lines[2].startswith("| catalog | get_object | 0.12 ms | < 5 ms | sqlite3 0.05 ms |")


def test_rows_travel_as_one_json_line_among_other_output(bench):
    results, _ = bench
    sent = rows(results)
    line = results.emit("catalog", "quick", sent)
    got = results.find_rows(f"building...\n{{not json\n{line}\ndone\n")
    assert got == sent and got[2].target == results.Target("<=", 1.5, "ratio")
    assert results.find_rows("no rows here\n") is None


def test_runner_turns_failures_into_crash_rows(bench):
    results, run = bench
    line = results.emit("science", "quick", rows(results)[:1])
    assert run.rows_of("science", f"x\n{line}\n", 0, 3.0) == rows(results)[:1]
    crash = run.rows_of("sync", f"{line}\nTraceback\nKeyError: 'objects'\n", 1, 3.0)
    assert len(crash) == 1 and crash[0].crashed == "exit 1: KeyError: 'objects'"
    assert run.rows_of("sync", "hello\n", 0, 3.0)[0].crashed == "no rows printed: hello"
    assert run.rows_of("sync", "", None, 900.0)[0].crashed == "timed out after 900 s"
    assert run.command("sync", full=False)[-2:] == ["--json", "--quick"]
    assert "--quick" not in run.command("sync", full=True)


def test_runner_knows_every_benchmark_script(bench):
    _, run = bench
    scripts = sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))
    assert sorted(run.BENCHMARKS) == scripts
