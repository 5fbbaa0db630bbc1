//! `haoyuan._native`: the pyo3 glue between the haoyuan engine and its Python package.
//!
//! This crate is ordinary Rust (polars' `crates/polars-python` model): conversions, one
//! exception mapping, one GIL-releasing call helper. The public API is the hand-written Python
//! package `haoyuan` (in `haoyuan/`), with a `.pyi` stub checked against this module by
//! `mypy.stubtest` in `make test`.

mod args;
mod bulk;
mod convert;
mod durable;
mod engine;
mod errors;
mod events;
#[cfg(feature = "fhir")]
mod fhir;
mod inner;
mod pipeline;
mod policy;
mod runtime;
#[cfg(feature = "sim")]
mod sim;
mod standby;
mod types;

use pyo3::prelude::*;

/// Worker threads the pool uses in this process (see `HAOYUAN_PARALLELISM`,
/// `HAOYUAN_NUM_THREADS`).
#[pyfunction]
fn num_threads() -> usize {
    runtime::num_threads()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("BOOKING_STATES", bulk::STATE_NAMES.to_vec())?;
    m.add("POOLS", bulk::POOL_NAMES.to_vec())?;
    m.add("BULK_ROWS_MAX", bulk::BULK_ROWS_MAX)?;
    m.add("PUBLISH_SLOTS_MAX", haoyuan::PUBLISH_BATCH_MAX)?;
    m.add("RECOMMEND_LIMIT_MAX", haoyuan::RECOMMEND_LIMIT_MAX)?;
    m.add("GROUP_PLACES_MAX", haoyuan::GROUP_PLACES_MAX)?;
    m.add("BUNDLED_COMPLAINT_TABLE", haoyuan::ComplaintTable::bundled_json())?;
    m.add("INSTANT_MAX", convert::INSTANT_MAX)?;
    m.add("JOURNAL_EVENTS_MAX", durable::JOURNAL_EVENTS_MAX)?;
    // A tuple: the bounds are fixed (`Engine.metrics()["journal"]["fsync_buckets"]` counts one
    // per bound, then one above the last).
    m.add("FSYNC_BUCKETS_S", pyo3::types::PyTuple::new(m.py(), haoyuan::FSYNC_BUCKETS_S)?)?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<durable::DurableEngine>()?;
    m.add_class::<standby::Standby>()?;
    m.add_class::<pipeline::Pipeline>()?;
    m.add_class::<policy::Policy>()?;
    m.add_class::<events::Event>()?;
    m.add_class::<events::Subscription>()?;
    types::register(m)?;
    errors::register(m)?;
    #[cfg(feature = "sim")]
    sim::register(m)?;
    #[cfg(feature = "fhir")]
    fhir::register(m)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(durable::read_journal_columns, m)?)?;
    Ok(())
}
