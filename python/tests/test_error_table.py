"""One error table: the exception classes, the stub and the C header all follow core's table
(`_native.ERROR_TABLE`: code, name, description)."""

from __future__ import annotations

import re
from pathlib import Path

import haoyuan as hy
from haoyuan import _native

ROOT = Path(__file__).resolve().parents[2]
#: The stub as installed with the package (the wheel must ship it).
STUB = Path(hy.__file__).resolve().parent / "_native.pyi"


def test_every_code_has_its_class() -> None:
    assert len(_native.ERROR_TABLE) >= 19
    for code, name, description in _native.ERROR_TABLE:
        cls = getattr(hy, name)
        assert issubclass(cls, hy.HaoyuanError) and cls.code == code, name
        assert cls.__doc__ == description
        assert name in hy.__all__
    assert issubclass(hy.FhirError, hy.HaoyuanError)


def test_the_stub_lists_exactly_the_table() -> None:
    stub = STUB.read_text()
    declared = set(re.findall(r"^class (\w+)\(HaoyuanError\)", stub, re.M)) - {"FhirError"}
    assert declared == {name for _, name, _ in _native.ERROR_TABLE}


def test_the_c_header_has_the_same_numbers() -> None:
    header = (ROOT / "ffi" / "include" / "haoyuan.h").read_text()
    for code, name, _ in _native.ERROR_TABLE:
        c_name = "HY_" + re.sub(r"(?<!^)([A-Z])", r"_\1", name).upper()
        assert f"{c_name} = {code}" in header, c_name


def test_the_stub_exports_the_table_and_documents_fhir_error() -> None:
    """The stub's `__all__` lists every error class and ERROR_TABLE, as the module does, and
    FhirError (the FHIR twin) is declared with its `outcome`."""
    stub = STUB.read_text()
    m = re.search(r"^__all__: list\[str\] = \[(.*)\]$", stub, re.M)
    assert m is not None
    exported = set(re.findall(r'"(\w+)"', m.group(1)))
    for _, name, _ in _native.ERROR_TABLE:
        assert name in exported and name in _native.__all__, name
    assert {"ERROR_TABLE", "HaoyuanError", "FhirError"} <= exported
    assert exported == set(_native.__all__)
    assert re.search(r"^class FhirError\(HaoyuanError\):\n(?:    .*\n)*    outcome: dict\[str, Any\]", stub, re.M)
