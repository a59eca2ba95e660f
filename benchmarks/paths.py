"""Where the benchmarks find the checkout, the demo archives and the reference data files.

Examples
--------
>>> reference_data("samples/linelist.ecsv") is None or reference_data("samples/linelist.ecsv").name
'linelist.ecsv'
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / ".demo"  # demo archives built once by the benchmarks (git-ignored)
DATA_DIRS = (ROOT / "tests" / "data", ROOT.parent / "shared" / "data")


def reference_data(rel: str) -> Path | None:
    """A reference file (``samples/…``, ``nirspec_dispersion/…``): the repository's copy under
    ``tests/data``, else the one in ``../shared/data``; None when neither exists."""
    for folder in DATA_DIRS:
        if (folder / rel).is_file():
            return folder / rel
    return None
