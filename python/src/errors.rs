//! The exception hierarchy, built from core's one error table (`ErrorCode::ALL`): the base
//! `haoyuan.HaoyuanError`, one subclass per code with the table's name and description
//! (`SlotFull`, `PatientSuspended` …), and `FhirError` for refusals that came through FHIR —
//! which are also instances of their engine class (a full slot reached through FHIR is caught
//! by `except SlotFull`). Every exception carries the stable numeric `code` (the same as the C
//! ABI's) and the error's fields as attributes and as a `fields` dict, so a host can react to
//! `e.slot` or `e.until` without parsing the message; a FHIR one also `outcome`, the
//! OperationOutcome as a dict.

use haoyuan::{Error, ErrorCode};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyTuple, PyType};
use std::ffi::CString;

create_exception!(
    haoyuan._native,
    HaoyuanError,
    PyException,
    "Base class of every error the engine reports; `code` is the stable error number."
);
create_exception!(
    haoyuan._native,
    FhirError,
    HaoyuanError,
    "A FHIR request was refused. It is also an instance of its engine error class (`SlotFull` …); `code` and `fields` are the engine's, `outcome` is the OperationOutcome (a dict)."
);

/// The classes of the table, by code: the engine's and their FHIR twins.
struct Classes {
    engine: Vec<(ErrorCode, Py<PyType>)>,
    fhir: Vec<(ErrorCode, Py<PyType>)>,
}

static CLASSES: GILOnceCell<Classes> = GILOnceCell::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let base = py.get_type::<HaoyuanError>();
        let fhir_base = py.get_type::<FhirError>();
        let type_of_types = py.get_type::<PyType>();
        let mut engine = Vec::new();
        let mut fhir = Vec::new();
        for &code in ErrorCode::ALL {
            let name = CString::new(format!("haoyuan._native.{}", code.name()))
                .expect("names have no NUL");
            let doc = CString::new(code.description()).expect("descriptions have no NUL");
            let class = PyErr::new_type(py, &name, Some(&doc), Some(&base), None)?;
            class.bind(py).setattr("code", code as u32)?;
            // The FHIR twin: `class FhirSlotFull(SlotFull, FhirError)`, never named in the module.
            let attrs = PyDict::new(py);
            attrs.set_item("__module__", "haoyuan._native")?;
            attrs.set_item("__doc__", format!("{} (through FHIR)", code.description()))?;
            let bases = PyTuple::new(py, [class.bind(py).as_any(), fhir_base.as_any()])?;
            let twin = type_of_types
                .call1((format!("Fhir{}", code.name()), bases, attrs))?
                .downcast_into::<PyType>()?
                .unbind();
            engine.push((code, class));
            fhir.push((code, twin));
        }
        Ok(Classes { engine, fhir })
    })
}

/// A date as `datetime.date` (the engine's calendar starts at 1970-01-01).
fn date_of(d: haoyuan::Date) -> chrono::NaiveDate {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    epoch.checked_add_signed(chrono::Duration::days(d.0 as i64)).unwrap_or(epoch)
}

/// Whether `err` is the engine's `InvalidArgument` (or its FHIR twin).
pub fn is_invalid_argument(py: Python<'_>, err: &PyErr) -> bool {
    class_of(py, ErrorCode::InvalidArgument, false).is_ok_and(|c| err.is_instance(py, &c))
}

fn class_of<'py>(
    py: Python<'py>,
    code: ErrorCode,
    through_fhir: bool,
) -> PyResult<Bound<'py, PyType>> {
    let c = classes(py)?;
    let list = if through_fhir { &c.fhir } else { &c.engine };
    let (_, class) = list.iter().find(|(c, _)| *c == code).expect("every code has a class");
    Ok(class.bind(py).clone())
}

/// An engine error on its way to Python (a local newtype: `PyErr` and `Error` are both foreign).
pub struct HyErr(pub Error);

impl From<Error> for HyErr {
    fn from(e: Error) -> Self {
        HyErr(e)
    }
}

impl From<HyErr> for PyErr {
    fn from(HyErr(e): HyErr) -> PyErr {
        Python::with_gil(|py| match build(py, &e) {
            Ok(err) => err,
            Err(err) => err,
        })
    }
}

/// Shorthand for an `InvalidArgument` raised by the binding itself.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    PyErr::from(HyErr(Error::InvalidArgument(msg.into())))
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    build_as(py, e, false)
}

fn build_as(py: Python<'_>, e: &Error, through_fhir: bool) -> PyResult<PyErr> {
    let msg = e.to_string();
    let err = PyErr::from_type(class_of(py, e.code(), through_fhir)?, msg);
    let fields = PyDict::new(py);
    match e {
        Error::InvalidArgument(m)
        | Error::InvalidPolicy(m)
        | Error::CapacityExceeded(m)
        | Error::Durability(m) => {
            fields.set_item("detail", m)?;
        }
        Error::NotFound { kind, id } => {
            fields.set_item("kind", kind)?;
            fields.set_item("id", id)?;
        }
        Error::CardTaken { card_type, masked, owner } => {
            fields.set_item("card_type", card_type)?;
            fields.set_item("masked", masked)?;
            fields.set_item("owner", owner.0)?;
        }
        Error::WrongState { booking, state, action } => {
            fields.set_item("booking", booking.0)?;
            fields.set_item("state", state.name())?;
            fields.set_item("action", action)?;
        }
        Error::HoldExpired { booking, expired_at, .. } => {
            fields.set_item("booking", booking.0)?;
            fields.set_item("expired_at", expired_at.0)?;
        }
        Error::SlotFull { slot } | Error::SlotClosed { slot } => fields.set_item("slot", slot.0)?,
        Error::NotOpenYet { slot, opens_at, .. } => {
            fields.set_item("slot", slot.0)?;
            fields.set_item("opens_at", opens_at.0)?;
        }
        Error::BookingClosed { slot, closed_at, .. } => {
            fields.set_item("slot", slot.0)?;
            fields.set_item("closed_at", closed_at.0)?;
        }
        Error::PatientSuspended { patient, until, .. } => {
            fields.set_item("patient", patient.0)?;
            fields.set_item("until", until.0)?;
        }
        Error::LimitReached { patient, limit, max } => {
            fields.set_item("patient", patient.0)?;
            fields.set_item("limit", limit.name())?;
            fields.set_item("max", max)?;
        }
        Error::ReferralInvalid { referral, reason } => {
            fields.set_item("referral", referral.0)?;
            fields.set_item("reason", reason)?;
        }
        Error::LotteryWindow { slot, draws_at, .. } => {
            fields.set_item("slot", slot.0)?;
            fields.set_item("draws_at", draws_at.0)?;
        }
        Error::PatientMerged { patient, survivor } => {
            fields.set_item("patient", patient.0)?;
            fields.set_item("survivor", survivor.0)?;
        }
        Error::NotManualClock => {}
        Error::InvalidDate(d) => fields.set_item("date", date_of(*d))?,
    }
    let value = err.value(py);
    value.setattr("code", e.code() as u32)?;
    for (k, v) in fields.iter() {
        value.setattr(k.downcast::<pyo3::types::PyString>()?, v)?;
    }
    value.setattr("fields", fields)?;
    Ok(err)
}

/// A FHIR refusal: the class of its engine error's FHIR twin (so both `except FhirError` and
/// `except SlotFull` catch it), with the engine's code, a readable message and the
/// OperationOutcome as `outcome`.
#[cfg(feature = "fhir")]
pub fn fhir_error(py: Python<'_>, e: &haoyuan_fhir::FhirError) -> PyResult<PyErr> {
    let err = PyErr::from_type(class_of(py, e.code(), true)?, e.to_string());
    let value = err.value(py);
    value.setattr("code", e.code() as u32)?;
    let fields = PyDict::new(py);
    fields.set_item("detail", e.to_string())?;
    value.setattr("detail", e.to_string())?;
    value.setattr("fields", fields)?;
    let outcome = py.import("json")?.call_method1("loads", (e.outcome_json(),))?;
    value.setattr("outcome", outcome)?;
    Ok(err)
}

/// Register the exception classes on the module, and `ERROR_TABLE`: the table itself, as
/// `(code, name, description)` tuples (the tests compare classes, stub and C header with it).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("HaoyuanError", py.get_type::<HaoyuanError>())?;
    m.add("FhirError", py.get_type::<FhirError>())?;
    for (code, class) in &classes(py)?.engine {
        m.add(code.name(), class.bind(py))?;
    }
    let table: Vec<(u32, &str, &str)> =
        ErrorCode::ALL.iter().map(|c| (*c as u32, c.name(), c.description())).collect();
    m.add("ERROR_TABLE", table)?;
    Ok(())
}
