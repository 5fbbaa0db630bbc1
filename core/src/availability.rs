//! Availability: free slots by department, resource, institution, tier, district, date range
//! and time of day, earliest first; free places per department-day; and alternatives at other
//! institutions when a department-day is full (load spreading). Read-only and lock-free on the
//! slots; the indexes are read under dashmap's shard read guards.
//!
//! Answers come from the availability index (`store::DayCounts`: free places per pool of each
//! department-day and resource-day, kept on every claim, release and close) wherever the day's
//! slots all answer alike — which pools a requester may take depends on the time (reserved
//! pools roll over to the public as a slot's start nears) and is applied here, at query time.
//! When the first and the last slot of a day differ in that (the roll-over or the booking
//! deadline falls inside the day), that one day is scanned slot by slot. A full day is skipped
//! without reading its slots, and a scan of a department-day starts past the slots its scan hint
//! knows are full (`store::FreeHint`: moved by the scans that read them, reset by releases).
//! `alternatives` visits only the departments of the district whose day has a free place (the
//! group-day sets, `store::GroupDay`), and reads their lists in the order of where their free
//! places can begin (the start the scan hint keeps), only as far as one could still rank.

use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::{Alternative, AvailabilityQuery, DayAvailability, FreeSlot, Pool};

use crate::policy::AlternativesRank;
use crate::slot::Slot;
use crate::store::{DayCounts, DayList, FreeHint};
use crate::sync::atomic::Ordering;
use crate::time::{Date, Timestamp};
use crate::Engine;
use crossbeam_epoch::Guard;
use std::mem::MaybeUninit;

/// Longest date range one query may cover.
pub const QUERY_DAYS_MAX: i32 = 366;
/// Most results one query returns.
pub const QUERY_LIMIT_MAX: u32 = 100_000;

/// The pools a requester may take (at most the four, on the stack; `Engine::requester_pools_at`),
/// with their bit set (bit `Pool as u8`). Made by `Pools::of_mask` alone.
#[derive(Copy, Clone)]
pub(crate) struct Pools([Pool; 4], usize, u8);

/// The pools a requester may take from a slot on a date starting at a minute
/// (`Engine::requester_pools_at`), remembered within one query: they depend on nothing else
/// of the slot, and the many department-days of a query (an `alternatives` call visits some
/// forty) share a few dates and session starts. In front of the thread's cache across queries
/// (`pools_cache`), which needs the engine's scope and the clock's span checked; this needs
/// neither, as a query asks at one instant of one engine. On the stack; direct-mapped (a colliding key
/// replaces the entry: a miss only costs the computation), so a lookup is one hash and one
/// compare, where the earlier memo of whole days kept sixteen and searched them in turn.
#[derive(Default)]
pub(crate) struct PoolsMemo {
    /// Each (date, start)'s pools as a bit set (bit `Pool as u8`; 0: booking has closed).
    starts: MemoTable<64>,
    /// Whole days, keyed by (date, first start, last start): the pools every slot of such a
    /// day answers with, or `DIFFER` (`Engine::pools_for_starts`). One lookup where a day
    /// would take two of the starts'.
    days: MemoTable<32>,
}

impl PoolsMemo {
    /// A day whose first and last slot answer differently.
    const DIFFER: u8 = u8::MAX;

    fn key(date: Date, start_min: u16, with_referral: bool) -> u64 {
        (date.0 as u32 as u64) << 17 | (with_referral as u64) << 16 | start_min as u64
    }

    /// A day's key: its date's low 20 bits are enough, as a memo serves one query, whose
    /// dates lie within `QUERY_DAYS_MAX` of each other.
    fn day_key(date: Date, starts: (u16, u16), with_referral: bool) -> u64 {
        (date.0 as u32 as u64 & 0xF_FFFF) << 33
            | (with_referral as u64) << 32
            | (starts.0 as u64) << 16
            | starts.1 as u64
    }
}

const _: () = assert!(QUERY_DAYS_MAX < 1 << 20);

/// A direct-mapped table of `N` (a power of two, at most 64) `u64` keys to bytes. Left
/// uninitialised but for a bit set of the entries written, so that a query of one
/// department-day does not clear a kilobyte first.
struct MemoTable<const N: usize> {
    keys: [MaybeUninit<u64>; N],
    values: [MaybeUninit<u8>; N],
    written: u64,
}

impl<const N: usize> MemoTable<N> {
    const FITS: () = assert!(N.is_power_of_two() && N <= 64);

    fn entry(key: u64) -> usize {
        let () = Self::FITS;
        // Fibonacci hashing: the top bits of the product spread nearby starts and dates.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - N.trailing_zeros())) as usize
    }

    fn get(&self, key: u64) -> Option<u8> {
        let e = Self::entry(key);
        // Safety: an entry is read only once written (its bit in `written`).
        (self.written >> e & 1 == 1 && unsafe { self.keys[e].assume_init() } == key)
            .then(|| unsafe { self.values[e].assume_init() })
    }

    /// Remember `value` for `key`, replacing whatever shared its entry.
    fn put(&mut self, key: u64, value: u8) {
        let e = Self::entry(key);
        self.keys[e] = MaybeUninit::new(key);
        self.values[e] = MaybeUninit::new(value);
        self.written |= 1 << e;
    }
}

impl<const N: usize> Default for MemoTable<N> {
    fn default() -> Self {
        MemoTable {
            keys: [const { MaybeUninit::uninit() }; N],
            values: [const { MaybeUninit::uninit() }; N],
            written: 0,
        }
    }
}

/// A department-day `alternatives` may read: its member number and department, its counters
/// (their index in the store) with their first and last start, the pools the requester may take
/// from every slot of it (`None`: ask slot by slot) and its load.
#[derive(Copy, Clone)]
struct Candidate {
    member: u32,
    department: DepartmentId,
    /// Where its counters are in the day's `pending`.
    pending: u32,
    starts: Option<(u16, u16)>,
    pools: Option<Pools>,
    load: f32,
    /// No later than the start of its earliest free place (the day's first start, or its
    /// hint's, `FreeHint::start_bound`): what the candidates are read in the order of.
    bound: u16,
}

/// The working vectors of one `alternatives` call, kept per thread and reused: a call made
/// eight allocations (and as many frees), ~4% of a simulated city's instructions, for vectors of
/// a district's size. Each is cleared before use; one grown past `ALTERNATIVES_SCRATCH_MAX`
/// entries (a very large group) is given back after the call, so a thread keeps at most that.
#[derive(Default)]
struct AlternativesScratch {
    /// Per member: the call (`call`) that found it. Stamped rather than cleared, so that a
    /// call writes the members it finds, not the whole group (a district's group has hundreds
    /// of members, a call finds about `limit`); and a call that panicked leaves nothing that
    /// could pass for found in the next.
    seen: Vec<u32>,
    /// This call's stamp in `seen` (never 0 during a call: 0 is "never found").
    call: u32,
    /// (member, department, earliest free place, load of its day) of every department found.
    found: Vec<(u32, DepartmentId, Found, f32)>,
    /// A day's free members not yet seen, with their counters, before those are read: kept
    /// here only for its allocation (a call holds references, `recycle`).
    pending: Vec<(u32, DepartmentId, usize)>,
    /// A day's candidates before their lists are read.
    candidates: Vec<Candidate>,
    /// The order a day's candidates are read in (keys, see the call).
    order: Vec<u64>,
    /// The best keys found on the day (a max-heap).
    best: std::collections::BinaryHeap<u64>,
    /// The found departments' rank keys.
    ranked: Vec<(u128, u32)>,
}

/// `v`'s allocation, emptied, as a vector of another element type of the same size and
/// alignment (std collects in place then; where it would not, a new vector: slower, the same).
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// Bits of a day's candidate number in `alternatives`' read-order key (the low bits; the start
/// and the load take the other 46): a day of 2^18 candidates or more is read whole.
const DAY_KEY_K_BITS: u32 = 18;

/// Entries past which a thread's `AlternativesScratch` vector is freed after the call.
const ALTERNATIVES_SCRATCH_MAX: usize = 4096;

impl AlternativesScratch {
    /// Ready for a call: empty vectors, and a new stamp for `seen`.
    fn clear(&mut self) {
        // `seen` is stamped, not cleared: a new stamp forgets it (all of it, once the stamps
        // wrap around).
        self.call = self.call.wrapping_add(1);
        if self.call == 0 {
            self.seen.fill(0);
            self.call = 1;
        }
        self.found.clear();
        self.pending.clear();
        self.candidates.clear();
        self.order.clear();
        self.best.clear();
        self.ranked.clear();
    }

    /// Whether any vector outgrew `ALTERNATIVES_SCRATCH_MAX` (then the whole is dropped).
    fn oversized(&self) -> bool {
        [
            self.seen.capacity(),
            self.found.capacity(),
            self.pending.capacity(),
            self.candidates.capacity(),
            self.order.capacity(),
            self.best.capacity(),
            self.ranked.capacity(),
        ]
        .into_iter()
        .any(|c| c > ALTERNATIVES_SCRATCH_MAX)
    }
}

thread_local! {
    /// This thread's `alternatives` working vectors (see `AlternativesScratch`).
    static ALTERNATIVES_SCRATCH: std::cell::RefCell<AlternativesScratch> =
        std::cell::RefCell::default();
}

/// The last minute of a day: a start no slot passes.
const LAST_MINUTE: u16 = 24 * 60 - 1;

/// A free place `alternatives` found, as read from its slot: what its `FreeSlot` needs but
/// the registry's and the clock's parts, looked up for the candidates that rank only.
#[derive(Copy, Clone)]
struct Found {
    slot: SlotId,
    resource: ResourceId,
    date: Date,
    start_min: u16,
    end_min: u16,
    free: u32,
}

impl Found {
    fn of(slot: SlotId, s: &Slot, free: u32) -> Found {
        Found {
            slot,
            resource: s.resource,
            date: s.date(),
            start_min: s.start_min,
            end_min: s.end_min,
            free,
        }
    }
}

/// What of a day a scan for a free place reads (`Engine::day_to_scan`); the scan reports
/// back how far it found every slot full (`read_full_until`), which moves the day's hint.
pub(crate) struct DayScan<'g> {
    /// The day's list, in start order.
    slots: &'g [SlotId],
    /// The first slot to read: every one before it is closed at `now`, or full in every pool
    /// of `pools` (the hint).
    from: usize,
    /// The pools the requester may take from every slot read; `None`: ask slot by slot.
    pools: Option<Pools>,
    /// The day's counters, and their hint as read before the list.
    counts: &'g DayCounts,
    hint: FreeHint,
}

/// What a scan of a day (`DayScan::to_read`) learned of the head of its list: where the run of
/// slots it read and found full ends (at the first slot free, filtered out or gone; `None`: the
/// list's end), and the start of the last slot it read up to there, which is no later than the
/// slot where the run ends (the list is in start order): the hint's start.
#[derive(Default)]
struct ReadHead {
    until: Option<usize>,
    start: Option<u16>,
}

impl ReadHead {
    /// A slot starting at `start` was read, at or after the one before.
    fn read(&mut self, start: u16) {
        if self.until.is_none() {
            self.start = Some(start);
        }
    }

    /// The run of full slots ends at slot `i`, if it had not ended before.
    fn ends_at(&mut self, i: usize) {
        self.until = self.until.or(Some(i));
    }
}

impl<'g> DayScan<'g> {
    /// The slots to read, in start order, with their place in the day's list.
    fn to_read(&self) -> impl Iterator<Item = (usize, SlotId)> + 'g {
        let from = self.from;
        self.slots[from..].iter().enumerate().map(move |(k, &id)| (from + k, id))
    }

    /// The scan read the slots of `head` (from `from` on) and found none free in `pools` up to
    /// where the head ends (or the list's end): the day's hint may move there.
    fn read_full_until(&self, head: ReadHead) {
        let to = head.until.unwrap_or(self.slots.len());
        let start = head.start;
        if to <= self.from {
            // The first slot read was free (the usual case): nothing learned.
            return;
        }
        // (`advance_hint` moves a department-day's only: releases keep only those.)
        if let Some(pools) = self.pools {
            let to_hint = self.hint.extended(pools.mask(), self.from, to, start);
            self.counts.advance_hint(self.hint, to_hint);
        }
    }
}

impl Pools {
    pub(crate) fn as_slice(&self) -> &[Pool] {
        &self.0[..self.1]
    }

    /// The pools as a bit set (bit `Pool as u8`).
    pub(crate) fn mask(&self) -> u8 {
        self.2
    }

    /// The pools of a bit set (bit `Pool as u8`, four bits), in `Pool` order: a requester's
    /// pools are summed, never tried in turn, here, so their order does not matter. From a
    /// table built at compile time: a memo's answer costs one load.
    fn of_mask(mask: u8) -> Pools {
        const TABLE: [Pools; 16] = {
            let mut table = [Pools([Pool::General; 4], 0, 0); 16];
            let mut mask = 0;
            while mask < 16 {
                let mut p = 0;
                while p < 4 {
                    if mask & (1 << p) != 0 {
                        table[mask].0[table[mask].1] = Pool::ALL[p];
                        table[mask].1 += 1;
                        table[mask].2 |= 1 << p;
                    }
                    p += 1;
                }
                mask += 1;
            }
            table
        };
        TABLE[(mask & 0xF) as usize]
    }
}

impl Engine {
    pub(crate) fn check_range(&self, from: Date, to: Date) -> Result<()> {
        for d in [from, to] {
            if !d.is_valid() {
                return Err(Error::InvalidDate(d));
            }
        }
        if from > to || to.0 - from.0 >= QUERY_DAYS_MAX {
            return Err(Error::invalid(format!(
                "date range {from} ..= {to} must be ordered and at most {QUERY_DAYS_MAX} days"
            )));
        }
        Ok(())
    }

    /// The pools a requester (with a referral or not) may take from a slot on `date`
    /// starting at `start_min` now, as a bit set (bit `Pool as u8`; 0 once booking has
    /// closed): they depend on nothing else of the slot (its window, `window_at`), and are
    /// summed, never tried in turn, by the queries (`Pools::of_mask`). Remembered on the
    /// thread across queries for as long as they hold (`pools_cache`).
    fn requester_pools_at(
        &self,
        date: Date,
        start_min: u16,
        with_referral: bool,
        now: Timestamp,
    ) -> u8 {
        let starts = (start_min, start_min);
        crate::pools_cache::mask(self.pools_scope(), date, starts, with_referral, now, || {
            self.requester_pools_span(date, start_min, with_referral, now)
        })
    }

    /// `requester_pools_at` computed, with the span of instants it holds for: it reads `now`
    /// only in comparisons with the window's instants below (here, and in `pool_order_in`),
    /// so it changes only where `now` crosses one of them.
    pub(crate) fn requester_pools_span(
        &self,
        date: Date,
        start_min: u16,
        with_referral: bool,
        now: Timestamp,
    ) -> crate::pools_cache::Span {
        let window = self.window_at(date, start_min);
        let quotas = &self.pol().channel_quotas;
        let instants = [window.public_opens_at, window.referral_opens_at, window.closes_at]
            .into_iter()
            .chain(quotas.iter().map(|q| window.quota_cut_off_at(q)));
        let mask = if now >= window.closes_at {
            0
        } else {
            let general = self.pool_order_in(&window, ChannelId(0), None, now).ok();
            let referral = if with_referral {
                self.pool_order_in(&window, ChannelId(0), Some(crate::model::Urgency::Urgent), now)
                    .ok()
            } else {
                None
            };
            let mut mask = 0u8;
            for order in [general, referral].into_iter().flatten() {
                for &p in order.as_slice() {
                    mask |= 1 << p as u8;
                }
            }
            mask
        };
        crate::pools_cache::Span::around(mask, now, instants)
    }

    /// Places a requester could take in `slot` right now.
    pub(crate) fn free_now(&self, slot: &Slot, with_referral: bool, now: Timestamp) -> u32 {
        let mask = self.requester_pools_at(slot.date(), slot.start_min, with_referral, now);
        slot.free_in(Pools::of_mask(mask).as_slice())
    }

    /// `free_now` within a query, its pools through the query's memo: a day whose slots
    /// answer differently is read slot by slot, and its slots share a few starts.
    pub(crate) fn free_now_memo(
        &self,
        slot: &Slot,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
    ) -> u32 {
        let mask = self.pools_mask_memo(slot.date(), slot.start_min, with_referral, now, memo);
        slot.free_in(Pools::of_mask(mask).as_slice())
    }

    /// The pools a requester may take now from *every* slot of a day, if they all answer
    /// alike; `None` when they do not (the caller asks slot by slot). The deadlines and
    /// roll-overs move with a slot's start, so the first and last slot (the list is in start
    /// order) bound the rest: if they agree, every slot between agrees.
    ///
    /// The pools of each (date, start) are remembered in `memo` within one query (a slot's
    /// window is a function of its date and start), and the many department-days of one
    /// query mostly share those.
    ///
    /// `date` is the list's date: with the starts the list keeps (`DayList::starts`), the
    /// answer is found, or computed, without reading a slot.
    fn day_pools_memo(
        &self,
        list: &DayList,
        date: Date,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
    ) -> Option<Pools> {
        if list.slots.is_empty() {
            return None;
        }
        // A slot's pools depend only on its date and start: no slot is read (the check pins
        // its own guard: a release build reads nothing here, and pins nothing).
        debug_assert!({
            let pin = &crossbeam_epoch::pin();
            [(list.slots.first(), list.starts.0), (list.slots.last(), list.starts.1)].iter().all(
                |(id, start)| {
                    id.and_then(|id| self.store.get_in(*id, pin))
                        .is_none_or(|s| (s.date(), s.start_min) == (date, *start))
                },
            )
        });
        self.pools_for_starts(date, list.starts, with_referral, now, memo)
    }

    /// `day_pools_memo` of a day of `date` whose slots start from `starts.0` to `starts.1`.
    #[inline]
    fn pools_for_starts(
        &self,
        date: Date,
        starts: (u16, u16),
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
    ) -> Option<Pools> {
        let key = PoolsMemo::day_key(date, starts, with_referral);
        let mask = match memo.days.get(key) {
            Some(mask) => mask,
            None => {
                let mask = self.day_pools_at(date, starts, with_referral, now);
                memo.days.put(key, mask);
                mask
            }
        };
        (mask != PoolsMemo::DIFFER).then(|| Pools::of_mask(mask))
    }

    /// `pools_for_starts`' bit set (`PoolsMemo::DIFFER` when the two starts answer
    /// differently), remembered on the thread across queries (`pools_cache`): the day's answer
    /// holds while both ends' do.
    #[inline]
    fn day_pools_at(
        &self,
        date: Date,
        starts: (u16, u16),
        with_referral: bool,
        now: Timestamp,
    ) -> u8 {
        let scope = self.pools_scope();
        crate::pools_cache::mask(scope, date, starts, with_referral, now, || {
            let first = self.requester_pools_span(date, starts.0, with_referral, now);
            let last = self.requester_pools_span(date, starts.1, with_referral, now);
            crate::pools_cache::Span {
                mask: if first.mask == last.mask { first.mask } else { PoolsMemo::DIFFER },
                from: first.from.max(last.from),
                until: first.until.min(last.until),
            }
        })
    }

    /// `requester_pools_at`'s bit set, through the query's memo.
    fn pools_mask_memo(
        &self,
        date: Date,
        start_min: u16,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
    ) -> u8 {
        let key = PoolsMemo::key(date, start_min, with_referral);
        memo.starts.get(key).unwrap_or_else(|| {
            let mask = self.requester_pools_at(date, start_min, with_referral, now);
            memo.starts.put(key, mask);
            mask
        })
    }

    /// What of the day of counters `counts` a requester's scan must read: `None` when the day
    /// has nothing free for them; else the day's list, where to start reading it (past the
    /// slots already closed when the day's slots answer differently, `open_part`, and past
    /// those its scan hint knows are full, `FreeHint`) and the pools every slot read answers
    /// with (`None`: ask slot by slot).
    ///
    /// Asked of the counters and the day's first and last start first (`DayCounts::starts`),
    /// so that a day with nothing free for the requester is passed over without reading its
    /// list — a cache miss saved per day on a city. Once a publication is done the starts are
    /// the list's, and the answer is the one the list gives; while one is under way the
    /// counters' starts may trail, and the list is asked instead.
    fn day_to_scan<'g>(
        &'g self,
        counts: u32,
        date: Date,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
        pin: &'g Guard,
    ) -> Option<DayScan<'g>> {
        let c = self.store.day_counts(counts);
        let starts = c.starts();
        let pools = self.pools_if_free(c, starts, date, with_referral, now, memo)?;
        self.scan_of(c, starts, pools, date, with_referral, now, memo, pin)
    }

    /// `day_to_scan` of a day whose counters `c` its caller has read and found free for the
    /// requester (`pools_if_free` gave `pools`).
    #[allow(clippy::too_many_arguments)]
    fn scan_of<'g>(
        &'g self,
        c: &'g DayCounts,
        starts: Option<(u16, u16)>,
        pools: Option<Pools>,
        date: Date,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
        pin: &'g Guard,
    ) -> Option<DayScan<'g>> {
        // The hint before the list (`DayCounts::hint`; a resource-day's stays 0).
        let hint = c.hint();
        let list = c.list(pin)?;
        let pools = if starts == Some(list.starts) {
            pools
        } else {
            match self.day_free_memo(list, date, with_referral, now, memo) {
                Some((0, _)) => return None,
                day => day.map(|(_, pools)| pools),
            }
        };
        let (open, pools) = match pools {
            Some(pools) => (0, Some(pools)),
            None => self.open_part(list, date, with_referral, now, memo, pin),
        };
        // A hint helps only a requester whose pools every slot read shares.
        let skip = pools.map_or(0, |pools| hint.skip(pools.mask()));
        let from = open.max(skip).min(list.slots.len());
        Some(DayScan { slots: &list.slots, from, pools, counts: c, hint })
    }

    /// `None` when a day's counters show nothing free for this requester; else the pools it may
    /// take from every slot of the day, when its first and last start (`starts`) agree on them.
    fn pools_if_free(
        &self,
        c: &DayCounts,
        starts: Option<(u16, u16)>,
        date: Date,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
    ) -> Option<Option<Pools>> {
        let pools = starts.and_then(|st| self.pools_for_starts(date, st, with_referral, now, memo));
        match pools {
            Some(p) if c.free_in(p.as_slice()) == 0 => None,
            _ => Some(pools),
        }
    }

    /// Free places of a whole day for a requester, from the index (see `day_pools_memo`), with
    /// the pools it was counted over; `None` when the day's slots do not answer alike.
    pub(crate) fn day_free_memo(
        &self,
        list: &DayList,
        date: Date,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
    ) -> Option<(u32, Pools)> {
        let pools = self.day_pools_memo(list, date, with_referral, now, memo)?;
        Some((self.store.day_counts(list.counts).free_in(pools.as_slice()), pools))
    }

    /// How many slots at the head of a day list of `date` (in start order) are closed to
    /// booking at `now`: a slot's closing time grows with its start, so the closed ones come
    /// first and a binary search finds them, reading a few slots rather than each, and
    /// comparing their starts with the day's last closed one (`last_closed_start`).
    pub(crate) fn closed_prefix(
        &self,
        ids: &[SlotId],
        date: Date,
        now: Timestamp,
        pin: &Guard,
    ) -> usize {
        let Some(last_closed) = self.last_closed_start(date, now) else { return 0 };
        ids.partition_point(|id| {
            self.store.get_in(*id, pin).is_some_and(|s| {
                let closed = s.start_min <= last_closed;
                debug_assert_eq!(closed, now >= self.window(s).closes_at, "{s:?} at {now:?}");
                closed
            })
        })
    }

    /// A day list whose slots answer differently (`day_pools_memo` gave `None`): the part
    /// not yet closed (`closed_prefix`), and the pools a requester may take from every slot of
    /// it if its first and last slot agree (they bound the rest, as in `day_pools_memo`), so
    /// that each slot needs only its counts; `None`: ask slot by slot.
    pub(crate) fn open_part(
        &self,
        list: &DayList,
        date: Date,
        with_referral: bool,
        now: Timestamp,
        memo: &mut PoolsMemo,
        pin: &Guard,
    ) -> (usize, Option<Pools>) {
        let closed = self.closed_prefix(&list.slots, date, now, pin);
        let pools =
            list.slots.get(closed).and_then(|id| self.store.get_in(*id, pin)).and_then(|first| {
                let starts = (first.start_min, list.starts.1);
                self.pools_for_starts(date, starts, with_referral, now, memo)
            });
        (closed, pools)
    }

    /// The answer's record of a free slot of `department` (which the caller knows: its query's
    /// or its candidate's, so that no slot's counters are read for it).
    pub(crate) fn free_slot(
        &self,
        id: SlotId,
        slot: &Slot,
        department: DepartmentId,
        free: u32,
    ) -> FreeSlot {
        self.answer_slot(Found::of(id, slot, free), department, self.institution_of(department))
    }

    /// A department's institution (`InstitutionId(u32::MAX)` for an unknown department: the
    /// callers hold departments the registry gave them).
    fn institution_of(&self, department: DepartmentId) -> InstitutionId {
        self.registry
            .department(department)
            .map(|d| d.institution)
            .unwrap_or(InstitutionId(u32::MAX))
    }

    /// The answer's record of a free place read from its slot (`Found`), with the parts the
    /// slot does not hold: its department and institution, and its start as an instant.
    fn answer_slot(
        &self,
        f: Found,
        department: DepartmentId,
        institution: InstitutionId,
    ) -> FreeSlot {
        FreeSlot {
            slot: f.slot,
            resource: f.resource,
            department,
            institution,
            date: f.date,
            start_min: f.start_min,
            end_min: f.end_min,
            free: f.free,
            starts_at: self.local(f.date, f.start_min),
        }
    }

    /// Departments a query covers.
    fn query_departments(&self, q: &AvailabilityQuery) -> Result<Vec<DepartmentId>> {
        if let Some(d) = q.department {
            self.registry.department(d)?;
            return Ok(vec![d]);
        }
        let specialty = match &q.specialty {
            Some(s) => Some(
                self.registry
                    .find_specialty(s)
                    .ok_or_else(|| Error::invalid(format!("unknown specialty {s:?}")))?,
            ),
            None => None,
        };
        let district = match &q.district {
            Some(s) => Some(
                self.registry
                    .find_district(s)
                    .ok_or_else(|| Error::invalid(format!("unknown district {s:?}")))?,
            ),
            None => None,
        };
        if let Some(i) = q.institution {
            self.registry.institution(i)?;
        }
        let keep = |d: &crate::model::Department| {
            let Ok(inst) = self.registry.institution(d.institution) else { return false };
            specialty.is_none_or(|s| s == d.specialty)
                && district.is_none_or(|x| x == inst.district)
                && q.institution.is_none_or(|i| i == d.institution)
                && q.tier.is_none_or(|t| t == inst.tier)
        };
        if let (Some(s), Some(x)) = (specialty, district) {
            let ids = self
                .registry
                .by_specialty_district
                .get(&(s, x))
                .map(|l| l.departments.clone())
                .unwrap_or_default();
            return Ok(ids
                .into_iter()
                .filter(|d| self.registry.department(*d).is_ok_and(keep))
                .collect());
        }
        Ok(self.registry.departments.iter().filter(|(_, d)| keep(d)).map(|(_, d)| d.id).collect())
    }

    /// Recount the availability index (free places per pool, places taken and capacity of
    /// every department-day and resource-day) from the slots themselves and compare. The index
    /// is kept on every claim, release and close, and may trail a racing claim for a moment;
    /// once operations quiesce it must equal the recount. O(slots): for tests and for an
    /// operator's health check, not for a request path. `Err` names the first day that differs.
    ///
    /// ```
    /// use haoyuan::*;
    /// let engine = Engine::new(EngineConfig::default()).unwrap();
    /// assert!(engine.check_availability_index().is_ok());
    /// ```
    pub fn check_availability_index(&self) -> std::result::Result<(), String> {
        let groups = |d| {
            self.registry.department_group(d).unwrap_or((
                SpecialtyId(u32::MAX),
                DistrictId(u32::MAX),
                u32::MAX,
            ))
        };
        self.store.check_index(&groups)
    }

    /// Free slots matching the query, earliest first, at most `limit`.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// // Every free slot of the department that day, earliest first.
    /// let free = engine.find_free_slots(&AvailabilityQuery::department(paediatrics, day, day))?;
    /// assert_eq!((free.len(), free[0].slot, free[0].free), (1, slots.start, 2));
    /// // Or by specialty and district, across institutions.
    /// let mut q = AvailabilityQuery::default();
    /// (q.specialty, q.district, q.date_from, q.date_to) = (Some("paediatrics".into()), Some("Guancheng".into()), day, day);
    /// assert_eq!(engine.find_free_slots(&q)?.len(), 1);
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn find_free_slots(&self, q: &AvailabilityQuery) -> Result<Vec<FreeSlot>> {
        let pin = &crossbeam_epoch::pin();
        self.check_range(q.date_from, q.date_to)?;
        if let Some(t) = q.time {
            t.check()?;
        }
        if q.limit == 0 || q.limit > QUERY_LIMIT_MAX {
            return Err(Error::invalid(format!(
                "limit {} must be 1 ..= {QUERY_LIMIT_MAX}",
                q.limit
            )));
        }
        let now = self.now();
        let mut out = Vec::new();
        let resource_dept = match q.resource {
            Some(r) => Some(self.registry.resource(r)?.department),
            None => None,
        };
        // One department (a department's or a resource's query) without a vector.
        let (one, many);
        let departments: &[DepartmentId] = match (resource_dept, q.department) {
            (Some(d), _) => {
                one = d;
                std::slice::from_ref(&one)
            }
            (None, Some(d)) => {
                self.registry.department(d)?;
                one = d;
                std::slice::from_ref(&one)
            }
            (None, None) => {
                many = self.query_departments(q)?;
                &many
            }
        };
        let mut memo = PoolsMemo::default();
        let mut date = q.date_from;
        while date <= q.date_to && out.len() < q.limit as usize {
            let wanted = q.limit as usize - out.len();
            let day_from = out.len();
            // Lists that gave a free slot: one list gives its answer in its own order, which
            // is (start, id) (`SlotStore::index`), and needs no sort.
            let mut lists_found = 0u32;
            // `pools`: what the requester may take from every slot of the day, when known.
            // A day list is in start order, and the day's answer is its first `wanted` by
            // (start, id): once a list has given `wanted` free slots, its slots that start
            // later cannot be among them, and the scan of that list stops.
            let mut scan = |day_scan: &DayScan,
                            (department, institution): (DepartmentId, InstitutionId),
                            memo: &mut PoolsMemo| {
                let (mut found, mut last_start) = (0usize, 0u16);
                // What the scan learns of the day's head of full slots (its hint may move).
                let mut head = ReadHead::default();
                // Room for what the day can give at most, once (not doubling as it fills).
                out.reserve(day_scan.slots.len().saturating_sub(day_scan.from).min(wanted));
                for (i, id) in day_scan.to_read() {
                    let Some(s) = self.store.get_in(id, pin) else {
                        head.ends_at(i);
                        continue;
                    };
                    head.read(s.start_min);
                    if found >= wanted && s.start_min > last_start {
                        break;
                    }
                    if q.resource.is_some_and(|r| r != s.resource)
                        || q.time.is_some_and(|t| !t.contains_start(s.start_min))
                    {
                        head.ends_at(i);
                        continue;
                    }
                    let free = match day_scan.pools {
                        Some(p) => s.free_in(p.as_slice()),
                        None => self.free_now_memo(s, q.with_referral, now, memo),
                    };
                    if free > 0 {
                        head.ends_at(i);
                        out.push(self.answer_slot(Found::of(id, s, free), department, institution));
                        found += 1;
                        last_start = s.start_min;
                    }
                }
                day_scan.read_full_until(head);
                lists_found += (found > 0) as u32;
            };
            // A day with nothing free for this requester is skipped without reading a slot.
            // Nor its list read, when its counters tell (`day_to_scan`).
            let mut scan_day = |counts: u32, department: DepartmentId, memo: &mut PoolsMemo| {
                if let Some(day_scan) =
                    self.day_to_scan(counts, date, q.with_referral, now, memo, pin)
                {
                    // Once per day scanned, not per free slot answered.
                    scan(&day_scan, (department, self.institution_of(department)), memo)
                }
            };
            match q.resource {
                Some(r) => {
                    // The resource-day's counters say whether it may have a free place; its
                    // slots are its department-day's (filtered by `scan`: a resource-day keeps
                    // no list of its own).
                    if let Some(counts) = self.store.resource_day_counts(r, date) {
                        let c = self.store.day_counts(counts);
                        let (w, starts) = (q.with_referral, c.starts());
                        if self.pools_if_free(c, starts, date, w, now, &mut memo).is_some() {
                            // `departments` is the resource's department alone.
                            scan_day(c.placed().1, departments[0], &mut memo);
                        }
                    }
                }
                None => {
                    for d in departments {
                        if let Some(counts) = self.store.department_day_counts(*d, date) {
                            scan_day(counts, *d, &mut memo);
                        }
                    }
                }
            }
            // The day's free slots (pushed after the days before) in (start, id) order, and
            // the first of them kept: one vector for the answer, no second one per query.
            // From one list they are in that order already.
            if lists_found > 1 {
                out[day_from..].sort_unstable_by_key(|f| (f.start_min, f.slot));
            }
            debug_assert!(out[day_from..].is_sorted_by_key(|f| (f.start_min, f.slot)));
            out.truncate(q.limit as usize);
            date = date.plus_days(1);
        }
        Ok(out)
    }

    /// Free and total places of a department for each day of a range.
    pub fn free_places_by_day(
        &self,
        department: DepartmentId,
        date_from: Date,
        date_to: Date,
    ) -> Result<Vec<DayAvailability>> {
        self.registry.department(department)?;
        self.check_range(date_from, date_to)?;
        let now = self.now();
        // One pin and one pools memo for the whole range; the answer's size is known.
        let pin = &crossbeam_epoch::pin();
        let mut memo = PoolsMemo::default();
        let days = (date_to.0 - date_from.0 + 1) as usize;
        let mut out = Vec::with_capacity(days);
        // Three passes over each run of up to `BY_DAY_RUN` days: the first asks for each
        // day's index entry (`prefetch`), the second reads them and asks for the counters'
        // lines, the third reads those — on a province each entry and each counter is a miss
        // to memory, and the run's asked for together overlap instead of following one
        // another. The run's counters wait on the stack: a vector for them was an allocation
        // and a free per call, ~8% of a 14-day answer's instructions.
        const BY_DAY_RUN: usize = 32;
        for run_from in (0..days).step_by(BY_DAY_RUN) {
            let run = (days - run_from).min(BY_DAY_RUN);
            let date_of = |i: usize| date_from.plus_days((run_from + i) as i32);
            for i in 0..run {
                self.store.prefetch_department_day(department, date_of(i));
            }
            let mut counts = [None::<u32>; BY_DAY_RUN];
            for (i, slot) in counts[..run].iter_mut().enumerate() {
                *slot = self.store.department_day_counts(department, date_of(i));
                if let Some(c) = *slot {
                    crate::sync::prefetch(self.store.day_counts(c));
                }
            }
            for (i, c) in counts[..run].iter().enumerate() {
                let date = date_of(i);
                let (free, places) =
                    c.map_or((0, 0), |c| self.day_free_of(c, date, now, pin, &mut memo));
                out.push(DayAvailability { date, free, places });
            }
        }
        debug_assert_eq!(out.len(), days);
        Ok(out)
    }

    /// A department-day's free places for a member of the public at `now`, and its places.
    pub(crate) fn department_day_free(
        &self,
        department: DepartmentId,
        date: Date,
        now: Timestamp,
    ) -> (u32, u32) {
        let pin = &crossbeam_epoch::pin();
        self.department_day_free_in(department, date, now, pin, &mut PoolsMemo::default())
    }

    /// `department_day_free` under the caller's guard and memo (a range of days).
    fn department_day_free_in(
        &self,
        department: DepartmentId,
        date: Date,
        now: Timestamp,
        pin: &Guard,
        memo: &mut PoolsMemo,
    ) -> (u32, u32) {
        match self.store.department_day_counts(department, date) {
            Some(counts) => self.day_free_of(counts, date, now, pin, memo),
            None => (0, 0),
        }
    }

    /// `department_day_free_in` of the department-day whose counters are `counts`.
    fn day_free_of(
        &self,
        counts: u32,
        date: Date,
        now: Timestamp,
        pin: &Guard,
        memo: &mut PoolsMemo,
    ) -> (u32, u32) {
        let c = self.store.day_counts(counts);
        // From the counters and the day's first and last start alone where the day's slots
        // answer alike (the list is not read); else slot by slot. Asked of the thread's cache
        // alone, not of a query's memo: the days of a by-day answer are all different dates.
        let from_counts = c
            .starts()
            .map(|starts| self.day_pools_at(date, starts, false, now))
            .filter(|&mask| mask != PoolsMemo::DIFFER)
            .map(|mask| c.free_in(Pools::of_mask(mask).as_slice()));
        let free = from_counts.unwrap_or_else(|| {
            self.store.day_list(counts, pin).map_or(0, |list| {
                list.slots
                    .iter()
                    .filter_map(|id| self.store.get_in(*id, pin))
                    .map(|s| self.free_now_memo(s, false, now, memo))
                    .sum()
            })
        });
        // Places after free: a racing publication adds to the places before the free places
        // (`SlotStore::charge_run`), and places never shrink, so the answer never shows more
        // free places than places.
        let places = c.places.load(Ordering::Acquire);
        (free, places)
    }

    /// Other institutions' departments of the same specialty and district with free places in
    /// the range, ranked by earliest free place, then by the load of that place's day (least
    /// booked first), so that a crowd asking for the same morning spreads over the clinics
    /// that open at the same time.
    ///
    /// Walks the range day by day over the group-day sets (`store::GroupDay`): only departments
    /// with a free place that day are looked at. A department found on a day has its earliest
    /// free place that day, so once `limit` are found no later day can rank among them and the
    /// walk stops: the cost follows the answer, not the size of the district.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// // A second hospital of the district with paediatrics.
    /// let other = engine.add_institution("Dongguan Children's Hospital", Tier::Tertiary, "Guancheng")?;
    /// let other_paed = engine.add_department(other, "paediatrics", "Paediatrics")?;
    /// let dr_li = engine.add_resource(other_paed, ResourceKind::Doctor, "Dr Li", false)?;
    /// engine.publish_slots(&[SlotSpec { resource: dr_li, date: day, start_min: 540, end_min: 570, capacity: 3 }])?;
    /// // Dr Chen is full: where else is a place that day?
    /// for _ in 0..2 {
    ///     engine.book(&Request::new(engine.register_patient()?, slots.start, app))?;
    /// }
    /// let alternatives = engine.alternatives(paediatrics, day, day, 5)?;
    /// assert_eq!(alternatives.len(), 1);
    /// assert_eq!((alternatives[0].department, alternatives[0].earliest.start_min), (other_paed, 540));
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn alternatives(
        &self,
        department: DepartmentId,
        date_from: Date,
        date_to: Date,
        limit: u32,
    ) -> Result<Vec<Alternative>> {
        ALTERNATIVES_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                let answer =
                    self.alternatives_in(&mut scratch, department, date_from, date_to, limit);
                if scratch.oversized() {
                    *scratch = AlternativesScratch::default();
                }
                answer
            }
            // Never nested today; should a call ever run inside another on one thread, it
            // works on vectors of its own.
            Err(_) => self.alternatives_in(
                &mut AlternativesScratch::default(),
                department,
                date_from,
                date_to,
                limit,
            ),
        })
    }

    /// `alternatives` on working vectors `scratch` (cleared here, whatever a call before left).
    fn alternatives_in(
        &self,
        scratch: &mut AlternativesScratch,
        department: DepartmentId,
        date_from: Date,
        date_to: Date,
        limit: u32,
    ) -> Result<Vec<Alternative>> {
        scratch.clear();
        let AlternativesScratch {
            seen,
            call,
            found,
            pending: pending_kept,
            candidates,
            order,
            best,
            ranked,
        } = scratch;
        // A day's pending members hold their counters by reference, found once in the first
        // pass and read in the second (a second lookup was ~20 instructions a member): a
        // vector of this call's lifetime in the kept one's allocation, given back at the end.
        let mut pending: Vec<(u32, DepartmentId, &DayCounts)> =
            recycle(std::mem::take(pending_kept));
        let call = *call;
        let pin = &crossbeam_epoch::pin();
        self.check_range(date_from, date_to)?;
        if limit == 0 || limit > QUERY_LIMIT_MAX {
            return Err(Error::invalid(format!("limit {limit} must be 1 ..= {QUERY_LIMIT_MAX}")));
        }
        let home = self.registry.department(department)?;
        let (specialty, district, _) = self.registry.department_group(department)?;
        // The group's departments in member order (a read guard: departments join rarely).
        let Some(members) = self.registry.by_specialty_district.get(&(specialty, district)) else {
            return Ok(Vec::new());
        };
        let days = (date_to.0 - date_from.0 + 1) as usize;
        let now = self.now();
        let mut memo = PoolsMemo::default();
        // Per member: found by this call (its stamp). Room for every member of the group.
        if seen.len() < members.departments.len() {
            seen.resize(members.departments.len(), 0);
        }
        let by_wait = self.pol().board.rank_alternatives == AlternativesRank::ExpectedWait;
        // The one date whose places rank by their expected wait (`expected_wait_for`, at the
        // same `now`): on every other date the wait is 0.
        let wait_date = by_wait.then(|| self.local_session(now).0);
        // Today, and the minute of day now: a slot of today starting at or before it has closed
        // (booking closes at the start at the latest).
        let (today, now_min) = now.to_local(self.utc_offset_s);
        // A day's candidates (`candidates`, `pending`) and the order they are read in
        // (`order`, see below) are reused from day to day. `best` holds the best `limit − found
        // before the day` keys (start, load, member) found on the day: a max-heap, so that its
        // top is the key a later candidate must beat.
        for i in 0..days {
            if found.len() >= limit as usize {
                break;
            }
            let date = date_from.plus_days(i as i32);
            // Each day's group-day looked up when the walk reaches it (a hashed lookup and a
            // shard lock each): the walk mostly stops within a day or two of a week's range.
            // A day whose every slot has closed has nothing to offer, and is passed over
            // without looking at a member: a day before today, or today once the clock is past
            // the group-day's latest start (booking closes at a slot's start at the latest).
            // On a simulated city a third of the members looked at were on such days: today,
            // after the clinics' sessions.
            if date < today {
                continue;
            }
            let Some(g) = self.store.by_group_day.get(&(specialty, district, date)).map(|g| *g)
            else {
                continue;
            };
            let gd = self.store.group_day(g);
            if date == today && gd.last_start() <= now_min {
                continue;
            }
            // Two passes over the day's free members: the first asks for every counter line it
            // will read (`prefetch`), the second reads them. On a
            // province each is a miss to memory, and asked for together they overlap rather
            // than follow one another.
            pending.clear();
            for m in gd.free_members() {
                let Some(&d) = members.departments.get(m as usize) else { continue };
                // Found already, or of the home institution (never offered). The group keeps
                // each member's institution beside it, so that telling them apart reads no
                // department record.
                if seen[m as usize] == call || members.institutions[m as usize] == home.institution
                {
                    continue;
                }
                let Some(counts) = gd.counts(m) else { continue };
                let c = self.store.day_counts(counts);
                crate::sync::prefetch(c);
                pending.push((m, d, c));
            }
            // The pools a public requester may take on this date, if every start of the day
            // answers alike (the roll-overs and deadlines move with the start, so minute 0 and
            // the day's last minute bound the rest, as a day's first and last slot do): then no
            // candidate asks the memo for its own starts. Mostly so on the days after today.
            let date_pools = self.pools_for_starts(date, (0, LAST_MINUTE), false, now, &mut memo);
            candidates.clear();
            // Otherwise (today, the day the window opens) each candidate's own first and last
            // start decide; the clinics of a district mostly share their session hours, so the
            // last pair asked is kept beside the memo and mostly answers (one compare, where
            // the memo's lookup cost ~95 instructions: 4% of a simulated city's).
            let mut last_asked: Option<((u16, u16), Option<Pools>)> = None;
            // Today, the slots starting after this minute answer alike if its pools are the
            // last minute's (the two bound the starts between), and those before it have
            // closed: then a candidate whose own starts differ (its morning closed) is still
            // passed over with nothing free in those pools, and its hint still bounds where
            // its free places begin. Today's days are where the city's mornings are booked.
            let open_from = now_min + 1;
            let open_pools = (date_pools.is_none() && date == today && open_from <= LAST_MINUTE)
                .then(|| {
                    self.pools_for_starts(date, (open_from, LAST_MINUTE), false, now, &mut memo)
                })
                .flatten();
            for (at, &(m, d, c)) in pending.iter().enumerate() {
                // The set holds any pool's free place; this requester's pools decide, from the
                // counters alone where they can (`pools_if_free`, as `day_to_scan` does).
                let starts = c.starts();
                let pools = match (starts, date_pools) {
                    (Some(_), Some(p)) => {
                        debug_assert!(starts
                            .and_then(|st| self.pools_for_starts(date, st, false, now, &mut memo))
                            .is_some_and(|q| q.mask() == p.mask()));
                        Some(p)
                    }
                    (Some(st), None) => match last_asked {
                        Some((asked, pools)) if asked == st => pools,
                        _ => {
                            let pools = self.pools_for_starts(date, st, false, now, &mut memo);
                            last_asked = Some((st, pools));
                            pools
                        }
                    },
                    (None, _) => None,
                };
                // The pools of every slot that may have a place for this requester, and the
                // first start such a slot can have.
                let first = starts.map_or(0, |(first, _)| first);
                let open = match pools {
                    Some(p) => Some((p, first)),
                    None => open_pools.map(|p| (p, first.max(open_from))),
                };
                // Nothing free for this requester (`pools_if_free`). The counters count the
                // places of every slot whose booking has closed too: none is passed over
                // that has a place.
                if open.is_some_and(|(p, _)| c.free_in(p.as_slice()) == 0) {
                    continue;
                }
                // The load of the day offered, from the same cache line (a load over the whole
                // range cost a line a day for every candidate tied at the cut: ~40% of a call's
                // misses on a city 70% booked).
                let places = c.places.load(Ordering::Acquire);
                let load =
                    if places == 0 { 0.0 } else { (c.taken() as f32 / places as f32).min(1.0) };
                debug_assert!((0.0..=1.0).contains(&load) && load.is_sign_positive());
                // Where its free places can begin: the day's first open start, or later where
                // the day's hint knows a head of full slots (read from the same line).
                let bound = open.map_or(first, |(p, from)| {
                    from.max(c.department_day_hint().start_bound(p.mask()))
                });
                candidates.push(Candidate {
                    member: m,
                    department: d,
                    pending: at as u32,
                    starts,
                    pools,
                    load,
                    bound,
                });
            }
            // Which candidates' lists to read. A day's key is (start, load, member) — the wait
            // is 0 but under `ExpectedWait` — and a candidate's `bound` (the day's first start,
            // or its hint's) is no later than its earliest free start, so (bound, load, member)
            // is a bound below its key. Read in the order of those bounds, the candidates can
            // stop once the day has given the places still wanted with keys all below the next
            // candidate's bound: no candidate after it can rank before them. A district whose
            // clinics open at the same hour reads the lists of about `limit` of its candidates,
            // not of all of them; once the mornings are booked, the hints' starts keep it so.
            // Under `ExpectedWait` the wait breaks the bound on today's date, where every
            // candidate is read; on the other dates the wait is 0 and the bound holds.
            // A day of more candidates than a key can number (`DAY_KEY_K_BITS`) is read whole,
            // as the day whose wait breaks the bound is: slower, and the same answer.
            let prune = wait_date != Some(date) && candidates.len() < 1 << DAY_KEY_K_BITS;
            // A key in one machine word, whose order is the tuple's: a comparison of two is one
            // instruction, and a day's candidates are sorted by it. From the top: the start (16
            // bits), the load (a float in 0 ..= 1, never negative or NaN, whose bits order as
            // it does and fit in 30), then the candidate's number on the day. That number stands
            // for its member number: candidates come in member order (the free set's), so the
            // two order alike; and it finds the candidate again (`order` holds the keys alone).
            // Read whole, a day's `order` holds the numbers alone, in member order.
            let key = |start: u16, load: f32, k: u32| {
                debug_assert!(load.to_bits() < 1 << 30 && k < 1 << DAY_KEY_K_BITS);
                (start as u64) << 48 | (load.to_bits() as u64) << DAY_KEY_K_BITS | k as u64
            };
            order.clear();
            if prune {
                order.extend(
                    candidates.iter().enumerate().map(|(k, c)| key(c.bound, c.load, k as u32)),
                );
                order.sort_unstable();
            } else {
                order.extend(0..candidates.len() as u64);
            }
            let wanted = limit as usize - found.len();
            best.clear();
            for (n, &bound) in order.iter().enumerate() {
                let k =
                    if prune { (bound & ((1 << DAY_KEY_K_BITS) - 1)) as u32 } else { bound as u32 };
                let Candidate {
                    member: m, department: d, pending: at, starts, pools, load, ..
                } = candidates[k as usize];
                let c = pending[at as usize].2;
                let Some(day_scan) =
                    self.scan_of(c, starts, pools, date, false, now, &mut memo, pin)
                else {
                    continue;
                };
                // Its earliest free place: read slot by slot, only up to the first free one
                // (past the closed ones and the known full ones: `day_to_scan`).
                let mut head = ReadHead::default();
                let earliest = day_scan.to_read().find_map(|(i, id)| {
                    let Some(s) = self.store.get_in(id, pin) else {
                        head.ends_at(i);
                        return None;
                    };
                    head.read(s.start_min);
                    let free = match day_scan.pools {
                        Some(pools) => s.free_in(pools.as_slice()),
                        None => self.free_now_memo(s, false, now, &mut memo),
                    };
                    (free > 0).then(|| {
                        head.ends_at(i);
                        Found::of(id, s, free)
                    })
                });
                day_scan.read_full_until(head);
                let Some(earliest) = earliest else { continue };
                seen[m as usize] = call;
                found.push((m, d, earliest, load));
                if !prune {
                    continue;
                }
                best.push(key(earliest.start_min, load, k));
                if best.len() > wanted {
                    best.pop();
                }
                let next_bound = order.get(n + 1).copied();
                if best.len() == wanted && next_bound.is_some_and(|b| best.peek() < Some(&b)) {
                    break;
                }
            }
        }
        drop(members);
        *pending_kept = recycle(pending);
        // Ranked by (earliest date, expected wait, earliest start), then load, then member
        // order. Under `AlternativesRank::ExpectedWait` a place today ranks by its session's
        // expected wait before its start (`wait` is 0 otherwise, and for the days after today).
        // Each key is packed into one integer whose order is the key's, so that a comparison is
        // one or two instructions (the tuples it replaced cost tens): from the top, the day
        // within the range (under 366, `check_range`), the wait, the start, the load (a float in
        // 0 ..= 1, never negative or NaN: its bits order as it does), then the member number —
        // unique, so no two keys are equal, and the unstable sorts give the order a stable one
        // would. The candidate's number in `found` rides along. Nor is more sorted than kept: a
        // district may offer a hundred candidates for five places, and a selection (linear)
        // finds the few kept before they are sorted, and only they get their answer record
        // (`FreeSlot`: a registry lookup and a clock conversion).
        ranked.extend(found.iter().enumerate().map(|(i, (m, d, f, load))| {
            let wait =
                if by_wait { self.expected_wait_for(*d, f.date, f.start_min, now) } else { 0 };
            let day = (f.date.0 - date_from.0) as u16;
            let rank = (day as u128) << 112
                | (wait as u128) << 80
                | (f.start_min as u128) << 64
                | (load.to_bits() as u128) << 32
                | *m as u128;
            (rank, i as u32)
        }));
        if ranked.len() > limit as usize {
            ranked.select_nth_unstable(limit as usize - 1);
            ranked.truncate(limit as usize);
        }
        ranked.sort_unstable();
        let mut out = Vec::with_capacity(ranked.len());
        for &(_, i) in ranked.iter() {
            let (_, d, f, load) = found[i as usize];
            let dep = self.registry.department(d)?;
            let tier = self.registry.institution(dep.institution)?.tier;
            let earliest = self.answer_slot(f, d, dep.institution);
            out.push(Alternative {
                department: d,
                institution: dep.institution,
                tier,
                earliest,
                load,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pools a requester may take, as remembered across queries (`pools_cache`), are the
    /// pools computed afresh, at every instant around a slot's window (each of its instants,
    /// a second either side, and every half hour between), for several starts of a day, with
    /// and without a referral, under policies with and without a closing the day before, two
    /// channel quotas and the referral pool's roll-over; with a second engine asking the same
    /// dates on the same thread, and a policy change in the middle. And each span holds from
    /// its first instant to its last: the fresh answer there is the same.
    #[test]
    fn remembered_pools_are_the_pools_computed_afresh() {
        use crate::policy::{ChannelQuota, Policy};
        use crate::EngineConfig;
        let policy = |close: Option<u16>, rollover: bool| {
            let mut p = Policy::default();
            p.window.open_days_ahead = 7;
            p.window.release_at_min = 8 * 60;
            p.window.close_day_before_at_min = close;
            p.referral.open_days_ahead = 14;
            p.referral.rollover_at_public_open = rollover;
            p.channel_quotas = vec![
                ChannelQuota {
                    channels: vec!["kiosk".into()],
                    share: 0.2,
                    cutoff_hours_before_start: 24,
                },
                ChannelQuota {
                    channels: vec!["phone".into()],
                    share: 0.1,
                    cutoff_hours_before_start: 2,
                },
            ];
            p
        };
        let engine = |p: Policy| {
            let config =
                EngineConfig { policy: p, utc_offset_s: 8 * 3600, ..EngineConfig::default() };
            Engine::with_manual_clock(config, Timestamp(0)).expect("engine")
        };
        let a = engine(policy(Some(18 * 60), false));
        let b = engine(policy(None, true));
        let date = Date(20_000);
        let starts = [0u16, 60, 480, 481, 720, 1_439];
        let mut instants = Vec::new();
        for e in [&a, &b] {
            for &st in &starts {
                let w = e.window_at(date, st);
                instants.extend([w.public_opens_at, w.referral_opens_at, w.closes_at, w.starts_at]);
                for h in [24i64, 2] {
                    instants.push(w.starts_at.plus_s(-h * 3600));
                }
            }
        }
        let first = instants.iter().min().expect("instants").plus_s(-86_400);
        let last = instants.iter().max().expect("instants").plus_s(86_400);
        let mut nows: Vec<Timestamp> = (0..)
            .map(|k| first.plus_s(k * 1_800))
            .take_while(|t| *t <= last)
            .chain(instants.iter().flat_map(|t| [t.plus_s(-1), *t, t.plus_s(1)]))
            .collect();
        nows.sort();
        // Every answer of `engines` at every instant, `change` applied (a policy change) an
        // hour after the public opening: where the two policies answer differently (the
        // referral pool rolled over or not) and the answers remembered still hold.
        let change_at = a.window_at(date, 480).public_opens_at.plus_s(3_600);
        // (answers checked, how many were remembered).
        let check = |engines: &[&Engine], change: Option<(&Engine, Policy)>| {
            let misses = crate::pools_cache::MISSES.with(|m| m.get());
            let mut change = change;
            let mut checked = 0u64;
            for &now in &nows {
                if now >= change_at {
                    if let Some((e, p)) = change.take() {
                        e.set_policy(p).expect("policy change");
                    }
                }
                for e in engines {
                    for &st in &starts {
                        for referral in [false, true] {
                            let fresh = e.requester_pools_span(date, st, referral, now);
                            assert_eq!(
                                e.requester_pools_at(date, st, referral, now),
                                fresh.mask,
                                "start {st}, referral {referral}, at {now:?}"
                            );
                            for edge in [fresh.from, fresh.until.plus_s(-1)] {
                                if edge != Timestamp(i64::MIN) && edge != Timestamp(i64::MAX - 1) {
                                    let there = e.requester_pools_span(date, st, referral, edge);
                                    assert_eq!(
                                        there.mask, fresh.mask,
                                        "span {fresh:?} at {edge:?}"
                                    );
                                }
                            }
                            checked += 1;
                        }
                    }
                    // A whole day between two starts: their pools if the two agree, else
                    // none (`pools_for_starts`, through a query's memo made afresh).
                    for (i, &first) in starts.iter().enumerate() {
                        for &last in &starts[i..] {
                            for referral in [false, true] {
                                let ends = [first, last]
                                    .map(|st| e.requester_pools_span(date, st, referral, now).mask);
                                let day = e
                                    .pools_for_starts(
                                        date,
                                        (first, last),
                                        referral,
                                        now,
                                        &mut PoolsMemo::default(),
                                    )
                                    .map(|p| p.mask());
                                assert_eq!(
                                    day,
                                    (ends[0] == ends[1]).then_some(ends[0]),
                                    "{first}..{last} at {now:?}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
            let computed = crate::pools_cache::MISSES.with(|m| m.get()) - misses;
            (checked, checked - computed)
        };
        // One engine alone, its policy changed: most answers are remembered.
        let (checked, remembered) = check(&[&a], Some((&a, policy(None, true))));
        assert!(checked > 5_000 && remembered > checked / 2, "{remembered} of {checked}");
        // Two engines of different policies asking alike, one after the other.
        let c = engine(policy(Some(18 * 60), false));
        let (checked, _) = check(&[&b, &c], None);
        assert!(checked > 10_000, "{checked} answers checked");
        // The same, and its answers remembered, without the other engine in between.
        let (checked, remembered) = check(&[&c], None);
        assert!(remembered > checked / 2, "{remembered} of {checked}");
    }

    /// A day's last closed start (`last_closed_start`) tells the closed slots as each slot's
    /// window does, at every minute around the day, with and without a closing the day
    /// before, east and west of UTC.
    #[test]
    fn the_last_closed_start_is_where_the_windows_close() {
        use crate::policy::Policy;
        use crate::EngineConfig;
        let mut checked = 0;
        for close in [None, Some(0), Some(18 * 60), Some(1_439)] {
            for offset in [8 * 3600, -5 * 3600 - 1800, 0] {
                let mut policy = Policy::default();
                policy.window.close_day_before_at_min = close;
                let config =
                    EngineConfig { policy, utc_offset_s: offset, ..EngineConfig::default() };
                let e = Engine::with_manual_clock(config, Timestamp(0)).expect("engine");
                let date = Date(20_000);
                let midnight = e.local(date, 0);
                for now in (-2 * 1_440..2 * 1_440).map(|m| midnight.plus_s(m * 60 - 30 + m % 61)) {
                    let last = e.last_closed_start(date, now);
                    for start in (0..1_440u16).step_by(7).chain([1_439]) {
                        let closed = now >= e.window_at(date, start).closes_at;
                        assert_eq!(
                            closed,
                            last.is_some_and(|l| start <= l),
                            "{close:?} {offset} {now:?} {start}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1_000_000);
    }

    /// `alternatives` counts on `recycle` keeping the allocation of its `pending` vector: a
    /// new one would be an allocation and a free per call.
    #[test]
    fn recycle_keeps_the_allocation() {
        let kept: Vec<(u32, DepartmentId, usize)> = Vec::with_capacity(100);
        let at = kept.as_ptr() as usize;
        let pending: Vec<(u32, DepartmentId, &crate::store::DayCounts)> = recycle(kept);
        assert_eq!((pending.as_ptr() as usize, pending.capacity() >= 100), (at, true));
        let back: Vec<(u32, DepartmentId, usize)> = recycle(pending);
        assert_eq!(back.as_ptr() as usize, at);
    }

    /// A thread's `alternatives` scratch forgets the members one call found when the next
    /// begins — by a new stamp, without clearing — and wholly when the stamps wrap around.
    #[test]
    fn alternatives_scratch_forgets_what_a_call_found() {
        let mut s = AlternativesScratch::default();
        s.clear();
        assert_eq!(s.call, 1, "0 means never found: no call uses it");
        s.seen = vec![0, 1, 1]; // members 1 and 2 found by the first call
        s.clear();
        assert!(s.seen.iter().all(|&stamp| stamp != s.call));
        s.call = u32::MAX;
        s.seen = vec![1, u32::MAX, 0];
        s.clear();
        assert_eq!((s.call, &s.seen[..]), (1, &[0, 0, 0][..]));
    }
}
