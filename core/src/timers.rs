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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    /// The lower bound must never hide a deadline: with pushes and takes racing on several
    /// threads, every deadline comes out exactly once, and once the threads are done a take at
    /// a time past all of them returns every one left (a bound above a pending deadline would
    /// make it return early, the deadline lost until another push).
    #[test]
    fn racing_pushes_and_takes_lose_no_deadline() {
        for round in 0..20u64 {
            let timers = Arc::new(Timers::default());
            let pushers: Vec<_> = (0..2u64)
                .map(|t| {
                    let timers = timers.clone();
                    std::thread::spawn(move || {
                        let mut x = round * 7 + t + 1;
                        for i in 0..2_000u64 {
                            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                            let at = ((x >> 33) % 1_000) as i64;
                            timers.push(Timestamp(at), BookingId(t << 32 | i));
                        }
                    })
                })
                .collect();
            let pushed = Arc::new(std::sync::atomic::AtomicBool::new(false));
            // Takers sweep the clock from early to late, again and again while the pushes run,
            // and once more after: that last sweep starts low, so a bound left too high by
            // an early take would hide the later deadlines from it.
            let takers: Vec<_> = (0..2i64)
                .map(|t| {
                    let (timers, pushed) = (timers.clone(), pushed.clone());
                    std::thread::spawn(move || {
                        let mut taken = Vec::new();
                        loop {
                            let last = pushed.load(Ordering::SeqCst);
                            for now in (t..1_000).step_by(7) {
                                for (at, id) in timers.take_due(Timestamp(now)) {
                                    assert!(at.0 <= now, "{id:?} taken at {now}, due {}", at.0);
                                    taken.push(id);
                                }
                            }
                            if last {
                                return taken;
                            }
                        }
                    })
                })
                .collect();
            for p in pushers {
                p.join().unwrap();
            }
            pushed.store(true, Ordering::SeqCst);
            let mut taken: Vec<BookingId> =
                takers.into_iter().flat_map(|t| t.join().unwrap()).collect();
            taken.extend(timers.take_due(Timestamp(999)).into_iter().map(|(_, id)| id));
            assert_eq!(taken.len(), 4_000, "round {round}: every deadline exactly once");
            assert_eq!(taken.iter().collect::<HashSet<_>>().len(), 4_000, "round {round}");
            assert!(timers.take_due(Timestamp(i64::MAX)).is_empty());
        }
    }
}
