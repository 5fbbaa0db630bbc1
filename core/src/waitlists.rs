//! The waitlists (state): entries per department in offer order (`waitlist.rs` joins, offers
//! and leaves them).

use crate::ids::*;
use crate::model::WaitlistEntry;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Most entries one department's waitlist holds.
pub const WAITLIST_PER_DEPARTMENT_MAX: usize = 1_000_000;
#[derive(Default)]
pub(crate) struct Waitlists {
    /// Per department, sorted by (priority, id).
    pub(crate) lists: IdMap<DepartmentId, Vec<WaitlistEntry>>,
    where_is: IdMap<WaitlistId, DepartmentId>,
    pub(crate) next: AtomicU64,
    /// Entries on all lists. Every cancel and expiry asks for a waiting patient; with nobody
    /// waiting this one load answers it, instead of a map lookup on the booking path.
    entries: AtomicUsize,
}

impl Waitlists {
    pub(crate) fn insert(&self, entry: WaitlistEntry) {
        self.where_is.insert(entry.id, entry.request.department);
        let mut list = self.lists.entry(entry.request.department).or_default();
        let at = list.partition_point(|e| (e.priority, e.id) < (entry.priority, entry.id));
        list.insert(at, entry);
        self.entries.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether anybody waits anywhere: one load, so that the booking path skips the lookup.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.load(Ordering::Relaxed) == 0
    }

    pub(crate) fn remove(&self, id: WaitlistId) -> Option<WaitlistEntry> {
        let (_, department) = self.where_is.remove(&id)?;
        let mut list = self.lists.get_mut(&department)?;
        let i = list.iter().position(|e| e.id == id)?;
        self.entries.fetch_sub(1, Ordering::Relaxed);
        Some(list.remove(i))
    }
}
