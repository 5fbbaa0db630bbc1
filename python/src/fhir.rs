//! HL7 FHIR R4 scheduling interop (`haoyuan-fhir`'s JSON text API): every call takes and returns
//! JSON text, with the GIL released. A refusal raises `FhirError` — also an instance of its
//! engine error class (`SlotFull` …) — whose `outcome` attribute is the OperationOutcome as a dict.

use crate::args::Id;
use crate::engine::Engine;
use haoyuan_fhir::{self as fhir, FhirResult};
use pyo3::prelude::*;

/// Run one FHIR call without the GIL; a refusal raises the FHIR twin of its engine error.
fn call<F>(py: Python<'_>, f: F) -> PyResult<String>
where
    F: FnOnce() -> FhirResult<String> + Send,
{
    match py.allow_threads(f) {
        Ok(s) => Ok(s),
        Err(e) => Err(crate::errors::fhir_error(py, &e)?),
    }
}

macro_rules! text_op {
    ($name:ident, $core:ident, $arg:ident) => {
        #[pyfunction]
        fn $name(py: Python<'_>, engine: &Engine, $arg: &str) -> PyResult<String> {
            let e = engine.engine()?;
            call(py, move || fhir::$core(&e, $arg))
        }
    };
}

macro_rules! id_op {
    ($name:ident, $core:ident, $arg:ident: $id:ident) => {
        #[pyfunction]
        fn $name(py: Python<'_>, engine: &Engine, $arg: Id<haoyuan::$id>) -> PyResult<String> {
            let e = engine.engine()?;
            let Id(haoyuan::$id(raw)) = $arg;
            call(py, move || fhir::$core(&e, raw))
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
fn fhir_import_bundle(
    py: Python<'_>,
    engine: &Engine,
    bundle: &str,
    options: &str,
) -> PyResult<String> {
    let e = engine.engine()?;
    call(py, move || fhir::import_bundle_json(&e, bundle, options))
}

#[pyfunction]
fn fhir_import_csv(py: Python<'_>, engine: &Engine, csv: &str, options: &str) -> PyResult<String> {
    let e = engine.engine()?;
    call(py, move || fhir::import_csv_json(&e, csv, options))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
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
