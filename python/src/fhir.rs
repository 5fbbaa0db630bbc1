//! HL7 FHIR R4 scheduling interop (`haoyuan::fhir`'s JSON text API): every call takes and returns
//! JSON text, with the GIL released. A refusal raises `FhirError`, whose `outcome` attribute is
//! the OperationOutcome as a dict.

use crate::args::Id;
use crate::engine::Engine;
use crate::errors::HaoyuanError;
use pyo3::create_exception;
use pyo3::prelude::*;

create_exception!(haoyuan._native, FhirError, HaoyuanError, "A FHIR request was refused; `outcome` is the OperationOutcome (a dict).");

/// Run one FHIR call without the GIL; an `Err` becomes `FhirError` carrying the outcome.
fn call<F>(py: Python<'_>, f: F) -> PyResult<String>
where
    F: FnOnce() -> Result<String, String> + Send,
{
    match py.allow_threads(f) {
        Ok(s) => Ok(s),
        Err(outcome) => {
            // The outcome as a dict, so a host reads `e.outcome["issue"]` without parsing.
            let dict = py.import("json")?.call_method1("loads", (outcome.as_str(),))?;
            let err = FhirError::new_err(outcome);
            err.value(py).setattr("outcome", dict)?;
            Err(err)
        }
    }
}

macro_rules! text_op {
    ($name:ident, $core:ident, $arg:ident) => {
        #[pyfunction]
        fn $name(py: Python<'_>, engine: &Engine, $arg: &str) -> PyResult<String> {
            let e = engine.inner.clone();
            call(py, move || haoyuan::fhir::$core(&e, $arg))
        }
    };
}

macro_rules! id_op {
    ($name:ident, $core:ident, $arg:ident: $id:ident) => {
        #[pyfunction]
        fn $name(py: Python<'_>, engine: &Engine, $arg: Id<haoyuan::$id>) -> PyResult<String> {
            let e = engine.inner.clone();
            let Id(haoyuan::$id(raw)) = $arg;
            call(py, move || haoyuan::fhir::$core(&e, raw))
        }
    };
}

text_op!(fhir_find, find_json, params);
text_op!(fhir_hold, hold_json, request);
text_op!(fhir_book, book_json, request);
text_op!(fhir_cancel, cancel_json, request);
text_op!(fhir_export_bundle, export_bundle_json, scope);
id_op!(fhir_export_schedule, export_schedule_json, resource: ResourceId);
id_op!(fhir_export_slot, export_slot_json, slot: SlotId);
id_op!(fhir_export_appointment, export_appointment_json, booking: BookingId);
id_op!(fhir_export_patient_appointments, export_patient_appointments_json, patient: PatientId);
id_op!(fhir_export_waitlist, export_waitlist_json, department: DepartmentId);

#[pyfunction]
fn fhir_import_bundle(py: Python<'_>, engine: &Engine, bundle: &str, options: &str) -> PyResult<String> {
    let e = engine.inner.clone();
    call(py, move || haoyuan::fhir::import_bundle_json(&e, bundle, options))
}

#[pyfunction]
fn fhir_import_csv(py: Python<'_>, engine: &Engine, csv: &str, options: &str) -> PyResult<String> {
    let e = engine.inner.clone();
    call(py, move || haoyuan::fhir::import_csv_json(&e, csv, options))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FhirError", m.py().get_type::<FhirError>())?;
    m.add_function(wrap_pyfunction!(fhir_find, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_hold, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_book, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_cancel, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_export_schedule, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_export_slot, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_export_appointment, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_export_patient_appointments, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_export_waitlist, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_export_bundle, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_import_bundle, m)?)?;
    m.add_function(wrap_pyfunction!(fhir_import_csv, m)?)?;
    Ok(())
}
