//! HL7 FHIR R4 through C: JSON text in, JSON text out (`haoyuan-fhir`'s JSON API).
//!
//! Two ways out, by whether the call changes the engine:
//! - The read-only calls (`$find`, the exports) copy their resource into the caller's buffer like
//!   `hy_engine_patient_record_json` (NUL-terminated; `*written` is the length without the NUL;
//!   on HY_BUFFER_TOO_SMALL it is the size needed and `buf` is untouched): calling again with a
//!   bigger buffer is harmless.
//! - The calls that change it (`$hold`, `$book`, `$cancel`, the imports) cannot be retried like
//!   that: the place is taken by the first call. They check every argument and output first and
//!   then hand out a library-allocated string (`*json_out`, `*len_out` its length without the
//!   NUL) that the caller frees with `hy_string_free`: there is no buffer to be too small, so a
//!   call that changed the engine always reports HY_OK with its result.
//!
//! On failure nothing is written: the result code is the engine error behind it (e.g.
//! HY_SLOT_FULL) or HY_INVALID_ARGUMENT for malformed FHIR, and `hy_last_error_message` returns
//! the `OperationOutcome` JSON that explains it. Input strings are read during the call only (at
//! most 1 MiB each).

use crate::engine::{hy_engine, try_engine};
use crate::error::{hy_result, set_last_error};
use crate::ffi::{copy_out, ffi_panic_boundary, give_string, try_out, try_str, Out};
use crate::types::*;
use haoyuan_fhir::{self as fhir, FhirError, FhirResult};
use std::ffi::c_char;

/// The shared body of the calls that take one JSON text.
fn text_call(
    engine: *const hy_engine,
    json: *const c_char,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
    call: fn(&haoyuan_core::Engine, &str) -> FhirResult<String>,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let json = try_str(json, "json")?;
        try_out(written, "written")?;
        deliver(call(e, json), buf, len, written)
    }
}

/// A refused call: its engine code, and its OperationOutcome as the thread's last error.
fn fail(e: FhirError) -> hy_result {
    set_last_error(e.outcome_json());
    e.code().into()
}

/// A read-only call's resource into the caller's buffer (a retry with a bigger one is harmless).
fn deliver(
    r: FhirResult<String>,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> Result<(), hy_result> {
    match r {
        Ok(json) => copy_out(&json, buf, len, written),
        Err(e) => Err(fail(e)),
    }
}

/// A mutating call's resource as a library-allocated string: nothing can fail once the engine
/// has changed (its outputs were checked before the call).
fn hand_out(
    r: FhirResult<String>,
    json_out: Out<'_, *mut c_char>,
    len_out: Out<'_, usize>,
) -> Result<(), hy_result> {
    match r {
        Ok(json) => {
            give_string(json, json_out, len_out);
            Ok(())
        }
        Err(e) => Err(fail(e)),
    }
}

/// The shared body of the mutating calls that take one JSON text: every pointer is checked
/// before the engine is touched.
fn mutating_text_call(
    engine: *mut hy_engine,
    json: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
    call: fn(&haoyuan_core::Engine, &str) -> FhirResult<String>,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let json = try_str(json, "json")?;
        let (json_out, len_out) = (try_out(json_out, "json_out")?, try_out(len_out, "len_out")?);
        hand_out(call(e, json), json_out, len_out)
    }
}

/// `$find` (IHE parameters as a `Parameters` resource or a plain object: start, end,
/// specialty, practitioner, organization, location, patient) → a searchset `Bundle` of free
/// `Slot`s.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_find(
    engine: *const hy_engine,
    json: *const c_char,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    text_call(engine, json, buf, len, written, fhir::find_json)
}

/// `$hold`: `{"slot": "Slot/slot-3", "patient": "Patient/patient-1", "channel": "app"}` (or
/// an `Appointment`/`Parameters`) → the `pending` `Appointment`, as a new string in
/// `*json_out` (its length without the NUL in `*len_out`) to free with `hy_string_free`.
/// Both outputs are checked before anything happens: on any error no place was taken.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_hold(
    engine: *mut hy_engine,
    json: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    mutating_text_call(engine, json, json_out, len_out, fhir::hold_json)
}

/// `$book`: book a slot, or confirm the hold named by `appointment` → the `booked`
/// `Appointment`, handed out as by `hy_engine_fhir_hold` (free it with `hy_string_free`).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_book(
    engine: *mut hy_engine,
    json: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    mutating_text_call(engine, json, json_out, len_out, fhir::book_json)
}

/// Cancel the hold or booking named by `appointment` → the `cancelled` `Appointment`, handed
/// out as by `hy_engine_fhir_hold` (free it with `hy_string_free`).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_cancel(
    engine: *mut hy_engine,
    json: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    mutating_text_call(engine, json, json_out, len_out, fhir::cancel_json)
}

/// A `collection` `Bundle` of Schedules and Slots for a scope
/// (`{"date_from": "2026-11-24", "date_to": "2026-11-30", "institution": 1}`).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_bundle(
    engine: *const hy_engine,
    json: *const c_char,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    text_call(engine, json, buf, len, written, fhir::export_bundle_json)
}

/// The FHIR `Slot` of a slot.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_slot(
    engine: *const hy_engine,
    slot: hy_slot_id,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        deliver(fhir::export_slot_json(e, slot), buf, len, written)
    }
}

/// The FHIR `Schedule` of a resource (HY_NOT_FOUND for an unknown resource).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_schedule(
    engine: *const hy_engine,
    resource: hy_resource_id,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        deliver(fhir::export_schedule_json(e, resource), buf, len, written)
    }
}

/// Every hold and booking of a patient as a `collection` `Bundle` of `Appointment`s
/// (HY_NOT_FOUND for an unknown patient).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_patient_appointments(
    engine: *const hy_engine,
    patient: hy_patient_id,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        deliver(fhir::export_patient_appointments_json(e, patient), buf, len, written)
    }
}

/// A department's waitlist, in serving order, as a `collection` `Bundle` of `waitlist`
/// `Appointment`s (HY_NOT_FOUND for an unknown department).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_waitlist(
    engine: *const hy_engine,
    department: hy_department_id,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        deliver(fhir::export_waitlist_json(e, department), buf, len, written)
    }
}

/// The FHIR `Appointment` of a hold or booking.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_export_appointment(
    engine: *const hy_engine,
    booking: hy_booking_id,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        deliver(fhir::export_appointment_json(e, booking), buf, len, written)
    }
}

/// Import a CSV roster (all or nothing; `options`:
/// `{"institution": 1, "valid_from": "2026-11-23", "valid_until": "2026-12-06"}`). The report
/// (`{"first_slot":…, "slots":…}`) is handed out as by `hy_engine_fhir_hold` (free it with
/// `hy_string_free`); per-row errors are in the OperationOutcome.
#[no_mangle]
pub extern "C" fn hy_engine_fhir_import_csv(
    engine: *mut hy_engine,
    csv: *const c_char,
    options: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let csv = try_str(csv, "csv")?;
        let options = try_str(options, "options")?;
        let (json_out, len_out) = (try_out(json_out, "json_out")?, try_out(len_out, "len_out")?);
        hand_out(fhir::import_csv_json(e, csv, options), json_out, len_out)
    }
}

/// Import a FHIR `Schedule` + `Slot` bundle (all or nothing; `options`: `{}` or
/// `{"institution": 1}`). The report is handed out as by `hy_engine_fhir_hold` (free it with
/// `hy_string_free`).
#[no_mangle]
pub extern "C" fn hy_engine_fhir_import_bundle(
    engine: *mut hy_engine,
    bundle: *const c_char,
    options: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let bundle = try_str(bundle, "bundle")?;
        let options = try_str(options, "options")?;
        let (json_out, len_out) = (try_out(json_out, "json_out")?, try_out(len_out, "len_out")?);
        hand_out(fhir::import_bundle_json(e, bundle, options), json_out, len_out)
    }
}
