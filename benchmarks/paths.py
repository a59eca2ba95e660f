"""Where the benchmarks find the checkout, the demo archives and the reference data files, and
a writable copy of a demo archive to serve (:func:`demo_copy`: benchmarks that write to the
archive serve a copy, so the demo under ``.demo/`` is never changed).

Examples
--------
>>> reference_data("samples/linelist.ecsv") is None or reference_data("samples/linelist.ecsv").name
'linelist.ecsv'
"""

from __future__ import annotations

import shutil
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


def demo_copy(
    archive: Path, dest: Path, *, files: bool = False, can_inspect: tuple[str, ...] = ()
) -> Path:
    """A copy of the demo ``archive`` at ``dest`` to serve and write to; returns ``dest``.

    ``files=False`` copies only the database and the users file (enough for writes and the
    sync feeds; file downloads then fail); ``can_inspect`` names users (emails) given the
    inspect permission. Opening the copy migrates a demo built by an older campfire.

    Examples
    --------
    >>> copy = demo_copy(DEMO / "tiny", tmp / "archive")  # doctest: +SKIP
    >>> with Served(copy) as srv: ...  # doctest: +SKIP
    """
    from campfire.server.archive import Archive
    from campfire.server.auth.users import set_can_inspect

    if files:
        shutil.copytree(archive, dest)
    else:
        dest.mkdir(parents=True)
        shutil.copy2(archive / "archive.db", dest / "archive.db")
        shutil.copy2(archive / "demo-users.json", dest / "demo-users.json")
    arch = Archive(dest)
    try:
        for email in can_inspect:
            set_can_inspect(arch, email, True)
    finally:
        arch.close()
    return dest
