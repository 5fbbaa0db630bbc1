//! # haoyuan-ffi — the C ABI of the haoyuan slot engine
//!
//! Builds `libhaoyuan.so` / `libhaoyuan.a`; the header `include/haoyuan.h` is generated from
//! this crate by cbindgen (`cbindgen.toml`, regenerated and compared by `tests/header.rs`).
//! Conventions (after rustls-ffi, see README.md): opaque handles, `hy_<type>_<verb>` names,
//! `_new`/`_free` pairs, inputs before outputs, outputs written only on success, a `const`
//! first argument for calls that do not change the engine, a `hy_result` from every call, and
//! every body inside `ffi_panic_boundary!` so that nothing a caller passes can abort the host.

// Every public item is part of the C header (cbindgen copies the doc comments into it), so an
// undocumented one is an undocumented C declaration.
#![warn(missing_docs)]
#![allow(non_camel_case_types)]
// Every `extern "C"` function takes raw pointers from C and checks them itself (NULL,
// alignment, lengths) through `ffi.rs`; marking them `unsafe fn` would add nothing for a C
// caller.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod booking;
mod engine;
mod error;
mod events;
mod ffi;
#[cfg(feature = "fhir")]
mod fhir;
mod messages;
mod metrics;
mod pipeline;
mod reads;
mod standby;
mod types;

pub use booking::*;
pub use engine::*;
pub use error::*;
pub use events::*;
pub use metrics::*;
pub use pipeline::*;
pub use reads::*;
pub use standby::*;
pub use types::*;

use std::ffi::{c_char, CString};

/// The library's version, "MAJOR.MINOR.PATCH" (NUL-terminated, static: never free it). Compare
/// with HY_VERSION_MAJOR/MINOR/PATCH from the header to catch a header/library mismatch.
#[no_mangle]
pub extern "C" fn hy_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Free a string the library handed out (`*json_out` of `hy_engine_fhir_hold`, `_book`,
/// `_cancel`, `_import_csv`, `_import_bundle`). NULL is accepted and ignored. Free each string
/// once, unchanged (read it, do not write into it), and only with this function, never with
/// `free()`: the library's allocator is not necessarily the C runtime's.
#[no_mangle]
pub extern "C" fn hy_string_free(s: *mut c_char) {
    let _ = ffi::ffi_panic_boundary! {
        if !s.is_null() {
            // SAFETY: made by `CString::into_raw` in `ffi::give_string`; the caller frees it
            // once and has not changed its length.
            drop(unsafe { CString::from_raw(s) });
        }
        Ok(())
    };
}
