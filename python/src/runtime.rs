//! Running engine work from Python: one helper releases the GIL and converts errors (as polars'
//! `enter_polars`), and a per-process rayon pool that survives `fork()`.
//!
//! The GIL is released for every call that may take a patient lock or do real work, so that two
//! Python threads can drive one engine at once: the engine is `Send + Sync` and needs no GIL.
//!
//! Fork safety (tokenizers' problem): a forked child inherits rayon's *global* pool as memory
//! but not its threads, so the child's first parallel call would wait forever. We never use the
//! global pool: every parallel call is installed in our own pool, which remembers the process id
//! that built it. A child (different pid) builds a fresh pool and forgets the parent's without
//! touching it. `HAOYUAN_PARALLELISM=false` (or `0`) runs everything on one worker;
//! `HAOYUAN_NUM_THREADS=n` sets the pool size (default: one per core).

use crate::errors::HyErr;
use parking_lot::Mutex;
use pyo3::prelude::*;
use std::sync::Arc;

/// Run `f` with the GIL released and turn an engine error into the matching exception.
pub fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> haoyuan::Result<T> + Send,
    T: Send,
{
    py.allow_threads(f).map_err(|e| PyErr::from(HyErr(e)))
}

/// Like [`run`], inside the fork-safe rayon pool (for calls that fan out over cores).
pub fn run_parallel<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> haoyuan::Result<T> + Send,
    T: Send,
{
    let pool = pool().map_err(|e| PyErr::from(HyErr(haoyuan::Error::InvalidArgument(e))))?;
    py.allow_threads(|| pool.install(f)).map_err(|e| PyErr::from(HyErr(e)))
}

static POOL: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);

/// Whether the environment asks for parallel work (`HAOYUAN_PARALLELISM`, default on).
pub fn parallelism_enabled() -> bool {
    match std::env::var("HAOYUAN_PARALLELISM") {
        Ok(v) => !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "off" | "no"),
        Err(_) => true,
    }
}

/// Worker threads of the pool: 1 when parallelism is off, else `HAOYUAN_NUM_THREADS` or the
/// number of cores (bounded, so a typo cannot spawn a million threads).
pub fn num_threads() -> usize {
    if !parallelism_enabled() {
        return 1;
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    std::env::var("HAOYUAN_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(cores)
        .min(256)
}

/// This process's pool, built on first use and rebuilt after a fork.
pub fn pool() -> Result<Arc<rayon::ThreadPool>, String> {
    let pid = std::process::id();
    let mut slot = POOL.lock();
    if let Some((owner, pool)) = slot.as_ref() {
        if *owner == pid {
            return Ok(pool.clone());
        }
    }
    if let Some((_, stale)) = slot.take() {
        // The parent's pool: its threads do not exist in this child. Dropping it would try to
        // wake them; leak it instead (once per fork).
        std::mem::forget(stale);
    }
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(num_threads())
            .thread_name(|i| format!("haoyuan-{i}"))
            .build()
            .map_err(|e| format!("cannot start worker threads: {e}"))?,
    );
    *slot = Some((pid, pool.clone()));
    Ok(pool)
}
