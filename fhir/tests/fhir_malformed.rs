//! Malformed imports — wrong types, unknown status codes, bad times, missing references, bad
//! CSV rows — give a clear error (where and why) and change nothing.

mod fhir_common;

use fhir_common::*;
use haoyuan_fhir::{self as fhir, CsvImport, FhirError, ImportOptions};
use serde_json::{json, Value};

fn schedule() -> Value {
    json!({ "fullUrl": "urn:uuid:1", "resource": {
        "resourceType": "Schedule", "id": "li",
        "identifier": [{ "system": fhir::SID_RESOURCE, "value": "1" }],
        "actor": [{ "reference": "Practitioner/resource-1", "display": "Dr Li" }],
    }})
}

fn slot(start: &str, end: &str) -> Value {
    json!({ "resource": {
        "resourceType": "Slot", "schedule": { "reference": "Schedule/li" }, "status": "free",
        "start": start, "end": end,
        "extension": [{ "url": fhir::EXT_CAPACITY, "valuePositiveInt": 3 }],
    }})
}

fn bundle(entries: Vec<Value>) -> Value {
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
}

fn good() -> Vec<Value> {
    vec![
        schedule(),
        slot("2026-11-24T08:00:00+08:00", "2026-11-24T08:30:00+08:00"),
        slot("2026-11-24T00:30:00Z", "2026-11-24T09:00:00+08:00"),
    ]
}

/// Import `b`; it must fail with an issue of `code` at `location` whose text contains `why`,
/// and leave the engine's slots as they were.
fn refused(b: Value, code: &str, location: &str, why: &str) -> FhirError {
    let r = region();
    let err = fhir::import::import_bundle(&r.engine, &b, &ImportOptions::default()).unwrap_err();
    assert_eq!(r.engine.slot_count(), 0, "nothing may be imported: {err}");
    assert!(
        err.issues.iter().any(|i| i.code == code
            && i.location.as_deref() == Some(location)
            && i.diagnostics.contains(why)),
        "expected {code} at {location} containing {why:?}, got: {err}"
    );
    let outcome = err.to_operation_outcome();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(outcome["issue"].as_array().unwrap().iter().all(|i| i["severity"] == "error"));
    err
}

#[test]
fn the_good_bundle_imports() {
    let r = region();
    let report =
        fhir::import::import_bundle(&r.engine, &bundle(good()), &ImportOptions::default()).unwrap();
    assert_eq!(report.specs.len(), 2);
    assert_eq!(slot_set(&r.engine), vec![(1, day().0, 480, 510, 3), (1, day().0, 510, 540, 3)]);
}

#[test]
fn wrong_types() {
    let mut b = good();
    b[1]["resource"]["start"] = json!(1_795_000_000);
    refused(bundle(b), "value", "Bundle.entry[1].resource.start", "instant string");
    let mut b = good();
    b[2]["resource"]["extension"][0]["valuePositiveInt"] = json!("3");
    refused(bundle(b), "value", "Bundle.entry[2].resource.extension", "valuePositiveInt");
    let mut b = good();
    b[2]["resource"]["extension"][0]["valuePositiveInt"] = json!(0);
    refused(bundle(b), "value", "Bundle.entry[2].resource.extension", "1 ..= 16000");
    refused(
        json!({ "resourceType": "Bundle", "entry": { "a": 1 } }),
        "structure",
        "Bundle.entry",
        "array",
    );
    refused(json!({ "resourceType": "Patient" }), "invalid", "Bundle.resourceType", "Bundle");
    let r = region();
    let err = fhir::import::import_bundle(&r.engine, &json!([1, 2]), &ImportOptions::default())
        .unwrap_err();
    assert_eq!(
        (err.issues[0].code, err.issues[0].diagnostics.as_str()),
        ("structure", "a Bundle must be a JSON object")
    );
}

#[test]
fn unknown_status_codes() {
    let mut b = good();
    b[1]["resource"]["status"] = json!("open");
    refused(
        bundle(b),
        "code-invalid",
        "Bundle.entry[1].resource.status",
        "\"open\" is not a Slot status",
    );
    let mut b = good();
    b[1]["resource"].as_object_mut().unwrap().remove("status");
    refused(bundle(b), "required", "Bundle.entry[1].resource.status", "status");
    let mut b = bundle(good());
    b["type"] = json!("bag");
    refused(b, "code-invalid", "Bundle.type", "Bundle type");
}

#[test]
fn bad_times() {
    for (start, end, why) in [
        ("2026-11-24 08:00", "2026-11-24T08:30:00+08:00", "RFC 3339"),
        ("2026-11-24T08:00:00", "2026-11-24T08:30:00+08:00", "RFC 3339"),
        ("2026-02-30T08:00:00+08:00", "2026-11-24T08:30:00+08:00", "RFC 3339"),
    ] {
        let mut b = good();
        b[1] = slot(start, end);
        refused(bundle(b), "value", "Bundle.entry[1].resource.start", why);
    }
    for (start, end, why) in [
        ("2026-11-24T08:30:00+08:00", "2026-11-24T08:00:00+08:00", "end must be after start"),
        (
            "2026-11-24T23:30:00+08:00",
            "2026-11-25T00:30:00+08:00",
            "end on the local day it starts",
        ),
        ("2026-11-24T08:00:30+08:00", "2026-11-24T08:30:00+08:00", "whole minute"),
        ("1969-12-31T08:00:00+08:00", "1969-12-31T08:30:00+08:00", "outside 1970"),
    ] {
        let mut b = good();
        b[1] = slot(start, end);
        refused(bundle(b), "value", "Bundle.entry[1].resource.end", why);
    }
    // Ending at local midnight is the last segment of the day, not an error.
    let r = region();
    fhir::import::import_bundle(
        &r.engine,
        &bundle(vec![schedule(), slot("2026-11-24T23:30:00+08:00", "2026-11-25T00:00:00+08:00")]),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(slot_set(&r.engine), vec![(1, day().0, 1410, 1440, 3)]);
}

#[test]
fn missing_references() {
    let mut b = good();
    b[1]["resource"]["schedule"]["reference"] = json!("Schedule/nope");
    refused(
        bundle(b),
        "not-found",
        "Bundle.entry[1].resource.schedule",
        "not a Schedule in this bundle",
    );
    let mut b = good();
    b[1]["resource"].as_object_mut().unwrap().remove("schedule");
    refused(bundle(b), "required", "Bundle.entry[1].resource.schedule", "schedule.reference");
    let mut b = good();
    b[0]["resource"]["identifier"][0]["value"] = json!("999");
    refused(
        bundle(b),
        "not-found",
        "Bundle.entry[0].resource.identifier",
        "unknown resource id 999",
    );
    let mut b = good();
    b[0]["resource"].as_object_mut().unwrap().remove("id");
    refused(bundle(b), "required", "Bundle.entry[0].resource.id", "needs an id");
    // A reference by fullUrl works.
    let mut b = good();
    b[1]["resource"]["schedule"]["reference"] = json!("urn:uuid:1");
    let r = region();
    fhir::import::import_bundle(&r.engine, &bundle(b), &ImportOptions::default()).unwrap();
    assert_eq!(r.engine.slot_count(), 2);
}

#[test]
fn one_bad_entry_among_many_stops_the_whole_import_and_every_problem_is_listed() {
    let mut entries = vec![schedule()];
    for i in 0..200u16 {
        let (h, m) = (i / 2 % 24, (i % 2) * 30);
        let d = 24 + i / 48;
        entries.push(slot(
            &format!("2026-11-{d:02}T{h:02}:{m:02}:00+08:00"),
            &format!("2026-11-{d:02}T{h:02}:{:02}:00+08:00", m + 29),
        ));
    }
    entries[57]["resource"]["status"] = json!("booked");
    entries[150]["resource"]["end"] = json!("soon");
    let err = refused(
        bundle(entries.clone()),
        "code-invalid",
        "Bundle.entry[57].resource.status",
        "booked",
    );
    assert_eq!(err.issues.len(), 2, "{err}");
    assert_eq!(err.issues[1].location.as_deref(), Some("Bundle.entry[150].resource.end"));
    // The same slot twice is a duplicate, reported at the second.
    entries[57]["resource"]["status"] = json!("free");
    entries[150] = entries[3].clone();
    refused(
        bundle(entries),
        "duplicate",
        "Bundle.entry[150].resource",
        "repeats the slot of Bundle.entry[3].resource",
    );
}

fn csv_refused(csv: &str, location: &str, why: &str) -> FhirError {
    let r = region();
    let opts =
        CsvImport { institution: r.hospital, valid_from: day(), valid_until: day().plus_days(6) };
    let err = fhir::import::import_csv(&r.engine, csv, &opts).unwrap_err();
    assert_eq!(r.engine.slot_count(), 0, "nothing may be imported: {err}");
    assert!(
        err.issues
            .iter()
            .any(|i| i.location.as_deref() == Some(location) && i.diagnostics.contains(why)),
        "expected {location} containing {why:?}, got: {err}"
    );
    err
}

const HEADER: &str =
    "resource,department,weekday,session_start,session_end,segment_minutes,places\n";

#[test]
fn csv_rows_report_line_field_and_why() {
    let row = |r: &str| format!("{HEADER}Dr Li,Cardiology,mon,08:00,12:00,30,2\n{r}\n");
    csv_refused(
        &row("Dr Wang,Cardiology,tue,08:00,12:00,30,2"),
        "line 3, resource",
        "no resource of that name",
    );
    csv_refused(
        &row("Dr Li,Dermatology,tue,08:00,12:00,30,2"),
        "line 3, department",
        "no department or specialty",
    );
    csv_refused(
        &row("Dr Li,Cardiology,Funday,08:00,12:00,30,2"),
        "line 3, weekday",
        "not a weekday",
    );
    csv_refused(&row("Dr Li,Cardiology,8,08:00,12:00,30,2"), "line 3, weekday", "not a weekday");
    csv_refused(&row("Dr Li,Cardiology,tue,25:00,26:00,30,2"), "line 3, session_start", "HH:MM");
    csv_refused(&row("Dr Li,Cardiology,tue,8h,12:00,30,2"), "line 3, session_start", "HH:MM");
    csv_refused(
        &row("Dr Li,Cardiology,tue,12:00,08:00,30,2"),
        "line 3, session_end",
        "not after session_start",
    );
    csv_refused(
        &row("Dr Li,Cardiology,tue,08:00,12:00,25,2"),
        "line 3, segment_minutes",
        "whole number of 25-minute segments",
    );
    csv_refused(&row("Dr Li,Cardiology,tue,08:00,12:00,30,0"), "line 3, places", "1 ..= 16000");
    csv_refused(&row("Dr Li,Cardiology,tue,08:00,12:00,30,-1"), "line 3, places", "1 ..= 16000");
    csv_refused(
        &row("Dr Li,Cardiology,tue,08:00,12:00,30"),
        "line 3",
        "6 fields, but the header has 7",
    );
    csv_refused(&row("\"Dr Li,Cardiology,tue,08:00,12:00,30,2"), "line 3", "unterminated quote");
    csv_refused(
        &row("Dr \"Li\",Cardiology,tue,08:00,12:00,30,2"),
        "line 3",
        "quote inside an unquoted value",
    );
    csv_refused(
        &row("Dr Li,Cardiology,mon,11:00,13:00,30,2"),
        "line 3, session_start",
        "overlaps the session of line 2",
    );
    csv_refused(
        "resource,department,weekday,start,session_end,segment_minutes,places\n",
        "line 1, start",
        "unknown column",
    );
    csv_refused(
        "resource,department,weekday,session_end,segment_minutes,places\n",
        "line 1, session_start",
        "no \"session_start\" column",
    );
    csv_refused(HEADER, "line 2", "no rows");
    csv_refused("", "line 1", "empty CSV");
    // Several bad rows: all reported together, in order.
    let err = csv_refused(&format!("{HEADER}Dr Li,Cardiology,mon,08:00,12:00,30,0\n\nDr Li,Cardiology,xx,08:00,12:00,30,2\n"), "line 2, places", "1 ..= 16000");
    assert_eq!(err.issues.len(), 2);
    assert_eq!(
        err.issues[1].location.as_deref(),
        Some("line 4, weekday"),
        "blank lines keep their numbers"
    );
    assert!(err.to_string().contains("line 4, weekday: \"xx\" is not a weekday"), "{err}");
}

#[test]
fn csv_quoting_header_order_and_ids() {
    let r = region();
    let csv =
        "\u{feff}places,resource,department,weekday,session_start,session_end,segment_minutes\r\n\
               2 , \"Dr Li\" ,\"Cardiology\",MON,08:00,09:00,30\r\n\
               1,resource-2,paediatrics,7,23:00,24:00,60\r\n";
    let opts = CsvImport {
        institution: r.hospital,
        valid_from: day().plus_days(-1),
        valid_until: day().plus_days(5),
    };
    let report = fhir::import::import_csv(&r.engine, csv, &opts).unwrap();
    // Monday 23 Nov: 2 segments; Sunday 29 Nov: 23:00–24:00.
    assert_eq!(
        slot_set(&r.engine),
        vec![
            (1, day().0 - 1, 480, 510, 2),
            (1, day().0 - 1, 510, 540, 2),
            (2, day().0 + 5, 1380, 1440, 1)
        ]
    );
    assert_eq!(report.rosters[1].weekdays, vec![6]);
    // An id outside the department is not found there.
    csv_refused(
        &format!("{HEADER}resource-2,Cardiology,mon,08:00,09:00,30,1\n"),
        "line 2, resource",
        "no resource",
    );
}

#[test]
fn bad_options_and_oversized_inputs() {
    let r = region();
    let bad = |v: Value| {
        fhir::import_csv_json(&r.engine, HEADER, &v.to_string()).unwrap_err().outcome_json()
    };
    assert!(bad(
        json!({ "institution": 9, "valid_from": "2026-11-24", "valid_until": "2026-11-25" })
    )
    .contains("not-found"));
    assert!(bad(
        json!({ "institution": 1, "valid_from": "2026-11-25", "valid_until": "2026-11-24" })
    )
    .contains("must be ordered"));
    assert!(bad(
        json!({ "institution": 1, "valid_from": "2026-11-24", "valid_until": "2027-12-24" })
    )
    .contains("366"));
    assert!(bad(
        json!({ "institution": 1, "valid_from": "24/11/2026", "valid_until": "2026-11-25" })
    )
    .contains("valid date"));
    assert!(bad(json!({ "institution": 1, "valid_from": "2026-11-24", "valid_until": "2026-11-25", "extra": 1 })).contains("unknown option"));
    let big = "x".repeat(fhir::import::CSV_BYTES_MAX + 1);
    let opts = CsvImport { institution: r.hospital, valid_from: day(), valid_until: day() };
    assert_eq!(
        fhir::import::import_csv(&r.engine, &big, &opts).unwrap_err().issues[0].code,
        "too-costly"
    );
    assert!(fhir::import_bundle_json(&r.engine, "{not json", "{}")
        .unwrap_err()
        .outcome_json()
        .contains("not JSON"));
    assert!(fhir::import_bundle_json(
        &r.engine,
        &bundle(good()).to_string(),
        "{\"institution\": \"x\"}"
    )
    .unwrap_err()
    .outcome_json()
    .contains("integer id"));
    let deep = "[".repeat(100_000);
    assert!(fhir::import_bundle_json(&r.engine, &deep, "{}")
        .unwrap_err()
        .outcome_json()
        .contains("not JSON"));
    assert_eq!(r.engine.slot_count(), 0);
}
