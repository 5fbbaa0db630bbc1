"""The FHIR R4 functions of the Python package (thin wrappers over `haoyuan::fhir`): exports,
$find/$hold/$book/$cancel, imports, and FhirError carrying an OperationOutcome."""

from __future__ import annotations

import pytest
from conftest import Region, make_region

import haoyuan as hy


def _request(slot: int, patient: int) -> dict[str, str]:
    return {"slot": f"Slot/slot-{slot}", "patient": f"Patient/patient-{patient}", "channel": "app"}


def _error_issue(exc: pytest.ExceptionInfo[hy.FhirError]) -> dict:
    outcome = exc.value.outcome
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"], outcome
    assert all(i["severity"] in ("error", "fatal") for i in outcome["issue"]), outcome
    return outcome["issue"][0]


def test_export_slot_and_schedule(region: Region) -> None:
    s = region.slots[0]
    slot = hy.fhir_export_slot(region.engine, s)
    assert slot["resourceType"] == "Slot"
    assert slot["status"] == "free"
    assert slot["start"].startswith("2026-11-26T08:00:00+08:00")
    sched = hy.fhir_export_schedule(region.engine, region.dr_li)
    assert sched["resourceType"] == "Schedule"


def test_export_bundle_covers_every_slot(region: Region) -> None:
    b = hy.fhir_export_bundle(region.engine, {"date_from": "2026-11-26", "date_to": "2026-11-26"})
    assert b["resourceType"] == "Bundle" and b["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in b["entry"]]
    assert kinds.count("Slot") == len(region.slots)
    assert kinds.count("Schedule") == 2


def test_find_hold_book_cancel(region: Region) -> None:
    e = region.engine
    found = hy.fhir_find(e, {"start": "2026-11-26", "end": "2026-11-26", "practitioner": f"Practitioner/resource-{region.dr_li}"})
    assert found["resourceType"] == "Bundle" and found["type"] == "searchset"
    slots = [x["resource"] for x in found["entry"] if x["resource"]["resourceType"] == "Slot"]
    assert len(slots) == 4

    p = e.register_patient()
    held = hy.fhir_hold(e, _request(region.slots[0], p))
    assert held["resourceType"] == "Appointment" and held["status"] == "pending"
    appt = f"Appointment/{held['id']}"
    booked = hy.fhir_book(e, {"appointment": appt})
    assert booked["status"] == "booked" and booked["id"] == held["id"]
    assert hy.fhir_export_appointment(e, int(held["id"].removeprefix("booking-")))["status"] == "booked"
    mine = hy.fhir_export_patient_appointments(e, p)
    assert [x["resource"]["id"] for x in mine["entry"]] == [held["id"]]

    booking = int(held["id"].removeprefix("booking-"))
    assert e.booking(booking).state == "booked"
    assert sum(e.slot(region.slots[0]).pool_taken) == 1

    cancelled = hy.fhir_cancel(e, {"appointment": appt})
    assert cancelled["status"] == "cancelled"
    # The place is free again: the engine itself agrees.
    assert e.booking(booking).state == "cancelled"
    assert sum(e.slot(region.slots[0]).pool_taken) == 0


def test_book_directly(region: Region) -> None:
    p = region.engine.register_patient()
    booked = hy.fhir_book(region.engine, _request(region.slots[1], p))
    assert booked["status"] == "booked"


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (hy.fhir_hold, {"slot": "Slot/slot-0"}),  # no patient, no channel
        (hy.fhir_hold, {"slot": "Slot/slot-0", "patient": "Patient/patient-0", "chanel": "app"}),  # typo
        (hy.fhir_cancel, {"appointment": "Appointment/booking-999"}),
        (hy.fhir_find, {"start": "2026-11-27", "end": "2026-11-26"}),
    ],
)
def test_bad_input_raises_fhir_error(region: Region, call, arg) -> None:
    with pytest.raises(hy.FhirError) as exc:
        call(region.engine, arg)
    _error_issue(exc)
    assert isinstance(exc.value, hy.HaoyuanError)


def test_unknown_ids_raise_fhir_error(region: Region) -> None:
    for call in (hy.fhir_export_slot, hy.fhir_export_schedule, hy.fhir_export_appointment, hy.fhir_export_waitlist):
        with pytest.raises(hy.FhirError) as exc:
            call(region.engine, 99999)
        _error_issue(exc)


CSV = """resource,department,weekday,session_start,session_end,segment_minutes,places
Dr Li,Cardiology,fri,08:00,10:00,30,2
"""


def test_csv_import_round_trip() -> None:
    r = make_region()
    e = r.engine
    before = e.slot_count()
    report = hy.fhir_import_csv(e, CSV, {"institution": r.tertiary, "valid_from": "2026-11-27", "valid_until": "2026-11-27"})
    assert report["slots"] == 4
    assert e.slot_count() == before + 4
    b = hy.fhir_export_bundle(e, {"date_from": "2026-11-27", "date_to": "2026-11-27"})
    starts = sorted(x["resource"]["start"] for x in b["entry"] if x["resource"]["resourceType"] == "Slot")
    assert starts == [f"2026-11-27T{h}+08:00" for h in ("08:00:00", "08:30:00", "09:00:00", "09:30:00")]
    # The same bundle imported into a fresh engine gives the same slots.
    fresh = make_region()
    n = fresh.engine.slot_count()
    rep = hy.fhir_import_bundle(fresh.engine, b)
    assert rep["slots"] == 4
    assert fresh.engine.slot_count() == n + 4
    again = hy.fhir_export_bundle(fresh.engine, {"date_from": "2026-11-27", "date_to": "2026-11-27"})
    assert sorted(x["resource"]["start"] for x in again["entry"] if x["resource"]["resourceType"] == "Slot") == starts


def test_csv_import_bad_row_changes_nothing(region: Region) -> None:
    before = region.engine.slot_count()
    with pytest.raises(hy.FhirError) as exc:
        hy.fhir_import_csv(region.engine, CSV.replace("fri", "fryday"), {"institution": region.tertiary, "valid_from": "2026-11-27", "valid_until": "2026-11-27"})
    assert "line 2" in _error_issue(exc)["location"][0]
    assert region.engine.slot_count() == before


def test_fhir_errors_are_engine_errors_too(region: Region) -> None:
    """A refusal through FHIR carries the engine's code and fields, keeps `outcome`, and is
    caught by the engine's own class: a full slot is `SlotFull` as well as `FhirError`."""
    e = region.engine
    slot = e.publish_slots([(region.dr_li, "2026-11-26", 600, 615, 1)])[0]
    first = e.register_patient()
    hy.fhir_book(e, {"slot": f"Slot/slot-{slot}", "patient": f"Patient/patient-{first}", "channel": "app"})
    late = e.register_patient()
    with pytest.raises(hy.SlotFull) as exc:
        hy.fhir_book(e, {"slot": f"Slot/slot-{slot}", "patient": f"Patient/patient-{late}", "channel": "app"})
    assert isinstance(exc.value, hy.FhirError)
    assert exc.value.code == 16 and exc.value.outcome["issue"][0]["code"] == "conflict"
    assert "OperationOutcome" not in str(exc.value), "the message is words, the outcome is separate"
    with pytest.raises(hy.FhirError) as bad:
        hy.fhir_hold(e, "{")
    assert isinstance(bad.value, hy.InvalidArgument) and bad.value.code == 10
