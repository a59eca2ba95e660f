"""The package's shape: no import cycles, small modules, a short top level, the public API.

These are the layout promises of issue #9, checked on the source itself: every module under
``campfire/`` is parsed with :mod:`ast` (nothing is imported), its module-level imports become
edges of a graph, and the graph must have no cycle. Imports inside ``if TYPE_CHECKING:`` blocks
and inside functions are not module level and are skipped; class bodies and ``try`` blocks run
at import time and count, and so does the ``__init__`` of every package an import passes through.

An import inside a function may close a cycle only for a reason (a second graph, with those
imports, must have no cycle but through :data:`LAZY_EDGES`). The ones that do today are the
models' documented conveniences, lazy so that ``import campfire`` stays fast:
``SpectrumData.from_fits`` and ``Spectrum.open`` call the FITS reader (``campfire.io``), which
builds a ``SpectrumData``; ``SpectrumData.plot`` calls ``campfire.views.plotting``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "campfire"
REFERENCE = REPO / "tests" / "data" / "reference" / "python-client-reference.txt"

MAX_LINES = 600
MAX_TOP_LEVEL = 12

# The documented public API: every name the reference docs and docs/ import from ``campfire``.
PUBLIC_API = [
    "APIError",
    "AuthenticationError",
    "Campfire",
    "CampfireError",
    "ConflictError",
    "DownloadError",
    "EMISSION_LINES",
    "NotFoundError",
    "SpectrumData",
    "ValidationError",
    "calibrate_and_stack",
    "calibrate_to_photometry",
    "convert_flux_units",
    "decode_flags",
    "encode_flags",
    "get_emission_lines",
    "list_flags",
    "plot_redshift_fit",
    "plot_spectrum",
    "plot_spectrum_simple",
    "stack_spectra",
    "synthetic_photometry",
]


# -- the import graph --------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_sources() -> dict[str, tuple[str, bool]]:
    """Every module of the package by dotted name: its source, and whether it is a package."""
    return {
        _module_name(p): (p.read_text(encoding="utf-8"), p.name == "__init__.py")
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(
    body: list[ast.stmt], functions: bool = False
) -> list[ast.Import | ast.ImportFrom]:
    """The imports that run when the module is imported: not in functions (unless
    ``functions``) nor in ``if TYPE_CHECKING:`` blocks.
    """
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _module_level_imports(node.body, functions)
            found += _module_level_imports(node.orelse, functions)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found += _module_level_imports(block, functions)
            for handler in node.handlers:
                found += _module_level_imports(handler.body, functions)
        elif isinstance(node, ast.With | ast.ClassDef) or (
            functions and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ):
            found += _module_level_imports(node.body, functions)
        elif functions and isinstance(node, ast.For | ast.While):
            found += _module_level_imports(node.body + node.orelse, functions)
    return found


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement loads: ``from pkg import name`` loads ``pkg.name`` when
    that is a submodule, else ``pkg`` itself (the name comes from the package's ``__init__``).
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: resolve against this module's package
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    return [f"{source}.{alias.name}" for alias in node.names] + [source]


def import_graph(
    sources: dict[str, tuple[str, bool]], functions: bool = False
) -> dict[str, set[str]]:
    """Module -> the modules of ``sources`` it imports at module level (and in its functions,
    with ``functions``).
    """
    graph: dict[str, set[str]] = {}
    for name, (source, is_package) in sources.items():
        edges: set[str] = set()
        for node in _module_level_imports(ast.parse(source, filename=name).body, functions):
            targets = _targets(name, is_package, node)
            if isinstance(node, ast.ImportFrom):
                # each imported name is a submodule, or else a name from the package itself
                *names, source_module = targets
                subs = [t for t in names if t in sources]
                edges.update(subs)
                if len(subs) < len(names) and source_module in sources:
                    edges.add(source_module)
            else:
                edges.update(t for t in targets if t in sources)
        # importing `a.b.c` first runs the package `a.b`'s __init__ (unless `a.b` is one of this
        # module's own packages, which are already being imported when this module runs)
        for target in list(edges):
            parts = target.split(".")
            for i in range(1, len(parts)):
                package = ".".join(parts[:i])
                if package in sources and not (name == package or name.startswith(package + ".")):
                    edges.add(package)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``a -> b -> ... -> a``) for each strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)

    cycles = []
    for group in groups:
        start = min(group)
        # breadth-first from start back to start, inside the group: the shortest cycle through it
        paths = {start: [start]}
        queue = [start]
        cycle: list[str] = []
        while queue and not cycle:
            v = queue.pop(0)
            for w in sorted(graph[v] & group):
                if w == start:
                    cycle = [*paths[v], start]
                    break
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    queue.append(w)
        cycles.append(cycle)
    return sorted(cycles)


def test_graph_sees_package_imports() -> None:
    sources = {
        "p": ("", True),
        "p.a": ("from p.b import f\nfrom p import c\n", False),
        "p.b": ("def f():\n    import p.a\n", False),  # inside a function: not an edge
        "p.c": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import p.a\n", False),
        "q": ("from q.x import g\n", True),  # a package that re-exports its submodule
        "q.x": ("try:\n    from p.a import y\nexcept ImportError:\n    pass\n", False),
        "r": ("from p import nothing_here\nclass K:\n    import q.x as x\n", False),
    }
    assert import_graph(sources) == {
        "p": set(),
        "p.a": {"p.b", "p.c"},  # `from p import c`: the submodule, not the package __init__
        "p.b": set(),
        "p.c": set(),
        "q": {"q.x"},
        "q.x": {"p", "p.a"},  # importing p.a runs p/__init__.py first
        "r": {"p", "q", "q.x"},  # a name from p's __init__; a class body runs at import
    }
    # q.x's import of its own package q is no edge: q is already importing when q.x runs
    assert find_cycles(import_graph(sources)) == []
    # counting imports inside functions, p.b -> p.a closes a cycle
    assert import_graph(sources, functions=True)["p.b"] == {"p.a"}
    assert find_cycles(import_graph(sources, functions=True)) == [["p.a", "p.b", "p.a"]]
    sources["p"] = ("import q\n", True)  # now q -> q.x -> p -> q
    assert find_cycles(import_graph(sources)) == [["p", "q", "q.x", "p"]]


def test_cycle_finder_reports_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_package_imports_resolve() -> None:
    tree = ast.parse("from . import data\nfrom ..errors import X\nimport campfire.io.fits")
    nodes = _module_level_imports(tree.body)
    assert _targets("campfire.models", True, nodes[0]) == [
        "campfire.models.data",
        "campfire.models",
    ]
    assert _targets("campfire.models.data", False, nodes[1]) == [
        "campfire.errors.X",
        "campfire.errors",
    ]
    assert _targets("campfire.x", False, nodes[2]) == ["campfire.io.fits"]


def test_no_import_cycles_at_module_level() -> None:
    cycles = find_cycles(import_graph(package_sources()))
    text = "\n".join(" -> ".join(c) for c in cycles)
    assert not cycles, f"import cycles at module level (outside TYPE_CHECKING):\n{text}"


#: imports inside functions that may close a cycle, each a documented convenience of a model
#: that calls a layer above it (see the module docstring)
LAZY_EDGES = {
    ("campfire.models.data", "campfire.io"),  # SpectrumData.from_fits
    ("campfire.models.data", "campfire.io.fits"),
    ("campfire.models.spectrum", "campfire.io"),  # Spectrum.open
    ("campfire.models.spectrum", "campfire.io.fits"),
    ("campfire.models.data", "campfire.views.plotting"),  # SpectrumData.plot
}


def test_imports_in_functions_hide_no_other_cycle() -> None:
    graph = import_graph(package_sources(), functions=True)
    for module, target in LAZY_EDGES:
        assert target in graph[module], f"{module} no longer imports {target}: update LAZY_EDGES"
        graph[module].discard(target)
    cycles = find_cycles(graph)
    text = "\n".join(" -> ".join(c) for c in cycles)
    assert not cycles, f"import cycles through imports inside functions:\n{text}"


# -- layers ------------------------------------------------------------------------------------

#: what each layer of the client may NOT import, at module level or inside functions: data flows
#: archive -> sync/download -> catalog -> models -> views, and the lower layers never reach up
#: (docs/architecture.md draws it). ``server`` stands for ``campfire.server`` and everything in it.
FORBIDDEN = {
    "archive": {
        "catalog",
        "sync",
        "download",
        "client",
        "models",
        "io",
        "science",
        "views",
        "cli",
        "server",
    },
    "catalog": {
        "archive",
        "sync",
        "download",
        "client",
        "models",
        "io",
        "science",
        "views",
        "cli",
        "server",
    },
    "sync": {"download", "client", "models", "io", "science", "views", "cli", "server"},
    "download": {"client", "views", "cli", "server"},
    "models": {"archive", "catalog", "sync", "download", "client", "cli", "server"},
    "io": {"archive", "catalog", "sync", "download", "client", "views", "cli", "server"},
    "science": {"archive", "catalog", "sync", "download", "client", "io", "cli", "server"},
    "views": {"archive", "sync", "download", "client", "cli", "server"},
    "client": {"cli", "server"},
    "server": {
        "archive",
        "catalog",
        "sync",
        "download",
        "client",
        "models",
        "io",
        "views",
        "cli",
        "science",
    },
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_layers_import_only_along_the_data_flow() -> None:
    graph = import_graph(package_sources(), functions=True)
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if _layer(target) in FORBIDDEN.get(_layer(module), set())
    )
    assert not wrong, "imports against the layers' direction:\n" + "\n".join(wrong)


def test_layer_rule_catches_an_upward_import() -> None:
    sources = {
        "campfire": ("", True),
        "campfire.catalog": ("", True),
        "campfire.catalog.reader": ("from campfire.archive import api\n", False),
        "campfire.archive": ("", True),
        "campfire.archive.api": ("", False),
    }
    graph = import_graph(sources, functions=True)
    assert "campfire.archive.api" in graph["campfire.catalog.reader"]
    assert "archive" in FORBIDDEN[_layer("campfire.catalog.reader")]


# -- size and shape ----------------------------------------------------------------------------


def test_no_module_over_the_line_limit() -> None:
    long: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long[str(path.relative_to(REPO))] = lines
    assert not long, f"modules over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("folder", ["campfire", "campfire/server"])
def test_top_level_is_short(folder: str) -> None:
    modules = sorted(p.name for p in (REPO / folder).glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL, (
        f"{len(modules)} modules directly in {folder}/ (at most {MAX_TOP_LEVEL}): {modules}"
    )


# -- the public API ----------------------------------------------------------------------------

_FROM_CAMPFIRE = re.compile(r"from campfire import (\([^)]*\)|[^\n]+)")


def documented_imports(text: str) -> set[str]:
    """The names that ``from campfire import ...`` lines in ``text`` bring in."""
    names: set[str] = set()
    for match in _FROM_CAMPFIRE.finditer(text):
        body = re.sub(r"#[^\n]*", "", match.group(1)).strip("() \n")
        names.update(n.split(" as ")[0].strip() for n in body.split(",") if n.strip())
    return names


def test_documented_imports_parse() -> None:
    text = textwrap.dedent(
        """\
        from campfire import Campfire, stack_spectra  # comment
        from campfire import (
            CampfireError,       # Base exception
            APIError,
        )
        """
    )
    assert documented_imports(text) == {"Campfire", "stack_spectra", "CampfireError", "APIError"}


def test_all_is_the_documented_api() -> None:
    import campfire

    assert sorted(PUBLIC_API) == PUBLIC_API
    assert sorted(campfire.__all__) == PUBLIC_API  # (ruff keeps __all__ in isort order)
    assert len(campfire.__all__) == len(PUBLIC_API)
    docs = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    in_docs = set().union(*(documented_imports(p.read_text(encoding="utf-8")) for p in docs))
    assert in_docs <= set(PUBLIC_API), (
        f"docs import names not in __all__: {in_docs - set(PUBLIC_API)}"
    )
    in_docs |= documented_imports(REFERENCE.read_text(encoding="utf-8"))  # the reference docs
    assert sorted(in_docs) == PUBLIC_API
    for name in PUBLIC_API:
        assert getattr(campfire, name) is not None


@pytest.mark.parametrize(
    ("path", "attribute"),
    [
        ("widgets", "Explorer"),
        ("imaging", "plot_cutout"),
        ("calibration", "calibrate_to_photometry"),
        ("flags", "DQFlags"),
    ],
)
def test_public_modules_resolve_from_a_bare_import(path: str, attribute: str) -> None:
    # a fresh interpreter, so nothing imported the submodule before `import campfire`
    code = f"import campfire; print(campfire.{path}.{attribute}.__name__)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == attribute


@pytest.mark.parametrize(
    ("public", "home"),
    [
        ("campfire.imaging", "campfire.views.imaging"),
        ("campfire.calibration", "campfire.science.calibration"),
    ],
)
def test_public_facades_export_what_their_module_exports(public: str, home: str) -> None:
    """A facade lists its names by hand: a name added to the module must reach the facade."""
    import importlib

    facade, module = importlib.import_module(public), importlib.import_module(home)
    assert sorted(facade.__all__) == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(facade, name) is getattr(module, name)
