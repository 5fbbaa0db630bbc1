//! Conversions between Python values and the engine's types.
//!
//! Dates are `datetime.date` (or `"YYYY-MM-DD"` on input); instants are int seconds since the
//! Unix epoch (or a timezone-aware `datetime` on input: a naive one is ambiguous and refused);
//! enums are their DOMAIN.md names as strings (`"tertiary"`, `"booked"`, …).

use crate::args::{self, Int};
use crate::errors::invalid;
use chrono::NaiveDate;
use haoyuan::{Date, TimeOfDay, Timestamp};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyString, PyType};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 exists")
}

/// Whether `ob` is a `datetime.date` (a `datetime.datetime` is one too). The limited API of the
/// abi3 wheel has no `PyDate_Check`: the class is looked up once and kept.
fn is_date(ob: &Bound<'_, PyAny>) -> PyResult<bool> {
    static DATE: GILOnceCell<Py<PyType>> = GILOnceCell::new();
    ob.is_instance(DATE.import(ob.py(), "datetime", "date")?)
}

/// Whether `ob` is a `datetime.datetime` (as `is_date`).
fn is_datetime(ob: &Bound<'_, PyAny>) -> PyResult<bool> {
    static DATETIME: GILOnceCell<Py<PyType>> = GILOnceCell::new();
    ob.is_instance(DATETIME.import(ob.py(), "datetime", "datetime")?)
}

/// An engine date as a `datetime.date`.
pub fn date_to_py(d: Date) -> NaiveDate {
    epoch().checked_add_signed(chrono::Duration::days(d.0 as i64)).unwrap_or(epoch())
}

/// A date argument: `datetime.date` or an ISO string.
#[derive(Copy, Clone, Debug)]
pub struct DateArg(pub Date);

impl<'py> FromPyObject<'py> for DateArg {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = ob.downcast::<PyString>() {
            let s = s.to_cow()?;
            return Date::parse(&s)
                .map(DateArg)
                .map_err(|_| invalid(format!("{s:?} is not a date YYYY-MM-DD in 1970 ..= 2199")));
        }
        if is_datetime(ob)? {
            return Err(invalid("expected a datetime.date, got a datetime.datetime (use .date())"));
        }
        if is_date(ob)? {
            let d: NaiveDate = ob.extract()?;
            let days = (d - epoch()).num_days();
            let date = Date(
                i32::try_from(days).map_err(|_| invalid(format!("date {d} is out of range")))?,
            );
            if !date.is_valid() {
                return Err(invalid(format!("date {d} is outside 1970-01-01 ..= 2199-12-31")));
            }
            return Ok(DateArg(date));
        }
        Err(invalid(format!(
            "expected a datetime.date or 'YYYY-MM-DD', got {}",
            ob.get_type().name()?
        )))
    }
}

/// The latest instant a caller may pass: the end of the engine's calendar (2199-12-31, UTC).
pub const INSTANT_MAX: i64 = 84_006 * haoyuan::DAY_S - 1;

/// An instant argument: int seconds since the epoch, or an aware `datetime`, within
/// `0 ..= INSTANT_MAX` — the engine's calendar, so that every date it derives from a clock or
/// an expiry is one it accepts (a clock in year 9999 or before 1970 is a caller's mistake).
#[derive(Copy, Clone, Debug)]
pub struct TimeArg(pub Timestamp);

impl<'py> FromPyObject<'py> for TimeArg {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        let seconds = if is_datetime(ob)? {
            if ob.getattr("tzinfo")?.is_none() {
                return Err(invalid(
                    "a naive datetime is ambiguous: give it a tzinfo, or pass int seconds",
                ));
            }
            let s = args::float(&ob.call_method0("timestamp")?)?;
            if !(0.0..=INSTANT_MAX as f64).contains(&s) {
                return Err(invalid(format!(
                    "instant {} is outside 1970-01-01 ..= 2199-12-31",
                    ob.repr()?
                )));
            }
            s.floor() as i64
        } else if args::is_int(ob) {
            match args::int_named::<i64>(ob, "instant") {
                Ok(s) => s,
                Err(_) => {
                    return Err(invalid(format!(
                        "instant {} is outside 0 ..= {INSTANT_MAX} (1970-01-01 ..= 2199-12-31)",
                        ob.repr()?
                    )))
                }
            }
        } else {
            return Err(invalid(format!(
                "expected int seconds or an aware datetime, got {} {}",
                ob.get_type().name()?,
                ob.repr()?
            )));
        };
        if !(0..=INSTANT_MAX).contains(&seconds) {
            return Err(invalid(format!(
                "instant {seconds} is outside 0 ..= {INSTANT_MAX} (1970-01-01 ..= 2199-12-31)"
            )));
        }
        Ok(TimeArg(Timestamp(seconds)))
    }
}

/// A time-of-day argument `(start_min, end_min)`: `start < end <= 1440` minutes.
#[derive(Copy, Clone, Debug)]
pub struct TimeOfDayArg(pub TimeOfDay);

impl<'py> FromPyObject<'py> for TimeOfDayArg {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        let (Int(s), Int(e)): (Int<u16>, Int<u16>) = ob.extract().map_err(|err| {
            if crate::errors::is_invalid_argument(ob.py(), &err) {
                err
            } else {
                invalid(format!(
                    "a time of day is a (start_min, end_min) tuple, got {}",
                    ob.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            }
        })?;
        if s < e && e <= 1440 {
            Ok(TimeOfDayArg(TimeOfDay { start_min: s, end_min: e }))
        } else {
            Err(invalid(format!("time of day ({s}, {e}) must satisfy start < end <= 1440 minutes")))
        }
    }
}

/// The snake_case name of a serde enum value (`Tier::Tertiary` → `"tertiary"`).
pub fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

/// Parse a serde enum from its snake_case name, listing the accepted names on error.
pub fn parse_enum<T: DeserializeOwned>(what: &str, s: &str, accepted: &[&str]) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        invalid(format!("unknown {what} {s:?}; expected one of {}", accepted.join(", ")))
    })
}

pub const TIERS: &[&str] = &["community", "secondary", "tertiary"];
pub const RESOURCE_KINDS: &[&str] = &["doctor", "bed", "exam", "nursing", "pharmacy", "service"];
pub const URGENCIES: &[&str] = &["emergency", "urgent", "routine"];

/// A JSON value as plain Python objects (dict, list, int, float, str, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(json_to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(o) => {
            let dict = PyDict::new(py);
            for (k, x) in o {
                dict.set_item(k, json_to_py(py, x)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python object as JSON text, through the standard library's `json` (so a dict from a
/// config loader, or one from `Policy.to_dict()`, round-trips exactly). NaN and infinities have
/// no JSON form and are refused here; so is anything `json` cannot write (`InvalidArgument`).
pub fn py_to_json(ob: &Bound<'_, PyAny>) -> PyResult<String> {
    json_text(ob)?.map_err(invalid)
}

/// [`py_to_json`] with the refusal as a message, for callers that raise another class.
pub fn json_text(ob: &Bound<'_, PyAny>) -> PyResult<Result<String, String>> {
    let py = ob.py();
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("allow_nan", false)?;
    match py.import("json")?.call_method("dumps", (ob,), Some(&kwargs)) {
        Ok(text) => Ok(Ok(text.extract()?)),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyException>(py) => {
            Ok(Err(format!("not expressible as JSON: {e}")))
        }
        Err(e) => Err(e),
    }
}
