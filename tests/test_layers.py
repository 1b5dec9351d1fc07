"""No import circles: lookskip's modules, and the Rust crate's, form layers.

Why: a circle (``classify`` importing ``bulk`` importing ``classify``) means neither
side can be read, tested or changed alone, and a lazy import hiding it breaks the
day someone moves it to the top. Issue 24 found five (``classify ↔ bulk``,
``model ↔ training``, ``datasets ↔ ingest``, ``baseline.rs → rows.rs → engine.rs →
score.rs → baseline.rs`` and within ``rust/src/python/``); these tests keep them,
and any new one, out. Shared pieces move down a layer instead (``classify.linecut``,
``classify.threshold``, ``samples``, ``model.format``, ``training.export``,
``training.errors``, ``bulk.baseline``, ``model.key.key_rules_hash``; ``atomic.rs``,
``python/handles.rs``).

Every import counts, lazy ones inside functions too (they are circles all the same,
only deferred); imports under ``if TYPE_CHECKING:`` do not (they never run).
``from pkg import mod`` is an import of ``pkg.mod``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def python_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``module -> modules it imports`` among ``lookskip``'s modules."""
    files = {}
    for f in (root / "lookskip").rglob("*.py"):
        parts = f.relative_to(root).with_suffix("").parts
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[mod] = f
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, f in files.items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in files] or [node.module]
            for t in targets:
                while t not in files and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in files and t != mod and not mod.startswith(t + "."):
                    graph[mod].add(t)  # (a package's own __init__ runs first anyway)
    return graph


def rust_graph(src: Path = ROOT / "rust" / "src") -> dict[str, set[str]]:
    """``file -> files it uses`` among the crate's modules (``crate::x``, ``super::x``)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("").as_posix()
        if rel.endswith("/mod"):
            rel = rel[: -len("/mod")]
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        text = re.sub(r"//[^\n]*", "", f.read_text(encoding="utf-8"))
        for m in re.finditer(r"\b(crate|super)::(\w+)", text):
            base = "" if m.group(1) == "crate" else parent
            target = f"{base}/{m.group(2)}" if base else m.group(2)
            exists = (src / f"{target}.rs").exists() or (src / target / "mod.rs").exists()
            if exists and target != rel:
                graph[rel].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_python_modules_form_layers():
    graph = python_graph()
    assert "lookskip.classify.linecut" in graph["lookskip.bulk.scan"]  # the graph is real
    assert circles(graph) == []


def test_the_named_pairs_of_issue_24_import_one_way():
    graph = python_graph()

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [m for m in graph if m == a or m.startswith(a + ".")]
        while todo:
            m = todo.pop()
            if m == b or m.startswith(b + "."):
                return True
            if m not in seen:
                seen.add(m)
                todo.extend(graph.get(m, ()))
        return False

    for low, high in (
        ("lookskip.classify.scorer", "lookskip.bulk"),
        ("lookskip.datasets", "lookskip.ingest"),
        ("lookskip.model.export", "lookskip.training"),
    ):
        assert not reaches(low, high), f"{low} imports {high}"


def test_rust_modules_form_layers():
    graph = rust_graph()
    assert "atomic" in graph["baseline"] and "python/handles" in graph["python/bulk"]
    assert circles(graph) == []
