//! Where slots live and how they are found.
//!
//! Slots sit in an append-only vector of fixed-size chunks (`chunked.rs`): a `SlotId` is an
//! index, reading a slot is lock-free (under an epoch guard: `SlotRef`, `get_in`), and a slot
//! never moves. Each department-day lists its slot ids in start order; a resource-day's slots
//! are read from its department-day's list (the slots name their resource-day). Department-days
//! and resource-days are found through tables by date and id (`day_index.rs`), which change
//! only when slots are published or their day is retired.
//!
//! The availability index: every department-day and resource-day has counters of its free
//! places per pool (`DayCounts`), and every (specialty, district, date) a bit set of the
//! departments that still have a free place (`GroupDay`), both kept by the functions below that
//! change a slot's counter — so queries read counters and sets instead of scanning slots.
//!
//! The *day log* records, per visit date, which patient tried to take a place in which slot. It
//! is appended under the patient's lock *before* the slot claim, which is what lets a provider
//! suspension find every booking of a session without a global booking map: any claim that won
//! before the slot was closed appended its entry first (see `Engine::suspend_session`).
//!
//! *Retention* (`retire`) retires whole days: a retired day's slots are unreachable at once
//! (every read checks the first date kept), its entries leave the indexes and the day log, and
//! its memory follows once no reader can hold it — slot chunks freed, day counters and
//! group-days reused, both after the epoch's grace period.

use crate::chunked::{ChunkedVec, CHUNK};
use crate::day_index::{DateSlots, DayIndex};
pub(crate) use crate::day_list::DayList;
use crate::day_log::{DayLog, DAY_LOG_MAX};
use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::Pool;
use crate::slot::{ClaimError, Slot};
use crate::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use crate::time::Date;
use crossbeam_epoch::Guard;
use rayon::prelude::*;
use std::sync::Arc;

/// Most slots in one engine (ids are u32).
pub const SLOTS_MAX: usize = u32::MAX as usize - 1;

/// From this many department-days touched, a publication builds their lists in parallel
/// (`SlotStore::index`); below it the tasks would cost more than the lists.
const PARALLEL_INDEX_DAYS: usize = 64;

/// Availability counters of one department-day or resource-day: kept on every claim, release
/// and close of its slots (the `SlotStore` methods below are the only way to change a slot's
/// counter), so that "how many places are free?" is a few atomic reads instead of a scan.
///
/// A counter may trail a racing claim for a moment (the slot's compare-and-swap stays the only
/// authority on a place); once operations quiesce it equals a recount of the slots
/// (`SlotStore::check_index`, run by the workload runner after every step).
///
/// One cache line each (aligned to 64): at 56 bytes, six of every eight days' counters
/// straddled two lines, and neighbours shared one — a query read two lines for them, and two
/// threads booking in neighbouring days wrote the same line.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct DayCounts {
    /// Free places per pool in the day's *open* slots: size − taken, summed. Signed: replay may
    /// take a pool past its size for a moment (`Slot::force_take`).
    pub free: [AtomicI32; 4],
    /// Sum of the pool sizes of the day's open slots, and places taken in its closed slots:
    /// with `free` they give the places taken (`taken`), so a claim or a release touches one
    /// counter per day, not two. Both change only on publication, close, and the rare release
    /// of a place in a closed slot.
    open_sizes: AtomicU32,
    closed_taken: AtomicU32,
    /// Capacity of all of the day's slots (the places of `free_places_by_day`).
    pub places: AtomicU32,
    /// A department-day's group-day (index into `SlotStore::group_days`) and its member number
    /// there (`NO_GROUP` for a resource-day). Set before the counters become reachable (on
    /// creation, or when retired counters are reused: `SlotStore::counts_of`); atomics only
    /// because reuse writes them through `&self`.
    group: AtomicU32,
    member: AtomicU32,
    /// One word, read as what the day is (a department-day has a group-day, a resource-day
    /// none: `is_department_day`), so that the counters fit one cache line:
    /// - a resource-day's department and that department-day's counters
    ///   (`department << 32 | dept_day`): a slot keeps only its resource-day's index
    ///   (`Slot::res_day`) and finds its department and department-day here
    ///   (`SlotStore::department_of`), which saves 8 of a slot's bytes. Set with the
    ///   counters, before any slot reaches them.
    /// - a department-day's scan hint (`FreeHint`, packed): how many slots at the head of
    ///   its list have no free place in the general pool, and in the referral pool, so that a
    ///   scan for a free place starts past them. A lower bound, never more: only a scan that
    ///   read those slots full moves it forward (`advance_hint`), and a release that frees a
    ///   place in a slot whose pool was full, or a new list, sends it back to the head
    ///   (`forget_hint`). Its generation makes a scan that raced one of those fail to move it.
    link: AtomicU64,
    /// A department-day's slots in start order: read without a lock or a map lookup by whoever
    /// has the counters' index (a group-day member, a slot), under a pinned guard. Replaced
    /// whole by publication (serialised), the old list freed after the epoch's grace period;
    /// null for retired counters awaiting reuse, and for a resource-day (whose slots are its
    /// department-day's: `SlotStore::resource_day_slots`, 4 B a live slot saved).
    list: crossbeam_epoch::Atomic<DayList>,
    /// The first and last start of the day's slots (a department-day's `DayList::starts`,
    /// packed first << 16 | last), or `NO_STARTS` before its first slot: a by-day count, and a
    /// resource query's skip of a full resource-day, need only these and the counters,
    /// not the list (one cache miss fewer per day on a province). Set with each new list, so
    /// for a moment it may trail the counters of a day being published.
    starts: AtomicU32,
}

/// `DayCounts::link` of a resource-day not yet placed (no department, no department-day).
const NO_LINK: u64 = (NO_COUNTS as u64) << 32 | NO_COUNTS as u64;

// The counters' budget, one cache line: a province holds about one a slot's eighth (a
// resource-day of ~14 slots, a department-day of ~17), so 8 B a slot.
#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<DayCounts>() <= 64);

/// The scan hint of a department-day (`DayCounts::hint`), unpacked: from the top, a
/// generation (21 bits, bumped by every `forget_hint`), a start (11 bits, minutes: no later
/// than the start of the first slot past the general head — `general_start`), then the head of
/// the list known full in the general pool and in the referral pool (16 bits each, saturating:
/// a longer full head is only partly skipped). The quota pools have none: a requester whose
/// pools include one scans from the head (as every requester did before).
///
/// The start lets `alternatives` rank a department-day by where its free places can begin
/// without reading its list: a bound of the day's first start read half of a district's lists
/// on a city 70% booked, where the mornings fill first. Why 21 bits of generation are enough:
/// a scan's compare-and-swap could only succeed wrongly if 2^21 releases and publications of
/// one department-day wrapped it back while that one scan read its list.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct FreeHint(pub u64);

impl FreeHint {
    const GENERAL_SHIFT: u32 = 16;
    const START_SHIFT: u32 = 32;
    const START_MASK: u64 = 0x7FF;
    const GENERATION_SHIFT: u32 = 43;

    /// Slots at the head known to have no free place in `pool`.
    pub fn full_head(self, pool: Pool) -> usize {
        match pool {
            Pool::General => (self.0 >> FreeHint::GENERAL_SHIFT) as u16 as usize,
            Pool::Referral => self.0 as u16 as usize,
            Pool::Quota0 | Pool::Quota1 => 0,
        }
    }

    /// A start (minutes) no later than that of the slot at the general head, when the list
    /// has one: every free place in the general pool starts then or later. 0 while the
    /// head is at the list's start.
    pub fn general_start(self) -> u16 {
        (self.0 >> FreeHint::START_SHIFT & FreeHint::START_MASK) as u16
    }

    /// The hint's generation (see the type).
    pub fn generation(self) -> u64 {
        self.0 >> FreeHint::GENERATION_SHIFT
    }

    /// The next generation's hint, both heads back at the head of the list (`forget_hint`).
    pub fn forgotten(self) -> FreeHint {
        // The shift drops the carry out of the generation's 21 bits: it wraps.
        FreeHint(self.generation().wrapping_add(1) << FreeHint::GENERATION_SHIFT)
    }

    /// Slots at the head with no free place in any pool of `pools` (a bit set, bit
    /// `Pool as u8`): what a scan for them skips. Branch-free: it runs for every day scanned.
    pub fn skip(self, pools: u8) -> usize {
        const GENERAL: u8 = 1 << Pool::General as u8;
        const REFERRAL: u8 = 1 << Pool::Referral as u8;
        let general = if pools & GENERAL != 0 { self.full_head(Pool::General) } else { usize::MAX };
        let referral =
            if pools & REFERRAL != 0 { self.full_head(Pool::Referral) } else { usize::MAX };
        // A quota pool has no head (0); no pool at all, nothing to skip (0).
        let quota_or_none = pools & !(GENERAL | REFERRAL) != 0 || pools == 0;
        if quota_or_none {
            0
        } else {
            general.min(referral)
        }
    }

    /// A start (minutes) no later than that of any free place of `pools` (a bit set) in the
    /// day: `general_start` where the general head is what those pools skip (`skip`), else 0.
    pub fn start_bound(self, pools: u8) -> u16 {
        const GENERAL: u8 = 1 << Pool::General as u8;
        const REFERRAL: u8 = 1 << Pool::Referral as u8;
        let general = self.full_head(Pool::General);
        // The general pool, and no quota (which has no head); the referral pool's head, if
        // asked for, no shorter. Cheaper than `skip`: it runs for every candidate of a day.
        let by_general = pools & !REFERRAL == GENERAL
            && (pools & REFERRAL == 0 || self.full_head(Pool::Referral) >= general);
        if by_general && general > 0 {
            self.general_start()
        } else {
            0
        }
    }

    /// The hint once a scan for `pools` (a bit set) has read every slot of `from .. to` and
    /// found none free in them: a pool's head grows to `to` where it reached `from` already
    /// (the slots before it are known full), else it stays (a gap the scan did not read).
    /// `start`: a start no later than the slot at `to` (the start of a slot the scan read at or
    /// before it), raising `general_start` where the general head moves; `None`, unknown.
    pub fn extended(self, pools: u8, from: usize, to: usize, start: Option<u16>) -> FreeHint {
        // A head saturates at u16::MAX; the start then stays (it bounds the slot at `to`, not
        // at the saturated head).
        let start = start.filter(|_| to <= u16::MAX as usize);
        let to = to.min(u16::MAX as usize) as u64;
        let mut h = self.0;
        for (pool, shift) in [(Pool::General, FreeHint::GENERAL_SHIFT), (Pool::Referral, 0)] {
            let head = self.full_head(pool);
            if pools & (1 << pool as u8) != 0 && head >= from && (head as u64) < to {
                h = h & !(0xFFFF << shift) | to << shift;
                if let (Pool::General, Some(start)) = (pool, start) {
                    // Never lowered: the old start bounds the old head's slot, which is no
                    // later than the new one's.
                    let start =
                        (start as u64).min(FreeHint::START_MASK).max(self.general_start() as u64);
                    h = h & !(FreeHint::START_MASK << FreeHint::START_SHIFT)
                        | start << FreeHint::START_SHIFT;
                }
            }
        }
        FreeHint(h)
    }
}

impl Drop for DayCounts {
    fn drop(&mut self) {
        // Safety: `&mut self`, so no reader is left, and the list was made by `DayList::new`.
        unsafe {
            let list = self.list.load(Ordering::Relaxed, crossbeam_epoch::unprotected());
            if !list.is_null() {
                drop(list.into_owned());
            }
        }
    }
}

/// The department-days of one (specialty, district, date): which of them still have a free
/// place, so that `alternatives` visits only departments it could send a patient to instead of
/// looking up every department of the district for every day (43–47% of a simulated city's
/// time went there). A department's member number is its place in the registry's
/// `by_specialty_district` list; the group grows (under the publish lock) as departments join.
///
/// Members are kept in blocks of 64 (`MemberBlock`: their free bits in one word, their
/// counters' indexes), allocated as the group reaches them; blocks never move, so readers and
/// the claim path use them without a lock. The first `INLINE_BLOCKS` hang off the group-day
/// itself and the rest, for a group of more than 256 departments, off a growable vector. Why
/// not one `boxcar::Vec` for the bits and one for the indexes, as before: each is 480 bytes
/// before its first element, so a group-day cost ~2 KB, ~7 B per live slot on a province
/// (193 group-days a city-day, most of a handful of hospitals); now 40 B and a block or two.
pub(crate) struct GroupDay {
    first: [AtomicPtr<MemberBlock>; INLINE_BLOCKS],
    /// Blocks `INLINE_BLOCKS..`, once the group has that many members; null before.
    rest: AtomicPtr<boxcar::Vec<MemberBlock>>,
    /// The latest start of any member's slots that day (0 before the first list): once the
    /// clock is past it, every slot of the group-day has closed and `alternatives` passes the
    /// day over without looking at a member. Raised as lists are installed (publication; the
    /// starts of a day's list never fall while it lives), reset with the group-day.
    last_start: AtomicU32,
}

/// Blocks of a group-day held inline (256 members).
const INLINE_BLOCKS: usize = 4;

/// 64 members of a group-day.
struct MemberBlock {
    /// Bit i: member 64·b + i's day has a free place in some pool of an open slot (a superset
    /// of what any one requester may take: the query checks the pools). Kept on every change
    /// of the member's free counters; see `SlotStore::sync_group` for why it cannot stay wrong
    /// once operations quiesce.
    free: AtomicU64,
    /// Each member's department-day counters (index into `SlotStore::days`; `NO_COUNTS` when
    /// the department has no slot that day), for the load of a candidate without a map lookup.
    counts: [AtomicU32; 64],
}

impl MemberBlock {
    fn new() -> MemberBlock {
        MemberBlock {
            free: AtomicU64::new(0),
            counts: std::array::from_fn(|_| AtomicU32::new(NO_COUNTS)),
        }
    }
}

impl Default for GroupDay {
    fn default() -> GroupDay {
        GroupDay {
            first: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            rest: AtomicPtr::new(std::ptr::null_mut()),
            last_start: AtomicU32::new(0),
        }
    }
}

impl Drop for GroupDay {
    fn drop(&mut self) {
        // Safety: `&mut self`: no reader is left; every non-null pointer came from
        // `Box::into_raw` in `reserve` and is freed once, here.
        unsafe {
            for b in &self.first {
                let p = b.load(Ordering::Relaxed);
                if !p.is_null() {
                    drop(Box::from_raw(p));
                }
            }
            let rest = self.rest.load(Ordering::Relaxed);
            if !rest.is_null() {
                drop(Box::from_raw(rest));
            }
        }
    }
}

impl GroupDay {
    /// Block `b`, if the group has reached it.
    fn block(&self, b: usize) -> Option<&MemberBlock> {
        let p = match self.first.get(b) {
            Some(p) => p.load(Ordering::Acquire),
            None => {
                let rest = self.rest.load(Ordering::Acquire);
                // Safety: a published `rest` lives until `self` drops (see `Drop`).
                return unsafe { rest.as_ref() }?.get(b - INLINE_BLOCKS);
            }
        };
        // Safety: a published block lives until `self` drops and is never moved.
        unsafe { p.as_ref() }
    }

    /// The blocks the group has, in member order.
    fn blocks(&self) -> impl Iterator<Item = &MemberBlock> + '_ {
        (0..).map_while(move |b| self.block(b))
    }

    /// Members with a free place, in member order (a snapshot: bits may change meanwhile).
    pub fn free_members(&self) -> impl Iterator<Item = u32> + '_ {
        self.blocks().enumerate().flat_map(|(b, block)| {
            let mut bits = block.free.load(Ordering::SeqCst);
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let i = bits.trailing_zeros();
                    bits &= bits - 1;
                    b as u32 * 64 + i
                })
            })
        })
    }

    /// The word holding member m's free bit, once the group has reached m.
    fn free_word(&self, member: u32) -> Option<&AtomicU64> {
        Some(&self.block(member as usize / 64)?.free)
    }

    /// Member m's department-day counters, if it has slots that day.
    pub fn counts(&self, member: u32) -> Option<u32> {
        let block = self.block(member as usize / 64)?;
        let c = block.counts[member as usize % 64].load(Ordering::Acquire);
        (c != NO_COUNTS).then_some(c)
    }

    /// Make member m's counters `counts` (publication only; the group has reached m).
    fn set_counts(&self, member: u32, counts: u32) {
        let block = self.block(member as usize / 64).expect("reserved before its counters");
        block.counts[member as usize % 64].store(counts, Ordering::Release);
    }

    /// The latest start of any member's slots (0 before the first; see the field).
    pub fn last_start(&self) -> u16 {
        self.last_start.load(Ordering::Acquire) as u16
    }

    /// Forget a retired group-day's members, for reuse (`SlotStore::counts_of`).
    fn reset(&self) {
        self.last_start.store(0, Ordering::Release);
        for block in self.blocks() {
            block.free.store(0, Ordering::SeqCst);
            for c in &block.counts {
                c.store(NO_COUNTS, Ordering::Release);
            }
        }
    }

    /// Allocate the blocks up to `member`'s (publication only: serialised, so no two threads
    /// install the same block).
    fn reserve(&self, member: u32) {
        let last = member as usize / 64;
        for b in 0..=last.min(INLINE_BLOCKS - 1) {
            if self.first[b].load(Ordering::Acquire).is_null() {
                let block = Box::into_raw(Box::new(MemberBlock::new()));
                self.first[b].store(block, Ordering::Release);
            }
        }
        if last < INLINE_BLOCKS {
            return;
        }
        if self.rest.load(Ordering::Acquire).is_null() {
            let rest = Box::into_raw(Box::new(boxcar::Vec::new()));
            self.rest.store(rest, Ordering::Release);
        }
        // Safety: published just above or before, alive until `self` drops.
        let rest = unsafe { &*self.rest.load(Ordering::Acquire) };
        while rest.count() + INLINE_BLOCKS <= last {
            rest.push(MemberBlock::new());
        }
    }
}

/// Where a department's days are grouped: (specialty, district) and its member number.
pub(crate) type Group = (SpecialtyId, DistrictId, u32);

const NO_GROUP: u32 = u32::MAX;

impl Default for DayCounts {
    fn default() -> DayCounts {
        DayCounts {
            free: Default::default(),
            open_sizes: AtomicU32::new(0),
            closed_taken: AtomicU32::new(0),
            places: AtomicU32::new(0),
            group: AtomicU32::new(NO_GROUP),
            link: AtomicU64::new(NO_LINK),
            member: AtomicU32::new(0),
            list: crossbeam_epoch::Atomic::null(),
            starts: AtomicU32::new(NO_STARTS),
        }
    }
}

impl DayCounts {
    /// Reset for a new day (`group`: its group-day and member, or none). Only counters no
    /// reader can reach (a retired day's, after its grace period: `SlotStore::retire`).
    fn reset(&self, group: Option<(u32, u32)>) {
        let (g, m) = group.unwrap_or((NO_GROUP, 0));
        for f in &self.free {
            f.store(0, Ordering::Relaxed);
        }
        self.open_sizes.store(0, Ordering::Relaxed);
        self.closed_taken.store(0, Ordering::Relaxed);
        self.places.store(0, Ordering::Relaxed);
        self.group.store(g, Ordering::Relaxed);
        self.member.store(m, Ordering::Relaxed);
        self.starts.store(NO_STARTS, Ordering::Relaxed);
        // A department-day's hint at the head (no reader can hold a stale one: see above).
        self.link.store(if group.is_some() { 0 } else { NO_LINK }, Ordering::Relaxed);
        debug_assert!(
            self.list.load(Ordering::Acquire, &crossbeam_epoch::pin()).is_null(),
            "a retired day's list went with its retirement (`SlotStore::retire`)"
        );
    }

    /// The day's list (`SlotStore::day_list`), read under `guard`; `None` once retired.
    pub fn list<'g>(&'g self, guard: &'g Guard) -> Option<&'g DayList> {
        // Safety: a list is freed only through `defer_destroy`, after every guard pinned
        // before it was swapped out is dropped; `guard` outlives the borrow.
        unsafe { self.list.load(Ordering::Acquire, guard).as_ref() }
    }

    /// Whether these are a department-day's counters (those have a group-day; a
    /// resource-day's name their department-day in `link`).
    pub fn is_department_day(&self) -> bool {
        self.group.load(Ordering::Acquire) != NO_GROUP
    }

    /// A resource-day's department and department-day (`link`).
    pub fn placed(&self) -> (u32, u32) {
        // Not asserted here, on every claim's path: `check_index` checks every resource-day.
        let link = self.link.load(Ordering::Acquire);
        ((link >> 32) as u32, link as u32)
    }

    /// The scan hint (`FreeHint`), read before the list it applies to: a hint read after a
    /// `forget_hint` shows every change that preceded it (the release's place, the new list).
    /// A resource-day has none (0: nothing to skip).
    pub fn hint(&self) -> FreeHint {
        if self.is_department_day() {
            FreeHint(self.link.load(Ordering::Acquire))
        } else {
            FreeHint(0)
        }
    }

    /// `hint` of counters known to be a department-day's (a group-day member's): one load.
    pub fn department_day_hint(&self) -> FreeHint {
        debug_assert!(self.is_department_day());
        FreeHint(self.link.load(Ordering::Acquire))
    }

    /// Move the hint from `seen` (read by `hint`) to `to`, unless it changed meanwhile: a
    /// release or a new list forgot it, or another scan moved it (that one is kept). Only a
    /// department-day's: a resource-day's is never forgotten, so never moved.
    pub fn advance_hint(&self, seen: FreeHint, to: FreeHint) {
        if to != seen && self.is_department_day() {
            let _ = self.link.compare_exchange(seen.0, to.0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// Send the hint back to the head of the list, with a new generation (see `hint`).
    /// Called after the change it answers: a released place, a new or no list. Nothing for
    /// a resource-day.
    pub fn forget_hint(&self) {
        if self.is_department_day() {
            let _ = self.link.fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                Some(FreeHint(h).forgotten().0)
            });
        }
    }

    /// The day's first and last start, once it has a list.
    pub fn starts(&self) -> Option<(u16, u16)> {
        let packed = self.starts.load(Ordering::Acquire);
        (packed != NO_STARTS).then_some(((packed >> 16) as u16, packed as u16))
    }

    fn group(&self) -> u32 {
        self.group.load(Ordering::Relaxed)
    }

    fn member(&self) -> u32 {
        self.member.load(Ordering::Relaxed)
    }

    /// Any free place in any pool of the day's open slots (the group-day bit).
    fn any_free(&self) -> bool {
        self.free.iter().any(|f| f.load(Ordering::SeqCst) > 0)
    }

    /// Free places of `pools` (each pool's count floored at 0, as `Slot::free_in` does).
    pub fn free_in(&self, pools: &[Pool]) -> u32 {
        pools.iter().map(|&p| self.free[p as usize].load(Ordering::Acquire).max(0) as u32).sum()
    }

    /// Places taken in all of the day's slots, closed ones included (`alternatives`' load).
    pub fn taken(&self) -> u32 {
        let free: i64 = self.free.iter().map(|f| f.load(Ordering::Acquire) as i64).sum();
        let open_taken = self.open_sizes.load(Ordering::Acquire) as i64 - free;
        (open_taken + self.closed_taken.load(Ordering::Acquire) as i64).max(0) as u32
    }

    /// Add `n` free places to `pool`; true when that changed whether the pool has any free
    /// (the only changes that can change the group-day bit: see `SlotStore::sync_group`).
    fn add_free(&self, pool: Pool, n: i32) -> bool {
        // SeqCst, as the group-day bits' loads and swaps: `SlotStore::sync_group` relies on one
        // total order of these changes and those bits.
        let before = self.free[pool as usize].fetch_add(n, Ordering::SeqCst);
        (before > 0) != (before.wrapping_add(n) > 0)
    }

    fn add_closed_taken(&self, n: i32) {
        if n >= 0 {
            self.closed_taken.fetch_add(n as u32, Ordering::AcqRel);
        } else {
            self.closed_taken.fetch_sub(n.unsigned_abs(), Ordering::AcqRel);
        }
    }
}

const NO_COUNTS: u32 = u32::MAX;
/// `DayCounts::starts` of a day without a list yet (no start packs to it: minutes < 1,440).
const NO_STARTS: u32 = u32::MAX;

/// Slots being added that share a department-day and a resource-day (`counts`: their
/// counters' indexes), with what they add to both (`SlotStore::add`).
#[derive(Default)]
struct Run {
    counts: (u32, u32),
    slots: Vec<Slot>,
    free: [i32; 4],
    open_sizes: u32,
    places: u32,
    closed_taken: i32,
}

pub(crate) struct SlotStore {
    /// In fixed-size chunks (`chunked.rs`): lock-free reads by index, no doubling slack.
    slots: ChunkedVec<Slot>,
    /// Each department-day's and resource-day's counters (index into `days`), which hold the
    /// day's slot list (`DayCounts::list`).
    by_department_day: DayIndex,
    by_resource_day: DayIndex,
    /// The counters of every department-day and resource-day, appended as days appear and
    /// addressed by index from the slots and the lists: no hashing on a claim or a release.
    ///
    /// In fixed chunks, not boxcar's flagged doubling buckets (~75 B a day instead of 48 on a
    /// province: 6,800 days per city-day); appends are serialised anyway (publication).
    pub days: ChunkedVec<DayCounts>,
    /// The group-days (`GroupDay`), appended as they appear, and where each one is.
    pub group_days: boxcar::Vec<GroupDay>,
    pub by_group_day: IdMap<(SpecialtyId, DistrictId, Date), u32>,
    /// Each date's day log (`day_log.rs`), by date without hashing or a shard lock on the
    /// booking path (`log_attempt`); freed after an epoch's grace period once retired.
    day_logs: DateSlots<DayLog>,
    /// The dates that have a day log (`retire`, `begin_retire` walk them); also what makes a
    /// log: held while one is made, so that a date gets one log and a retired date none.
    log_dates: parking_lot::Mutex<std::collections::BTreeSet<Date>>,
    /// Retention: slots of days before this one are retired — unreachable by id or index —
    /// and their memory is freed (`retire`). `Date(i32::MIN)` until the first retirement.
    retired_before: AtomicI32,
    /// The retirement under way: days before this one are being retired (`begin_retire`), so
    /// an operation on one of their bookings is refused from now on (`Engine::is_retired`),
    /// while their slots stay readable until `retire` — every operation that started before
    /// finishes with the slots it saw.
    retiring_before: AtomicI32,
    /// The latest date of each chunk of `slots` not yet freed (by chunk number): a chunk is
    /// freed once its latest date is retired.
    chunk_dates: parking_lot::Mutex<std::collections::BTreeMap<usize, Date>>,
    /// Counters and group-days of retired days, reusable once no reader can hold them (pushed
    /// by the deferred function of `retire`, after the epoch's grace period).
    reusable: Arc<parking_lot::Mutex<Reusable>>,
    /// The most places any department-day has had (`DayCounts::places`; never lowered, by
    /// retirement either): a publication whose places, added to this, stay within
    /// `DAY_PLACES_MAX` needs no count per day (`Engine::check_day_places`).
    max_day_places: AtomicU32,
}

impl Drop for SlotStore {
    fn drop(&mut self) {
        // The day logs still held (retired ones are freed by `retire`).
        for &date in self.log_dates.get_mut().iter() {
            if let Some(at) = self.day_logs.get(date) {
                let log = at.swap(std::ptr::null_mut(), Ordering::Relaxed);
                if !log.is_null() {
                    // Safety: `&mut self`: no reader is left; made by `Box::into_raw` in
                    // `day_log_of`, listed once in `log_dates`.
                    drop(unsafe { Box::from_raw(log) });
                }
            }
        }
    }
}

/// Indexes of retired `DayCounts` and `GroupDay`s that no reader can reach any more.
#[derive(Default)]
struct Reusable {
    days: Vec<u32>,
    group_days: Vec<u32>,
}

/// What one retirement took out of the store (`SlotStore::retire`).
#[derive(Default, Debug)]
pub(crate) struct RetiredDays {
    /// Slot chunks freed.
    pub chunks: usize,
}

/// A slot, read under a pinned epoch guard: retention cannot free its memory while this lives.
pub(crate) struct SlotRef<'a> {
    slot: &'a Slot,
    pin: Guard,
}

impl SlotRef<'_> {
    /// The guard this reference holds: more reads under it need no pin of their own.
    pub fn guard(&self) -> &Guard {
        &self.pin
    }
}

impl std::ops::Deref for SlotRef<'_> {
    type Target = Slot;
    fn deref(&self) -> &Slot {
        self.slot
    }
}

impl Default for SlotStore {
    fn default() -> SlotStore {
        SlotStore {
            slots: ChunkedVec::with_max(SLOTS_MAX),
            by_department_day: DayIndex::default(),
            by_resource_day: DayIndex::default(),
            // Indexes are u32 (`NO_COUNTS` excluded).
            days: ChunkedVec::with_max(NO_COUNTS as usize),
            group_days: boxcar::Vec::new(),
            by_group_day: IdMap::default(),
            day_logs: DateSlots::default(),
            log_dates: Default::default(),
            retired_before: AtomicI32::new(i32::MIN),
            retiring_before: AtomicI32::new(i32::MIN),
            chunk_dates: Default::default(),
            reusable: Default::default(),
            max_day_places: AtomicU32::new(0),
        }
    }
}

impl SlotStore {
    /// The slot `id`, unless it never existed or its day is retired.
    pub fn get(&self, id: SlotId) -> Option<SlotRef<'_>> {
        let pin = crossbeam_epoch::pin();
        let slot: *const Slot = self.slots.get_pinned(id.index()?, &pin)?;
        // Safety: the slot's memory lives until `pin` is dropped (`ChunkedVec::retire_chunk`),
        // and `pin` moves into the `SlotRef` that hands the borrow out.
        let slot = unsafe { &*slot };
        (slot.date().0 >= self.retired_before.load(Ordering::Acquire))
            .then_some(SlotRef { slot, pin })
    }

    /// `get` under a guard the caller pinned once for many reads (a scan of a day's slots):
    /// pinning costs a thread-local access and, unnested, a fence; a scan pays it once.
    pub fn get_in<'g>(&'g self, id: SlotId, guard: &'g Guard) -> Option<&'g Slot> {
        let slot = self.slots.get_pinned(id.index()?, guard)?;
        (slot.date().0 >= self.retired_before.load(Ordering::Acquire)).then_some(slot)
    }

    /// Days before this one are retired.
    /// At least the places of every department-day (`max_day_places`). Read under the publish
    /// lock (or single-threaded), as it is written.
    pub fn max_day_places(&self) -> u32 {
        self.max_day_places.load(Ordering::Relaxed)
    }

    pub fn retired_before(&self) -> Date {
        Date(self.retired_before.load(Ordering::Acquire))
    }

    /// Days before this one are retired or being retired.
    pub fn retiring_before(&self) -> Date {
        Date(self.retiring_before.load(Ordering::SeqCst))
    }

    /// Start retiring the days before `before` (see `retiring_before`), and name the patients
    /// who tried for a place on one of them (their day logs): the only ones that can hold a
    /// booking there.
    pub fn begin_retire(&self, before: Date) -> Vec<PatientId> {
        self.retiring_before.fetch_max(before.0, Ordering::SeqCst);
        let dates: Vec<Date> = self.log_dates.lock().range(..before).copied().collect();
        let mut patients: Vec<PatientId> = Vec::new();
        for date in dates {
            self.with_day_log(date, |log| patients.extend(log.iter().map(|(_, p)| p)));
        }
        patients.sort_unstable();
        patients.dedup();
        patients
    }

    pub fn count(&self) -> usize {
        self.slots.count()
    }

    pub fn day_counts(&self, index: u32) -> &DayCounts {
        // Every index a caller holds was handed out by `counts_of`, and days are never freed
        // (retired ones are reused), so the element is there.
        self.days.get(index as usize).expect("day counters are never freed")
    }

    /// The department of `slot`, a slot this store holds for a day not retired (from its
    /// resource-day's counters, which a retired day's slots no longer own: for those, the
    /// registry's resource says).
    pub fn department_of(&self, slot: &Slot) -> DepartmentId {
        DepartmentId(self.day_counts(slot.res_day).placed().0)
    }

    /// The department-day counters of `slot` (as `department_of`).
    fn dept_day_of(&self, slot: &Slot) -> u32 {
        self.day_counts(slot.res_day).placed().1
    }

    /// The counters of `slot`'s department-day and resource-day (as `department_of`): the
    /// resource-day's read once, for both.
    #[inline]
    fn days_of(&self, slot: &Slot) -> [&DayCounts; 2] {
        let res = self.day_counts(slot.res_day);
        [self.day_counts(res.placed().1), res]
    }

    pub fn group_day(&self, index: u32) -> &GroupDay {
        &self.group_days[index as usize]
    }

    /// New counters for a day's first slot (or a retired day's, reused); a department-day's
    /// (`group` given) are entered in their group-day before anything can reach them.
    fn new_counts(&self, group: Option<(Group, Date)>) -> u32 {
        let placed =
            group.map(|((specialty, district, member), date)| {
                let g =
                    *self.by_group_day.entry((specialty, district, date)).or_insert_with(|| {
                        match self.reusable.lock().group_days.pop() {
                            Some(g) => {
                                self.group_day(g).reset();
                                g
                            }
                            None => {
                                let g = self.group_days.push(GroupDay::default());
                                u32::try_from(g).expect("fewer group-days than slots")
                            }
                        }
                    });
                self.group_day(g).reserve(member);
                (g, member)
            });
        // A retired day's counters, past their grace period, or new ones; either way set for
        // this day before any slot can reach them.
        let reused = self.reusable.lock().days.pop();
        let index = reused.map_or_else(
            || {
                let pushed = self.days.push(DayCounts::default());
                pushed.unwrap_or_else(|_| {
                    panic!("more than {NO_COUNTS} department- and resource-days")
                })
            },
            |i| i as usize,
        );
        let index = u32::try_from(index).expect("fewer days than slots, and slots are u32");
        // No list until `index` adds the slots (retirement left none behind: `retire`).
        self.day_counts(index).reset(placed);
        if let Some((g, member)) = placed {
            self.group_day(g).set_counts(member, index);
        }
        index
    }

    /// Make `c`'s group-day bit say whether the day has a free place. Called after every change
    /// of its free counters. Two threads may race (one takes the last place and reads "full",
    /// the other gives one back and reads "free", and the first writes last): each thread
    /// therefore re-reads the counters after its write and repeats until bit and counters agree.
    /// With the counters' changes and the bit's loads and writes in one total order (SeqCst),
    /// the last write to the bit is followed by a read of the counters that is either after the
    /// last counter change — then its thread would write again if they disagreed — or before
    /// it, and then the thread that made that change reads the bit after that last write and
    /// would write if they disagreed: either way, once operations quiesce, bit = counters.
    ///
    /// Callers may skip the call when their change left the positivity of every pool's count as
    /// it was (`DayCounts::add_free` says): such a change cannot change `any_free`, so the last
    /// change that could is still followed by its own call, which is all the argument needs.
    /// Where called, no change of fullness means loads only: the shared word is not written.
    #[cold]
    #[inline(never)]
    fn sync_group(&self, c: &DayCounts) {
        let (group, member) = (c.group(), c.member());
        if group == NO_GROUP {
            return;
        }
        let Some(word) = self.group_day(group).free_word(member) else {
            debug_assert!(false, "member {member} of group-day {group} was never reserved");
            return;
        };
        let bit = 1u64 << (member % 64);
        loop {
            let want = c.any_free();
            if (word.load(Ordering::SeqCst) & bit != 0) == want {
                return;
            }
            if want {
                word.fetch_or(bit, Ordering::SeqCst);
            } else {
                word.fetch_and(!bit, Ordering::SeqCst);
            }
        }
    }

    /// Add published (or restored) slots, in id order, to the store and both indexes: each
    /// slot's day counters are found or created and charged with its places *before* the slot
    /// becomes visible, so no claim can reach a slot its counters do not yet count. Called
    /// under the publish lock (live) or single-threaded (replay, restore): never concurrently.
    /// `group_of` names a department's group (`Engine::department_group`). Returns the first
    /// new id.
    pub fn add(
        &self,
        slots: Vec<Slot>,
        place: &dyn Fn(ResourceId) -> (DepartmentId, Group),
    ) -> usize {
        let first = self.count();
        let mut ids = Vec::with_capacity(slots.len());
        let mut places: rustc_hash::FxHashMap<ResourceId, (DepartmentId, Group)> =
            Default::default();
        // The previous slot's department-day and resource-day and their counters: slots come
        // by resource-day (a publication, a snapshot's slots in id order), so most slots skip
        // both map lookups. A day's counters never move once created, so a remembered index
        // stays right for the whole call (a restored province: 10 M slots, 20 M lookups saved).
        let mut last_dept: Option<((DepartmentId, Date), u32)> = None;
        let mut last_res: Option<((ResourceId, Date), u32, u32)> = None;
        // Consecutive slots of one department-day and resource-day are charged to their
        // counters together, then stored: a dozen atomic adds per run instead of per slot, and
        // still no slot visible before its counters count it.
        let mut run = Run::default();
        let retired_before = self.retired_before();
        let mut pushed = 0;
        for mut slot in slots {
            let id = SlotId::from_index(first + pushed);
            pushed += 1;
            if slot.date() < retired_before {
                // A retired day's slot of a restored snapshot (its chunk still held other
                // days' slots): it keeps its id, and nothing can reach it.
                let run_first = first + pushed - 1 - run.slots.len();
                self.charge_run(&mut run, run_first);
                slot.res_day = NO_COUNTS;
                let date = slot.date();
                self.push_slot(slot, first + pushed - 1);
                self.note_dates(first + pushed - 1, 1, date);
                continue;
            }
            // The department-day only when the resource-day changes: a resource-day's counters
            // name their department and department-day (`DayCounts::department`).
            let res_key = (slot.resource, slot.date());
            let (res_day, dept_day) = match last_res {
                Some((k, r, d)) if k == res_key => (r, d),
                _ => {
                    let (department, group) =
                        *places.entry(slot.resource).or_insert_with(|| place(slot.resource));
                    let dept_key = (department, slot.date());
                    let d = match last_dept {
                        Some((k, c)) if k == dept_key => c,
                        _ => {
                            let c = self.by_department_day.get(department.0, slot.date());
                            let c = c.unwrap_or_else(|| {
                                let c = self.new_counts(Some((group, slot.date())));
                                self.by_department_day.set(department.0, slot.date(), c);
                                c
                            });
                            last_dept = Some((dept_key, c));
                            c
                        }
                    };
                    let r = self.by_resource_day.get(slot.resource.0, slot.date());
                    let r = r.unwrap_or_else(|| {
                        let r = self.new_counts(None);
                        self.by_resource_day.set(slot.resource.0, slot.date(), r);
                        r
                    });
                    let counts = self.day_counts(r);
                    counts.link.store((department.0 as u64) << 32 | d as u64, Ordering::Release);
                    last_res = Some((res_key, r, d));
                    (r, d)
                }
            };
            slot.res_day = res_day;
            if run.slots.is_empty() || run.counts != (dept_day, res_day) {
                let run_first = first + pushed - 1 - run.slots.len();
                self.charge_run(&mut run, run_first);
                run.counts = (dept_day, res_day);
            }
            let taken = slot.taken();
            let taken_total: u32 = taken.iter().map(|&t| t as u32).sum();
            if slot.is_closed() {
                run.closed_taken += taken_total as i32;
            } else {
                for p in Pool::ALL {
                    run.free[p as usize] +=
                        slot.sizes[p as usize] as i32 - taken[p as usize] as i32;
                }
                run.open_sizes += slot.sizes.iter().map(|&t| t as u32).sum::<u32>();
            }
            run.places += slot.capacity() as u32;
            run.slots.push(slot);
            ids.push(id);
        }
        let run_first = first + pushed - run.slots.len();
        self.charge_run(&mut run, run_first);
        self.index(&ids);
        first
    }

    /// Store one slot at id `expected` (its counters charged already, or none: retired).
    fn push_slot(&self, slot: Slot, expected: usize) {
        // Callers check `SLOTS_MAX` before adding, and publication is serialised, so the push
        // succeeds and the ids are the ones announced.
        let pushed = self.slots.push(slot).expect("callers keep within SLOTS_MAX");
        assert_eq!(pushed, expected, "slots are added by one thread at a time");
    }

    /// Ids `first .. first + n`, all of `date`, are stored: their chunks' latest dates grow to
    /// it. Once per run of a day's slots, not per slot (a city-day is 52,000 slots).
    fn note_dates(&self, first: usize, n: usize, date: Date) {
        if n == 0 {
            return;
        }
        let mut dates = self.chunk_dates.lock();
        for c in first / CHUNK..=(first + n - 1) / CHUNK {
            let latest = dates.entry(c).or_insert(date);
            *latest = (*latest).max(date);
        }
    }

    /// Leave the next chunk of ids empty (a restored snapshot's freed chunk); `false` when the
    /// store is not at a chunk boundary.
    pub fn skip_chunk(&self) -> bool {
        self.slots.skip_chunk()
    }

    /// The slots by chunk, `None` for a freed chunk (snapshots), under `guard`.
    pub fn chunks<'g>(&'g self, guard: &'g Guard) -> impl Iterator<Item = Option<&'g [Slot]>> {
        self.slots.chunks(guard)
    }

    /// Bytes of the slot chunks and their directory (operator metrics).
    pub fn slot_bytes(&self) -> usize {
        self.slots.allocated_bytes()
    }

    /// Charge a run's places to its two days' counters, then store its slots (the first gets id
    /// `first`), leaving the run empty.
    fn charge_run(&self, run: &mut Run, first: usize) {
        if run.slots.is_empty() {
            return;
        }
        for index in [run.counts.0, run.counts.1] {
            let c = self.day_counts(index);
            // The places first, then what is free and taken in them: a reader that loads the
            // free places and then the places (`Engine::department_day_free_in`) never sees
            // more free than places, even while a day is being published.
            let places = c.places.fetch_add(run.places, Ordering::AcqRel) + run.places;
            self.max_day_places.fetch_max(places, Ordering::Relaxed);
            c.open_sizes.fetch_add(run.open_sizes, Ordering::AcqRel);
            if run.closed_taken != 0 {
                c.add_closed_taken(run.closed_taken);
            }
            for p in Pool::ALL {
                c.add_free(p, run.free[p as usize]);
            }
            self.sync_group(c);
        }
        // A run is one department-day: one date.
        let (n, date) = (run.slots.len(), run.slots[0].date());
        // Callers check `SLOTS_MAX` before adding, and publication is serialised, so the push
        // succeeds and the ids are the ones announced.
        let pushed = self.slots.push_all(run.slots.drain(..));
        assert_eq!(pushed.ok(), Some(first), "slots are added by one thread at a time");
        self.note_dates(first, n, date);
        *run = Run { slots: std::mem::take(&mut run.slots), ..Run::default() };
    }

    /// Take a place (see `Slot::claim`), and count it in the slot's days.
    pub fn claim(&self, slot: &Slot, order: &[Pool]) -> Result<Pool, ClaimError> {
        let pool = slot.claim(order)?;
        self.charge(slot, pool, true, 1);
        Ok(pool)
    }

    /// Give a place back (see `Slot::release`), and count it in the slot's days.
    pub fn release(&self, slot: &Slot, pool: Pool) {
        let (open, was_full) = slot.release_noting(pool);
        self.charge(slot, pool, open, -1);
        if open && was_full {
            // The pool had no free place and has one now: a scan hint may count the slot
            // among the full ones (only a department-day's is kept: `DayCounts::hint`).
            self.day_counts(self.dept_day_of(slot)).forget_hint();
        }
    }

    /// Replay: `Slot::force_take`, counted.
    pub fn force_take(&self, slot: &Slot, pool: Pool) -> bool {
        slot.force_take(pool).map(|open| self.charge(slot, pool, open, 1)).is_some()
    }

    /// Replay: `Slot::force_release`, counted.
    pub fn force_release(&self, slot: &Slot, pool: Pool) -> bool {
        let Some(open) = slot.force_release(pool) else { return false };
        self.charge(slot, pool, open, -1);
        // Replay counts may pass a pool's size for a moment: forget the hint at every release.
        self.day_counts(self.dept_day_of(slot)).forget_hint();
        true
    }

    /// Close a slot (provider suspension): what was free in it stops counting as free.
    /// Returns false if it was closed already.
    pub fn close(&self, slot: &Slot) -> bool {
        let Some(taken) = slot.close_taking() else { return false };
        let taken_total: u32 = taken.iter().map(|&t| t as u32).sum();
        let sizes_total: u32 = slot.sizes.iter().map(|&t| t as u32).sum();
        for c in self.days_of(slot) {
            for p in Pool::ALL {
                c.add_free(p, -(slot.sizes[p as usize] as i32 - taken[p as usize] as i32));
            }
            c.open_sizes.fetch_sub(sizes_total, Ordering::AcqRel);
            c.add_closed_taken(taken_total as i32);
            self.sync_group(c);
        }
        true
    }

    /// `taken` places more (or fewer, if negative) in `pool` of `slot`: the free count moves
    /// only if the slot was open at that change.
    #[inline]
    fn charge(&self, slot: &Slot, pool: Pool, open: bool, taken: i32) {
        let one = |c: &DayCounts| {
            if open {
                // Most claims and releases leave the pool as free or as full as it was: no
                // group-day work, not even a read of the shared bit word.
                if c.add_free(pool, -taken) {
                    self.sync_group(c);
                }
            } else {
                c.add_closed_taken(taken);
            }
        };
        // Two calls, not a loop over the pair: the booking path's cost (`ci/instructions.sh`).
        let [department_day, resource_day] = self.days_of(slot);
        one(department_day);
        one(resource_day);
    }

    /// An index's entries as ((id, date), counters), for `check_index`.
    fn entries<I>(index: &DayIndex, id: impl Fn(u32) -> I) -> Vec<((I, Date), u32)> {
        let mut out = Vec::new();
        index.for_each(|i, date, counts| out.push(((id(i), date), counts)));
        out
    }

    /// Recount every day's counters from its slots and compare: `Err` names the first day that
    /// differs. O(slots): for tests (`Engine::check_availability_index`), never on a hot path.
    pub fn check_index(&self, group_of: &dyn Fn(DepartmentId) -> Group) -> Result<(), String> {
        let recount = |what: String, counts: u32, ids: &[SlotId]| -> Result<(), String> {
            let (mut free, mut taken, mut places) = ([0i64; 4], 0u64, 0u64);
            for &id in ids {
                let s = self.get(id).ok_or_else(|| format!("{what}: lists unknown {id}"))?;
                let t = s.taken();
                if !s.is_closed() {
                    for p in Pool::ALL {
                        free[p as usize] += s.sizes[p as usize] as i64 - t[p as usize] as i64;
                    }
                }
                taken += t.iter().map(|&x| x as u64).sum::<u64>();
                places += s.capacity() as u64;
            }
            let c = self.day_counts(counts);
            let kept = (
                c.free.each_ref().map(|f| f.load(Ordering::Acquire) as i64),
                c.taken() as u64,
                c.places.load(Ordering::Acquire) as u64,
            );
            if kept != (free, taken, places) {
                return Err(format!(
                    "{what}: index (free per pool, taken, places) {kept:?} ≠ recount {:?}",
                    (free, taken, places)
                ));
            }
            Ok(())
        };
        let guard = &crossbeam_epoch::pin();
        // A day's counters hold its list, and the list names them back.
        let list_of = |what: String, counts: u32| -> Result<&DayList, String> {
            match self.day_list(counts, guard) {
                Some(list) if list.counts == counts => Ok(list),
                Some(list) => Err(format!("{what}: list names counters {}", list.counts)),
                None => Err(format!("{what}: counters {counts} hold no list")),
            }
        };
        for (key, counts) in Self::entries(&self.by_department_day, DepartmentId) {
            let what = || format!("{} on {}", key.0, key.1);
            let list = list_of(what(), counts)?;
            recount(what(), list.counts, &list.slots)?;
            // Its scan hint: every slot it counts as full in a pool has no free place there.
            let hint = self.day_counts(list.counts).hint();
            for pool in [Pool::General, Pool::Referral] {
                let head = hint.full_head(pool);
                if head > list.slots.len() {
                    return Err(format!(
                        "{}: hint {hint:?} past its {} slots",
                        what(),
                        list.slots.len()
                    ));
                }
                // Its start bounds the slot at the general head.
                if let (Pool::General, Some(&id)) = (pool, list.slots.get(head)) {
                    let slot =
                        self.get(id).ok_or_else(|| format!("{}: lists unknown {id}", what()))?;
                    if slot.start_min < hint.general_start() {
                        return Err(format!(
                            "{}: hint {hint:?} starts the general head after {id} at {}",
                            what(),
                            slot.start_min
                        ));
                    }
                }
                for &id in &list.slots[..head] {
                    let slot =
                        self.get(id).ok_or_else(|| format!("{}: lists unknown {id}", what()))?;
                    if slot.free_in(&[pool]) > 0 {
                        return Err(format!(
                            "{}: hint {hint:?} counts {id} full in {pool:?}, which has a free place",
                            what()
                        ));
                    }
                }
            }
            // Its group-day: the right one, pointing back, with the right bit.
            let (department, date) = &key;
            let c = self.day_counts(list.counts);
            let (specialty, district, member) = group_of(*department);
            let g = self.by_group_day.get(&(specialty, district, date.to_owned())).map(|g| *g);
            if g != Some(c.group()) || c.member() != member {
                return Err(format!(
                    "{department} on {date}: in group-day {} as member {}, expected {g:?} as {member}",
                    c.group(),
                    c.member()
                ));
            }
            let gd = self.group_day(c.group());
            if gd.counts(member) != Some(list.counts) {
                return Err(format!("{department} on {date}: its group-day lists other counters"));
            }
            if let Some((_, last)) = c.starts() {
                if gd.last_start() < last {
                    return Err(format!(
                        "{department} on {date}: its slots start until {last}, its group-day's \
                         latest start is {}",
                        gd.last_start()
                    ));
                }
            }
            let bit = gd.free_members().any(|m| m == member);
            if bit != c.any_free() {
                return Err(format!(
                    "{department} on {date}: group-day says free = {bit}, its counters {}",
                    c.any_free()
                ));
            }
            for &id in &list.slots {
                if self.get(id).is_some_and(|s| self.dept_day_of(&s) != list.counts) {
                    return Err(format!("{id} points at another department-day's counters"));
                }
            }
        }
        // No group-day bit without a department-day behind it.
        for e in self.by_group_day.iter() {
            let gd = self.group_day(*e.value());
            if let Some(m) = gd.free_members().find(|&m| gd.counts(m).is_none()) {
                return Err(format!("group-day {:?}: member {m} free without a day", e.key()));
            }
        }
        for (key, counts) in Self::entries(&self.by_resource_day, ResourceId) {
            let what = || format!("{} on {}", key.0, key.1);

            // A resource-day (no group-day, no list) names a department-day's counters in its
            // link, whose list holds its slots.
            let c = self.day_counts(counts);
            if c.is_department_day() || !self.day_counts(c.placed().1).is_department_day() {
                return Err(format!("{}: not linked to a department-day", what()));
            }
            if c.list(guard).is_some() {
                return Err(format!("{}: a resource-day holds a list", what()));
            }
            let ids: Vec<SlotId> = self.resource_day_slots(counts, guard).collect();
            recount(what(), counts, &ids)?;
            // Its first and last start, which a query's pools are worked out from.
            let starts: Vec<u16> =
                ids.iter().filter_map(|&id| self.get(id)).map(|s| s.start_min).collect();
            let want = starts.first().zip(starts.last()).map(|(&f, &l)| (f, l));
            if c.starts() != want {
                return Err(format!("{}: starts {:?}, its slots {want:?}", what(), c.starts()));
            }
            // Its department-day's list holds every slot of the resource and date.
            let (resource, date) = key;
            let dept_day = c.placed().1;
            let all = self.day_list(dept_day, guard).map_or(&[][..], |l| &l.slots[..]);
            for &id in all {
                if self.get(id).is_some_and(|s| {
                    s.resource == resource && s.date() == date && s.res_day != counts
                }) {
                    return Err(format!("{id} points at another resource-day's counters"));
                }
            }
        }
        Ok(())
    }

    /// Insert ids (already in `slots`, their counters set) into their days' lists, keeping
    /// each list in start order. Each list touched is replaced whole (`DayCounts::list`):
    /// readers go on with the list they loaded, freed once none can hold it.
    fn index(&self, ids: &[SlotId]) {
        let guard = &crossbeam_epoch::pin();
        // Each new slot with its sort key (start, id), read once: sorting by a comparator that
        // looks both slots up costs two store reads per comparison, and this runs over every
        // slot of a restored snapshot. Grouped by the days' counters, which the slot names: no
        // map lookup. (start, id) is the order a query answers in (`find_free_slots`), so a
        // day's answer from one list needs no sort.
        type Keyed = (u16, SlotId);
        // Sized for a dozen slots a day (a city-day: 52,000 slots in 3,000 department-days and
        // 3,800 resource-days), so that the maps do not grow step by step.
        let days_guess = ids.len() / 12;
        let mut by_day: rustc_hash::FxHashMap<u32, Vec<Keyed>> =
            rustc_hash::FxHashMap::with_capacity_and_hasher(days_guess, Default::default());
        // A resource-day keeps no list of its own (its slots are its department-day's with its
        // counters: `resource_day`, 4 B a live slot less), only its first and last start.
        let mut resource_starts: rustc_hash::FxHashMap<u32, (u16, u16)> =
            rustc_hash::FxHashMap::with_capacity_and_hasher(days_guess, Default::default());
        // A publication lists a resource-day's slots together, and mostly a department-day's:
        // each run of consecutive slots of one department-day is entered in `by_day` with one
        // lookup and one allocation, and each run of one resource-day in `resource_starts` with
        // one lookup (slot by slot, the maps' lookups and the vectors' growth were a fifth of
        // a city-day's publication).
        let mut run: (Option<u32>, Vec<Keyed>) = (None, Vec::new());
        let mut res_run: Option<(u32, (u16, u16))> = None;
        let widen = |st: &mut (u16, u16), (first, last): (u16, u16)| {
            *st = (st.0.min(first), st.1.max(last));
        };
        for &id in ids {
            let s = self.get_in(id, guard).expect("indexed slots exist");
            let day = self.dept_day_of(s);
            if run.0 != Some(day) {
                if let Some(d) = run.0 {
                    by_day.entry(d).or_default().extend_from_slice(&run.1);
                }
                run = (Some(day), std::mem::take(&mut run.1));
                run.1.clear();
            }
            run.1.push((s.start_min, id));
            match &mut res_run {
                Some((r, st)) if *r == s.res_day => widen(st, (s.start_min, s.start_min)),
                _ => {
                    if let Some((r, st)) = res_run.take() {
                        widen(resource_starts.entry(r).or_insert(st), st);
                    }
                    res_run = Some((s.res_day, (s.start_min, s.start_min)));
                }
            }
        }
        if let Some(d) = run.0 {
            by_day.entry(d).or_default().extend_from_slice(&run.1);
        }
        if let Some((r, st)) = res_run {
            widen(resource_starts.entry(r).or_insert(st), st);
        }
        for (counts, (first, last)) in resource_starts {
            let c = self.day_counts(counts);
            let (first, last) =
                c.starts().map_or((first, last), |(f, l)| (f.min(first), l.max(last)));
            c.starts.store((first as u32) << 16 | last as u32, Ordering::Release);
        }
        // The day's list in (start, id) order. Ids are unique, so the keys are, and any sort
        // gives the one order there is; a day published in start order is only checked. The
        // stable sort finds the sorted runs a day is made of (a run per doctor, another per
        // later publication) and merges them, where the unstable one sorts afresh.
        let install = |counts: u32, mut new: Vec<Keyed>, guard: &Guard| {
            let c = self.day_counts(counts);
            // Safety: lists are replaced only here (each day by one task) and taken out only
            // by `retire`, both serialised (under the publish lock, or single-threaded replay),
            // so this one stays until the swap below; `guard` keeps it alive meanwhile anyway.
            if let Some(old) = unsafe { c.list.load(Ordering::Acquire, guard).as_ref() } {
                new.extend(old.slots.iter().map(|&id| {
                    let s = self.get_in(id, guard).expect("exists");
                    (s.start_min, id)
                }));
            }
            if !new.is_sorted() {
                new.sort();
            }
            let starts = (new.first().map_or(0, |k| k.0), new.last().map_or(0, |k| k.0));
            // The ids alone, copied into the list's single allocation (`DayList::new`).
            let slots: Vec<SlotId> = new.iter().map(|&(_, id)| id).collect();
            let list = DayList::new(counts, starts, slots);
            c.starts.store((starts.0 as u32) << 16 | starts.1 as u32, Ordering::Release);
            // Before the list is reachable: a reader that finds it finds the group-day's
            // latest start at or past its slots'.
            if c.group() != NO_GROUP {
                self.group_day(c.group()).last_start.fetch_max(starts.1 as u32, Ordering::AcqRel);
            }
            let old = c.list.swap(list, Ordering::AcqRel, guard);
            // After the swap: a scan that reads the hint from here on reads the new list.
            c.forget_hint();
            if !old.is_null() {
                // Safety: unreachable from now on (swapped out); readers that loaded it are
                // pinned, and the destruction waits for them.
                unsafe { guard.defer_destroy(old) };
            }
        };
        // Days are independent: a city-day's 3,000 lists are built on every core (the store
        // and the counters are the serial part of a publication). A few days, on this thread.
        if by_day.len() >= PARALLEL_INDEX_DAYS {
            let days: Vec<(u32, Vec<Keyed>)> = by_day.into_iter().collect();
            days.into_par_iter()
                .for_each(|(counts, new)| install(counts, new, &crossbeam_epoch::pin()));
        } else {
            for (counts, new) in by_day {
                install(counts, new, guard);
            }
        }
    }

    /// The list of department-day counters `counts`, read under `guard`; `None` for counters
    /// of a retired day (and for a resource-day's, which hold none).
    pub fn day_list<'g>(&'g self, counts: u32, guard: &'g Guard) -> Option<&'g DayList> {
        self.day_counts(counts).list(guard)
    }

    /// A department-day's counters, if it has slots.
    pub fn department_day_counts(&self, department: DepartmentId, date: Date) -> Option<u32> {
        self.by_department_day.get(department.0, date)
    }

    /// Ask for the line that says where a department-day's counters are (`DayIndex::prefetch`).
    pub fn prefetch_department_day(&self, department: DepartmentId, date: Date) {
        self.by_department_day.prefetch(department.0, date)
    }

    /// A resource-day's counters, if it has slots.
    pub fn resource_day_counts(&self, resource: ResourceId, date: Date) -> Option<u32> {
        self.by_resource_day.get(resource.0, date)
    }

    /// Retire every day before `before`: its slots become unreachable at once (`get`), its
    /// department-day, resource-day and group-day entries and its day log go, and the memory
    /// follows once no lock-free reader can still hold it — slot chunks whose latest date is
    /// retired are freed, counters and group-days become reusable by new days (both through
    /// the epoch's deferred functions). Called by one thread at a time (the engine's tick, or
    /// replay); a `before` at or below the current one does nothing.
    pub fn retire(&self, before: Date) -> RetiredDays {
        let mut out = RetiredDays::default();
        if before <= self.retired_before() {
            return out;
        }
        self.retiring_before.fetch_max(before.0, Ordering::SeqCst);
        self.retired_before.store(before.0, Ordering::SeqCst);
        let mut freed = Reusable::default();
        self.by_department_day.retire_before(before, &mut |counts| freed.days.push(counts));
        self.by_resource_day.retire_before(before, &mut |counts| freed.days.push(counts));
        self.by_group_day.retain(|&(_, _, date), g| {
            (date >= before) || {
                freed.group_days.push(*g);
                false
            }
        });
        let pin = crossbeam_epoch::pin();
        {
            // Under the lock that makes logs: none is made for a retired date from here on
            // (`day_log_of` checks `retired_before`, stored above).
            let mut dates = self.log_dates.lock();
            let retired: Vec<Date> = dates.range(..before).copied().collect();
            for date in retired {
                dates.remove(&date);
                let Some(at) = self.day_logs.get(date) else { continue };
                let log = at.swap(std::ptr::null_mut(), Ordering::AcqRel);
                if !log.is_null() {
                    // Safety: unreachable from now on; appenders and readers hold a pin while
                    // they use a log (`log_attempt`, `with_day_log`), and the drop waits for them.
                    unsafe { pin.defer_unchecked(move || drop(Box::from_raw(log))) };
                }
            }
        }
        // The retired days' lists go now; their counters wait for reuse (below).
        for &counts in &freed.days {
            let old = self.day_counts(counts).list.swap(
                crossbeam_epoch::Shared::null(),
                Ordering::AcqRel,
                &pin,
            );
            self.day_counts(counts).forget_hint();
            if !old.is_null() {
                // Safety: unreachable from now on; pinned readers hold it off.
                unsafe { pin.defer_destroy(old) };
            }
        }
        {
            let mut dates = self.chunk_dates.lock();
            let whole = self.count() / CHUNK;
            let done: Vec<usize> = dates
                .iter()
                .filter(|&(&c, &latest)| c < whole && latest < before)
                .map(|(&c, _)| c)
                .collect();
            for c in done {
                dates.remove(&c);
                // Safety: every reader of `slots` reads under a pinned guard (`get`,
                // `chunks`), never through `ChunkedVec::get`.
                out.chunks += unsafe { self.slots.retire_chunk(c, &pin) } as usize;
            }
        }
        let reusable = Arc::clone(&self.reusable);
        pin.defer(move || {
            let mut r = reusable.lock();
            r.days.extend(freed.days);
            r.group_days.extend(freed.group_days);
        });
        pin.flush();
        out
    }

    /// Log an attempt on `slot` (of `date`) before its claim, under the caller's pinned
    /// `guard` (a retirement frees a log only after the guards pinned before it are gone).
    pub fn log_attempt(
        &self,
        date: Date,
        slot: SlotId,
        patient: PatientId,
        _guard: &Guard,
    ) -> Result<()> {
        // A retired day's log is gone; an attempt racing its retirement cannot win a place (a
        // retired day is long past its booking window), so it is not logged again.
        if date < self.retired_before() {
            return Ok(());
        }
        let Some(log) = self.day_log_of(date, true) else {
            // Retired meanwhile: as above.
            return Ok(());
        };
        // Safety: read under `_guard` (see `retire`).
        let logged = unsafe { &*log }.push(slot, patient);
        logged.then_some(()).ok_or_else(|| {
            Error::CapacityExceeded(format!(
                "{DAY_LOG_MAX} attempts on {date} (the day log's bound): try another day"
            ))
        })
    }

    /// The day log of `date` (made if `make` and the date is not retired), to be used under a
    /// pinned guard; `None` when there is none.
    #[inline]
    fn day_log_of(&self, date: Date, make: bool) -> Option<*mut DayLog> {
        let log =
            self.day_logs.get(date).map_or(std::ptr::null_mut(), |at| at.load(Ordering::Acquire));
        if !log.is_null() {
            return Some(log);
        }
        if make {
            self.make_day_log(date)
        } else {
            None
        }
    }

    /// A date's first attempt makes its log, under the lock that retirement holds.
    #[cold]
    fn make_day_log(&self, date: Date) -> Option<*mut DayLog> {
        let at = self.day_logs.get_or_make(date)?;
        let mut dates = self.log_dates.lock();
        let log = at.load(Ordering::Acquire);
        if !log.is_null() {
            return Some(log);
        }
        if date < self.retired_before() {
            return None;
        }
        let log = Box::into_raw(Box::<DayLog>::default());
        at.store(log, Ordering::Release);
        dates.insert(date);
        Some(log)
    }

    /// Read `date`'s day log, if it has one.
    pub fn with_day_log(&self, date: Date, read: impl FnOnce(&DayLog)) {
        let _pin = crossbeam_epoch::pin();
        if let Some(log) = self.day_log_of(date, false) {
            // Safety: under `_pin` (see `retire`).
            read(unsafe { &*log });
        }
    }

    /// Slot ids of a resource-day in start order (empty if none).
    pub fn resource_day(&self, resource: ResourceId, date: Date) -> Vec<SlotId> {
        let guard = &crossbeam_epoch::pin();
        self.resource_day_counts(resource, date)
            .map(|counts| self.resource_day_slots(counts, guard).collect())
            .unwrap_or_default()
    }

    /// The slots of resource-day counters `counts`, in start order: its department-day's
    /// list, filtered by the counters the slots name (a resource-day keeps no list).
    pub fn resource_day_slots<'g>(
        &'g self,
        counts: u32,
        guard: &'g Guard,
    ) -> impl Iterator<Item = SlotId> + 'g {
        let department_day = self.day_counts(counts).placed().1;
        let list =
            (department_day != NO_COUNTS).then(|| self.day_list(department_day, guard)).flatten();
        list.into_iter()
            .flat_map(|l| l.slots.iter().copied())
            .filter(move |&id| self.get_in(id, guard).is_some_and(|s| s.res_day == counts))
    }
}

/// loom models of the availability index's group-day bits (`ci/loom.sh`, `loom/tests/index.rs`).
#[cfg(loom)]
pub mod loom_models {
    use super::*;
    use crate::model::SlotSpec;
    use loom::sync::Arc;
    use loom::thread;

    /// A department-day of one slot with two general places, one taken: one thread takes the
    /// other place while another gives the first back. Whichever order, one place ends free, so
    /// the group-day must say "free". The interleaving that needs `sync_group`'s re-read: the
    /// taker reads "full" (0 free), the giver then frees a place, reads "free", finds the bit
    /// still set and leaves it; the taker clears it. Without the re-read the bit stays clear
    /// over a free place and `alternatives` never offers that department again.
    pub fn group_bit_follows_racing_claim_and_release() {
        let mut model = loom::model::Builder::new();
        // Setting up the store (boxcar's vectors, the counters) takes more atomic operations
        // than loom's default budget of branches; the racing part is small.
        model.max_branches = 100_000;
        model.check(|| {
            let store = Arc::new(SlotStore::default());
            let spec = SlotSpec {
                resource: ResourceId(0),
                date: Date(0),
                start_min: 480,
                end_min: 490,
                capacity: 2,
            };
            store.add(vec![Slot::new(&spec, [2, 0, 0, 0])], &|_| {
                (DepartmentId(0), (SpecialtyId(0), DistrictId(0), 0))
            });
            let slot = || store.get(SlotId::from_index(0)).expect("added");
            store.claim(&slot(), &[Pool::General]).expect("two places");
            let taker = {
                let store = store.clone();
                thread::spawn(move || {
                    let s = store.get(SlotId::from_index(0)).expect("added");
                    store.claim(&s, &[Pool::General]).is_ok()
                })
            };
            let giver = {
                let store = store.clone();
                thread::spawn(move || {
                    let s = store.get(SlotId::from_index(0)).expect("added");
                    store.release(&s, Pool::General)
                })
            };
            assert!(taker.join().unwrap(), "a place was free for the taker in every order");
            giver.join().unwrap();
            let gd = store.group_day(0);
            assert_eq!(gd.free_members().collect::<Vec<_>>(), vec![0], "one place is free");
            assert_eq!(store.check_index(&|_| (SpecialtyId(0), DistrictId(0), 0)), Ok(()));
        });
    }

    /// A department-day of two one-place slots, both taken: a scan for a free place (the
    /// protocol of `Engine::day_to_scan` and `DayScan::read_full_until`: read the hint, then
    /// the slots, then move the hint) races the release of the first slot. Whichever order,
    /// the hint must not end counting the first slot full: the release forgets the hint
    /// after freeing the place, so a scan that read the slot full either moved the hint before
    /// (and the release sends it back) or fails to move it (its generation changed). Without
    /// `forget_hint` in `SlotStore::release` the hint ends past a free place, and queries
    /// never offer it again.
    pub fn scan_hint_never_hides_a_released_place() {
        let mut model = loom::model::Builder::new();
        model.max_branches = 100_000;
        model.check(|| {
            let store = Arc::new(SlotStore::default());
            let spec = |start_min: u16| SlotSpec {
                resource: ResourceId(0),
                date: Date(0),
                start_min,
                end_min: start_min + 10,
                capacity: 1,
            };
            let slots =
                vec![Slot::new(&spec(480), [1, 0, 0, 0]), Slot::new(&spec(490), [1, 0, 0, 0])];
            store.add(slots, &|_| (DepartmentId(0), (SpecialtyId(0), DistrictId(0), 0)));
            for i in 0..2 {
                let s = store.get(SlotId::from_index(i)).expect("added");
                store.claim(&s, &[Pool::General]).expect("one place each");
            }
            let giver = {
                let store = store.clone();
                thread::spawn(move || {
                    let s = store.get(SlotId::from_index(0)).expect("added");
                    store.release(&s, Pool::General)
                })
            };
            let scanner = {
                let store = store.clone();
                thread::spawn(move || {
                    let general = &[Pool::General][..];
                    let mask = 1 << Pool::General as u8;
                    let counts =
                        store.department_day_counts(DepartmentId(0), Date(0)).expect("a day");
                    let c = store.day_counts(counts);
                    let seen = c.hint();
                    let pin = crossbeam_epoch::pin();
                    let list = store.day_list(counts, &pin).expect("a list");
                    let from = seen.skip(mask);
                    let to = (from..list.slots.len())
                        .find(|&i| store.get(list.slots[i]).is_none_or(|s| s.free_in(general) > 0))
                        .unwrap_or(list.slots.len());
                    let start =
                        list.slots.get(to).and_then(|&id| store.get(id)).map(|s| s.start_min);
                    c.advance_hint(seen, seen.extended(mask, from, to, start));
                })
            };
            giver.join().unwrap();
            scanner.join().unwrap();
            assert_eq!(store.check_index(&|_| (SpecialtyId(0), DistrictId(0), 0)), Ok(()));
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A scan hint: which head a requester's pools skip (the least of theirs; none with a
    /// quota pool), and how a scan's run of full slots moves each head only where it joins it.
    #[test]
    fn scan_hint_skips_and_extends_only_what_was_read() {
        let (g, r, q) =
            (1u8 << Pool::General as u8, 1u8 << Pool::Referral as u8, 1u8 << Pool::Quota0 as u8);
        let h = FreeHint(7 << FreeHint::GENERATION_SHIFT | 5 << FreeHint::GENERAL_SHIFT | 3);
        assert_eq!((h.full_head(Pool::General), h.full_head(Pool::Referral)), (5, 3));
        assert_eq!((h.skip(g), h.skip(r), h.skip(g | r)), (5, 3, 3));
        assert_eq!((h.skip(g | q), h.skip(q), h.skip(0)), (0, 0, 0), "a quota pool has no head");
        // A general-pool scan from 5 found slots 5..9 full, and slot 9 starts at 600: the
        // general head joins, with its start; the referral head (not asked) stays.
        let e = h.extended(g, 5, 9, Some(600));
        assert_eq!((e.full_head(Pool::General), e.full_head(Pool::Referral)), (9, 3));
        assert_eq!((e.general_start(), e.generation()), (600, 7));
        // The start bounds the general pool's places alone, and those of the general and
        // referral pools only where the general head is the lesser.
        assert_eq!((e.start_bound(g), e.start_bound(r), e.start_bound(g | r)), (600, 0, 0));
        assert_eq!((e.start_bound(g | q), e.start_bound(0)), (0, 0));
        let both = e.extended(r, 3, 12, Some(700));
        assert_eq!((both.start_bound(g | r), both.general_start()), (600, 600));
        // Never lowered, and kept where the start is unknown.
        assert_eq!(e.extended(g, 9, 11, Some(500)).general_start(), 600);
        assert_eq!(e.extended(g, 9, 11, None).general_start(), 600);
        // Forgotten: the next generation, both heads and the start back at 0.
        let f = e.forgotten();
        assert_eq!((f.generation(), f.skip(g | r), f.general_start()), (8, 0, 0));
        assert_eq!(FreeHint(u64::MAX).forgotten(), FreeHint(0), "the generation wraps");
        // Both pools read from 3 (the lesser head): both heads reach 8.
        let e = h.extended(g | r, 3, 8, None);
        assert_eq!((e.full_head(Pool::General), e.full_head(Pool::Referral)), (8, 8));
        // Read from 6: a gap after the general head (5) and the referral head (3) — neither moves.
        assert_eq!(h.extended(g | r, 6, 10, Some(900)), h);
        // Never backwards, and saturating at 16 bits (the start then unknown).
        assert_eq!(h.extended(g, 5, 4, Some(900)), h);
        let far = h.extended(g, 5, 1 << 20, Some(900));
        assert_eq!((far.full_head(Pool::General), far.general_start()), (u16::MAX as usize, 0));
    }

    /// A group-day's members live in blocks of 64, the first four inline and the rest in a
    /// growable vector: every member reads back across both, bits come out in member order,
    /// and a reset forgets them all.
    #[test]
    fn group_day_members_across_inline_and_further_blocks() {
        let g = GroupDay::default();
        assert_eq!(g.free_members().count(), 0);
        assert_eq!(g.counts(0), None, "no block yet");
        let members = [0u32, 1, 63, 64, 200, 255, 256, 300, 1_000];
        g.reserve(1_000);
        for &m in &members {
            g.set_counts(m, m * 10);
            g.free_word(m).unwrap().fetch_or(1 << (m % 64), Ordering::SeqCst);
        }
        for &m in &members {
            assert_eq!(g.counts(m), Some(m * 10), "member {m}");
        }
        assert_eq!(g.counts(2), None, "a member without a day");
        assert_eq!(g.counts(1_024), None, "past the last block");
        assert_eq!(g.free_members().collect::<Vec<_>>(), members);
        // Reserving less changes nothing; blocks are whole (members 1,001..1,023 exist).
        g.reserve(10);
        assert!(g.free_word(1_023).is_some() && g.free_word(1_024).is_none());
        g.reset();
        assert_eq!(g.free_members().count(), 0);
        assert!(members.iter().all(|&m| g.counts(m).is_none()));
    }
}
