//! Operator metrics (core `metrics.rs`): one call, as JSON or as Prometheus text.

use crate::engine::{hy_engine, try_engine};
use crate::error::hy_result;
use crate::ffi::{copy_out, copy_out_json, ffi_panic_boundary, try_out};
use std::ffi::c_char;

/// The engine's operator metrics as one JSON object (the Rust `Metrics`: counts, `last_event_seq`,
/// `durable_seq`, `durable_lag_events`, `journal` — queue depth, fsyncs, fsync latency buckets —
/// or null in memory, `subscribers`, `memory`), NUL-terminated into `buf`. `*written` is its
/// length without the NUL; on HY_BUFFER_TOO_SMALL it is the size needed and `buf` is untouched
/// (the figures move: give a little more on the second try).
#[no_mangle]
pub extern "C" fn hy_engine_metrics_json(
    engine: *const hy_engine,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        copy_out_json(&e.metrics(), "metrics", buf, len, written)
    }
}

/// The same metrics in the Prometheus text exposition format (0.0.4; names `haoyuan_*`), for a
/// host to serve as it is on its `/metrics` endpoint; into `buf` as `hy_engine_metrics_json`.
#[no_mangle]
pub extern "C" fn hy_engine_metrics_prometheus(
    engine: *const hy_engine,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        copy_out(&e.metrics().to_prometheus(), buf, len, written)
    }
}
