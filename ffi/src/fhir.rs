//! HL7 FHIR R4 through C: JSON text in, JSON text out (the core's `haoyuan::fhir` JSON API).
//!
//! Every call copies its resource into the caller's buffer like `hy_engine_patient_record_json`
//! (NUL-terminated; `*written` is the length without the NUL; on HY_BUFFER_TOO_SMALL it is the
//! size needed and `buf` is untouched). On failure nothing is written to `buf`: the result code
//! is the engine error behind it (e.g. HY_SLOT_FULL) or HY_INVALID_ARGUMENT for malformed FHIR,
//! and `hy_last_error_message` returns the `OperationOutcome` JSON that explains it.
//! Input strings are read during the call only (at most 1 MiB each).

use crate::engine::{hy_engine, try_engine};
use crate::error::{hy_result, set_last_error};
use crate::ffi::{copy_out, ffi_panic_boundary, try_out, try_str};
use crate::types::*;
use haoyuan_core::fhir;
use std::ffi::c_char;

/// The engine error number an OperationOutcome carries (`issue[0].details.coding[0].code`),
/// as a result code; malformed FHIR has none and is HY_INVALID_ARGUMENT.
fn outcome_code(outcome: &str) -> hy_result {
    let number = serde_json::from_str::<serde_json::Value>(outcome).ok().and_then(|v| {
        v["issue"].as_array()?.iter().find_map(|i| i["details"]["coding"][0]["code"].as_str()?.parse::<u32>().ok())
    });
    // The domain codes of hy_result are the core's numbers (checked in error.rs's tests).
    number
        .filter(|n| *n >= hy_result::HY_INVALID_ARGUMENT as u32)
        .and_then(|n| hy_result::ALL.into_iter().find(|r| *r as u32 == n))
        .unwrap_or(hy_result::HY_INVALID_ARGUMENT)
}

/// The shared body of the calls that take one JSON text.
fn text_call(
    engine: *const hy_engine,
    json: *const c_char,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
    call: fn(&haoyuan_core::Engine, &str) -> Result<String, String>,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let json = try_str(json, "json")?;
        try_out(written, "written")?;
        deliver(call(e, json), buf, len, written)
    }
}

fn deliver(r: Result<String, String>, buf: *mut c_char, len: usize, written: *mut usize) -> Result<(), hy_result> {
    match r {
        Ok(json) => copy_out(&json, buf, len, written),
        Err(outcome) => {
            let code = outcome_code(&outcome);
            set_last_error(outcome);
            Err(code)
        }
    }
}

/// `$find` (IHE parameters as a `Parameters` resource or a plain object: start, end,
/// specialty, practitioner, organization, location, patient) → a searchset `Bundle` of free
/// `Slot`s.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_find(engine: *const hy_engine, json: *const c_char, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    text_call(engine, json, buf, len, written, fhir::find_json)
}

/// `$hold`: `{"slot": "Slot/slot-3", "patient": "Patient/patient-1", "channel": "app"}` (or
/// an `Appointment`/`Parameters`) → the `pending` `Appointment`.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_hold(engine: *mut hy_engine, json: *const c_char, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    text_call(engine, json, buf, len, written, fhir::hold_json)
}

/// `$book`: book a slot, or confirm the hold named by `appointment` → the `booked`
/// `Appointment`.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_book(engine: *mut hy_engine, json: *const c_char, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    text_call(engine, json, buf, len, written, fhir::book_json)
}

/// Cancel the hold or booking named by `appointment` → the `cancelled` `Appointment`.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_cancel(engine: *mut hy_engine, json: *const c_char, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    text_call(engine, json, buf, len, written, fhir::cancel_json)
}

/// A `collection` `Bundle` of Schedules and Slots for a scope
/// (`{"date_from": "2026-11-24", "date_to": "2026-11-30", "institution": 0}`).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_bundle(engine: *const hy_engine, json: *const c_char, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    text_call(engine, json, buf, len, written, fhir::export_bundle_json)
}

/// The FHIR `Slot` of a slot.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_slot(engine: *const hy_engine, slot: hy_slot_id, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        deliver(fhir::export_slot_json(e, slot), buf, len, written)
    }
}

/// The FHIR `Appointment` of a hold or booking.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_appointment(engine: *const hy_engine, booking: hy_booking_id, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        deliver(fhir::export_appointment_json(e, booking), buf, len, written)
    }
}

/// Import a CSV roster (all or nothing; `options`:
/// `{"institution": 0, "valid_from": "2026-11-23", "valid_until": "2026-12-06"}`). The report
/// (`{"first_slot":…, "slots":…}`) is copied out; per-row errors are in the OperationOutcome.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_import_csv(
    engine: *mut hy_engine,
    csv: *const c_char,
    options: *const c_char,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let csv = try_str(csv, "csv")?;
        let options = try_str(options, "options")?;
        try_out(written, "written")?;
        deliver(fhir::import_csv_json(e, csv, options), buf, len, written)
    }
}

/// Import a FHIR `Schedule` + `Slot` bundle (all or nothing; `options`: `{}` or
/// `{"institution": 0}`).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_import_bundle(
    engine: *mut hy_engine,
    bundle: *const c_char,
    options: *const c_char,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let bundle = try_str(bundle, "bundle")?;
        let options = try_str(options, "options")?;
        try_out(written, "written")?;
        deliver(fhir::import_bundle_json(e, bundle, options), buf, len, written)
    }
}
