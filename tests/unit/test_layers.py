"""The layers of DESIGN §3 (docs/architecture.md), checked on the source: every import of every
module, at import time and at call time (inside functions), except those under ``if
TYPE_CHECKING:``. No module imports from a higher layer; the module graph has no cycle; the
third-party rules hold (core imports only core, errors and choices; FastAPI and pydantic only
in the API; psycopg and websockets only from the store and ingestion up); each choice list is
spelled out once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "riskengine"

# layer of each top-level module or package of riskengine (docs/architecture.md)
LAYERS = {
    "core": 0, "errors": 0, "cache": 0, "report": 0, "version": 0, "choices": 0, "_moved": 0,
    "frames": 0,
    "market": 1, "instruments": 1, "scale": 1, "inputfile": 1, "spec": 1,
    "scenarios": 2, "pricing": 2,
    "revaluation": 3,
    "methods": 4, "decomposition": 4, "stress": 4, "backtest": 4, "frtb": 4,
    "pipeline": 5, "whatif": 5,
    "store": 6, "ingest": 6,
    "service": 7,
    "api": 8, "cli": 8, "__main__": 8,
}  # fmt: skip
CORE_MAY_IMPORT = ("riskengine.errors", "riskengine.choices")  # plain definitions, layer 0
TOP = 9  # riskengine/__init__.py: the public names, above everything
# third-party packages and the lowest layer that may import them
THIRD_PARTY_FLOOR = {"fastapi": 8, "pydantic": 7, "starlette": 8, "uvicorn": 8,
                     "psycopg": 6, "psycopg_pool": 6, "websockets": 6,
                     "fastapi_offline": 8}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return TOP
    if parts[1] not in LAYERS:
        raise AssertionError(f"{module}: no layer; add it to LAYERS and docs/architecture.md")
    return LAYERS[parts[1]]


def _type_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                out.update(id(n) for n in ast.walk(inner))
    return out


def imports() -> dict[str, list[tuple[str, int]]]:
    """module -> [(imported module, line)] over every import that runs (not type-only)."""
    out: dict[str, list[tuple[str, int]]] = {}
    names = {_module_name(p) for p in SRC.rglob("*.py")}
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_only(tree)
        found = out.setdefault(module, [])
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                found += [(a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:  # "from pkg import submodule" imports the submodule
                    sub = f"{target}.{alias.name}"
                    found.append((sub if sub in names else target, node.lineno))
    return out


GRAPH = imports()


def test_every_module_has_a_layer():
    for module in GRAPH:
        layer_of(module)


def test_no_module_imports_from_a_higher_layer():
    wrong = sorted(
        {
            f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)}) at line {line}"
            for m, targets in GRAPH.items()
            for t, line in targets
            if t.split(".")[0] == "riskengine" and layer_of(t) > layer_of(m)
        }
    )
    assert not wrong, "\n".join(wrong)


def test_third_party_packages_stay_in_their_layers():
    wrong = []
    for m, targets in GRAPH.items():
        for t, line in targets:
            root = t.split(".")[0]
            if (
                m.startswith("riskengine.core")
                and root == "riskengine"
                and not (t.startswith("riskengine.core") or t in CORE_MAY_IMPORT)
            ):
                wrong.append(f"{m} imports {t} at line {line}: core imports only core, errors")
            floor = THIRD_PARTY_FLOOR.get(root)
            if floor is not None and layer_of(m) < floor:
                wrong.append(f"{m} (layer {layer_of(m)}) imports {root} at line {line}")
    assert not wrong, "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        component.append(w)
                        if w == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def _package_graph() -> dict[str, set[str]]:
    """Module graph without the facade: an ``__init__`` that only re-exports its package's
    modules is how Python packages work, not a cycle between the modules."""
    graph: dict[str, set[str]] = {}
    for m, targets in GRAPH.items():
        if m == "riskengine":
            continue
        graph[m] = {
            t for t, _ in targets if t in GRAPH and t != "riskengine" and not m.startswith(t + ".")
        }
    return graph


def test_no_import_cycle():
    cycles = _cycles(_package_graph())
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_check_sees_a_cycle_and_a_layer_break():
    """The oracle can fail: a made-up graph with a cycle, and a made-up upward import."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("riskengine.core.measures") < layer_of("riskengine.pipeline")
    with pytest.raises(AssertionError, match="no layer"):
        layer_of("riskengine.nowhere.module")


def _string_tuples(tree: ast.AST):
    """(values, line) of every tuple or Literal[...] of two or more string constants."""
    for node in ast.walk(tree):
        elts = None
        if isinstance(node, ast.Tuple):
            elts = node.elts
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Literal"
            and isinstance(node.slice, ast.Tuple)
        ):
            elts = node.slice.elts
        if (
            elts
            and len(elts) >= 2
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in elts)
        ):
            yield tuple(e.value for e in elts), node.lineno


def test_each_choice_list_is_defined_once():
    """The choice lists of riskengine.choices are spelled out nowhere else in the source (the
    CLI, the API schema and the checks read them from there)."""
    from riskengine import choices

    lists = {
        tuple(v): name
        for name, v in vars(choices).items()
        if name.isupper() and isinstance(v, tuple) and len(v) >= 2
    }
    again = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "choices.py" and path.parent == SRC:
            continue
        for values, line in _string_tuples(ast.parse(path.read_text(encoding="utf-8"))):
            if values in lists:
                again.append(f"{path.relative_to(SRC)}:{line} spells out choices.{lists[values]}")
    assert not again, "\n".join(again)


def test_the_registries_follow_the_choice_lists():
    from riskengine import choices
    from riskengine.methods import METHODS
    from riskengine.spec import PRESETS

    assert tuple(METHODS) == choices.METHOD_NAMES
    assert tuple(PRESETS) == choices.PRESET_NAMES


def test_the_store_does_not_import_ingestion():
    """DESIGN §3: the store keeps market data (``market.tick.Tick``) without importing the
    ingestion that produces it."""
    bad = [
        f"{module}:{line} imports {target}"
        for module, found in imports().items()
        if module.startswith("riskengine.store")
        for target, line in found
        if target.startswith("riskengine.ingest")
    ]
    assert not bad, "\n".join(bad)
