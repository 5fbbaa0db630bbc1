//! One slot and its lock-free place counter.
//!
//! A slot's places are split into up to four pools — general, referral and two channel quotas —
//! and the places taken from each pool are packed with a "closed" flag into one `AtomicU64`.
//! Claiming a place is a single compare-and-swap on that word, so the capacity check and the
//! claim are one atomic step: no lock, and no interleaving can take a pool past its size
//! (invariant 1). A booking remembers which pool it was charged to and gives that place back.

use crate::ids::*;
use crate::model::{Pool, SlotSpec};
use crate::policy::OverbookingSpread;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::time::Date;

/// Most places one slot may have (a bed pool or an exam device day), so that capacity plus the
/// overbooking allowance fits the 15-bit pool counters.
pub const PLACES_MAX: u16 = 16_000;

/// Most places (capacities as published) one department-day may have, over every publication
/// to it: a day's availability counters (`store::DayCounts`) count its pools' places — at most
/// twice these, with the largest overbooking — in 32-bit signed integers, which this keeps
/// clear of wrapping. A thousand million places a day is far beyond any clinic's; it bounds an
/// input, it does not shape a city.
pub const DAY_PLACES_MAX: u32 = 1_000_000_000;
const _: () = assert!(DAY_PLACES_MAX as u64 * 2 <= i32::MAX as u64);

/// Most overbooking places one slot may have: `Policy::validate` keeps every overbooking ratio
/// within 0 ..= 1, so the allowance ⌊capacity × ratio⌋ is at most the capacity.
pub(crate) const OVERBOOKING_PLACES_MAX: u16 = PLACES_MAX;

const FIELD_BITS: u32 = 16;
const FIELD_MASK: u64 = 0x7fff;
const CLOSED: u64 = 1 << 63;
/// Most places one pool's counter can count (15 bits).
pub(crate) const TAKEN_MAX: u16 = FIELD_MASK as u16;

// The layout of the word, checked by the compiler rather than by a comment:
// - every pool has a field, and the fields fit the word;
const _: () = assert!(Pool::ALL.len() as u32 * FIELD_BITS <= u64::BITS);
const _: () = assert!(RESERVED_POOLS + 1 == Pool::ALL.len());
// - a counter is narrower than its field, and the closed flag lies above the last counter, so
//   neither a full counter nor the flag ever reads as part of another field;
const _: () = assert!(FIELD_MASK < 1 << FIELD_BITS && FIELD_MASK.count_ones() == 15);
const _: () = assert!((FIELD_MASK << ((Pool::ALL.len() as u32 - 1) * FIELD_BITS)) & CLOSED == 0);
// - the largest pool fits its counter: the general pool holds a whole slot of PLACES_MAX places
//   plus the largest overbooking allowance, so `claim`'s `taken < size` never lets an increment
//   carry into the next pool's field (the test `the_largest_slot_fits_the_counter` fills it).
const _: () = assert!(PLACES_MAX as u64 + OVERBOOKING_PLACES_MAX as u64 <= FIELD_MASK);

/// A published slot. 32 bytes: the packed counter, where and when, the size of each pool
/// (fixed at publication from the policy), and where its resource-day's availability counters
/// are — which name its department and its department-day's counters (`store::DayCounts`), so
/// the slot does not (`SlotStore::department_of`).
#[derive(Debug)]
pub(crate) struct Slot {
    counts: AtomicU64,
    pub resource: ResourceId,
    pub start_min: u16,
    pub end_min: u16,
    /// Places of each pool, indexed by `Pool as usize`. The general pool includes the
    /// overbooking allowance.
    pub sizes: [u16; 4],
    /// The availability counters of this slot's resource-day (`store::DayCounts`, an index
    /// into `SlotStore::days`), set when the store adds the slot.
    pub res_day: u32,
    /// The date (low `DATE_BITS`) and the capacity above it, in one word: a date needs 17
    /// bits and a capacity 14, so apart they would take 6 bytes and the slot 40 (`date`,
    /// `capacity`).
    date_capacity: u32,
}

/// Bits of `Slot::date_capacity` that hold the date.
const DATE_BITS: u32 = 17;
const _: () =
    assert!(crate::time::DATE_MIN.0 >= 0 && (crate::time::DATE_MAX.0 as u64) < 1 << DATE_BITS);
const _: () = assert!((PLACES_MAX as u64) < 1 << (u32::BITS - DATE_BITS));

// The memory budget of a slot (the province-scale issue: 10 M live slots in one process).
#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Slot>() <= 32);

/// Where a pool's counter sits in the slot's word.
trait CounterField {
    fn shift_bits(self) -> u32;
}

impl CounterField for Pool {
    fn shift_bits(self) -> u32 {
        self as u32 * FIELD_BITS
    }
}

/// Why a claim failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClaimError {
    Full,
    Closed,
}

impl Slot {
    pub fn new(spec: &SlotSpec, sizes: [u16; 4]) -> Slot {
        // `claim` relies on it: a pool that fits its counter is never incremented past it.
        // Publication deals sizes that fit; a snapshot's are checked before they get here.
        assert!(Slot::sizes_fit_counters(sizes), "pool sizes {sizes:?} beyond the counters");
        Slot {
            counts: AtomicU64::new(0),
            resource: spec.resource,
            start_min: spec.start_min,
            end_min: spec.end_min,
            sizes,
            res_day: u32::MAX,
            date_capacity: Slot::pack_date_capacity(spec.date, spec.capacity),
        }
    }

    /// `date_capacity` of a date in the engine's calendar and a capacity of at most
    /// `PLACES_MAX` (publication and snapshot loading check both before a slot is made).
    fn pack_date_capacity(date: Date, capacity: u16) -> u32 {
        assert!(date.is_valid() && capacity <= PLACES_MAX, "{date:?} {capacity} out of range");
        date.0 as u32 | (capacity as u32) << DATE_BITS
    }

    #[inline]
    pub fn date(&self) -> Date {
        Date((self.date_capacity & ((1 << DATE_BITS) - 1)) as i32)
    }

    /// Places of the slot as published, without the overbooking allowance.
    #[inline]
    pub fn capacity(&self) -> u16 {
        (self.date_capacity >> DATE_BITS) as u16
    }

    /// Whether every pool size fits a 15-bit counter (see the layout assertions above).
    pub(crate) fn sizes_fit_counters(sizes: [u16; 4]) -> bool {
        sizes.iter().all(|&size| size <= TAKEN_MAX)
    }

    fn taken_in(word: u64, pool: Pool) -> u16 {
        ((word >> pool.shift_bits()) & FIELD_MASK) as u16
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
            let next = word + (1u64 << pool.shift_bits());
            match self.counts.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    // Invariant 1, as the word now says: the pool was below its size.
                    assert!(Self::taken_in(next, pool) <= self.sizes[pool as usize]);
                    return Ok(pool);
                }
                Err(current) => word = current,
            }
        }
    }

    /// Give back a place taken from `pool`. Returns whether the slot was open (the place is
    /// free again) rather than closed (it is not offered to anyone).
    #[cfg(any(loom, test))]
    pub fn release(&self, pool: Pool) -> bool {
        self.release_noting(pool).0
    }

    /// `release`, also saying whether the pool was full before (no place free in it).
    pub fn release_noting(&self, pool: Pool) -> (bool, bool) {
        let prev = self.counts.fetch_sub(1u64 << pool.shift_bits(), Ordering::AcqRel);
        // A release without its claim would borrow from the next pool's field (or the closed
        // flag) and corrupt every count of the slot: stop rather than go on with them.
        let taken = Self::taken_in(prev, pool);
        assert!(taken > 0, "released a place never claimed");
        (prev & CLOSED == 0, taken >= self.sizes[pool as usize])
    }

    /// Replay only (durability): take a place from `pool` without the size check — the journal
    /// already decided it, and events of different patients may replay a few positions out of
    /// the order their claims happened in. Fails (`None`) only when the 15-bit counter is
    /// full; otherwise says whether the slot was open.
    pub(crate) fn force_take(&self, pool: Pool) -> Option<bool> {
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            if Self::taken_in(word, pool) >= TAKEN_MAX {
                return None;
            }
            match self.counts.compare_exchange_weak(
                word,
                word + (1u64 << pool.shift_bits()),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(word & CLOSED == 0),
                Err(current) => word = current,
            }
        }
    }

    /// Replay only: give back a place; `None` (and no change) if the pool has none taken,
    /// otherwise whether the slot was open.
    pub(crate) fn force_release(&self, pool: Pool) -> Option<bool> {
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            if Self::taken_in(word, pool) == 0 {
                return None;
            }
            match self.counts.compare_exchange_weak(
                word,
                word - (1u64 << pool.shift_bits()),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(word & CLOSED == 0),
                Err(current) => word = current,
            }
        }
    }

    /// Snapshot restore only: set the taken counts and the closed flag at once.
    pub(crate) fn restore_counts(&self, taken: [u16; 4], closed: bool) {
        // Checked by the snapshot's restore: masking a count would silently change it.
        assert!(
            taken.iter().all(|&t| t <= TAKEN_MAX),
            "taken counts {taken:?} beyond the counters"
        );
        let mut word = if closed { CLOSED } else { 0 };
        for p in Pool::ALL {
            word |= (taken[p as usize] as u64) << p.shift_bits();
        }
        self.counts.store(word, Ordering::Release);
    }

    /// Stop all further claims (provider suspension). Returns false if it was already closed.
    /// (The engine closes through `SlotStore::close`, which keeps the availability index.)
    #[cfg(any(loom, test))]
    pub fn close(&self) -> bool {
        self.close_taking().is_some()
    }

    /// `close`, returning the places taken from each pool at the instant it closed (`None` if
    /// it was closed already): what was still free then is what the availability index must
    /// stop counting, exactly, whatever claims raced the close.
    pub fn close_taking(&self) -> Option<[u16; 4]> {
        let prev = self.counts.fetch_or(CLOSED, Ordering::AcqRel);
        (prev & CLOSED == 0).then(|| Pool::ALL.map(|p| Self::taken_in(prev, p)))
    }

    pub fn is_closed(&self) -> bool {
        self.counts.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Places taken from each pool.
    pub fn taken(&self) -> [u16; 4] {
        let w = self.counts.load(Ordering::Acquire);
        Pool::ALL.map(|p| Self::taken_in(w, p))
    }

    /// Why `claim(order)` would fail if it ran now, or `None` if it could succeed: the same
    /// reading of the word as `claim`'s first, without changing it.
    pub fn refusal(&self, order: &[Pool]) -> Option<ClaimError> {
        let word = self.counts.load(Ordering::Acquire);
        if word & CLOSED != 0 {
            return Some(ClaimError::Closed);
        }
        let any = order.iter().any(|&p| Self::taken_in(word, p) < self.sizes[p as usize]);
        (!any).then_some(ClaimError::Full)
    }

    /// Places still free in the pools of `order` (0 when closed).
    pub fn free_in(&self, order: &[Pool]) -> u32 {
        let w = self.counts.load(Ordering::Acquire);
        if w & CLOSED != 0 {
            return 0;
        }
        // Saturating, not asserted: replay counts places without the size check (`force_take`),
        // and a read must not panic on a counter that is past its size for a moment.
        order
            .iter()
            .map(|&p| self.sizes[p as usize].saturating_sub(Self::taken_in(w, p)) as u32)
            .sum()
    }
}

/// Reserved pools of a slot, in `Pool` order after `General`: referral, quota 0, quota 1.
pub(crate) const RESERVED_POOLS: usize = 3;

/// Shares are dealt in whole parts per million, so that rounding is exact integer arithmetic:
/// 30% + 35% of 10 places is exactly 6.5 → 7, never 6.4999… → 6 (`f32` shares are not exact).
pub(crate) const SHARE_UNIT: u64 = 1_000_000;

/// A policy share (0 ..= 1) in parts per million.
pub(crate) fn share_ppm(share: f32) -> u64 {
    ((share as f64).clamp(0.0, 1.0) * SHARE_UNIT as f64).round() as u64
}

/// Split a resource-day's places into reserved pools so that the session *as a whole* keeps
/// every share, however its slots were published (one call, many calls, any order), and no
/// slot's pools ever sum past its capacity (invariant 1).
///
/// `start` is where the resource-day's dealing stands (its slots already published);
/// `capacities` are the new slots' capacities in publication order; `shares` are in parts per
/// million. Returns each new slot's reserved places and where the dealing then stands. The
/// reserved total of the first `c` places of the day is `h(c) = round(S × c)` (half up) with `S`
/// the sum of the shares (≤ 1, so `h(c) ≤ c` and one slot never receives more reserved places
/// than it has: `h(c + k) − h(c) ≤ k`). Those places are dealt to the pools one at a time by the
/// Sainte-Laguë (Webster) rule — the next reserved place goes to the pool with the largest
/// `share / (2 × places + 1)`, ties to the earlier pool — which is *house-monotone*: a pool
/// never loses a place as the day grows, so a slot's share is exactly the increase between two
/// prefixes and the day's totals depend only on its total capacity. (Rounding each pool
/// separately let a referral place and a quota place land on the same one-place slot: the
/// oversold slot of the hardening issue.)
pub(crate) fn pool_sizes(
    start: Dealt,
    capacities: &[u16],
    shares: [u64; RESERVED_POOLS],
) -> (Vec<[u16; RESERVED_POOLS]>, Dealt) {
    let mut dealt = start;
    let mut out = Vec::with_capacity(capacities.len());
    for &c in capacities {
        let prev = dealt.pools;
        dealt = dealt.grow(c as u64, shares);
        let mine: [u32; RESERVED_POOLS] = std::array::from_fn(|p| dealt.pools[p] - prev[p]);
        // h(c + k) − h(c) ≤ k (see above): checked before narrowing, so that no cast can hide
        // an excess.
        assert!(
            mine.iter().map(|&x| x as u64).sum::<u64>() <= c as u64,
            "reserved pools exceed a slot's capacity"
        );
        out.push(mine.map(|x| x as u16));
    }
    (out, dealt)
}

/// The overbooking allowance of each new slot of a resource-day, in publication order.
/// `before`: the day's places already published; `capacities`: the new slots' capacities.
///
/// [`OverbookingSpread::Session`]: the first `c` places of the day carry `⌊ratio × c⌋` extra
/// places in all (in parts per million, exactly), and a slot gets the increase across it — so
/// the day's total depends only on its places, however its slots are published, and a slot
/// never gets more than its own capacity (ratio ≤ 1: `⌊r(c+k)⌋ − ⌊rc⌋ ≤ k`).
/// [`OverbookingSpread::Slot`]: `⌊capacity × ratio⌋` per slot, as before `spread` existed
/// (computed in f32 exactly as then, so that old journals replay to the same pools).
pub(crate) fn overbooking_allowances(
    spread: OverbookingSpread,
    ratio: f32,
    before: u64,
    capacities: &[u16],
) -> Vec<u16> {
    match spread {
        OverbookingSpread::Slot => {
            capacities.iter().map(|&c| (c as f32 * ratio).floor() as u16).collect()
        }
        OverbookingSpread::Session => {
            let ppm = share_ppm(ratio) as u128;
            let upto = |places: u64| (ppm * places as u128 / SHARE_UNIT as u128) as u64;
            let mut places = before;
            capacities
                .iter()
                .map(|&c| {
                    let over = upto(places + c as u64) - upto(places);
                    places += c as u64;
                    assert!(over <= c as u64, "an allowance beyond the slot's own places");
                    over as u16
                })
                .collect()
        }
    }
}

/// Where the dealing of a resource-day stands: its places so far and the reserved places each
/// pool received. A function of the places alone (see [`pool_sizes`]), so the engine rebuilds
/// it from the day's places (`DayCounts::places`) at each publication instead of keeping it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dealt {
    pub places: u64,
    pub pools: [u32; RESERVED_POOLS],
}

impl Dealt {
    /// The state after `places` places, dealt from nothing.
    pub fn at(places: u64, shares: [u64; RESERVED_POOLS]) -> Dealt {
        Dealt::default().grow(places, shares)
    }

    /// The state after `more` places.
    fn grow(self, more: u64, shares: [u64; RESERVED_POOLS]) -> Dealt {
        let total_share = shares.iter().sum::<u64>().min(SHARE_UNIT);
        let places = self.places + more;
        // In 64 bits while they suffice (a day's places are counted in 32), which spares the
        // 128-bit division a publication would otherwise make per slot.
        let upto = match total_share.checked_mul(places) {
            Some(x) if x <= u64::MAX - SHARE_UNIT / 2 => (x + SHARE_UNIT / 2) / SHARE_UNIT,
            _ => {
                ((total_share as u128 * places as u128 + SHARE_UNIT as u128 / 2)
                    / SHARE_UNIT as u128) as u64
            }
        };
        let mut pools = self.pools;
        // No new reserved place: the state is the same (it is a function of `upto` alone, and
        // `self` dealt exactly its own `upto`). Slots without shares (community clinics) take
        // this path, and one-place slots most of the time.
        if pools.iter().map(|&x| x as u64).sum::<u64>() == upto {
            return Dealt { places, pools };
        }
        // One pool with a share (the default policy: referral, no channel quota) receives
        // every reserved place.
        // Narrowed as the jump narrows its counts (a panic here would take the publication's
        // worker thread down).
        let mut positive_pools = (0..RESERVED_POOLS).filter(|&p| shares[p] > 0);
        if let (Some(p), None) = (positive_pools.next(), positive_pools.next()) {
            debug_assert!(
                (0..RESERVED_POOLS).all(|q| q == p || pools[q] == 0),
                "a pool without share was dealt places"
            );
            pools[p] = upto as u32;
            return Dealt { places, pools };
        }
        // The dealing is highest averages: each place goes to the pool of the highest
        // share_p / (2 dealt_p + 1), ties to the lower pool. So the first `upto` places are
        // the `upto` highest of all those averages, and every average above a bound t whose
        // count is at most `upto` is among them: start from those, in O(pools), then deal the
        // few left one by one. With P pools of positive share, summing T, the averages above
        // t = T / (2 upto − P) number at most Σ (share_p / t + 1) / 2 = upto. Without the
        // jump, rebuilding a day of 16,000-place slots would take a step per reserved place.
        let positive = shares.iter().filter(|&&x| x > 0).count() as u128;
        let sum: u128 = shares.iter().map(|&x| x as u128).sum();
        if 2 * upto as u128 > positive {
            for p in (0..RESERVED_POOLS).filter(|&p| shares[p] > 0) {
                // The k ≥ 0 with (2k + 1) · T < a = share_p · (2 upto − P): m = ⌊(a − 1) / T⌋
                // is the largest integer with m · T < a, and ⌈m / 2⌉ odd numbers lie in 1 ..= m.
                let a = shares[p] as u128 * (2 * upto as u128 - positive);
                let above = ((a - 1) / sum).div_ceil(2);
                pools[p] = pools[p].max(above as u32);
            }
        }
        let mut dealt: u64 = pools.iter().map(|&x| x as u64).sum();
        debug_assert!(dealt <= upto, "the jump dealt past the places");
        while dealt < upto {
            // share_p / (2 dealt_p + 1) > share_b / (2 dealt_b + 1), compared exactly.
            let ahead = |p: usize, b: usize| {
                shares[p] as u128 * (2 * pools[b] as u128 + 1)
                    > shares[b] as u128 * (2 * pools[p] as u128 + 1)
            };
            let mut best: Option<usize> = None;
            for p in (0..RESERVED_POOLS).filter(|&p| shares[p] > 0) {
                if best.is_none_or(|b| ahead(p, b)) {
                    best = Some(p);
                }
            }
            // upto > 0 implies some share is positive.
            let Some(p) = best else { break };
            pools[p] += 1;
            dealt += 1;
        }
        Dealt { places, pools }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dealing one place at a time, as before the jump (the reference).
    fn dealt_one_by_one(places: u64, shares: [u64; RESERVED_POOLS]) -> Dealt {
        let total_share = shares.iter().sum::<u64>().min(SHARE_UNIT) as u128;
        let upto =
            ((total_share * places as u128 + SHARE_UNIT as u128 / 2) / SHARE_UNIT as u128) as u64;
        let mut pools = [0u32; RESERVED_POOLS];
        for _ in 0..upto {
            let mut best: Option<usize> = None;
            for p in (0..RESERVED_POOLS).filter(|&p| shares[p] > 0) {
                let ahead = |b: usize| {
                    shares[p] as u128 * (2 * pools[b] as u128 + 1)
                        > shares[b] as u128 * (2 * pools[p] as u128 + 1)
                };
                if best.is_none_or(ahead) {
                    best = Some(p);
                }
            }
            pools[best.expect("a positive share")] += 1;
        }
        Dealt { places, pools }
    }

    /// A xorshift generator of numbers below `m`, for the dealing tests.
    fn xorshift(mut x: u64) -> impl FnMut(u64) -> u64 {
        move |m| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        }
    }

    #[test]
    fn dealing_with_the_jump_equals_dealing_one_place_at_a_time() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..3_000 {
            // Shares in ppm, some zero, some equal (ties), some summing past the whole.
            let pick =
                |v: u64| [0, 1, 100_000, 200_000, 333_333, 500_000, 999_999, v][(v % 8) as usize];
            let shares = [pick(next(1_000_000)), pick(next(1_000_000)), pick(next(1_000_000))];
            let places = if round % 10 == 0 { next(200_000) } else { next(300) };
            assert_eq!(
                Dealt::at(places, shares),
                dealt_one_by_one(places, shares),
                "{places} {shares:?}"
            );
            // Grown in two steps it is the same again.
            let first = next(places + 1);
            assert_eq!(
                Dealt::at(first, shares).grow(places - first, shares),
                dealt_one_by_one(places, shares),
                "{first} + {} {shares:?}",
                places - first
            );
        }
    }

    /// As a publication grows it, slot by slot (one to three places at a time): every prefix
    /// is the dealing of its places, through the paths where no place is reserved and where
    /// one pool alone has a share.
    #[test]
    fn dealing_slot_by_slot_equals_dealing_one_place_at_a_time() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..300 {
            let pick = |v: u64| [0, 0, 50_000, 300_000, 500_000, 999_999, v][(v % 7) as usize];
            let shares = [pick(next(1_000_000)), pick(next(1_000_000)), pick(next(1_000_000))];
            let mut dealt = Dealt::default();
            while dealt.places < 150 {
                let grown = dealt.grow(1 + next(3), shares);
                assert_eq!(grown, dealt_one_by_one(grown.places, shares), "{dealt:?} {shares:?}");
                dealt = grown;
            }
        }
    }

    #[test]
    fn session_allowance_is_the_ratio_of_the_days_places_however_published() {
        let s = OverbookingSpread::Session;
        // 10% on ten one-place segments: one extra place (per slot it would be none).
        let one_by_one: Vec<u16> =
            (0..10).flat_map(|k| overbooking_allowances(s, 0.1, k, &[1])).collect();
        assert_eq!(one_by_one.iter().sum::<u16>(), 1);
        assert_eq!(overbooking_allowances(s, 0.1, 0, &[1; 10]), one_by_one);
        assert_eq!(overbooking_allowances(OverbookingSpread::Slot, 0.1, 0, &[1; 10]), [0; 10]);
        // Any split of a day gives ⌊ratio × places⌋ in all, each slot within its capacity.
        for (ratio, caps) in
            [(0.15_f32, vec![2u16, 1, 3, 1, 1]), (1.0, vec![5, 1]), (0.33, vec![7])]
        {
            let all = overbooking_allowances(s, ratio, 0, &caps);
            let places: u64 = caps.iter().map(|&c| c as u64).sum();
            let want = (share_ppm(ratio) * places / SHARE_UNIT) as u16;
            assert_eq!(all.iter().sum::<u16>(), want, "{ratio} {caps:?}");
            assert!(all.iter().zip(&caps).all(|(o, c)| o <= c));
            let (head, tail) = caps.split_at(caps.len() / 2);
            let before: u64 = head.iter().map(|&c| c as u64).sum();
            let split: u16 = overbooking_allowances(s, ratio, 0, head).iter().sum::<u16>()
                + overbooking_allowances(s, ratio, before, tail).iter().sum::<u16>();
            assert_eq!(split, want);
        }
    }

    fn slot(capacity: u16, sizes: [u16; 4]) -> Slot {
        let spec = SlotSpec {
            resource: ResourceId(0),
            date: Date(0),
            start_min: 480,
            end_min: 490,
            capacity,
        };
        Slot::new(&spec, sizes)
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
        assert_eq!(s.taken().iter().map(|&t| t as u32).sum::<u32>(), 2);
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

    fn one_pool(capacities: &[u16], share: f64) -> Vec<u16> {
        pool_sizes(Dealt::default(), capacities, [share_ppm(share as f32), 0, 0])
            .0
            .iter()
            .map(|p| p[0])
            .collect()
    }

    #[test]
    fn shares_spread_over_a_session() {
        assert_eq!(one_pool(&[1; 10], 0.3).iter().sum::<u16>(), 3);
        assert_eq!(one_pool(&[1; 10], 0.5).iter().sum::<u16>(), 5);
        assert_eq!(one_pool(&[4; 5], 0.3), vec![1, 1, 2, 1, 1]);
        assert_eq!(one_pool(&[3], 1.0), vec![3]);
        assert_eq!(one_pool(&[3, 3], 0.0), vec![0, 0]);
    }

    #[test]
    fn several_shares_never_exceed_a_slot_and_keep_their_totals() {
        // DOMAIN.md's example: 30% referral and 10% for kiosk + phone on one-place slots.
        let sizes = pool_sizes(Dealt::default(), &[1; 10], [300_000, 100_000, 0]).0;
        assert!(sizes.iter().all(|p| p.iter().sum::<u16>() <= 1));
        let totals = sizes.iter().fold([0u16; 3], |t, p| std::array::from_fn(|i| t[i] + p[i]));
        assert_eq!(totals, [3, 1, 0]);
        // Published in two calls, or one slot at a time: the same totals.
        for split in 0..=10 {
            let shares = [300_000, 100_000, 0];
            let (mut first, dealt) = pool_sizes(Dealt::default(), &[1; 10][..split], shares);
            assert_eq!(
                dealt,
                Dealt::at(split as u64, shares),
                "the state is a function of the places"
            );
            first.extend(pool_sizes(Dealt::at(split as u64, shares), &[1; 10][split..], shares).0);
            assert_eq!(first, sizes, "split at {split}");
        }
        // Shares summing to 1 reserve everything, still within each slot.
        // 30% + 35% of 10 places is 6.5, rounded up: exact, whatever f32 makes of 0.35.
        let half = pool_sizes(Dealt::default(), &[10], [share_ppm(0.3), share_ppm(0.35), 0]).0;
        assert_eq!(half[0].iter().sum::<u16>(), 7);
        let full = pool_sizes(Dealt::default(), &[1, 2, 1, 3], [500_000, 250_000, 250_000]).0;
        assert_eq!(
            full.iter().map(|p| p.iter().sum::<u16>()).collect::<Vec<_>>(),
            vec![1, 2, 1, 3]
        );
    }
}

/// loom models of the counter (`ci/loom.sh`): every interleaving of two or three threads on the
/// real `Slot`, whose word is loom's `AtomicU64` in a `--cfg loom` build (see `sync.rs`).
/// The loom models of the slot counter, run by `loom/tests/slot.rs` (`ci/loom.sh`). They live
/// here, compiled only in a `--cfg loom` build, because they drive the crate-private `Slot`;
/// the test harness lives in its own crate so that a loom build compiles the engine's library
/// alone, not its test-only dependencies (criterion, proptest, haoyuan-fhir).
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_models {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    fn slot(capacity: u16, sizes: [u16; 4]) -> Slot {
        let spec = SlotSpec {
            resource: ResourceId(1),
            date: Date(0),
            start_min: 480,
            end_min: 490,
            capacity,
        };
        Slot::new(&spec, sizes)
    }

    /// Invariant 1 under contention: three patients race for a slot of two places (one
    /// general, one referral, the general pool tried first). Exactly two claims win, each pool
    /// is charged at most its size, and the losers see `Full`. A claim that read the word and
    /// then stored it (no compare-and-swap) lets two threads win the same place.
    pub fn racing_claims_never_overbook() {
        loom::model(|| {
            let s = Arc::new(slot(2, [1, 1, 0, 0]));
            let racers: Vec<_> = (0..3)
                .map(|_| {
                    let s = s.clone();
                    thread::spawn(move || s.claim(&[Pool::General, Pool::Referral]))
                })
                .collect();
            let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
            let won: Vec<Pool> = results.iter().filter_map(|r| r.ok()).collect();
            assert_eq!(won.len(), 2, "two places, two winners: {results:?}");
            assert!(won.contains(&Pool::General) && won.contains(&Pool::Referral), "{won:?}");
            assert!(results.iter().all(|r| r.is_ok() || *r == Err(ClaimError::Full)));
            assert_eq!(s.taken(), [1, 1, 0, 0]);
        });
    }

    /// Places come back: two threads each claim the one place of a slot (with one place of
    /// overbooking allowance in the general pool, so both may hold it at once) and release it
    /// again; a third closes the slot meanwhile. Whatever the interleaving, no pool ever passes
    /// its size, every claim won was given back, and the counter ends at zero with the slot
    /// closed. A release that read-modify-wrote the word with a plain load and store would
    /// lose a concurrent claim's or release's update and leave a count behind.
    pub fn claims_and_releases_return_to_zero() {
        loom::model(|| {
            let s = Arc::new(slot(1, [2, 0, 0, 0]));
            let patients: Vec<_> = (0..2)
                .map(|_| {
                    let s = s.clone();
                    thread::spawn(move || {
                        let won = s.claim(&[Pool::General]);
                        if let Ok(pool) = won {
                            assert!(s.taken()[pool as usize] <= s.sizes[pool as usize]);
                            s.release(pool);
                        }
                        won.is_ok()
                    })
                })
                .collect();
            let provider = {
                let s = s.clone();
                thread::spawn(move || s.close())
            };
            let won = patients.into_iter().map(|t| t.join().unwrap()).filter(|&w| w).count();
            assert!(provider.join().unwrap(), "the slot was open before");
            assert!(won <= 2);
            assert_eq!(s.taken(), [0; 4], "every place given back");
            assert!(s.is_closed());
            assert_eq!(s.claim(&[Pool::General]), Err(ClaimError::Closed));
        });
    }
}
