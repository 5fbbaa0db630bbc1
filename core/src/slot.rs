//! One slot and its lock-free place counter.
//!
//! A slot's places are split into up to four pools — general, referral and two channel quotas —
//! and the places taken from each pool are packed with a "closed" flag into one `AtomicU64`.
//! Claiming a place is a single compare-and-swap on that word, so the capacity check and the
//! claim are one atomic step: no lock, and no interleaving can take a pool past its size
//! (invariant 1). A booking remembers which pool it was charged to and gives that place back.

use crate::ids::*;
use crate::time::Date;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Most places one slot may have (a bed pool or an exam device day), so that capacity plus the
/// overbooking allowance fits the 15-bit pool counters.
pub const PLACES_MAX: u16 = 16_000;

const FIELD_BITS: u32 = 16;
const FIELD_MASK: u64 = 0x7fff;
const CLOSED: u64 = 1 << 63;

/// Which share of a slot a place was taken from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Pool {
    General = 0,
    Referral = 1,
    Quota0 = 2,
    Quota1 = 3,
}

impl Pool {
    pub const ALL: [Pool; 4] = [Pool::General, Pool::Referral, Pool::Quota0, Pool::Quota1];

    pub fn quota(group: usize) -> Pool {
        if group == 0 { Pool::Quota0 } else { Pool::Quota1 }
    }

    fn shift(self) -> u32 {
        self as u32 * FIELD_BITS
    }
}

/// What a caller publishes: one time segment of one resource.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotSpec {
    pub resource: ResourceId,
    pub date: Date,
    /// Minutes after local midnight, `start_min < end_min <= 1440`.
    pub start_min: u16,
    pub end_min: u16,
    /// Places, 1 ..= [`PLACES_MAX`].
    pub capacity: u16,
}

/// A published slot. 40 bytes: the packed counter, where and when, and the size of each pool
/// (fixed at publication from the policy).
#[derive(Debug)]
pub(crate) struct Slot {
    counts: AtomicU64,
    pub resource: ResourceId,
    pub department: DepartmentId,
    pub date: Date,
    pub start_min: u16,
    pub end_min: u16,
    pub capacity: u16,
    /// Places of each pool, indexed by `Pool as usize`. The general pool includes the
    /// overbooking allowance.
    pub sizes: [u16; 4],
}

/// Why a claim failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClaimError {
    Full,
    Closed,
}

impl Slot {
    pub fn new(spec: &SlotSpec, department: DepartmentId, sizes: [u16; 4]) -> Slot {
        Slot {
            counts: AtomicU64::new(0),
            resource: spec.resource,
            department,
            date: spec.date,
            start_min: spec.start_min,
            end_min: spec.end_min,
            capacity: spec.capacity,
            sizes,
        }
    }

    fn taken_in(word: u64, pool: Pool) -> u16 {
        ((word >> pool.shift()) & FIELD_MASK) as u16
    }

    /// Take one place from the first pool in `order` that has room. Lock-free: retried only when
    /// another thread changed this slot's word in between.
    pub fn claim(&self, order: &[Pool]) -> Result<Pool, ClaimError> {
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            if word & CLOSED != 0 {
                return Err(ClaimError::Closed);
            }
            let pool = order
                .iter()
                .copied()
                .find(|&p| Self::taken_in(word, p) < self.sizes[p as usize])
                .ok_or(ClaimError::Full)?;
            let next = word + (1u64 << pool.shift());
            match self.counts.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(pool),
                Err(current) => word = current,
            }
        }
    }

    /// Give back a place taken from `pool`.
    pub fn release(&self, pool: Pool) {
        let prev = self.counts.fetch_sub(1u64 << pool.shift(), Ordering::AcqRel);
        debug_assert!(Self::taken_in(prev, pool) > 0, "released a place never claimed");
    }

    /// Replay only (durability): take a place from `pool` without the size check — the journal
    /// already decided it, and events of different patients may replay a few positions out of
    /// the order their claims happened in. Fails only when the 15-bit counter is full.
    pub(crate) fn force_take(&self, pool: Pool) -> bool {
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            if Self::taken_in(word, pool) as u64 >= FIELD_MASK {
                return false;
            }
            match self.counts.compare_exchange_weak(word, word + (1u64 << pool.shift()), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(current) => word = current,
            }
        }
    }

    /// Replay only: give back a place; false (and no change) if the pool has none taken.
    pub(crate) fn force_release(&self, pool: Pool) -> bool {
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            if Self::taken_in(word, pool) == 0 {
                return false;
            }
            match self.counts.compare_exchange_weak(word, word - (1u64 << pool.shift()), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(current) => word = current,
            }
        }
    }

    /// Snapshot restore only: set the taken counts and the closed flag at once.
    pub(crate) fn restore_counts(&self, taken: [u16; 4], closed: bool) {
        let mut word = if closed { CLOSED } else { 0 };
        for p in Pool::ALL {
            word |= (taken[p as usize] as u64 & FIELD_MASK) << p.shift();
        }
        self.counts.store(word, Ordering::Release);
    }

    /// Stop all further claims (provider suspension). Returns false if it was already closed.
    pub fn close(&self) -> bool {
        self.counts.fetch_or(CLOSED, Ordering::AcqRel) & CLOSED == 0
    }

    pub fn is_closed(&self) -> bool {
        self.counts.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Places taken from each pool.
    pub fn taken(&self) -> [u16; 4] {
        let w = self.counts.load(Ordering::Acquire);
        Pool::ALL.map(|p| Self::taken_in(w, p))
    }

    pub fn taken_total(&self) -> u32 {
        self.taken().iter().map(|&t| t as u32).sum()
    }

    /// Places still free in the pools of `order` (0 when closed).
    pub fn free_in(&self, order: &[Pool]) -> u32 {
        let w = self.counts.load(Ordering::Acquire);
        if w & CLOSED != 0 {
            return 0;
        }
        order
            .iter()
            .map(|&p| self.sizes[p as usize].saturating_sub(Self::taken_in(w, p)) as u32)
            .sum()
    }
}

/// Split a run of slots' capacities into pool sizes so that the run *together* reserves the
/// right share: reserved(i) = round(share × places up to i) − round(share × places before i).
/// With one place per segment and a 30% share, 3 of every 10 segments are reserved, rather than
/// 0 (rounding each slot down) or 10 (rounding each up).
pub(crate) fn spread_share(capacities: &[u16], share: f32) -> Vec<u16> {
    let mut out = Vec::with_capacity(capacities.len());
    let mut cum: u64 = 0;
    let mut reserved_before: u64 = 0;
    for &c in capacities {
        cum += c as u64;
        let reserved_upto = (share as f64 * cum as f64).round() as u64;
        let r = reserved_upto.saturating_sub(reserved_before).min(c as u64);
        reserved_before += r;
        out.push(r as u16);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(capacity: u16, sizes: [u16; 4]) -> Slot {
        let spec = SlotSpec { resource: ResourceId(0), date: Date(0), start_min: 480, end_min: 490, capacity };
        Slot::new(&spec, DepartmentId(0), sizes)
    }

    #[test]
    fn claims_respect_each_pool_and_the_order() {
        let s = slot(3, [2, 1, 0, 0]);
        assert_eq!(s.claim(&[Pool::General]), Ok(Pool::General));
        assert_eq!(s.claim(&[Pool::General]), Ok(Pool::General));
        assert_eq!(s.claim(&[Pool::General]), Err(ClaimError::Full));
        assert_eq!(s.free_in(&[Pool::General, Pool::Referral]), 1);
        assert_eq!(s.claim(&[Pool::General, Pool::Referral]), Ok(Pool::Referral));
        assert_eq!(s.taken(), [2, 1, 0, 0]);
        s.release(Pool::General);
        assert_eq!(s.taken_total(), 2);
        assert!(s.close());
        assert!(!s.close());
        assert_eq!(s.claim(&[Pool::General]), Err(ClaimError::Closed));
        assert_eq!(s.free_in(&[Pool::General]), 0);
    }

    #[test]
    fn the_largest_slot_fits_the_counter() {
        let s = slot(PLACES_MAX, [PLACES_MAX * 2, 0, 0, 0]);
        for _ in 0..(PLACES_MAX as u32 * 2) {
            s.claim(&[Pool::General]).unwrap();
        }
        assert_eq!(s.claim(&[Pool::General]), Err(ClaimError::Full));
        assert_eq!(s.taken()[0], PLACES_MAX * 2);
        assert!(!s.is_closed());
    }

    #[test]
    fn shares_spread_over_a_session() {
        assert_eq!(spread_share(&[1; 10], 0.3).iter().sum::<u16>(), 3);
        assert_eq!(spread_share(&[1; 10], 0.5).iter().sum::<u16>(), 5);
        assert_eq!(spread_share(&[4; 5], 0.3), vec![1, 1, 2, 1, 1]);
        assert_eq!(spread_share(&[3], 1.0), vec![3]);
        assert_eq!(spread_share(&[3, 3], 0.0), vec![0, 0]);
    }
}
