"""docs/faces.md, the table of names across the Rust, C and Python faces, cannot drift.

Every name in backticks in the Rust, C, Python and deprecated-alias columns must exist:
- Rust: `Type::method` or `Type` (or `haoyuan_fhir::function`) as a `pub fn` / `pub struct` /
  `pub enum` / `pub type` / `pub trait` / `pub const` (ids: the `id_type!` list) in core/src or
  fhir/src;
- C: a function, type or constant (`#define HY_…`) declared in ffi/include/haoyuan.h;
- Python: a name on the built package `haoyuan` or its native module `haoyuan._native`
  (`Class.member` or a module-level name), and in the stub `_native.pyi` when the runtime name
  comes from `_native`.
Conversely, every function and type the header declares must be in the table (a new C call
without a row fails), and every C deprecated alias must be declared `HY_DEPRECATED("use X")`
with X in the C column of its row. The checks are grep-level on the sources, as promised in
docs/faces.md; a wrong row fails with the name and the reason.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

import haoyuan as hy
from haoyuan import _native

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT / "docs" / "faces.md"
HEADER = ROOT / "ffi" / "include" / "haoyuan.h"
#: The stub as installed with the package (the wheel must ship it, next to the module).
STUB = Path(hy.__file__).resolve().parent / "_native.pyi"
RUST_DIRS = [ROOT / "core" / "src", ROOT / "fhir" / "src"]
COLUMNS = ("concept", "rust", "c", "python", "fhir", "deprecated")


@dataclass
class Row:
    line: int
    concept: str
    rust: list[str]
    c: list[str]
    python: list[str]
    deprecated: list[str]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def parse(text: str) -> list[Row]:
    rows: list[Row] = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| concept"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), f"faces.md:{i}: {len(cells)} cells, expected {len(COLUMNS)}: {line}"
        rows.append(Row(i, cells[0], names(cells[1]), names(cells[2]), names(cells[3]), names(cells[5])))
    return rows


# ------------------------------------------------------------------ what each face declares


def rust_items() -> set[str]:
    found: set[str] = set()
    for d in RUST_DIRS:
        for f in d.rglob("*.rs"):
            src = f.read_text()
            found |= set(re.findall(r"\bpub(?:\([^)]*\))?\s+(?:const\s+)?(?:fn|struct|enum|type|trait)\s+(\w+)", src))
            found |= set(re.findall(r"\bpub(?:\([^)]*\))?\s+(?:const|static)\s+([A-Z][A-Z0-9_]*)\s*:", src))
            if f.name == "ids.rs":  # the `id_type!` list
                found |= set(re.findall(r"^\s*(\w+Id)\(u(?:16|32|64)\)", src, re.M))
    return found


def header_code() -> str:
    """The header without its comments (a name in a comment declares nothing)."""
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def c_functions(code: str) -> set[str]:
    return set(re.findall(r"\b(hy_\w+)\(", code))


def c_types(code: str) -> set[str]:
    return (
        set(re.findall(r"\btypedef\b[^;{]*?\b(hy_\w+)\s*;", code))
        | set(re.findall(r"}\s*(hy_\w+)\s*;", code))
        | set(re.findall(r"\btypedef\b[^;]*?\(\*\s*(hy_\w+)\)\s*\(", code))  # function pointers
    )


def c_constants(code: str) -> set[str]:
    """Constants the header defines (`#define HY_PIPELINE_DEPTH_MAX 64`)."""
    return set(re.findall(r"^\s*#\s*define\s+(HY_\w+)\s+\S", code, re.M))


def c_deprecations(code: str) -> dict[str, str]:
    """Deprecated function -> the name its note says to use."""
    return {fn: new for new, fn in re.findall(r'HY_DEPRECATED\("use (hy_\w+)[^"]*"\)\s*[\w\s\*]*?\b(hy_\w+)\(', code)}


def stub_names() -> tuple[set[str], dict[str, set[str]]]:
    """The stub's module-level names and each class's members."""
    top: set[str] = set()
    members: dict[str, set[str]] = {}
    current: str | None = None
    for line in STUB.read_text().splitlines():
        m = re.match(r"(?:class|def)\s+(\w+)|(\w+)\s*[:=]", line)
        if m:
            name = m.group(1) or m.group(2)
            top.add(name)
            current = name if line.startswith("class ") else None
            if current:
                members[current] = set()
            continue
        m = re.match(r"\s+(?:def\s+(\w+)|(\w+)\s*:)", line)
        if m and current:
            members[current].add(m.group(1) or m.group(2))
    # `Alias = Class`: the alias has the class's members.
    for alias, target in re.findall(r"^(\w+) = (\w+)$", STUB.read_text(), re.M):
        members[alias] = members.get(target, set())
    return top, members


# ------------------------------------------------------------------ checks per name


def python_problem(token: str, top: set[str], members: dict[str, set[str]]) -> str | None:
    name, _, kw = token.partition("(")
    kw = kw.rstrip(")").rstrip("=")
    owner, _, member = name.rpartition(".")
    with warnings.catch_warnings():
        # A deprecated package-level name warns on access; that it exists is what is checked.
        warnings.simplefilter("ignore", DeprecationWarning)
        if owner:
            cls = getattr(hy, owner, None) or getattr(_native, owner, None)
            if cls is None:
                return f"no class {owner} in haoyuan"
            attr = getattr(cls, member, None)
            if attr is None:
                return f"haoyuan.{owner} has no {member}"
            if kw:
                sig = getattr(getattr(_native, owner), member).__text_signature__ or ""
                if f"{kw}=" not in sig:
                    return f"{owner}.{member} takes no keyword {kw} ({sig})"
            native_cls = getattr(_native, owner, None)
            if native_cls is not None and hasattr(native_cls, member) and member not in members.get(owner, set()):
                return f"{owner}.{member} is in haoyuan._native but not in the stub _native.pyi"
            return None
        if hasattr(_native, name):
            return None if name in top else f"{name} is in haoyuan._native but not in the stub _native.pyi"
        if hasattr(hy, name):
            return None if name in hy.__all__ else f"haoyuan.{name} is not in haoyuan.__all__"
        return f"no {name} in haoyuan or haoyuan._native"


def rust_problem(token: str, items: set[str]) -> str | None:
    parts = token.split("::")
    for p in parts:
        if p != "haoyuan_fhir" and p not in items:
            return f"no pub item {p} in core/src or fhir/src"
    return None


# ------------------------------------------------------------------ the tests


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    rows = parse(FACES.read_text())
    assert len(rows) > 50
    return rows


def test_every_name_in_the_table_exists(rows: list[Row]) -> None:
    items = rust_items()
    code = header_code()
    c_names = c_functions(code) | c_types(code) | c_constants(code)
    top, members = stub_names()
    problems: list[str] = []
    for r in rows:
        where = f"faces.md:{r.line} ({r.concept})"
        for t in r.rust:
            if (p := rust_problem(t, items)) is not None:
                problems.append(f"{where}: Rust `{t}`: {p}")
        for t in r.c:
            if t not in c_names:
                problems.append(f"{where}: C `{t}` is not declared in haoyuan.h")
        for t in r.python:
            if (p := python_problem(t, top, members)) is not None:
                problems.append(f"{where}: Python `{t}`: {p}")
        for t in r.deprecated:
            if t.startswith("hy_"):
                if t not in c_names:
                    problems.append(f"{where}: deprecated C `{t}` is not declared in haoyuan.h")
            elif (p := python_problem(t, top, members)) is not None:
                problems.append(f"{where}: deprecated Python `{t}`: {p}")
    assert not problems, "\n".join(problems)


def test_every_c_function_and_type_has_a_row(rows: list[Row]) -> None:
    code = header_code()
    listed = {t for r in rows for t in r.c + r.deprecated}
    missing = sorted((c_functions(code) | c_types(code)) - listed)
    assert not missing, f"declared in haoyuan.h but in no row of docs/faces.md: {missing}"


def test_c_deprecated_aliases_name_their_replacement(rows: list[Row]) -> None:
    code = header_code()
    deprecated = c_deprecations(code)
    problems: list[str] = []
    for r in rows:
        for t in (t for t in r.deprecated if t.startswith("hy_")):
            if t in c_types(code):
                continue  # a type alias (typedef) cannot carry the attribute; its comment says it
            new = deprecated.get(t)
            if new is None:
                problems.append(f"faces.md:{r.line}: {t} is not declared HY_DEPRECATED(\"use …\")")
            elif new not in r.c:
                problems.append(f"faces.md:{r.line}: {t} says use {new}, which is not in the row's C column {r.c}")
    # And every HY_DEPRECATED function of the header is listed as deprecated.
    listed = {t for r in rows for t in r.deprecated}
    problems += [f"{fn} is HY_DEPRECATED in haoyuan.h but not a deprecated alias in faces.md" for fn in sorted(set(deprecated) - listed)]
    assert not problems, "\n".join(problems)


def test_a_wrong_row_fails() -> None:
    """The checks above catch a wrong name in each column and a missing C row."""
    bad = "| x | `Engine::no_such_call` | `hy_engine_no_such_call` | `Engine.no_such_call` | | `hy_no_such_alias` |\n"
    rows = parse(bad)
    items, top, members = rust_items(), *stub_names()
    assert rust_problem(rows[0].rust[0], items) is not None
    assert rows[0].c[0] not in c_functions(header_code())
    assert python_problem(rows[0].python[0], top, members) is not None
    assert python_problem("Engine.hold(no_such_kw=)", top, members) is not None
    # A table without the row of hy_engine_book lacks a declared function.
    without = [r for r in parse(FACES.read_text()) if "hy_engine_book" not in r.c]
    assert "hy_engine_book" not in {t for r in without for t in r.c + r.deprecated}


# ------------------------------------------------------------------ the deprecated names behave


def test_deprecated_python_names_warn_and_work() -> None:
    with pytest.warns(DeprecationWarning, match="use haoyuan.SlotInfo"):
        slot_cls = hy.Slot
    assert slot_cls is hy.SlotInfo is _native.Slot
    assert "Slot" not in hy.__all__
