//! Export → import gives the same slots (FHIR bundle and CSV roster), and imports are
//! all-or-nothing.

mod fhir_common;

use fhir_common::*;
use haoyuan::*;
use haoyuan_fhir::{self as fhir, CsvImport, ExportScope, ImportOptions};
use serde_json::{json, Value};

fn scope(r: &Region) -> ExportScope {
    ExportScope {
        date_from: day(),
        date_to: day().plus_days(6),
        institution: Some(r.hospital),
        resource: None,
        appointments: true,
    }
}

#[test]
fn bundle_round_trip_gives_the_same_slots() {
    let a = published_region();
    // Some life on the slots: a booking, a hold and a suspended session.
    let first = a
        .engine
        .find_free_slots(&AvailabilityQuery::department(a.cardiology, day(), day()))
        .unwrap();
    let app = a.engine.channel_id("app").unwrap();
    a.engine.book(&Request::new(patient(&a.engine), first[0].slot, app)).unwrap();
    a.engine.hold(&Request::new(patient(&a.engine), first[1].slot, app)).unwrap();
    let suspended = a.engine.suspend_session(a.dr_chen, day(), None).unwrap();
    assert_eq!(suspended.slots.len(), 9);

    let bundle = fhir::export::bundle(&a.engine, &scope(&a)).unwrap();
    let entries = bundle["entry"].as_array().unwrap();
    let count = |rt: &str| entries.iter().filter(|e| e["resource"]["resourceType"] == rt).count();
    assert_eq!(count("Schedule"), 3);
    assert_eq!(count("Slot"), a.engine.slot_count());
    assert_eq!(count("Appointment"), 2);

    let b = region();
    let report =
        fhir::import::import_bundle(&b.engine, &bundle, &ImportOptions::default()).unwrap();
    // Suspended (busy-unavailable) slots are not offered again; everything else is.
    assert_eq!(report.skipped, 9);
    let mut expected = slot_set(&a.engine);
    let closed: Vec<_> = suspended
        .slots
        .iter()
        .map(|id| a.engine.slot(*id).unwrap())
        .map(|s| (s.resource.0, s.date.0, s.start_min, s.end_min, s.capacity))
        .collect();
    expected.retain(|s| !closed.contains(s));
    assert_eq!(slot_set(&b.engine), expected);
    assert_eq!(report.specs.len(), expected.len());

    // Exporting the imported engine gives the same Slot times, capacities and schedules.
    let again =
        fhir::export::bundle(&b.engine, &ExportScope { appointments: false, ..scope(&b) }).unwrap();
    let key = |v: &Value| {
        let mut k: Vec<String> = v["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == "Slot" && r["status"] != "busy-unavailable")
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r["schedule"]["reference"], r["start"], r["end"], r["extension"][0]
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&again), key(&bundle));
}

#[test]
fn json_text_round_trip_and_a_second_import_is_refused_as_duplicate() {
    let a = published_region();
    let scope =
        json!({ "date_from": "2026-11-24", "date_to": "2026-11-30", "institution": a.hospital.0 })
            .to_string();
    let text = fhir::export_bundle_json(&a.engine, &scope).unwrap();
    let b = region();
    let report: Value =
        serde_json::from_str(&fhir::import_bundle_json(&b.engine, &text, "{}").unwrap()).unwrap();
    assert_eq!(report["slots"], a.engine.slot_count());
    assert_eq!(report["first_slot"], 1);
    assert_eq!(slot_set(&b.engine), slot_set(&a.engine));

    let before = b.engine.slot_count();
    let outcome: Value = serde_json::from_str(
        &fhir::import_bundle_json(&b.engine, &text, "{}").unwrap_err().outcome_json(),
    )
    .unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "duplicate");
    assert!(outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("already published as Slot/slot-"));
    assert_eq!(b.engine.slot_count(), before, "nothing imported");
}

#[test]
fn schedules_without_our_identifier_match_by_actor_name_at_an_institution() {
    let a = published_region();
    let mut bundle =
        fhir::export::bundle(&a.engine, &ExportScope { appointments: false, ..scope(&a) }).unwrap();
    for e in bundle["entry"].as_array_mut().unwrap() {
        e["resource"].as_object_mut().unwrap().remove("identifier");
    }
    let b = region();
    let err =
        fhir::import::import_bundle(&b.engine, &bundle, &ImportOptions::default()).unwrap_err();
    assert_eq!(err.issues.len(), 3, "one issue per Schedule: {err}");
    assert!(err
        .issues
        .iter()
        .all(|i| i.code == "required" && i.location.as_deref().unwrap().ends_with(".identifier")));
    assert_eq!(b.engine.slot_count(), 0);

    fhir::import::import_bundle(
        &b.engine,
        &bundle,
        &ImportOptions { institution: Some(b.hospital) },
    )
    .unwrap();
    assert_eq!(slot_set(&b.engine), slot_set(&a.engine));
}

#[test]
fn csv_roster_gives_the_same_slots_as_the_rosters() {
    let a = published_region();
    let c = region();
    let opts =
        CsvImport { institution: c.hospital, valid_from: day(), valid_until: day().plus_days(6) };
    let report = fhir::import::import_csv(&c.engine, ROSTER_CSV, &opts).unwrap();
    assert_eq!(report.rosters.len(), 14);
    assert_eq!(slot_set(&c.engine), slot_set(&a.engine));
    // Pools are the engine's own: the referral share is spread over each resource-day run.
    let referral_places = |e: &Engine| {
        (1..=e.slot_count() as u32)
            .map(|i| e.slot(SlotId(i)).unwrap().pool_places.referral as u32)
            .sum::<u32>()
    };
    assert_eq!(referral_places(&c.engine), referral_places(&a.engine));

    // The CSV export → import through the bundle gives the same again.
    let bundle = fhir::export::bundle(&c.engine, &scope(&c)).unwrap();
    let d = region();
    fhir::import::import_bundle(&d.engine, &bundle, &ImportOptions::default()).unwrap();
    assert_eq!(slot_set(&d.engine), slot_set(&a.engine));

    // Importing the same roster again would double the places: refused, nothing changes.
    let before = c.engine.slot_count();
    let err = fhir::import::import_csv(&c.engine, ROSTER_CSV, &opts).unwrap_err();
    assert!(err.issues.iter().all(|i| i.code == "duplicate"), "{err}");
    // The first date is Tuesday 24 November: Dr Li's Tuesday row, line 3.
    assert_eq!(err.issues[0].location.as_deref(), Some("line 3"));
    assert_eq!(c.engine.slot_count(), before);
}

#[test]
fn csv_json_api() {
    let c = region();
    let opts = json!({ "institution": c.hospital.0, "valid_from": "2026-11-24", "valid_until": "2026-11-24" }).to_string();
    let report: Value =
        serde_json::from_str(&fhir::import_csv_json(&c.engine, ROSTER_CSV, &opts).unwrap())
            .unwrap();
    // Tuesday only: Dr Li 8 + Dr Chen 9 + ECG 8.
    assert_eq!(report["slots"], 25);
    assert_eq!(c.engine.slot_count(), 25);
    let bad = fhir::import_csv_json(
        &c.engine,
        ROSTER_CSV,
        "{\"institution\": 1, \"valid_from\": \"2026-11-24\"}",
    )
    .unwrap_err()
    .outcome_json();
    assert!(bad.contains("valid_until"), "{bad}");
}
