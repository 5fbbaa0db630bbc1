//! # haoyuan-fhir: HL7 FHIR R4 scheduling interop for the haoyuan engine
//!
//! Hosts speak FHIR; haoyuan speaks its own types. This module maps between them, following
//! DOMAIN.md's "Interoperability" section:
//!
//! | haoyuan | FHIR R4 |
//! |---|---|
//! | resource (doctor, bed, exam …) | `Schedule` (`id` `resource-N`), actor `Practitioner`/`Location`/`Device`/`HealthcareService` |
//! | slot | `Slot` (`slot-N`): `free` until its last place is taken, then `busy-tentative` while any place is only held, else `busy`; `busy-unavailable` once suspended (停诊). Places are the `slot-capacity` extension (FHIR has no capacity field). |
//! | hold | `Appointment` `pending` (`booking-N`) |
//! | booking | `booked` → `checked-in` → `fulfilled`; `noshow`; `cancelled` with `cancelationReason` (patient, provider, hold expired) |
//! | waitlist entry | `Appointment` `waitlist` (`waitlist-N`) with `requestedPeriod` |
//! | referral | `Appointment.basedOn` → `ServiceRequest/referral-N` |
//! | channel | extension `booking-channel` |
//! | [`Error`] | `OperationOutcome` (severity + IssueType code + the engine's stable error code) |
//!
//! Entry points: [`export`] (resources and bundles), [`ops`] (`$find`, `$hold`, `$book`,
//! `$cancel`), [`import`] (Schedule + Slot bundles and CSV rosters, all-or-nothing), and the
//! `*_json` functions below, which take and return JSON text for the C ABI and Python: `Ok` is
//! the resulting resource, `Err` a [`FhirError`] carrying the engine's error code
//! ([`FhirError::code`]) and its `OperationOutcome` ([`FhirError::outcome_json`]).
//!
//! Times are RFC 3339 with the region's offset (`2026-11-24T08:00:00+08:00`).
//!
//! ## Example: find, hold, book and cancel through FHIR
//!
//! ```
//! use haoyuan::{Date, Engine, EngineConfig, ResourceKind, SlotSpec, Tier, Timestamp};
//! use haoyuan_fhir as fhir;
//! use serde_json::Value;
//!
//! // A hospital with one cardiologist; the clock at 16:00 the day before the visit (after the
//! // public release at 15:00), in UTC+8.
//! let day = Date::from_ymd(2026, 11, 24)?;
//! let now = Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600);
//! let engine = Engine::with_manual_clock(EngineConfig::default(), now)?;
//! let hospital =
//!     engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
//! let cardiology = engine.add_department(hospital, "cardiology", "Cardiology")?;
//! let dr_li = engine.add_resource(cardiology, ResourceKind::Doctor, "Dr Li", false)?;
//! let spec = SlotSpec { resource: dr_li, date: day, start_min: 480, end_min: 510, capacity: 2 };
//! engine.publish_slots(&[spec])?;
//! let patient = engine.register_patient()?;
//!
//! // $find: a searchset Bundle of free Slots.
//! let params = r#"{"start": "2026-11-24", "end": "2026-11-24", "specialty": "cardiology"}"#;
//! let found = fhir::find_json(&engine, params)?;
//! let found: Value = serde_json::from_str(&found).unwrap();
//! let slot = found["entry"][0]["resource"]["id"].as_str().unwrap().to_string();
//! assert_eq!(found["entry"][0]["resource"]["status"], "free");
//!
//! // $hold, then $book the pending Appointment.
//! let patient = format!("Patient/patient-{}", patient.0);
//! let request = format!(r#"{{"slot": "Slot/{slot}", "patient": "{patient}", "channel": "wechat"}}"#);
//! let held: Value = serde_json::from_str(&fhir::hold_json(&engine, &request)?).unwrap();
//! assert_eq!(held["status"], "pending");
//! let confirm = format!(r#"{{"appointment": "Appointment/{}"}}"#, held["id"].as_str().unwrap());
//! let booked: Value = serde_json::from_str(&fhir::book_json(&engine, &confirm)?).unwrap();
//! assert_eq!(booked["status"], "booked");
//!
//! // A second booking of the same department-day breaks the per-patient limit: an
//! // OperationOutcome with the engine's stable error code.
//! let err = fhir::book_json(&engine, &request).unwrap_err();
//! assert_eq!(err.code(), haoyuan::ErrorCode::LimitReached);
//! assert!(err.outcome_json().contains("business-rule"));
//!
//! // $cancel: the place returns to the pool.
//! let cancelled: Value = serde_json::from_str(&fhir::cancel_json(&engine, &confirm)?).unwrap();
//! assert_eq!(cancelled["status"], "cancelled");
//! # Ok::<(), fhir::FhirError>(())
//! ```

#![warn(missing_docs)]

pub mod export;
pub mod import;
pub mod ops;
#[doc(hidden)]
pub mod samples;

use haoyuan::Engine;
use haoyuan::*;
use haoyuan::{Date, Timestamp};
use haoyuan::{Error, ErrorCode};
use serde_json::{json, Map, Value};
use std::fmt;

pub use export::{ExportScope, SlotStatus};
pub use import::{CsvImport, ImportOptions, ImportReport};
pub use ops::{AppointmentRequest, FindParams};

/// Base of every URL and system this module mints (the project's placeholder domain).
pub const BASE: &str = "https://example.invalid/haoyuan/fhir";
/// `Identifier.system` of a resource (the Schedule's identifier value is the `ResourceId`).
pub const SID_RESOURCE: &str = "https://example.invalid/haoyuan/fhir/sid/resource";
/// `Identifier.system` of a Slot: its value is the engine's `SlotId` (the number in `slot-N`).
pub const SID_SLOT: &str = "https://example.invalid/haoyuan/fhir/sid/slot";
/// `Identifier.system` of an Appointment for a hold or booking: its value is the engine's
/// `BookingId` (the number in `booking-N`).
pub const SID_BOOKING: &str = "https://example.invalid/haoyuan/fhir/sid/booking";
/// `Identifier.system` of a `waitlist` Appointment: its value is the engine's `WaitlistId`
/// (the number in `waitlist-N`).
pub const SID_WAITLIST: &str = "https://example.invalid/haoyuan/fhir/sid/waitlist";
/// CodeSystem of `serviceType` on Schedules, Slots and Appointments: what is booked (`doctor`,
/// `bed`, `exam`, `nursing`, `pharmacy`, `service`).
pub const CS_RESOURCE_KIND: &str = "https://example.invalid/haoyuan/fhir/CodeSystem/resource-kind";
/// CodeSystem of `specialty`: the department's specialty code as registered in the engine
/// (`cardiology`, `paediatrics` …); the department's display name is the concept's `text`.
pub const CS_SPECIALTY: &str = "https://example.invalid/haoyuan/fhir/CodeSystem/specialty";
/// CodeSystem of `OperationOutcome.issue.details`: the engine's stable numeric error code
/// ([`ErrorCode`] as a number, its name as `display`), the same code the C ABI and the Python
/// exceptions carry.
pub const CS_ERROR: &str = "https://example.invalid/haoyuan/fhir/CodeSystem/error-code";
/// HL7's appointment cancellation reasons (`pat`, `prov`, `other`).
pub const CS_CANCEL_REASON: &str =
    "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason";
/// Places of a slot (`valuePositiveInt`); on import, 1 when absent.
pub const EXT_CAPACITY: &str =
    "https://example.invalid/haoyuan/fhir/StructureDefinition/slot-capacity";
/// Places of a slot not taken (`valueUnsignedInt`), export only.
pub const EXT_FREE: &str =
    "https://example.invalid/haoyuan/fhir/StructureDefinition/slot-free-places";
/// The booking channel (`valueString`: app, wechat, kiosk …).
pub const EXT_CHANNEL: &str =
    "https://example.invalid/haoyuan/fhir/StructureDefinition/booking-channel";
/// When a pending hold expires (`valueInstant`).
pub const EXT_HOLD_EXPIRES: &str =
    "https://example.invalid/haoyuan/fhir/StructureDefinition/hold-expires";
/// Which pool a place was taken from (`valueCode`: general, referral, quota0, quota1).
pub const EXT_POOL: &str = "https://example.invalid/haoyuan/fhir/StructureDefinition/booking-pool";
/// The institution of a Schedule (`valueReference` to `Organization/institution-N`).
pub const EXT_ORGANIZATION: &str =
    "https://example.invalid/haoyuan/fhir/StructureDefinition/schedule-organization";

/// Largest JSON document the `*_json` functions accept (a region-day bundle is ~30 MB).
pub const JSON_INPUT_MAX: usize = 256 << 20;
/// Most issues one `OperationOutcome` lists; the rest are counted in a last issue.
pub const ISSUES_MAX: usize = 100;

/// One problem, as an `OperationOutcome.issue`.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    /// `fatal | error | warning | information`.
    pub severity: &'static str,
    /// FHIR IssueType: `invalid`, `required`, `value`, `code-invalid`, `not-found`, `conflict`,
    /// `duplicate`, `business-rule`, `too-costly`, `not-supported`, `exception` …
    pub code: &'static str,
    /// Human-readable explanation: the engine's error message, or what is wrong with the input.
    pub diagnostics: String,
    /// Where: a FHIRPath such as `Bundle.entry[3].resource.start`, or `line 4, places` for CSV.
    pub location: Option<String>,
    /// The engine's stable error code, when the engine refused.
    pub engine_code: Option<ErrorCode>,
}

impl Issue {
    /// An `error`-severity issue of IssueType `code` at `location` (a FHIRPath, a CSV
    /// position or `None`), without an engine code.
    pub fn error(
        code: &'static str,
        location: impl Into<Option<String>>,
        diagnostics: impl Into<String>,
    ) -> Issue {
        Issue {
            severity: "error",
            code,
            diagnostics: diagnostics.into(),
            location: location.into(),
            engine_code: None,
        }
    }
}

/// Why a FHIR call failed: one or more issues (an import lists every bad row, up to
/// [`ISSUES_MAX`]). Renders as an `OperationOutcome`.
#[derive(Clone, Debug, PartialEq)]
pub struct FhirError {
    /// The problems, in the order found (never empty when returned by this crate).
    pub issues: Vec<Issue>,
}

impl FhirError {
    /// A failure of one issue.
    pub fn one(issue: Issue) -> FhirError {
        FhirError { issues: vec![issue] }
    }

    /// A failure of one `invalid` issue: the input at `location` is malformed.
    pub fn invalid(
        location: impl Into<Option<String>>,
        diagnostics: impl Into<String>,
    ) -> FhirError {
        FhirError::one(Issue::error("invalid", location, diagnostics))
    }

    /// The `OperationOutcome` resource.
    pub fn to_operation_outcome(&self) -> Value {
        let mut issues: Vec<Value> = self.issues.iter().take(ISSUES_MAX).map(issue_json).collect();
        if self.issues.len() > ISSUES_MAX {
            issues.push(json!({
                "severity": "error", "code": "too-costly",
                "diagnostics": format!("{} more issues not listed", self.issues.len() - ISSUES_MAX),
            }));
        }
        json!({ "resourceType": "OperationOutcome", "issue": issues })
    }
}

fn issue_json(i: &Issue) -> Value {
    let mut v = json!({ "severity": i.severity, "code": i.code, "diagnostics": i.diagnostics });
    if let Some(loc) = &i.location {
        v["location"] = json!([loc]);
        // Only FHIRPaths go into `expression`; CSV positions are not.
        if !loc.starts_with("line ") {
            v["expression"] = json!([loc]);
        }
    }
    if let Some(c) = i.engine_code {
        v["details"] = json!({
            "coding": [{ "system": CS_ERROR, "code": (c as u32).to_string(), "display": format!("{c:?}") }],
            "text": i.diagnostics,
        });
    }
    v
}

impl fmt::Display for FhirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        for (n, i) in self.issues.iter().enumerate() {
            if n == SHOWN {
                return write!(f, "; and {} more", self.issues.len() - SHOWN);
            }
            if n > 0 {
                f.write_str("; ")?;
            }
            match &i.location {
                Some(l) => write!(f, "{l}: {}", i.diagnostics)?,
                None => f.write_str(&i.diagnostics)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for FhirError {}

impl FhirError {
    /// The engine's stable error code for this failure, the same the C ABI and the Python
    /// exceptions use: the code of the first issue the engine raised, else
    /// [`ErrorCode::InvalidArgument`] (the FHIR input itself was malformed).
    pub fn code(&self) -> ErrorCode {
        self.issues.iter().find_map(|i| i.engine_code).unwrap_or(ErrorCode::InvalidArgument)
    }

    /// The `OperationOutcome` as JSON text.
    pub fn outcome_json(&self) -> String {
        self.to_operation_outcome().to_string()
    }
}

impl From<Error> for FhirError {
    /// Severity `error` (`fatal` for durability failures) and the IssueType that fits: a full
    /// slot is a `conflict`, limits, windows, suspensions and lifecycle rules are
    /// `business-rule`, bad input is `invalid`.
    fn from(e: Error) -> FhirError {
        let (severity, code) = match &e {
            Error::InvalidArgument(_) | Error::InvalidPolicy(_) | Error::InvalidDate(_) => {
                ("error", "invalid")
            }
            Error::NotFound { .. } => ("error", "not-found"),
            Error::CardTaken { .. } => ("error", "duplicate"),
            Error::SlotFull { .. } => ("error", "conflict"),
            Error::WrongState { .. }
            | Error::HoldExpired { .. }
            | Error::SlotClosed { .. }
            | Error::NotOpenYet { .. }
            | Error::BookingClosed { .. }
            | Error::PatientSuspended { .. }
            | Error::LimitReached { .. }
            | Error::ReferralInvalid { .. }
            | Error::LotteryWindow { .. }
            | Error::PatientMerged { .. } => ("error", "business-rule"),
            Error::NotManualClock => ("error", "not-supported"),
            Error::CapacityExceeded(_) => ("error", "too-costly"),
            Error::Durability(_) => ("fatal", "exception"),
        };
        FhirError::one(Issue {
            severity,
            code,
            diagnostics: e.to_string(),
            location: None,
            engine_code: Some(e.code()),
        })
    }
}

/// The result of every call of this crate: `Err` is a [`FhirError`] (an `OperationOutcome`).
pub type FhirResult<T> = std::result::Result<T, FhirError>;

// ------------------------------------------------------------------ JSON text API (C, Python)

fn parse_input(text: &str) -> FhirResult<Value> {
    if text.len() > JSON_INPUT_MAX {
        return Err(FhirError::one(Issue::error(
            "too-costly",
            None,
            format!("input of {} bytes exceeds {JSON_INPUT_MAX}", text.len()),
        )));
    }
    serde_json::from_str(text)
        .map_err(|e| FhirError::one(Issue::error("structure", None, format!("not JSON: {e}"))))
}

fn out(r: FhirResult<Value>) -> FhirResult<String> {
    r.map(|v| v.to_string())
}

/// `$find`: IHE parameters (a `Parameters` resource or a plain object) → searchset `Bundle`.
pub fn find_json(engine: &Engine, params: &str) -> FhirResult<String> {
    out(parse_input(params).and_then(|v| ops::find(engine, &v)))
}

/// `$hold`: an `Appointment`, `Parameters` or plain object → `pending` `Appointment`.
pub fn hold_json(engine: &Engine, request: &str) -> FhirResult<String> {
    out(parse_input(request).and_then(|v| ops::hold(engine, &v)))
}

/// `$book`: book a slot, or confirm the pending hold named by `appointment` → `booked` `Appointment`.
pub fn book_json(engine: &Engine, request: &str) -> FhirResult<String> {
    out(parse_input(request).and_then(|v| ops::book(engine, &v)))
}

/// Cancel the hold or booking named by `appointment` → `cancelled` `Appointment`.
pub fn cancel_json(engine: &Engine, request: &str) -> FhirResult<String> {
    out(parse_input(request).and_then(|v| ops::cancel(engine, &v)))
}

/// The `Schedule` of a resource.
pub fn export_schedule_json(engine: &Engine, resource: u32) -> FhirResult<String> {
    out(export::schedule(engine, ResourceId(resource)))
}

/// The `Slot` of a slot.
pub fn export_slot_json(engine: &Engine, slot: u32) -> FhirResult<String> {
    out(export::slot(engine, SlotId(slot)))
}

/// The `Appointment` of a hold or booking.
pub fn export_appointment_json(engine: &Engine, booking: u64) -> FhirResult<String> {
    out(export::appointment(engine, BookingId(booking)))
}

/// Every hold and booking of a patient (ended ones included) as a `collection` `Bundle` of
/// Appointments.
pub fn export_patient_appointments_json(engine: &Engine, patient: u32) -> FhirResult<String> {
    out(export::appointments_of(engine, PatientId(patient)).map(export::collection))
}

/// A department's waitlist, in serving order, as a `collection` `Bundle` of `waitlist`
/// Appointments.
pub fn export_waitlist_json(engine: &Engine, department: u32) -> FhirResult<String> {
    out(export::waitlist(engine, DepartmentId(department)).map(export::collection))
}

/// A `collection` `Bundle` of Schedules and Slots (and Appointments if asked) for a scope:
/// `{"date_from": "2026-11-24", "date_to": "2026-11-30", "institution": 0, "resource": 3,
/// "appointments": true}` (institution/resource/appointments optional).
pub fn export_bundle_json(engine: &Engine, scope: &str) -> FhirResult<String> {
    out(parse_input(scope)
        .and_then(|v| ExportScope::from_json(&v))
        .and_then(|s| export::bundle(engine, &s)))
}

/// Import a Schedule + Slot bundle (all or nothing). `options`: `{}` or `{"institution": 0}`
/// (needed only for Schedules that do not carry haoyuan's resource identifier). `Ok` is the
/// import report as JSON (`{"first_slot":…, "slots":…, "skipped":…}`).
pub fn import_bundle_json(engine: &Engine, bundle: &str, options: &str) -> FhirResult<String> {
    out(parse_input(options)
        .and_then(|o| ImportOptions::from_json(&o))
        .and_then(|o| parse_input(bundle).and_then(|b| import::import_bundle(engine, &b, &o)))
        .map(|r| r.to_json()))
}

/// Import a CSV roster (all or nothing). `options`: `{"institution": 0, "valid_from":
/// "2026-11-23", "valid_until": "2026-12-06"}`.
pub fn import_csv_json(engine: &Engine, csv: &str, options: &str) -> FhirResult<String> {
    out(parse_input(options)
        .and_then(|o| CsvImport::from_json(&o))
        .and_then(|o| import::import_csv(engine, csv, &o))
        .map(|r| r.to_json()))
}

// ------------------------------------------------------------------ shared helpers

/// An instant as FHIR `instant`/`dateTime` text in the region's offset.
pub(crate) fn rfc3339(t: Timestamp, utc_offset_s: i32) -> String {
    let Some(offset) = chrono::FixedOffset::east_opt(utc_offset_s) else { return t.to_string() };
    match chrono::DateTime::from_timestamp(t.0, 0) {
        Some(dt) => dt.with_timezone(&offset).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        None => t.to_string(),
    }
}

/// A FHIR `instant`/`dateTime` with a time and an offset. A date alone is refused here (see
/// [`parse_date_or_time`]); so is a time without an offset, which FHIR forbids.
pub(crate) fn parse_instant(s: &str) -> Result<Timestamp, String> {
    if s.len() > 64 {
        return Err("is longer than 64 characters".into());
    }
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("{s:?} is not an RFC 3339 date-time with an offset ({e})"))?;
    Ok(Timestamp(t.timestamp()))
}

/// A FHIR `date` (`YYYY-MM-DD`, local to the region) or a date-time with an offset. A date
/// stands for its local midnight; `end_of_day` moves it to the next midnight (an inclusive end).
pub(crate) fn parse_date_or_time(
    s: &str,
    utc_offset_s: i32,
    end_of_day: bool,
) -> Result<Timestamp, String> {
    if s.len() == 10 {
        let d = Date::parse(s)
            .map_err(|_| format!("{s:?} is not a valid date (YYYY-MM-DD, 1970..2199)"))?;
        let d = if end_of_day { d.plus_days(1) } else { d };
        return Ok(Timestamp::from_local(d, 0, utc_offset_s));
    }
    parse_instant(s)
}

/// Whether `s` is a valid FHIR `code` (no leading, trailing or double whitespace).
pub(crate) fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s.contains("  ")
        && !s.contains(['\t', '\n', '\r'])
}

/// A CodeableConcept with one coding in `system` (when `code` is a valid code) and a text.
pub(crate) fn concept(system: &str, code: &str, text: &str) -> Value {
    let mut c = Map::new();
    if is_code(code) {
        c.insert("coding".into(), json!([{ "system": system, "code": code }]));
    }
    c.insert("text".into(), json!(text));
    Value::Object(c)
}

/// The number in a haoyuan reference: `Slot/slot-12`, `slot-12`, `https://…/Slot/slot-12`,
/// or the plain number (JSON number or digits). `types` are the accepted resource types.
pub(crate) fn parse_ref(v: &Value, types: &[&str], prefix: &str) -> Result<u64, String> {
    let s = match v {
        Value::Number(n) => {
            return n.as_u64().ok_or_else(|| format!("{n} is not a non-negative integer id"))
        }
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("reference") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err("a Reference needs a string `reference`".into()),
        },
        _ => return Err(format!("expected a reference such as \"{}/{prefix}1\"", types[0])),
    };
    if s.len() > 256 {
        return Err("reference is longer than 256 characters".into());
    }
    let tail = match s.rsplit_once('/') {
        Some((head, id)) => {
            let rtype = head.rsplit('/').next().unwrap_or(head);
            if !types.contains(&rtype) {
                return Err(format!("{s:?} must reference one of {}", types.join(", ")));
            }
            id
        }
        None => s,
    };
    let digits = tail.strip_prefix(prefix).unwrap_or(tail);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a haoyuan id such as \"{}/{prefix}1\"", types[0]));
    }
    digits.parse::<u64>().map_err(|_| format!("{s:?}: id out of range"))
}

pub(crate) fn id_u32(n: u64, what: &str) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("{what} id {n} is out of range"))
}

/// Run every importer and operation on `data` against a small fixed engine and check that a
/// refused input changed nothing. Used by the cargo-fuzz target `fhir_import` and, over the
/// committed corpus, by an ordinary test. Panics only when an invariant is broken.
#[cfg(feature = "fuzz-hooks")]
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let engine = fuzz_engine();
    let before = engine.stats();
    let slots_before = engine.slot_count();
    let check_unchanged = |what: &str, r: &FhirResult<String>| {
        if let Err(e) = r {
            assert_eq!(
                engine.slot_count(),
                slots_before,
                "{what} refused the input but changed the slots"
            );
            let v: Value =
                serde_json::from_str(&e.outcome_json()).expect("an OperationOutcome is JSON");
            assert_eq!(v["resourceType"], "OperationOutcome");
        }
    };
    let r = import_bundle_json(&engine, text, "{\"institution\": 1}");
    check_unchanged("bundle import", &r);
    let after_bundle = engine.slot_count();
    let r = import_csv_json(
        &engine,
        text,
        "{\"institution\": 1, \"valid_from\": \"2026-11-23\", \"valid_until\": \"2026-11-29\"}",
    );
    if r.is_err() {
        assert_eq!(
            engine.slot_count(),
            after_bundle,
            "csv import refused the input but changed the slots"
        );
    }
    for op in [find_json, hold_json, book_json, cancel_json] {
        let _ = op(&engine, text);
    }
    assert_eq!(engine.stats().institutions, before.institutions);
}

/// The engine the fuzz body runs against: one tertiary hospital, two departments, three
/// resources, one published day, a patient with a booking.
#[cfg(feature = "fuzz-hooks")]
pub fn fuzz_engine() -> Engine {
    use haoyuan::{EngineConfig, ResourceKind, SlotSpec, Tier};
    let day = Date::from_ymd(2026, 11, 24).expect("valid date");
    let engine = Engine::with_manual_clock(
        EngineConfig::default(),
        Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600),
    )
    .expect("default config");
    let setup = || -> haoyuan::Result<()> {
        let h =
            engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
        let cardio = engine.add_department(h, "cardiology", "Cardiology")?;
        let paed = engine.add_department(h, "paediatrics", "Paediatrics")?;
        let li = engine.add_resource(cardio, ResourceKind::Doctor, "Dr Li", false)?;
        engine.add_resource(paed, ResourceKind::Doctor, "Dr Chen", true)?;
        engine.add_resource(cardio, ResourceKind::Exam, "ECG", false)?;
        let s = engine.publish_slots(&[SlotSpec {
            resource: li,
            date: day,
            start_min: 480,
            end_min: 510,
            capacity: 2,
        }])?;
        let p = engine.register_patient()?;
        engine.book(&haoyuan::Request::new(p, s.start, engine.channel_id("app")?))?;
        Ok(())
    };
    setup().expect("fuzz engine setup");
    engine
}
