//! `$find`, `$hold`, `$book`, `$cancel` and the export mappings: Slot status from places,
//! Appointment status from the booking lifecycle, errors as OperationOutcome.

mod fhir_common;

use fhir_common::*;
use haoyuan::*;
use haoyuan_fhir::{self as fhir, ops};
use serde_json::{json, Value};

fn slot_status(e: &Engine, s: SlotId) -> String {
    fhir::export::slot(e, s).unwrap()["status"].as_str().unwrap().to_string()
}

/// A slot of capacity 2 and one of capacity 1 on `day()`, for Dr Li.
fn two_slots(r: &Region) -> (SlotId, SlotId) {
    let ids = r
        .engine
        .publish_slots(&[
            SlotSpec { resource: r.dr_li, date: day(), start_min: 480, end_min: 510, capacity: 2 },
            SlotSpec { resource: r.dr_li, date: day(), start_min: 510, end_min: 540, capacity: 1 },
        ])
        .unwrap();
    (ids.start, SlotId(ids.start.0 + 1))
}

fn req(slot: SlotId, patient: PatientId, channel: &str) -> Value {
    json!({ "slot": format!("Slot/slot-{}", slot.0), "patient": format!("Patient/patient-{}", patient.0), "channel": channel })
}

fn outcome_code(e: fhir::FhirError) -> (&'static str, &'static str, Option<ErrorCode>) {
    (e.issues[0].severity, e.issues[0].code, e.issues[0].engine_code)
}

#[test]
fn slot_stays_free_until_its_last_place_then_tentative_while_held_then_busy() {
    let r = region();
    let (a, _) = two_slots(&r);
    let (p1, p2) = (patient(&r.engine), patient(&r.engine));
    assert_eq!(slot_status(&r.engine, a), "free");
    let h1 = ops::hold(&r.engine, &req(a, p1, "wechat")).unwrap();
    assert_eq!(h1["status"], "pending");
    assert_eq!(slot_status(&r.engine, a), "free", "one place of two is still free");
    let h2 = ops::hold(&r.engine, &req(a, p2, "app")).unwrap();
    assert_eq!(slot_status(&r.engine, a), "busy-tentative");
    let b1 = ops::book(&r.engine, &json!({ "appointment": h1["id"] })).unwrap();
    assert_eq!((b1["status"].as_str(), b1["id"].as_str()), (Some("booked"), h1["id"].as_str()));
    assert_eq!(slot_status(&r.engine, a), "busy-tentative", "one place is still only held");
    ops::book(
        &r.engine,
        &json!({ "appointment": format!("Appointment/{}", h2["id"].as_str().unwrap()) }),
    )
    .unwrap();
    assert_eq!(slot_status(&r.engine, a), "busy");
    let s = fhir::export::slot(&r.engine, a).unwrap();
    assert_eq!(s["extension"][0]["valuePositiveInt"], 2);
    assert_eq!(s["extension"][1]["valueUnsignedInt"], 0);
    assert_eq!(s["overbooked"], false);
    assert_eq!(s["start"], "2026-11-24T08:00:00+08:00");
    assert_eq!(s["end"], "2026-11-24T08:30:00+08:00");
    assert_eq!(s["schedule"]["reference"], format!("Schedule/resource-{}", r.dr_li.0));
    assert_eq!(s["specialty"][0]["coding"][0]["code"], "cardiology");
    // A cancellation frees a place: free again.
    ops::cancel(&r.engine, &json!({ "appointment": b1["id"] })).unwrap();
    assert_eq!(slot_status(&r.engine, a), "free");
    // A suspended session: busy-unavailable.
    r.engine.suspend_session(r.dr_li, day(), None).unwrap();
    assert_eq!(slot_status(&r.engine, a), "busy-unavailable");
}

#[test]
fn errors_come_back_with_the_right_severity_and_code() {
    let r = region();
    let (a, b) = two_slots(&r);
    let p: Vec<PatientId> = (0..4).map(|_| patient(&r.engine)).collect();
    ops::book(&r.engine, &req(b, p[0], "app")).unwrap();
    // The only place is taken: conflict.
    let e = ops::hold(&r.engine, &req(b, p[1], "app")).unwrap_err();
    assert_eq!(outcome_code(e), ("error", "conflict", Some(ErrorCode::SlotFull)));
    // One booking per department-day: business rule.
    let e = ops::book(&r.engine, &req(a, p[0], "app")).unwrap_err();
    assert_eq!(outcome_code(e.clone()), ("error", "business-rule", Some(ErrorCode::LimitReached)));
    let o = e.to_operation_outcome();
    assert_eq!(o["issue"][0]["details"]["coding"][0]["code"], "21");
    assert_eq!(o["issue"][0]["details"]["coding"][0]["system"], fhir::CS_ERROR);
    // Unknown ids: not-found.
    let e = ops::hold(&r.engine, &req(SlotId(99), p[1], "app")).unwrap_err();
    assert_eq!(outcome_code(e), ("error", "not-found", Some(ErrorCode::NotFound)));
    let e =
        ops::cancel(&r.engine, &json!({ "appointment": "Appointment/booking-12345" })).unwrap_err();
    assert_eq!(outcome_code(e).1, "not-found");
    // Bad input: invalid / required / not-supported / code-invalid, and nothing was booked.
    let e = ops::hold(
        &r.engine,
        &json!({ "slot": "Slot/slot-x", "patient": "Patient/patient-1", "channel": "app" }),
    )
    .unwrap_err();
    assert_eq!((e.issues[0].code, e.issues[0].location.as_deref()), ("invalid", Some("slot")));
    let e = ops::hold(
        &r.engine,
        &json!({ "slot": "Patient/patient-1", "patient": "Patient/patient-1", "channel": "app" }),
    )
    .unwrap_err();
    assert!(e.to_string().contains("must reference one of Slot"), "{e}");
    let e = ops::hold(&r.engine, &json!({ "slot": 0, "patient": 1 })).unwrap_err();
    assert_eq!((e.issues[0].code, e.issues[0].location.as_deref()), ("required", Some("channel")));
    let e = ops::hold(
        &r.engine,
        &json!({ "slot": 0, "patient": 1, "channel": "app", "colour": "red" }),
    )
    .unwrap_err();
    assert_eq!(e.issues[0].code, "not-supported");
    let e =
        ops::hold(&r.engine, &json!({ "slot": 0, "patient": 1, "channel": "pigeon" })).unwrap_err();
    assert_eq!(e.issues[0].code, "code-invalid");
    let e = ops::hold(&r.engine, &json!("slot-0")).unwrap_err();
    assert_eq!(e.issues[0].code, "invalid");
    let e = ops::cancel(&r.engine, &json!({})).unwrap_err();
    assert_eq!(e.issues[0].code, "required");
    // Lifecycle: confirming a booked appointment is a business rule.
    let held = ops::hold(&r.engine, &req(a, p[2], "app")).unwrap();
    ops::book(&r.engine, &json!({ "appointment": held["id"] })).unwrap();
    let e = ops::book(&r.engine, &json!({ "appointment": held["id"] })).unwrap_err();
    assert_eq!(outcome_code(e), ("error", "business-rule", Some(ErrorCode::WrongState)));
    // Suspension of the session: business rule.
    r.engine.suspend_session(r.dr_li, day(), None).unwrap();
    let e = ops::hold(&r.engine, &req(a, p[3], "app")).unwrap_err();
    assert_eq!(outcome_code(e), ("error", "business-rule", Some(ErrorCode::SlotClosed)));
    // Only the two confirmed bookings ever took places (both now provider-cancelled).
    assert_eq!(r.engine.bookings_of(p[1]).unwrap().len(), 0);
}

#[test]
fn appointment_statuses_follow_the_lifecycle() {
    let r = region();
    let (a, b) = two_slots(&r);
    let c = r
        .engine
        .publish_slots(&[SlotSpec {
            resource: r.ecg,
            date: day(),
            start_min: 600,
            end_min: 615,
            capacity: 3,
        }])
        .unwrap()
        .start;
    let p: Vec<PatientId> = (0..5).map(|_| patient(&r.engine)).collect();
    let status = |id: &Value| {
        let n: u64 = id.as_str().unwrap().trim_start_matches("booking-").parse().unwrap();
        let v = fhir::export::appointment(&r.engine, BookingId(n)).unwrap();
        (
            v["status"].as_str().unwrap().to_string(),
            v["cancelationReason"]["coding"][0]["code"].as_str().map(str::to_string),
        )
    };
    let held = ops::hold(&r.engine, &req(a, p[0], "kiosk")).unwrap();
    assert_eq!(held["extension"][0]["valueString"], "kiosk");
    assert_eq!(held["extension"][2]["url"], fhir::EXT_HOLD_EXPIRES);
    assert_eq!(held["extension"][2]["valueInstant"], "2026-11-23T16:10:00+08:00");
    assert_eq!(held["participant"][0]["actor"]["reference"], format!("Patient/patient-{}", p[0].0));
    assert_eq!(
        held["participant"][1]["actor"]["reference"],
        format!("Practitioner/resource-{}", r.dr_li.0)
    );
    assert_eq!(held["slot"][0]["reference"], format!("Slot/slot-{}", a.0));
    let booked = ops::book(&r.engine, &req(b, p[1], "app")).unwrap();
    let cancelled = ops::book(&r.engine, &req(c, p[2], "app")).unwrap();
    ops::cancel(&r.engine, &json!({ "resourceType": "Appointment", "id": cancelled["id"], "status": "cancelled", "participant": [] })).unwrap();
    assert_eq!(status(&cancelled["id"]), ("cancelled".into(), Some("pat".into())));
    let exam = ops::book(&r.engine, &req(c, p[3], "app")).unwrap();
    assert_eq!(
        exam["participant"][1]["actor"]["reference"],
        format!("Device/resource-{}", r.ecg.0)
    );
    // The hold expires after 10 minutes: cancelled, reason "other".
    r.engine.advance_clock(601).unwrap();
    assert_eq!(status(&held["id"]), ("cancelled".into(), Some("other".into())));
    // The day: the 08:30 patient comes and is seen, the 10:00 patient does not come.
    r.engine.advance_to(Timestamp::from_local(day(), 8 * 60 + 31, OFF)).unwrap();
    let id = |v: &Value| {
        BookingId(v["id"].as_str().unwrap().trim_start_matches("booking-").parse().unwrap())
    };
    r.engine.check_in(id(&booked)).unwrap();
    assert_eq!(status(&booked["id"]).0, "checked-in");
    r.engine.fulfil(id(&booked)).unwrap();
    assert_eq!(status(&booked["id"]).0, "fulfilled");
    r.engine.advance_to(Timestamp::from_local(day(), 10 * 60 + 5, OFF)).unwrap();
    r.engine.mark_no_show(id(&exam)).unwrap();
    assert_eq!(status(&exam["id"]), ("noshow".into(), None));
}

#[test]
fn a_referral_booking_is_based_on_a_service_request_and_a_suspension_cancels_by_provider() {
    let r = region();
    let (a, _) = two_slots(&r);
    let p = patient(&r.engine);
    let referral = r
        .engine
        .issue_referral(&ReferralRequest {
            patient: p,
            from: r.clinic,
            specialty: "cardiology".into(),
            institution: None,
            urgency: Urgency::Urgent,
            valid_days: 14,
        })
        .unwrap();
    // The FHIR shape: an Appointment with the slot, the patient, basedOn and the channel.
    let appt = json!({
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [{ "reference": format!("Slot/slot-{}", a.0) }],
        "participant": [{ "actor": { "reference": format!("Patient/patient-{}", p.0) }, "status": "needs-action" }],
        "basedOn": [{ "reference": format!("ServiceRequest/referral-{}", referral.id.0) }],
        "extension": [{ "url": fhir::EXT_CHANNEL, "valueString": "clinic" }],
    });
    let booked = ops::book(&r.engine, &json!({ "resourceType": "Parameters", "parameter": [{ "name": "appointment", "resource": appt }] })).unwrap();
    assert_eq!(booked["status"], "booked");
    assert_eq!(
        booked["basedOn"][0]["reference"],
        format!("ServiceRequest/referral-{}", referral.id.0)
    );
    assert_eq!(booked["extension"][1]["valueCode"], "referral", "taken from the referral pool");
    r.engine.suspend_session(r.dr_li, day(), None).unwrap();
    let v = fhir::export::appointment(
        &r.engine,
        BookingId(booked["id"].as_str().unwrap()[8..].parse().unwrap()),
    )
    .unwrap();
    assert_eq!(v["status"], "cancelled");
    assert_eq!(v["cancelationReason"]["coding"][0]["code"], "prov");
}

#[test]
fn a_waitlist_entry_is_a_waitlist_appointment_with_its_requested_period() {
    let r = region();
    let p = patient(&r.engine);
    let entry = r
        .engine
        .join_waitlist(&WaitlistRequest {
            patient: p,
            department: r.cardiology,
            resource: Some(r.dr_li),
            date_from: day(),
            date_to: day().plus_days(2),
            time: Some(TimeOfDay { start_min: 480, end_min: 720 }),
            channel: r.engine.channel_id("phone").unwrap(),
            referral: None,
            follow_up: false,
        })
        .unwrap();
    let list = fhir::export::waitlist(&r.engine, r.cardiology).unwrap();
    assert_eq!(list.len(), 1);
    let v = &list[0];
    assert_eq!(v["status"], "waitlist");
    assert_eq!(v["id"], format!("waitlist-{}", entry.id.0));
    assert_eq!(v["requestedPeriod"][0]["start"], "2026-11-24T08:00:00+08:00");
    assert_eq!(v["requestedPeriod"][0]["end"], "2026-11-26T12:00:00+08:00");
    assert!(v.get("start").is_none(), "a waitlist entry has no time yet");
    assert_eq!(v["extension"][0]["valueString"], "phone");
}

#[test]
fn find_returns_free_slots_in_the_window_with_their_schedules() {
    let r = published_region();
    let all = |v: &Value| -> Vec<Value> {
        v["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .map(|e| e["resource"].clone())
            .collect()
    };
    // Tuesday 24th, 09:00–10:00, cardiology at the hospital: Dr Li 2 segments + ECG 4 segments.
    let params = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "start", "valueDateTime": "2026-11-24T09:00:00+08:00" },
        { "name": "end", "valueDateTime": "2026-11-24T02:00:00Z" },
        { "name": "specialty", "valueCodeableConcept": { "coding": [{ "system": fhir::CS_SPECIALTY, "code": "cardiology" }] } },
        { "name": "organization", "valueReference": { "reference": format!("Organization/institution-{}", r.hospital.0) } },
        { "name": "location", "valueString": "Guancheng" },
    ]});
    let bundle = ops::find(&r.engine, &params).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    let slots = all(&bundle);
    assert_eq!(slots.len(), 6);
    assert_eq!(bundle["total"], 6);
    assert!(slots.iter().all(|s| s["status"] == "free"));
    assert!(slots.iter().all(|s| s["start"].as_str().unwrap() >= "2026-11-24T09:00:00+08:00"
        && s["end"].as_str().unwrap() <= "2026-11-24T10:00:00+08:00"));
    let includes: Vec<_> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .collect();
    assert_eq!(includes.len(), 2, "Dr Li's and the ECG room's Schedules");
    assert!(bundle["entry"][0]["fullUrl"].as_str().unwrap().starts_with(fhir::BASE));

    // One practitioner, whole days, _count.
    let v = ops::find(&r.engine, &json!({ "start": "2026-11-24", "end": "2026-11-25", "practitioner": format!("Practitioner/resource-{}", r.dr_li.0), "_count": 10 })).unwrap();
    let slots = all(&v);
    assert_eq!(slots.len(), 10);
    assert_eq!(slots[0]["start"], "2026-11-24T08:00:00+08:00");
    assert_eq!(
        slots[8]["start"], "2026-11-25T08:00:00+08:00",
        "8 segments on the 24th, then the 25th"
    );

    // A full slot disappears from find.
    let first = r
        .engine
        .find_free_slots(&AvailabilityQuery::department(r.cardiology, day(), day()))
        .unwrap()[0]
        .slot;
    for _ in 0..2 {
        r.engine
            .book(&Request::new(patient(&r.engine), first, r.engine.channel_id("app").unwrap()))
            .unwrap();
    }
    let v = ops::find(
        &r.engine,
        &json!({ "start": "2026-11-24", "end": "2026-11-24", "practitioner": r.dr_li.0 }),
    )
    .unwrap();
    assert_eq!(all(&v).len(), 7);
    assert!(all(&v).iter().all(|s| s["id"] != format!("slot-{}", first.0)));

    // Nothing in another district; bad parameters are refused with where and why.
    let v = ops::find(
        &r.engine,
        &json!({ "start": "2026-11-24", "end": "2026-11-30", "location": "Nancheng" }),
    );
    assert_eq!(v.unwrap_err().issues[0].code, "invalid", "unknown district");
    for (p, loc) in [
        (json!({ "end": "2026-11-24" }), "start"),
        (json!({ "start": "2026-11-24T09:00", "end": "2026-11-24" }), "start"),
        (json!({ "start": "2026-11-25", "end": "2026-11-24" }), "end"),
        (json!({ "start": "2026-11-24", "end": "2026-11-24", "_count": 0 }), "_count"),
        (
            json!({ "start": "2026-11-24", "end": "2026-11-24", "organization": "Practitioner/resource-0" }),
            "organization",
        ),
    ] {
        let e = ops::find(&r.engine, &p).unwrap_err();
        assert_eq!(e.issues[0].location.as_deref(), Some(loc), "{p}: {e}");
    }
    let e = ops::find(
        &r.engine,
        &json!({ "start": "2026-11-24", "end": "2026-11-24", "patient": "Patient/patient-77" }),
    )
    .unwrap_err();
    assert_eq!(e.issues[0].code, "not-found");
    let e = ops::find(
        &r.engine,
        &json!({ "resourceType": "Parameters", "parameter": [{ "name": "start" }] }),
    )
    .unwrap_err();
    assert_eq!(e.issues[0].code, "required");
}

#[test]
fn a_patient_with_a_referral_also_sees_the_referral_pool() {
    let r = region();
    // Tomorrow + 10 days: inside the 14-day referral window, before the public release.
    let later = day().plus_days(10);
    let s = r
        .engine
        .publish_slots(&[SlotSpec {
            resource: r.dr_li,
            date: later,
            start_min: 480,
            end_min: 510,
            capacity: 10,
        }])
        .unwrap()
        .start;
    let p = patient(&r.engine);
    let find = |patient: Option<PatientId>| {
        let mut q = json!({ "start": "2026-12-04", "end": "2026-12-04" });
        if let Some(p) = patient {
            q["patient"] = json!(format!("Patient/patient-{}", p.0));
        }
        ops::find(&r.engine, &q).unwrap()["total"].as_u64().unwrap()
    };
    assert_eq!(find(Some(p)), 0);
    r.engine
        .issue_referral(&ReferralRequest {
            patient: p,
            from: r.clinic,
            specialty: "cardiology".into(),
            institution: None,
            urgency: Urgency::Routine,
            valid_days: 30,
        })
        .unwrap();
    assert_eq!(find(Some(p)), 1);
    assert_eq!(find(None), 0);
    let _ = s;
}

#[test]
fn the_json_text_api_returns_resources_or_operation_outcomes() {
    let r = region();
    let (a, _) = two_slots(&r);
    let p = patient(&r.engine);
    let ok: Value =
        serde_json::from_str(&fhir::hold_json(&r.engine, &req(a, p, "web").to_string()).unwrap())
            .unwrap();
    assert_eq!(ok["resourceType"], "Appointment");
    let err: Value =
        serde_json::from_str(&fhir::hold_json(&r.engine, "{").unwrap_err().outcome_json()).unwrap();
    assert_eq!(err["resourceType"], "OperationOutcome");
    assert_eq!(err["issue"][0]["code"], "structure");
    let err: Value =
        serde_json::from_str(&fhir::export_slot_json(&r.engine, 999).unwrap_err().outcome_json())
            .unwrap();
    assert_eq!(err["issue"][0]["code"], "not-found");
    let s: Value =
        serde_json::from_str(&fhir::export_schedule_json(&r.engine, r.dr_li.0).unwrap()).unwrap();
    assert_eq!(s["resourceType"], "Schedule");
    assert_eq!(s["actor"][0]["display"], "Dr Li");
    let booking = ok["id"].as_str().unwrap()[8..].parse::<u64>().unwrap();
    let v: Value =
        serde_json::from_str(&fhir::export_appointment_json(&r.engine, booking).unwrap()).unwrap();
    assert_eq!(v["status"], "pending");
    let v: Value = serde_json::from_str(
        &fhir::cancel_json(&r.engine, &json!({ "appointment": booking }).to_string()).unwrap(),
    )
    .unwrap();
    assert_eq!(v["status"], "cancelled");
    let v: Value = serde_json::from_str(
        &fhir::find_json(&r.engine, "{\"start\": \"2026-11-24\", \"end\": \"2026-11-24\"}")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v["total"], 2);
    let mine: Value =
        serde_json::from_str(&fhir::export_patient_appointments_json(&r.engine, p.0).unwrap())
            .unwrap();
    assert_eq!(mine["type"], "collection");
    assert_eq!(mine["entry"][0]["resource"]["status"], "cancelled");
    assert_eq!(mine["entry"].as_array().unwrap().len(), 1);
    let w: Value =
        serde_json::from_str(&fhir::export_waitlist_json(&r.engine, r.cardiology.0).unwrap())
            .unwrap();
    assert_eq!(w["entry"].as_array().unwrap().len(), 0);
    assert!(fhir::export_waitlist_json(&r.engine, 99)
        .unwrap_err()
        .outcome_json()
        .contains("not-found"));
    let huge = " ".repeat(fhir::JSON_INPUT_MAX + 1);
    assert!(fhir::find_json(&r.engine, &huge).unwrap_err().outcome_json().contains("too-costly"));
}

#[test]
fn the_sample_exports_cover_every_status() {
    let samples = fhir::samples::sample_exports().unwrap();
    let statuses = |rt: &str| -> std::collections::BTreeSet<String> {
        samples
            .iter()
            .filter(|(_, v)| v["resourceType"] == rt)
            .map(|(_, v)| v["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        statuses("Slot").into_iter().collect::<Vec<_>>(),
        ["busy", "busy-tentative", "busy-unavailable", "free"]
    );
    assert_eq!(statuses("Appointment").len(), 7, "{:?}", statuses("Appointment"));
}

/// Architecture issue: the JSON-text functions return the engine's error code with the
/// OperationOutcome, so C and Python map it without parsing JSON; a full slot reached through
/// FHIR is `SlotFull` like anywhere else.
#[test]
fn json_errors_carry_the_engine_code() {
    let r = region();
    let (a, _) = two_slots(&r);
    let p = patient(&r.engine);
    fhir::book_json(&r.engine, &req(a, p, "web").to_string()).unwrap();
    let mut full = None;
    for _ in 0..10 {
        let q = patient(&r.engine);
        if let Err(e) = fhir::book_json(&r.engine, &req(a, q, "web").to_string()) {
            full = Some(e);
            break;
        }
    }
    let e = full.expect("the slot fills up");
    assert_eq!(e.code(), ErrorCode::SlotFull);
    assert!(e.outcome_json().contains("\"conflict\""));
    assert_eq!(fhir::hold_json(&r.engine, "{").unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(fhir::export_slot_json(&r.engine, 999).unwrap_err().code(), ErrorCode::NotFound);
}

/// An Appointment with several `slot` references is one booking group: `$book` takes every
/// place or none, the result references them all, `$cancel` of it cancels them all, and `$hold`
/// refuses it (a group is booked at once).
#[test]
fn an_appointment_of_several_slots_is_booked_all_or_nothing() {
    let r = region();
    let (a, b) = two_slots(&r);
    let (p1, p2) = (patient(&r.engine), patient(&r.engine));
    let appointment = |p: PatientId| {
        json!({
            "resourceType": "Appointment",
            "status": "proposed",
            "slot": [{ "reference": format!("Slot/slot-{}", a.0) }, { "reference": format!("Slot/slot-{}", b.0) }],
            "participant": [{ "actor": { "reference": format!("Patient/patient-{}", p.0) }, "status": "needs-action" }],
            "extension": [{ "url": fhir::EXT_CHANNEL, "valueString": "app" }],
        })
    };
    assert_eq!(outcome_code(ops::hold(&r.engine, &appointment(p1)).unwrap_err()).1, "invalid");
    let booked = ops::book(&r.engine, &appointment(p1)).unwrap();
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["slot"].as_array().unwrap().len(), 2);
    assert_eq!(booked["start"], "2026-11-24T08:00:00+08:00");
    assert_eq!(booked["end"], "2026-11-24T09:00:00+08:00");
    // The second slot had one place: the next group fails whole, the first slot keeps its place.
    let full = ops::book(&r.engine, &appointment(p2)).unwrap_err();
    assert_eq!(outcome_code(full).2, Some(ErrorCode::SlotFull));
    assert_eq!(r.engine.slot(a).unwrap().pool_taken.total(), 1);
    // Exported, listed and cancelled as one Appointment.
    let id = booked["id"].as_str().unwrap();
    assert_eq!(fhir::export::appointments_of(&r.engine, p1).unwrap().len(), 1);
    // A bundle export too: one Appointment for the group, the same as `$book` answered, next
    // to a single booking's own.
    let single = r.engine.book(&Request::new(p2, a, r.engine.channel_id("app").unwrap())).unwrap();
    let scope = fhir::ExportScope {
        date_from: day(),
        date_to: day(),
        institution: None,
        resource: Some(r.dr_li),
        appointments: true,
    };
    let bundle = fhir::export::bundle(&r.engine, &scope).unwrap();
    let appointments: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Appointment")
        .collect();
    assert_eq!(appointments.len(), 2, "{appointments:#?}");
    assert!(appointments.contains(&&booked), "the group as `$book` answered it");
    r.engine.cancel(single.id).unwrap();
    let cancelled =
        ops::cancel(&r.engine, &json!({ "appointment": format!("Appointment/{id}") })).unwrap();
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["id"].as_str()),
        (Some("cancelled"), Some(id))
    );
    assert_eq!(r.engine.slot(b).unwrap().pool_taken.total(), 0);
    // More slots than a group holds is refused as invalid.
    let mut many = appointment(p2);
    many["slot"] =
        json!(vec![json!({ "reference": format!("Slot/slot-{}", a.0) }); GROUP_PLACES_MAX + 1]);
    assert_eq!(outcome_code(ops::book(&r.engine, &many).unwrap_err()).1, "invalid");
}
