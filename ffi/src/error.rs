//! Result codes and messages (the shape of rustls-ffi's `src/error.rs`). Codes below 10 belong to
//! the C boundary itself; 10 and above are the core's stable `ErrorCode` numbers, one per domain
//! error, shared with the Python exceptions.

use haoyuan_core::{Error, ErrorCode};
use std::any::Any;
use std::cell::RefCell;

/// The result of every call. `HY_OK` is 0; everything else is an error whose readable detail
/// is in `hy_last_error_message()` on the same thread.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum hy_result {
    /// Success: the outputs were written.
    #[default]
    HY_OK = 0,
    /// A required pointer argument was NULL.
    HY_NULL_PARAMETER = 1,
    /// A bug inside haoyuan panicked; it was caught at the boundary. See `hy_engine` for the
    /// state the engine is in afterwards.
    HY_PANIC = 2,
    /// A string argument is not valid UTF-8.
    HY_INVALID_UTF8 = 3,
    /// An output buffer is too small; the size needed was written to the length output.
    HY_BUFFER_TOO_SMALL = 4,
    /// An argument is out of range or malformed (bad enum value, length above a limit,
    /// misaligned pointer, inconsistent fields).
    HY_INVALID_ARGUMENT = 10,
    /// The policy text does not parse or a number in it is out of range.
    HY_INVALID_POLICY = 11,
    /// No institution/department/resource/channel/patient/slot/booking/… with this id.
    HY_NOT_FOUND = 12,
    /// The card already belongs to another patient.
    HY_CARD_TAKEN = 13,
    /// The booking's state does not allow this transition.
    HY_WRONG_STATE = 14,
    /// The hold expired before it was confirmed.
    HY_HOLD_EXPIRED = 15,
    /// No place is free for this request.
    HY_SLOT_FULL = 16,
    /// The session was suspended by the provider (停诊).
    HY_SLOT_CLOSED = 17,
    /// The booking window has not opened yet.
    HY_NOT_OPEN_YET = 18,
    /// The booking window has closed.
    HY_BOOKING_CLOSED = 19,
    /// The patient is suspended after no-shows.
    HY_PATIENT_SUSPENDED = 20,
    /// A per-patient limit refuses the request.
    HY_LIMIT_REACHED = 21,
    /// The referral cannot be used for this slot.
    HY_REFERRAL_INVALID = 22,
    /// The slot is in its release lottery: use `hy_engine_submit`.
    HY_LOTTERY_WINDOW = 23,
    /// The patient id was merged into another patient.
    HY_PATIENT_MERGED = 24,
    /// The call needs an engine on a manual clock.
    HY_NOT_MANUAL_CLOCK = 25,
    /// A capacity limit of the engine was reached.
    HY_CAPACITY_EXCEEDED = 26,
    /// A date is outside 1970-01-01 ..= 2199-12-31.
    HY_INVALID_DATE = 27,
    /// The journal could not make the operation durable.
    HY_DURABILITY = 28,
}

/// The C result of a core error code: the variant with the same number (the table is core's;
/// `hy_result` is written out for cbindgen, and `the_c_enum_is_core_error_table` checks that the
/// two agree in numbers and names).
impl From<ErrorCode> for hy_result {
    fn from(code: ErrorCode) -> hy_result {
        hy_result::from_u32(code as u32).unwrap_or(hy_result::HY_INVALID_ARGUMENT)
    }
}

/// A core error becomes its code, and its message the thread's last error, so `?` on an engine
/// call does both.
impl From<Error> for hy_result {
    fn from(e: Error) -> hy_result {
        set_last_error(e.to_string());
        e.code().into()
    }
}

/// The boundary's own codes, below the core's domain codes.
const BOUNDARY_CODES: [(hy_result, &str); 5] = [
    (hy_result::HY_OK, "ok"),
    (hy_result::HY_NULL_PARAMETER, "a required pointer argument was NULL"),
    (hy_result::HY_PANIC, "internal error: a panic was caught at the C boundary"),
    (hy_result::HY_INVALID_UTF8, "a string argument is not valid UTF-8"),
    (hy_result::HY_BUFFER_TOO_SMALL, "the output buffer is too small"),
];

impl hy_result {
    /// The code of a number, if it is one. The one written-out list besides the enum itself.
    pub fn from_u32(n: u32) -> Option<hy_result> {
        use hy_result::*;
        Some(match n {
            0 => HY_OK,
            1 => HY_NULL_PARAMETER,
            2 => HY_PANIC,
            3 => HY_INVALID_UTF8,
            4 => HY_BUFFER_TOO_SMALL,
            10 => HY_INVALID_ARGUMENT,
            11 => HY_INVALID_POLICY,
            12 => HY_NOT_FOUND,
            13 => HY_CARD_TAKEN,
            14 => HY_WRONG_STATE,
            15 => HY_HOLD_EXPIRED,
            16 => HY_SLOT_FULL,
            17 => HY_SLOT_CLOSED,
            18 => HY_NOT_OPEN_YET,
            19 => HY_BOOKING_CLOSED,
            20 => HY_PATIENT_SUSPENDED,
            21 => HY_LIMIT_REACHED,
            22 => HY_REFERRAL_INVALID,
            23 => HY_LOTTERY_WINDOW,
            24 => HY_PATIENT_MERGED,
            25 => HY_NOT_MANUAL_CLOCK,
            26 => HY_CAPACITY_EXCEEDED,
            27 => HY_INVALID_DATE,
            28 => HY_DURABILITY,
            _ => return None,
        })
    }

    /// Every code: the boundary's, then one per core error code (derived from core's table).
    pub fn all() -> impl Iterator<Item = hy_result> {
        BOUNDARY_CODES
            .iter()
            .map(|(r, _)| *r)
            .chain(ErrorCode::ALL.iter().map(|c| hy_result::from(*c)))
    }

    /// A fixed one-line description of the code: the boundary's own, or core's table's.
    pub fn description(self) -> &'static str {
        if let Some((_, d)) = BOUNDARY_CODES.iter().find(|(r, _)| *r == self) {
            return d;
        }
        ErrorCode::from_number(self as u32).map_or("unknown result code", |c| c.description())
    }
}

thread_local! {
    /// The detail of the last failed call on this thread (errno-style: meaningful right after a
    /// call that did not return `HY_OK`).
    pub(crate) static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Longest last-error message kept (a bound on what a caller's input can make us store).
const MESSAGE_LEN_MAX: usize = 4096;

pub(crate) fn set_last_error(mut msg: String) {
    if msg.len() > MESSAGE_LEN_MAX {
        let mut n = MESSAGE_LEN_MAX;
        while !msg.is_char_boundary(n) {
            n -= 1;
        }
        msg.truncate(n);
    }
    // `try_with`: during thread teardown the slot may be gone; losing the text is fine.
    let _ = LAST_ERROR.try_with(|m| *m.borrow_mut() = msg);
}

/// Turn a caught panic into `HY_PANIC` with its message as the last error.
pub(crate) fn panicked(payload: Box<dyn Any + Send>) -> hy_result {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string());
    set_last_error(format!("internal error (panic caught at the C boundary): {what}"));
    // Dropping a payload could itself panic (a Drop impl); never let that escape either.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
    hy_result::HY_PANIC
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::ffi_panic_boundary;
    use crate::messages::hy_last_error_message;
    use std::ffi::c_char;

    /// `HY_` + the name in capitals with underscores: `SlotFull` → `HY_SLOT_FULL`.
    fn c_name(name: &str) -> String {
        let mut out = String::from("HY_");
        for (i, ch) in name.chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_uppercase());
        }
        out
    }

    #[test]
    fn the_c_enum_is_core_error_table() {
        // Every core code has the C variant of the same number and name ...
        for &c in ErrorCode::ALL {
            let r = hy_result::from_u32(c as u32).unwrap_or_else(|| panic!("{c} has no hy_result"));
            assert_eq!(format!("{r:?}"), c_name(c.name()), "{c}");
            assert_eq!(hy_result::from(c), r);
            assert_eq!(r.description(), c.description());
        }
        // ... and every C code from 10 up is a core code; below 10, the boundary's own.
        let all: Vec<hy_result> = hy_result::all().collect();
        for n in 0..1000 {
            match hy_result::from_u32(n) {
                Some(r) if n >= 10 => {
                    assert!(ErrorCode::from_number(n).is_some(), "{r:?} is not in core's table")
                }
                Some(r) => assert!(BOUNDARY_CODES.iter().any(|(b, _)| *b == r)),
                None => assert!(ErrorCode::from_number(n).is_none()),
            }
            if let Some(r) = hy_result::from_u32(n) {
                assert!(all.contains(&r), "{r:?} missing from all()");
            }
        }
        assert_eq!(all.len(), BOUNDARY_CODES.len() + ErrorCode::ALL.len());
        // The header has them all, with the same numbers.
        let header = include_str!("../include/haoyuan.h");
        for r in &all {
            assert!(header.contains(&format!("{r:?} = {}", *r as u32)), "{r:?} in haoyuan.h");
        }
    }

    #[test]
    fn a_panic_becomes_hy_panic_with_its_message() {
        let r = ffi_panic_boundary! {
            let v: Vec<u32> = Vec::new();
            let i = v.len() + 3;
            if v[i] == 0 { return Ok(()); }
            Ok(())
        };
        assert_eq!(r, hy_result::HY_PANIC);
        let msg = LAST_ERROR.with(|m| m.borrow().clone());
        assert!(msg.contains("index out of bounds"), "{msg}");
    }

    #[test]
    fn reading_the_message_never_changes_it() {
        set_last_error("the slot is full".into());
        let mut buf = [0 as c_char; 32];
        let mut n = 0usize;
        let misaligned = (std::ptr::addr_of_mut!(n) as *mut u8).wrapping_add(1).cast::<usize>();
        for r in [
            hy_last_error_message(buf.as_mut_ptr(), buf.len(), std::ptr::null_mut()),
            hy_last_error_message(std::ptr::null_mut(), 8, &mut n),
            hy_last_error_message(buf.as_mut_ptr(), buf.len(), misaligned),
        ] {
            assert_ne!(r, hy_result::HY_OK);
            assert_eq!(LAST_ERROR.with(|m| m.borrow().clone()), "the slot is full");
        }
    }

    #[test]
    fn messages_are_bounded_and_cut_on_char_boundaries() {
        set_last_error("号".repeat(5000));
        let msg = LAST_ERROR.with(|m| m.borrow().clone());
        assert!(msg.len() <= MESSAGE_LEN_MAX && !msg.is_empty());
        let mut buf = [0 as c_char; 8];
        let mut n = 0usize;
        assert_eq!(hy_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n), hy_result::HY_OK);
        assert_eq!(n, 6, "two 3-byte characters fit in 7 bytes");
        assert_eq!(buf[6], 0);
    }
}
