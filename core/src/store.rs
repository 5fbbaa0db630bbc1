//! Where slots live and how they are found.
//!
//! Slots sit in an append-only `boxcar::Vec`: a `SlotId` is an index, reading a slot is
//! lock-free, and a slot never moves. Two sharded indexes (department-day and resource-day)
//! list slot ids in start order; they change only when slots are published.
//!
//! The *day log* records, per visit date, which patient tried to take a place in which slot. It
//! is appended under the patient's lock *before* the slot claim, which is what lets a provider
//! suspension find every booking of a session without a global booking map: any claim that won
//! before the slot was closed appended its entry first (see `Engine::suspend_session`).

use crate::chunked::ChunkedVec;
use crate::ids::*;
use crate::model::Pool;
use crate::slot::{ClaimError, Dealt, Slot};
use crate::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use crate::time::Date;

/// Most slots in one engine (ids are u32).
pub const SLOTS_MAX: usize = u32::MAX as usize - 1;

/// Availability counters of one department-day or resource-day: kept on every claim, release
/// and close of its slots (the `SlotStore` methods below are the only way to change a slot's
/// counter), so that "how many places are free?" is a few atomic reads instead of a scan.
///
/// A counter may trail a racing claim for a moment (the slot's compare-and-swap stays the only
/// authority on a place); once operations quiesce it equals a recount of the slots
/// (`SlotStore::check_index`, run by the workload runner after every step).
#[derive(Debug, Default)]
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
}

impl DayCounts {
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

    fn add_free(&self, pool: Pool, n: i32) {
        self.free[pool as usize].fetch_add(n, Ordering::AcqRel);
    }

    fn add_closed_taken(&self, n: i32) {
        if n >= 0 {
            self.closed_taken.fetch_add(n as u32, Ordering::AcqRel);
        } else {
            self.closed_taken.fetch_sub(n.unsigned_abs(), Ordering::AcqRel);
        }
    }
}

/// The slots of a department-day or resource-day in start order, and where its counters are.
#[derive(Debug, Clone)]
pub(crate) struct DayList {
    pub slots: Vec<SlotId>,
    /// Index into `SlotStore::days` (`NO_COUNTS` until the first slot is added).
    pub counts: u32,
}

const NO_COUNTS: u32 = u32::MAX;

impl Default for DayList {
    fn default() -> DayList {
        DayList { slots: Vec::new(), counts: NO_COUNTS }
    }
}

pub(crate) struct SlotStore {
    /// In fixed-size chunks (`chunked.rs`): lock-free reads by index, no doubling slack.
    pub slots: ChunkedVec<Slot>,
    pub by_department_day: IdMap<(DepartmentId, Date), DayList>,
    pub by_resource_day: IdMap<(ResourceId, Date), DayList>,
    /// The counters of every department-day and resource-day, appended as days appear and
    /// addressed by index from the slots and the lists: no hashing on a claim or a release.
    pub days: boxcar::Vec<DayCounts>,
    pub day_log: IdMap<Date, boxcar::Vec<(SlotId, PatientId)>>,
    /// Where the dealing of each resource-day's reserved places stands (`slot::pool_sizes`):
    /// saves re-dealing a day from its first place at every publication. Derived state — a
    /// missing entry is rebuilt from the day's slots — so neither journaled nor snapshotted.
    pub dealt: IdMap<(ResourceId, Date), Dealt>,
}

impl Default for SlotStore {
    fn default() -> SlotStore {
        SlotStore {
            slots: ChunkedVec::with_max(SLOTS_MAX),
            by_department_day: IdMap::default(),
            by_resource_day: IdMap::default(),
            days: boxcar::Vec::new(),
            day_log: IdMap::default(),
            dealt: IdMap::default(),
        }
    }
}

impl SlotStore {
    pub fn get(&self, id: SlotId) -> Option<&Slot> {
        self.slots.get(id.index()?)
    }

    pub fn count(&self) -> usize {
        self.slots.count()
    }

    pub fn day_counts(&self, index: u32) -> &DayCounts {
        &self.days[index as usize]
    }

    /// The counters of `list`'s day, created with its first slot.
    fn counts_of(&self, list: &mut DayList) -> u32 {
        if list.counts == NO_COUNTS {
            let index = self.days.push(DayCounts::default());
            list.counts = u32::try_from(index).expect("fewer days than slots, and slots are u32");
        }
        list.counts
    }

    /// Add published (or restored) slots, in id order, to the store and both indexes: each
    /// slot's day counters are found or created and charged with its places *before* the slot
    /// becomes visible, so no claim can reach a slot its counters do not yet count. Called
    /// under the publish lock (live) or single-threaded (replay, restore): never concurrently.
    /// Returns the first new id.
    pub fn add(&self, slots: Vec<Slot>) -> usize {
        let first = self.count();
        let mut ids = Vec::with_capacity(slots.len());
        for (i, mut slot) in slots.into_iter().enumerate() {
            let id = SlotId::from_index(first + i);
            slot.dept_day = self.counts_of(
                &mut self.by_department_day.entry((slot.department, slot.date)).or_default(),
            );
            slot.res_day = self.counts_of(
                &mut self.by_resource_day.entry((slot.resource, slot.date)).or_default(),
            );
            let taken = slot.taken();
            let taken_total: u32 = taken.iter().map(|&t| t as u32).sum();
            let sizes_total: u32 = slot.sizes.iter().map(|&t| t as u32).sum();
            for index in [slot.dept_day, slot.res_day] {
                let c = self.day_counts(index);
                if slot.is_closed() {
                    c.add_closed_taken(taken_total as i32);
                } else {
                    for p in Pool::ALL {
                        c.add_free(p, slot.sizes[p as usize] as i32 - taken[p as usize] as i32);
                    }
                    c.open_sizes.fetch_add(sizes_total, Ordering::AcqRel);
                }
                c.places.fetch_add(slot.capacity as u32, Ordering::AcqRel);
            }
            // Callers check `SLOTS_MAX` before adding, and publication is serialised, so the
            // push succeeds and the ids are the ones announced.
            let pushed = self.slots.push(slot).expect("callers keep within SLOTS_MAX");
            assert_eq!(pushed, first + i, "slots are added by one thread at a time");
            ids.push(id);
        }
        self.index(&ids);
        first
    }

    /// Take a place (see `Slot::claim`), and count it in the slot's days.
    pub fn claim(&self, slot: &Slot, order: &[Pool]) -> Result<Pool, ClaimError> {
        let pool = slot.claim(order)?;
        self.charge(slot, pool, true, 1);
        Ok(pool)
    }

    /// Give a place back (see `Slot::release`), and count it in the slot's days.
    pub fn release(&self, slot: &Slot, pool: Pool) {
        let open = slot.release(pool);
        self.charge(slot, pool, open, -1);
    }

    /// Replay: `Slot::force_take`, counted.
    pub fn force_take(&self, slot: &Slot, pool: Pool) -> bool {
        slot.force_take(pool).map(|open| self.charge(slot, pool, open, 1)).is_some()
    }

    /// Replay: `Slot::force_release`, counted.
    pub fn force_release(&self, slot: &Slot, pool: Pool) -> bool {
        slot.force_release(pool).map(|open| self.charge(slot, pool, open, -1)).is_some()
    }

    /// Close a slot (provider suspension): what was free in it stops counting as free.
    /// Returns false if it was closed already.
    pub fn close(&self, slot: &Slot) -> bool {
        let Some(taken) = slot.close_taking() else { return false };
        let taken_total: u32 = taken.iter().map(|&t| t as u32).sum();
        let sizes_total: u32 = slot.sizes.iter().map(|&t| t as u32).sum();
        for index in [slot.dept_day, slot.res_day] {
            let c = self.day_counts(index);
            for p in Pool::ALL {
                c.add_free(p, -(slot.sizes[p as usize] as i32 - taken[p as usize] as i32));
            }
            c.open_sizes.fetch_sub(sizes_total, Ordering::AcqRel);
            c.add_closed_taken(taken_total as i32);
        }
        true
    }

    /// `taken` places more (or fewer, if negative) in `pool` of `slot`: the free count moves
    /// only if the slot was open at that change.
    fn charge(&self, slot: &Slot, pool: Pool, open: bool, taken: i32) {
        for index in [slot.dept_day, slot.res_day] {
            let c = self.day_counts(index);
            if open {
                c.add_free(pool, -taken);
            } else {
                c.add_closed_taken(taken);
            }
        }
    }

    /// Recount every day's counters from its slots and compare: `Err` names the first day that
    /// differs. O(slots): for tests (`Engine::check_availability_index`), never on a hot path.
    pub fn check_index(&self) -> Result<(), String> {
        let recount = |what: String, list: &DayList| -> Result<(), String> {
            let (mut free, mut taken, mut places) = ([0i64; 4], 0u64, 0u64);
            for &id in &list.slots {
                let s = self.get(id).ok_or_else(|| format!("{what}: lists unknown {id}"))?;
                let t = s.taken();
                if !s.is_closed() {
                    for p in Pool::ALL {
                        free[p as usize] += s.sizes[p as usize] as i64 - t[p as usize] as i64;
                    }
                }
                taken += t.iter().map(|&x| x as u64).sum::<u64>();
                places += s.capacity as u64;
            }
            let c = self.day_counts(list.counts);
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
        for e in self.by_department_day.iter() {
            recount(format!("{} on {}", e.key().0, e.key().1), e.value())?;
            for &id in &e.value().slots {
                if self.get(id).is_some_and(|s| s.dept_day != e.value().counts) {
                    return Err(format!("{id} points at another department-day's counters"));
                }
            }
        }
        for e in self.by_resource_day.iter() {
            recount(format!("{} on {}", e.key().0, e.key().1), e.value())?;
            for &id in &e.value().slots {
                if self.get(id).is_some_and(|s| s.res_day != e.value().counts) {
                    return Err(format!("{id} points at another resource-day's counters"));
                }
            }
        }
        Ok(())
    }

    /// Insert ids (already in `slots`) into both indexes, keeping each list in start order.
    fn index(&self, ids: &[SlotId]) {
        let mut by_dept: rustc_hash::FxHashMap<(DepartmentId, Date), Vec<SlotId>> =
            Default::default();
        let mut by_res: rustc_hash::FxHashMap<(ResourceId, Date), Vec<SlotId>> = Default::default();
        for &id in ids {
            let s = self.get(id).expect("indexed slots exist");
            by_dept.entry((s.department, s.date)).or_default().push(id);
            by_res.entry((s.resource, s.date)).or_default().push(id);
        }
        let order = |a: &SlotId, b: &SlotId| {
            let (x, y) = (self.get(*a).expect("exists"), self.get(*b).expect("exists"));
            (x.start_min, x.resource, a.0).cmp(&(y.start_min, y.resource, b.0))
        };
        for (key, new) in by_dept {
            let mut list = self.by_department_day.entry(key).or_default();
            list.slots.extend(new);
            list.slots.sort_by(order);
        }
        for (key, new) in by_res {
            let mut list = self.by_resource_day.entry(key).or_default();
            list.slots.extend(new);
            list.slots.sort_by(order);
        }
    }

    pub fn log_attempt(&self, date: Date, slot: SlotId, patient: PatientId) {
        // A shared (read) guard on the common path: `boxcar` appends through `&self`.
        if let Some(log) = self.day_log.get(&date) {
            log.push((slot, patient));
            return;
        }
        self.day_log.entry(date).or_default().push((slot, patient));
    }

    /// Slot ids of a resource-day in start order (empty if none).
    pub fn resource_day(&self, resource: ResourceId, date: Date) -> Vec<SlotId> {
        self.by_resource_day.get(&(resource, date)).map(|l| l.slots.clone()).unwrap_or_default()
    }
}
