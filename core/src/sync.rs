//! The synchronisation primitives of the code that the loom models check (`ci/loom.sh`).
//!
//! Normally these are the standard atomics and parking_lot's mutex. Built with
//! `RUSTFLAGS="--cfg loom"` they are loom's, so that a model explores every interleaving of the
//! real code, not of a copy: the slot counter (`slot.rs`) and the lock that takes a dense id and
//! numbers its event as one step (`Engine::alloc_lock`). The rest of the engine keeps its own
//! primitives; a loom build is only good for running the models (loom's types live inside
//! `loom::model` alone).

#[cfg(not(loom))]
pub(crate) use parking_lot::Mutex;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic;

#[cfg(loom)]
pub(crate) use loom::sync::atomic;

/// loom's mutex with parking_lot's face (`lock` returns the guard: no poisoning), so the code
/// under test reads the same in both builds.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> Mutex<T> {
    pub fn new(value: T) -> Mutex<T> {
        Mutex(loom::sync::Mutex::new(value))
    }

    pub fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        // A model thread panicking while holding the lock fails the model anyway.
        self.0.lock().expect("loom mutex poisoned")
    }
}

/// Ask the processor to bring `value`'s cache line in, without waiting for it: a loop that
/// will read many far-apart records (a district's day counters, a range of days) asks for all
/// of them first, so that their misses overlap instead of following one another. A hint only:
/// nothing is read, so it cannot fault or race, whatever the address; a no-op where the target has no such hint.
#[inline(always)]
pub fn prefetch<T>(value: *const T) {
    #[cfg(target_arch = "x86_64")]
    // Safety: `_mm_prefetch` reads nothing (it only hints the cache, so any address will do),
    // and SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(value as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
