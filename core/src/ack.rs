//! Whether the calling thread acknowledges its operations now or later (`pipeline.rs`): a
//! thread-local mark, read by `Engine::durable` at the end of every mutating call. A leaf module
//! so that the engine can read the mark without importing the pipelining API built on it.

use std::cell::Cell;

thread_local! {
    /// How many `pipelined` calls enclose the current one on this thread.
    static PIPELINING: Cell<u32> = const { Cell::new(0) };
}

/// Whether the calling thread is inside `Engine::pipelined` (or a bulk call): the engine then
/// acknowledges without waiting for durability.
pub(crate) fn pipelining() -> bool {
    PIPELINING.with(|d| d.get() > 0)
}

/// While it lives, the engine's operations **on this thread** return their in-memory outcome
/// without waiting for durability; [`Engine::ticket`](crate::Engine::ticket) then names what to wait on. For hosts
/// that cannot pass a closure ([`Engine::pipelined`](crate::Engine::pipelined) is the Rust form): the C face's
/// `hy_engine_pipeline_begin`/`_end` and Python's `with engine.pipeline()` hold one.
///
/// Not `Send`: the mark is the calling thread's. Dropping it (even in a panic's unwinding)
/// ends it, so a pooled thread is never left pipelining.
#[must_use = "operations pipeline only while the scope lives"]
pub struct PipelineScope {
    _this_thread: std::marker::PhantomData<*const ()>,
}

impl PipelineScope {
    pub(crate) fn enter() -> PipelineScope {
        PIPELINING.with(|d| d.set(d.get() + 1));
        PipelineScope { _this_thread: std::marker::PhantomData }
    }
}

impl Drop for PipelineScope {
    fn drop(&mut self) {
        PIPELINING.with(|d| d.set(d.get() - 1));
    }
}
