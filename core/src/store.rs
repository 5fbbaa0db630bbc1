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

use crate::ids::*;
use crate::slot::{Dealt, Slot};
use crate::time::Date;

/// Most slots in one engine (ids are u32).
pub const SLOTS_MAX: usize = u32::MAX as usize - 1;

#[derive(Default)]
pub(crate) struct SlotStore {
    pub slots: boxcar::Vec<Slot>,
    pub by_department_day: IdMap<(DepartmentId, Date), Vec<SlotId>>,
    pub by_resource_day: IdMap<(ResourceId, Date), Vec<SlotId>>,
    pub day_log: IdMap<Date, boxcar::Vec<(SlotId, PatientId)>>,
    /// Where the dealing of each resource-day's reserved places stands (`slot::pool_sizes`):
    /// saves re-dealing a day from its first place at every publication. Derived state — a
    /// missing entry is rebuilt from the day's slots — so neither journaled nor snapshotted.
    pub dealt: IdMap<(ResourceId, Date), Dealt>,
}

impl SlotStore {
    pub fn get(&self, id: SlotId) -> Option<&Slot> {
        self.slots.get(id.index()?)
    }

    pub fn count(&self) -> usize {
        self.slots.count()
    }

    /// Insert ids (already in `slots`) into both indexes, keeping each list in start order.
    pub fn index(&self, ids: &[SlotId]) {
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
            list.extend(new);
            list.sort_by(order);
        }
        for (key, new) in by_res {
            let mut list = self.by_resource_day.entry(key).or_default();
            list.extend(new);
            list.sort_by(order);
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
        self.by_resource_day.get(&(resource, date)).map(|l| l.clone()).unwrap_or_default()
    }
}
