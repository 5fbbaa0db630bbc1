//! Numeric arguments: every integer a Python caller passes goes through [`int`] — ids as
//! [`Id`], other integers as [`Int`], or `#[pyo3(from_py_with = int::<T>)]` where the Python
//! signature shows a literal default (a newtype's default would render as `...` in the
//! signature that `mypy.stubtest` checks). Floats go through [`Float`] / [`float`].
//!
//! Why: pyo3 alone raises `OverflowError` for `-1` or `2**64` where a `u32` is expected and
//! `TypeError` for a float, so a host had three exception classes to catch, and the array calls
//! already answered `InvalidArgument`. Here a value outside the Rust type's range, a bool, a
//! float, a string or any other non-integer is `InvalidArgument` naming the value (the message
//! quotes its `repr`), before the engine is touched. Objects with `__index__` (NumPy integers)
//! are integers. An id of 0 is in range: it names nothing, so the engine answers `NotFound`.

use crate::errors::invalid;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBool;
use std::path::PathBuf;

/// The Rust integer types an argument may have.
pub trait IntType: Copy + TryFrom<i128> {
    const MIN: i128;
    const MAX: i128;
}

macro_rules! int_type {
    ($($t:ty),*) => {$(
        impl IntType for $t {
            const MIN: i128 = <$t>::MIN as i128;
            const MAX: i128 = <$t>::MAX as i128;
        }
    )*};
}
int_type!(u8, u16, u32, u64, i32, i64);

/// A value's `repr`, shortened: error messages quote what the caller passed.
fn shown(ob: &Bound<'_, PyAny>) -> String {
    let r = ob.repr().map(|r| r.to_string()).unwrap_or_else(|_| String::from("<unprintable>"));
    if r.chars().count() > 60 {
        format!("{}…", r.chars().take(60).collect::<String>())
    } else {
        r
    }
}

fn type_name(ob: &Bound<'_, PyAny>) -> String {
    ob.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| String::from("object"))
}

/// An integer argument of type `T` (`what` names it in the message), or `InvalidArgument`.
/// Errors other than a wrong type or an overflow (a `KeyboardInterrupt` in `__index__` …)
/// pass through unchanged.
pub fn int_named<T: IntType>(ob: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let py = ob.py();
    let range = || format!("{} ..= {}", T::MIN, T::MAX);
    if ob.is_instance_of::<PyBool>() {
        return Err(invalid(format!(
            "{what} must be an integer in {}, got the bool {}",
            range(),
            shown(ob)
        )));
    }
    let out_of_range = || invalid(format!("{what} {} is out of range {}", shown(ob), range()));
    // i64 first (one C call for every ordinary id), then u64 for the top half of the u64 range.
    let v: i128 = match ob.extract::<i64>() {
        Ok(v) => v.into(),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => match ob.extract::<u64>() {
            Ok(v) => v.into(),
            Err(e) if e.is_instance_of::<PyOverflowError>(py) => return Err(out_of_range()),
            Err(e) => return Err(e),
        },
        Err(e) if e.is_instance_of::<PyTypeError>(py) || e.is_instance_of::<PyValueError>(py) => {
            return Err(invalid(format!(
                "{what} must be an integer in {}, got {} {}",
                range(),
                type_name(ob),
                shown(ob)
            )));
        }
        Err(e) => return Err(e),
    };
    T::try_from(v).map_err(|_| out_of_range())
}

/// Whether `ob` is an integer (an `int`, or an object with `__index__` such as a NumPy integer)
/// other than a bool.
pub fn is_int(ob: &Bound<'_, PyAny>) -> bool {
    !ob.is_instance_of::<PyBool>()
        && (ob.is_instance_of::<pyo3::types::PyInt>() || ob.hasattr("__index__").unwrap_or(false))
}

/// An integer argument of type `T` (for `#[pyo3(from_py_with = int::<T>)]`).
pub fn int<T: IntType>(ob: &Bound<'_, PyAny>) -> PyResult<T> {
    int_named(ob, "integer")
}

/// An integer argument of type `T`.
#[derive(Copy, Clone, Debug)]
pub struct Int<T>(pub T);

impl<'py, T: IntType> FromPyObject<'py> for Int<T> {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        int(ob).map(Int)
    }
}

/// An id argument: the engine's typed id, named in the message (`"patient id -1 is out of
/// range 0 ..= 4294967295"`).
#[derive(Copy, Clone, Debug)]
pub struct Id<T>(pub T);

macro_rules! id_arg {
    ($($id:ident($inner:ty) = $what:literal;)*) => {$(
        impl<'py> FromPyObject<'py> for Id<haoyuan::$id> {
            fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
                int_named::<$inner>(ob, $what).map(|v| Id(haoyuan::$id(v)))
            }
        }
    )*};
}

id_arg! {
    InstitutionId(u32) = "institution id";
    DepartmentId(u32) = "department id";
    ResourceId(u32) = "resource id";
    ChannelId(u16) = "channel id";
    PatientId(u32) = "patient id";
    SlotId(u32) = "slot id";
    RosterId(u32) = "roster id";
    BookingId(u64) = "booking id";
    ReferralId(u64) = "referral id";
    WaitlistId(u64) = "waitlist entry id";
}

/// A float argument (for `#[pyo3(from_py_with = float)]`): an int too large for a double is
/// `InvalidArgument`, not `OverflowError`. NaN and infinities pass: each caller bounds them.
pub fn float(ob: &Bound<'_, PyAny>) -> PyResult<f64> {
    let py = ob.py();
    match ob.extract::<f64>() {
        Ok(v) => Ok(v),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
            Err(invalid(format!("{} is too large for a float", shown(ob))))
        }
        Err(e) if e.is_instance_of::<PyTypeError>(py) || e.is_instance_of::<PyValueError>(py) => {
            Err(invalid(format!("expected a number, got {} {}", type_name(ob), shown(ob))))
        }
        Err(e) => Err(e),
    }
}

/// A float argument.
#[derive(Copy, Clone, Debug)]
pub struct Float(pub f64);

impl<'py> FromPyObject<'py> for Float {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        float(ob).map(Float)
    }
}

/// A directory argument: a `str` or an `os.PathLike`, not empty.
pub fn path_arg(ob: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let path: PathBuf = ob.extract().map_err(|_| {
        invalid(format!(
            "a directory must be a str or an os.PathLike, got {}",
            ob.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    if path.as_os_str().is_empty() {
        return Err(invalid("the directory path is empty"));
    }
    Ok(path)
}
