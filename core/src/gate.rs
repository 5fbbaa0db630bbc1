//! A reader-writer gate whose readers share no cache line: the policy gate
//! (`Engine::policy_gate`), read by every lottery entry, publication, late cancellation and
//! no-show mark, and written only by a policy change.
//!
//! Why: a `RwLock` read is an atomic add on the lock's one word, so two threads entering a
//! release crowd moved that line between their cores on every entry — measured in the lottery
//! session at about a fifth of the crowd's entering time on two threads (BENCHMARKS.md,
//! "Release lottery at flash-crowd speed"). Here each thread reads through its own shard (a
//! number the thread draws once), each shard on its own cache line; a writer takes every
//! shard, in order, so two writers cannot deadlock and no reader is inside while it holds them.
//!
//! Reads are recursive, as the single lock's were: an operation holding the gate may publish
//! or enter a draw from inside another, and its second read goes to the same shard, which a
//! waiting writer does not block (`read_recursive`).

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Shards of a gate: more than the cores a node would run booking threads on; beyond that two
/// threads may share a shard (correct, only slower).
const SHARDS: usize = 16;

/// One shard on a cache line of its own (128 bytes: two lines, for the adjacent-line
/// prefetcher).
#[repr(align(128))]
#[derive(Default)]
struct Shard(RwLock<()>);

pub(crate) struct ShardedGate {
    shards: Box<[Shard]>,
}

impl Default for ShardedGate {
    fn default() -> ShardedGate {
        ShardedGate { shards: (0..SHARDS).map(|_| Shard::default()).collect() }
    }
}

/// This thread's shard number, drawn once per thread, round robin.
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

impl ShardedGate {
    /// Shared hold, through this thread's shard; recursive (see the module comment).
    pub fn read(&self) -> RwLockReadGuard<'_, ()> {
        self.shards[thread_shard()].0.read_recursive()
    }

    /// Exclusive hold: every shard, in order.
    pub fn write(&self) -> Vec<RwLockWriteGuard<'_, ()>> {
        self.shards.iter().map(|s| s.0.write()).collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    /// A writer excludes the readers of every thread, and waits for the ones inside; a reader
    /// may read again while a writer waits (recursion does not deadlock).
    #[test]
    fn a_writer_excludes_every_reader_and_reads_recurse() {
        let gate = Arc::new(ShardedGate::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let writing = Arc::new(AtomicBool::new(false));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let (gate, inside, writing) = (gate.clone(), inside.clone(), writing.clone());
                s.spawn(move || {
                    for _ in 0..2_000 {
                        let _outer = gate.read();
                        assert!(!writing.load(Ordering::SeqCst), "a reader inside a write");
                        inside.fetch_add(1, Ordering::SeqCst);
                        let _inner = gate.read();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
            for _ in 0..50 {
                let _all = gate.write();
                writing.store(true, Ordering::SeqCst);
                assert_eq!(inside.load(Ordering::SeqCst), 0, "a writer beside a reader");
                std::thread::sleep(Duration::from_micros(50));
                writing.store(false, Ordering::SeqCst);
            }
        });
    }

    /// Two threads in a row draw different shards: their reads touch different lines.
    #[test]
    fn threads_read_through_their_own_shards() {
        let a = std::thread::spawn(thread_shard).join().unwrap();
        let b = std::thread::spawn(thread_shard).join().unwrap();
        assert_ne!(a, b);
        assert_eq!(std::mem::align_of::<Shard>(), 128);
    }
}
