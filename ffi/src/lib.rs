//! # haoyuan-ffi — the C ABI of the haoyuan slot engine
//!
//! Builds `libhaoyuan.so` / `libhaoyuan.a`; the header `include/haoyuan.h` is generated from
//! this crate by cbindgen (`cbindgen.toml`, regenerated and compared by `tests/header.rs`).
//! Conventions (after rustls-ffi, see README.md): opaque handles, `hy_<type>_<verb>` names,
//! `_new`/`_free` pairs, inputs before outputs, outputs written only on success, a `const`
//! first argument for calls that do not change the engine, a `hy_result` from every call, and
//! every body inside `ffi_panic_boundary!` so that nothing a caller passes can abort the host.

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
mod fhir;
mod types;

pub use booking::*;
pub use engine::*;
pub use error::*;
pub use events::*;
pub use types::*;

use std::ffi::c_char;

/// The library's version, "MAJOR.MINOR.PATCH" (NUL-terminated, static: never free it). Compare
/// with HY_VERSION_MAJOR/MINOR/PATCH from the header to catch a header/library mismatch.
#[no_mangle]
pub extern "C" fn hy_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
