"""Imports point one way (architecture §1): the package-level import graph follows LAYERS.

Every module under flowsql/, catalog/ and connectors/ is parsed with ``ast``; every import,
at module level or inside a function (a lazy import is still a dependency), is mapped to its
package (``flowsql.<sub>`` for flowsql's subpackages and top-level modules, else the top-level
package). An import may point to the same package or to a package of a LOWER layer; packages
of one layer sit beside each other and do not import each other. So the graph has no cycle.

The order, low to high, and why:
- ``flowsql`` (the package root: ``__version__``), ``errors`` and ``failpoints`` (crash points
  for fault tests); then the shared vocabulary
  ``types``, ``config``, ``messages`` (row kinds, watermarks, control messages) and
  ``date_patterns`` (Java date patterns, read alike by both engines and the connectors).
- ``state``, ``catalog`` (table records) and ``physical`` (the JobGraph: plain data that the
  planner produces and the runtime deploys, so it sits below both of them).
- ``sql`` (parse / generate; it builds catalog records) and ``connectors`` (they see catalog
  records, Arrow and the streaming contract of ``connectors/base.py``; no planner, runtime or
  operators; ``catalog`` in turn knows no connector).
- ``udf`` (the Python UDF API, loading and the one call path) beside ``sql``.
- ``expr`` (compiles SQL expressions) and ``batch`` (DuckDB).
- ``operators`` (consume the connector contract, build on state and expr).
- ``runtime`` (runs operators) beside ``planner`` (plans down to a JobGraph): neither imports
  the other, so only plain data crosses from planning to running.
- the faces: ``session``, then ``shell`` and ``gateway``, then ``cli``, then ``__main__``.

The pipeline in the architecture reads "sql → planner → physical → runtime → operators →
state"; as imports the front end inverts (the planner imports the parser, and the runtime
and the planner both import the JobGraph contract), the back end does not.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("flowsql", "catalog", "connectors")

LAYERS: list[tuple[str, ...]] = [
    ("flowsql", "flowsql.errors", "flowsql.failpoints"),
    ("flowsql.types", "flowsql.config", "flowsql.messages", "flowsql.date_patterns"),
    ("flowsql.state", "catalog", "flowsql.physical"),
    ("flowsql.sql", "connectors", "flowsql.udf"),
    ("flowsql.expr", "flowsql.batch"),
    ("flowsql.operators",),
    ("flowsql.runtime", "flowsql.planner"),
    ("flowsql.session",),
    ("flowsql.shell", "flowsql.gateway"),
    ("flowsql.cli",),
    ("flowsql.__main__",),
]

# Imports that cannot point down yet: (importing package, imported package) -> reason.
ALLOWED: dict[tuple[str, str], str] = {}

RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "flowsql" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def _targets(node: ast.AST, module: str, is_init: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_init else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target == "flowsql":  # ``from flowsql import shell`` names a subpackage
        names = [a.name for a in node.names]
        subs = [n for n in names if (ROOT / "flowsql" / n).exists()
                or (ROOT / "flowsql" / f"{n}.py").exists()]
        return [f"flowsql.{n}" for n in subs] + (["flowsql"] if len(subs) < len(names) else [])
    return [target]


@functools.cache
def _imports() -> tuple[tuple[str, str, str], ...]:
    """(importing package, imported package, "module:line") for every cross-package import
    (parsed once for all the tests here)."""
    found = []
    for top in TOPS:
        for path in sorted((ROOT / top).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                for target in _targets(node, module, path.name == "__init__.py"):
                    if target.split(".")[0] not in TOPS:
                        continue
                    src, dst = _package(module), _package(target)
                    if src != dst:
                        found.append((src, dst, f"{module}:{node.lineno}"))
    return tuple(found)


def test_every_package_has_a_layer() -> None:
    packages = {p for src, dst, _ in _imports() for p in (src, dst)}
    for top in TOPS:
        for path in (ROOT / top).rglob("*.py"):
            packages.add(_package(_module_name(path)))
    missing = sorted(packages - set(RANK))
    assert not missing, f"place these packages in LAYERS: {missing}"


def test_imports_point_down() -> None:
    wrong = [
        f"{where}: {src} (layer {RANK[src]}) imports {dst} (layer {RANK[dst]})"
        for src, dst, where in _imports()
        if src in RANK and dst in RANK and RANK[dst] >= RANK[src] and (src, dst) not in ALLOWED
    ]
    assert not wrong, "imports must point to a lower layer:\n" + "\n".join(wrong)


def test_package_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for src, dst, _ in _imports():
        graph.setdefault(src, set()).add(dst)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_allow_list_is_still_needed() -> None:
    used = {(src, dst) for src, dst, _ in _imports()}
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"remove these ALLOWED entries, the imports are gone: {stale}"
