//! Hold expiry deadlines (state), sharded so that concurrent holds rarely touch the same lock.

use crate::ids::BookingId;
use crate::time::Timestamp;
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const TIMER_SHARDS: usize = 16;

/// Hold expiry deadlines, sharded so that concurrent holds rarely touch the same lock. Entries
/// are never removed early: a confirmed or cancelled hold's deadline is skipped when it fires.
#[derive(Default)]
pub(crate) struct Timers {
    shards: [Mutex<Deadlines>; TIMER_SHARDS],
}

/// Earliest first: (deadline, booking id).
type Deadlines = BinaryHeap<Reverse<(i64, u64)>>;

impl Timers {
    pub fn push(&self, at: Timestamp, booking: BookingId) {
        let shard = (booking.0 as usize ^ (booking.0 >> 32) as usize) % TIMER_SHARDS;
        self.shards[shard].lock().push(Reverse((at.0, booking.0)));
    }

    /// Every deadline at or before `now`, in (deadline, booking) order so expiry is deterministic.
    pub fn take_due(&self, now: Timestamp) -> Vec<(Timestamp, BookingId)> {
        let mut due = Vec::new();
        for shard in &self.shards {
            let mut heap = shard.lock();
            while let Some(Reverse((at, id))) = heap.peek().copied() {
                if at > now.0 {
                    break;
                }
                heap.pop();
                due.push((Timestamp(at), BookingId(id)));
            }
        }
        due.sort_unstable();
        due
    }
}
