#!/usr/bin/env python3
"""Fail when a crate's modules import each other in a circle.

Why: the engine keeps its plain data types (the model layer) below the operations, and state
modules below the operations, so that each module can be read, tested and changed on its own
(TigerBeetle keeps `tigerbeetle.zig` types apart from `state_machine.zig`). A cycle is the first
sign of that layering eroding, and nothing in rustc forbids it — hence this check.

What it reads: every `crate::` and `super::` path in every `.rs` file under the crate's `src/`,
in `use` trees (nested groups included) *and* inline in code (`crate::events::CancelledBy::
Provider`), resolving root re-exports (`crate::Engine` → the module that defines `Engine`).
Each file is one module (`a/mod.rs` is `a`); `#[cfg(test)]` inline modules are left out
(unit tests may use anything). An edge A → B means A names something in B; a
module naming its own submodules' items is an edge too. Any strongly connected set of more than
one module is reported with one cycle through it.

Usage: ci/import_cycles.py [crate_src_dir ...]   (default: core/src)
       ci/import_cycles.py --self-test            (plants a cycle and checks it is found)
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_of(src: Path, file: Path) -> tuple[str, ...]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments_and_strings(text: str) -> str:
    # Block and line comments, then string and char literals (so doc text and messages that
    # mention `crate::x` do not count).
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'(?<![A-Za-z0-9_])r(#*)"(?:.|\n)*?"\1', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand_use_tree(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` → ['a::b', 'a::c::d', 'a::c::e'] (aliases and globs dropped)."""
    tree = tree.strip()
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0 and start is not None:
                prefix = tree[:start]
                inner = tree[start + 1 : i]
                items, d, last = [], 0, 0
                for j, c in enumerate(inner):
                    if c == "{":
                        d += 1
                    elif c == "}":
                        d -= 1
                    elif c == "," and d == 0:
                        items.append(inner[last:j])
                        last = j + 1
                items.append(inner[last:])
                out = []
                for it in items:
                    if it.strip():
                        out += [prefix + p for p in expand_use_tree(it)]
                return out
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)
    return [tree.replace(" ", "")]


def drop_test_modules(text: str) -> str:
    """Remove `#[cfg(test)] mod x { … }` bodies: unit tests may use any module, and inside them
    `super::` means the file's own module, not its parent."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+" + IDENT + r"\s*\{", text):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        out.append(text[i : m.start()])
        i = j
    out.append(text[i:])
    return "".join(out)


def paths_in(text: str) -> list[str]:
    text = drop_test_modules(strip_comments_and_strings(text))
    out = []
    for m in re.finditer(r"\buse\s+((?:crate|super)\s*::[^;]*);", text):
        out += expand_use_tree(m.group(1))
    # Inline paths (not in use statements).
    no_use = re.sub(r"\buse\s+[^;]*;", " ", text)
    for m in re.finditer(r"\b((?:crate|super)(?:\s*::\s*(?:super|" + IDENT + "))+)", no_use):
        out.append(re.sub(r"\s+", "", m.group(1)))
    return out


def build_graph(src: Path) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f): f for f in files}
    # Root re-exports: `pub use engine::{Engine, …}` in lib.rs maps `Engine` to `engine`.
    reexports: dict[str, tuple[str, ...]] = {}
    root = src / "lib.rs"
    if root.exists():
        for m in re.finditer(r"\bpub\s+use\s+([^;]*);", strip_comments_and_strings(root.read_text())):
            for p in expand_use_tree(m.group(1)):
                segs = [s for s in p.split("::") if s]
                if segs and segs[0] == "crate":
                    segs = segs[1:]
                if len(segs) >= 2 and segs[-1] != "*":
                    reexports[segs[-1]] = tuple(segs[:-1])

    def resolve(me: tuple[str, ...], path: str) -> tuple[str, ...] | None:
        segs = [s for s in path.split("::") if s]
        if not segs:
            return None
        if segs[0] == "crate":
            base, rest = (), segs[1:]
        else:  # super::…, relative to the current module's parent
            base = me
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
            rest = segs
        # The longest prefix of base+rest that is a module.
        full = base + tuple(rest)
        for k in range(len(full), len(base) - 1, -1):
            if full[:k] in modules and k > 0:
                return full[:k]
        if segs and segs[0] == "crate" or base == ():
            if rest and rest[0] in reexports:
                return reexports[rest[0]]
        return None

    graph: dict[tuple[str, ...], set[tuple[str, ...]]] = {m: set() for m in modules}
    for me, f in modules.items():
        for p in paths_in(f.read_text()):
            target = resolve(me, p)
            if target is not None and target != me and target != ():
                graph[me].add(target)
    return graph


def cycles(graph: dict[tuple[str, ...], set[tuple[str, ...]]]) -> list[list[tuple[str, ...]]]:
    """Tarjan's strongly connected components of size > 1, each as one cycle through them."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(one_cycle(graph, set(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def one_cycle(graph, comp):
    start = min(comp)
    # Breadth-first back to start inside the component.
    prev, frontier, seen = {}, [start], {start}
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w in comp and w not in seen:
                    seen.add(w)
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(comp)


def name(m: tuple[str, ...]) -> str:
    return "crate::" + "::".join(m) if m else "crate"


def check(src: Path) -> int:
    graph = build_graph(src)
    found = cycles(graph)
    edges = sum(len(v) for v in graph.values())
    if found:
        for c in found:
            print(f"import cycle in {src}: " + " -> ".join(name(m) for m in c))
        return 1
    print(f"{src}: {len(graph)} modules, {edges} import edges, no cycle")
    return 0


def self_test() -> int:
    """A planted cycle must be found, inline paths and nested use groups included."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d)
        (src / "lib.rs").write_text("mod a; mod b; mod c; pub use c::Thing;\n")
        (src / "a.rs").write_text("use crate::{b::{X, Y as Z}};\n")
        (src / "b.rs").write_text('fn f() { let _ = crate::Thing::new(); let s = "fhir"; } // crate::a::X in a comment\n')
        (src / "c.rs").write_text('fn g() -> crate::a::A { todo!(\"crate::b\") }\n')
        found = cycles(build_graph(src))
        want = {("a",), ("b",), ("c",)}
        if not found or set(found[0][:-1]) != want:
            print(f"self-test FAILED: planted cycle a -> b -> c -> a not found (got {found})")
            return 1
        (src / "c.rs").write_text('fn g() { todo!(\"crate::a::A\") }\n')
        if cycles(build_graph(src)):
            print("self-test FAILED: a cycle through a string literal was reported")
            return 1
    print("self-test: a planted cycle is found, one through a string is not")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--self-test"]:
        sys.exit(self_test())
    status = 0
    for d in args or ["core/src"]:
        status |= check(Path(d))
    sys.exit(status)
