"""The folder layout is the data path: imports only ever point down it (docs/design.md).

    core → media → diarize → interaction → analysis → hr, dashboard → server → lgd

Parsed from the source (every import, also those inside functions and under TYPE_CHECKING),
so a lazy import cannot hide an arrow that runs back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: package -> its place on the data path; a module may import its own package and lower ones.
LAYERS = {
    "core": 0,
    "media": 1,
    "diarize": 2,
    "interaction": 3,
    "analysis": 4,
    "hr": 5,
    "dashboard": 5,
    "server": 6,
    "lgd": 7,
}
TESTKIT = "testkit"
#: the one product module that may use the test kit: the rehearsal commands (`lgd synth`,
#: `lgd demo`) that script a discussion to try the product on.
TESTKIT_USERS = {"lgd/rehearse.py"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in [*LAYERS, TESTKIT]:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path, module: str) -> set[str]:
    """Every module of ours that `path` imports (resolved to the longest known name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    ours = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            ours.add(name)
    return ours


GRAPH = nx.DiGraph()
for _mod, _path in MODULES.items():
    GRAPH.add_node(_mod)
    for _dep in _imports(_path, _mod):
        GRAPH.add_edge(_mod, _dep)


def _pkg(module: str) -> str:
    return module.split(".")[0]


def test_every_package_is_on_the_data_path():
    top = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert top - {"tests", "benchmarks"} == set(LAYERS) | {TESTKIT}


def test_no_stage_imports_a_later_one():
    back = [
        f"{a} -> {b}"
        for a, b in GRAPH.edges
        if _pkg(b) in LAYERS and _pkg(a) in LAYERS and _pkg(a) != _pkg(b)
        and LAYERS[_pkg(b)] >= LAYERS[_pkg(a)]
    ]
    assert back == []


def test_core_imports_nothing_of_ours():
    assert [f"{a} -> {b}" for a, b in GRAPH.edges if _pkg(a) == "core" and _pkg(b) != "core"] == []


def test_the_product_never_imports_the_test_kit():
    bad = [
        f"{a} -> {b}"
        for a, b in GRAPH.edges
        if _pkg(b) == TESTKIT and _pkg(a) != TESTKIT
        and str(MODULES[a].relative_to(ROOT)) not in TESTKIT_USERS
    ]
    assert bad == []


def test_no_file_level_cycles():
    assert sorted(sorted(c) for c in nx.simple_cycles(GRAPH)) == []


@pytest.mark.parametrize("pkg", sorted(set(LAYERS) - {"core", "dashboard"}))
def test_the_rules_see_real_imports(pkg):
    """Guard against a parser that sees nothing: each stage imports from below (core has
    nothing below it; dashboard is static pages)."""
    assert any(_pkg(a) == pkg and _pkg(b) != pkg for a, b in GRAPH.edges), pkg


def test_a_back_arrow_would_be_seen(tmp_path):
    """The parser sees a lazy import inside a function, relative imports included."""
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from analysis.driver import Analysis\n    from . import live\n")
    assert {"analysis.driver", "media.live"} <= _imports(f, "media.x")
