//! Result codes and messages (the shape of rustls-ffi's `src/error.rs`). Codes below 10 belong to
//! the C boundary itself; 10 and above are the core's stable `ErrorCode` numbers, one per domain
//! error, shared with the Python exceptions.

use crate::ffi::{copy_truncated, ffi_panic_boundary};
use haoyuan_core::{Error, ErrorCode};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_char;

/// The result of every call. `HY_OK` is 0; everything else is an error whose readable detail
/// is in `hy_last_error_message()` on the same thread.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum hy_result {
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

impl From<ErrorCode> for hy_result {
    fn from(code: ErrorCode) -> hy_result {
        // Exhaustive on purpose: a new core error code fails to compile here until it has a
        // C name.
        match code {
            ErrorCode::InvalidArgument => hy_result::HY_INVALID_ARGUMENT,
            ErrorCode::InvalidPolicy => hy_result::HY_INVALID_POLICY,
            ErrorCode::NotFound => hy_result::HY_NOT_FOUND,
            ErrorCode::CardTaken => hy_result::HY_CARD_TAKEN,
            ErrorCode::WrongState => hy_result::HY_WRONG_STATE,
            ErrorCode::HoldExpired => hy_result::HY_HOLD_EXPIRED,
            ErrorCode::SlotFull => hy_result::HY_SLOT_FULL,
            ErrorCode::SlotClosed => hy_result::HY_SLOT_CLOSED,
            ErrorCode::NotOpenYet => hy_result::HY_NOT_OPEN_YET,
            ErrorCode::BookingClosed => hy_result::HY_BOOKING_CLOSED,
            ErrorCode::PatientSuspended => hy_result::HY_PATIENT_SUSPENDED,
            ErrorCode::LimitReached => hy_result::HY_LIMIT_REACHED,
            ErrorCode::ReferralInvalid => hy_result::HY_REFERRAL_INVALID,
            ErrorCode::LotteryWindow => hy_result::HY_LOTTERY_WINDOW,
            ErrorCode::PatientMerged => hy_result::HY_PATIENT_MERGED,
            ErrorCode::NotManualClock => hy_result::HY_NOT_MANUAL_CLOCK,
            ErrorCode::CapacityExceeded => hy_result::HY_CAPACITY_EXCEEDED,
            ErrorCode::InvalidDate => hy_result::HY_INVALID_DATE,
            ErrorCode::Durability => hy_result::HY_DURABILITY,
        }
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

impl hy_result {
    /// Every code, for the tests and for `hy_error_message`.
    pub const ALL: [hy_result; 24] = [
        hy_result::HY_OK,
        hy_result::HY_NULL_PARAMETER,
        hy_result::HY_PANIC,
        hy_result::HY_INVALID_UTF8,
        hy_result::HY_BUFFER_TOO_SMALL,
        hy_result::HY_INVALID_ARGUMENT,
        hy_result::HY_INVALID_POLICY,
        hy_result::HY_NOT_FOUND,
        hy_result::HY_CARD_TAKEN,
        hy_result::HY_WRONG_STATE,
        hy_result::HY_HOLD_EXPIRED,
        hy_result::HY_SLOT_FULL,
        hy_result::HY_SLOT_CLOSED,
        hy_result::HY_NOT_OPEN_YET,
        hy_result::HY_BOOKING_CLOSED,
        hy_result::HY_PATIENT_SUSPENDED,
        hy_result::HY_LIMIT_REACHED,
        hy_result::HY_REFERRAL_INVALID,
        hy_result::HY_LOTTERY_WINDOW,
        hy_result::HY_PATIENT_MERGED,
        hy_result::HY_NOT_MANUAL_CLOCK,
        hy_result::HY_CAPACITY_EXCEEDED,
        hy_result::HY_INVALID_DATE,
        hy_result::HY_DURABILITY,
    ];

    /// The code for a number a C caller passed in, if it is one.
    pub fn from_u32(n: u32) -> Option<hy_result> {
        hy_result::ALL.into_iter().find(|r| *r as u32 == n)
    }

    /// A fixed one-line description of the code.
    pub fn description(self) -> &'static str {
        match self {
            hy_result::HY_OK => "ok",
            hy_result::HY_NULL_PARAMETER => "a required pointer argument was NULL",
            hy_result::HY_PANIC => "internal error: a panic was caught at the C boundary",
            hy_result::HY_INVALID_UTF8 => "a string argument is not valid UTF-8",
            hy_result::HY_BUFFER_TOO_SMALL => "the output buffer is too small",
            hy_result::HY_INVALID_ARGUMENT => "invalid argument",
            hy_result::HY_INVALID_POLICY => "invalid policy",
            hy_result::HY_NOT_FOUND => "no such id",
            hy_result::HY_CARD_TAKEN => "the card belongs to another patient",
            hy_result::HY_WRONG_STATE => "the booking's state does not allow this",
            hy_result::HY_HOLD_EXPIRED => "the hold expired",
            hy_result::HY_SLOT_FULL => "no free place in this slot for this request",
            hy_result::HY_SLOT_CLOSED => "the session was suspended by the provider",
            hy_result::HY_NOT_OPEN_YET => "booking has not opened yet",
            hy_result::HY_BOOKING_CLOSED => "booking has closed",
            hy_result::HY_PATIENT_SUSPENDED => "the patient is suspended after no-shows",
            hy_result::HY_LIMIT_REACHED => "a per-patient booking limit was reached",
            hy_result::HY_REFERRAL_INVALID => "the referral cannot be used",
            hy_result::HY_LOTTERY_WINDOW => "the slot is in its release lottery; submit the request",
            hy_result::HY_PATIENT_MERGED => "the patient was merged into another",
            hy_result::HY_NOT_MANUAL_CLOCK => "the engine does not run on a manual clock",
            hy_result::HY_CAPACITY_EXCEEDED => "a capacity limit was reached",
            hy_result::HY_INVALID_DATE => "date outside the supported range",
            hy_result::HY_DURABILITY => "durability failure",
        }
    }
}

thread_local! {
    /// The detail of the last failed call on this thread (errno-style: meaningful right after a
    /// call that did not return `HY_OK`).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
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

/// Copy the fixed description of `result` into `buf` (NUL-terminated, truncated to fit) and its
/// length without the NUL into `*written`. An unknown number gets "unknown result code".
#[no_mangle]
pub extern "C" fn hy_error_message(result: u32, buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    ffi_panic_boundary! {
        let text = hy_result::from_u32(result).map_or("unknown result code", hy_result::description);
        copy_truncated(text, buf, len, written)
    }
}

/// Copy the detailed message of the last failed call on this thread into `buf` (NUL-terminated,
/// truncated to fit at a character boundary) and its length without the NUL into `*written`.
/// Empty if no call failed on this thread yet. This call never changes the message, whatever
/// its outcome: a NULL `buf` (with `len` > 0) or a NULL or misaligned `written` is reported by
/// the result code alone, so the message can be read again with correct arguments.
#[no_mangle]
pub extern "C" fn hy_last_error_message(buf: *mut c_char, len: usize, written: *mut usize) -> hy_result {
    // The argument checks (and, should one ever happen, a caught panic) record their own
    // message; put the one this call reports back afterwards, whatever the result.
    let msg = LAST_ERROR.try_with(|m| m.borrow().clone()).unwrap_or_default();
    let result = ffi_panic_boundary! { copy_truncated(&msg, buf, len, written) };
    let _ = LAST_ERROR.try_with(|m| *m.borrow_mut() = msg);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_codes_are_the_core_numbers() {
        let codes = [
            ErrorCode::InvalidArgument,
            ErrorCode::InvalidPolicy,
            ErrorCode::NotFound,
            ErrorCode::CardTaken,
            ErrorCode::WrongState,
            ErrorCode::HoldExpired,
            ErrorCode::SlotFull,
            ErrorCode::SlotClosed,
            ErrorCode::NotOpenYet,
            ErrorCode::BookingClosed,
            ErrorCode::PatientSuspended,
            ErrorCode::LimitReached,
            ErrorCode::ReferralInvalid,
            ErrorCode::LotteryWindow,
            ErrorCode::PatientMerged,
            ErrorCode::NotManualClock,
            ErrorCode::CapacityExceeded,
            ErrorCode::InvalidDate,
            ErrorCode::Durability,
        ];
        for c in codes {
            assert_eq!(hy_result::from(c) as u32, c as u32, "{c:?}");
        }
        // Every code round-trips through its number, and the numbers are distinct.
        for r in hy_result::ALL {
            assert_eq!(hy_result::from_u32(r as u32), Some(r));
        }
        assert_eq!(hy_result::from_u32(5), None);
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
