//! Hold expiry deadlines (state), sharded so that concurrent holds rarely touch the same lock.

use crate::ids::BookingId;
use crate::time::Timestamp;
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicI64, Ordering};

const TIMER_SHARDS: usize = 16;

/// Hold expiry deadlines, sharded so that concurrent holds rarely touch the same lock. Entries
/// are never removed early: a confirmed or cancelled hold's deadline is skipped when it fires.
pub(crate) struct Timers {
    shards: [Mutex<Deadlines>; TIMER_SHARDS],
    /// At or before every pending deadline (`i64::MAX`: none): `take_due` before it has
    /// nothing to take and locks no shard — the manual clock ticks on every advance.
    earliest: AtomicI64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers { shards: Default::default(), earliest: AtomicI64::new(i64::MAX) }
    }
}

/// Earliest first: (deadline, booking id).
type Deadlines = BinaryHeap<Reverse<(i64, u64)>>;

impl Timers {
    pub fn push(&self, at: Timestamp, booking: BookingId) {
        let shard = (booking.0 as usize ^ (booking.0 >> 32) as usize) % TIMER_SHARDS;
        self.shards[shard].lock().push(Reverse((at.0, booking.0)));
        // After the push: a `take_due` that reset `earliest` either saw this deadline in its
        // shard or sees this lowering.
        self.earliest.fetch_min(at.0, Ordering::SeqCst);
    }

    /// Every deadline at or before `now`, in (deadline, booking) order so expiry is deterministic.
    pub fn take_due(&self, now: Timestamp) -> Vec<(Timestamp, BookingId)> {
        let mut due = Vec::new();
        if now.0 < self.earliest.load(Ordering::SeqCst) {
            return due;
        }
        // Reset before reading the shards: a deadline pushed meanwhile lowers it again.
        self.earliest.store(i64::MAX, Ordering::SeqCst);
        let mut next = i64::MAX;
        for shard in &self.shards {
            let mut heap = shard.lock();
            while let Some(Reverse((at, id))) = heap.peek().copied() {
                if at > now.0 {
                    next = next.min(at);
                    break;
                }
                heap.pop();
                due.push((Timestamp(at), BookingId(id)));
            }
        }
        self.earliest.fetch_min(next, Ordering::SeqCst);
        due.sort_unstable();
        due
    }
}
