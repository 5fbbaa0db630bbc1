//! The exception hierarchy: `haoyuan.HaoyuanError` and one subclass per domain error, mapped in
//! one place (`From<HyErr> for PyErr`). Each exception carries the stable numeric `code`
//! (the same as the C ABI's) and the error's fields as attributes and as a `fields` dict, so a
//! host can react to `e.slot` or `e.until` without parsing the message.

use crate::convert::{date_to_py, enum_str};
use haoyuan::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(haoyuan._native, HaoyuanError, PyException, "Base class of every error the engine reports; `code` is the stable error number.");
create_exception!(haoyuan._native, InvalidArgument, HaoyuanError, "An argument was out of range or malformed.");
create_exception!(haoyuan._native, InvalidPolicy, HaoyuanError, "A policy was malformed or a number in it out of range.");
create_exception!(haoyuan._native, NotFound, HaoyuanError, "An id does not name anything the engine knows.");
create_exception!(haoyuan._native, CardTaken, HaoyuanError, "The card already belongs to another patient.");
create_exception!(haoyuan._native, WrongState, HaoyuanError, "The booking is in a state that does not allow this action.");
create_exception!(haoyuan._native, HoldExpired, HaoyuanError, "The hold expired before it was confirmed.");
create_exception!(haoyuan._native, SlotFull, HaoyuanError, "The slot has no free place for this request.");
create_exception!(haoyuan._native, SlotClosed, HaoyuanError, "The slot's session was suspended by the provider.");
create_exception!(haoyuan._native, NotOpenYet, HaoyuanError, "The slot is not open for booking yet.");
create_exception!(haoyuan._native, BookingClosed, HaoyuanError, "Booking for the slot has closed.");
create_exception!(haoyuan._native, PatientSuspended, HaoyuanError, "The patient is suspended after no-shows.");
create_exception!(haoyuan._native, LimitReached, HaoyuanError, "A per-patient limit refused the request.");
create_exception!(haoyuan._native, ReferralInvalid, HaoyuanError, "The referral cannot be used for this request.");
create_exception!(haoyuan._native, LotteryWindow, HaoyuanError, "The slot is in its release lottery: use submit().");
create_exception!(haoyuan._native, PatientMerged, HaoyuanError, "The patient was merged into another.");
create_exception!(haoyuan._native, NotManualClock, HaoyuanError, "The engine runs on the system clock.");
create_exception!(haoyuan._native, CapacityExceeded, HaoyuanError, "A size bound of the engine was reached.");
create_exception!(haoyuan._native, InvalidDate, HaoyuanError, "A date is outside the supported range.");
create_exception!(haoyuan._native, Durability, HaoyuanError, "The journal could not make an operation durable.");

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
    let msg = e.to_string();
    let err = match e {
        Error::InvalidArgument(_) => InvalidArgument::new_err(msg),
        Error::InvalidPolicy(_) => InvalidPolicy::new_err(msg),
        Error::NotFound { .. } => NotFound::new_err(msg),
        Error::CardTaken { .. } => CardTaken::new_err(msg),
        Error::WrongState { .. } => WrongState::new_err(msg),
        Error::HoldExpired { .. } => HoldExpired::new_err(msg),
        Error::SlotFull { .. } => SlotFull::new_err(msg),
        Error::SlotClosed { .. } => SlotClosed::new_err(msg),
        Error::NotOpenYet { .. } => NotOpenYet::new_err(msg),
        Error::BookingClosed { .. } => BookingClosed::new_err(msg),
        Error::PatientSuspended { .. } => PatientSuspended::new_err(msg),
        Error::LimitReached { .. } => LimitReached::new_err(msg),
        Error::ReferralInvalid { .. } => ReferralInvalid::new_err(msg),
        Error::LotteryWindow { .. } => LotteryWindow::new_err(msg),
        Error::PatientMerged { .. } => PatientMerged::new_err(msg),
        Error::NotManualClock => NotManualClock::new_err(msg),
        Error::CapacityExceeded(_) => CapacityExceeded::new_err(msg),
        Error::InvalidDate(_) => InvalidDate::new_err(msg),
        Error::Durability(_) => Durability::new_err(msg),
    };
    let fields = PyDict::new(py);
    match e {
        Error::InvalidArgument(m) | Error::InvalidPolicy(m) | Error::CapacityExceeded(m) | Error::Durability(m) => {
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
            fields.set_item("state", state)?;
            fields.set_item("action", action)?;
        }
        Error::HoldExpired { booking, expired_at } => {
            fields.set_item("booking", booking.0)?;
            fields.set_item("expired_at", expired_at.0)?;
        }
        Error::SlotFull { slot } | Error::SlotClosed { slot } => fields.set_item("slot", slot.0)?,
        Error::NotOpenYet { slot, opens_at } => {
            fields.set_item("slot", slot.0)?;
            fields.set_item("opens_at", opens_at.0)?;
        }
        Error::BookingClosed { slot, closed_at } => {
            fields.set_item("slot", slot.0)?;
            fields.set_item("closed_at", closed_at.0)?;
        }
        Error::PatientSuspended { patient, until } => {
            fields.set_item("patient", patient.0)?;
            fields.set_item("until", until.0)?;
        }
        Error::LimitReached { patient, limit, max } => {
            fields.set_item("patient", patient.0)?;
            fields.set_item("limit", enum_str(limit))?;
            fields.set_item("max", max)?;
        }
        Error::ReferralInvalid { referral, reason } => {
            fields.set_item("referral", referral.0)?;
            fields.set_item("reason", reason)?;
        }
        Error::LotteryWindow { slot, draws_at } => {
            fields.set_item("slot", slot.0)?;
            fields.set_item("draws_at", draws_at.0)?;
        }
        Error::PatientMerged { patient, survivor } => {
            fields.set_item("patient", patient.0)?;
            fields.set_item("survivor", survivor.0)?;
        }
        Error::NotManualClock => {}
        Error::InvalidDate(d) => fields.set_item("date", date_to_py(*d))?,
    }
    let value = err.value(py);
    value.setattr("code", e.code() as u32)?;
    for (k, v) in fields.iter() {
        value.setattr(k.downcast::<pyo3::types::PyString>()?, v)?;
    }
    value.setattr("fields", fields)?;
    Ok(err)
}

/// Register the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("HaoyuanError", py.get_type::<HaoyuanError>())?;
    m.add("InvalidArgument", py.get_type::<InvalidArgument>())?;
    m.add("InvalidPolicy", py.get_type::<InvalidPolicy>())?;
    m.add("NotFound", py.get_type::<NotFound>())?;
    m.add("CardTaken", py.get_type::<CardTaken>())?;
    m.add("WrongState", py.get_type::<WrongState>())?;
    m.add("HoldExpired", py.get_type::<HoldExpired>())?;
    m.add("SlotFull", py.get_type::<SlotFull>())?;
    m.add("SlotClosed", py.get_type::<SlotClosed>())?;
    m.add("NotOpenYet", py.get_type::<NotOpenYet>())?;
    m.add("BookingClosed", py.get_type::<BookingClosed>())?;
    m.add("PatientSuspended", py.get_type::<PatientSuspended>())?;
    m.add("LimitReached", py.get_type::<LimitReached>())?;
    m.add("ReferralInvalid", py.get_type::<ReferralInvalid>())?;
    m.add("LotteryWindow", py.get_type::<LotteryWindow>())?;
    m.add("PatientMerged", py.get_type::<PatientMerged>())?;
    m.add("NotManualClock", py.get_type::<NotManualClock>())?;
    m.add("CapacityExceeded", py.get_type::<CapacityExceeded>())?;
    m.add("InvalidDate", py.get_type::<InvalidDate>())?;
    m.add("Durability", py.get_type::<Durability>())?;
    Ok(())
}
