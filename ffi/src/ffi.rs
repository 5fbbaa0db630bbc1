//! The few unsafe helpers every entry point goes through (the pattern of rustls-ffi's
//! `src/ffi.rs` and `src/panic.rs`): one panic boundary, pointer-to-reference casts that turn
//! NULL and misalignment into an error code instead of undefined behaviour, bounded C strings,
//! and copying text out into a caller's buffer. Everything else in this crate is safe code.

use crate::error::{hy_result, set_last_error};
use std::ffi::{c_char, CString};

/// Longest C string any call reads (names, card numbers, policies). A bound on the scan for the
/// terminating NUL as much as on memory.
pub(crate) const STR_LEN_MAX: usize = 1 << 20;

/// Run an entry point's body with every panic caught: a panic becomes `HY_PANIC` and its message
/// becomes the thread's last error, so it never unwinds into (and aborts) the host. The body is
/// a closure returning `Result<(), hy_result>`, so `?` and early `return` work inside it.
macro_rules! ffi_panic_boundary {
    ($($body:tt)*) => {{
        let result = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
            || -> ::std::result::Result<(), $crate::error::hy_result> { $($body)* },
        ));
        match result {
            Ok(Ok(())) => $crate::error::hy_result::HY_OK,
            Ok(Err(code)) => code,
            Err(payload) => $crate::error::panicked(payload),
        }
    }};
}
pub(crate) use ffi_panic_boundary;

fn null(what: &str) -> hy_result {
    set_last_error(format!("{what} is NULL"));
    hy_result::HY_NULL_PARAMETER
}

fn check_aligned<T>(p: *const T, what: &str) -> Result<(), hy_result> {
    if p.is_aligned() {
        Ok(())
    } else {
        set_last_error(format!("{what} is not aligned for its type"));
        Err(hy_result::HY_INVALID_ARGUMENT)
    }
}

/// A shared reference from a pointer the caller passed in, or `HY_NULL_PARAMETER`.
///
/// Safety (the caller's contract, stated in the header): a non-NULL pointer points to a live
/// value of this type for the duration of the call.
pub(crate) fn try_ref<'a, T>(p: *const T, what: &str) -> Result<&'a T, hy_result> {
    if p.is_null() {
        return Err(null(what));
    }
    check_aligned(p, what)?;
    // SAFETY: non-NULL and aligned; validity for the call is the documented caller contract.
    Ok(unsafe { &*p })
}

/// An exclusive reference from a pointer the caller passed in, or `HY_NULL_PARAMETER`.
pub(crate) fn try_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, hy_result> {
    if p.is_null() {
        return Err(null(what));
    }
    check_aligned(p, what)?;
    // SAFETY: as `try_ref`; the header says no other thread uses this object during the call.
    Ok(unsafe { &mut *p })
}

/// An output location: checked before any work is done, written only on success.
pub(crate) struct Out<'a, T>(&'a mut T);

impl<T> Out<'_, T> {
    pub fn set(self, v: T) {
        *self.0 = v;
    }
}

pub(crate) fn try_out<'a, T>(p: *mut T, what: &str) -> Result<Out<'a, T>, hy_result> {
    try_mut(p, what).map(Out)
}

/// A slice from (pointer, length). A zero length accepts any pointer, NULL included; a length
/// above `max` is refused before the memory is touched.
pub(crate) fn try_slice<'a, T>(
    p: *const T,
    len: usize,
    max: usize,
    what: &str,
) -> Result<&'a [T], hy_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if len > max {
        set_last_error(format!("{what}: length {len} is above the limit of {max}"));
        return Err(hy_result::HY_INVALID_ARGUMENT);
    }
    if p.is_null() {
        return Err(null(what));
    }
    check_aligned(p, what)?;
    // SAFETY: non-NULL, aligned, len <= max elements; that they are readable is the contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable slice from (pointer, capacity), same rules as `try_slice`.
pub(crate) fn try_slice_mut<'a, T>(
    p: *mut T,
    len: usize,
    max: usize,
    what: &str,
) -> Result<&'a mut [T], hy_result> {
    if len == 0 {
        return Ok(&mut []);
    }
    if len > max {
        set_last_error(format!("{what}: length {len} is above the limit of {max}"));
        return Err(hy_result::HY_INVALID_ARGUMENT);
    }
    if p.is_null() {
        return Err(null(what));
    }
    check_aligned(p, what)?;
    // SAFETY: as `try_slice`, and the caller does not share the buffer during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// A NUL-terminated UTF-8 string argument, at most `STR_LEN_MAX` bytes.
pub(crate) fn try_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, hy_result> {
    if p.is_null() {
        return Err(null(what));
    }
    let mut len = 0usize;
    // Bounded scan: a missing terminator stops at the limit instead of running on.
    // SAFETY: the caller's contract is a NUL-terminated string; we read no further than its NUL.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
        if len > STR_LEN_MAX {
            set_last_error(format!("{what} is longer than {STR_LEN_MAX} bytes"));
            return Err(hy_result::HY_INVALID_ARGUMENT);
        }
    }
    // SAFETY: `len` bytes before the NUL were just read.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        set_last_error(format!("{what} is not valid UTF-8: {e}"));
        hy_result::HY_INVALID_UTF8
    })
}

/// Like `try_str`, with NULL meaning "not given".
pub(crate) fn try_opt_str<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, hy_result> {
    if p.is_null() {
        Ok(None)
    } else {
        try_str(p, what).map(Some)
    }
}

/// Copy `s` and a NUL into (`buf`, `len`). On success `*written` is the length without the NUL;
/// on `HY_BUFFER_TOO_SMALL` it is the buffer size needed (NUL included) and `buf` is untouched.
pub(crate) fn copy_out(
    s: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> Result<(), hy_result> {
    let written = try_out(written, "written")?;
    // A NULL `buf` with a length is a caller's error whatever the text's size (NULL with
    // length 0 asks for the size).
    let dst = try_slice_mut(buf.cast::<u8>(), len, usize::MAX, "buf")?;
    if s.len() >= len {
        written.set(s.len() + 1);
        set_last_error(format!("the buffer of {len} bytes is too small: {} needed", s.len() + 1));
        return Err(hy_result::HY_BUFFER_TOO_SMALL);
    }
    dst[..s.len()].copy_from_slice(s.as_bytes());
    dst[s.len()] = 0;
    written.set(s.len());
    Ok(())
}

/// `value` as JSON, copied out as `copy_out` does (`what` names it in an encoding error).
pub(crate) fn copy_out_json<T: serde::Serialize>(
    value: &T,
    what: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> Result<(), hy_result> {
    copy_out(&to_json(value, what)?, buf, len, written)
}

/// `value` as JSON text; an encoding error is HY_INVALID_ARGUMENT naming `what`.
fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<String, hy_result> {
    serde_json::to_string(value).map_err(|err| {
        set_last_error(format!("cannot encode the {what}: {err}"));
        hy_result::HY_INVALID_ARGUMENT
    })
}

/// `value` as JSON in a string the caller frees (`give_string`).
pub(crate) fn give_json<T: serde::Serialize>(
    value: &T,
    what: &str,
    json_out: Out<'_, *mut c_char>,
    len_out: Out<'_, usize>,
) -> Result<(), hy_result> {
    give_string(to_json(value, what)?, json_out, len_out);
    Ok(())
}

/// JSON text read as a `T`; malformed text is HY_INVALID_ARGUMENT naming `what`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<T, hy_result> {
    serde_json::from_str(text).map_err(|err| {
        set_last_error(format!("{what}: {err}"));
        hy_result::HY_INVALID_ARGUMENT
    })
}

/// Copy as much of `s` as fits, cut at a character boundary, always NUL-terminated when
/// `len > 0`. For messages, where a truncated text beats none.
pub(crate) fn copy_truncated(
    s: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> Result<(), hy_result> {
    let written = try_out(written, "written")?;
    let dst = try_slice_mut(buf.cast::<u8>(), len, usize::MAX, "buf")?;
    if dst.is_empty() {
        written.set(0);
        return Ok(());
    }
    let mut n = s.len().min(dst.len() - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
    dst[n] = 0;
    written.set(n);
    Ok(())
}

/// Hand `s` out as a NUL-terminated string allocated here (`*json_out`, its length without the
/// NUL in `*len_out`), for the caller to free with `hy_string_free`. Cannot fail, so a call that
/// has already changed the engine can always report what it did.
pub(crate) fn give_string(s: String, json_out: Out<'_, *mut c_char>, len_out: Out<'_, usize>) {
    let text = match CString::new(s) {
        Ok(c) => c,
        // JSON text never holds a raw NUL (serde escapes it); drop any rather than fail.
        Err(e) => {
            let mut bytes = e.into_vec();
            bytes.retain(|b| *b != 0);
            // SAFETY: every NUL byte was just removed.
            unsafe { CString::from_vec_unchecked(bytes) }
        }
    };
    len_out.set(text.as_bytes().len());
    json_out.set(text.into_raw());
}
