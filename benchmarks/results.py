"""Benchmark rows: what each ``bench_*.py`` returns, how it travels, the table ``run.py`` prints.

A benchmark script measures, builds a list of :class:`Row` and, when run with ``--json``, prints
them as one JSON line (the last line of its output) for ``run.py`` to read. Every figure is a
median over the script's repeats, in the row's unit. The *ratio* is always ``figure / baseline``,
both measured in the same run and in the same unit: for times below 1 is better, for rates above 1
is better. A target applies either to the figure (``< 20 ms``) or to that ratio (``ratio >= 0.8``).

Examples
--------
>>> row = Row("catalog", "get_object", 0.12, "ms", Target("<", 5), baseline=0.05,
...           baseline_name="sqlite3")
>>> row.ratio is not None and round(row.ratio, 1)
2.4
>>> row.met
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["<", "<=", ">", ">="]
OPS: dict[str, Any] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
JSON_KEY = "campfire-bench"  # marks the JSON line among a script's other output


@dataclass(frozen=True)
class Target:
    """A bound on a row's figure (``on="value"``) or on its ratio to the baseline.

    ``applies=False`` shows the target but judges nothing ("n/a"): for a quick-mode figure whose
    setting is too small for the target to mean anything (a full sync of 50 objects is all fixed
    costs, where the target was set for half a million rows).
    """

    op: Op
    bound: float
    on: Literal["value", "ratio"] = "value"
    applies: bool = True

    def text(self, unit: str) -> str:
        """How the target reads in the table, e.g. ``< 20 ms`` or ``ratio >= 0.8``."""
        if self.on == "ratio":
            text = f"ratio {self.op} {format_number(self.bound)}"
        else:
            text = f"{self.op} {format_number(self.bound)} {unit}".rstrip()
        return text if self.applies else f"({text})"


@dataclass(frozen=True)
class Row:
    """One figure of one benchmark, with its target and same-run baseline.

    ``skipped`` holds a reason when the figure could not be measured here (a tool or a data file
    missing); ``crashed`` holds the error when the benchmark script itself failed; ``note`` says
    what the figure was measured on when that differs from the target's setting (quick mode).
    """

    benchmark: str
    name: str
    value: float | None
    unit: str
    target: Target | None = None
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""
    skipped: str = ""
    crashed: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / baseline`` (same unit, same run), or None without both."""
        return ratio(self.value, self.baseline)

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None when there is no target or nothing to judge."""
        return target_met(self.target, self.value, self.ratio)

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the JSON line (see :func:`rows_from_json` for the way back)."""
        return dataclasses.asdict(self)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline``; None when either is missing, not finite, or the baseline is 0.

    >>> ratio(6.0, 3.0), ratio(1.0, None), ratio(1.0, 0.0)
    (2.0, None, None)
    """
    if value is None or baseline is None or baseline == 0:
        return None
    if not (math.isfinite(value) and math.isfinite(baseline)):
        return None
    return value / baseline


def target_met(target: Target | None, value: float | None, rat: float | None) -> bool | None:
    """Judge ``target`` against the figure or the ratio; None when there is nothing to judge.

    >>> target_met(Target("<", 20), 6.8, None), target_met(Target(">=", 0.8, "ratio"), 5, None)
    (True, None)
    """
    if target is None or not target.applies:
        return None
    x = rat if target.on == "ratio" else value
    if x is None or not math.isfinite(x):
        return None
    return bool(OPS[target.op](x, target.bound))


def format_number(x: float) -> str:
    """Three significant figures, thousands separated, no exponent below 1e15.

    >>> [format_number(x) for x in (0.000123, 0.5, 6.789, 42.19, 219876.0, 3.0)]
    ['0.000123', '0.5', '6.79', '42.2', '219,876', '3']
    """
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) >= 999.5:  # 999.6 would round to "1000"
        return f"{x:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def emit(benchmark: str, mode: str, rows: Sequence[Row]) -> str:
    """The JSON line a script prints last under ``--json``."""
    return json.dumps({JSON_KEY: benchmark, "mode": mode, "rows": [r.to_json() for r in rows]})


def rows_from_json(line: str) -> list[Row]:
    """Rows from a line written by :func:`emit`; ValueError if it is not one."""
    data = json.loads(line)
    if not isinstance(data, dict) or JSON_KEY not in data:
        raise ValueError("not a benchmark JSON line")
    out = []
    for r in data["rows"]:
        target = Target(**r.pop("target")) if r.get("target") else None
        r.pop("target", None)
        out.append(Row(**r, target=target))
    return out


def find_rows(stdout: str) -> list[Row] | None:
    """The rows in a script's output: its last line that :func:`rows_from_json` accepts."""
    for line in reversed(stdout.splitlines()):
        if JSON_KEY in line:
            try:
                return rows_from_json(line)
            except (ValueError, TypeError, KeyError):
                continue
    return None


# -- the table -----------------------------------------------------------------------------------

COLUMNS = ("benchmark", "measure", "median", "target", "baseline", "ratio", "met", "measured on")
RIGHT = {"median", "ratio"}


def cells(row: Row) -> list[str]:
    """The table cells of one row, as text."""
    if row.crashed:
        return [row.benchmark, "CRASHED", "", "", "", "", "", row.crashed]
    if row.skipped or row.value is None:
        why = f"skipped: {row.skipped or 'no figure'}" + (f" ({row.note})" if row.note else "")
        return [row.benchmark, row.name, "skipped", "", "", "", "", why]
    unit = f" {row.unit}" if row.unit else ""
    baseline = ""
    if row.baseline is not None:
        baseline = f"{row.baseline_name} {format_number(row.baseline)}{unit}".strip()
    rat = row.ratio
    met = {True: "yes", False: "MISSED", None: ""}[row.met]
    if row.target is not None and not row.target.applies:
        met = "n/a"
    return [
        row.benchmark,
        row.name,
        f"{format_number(row.value)}{unit}",
        row.target.text(row.unit) if row.target else "",
        baseline,
        "" if rat is None else f"{format_number(rat)}x",
        met,
        row.note,
    ]


def format_table(rows: Iterable[Row], markdown: bool = False) -> str:
    """The rows as one aligned plain-text table, or a Markdown table.

    >>> print(format_table([Row("science", "stack", 6.6, "ms", Target("<", 200))]))
    benchmark  measure  median  target    baseline  ratio  met  measured on
    ---------  -------  ------  --------  --------  -----  ---  -----------
    science    stack    6.6 ms  < 200 ms                   yes
    """
    body = [cells(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |"]
        lines.append("|" + "|".join("---:" if c in RIGHT else "---" for c in COLUMNS) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max([len(c), *(len(b[i]) for b in body)]) for i, c in enumerate(COLUMNS)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if c in RIGHT else v.ljust(w)
            for c, v, w in zip(COLUMNS, values, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *(line(b) for b in body)])
