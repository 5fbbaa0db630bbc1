"""Independent validation of haoyuan's FHIR R4 export.

Every resource the Rust exporter writes (``cargo run -p haoyuan --example fhir_export -- DIR``)
is parsed by the ``fhir.resources`` package, whose 6.x models are FHIR R4 (4.0.1); any
validation error fails. ``make test-fhir`` (mk/fhir.mk) generates the files and points
``HAOYUAN_FHIR_SAMPLES`` at them; without that variable these tests are skipped, so the
Python bindings' own test run does not need cargo or fhir.resources.
"""

import json
import os
import pathlib

import pytest

SAMPLES = os.environ.get("HAOYUAN_FHIR_SAMPLES")
pytestmark = pytest.mark.skipif(not SAMPLES, reason="HAOYUAN_FHIR_SAMPLES not set (run make test-fhir)")


def _samples():
    if not SAMPLES:
        return []
    return sorted(pathlib.Path(SAMPLES).glob("*.json"))


@pytest.fixture(scope="module")
def fhir():
    resources = pytest.importorskip("fhir.resources")
    # R4 exactly: 7.x and later default to R5, and R4B differs from R4.
    assert resources.__fhir_version__ == "4.0.1", resources.__fhir_version__
    return resources


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.stem)
def test_every_exported_resource_is_valid_r4(fhir, path):
    data = _load(path)
    model = fhir.construct_fhir_element(data["resourceType"], data)
    # Round trip through the model: nothing we wrote was dropped as unknown.
    back = json.loads(model.json())
    assert back["resourceType"] == data["resourceType"]
    assert _paths(back) >= _paths(data) - _DERIVED, sorted(_paths(data) - _paths(back))


# Keys a model may legitimately normalise away (none today; kept explicit).
_DERIVED = frozenset()


def _paths(value, prefix=""):
    """Every key path in a JSON value (list indices folded), to compare before/after parsing."""
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}"
            out.add(p)
            out |= _paths(v, p)
    elif isinstance(value, list):
        for v in value:
            out |= _paths(v, prefix + "[]")
    return out


def _by_name():
    return {p.stem: _load(p) for p in _samples()}


def test_the_samples_cover_every_mapping(fhir):
    s = _by_name()
    slots = {v["status"] for k, v in s.items() if v["resourceType"] == "Slot"}
    assert slots == {"free", "busy", "busy-tentative", "busy-unavailable"}
    appts = {v["status"] for v in s.values() if v["resourceType"] == "Appointment"}
    assert appts == {"pending", "booked", "checked-in", "fulfilled", "noshow", "cancelled", "waitlist"}
    reasons = {
        v["cancelationReason"]["coding"][0]["code"]
        for v in s.values()
        if v["resourceType"] == "Appointment" and v["status"] == "cancelled"
    }
    assert reasons == {"pat", "prov", "other"}
    assert s["appointment-referral"]["basedOn"][0]["reference"].startswith("ServiceRequest/")
    assert s["appointment-waitlist"]["requestedPeriod"][0]["start"].endswith("+08:00")
    assert s["slot-free"]["start"].endswith("+08:00")
    codes = {i["code"] for v in s.values() if v["resourceType"] == "OperationOutcome" for i in v["issue"]}
    assert {"conflict", "business-rule", "not-found", "invalid", "code-invalid", "value"} <= codes


def test_bundle_entries_validate_one_by_one(fhir):
    # A Bundle parses its entries as generic Resources in some versions; check each concretely.
    for name in ("bundle-searchset", "bundle-collection"):
        bundle = _by_name()[name]
        assert bundle["entry"], name
        for e in bundle["entry"]:
            r = e["resource"]
            fhir.construct_fhir_element(r["resourceType"], r)
    search = _by_name()["bundle-searchset"]
    matches = [e for e in search["entry"] if e["search"]["mode"] == "match"]
    assert search["total"] == len(matches) > 0
    assert all(e["resource"]["status"] == "free" for e in matches)


def test_a_broken_resource_is_rejected(fhir):
    # The validator is live: a wrong type, an unknown element and a missing required element fail.
    good = _by_name()["slot-free"]
    for bad in (dict(good, start="tomorrow"), dict(good, bogus=1), {k: v for k, v in good.items() if k != "schedule"}):
        with pytest.raises(Exception):
            fhir.construct_fhir_element("Slot", bad)


# R4's required bindings, which fhir.resources does not enforce (its codes are plain strings).
R4_CODES = {
    ("Slot", "status"): {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"},
    ("Appointment", "status"): {
        "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
        "entered-in-error", "checked-in", "waitlist",
    },
    ("Bundle", "type"): {
        "document", "message", "transaction", "transaction-response", "batch", "batch-response",
        "history", "searchset", "collection",
    },
}
PARTICIPANT_STATUS = {"accepted", "declined", "tentative", "needs-action"}
PARTICIPANT_REQUIRED = {"required", "optional", "information-only"}
SEARCH_MODE = {"match", "include", "outcome"}
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPE = {
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
    "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
    "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
    "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store", "exception",
    "timeout", "incomplete", "throttled", "informational",
}


def _resources(value):
    """A resource and every resource inside a Bundle."""
    yield value
    for e in value.get("entry", []):
        yield from _resources(e["resource"])


def test_required_bindings_hold(fhir):
    seen = 0
    for top in _by_name().values():
        for r in _resources(top):
            rt = r["resourceType"]
            for (t, field), codes in R4_CODES.items():
                if t == rt:
                    assert r[field] in codes, (rt, field, r[field])
                    seen += 1
            if rt == "Appointment":
                for p in r["participant"]:
                    assert p["status"] in PARTICIPANT_STATUS and p.get("required", "required") in PARTICIPANT_REQUIRED
                if "cancelationReason" in r:
                    assert r["status"] in {"cancelled", "noshow"}  # R4 invariant app-4
                if r["status"] not in {"proposed", "cancelled", "waitlist"}:
                    assert "start" in r and "end" in r  # R4 invariant app-3
            if rt == "OperationOutcome":
                for i in r["issue"]:
                    assert i["severity"] in ISSUE_SEVERITY and i["code"] in ISSUE_TYPE, i
                    seen += 1
        for e in top.get("entry", []):
            if "search" in e:
                assert e["search"]["mode"] in SEARCH_MODE
    assert seen > 30
