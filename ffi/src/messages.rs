//! The messages of result codes, copied out to C: a code's fixed description, and the detailed
//! message of the thread's last failed call.

use crate::error::{hy_result, LAST_ERROR};
use crate::ffi::{copy_truncated, ffi_panic_boundary};
use std::ffi::c_char;

/// Copy the fixed description of `result` into `buf` (NUL-terminated, truncated to fit) and its
/// length without the NUL into `*written`. An unknown number gets "unknown result code".
#[no_mangle]
pub extern "C" fn hy_error_message(
    result: u32,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
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
pub extern "C" fn hy_last_error_message(
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    // The argument checks (and, should one ever happen, a caught panic) record their own
    // message; put the one this call reports back afterwards, whatever the result.
    let msg = LAST_ERROR.try_with(|m| m.borrow().clone()).unwrap_or_default();
    let result = ffi_panic_boundary! { copy_truncated(&msg, buf, len, written) };
    let _ = LAST_ERROR.try_with(|m| *m.borrow_mut() = msg);
    result
}
