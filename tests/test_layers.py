"""Import graph of cdisc_dpn, read statically from the source (ast), so that the layers stay one-way.

Every `import` / `from ... import` counts, including those inside functions: a deferred import is
still a dependency, it only hides it from the import-time cycle detector. The one exception is an
import under `if TYPE_CHECKING:`, which never runs: the core DomainFrame names spec's DatasetSpec in an
annotation only.
Units are the subpackages (cdisc_dpn/mapping/ ...) and the top-level modules (cdisc_dpn/errors.py ...).
Run `python tests/test_layers.py` to print the graph.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "cdisc_dpn"
PACKAGE = PACKAGE_DIR.name

#: Layer of every unit, bottom (1) to top (5): a unit imports only from its own layer or below, and
#: the graph has no cycle, within a layer either. A new module or subpackage must be placed here.
LAYERS: dict[str, int] = {
    # 1 core: shared types and helpers with no knowledge of standards or specs
    "__init__": 1, "errors": 1, "finding_codes": 1, "frames": 1, "atomic": 1, "distinct": 1,
    "output_folder": 1, "xlsx": 1,
    # 2 standards: SDTMIG metadata, controlled terminology
    "standards": 2, "terminology": 2,
    # 3 the study spec: model, loader, checks, workbook
    "spec": 3,
    # 4 stages: raw input, algorithms and their catalogue (derive), mapping, xpt, validation, define,
    #   and the stage-level tools (cascade of consequences, compare, synthetic data)
    "raw": 4, "derive": 4, "mapping": 4, "xpt": 4, "validation": 4, "define": 4,
    "cascade": 4, "compare": 4, "synth": 4,
    # 5 pipeline (the one owner of the stage order), CLI, generated docs
    "pipeline": 5, "cli": 5, "findings_doc": 5,
}

#: Upward edges still allowed, each with why; a gap to close, not a design. The test fails when one of
#: them disappears, so that this list only shrinks.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> tuple[list[str], bool]:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return (parts[:-1] if is_package else parts), is_package


def _unit(dotted: str) -> str:
    """cdisc_dpn.mapping.engine -> mapping; cdisc_dpn.errors -> errors; cdisc_dpn -> __init__."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_unit(name: str) -> bool:
    return (PACKAGE_DIR / name).is_dir() or (PACKAGE_DIR / f"{name}.py").is_file()


def _imported_modules(node: ast.AST, parts: list[str], is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = parts if is_package else parts[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if module == PACKAGE:   # `from cdisc_dpn import errors` names a unit; `import __version__` the package
        return [f"{PACKAGE}.{a.name}" if _is_unit(a.name) else PACKAGE for a in node.names]
    return [module]


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside `if TYPE_CHECKING:` blocks (annotations only, never executed)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skipped


def import_edges() -> dict[tuple[str, str], list[str]]:
    """(importer unit, imported unit) -> the places ("cdisc_dpn/x/y.py:12") that make the edge."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts, is_package = _module_name(path)
        source = _unit(".".join(parts))
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skipped = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            for module in _imported_modules(node, parts, is_package):
                if module != PACKAGE and not module.startswith(PACKAGE + "."):
                    continue
                target = _unit(module)
                if target != source:
                    where = f"{path.relative_to(PACKAGE_DIR.parent)}:{node.lineno}"
                    edges.setdefault((source, target), []).append(where)
    return edges


def units() -> list[str]:
    found = {p.stem for p in PACKAGE_DIR.glob("*.py")}
    found |= {p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").is_file()}
    return sorted(found)


def cycles(edges) -> set[tuple[str, ...]]:
    """Strongly connected components of more than one unit, each as a sorted tuple (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def two_way_pairs(edges) -> set[tuple[str, str]]:
    return {tuple(sorted((a, b))) for a, b in edges if (b, a) in edges}


def render(edges) -> str:
    lines = []
    for source in units():
        targets = sorted(b for a, b in edges if a == source)
        lines.append(f"{source} -> {', '.join(targets) if targets else '(nothing)'}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- tests
def test_graph_is_read_from_real_source():
    edges = import_edges()
    assert ("pipeline", "mapping") in edges     # pipeline.py runs the mapping stage
    assert ("cli", "pipeline") in edges
    assert all(not a.startswith("_") or a == "__init__" for a, _ in edges)


def test_deferred_imports_count(tmp_path):
    """An import inside a function body is an edge like a top-level one."""
    tree = ast.parse("def f():\n    from cdisc_dpn.spec import model\n")
    found = [m for node in ast.walk(tree) for m in _imported_modules(node, ["cdisc_dpn", "raw", "x"], False)]
    assert found == ["cdisc_dpn.spec"]


def test_type_checking_imports_do_not_count():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cdisc_dpn.spec import model\n")
    skipped = _type_checking_only(tree)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert [id(n) in skipped for n in imports] == [False, True]


def test_relative_imports_resolve():
    tree = ast.parse("from ..spec.model import X\nfrom . import y\n")
    found = [m for node in ast.walk(tree) for m in _imported_modules(node, ["cdisc_dpn", "raw", "x"], False)]
    assert found == ["cdisc_dpn.spec.model", "cdisc_dpn.raw"]


def test_cycle_finder_finds_a_cycle():
    assert cycles({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}) == {("a", "b", "c")}


def test_every_unit_has_a_layer():
    missing = sorted(set(units()) - set(LAYERS))
    stale = sorted(set(LAYERS) - set(units()))
    assert not missing and not stale, f"place these units in LAYERS: {missing}; no longer exist: {stale}"


def test_no_upward_imports():
    edges = import_edges()
    upward = {(a, b): places for (a, b), places in edges.items()
              if LAYERS.get(b, 0) > LAYERS.get(a, 0) and (a, b) not in ALLOWED_UPWARD}
    assert not upward, "imports from a higher layer: " + "; ".join(
        f"{a} (layer {LAYERS[a]}) -> {b} (layer {LAYERS[b]}) at {', '.join(places)}" for (a, b), places in sorted(upward.items()))


def test_allowed_upward_edges_still_exist():
    """An allowed edge that is gone must leave the list (the list of gaps only shrinks)."""
    edges = import_edges()
    gone = [edge for edge in ALLOWED_UPWARD if edge not in edges]
    assert not gone, f"remove from ALLOWED_UPWARD: {gone}"


def test_no_import_cycles():
    edges = import_edges()
    print("\n" + render(edges))
    found = cycles({edge: places for edge, places in edges.items() if edge not in ALLOWED_UPWARD})
    assert not found, f"import cycles: {sorted(found)}; two-way pairs: {sorted(two_way_pairs(edges))}"


def test_docs_show_the_current_graph():
    """docs/architecture.md carries the generated graph; regenerate it with `python tests/test_layers.py`."""
    doc = (PACKAGE_DIR.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = doc.split("```text\n", 1)[1].split("```", 1)[0]
    assert block.strip() == render(import_edges()), "docs/architecture.md: the import graph is out of date"
    for (a, b) in ALLOWED_UPWARD:
        assert f"`{a} -> {b}`" in doc, f"docs/architecture.md does not explain the allowed edge {a} -> {b}"


if __name__ == "__main__":
    graph = import_edges()
    print(render(graph))
    print("cycles:", sorted(cycles(graph)))
    print("cycles without the allowed upward edges:",
          sorted(cycles({e: p for e, p in graph.items() if e not in ALLOWED_UPWARD})))
    print("two-way pairs:", sorted(two_way_pairs(graph)))
