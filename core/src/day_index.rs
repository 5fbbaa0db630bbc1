//! Which counters (`store::DayCounts`, by index) hold each department-day or resource-day:
//! a table per date, indexed by the id, instead of a hashed map keyed by (id, date).
//!
//! Why: ids are dense integers the engine hands out (issue 14: no hashing of engine ids on hot
//! paths). A query looks a department-day up for every date it reads; a `DashMap` lookup hashed
//! the key and took its shard's read lock — two atomic read-modify-writes on a line every
//! reader shares. Here it is a few dependent loads and no write. And memory: 4 B per id and
//! live date, where the two maps cost ~2.7 B a live slot on a province (an entry of 12 B and
//! its control byte, in tables up to twice the size of their contents).
//!
//! How: a date's table (`DateTable`) holds its ids in chunks of `CHUNK`, through a directory
//! (`ChunkDir`) that is replaced by a larger copy when an id beyond it appears; the tables are
//! reached through directories of `DIR_DATES` dates. Writes (publication, retirement) are
//! serialised by the caller (`SlotStore`); reads take no lock. Nothing is freed before the
//! index drops, so a reader never follows a pointer into freed memory: a retired date's table
//! is emptied and kept for a later date (live dates are a window — retention plus the booking
//! horizon — so tables are few), and a replaced directory is kept (the old copies add up to
//! less than the newest).
//!
//! A table carries its date, and a lookup reads it before and after the entry: a reader that
//! raced the retirement of its date and the table's reuse for another date gets nothing,
//! never the other date's counters (`get`).

use crate::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};
use crate::time::{Date, DATE_MAX};

/// The entry of an id without counters that date.
pub(crate) const NONE: u32 = u32::MAX;
/// Ids per chunk (small under loom, whose atomics are costly to make).
const CHUNK: usize = if cfg!(loom) { 4 } else { 1024 };
/// Dates per directory of dates.
const DIR_DATES: usize = 1024;
/// Directories of dates, for every date the engine accepts (`DATE_MIN` is 0).
const DATE_DIRS: usize = (DATE_MAX.0 as usize + 1).div_ceil(DIR_DATES);
/// `DateTable::date` of a table not in use.
const NO_DATE: i32 = i32::MIN;

struct Chunk([AtomicU32; CHUNK]);

struct ChunkDir(Box<[AtomicPtr<Chunk>]>);

struct DateTable {
    /// The date this table is for, `NO_DATE` while it is being emptied or reused.
    date: AtomicI32,
    chunks: AtomicPtr<ChunkDir>,
}

/// One pointer per date of the engine's calendar, in directories of `DIR_DATES` dates made as
/// dates are reached: a lookup by date is two dependent loads, no hashing and no lock. What the
/// pointers own, and when it may be freed, is the user's business (`DayIndex`: never before
/// the index drops; the day logs: after an epoch's grace period, `SlotStore::retire`).
pub(crate) struct DateSlots<T> {
    dirs: Box<[AtomicPtr<[AtomicPtr<T>; DIR_DATES]>]>,
}

impl<T> Default for DateSlots<T> {
    fn default() -> DateSlots<T> {
        DateSlots { dirs: (0..DATE_DIRS).map(|_| null()).collect() }
    }
}

impl<T> DateSlots<T> {
    /// The pointer of `date`, if its directory exists (none for dates outside the calendar).
    #[inline]
    pub fn get(&self, date: Date) -> Option<&AtomicPtr<T>> {
        let d = usize::try_from(date.0).ok()?;
        let dir = self.dirs.get(d / DIR_DATES)?.load(Ordering::Acquire);
        // Safety: directories are freed only by `drop` (`&mut self`).
        let dir = unsafe { dir.as_ref() }?;
        Some(&dir[d % DIR_DATES])
    }

    /// The pointer of `date`, its directory made if need be (by any thread: a racing maker's
    /// directory is dropped), or `None` outside the calendar.
    pub fn get_or_make(&self, date: Date) -> Option<&AtomicPtr<T>> {
        let d = usize::try_from(date.0).ok()?;
        let at = self.dirs.get(d / DIR_DATES)?;
        if at.load(Ordering::Acquire).is_null() {
            let dir = Box::into_raw(Box::new(std::array::from_fn(|_| null())));
            if at
                .compare_exchange(std::ptr::null_mut(), dir, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                // Safety: ours, never published.
                drop(unsafe { Box::from_raw(dir) });
            }
        }
        self.get(date)
    }
}

impl<T> Drop for DateSlots<T> {
    fn drop(&mut self) {
        for dir in self.dirs.iter() {
            let p = dir.load(Ordering::Relaxed);
            if !p.is_null() {
                // Safety: `&mut self`; made by `Box::into_raw` in `get_or_make`, freed once.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

/// What only the (serialised) writer touches: where memory is, to free it on drop.
#[derive(Default)]
struct Owned {
    /// Every table ever made (in use or spare) and every chunk directory, current or replaced.
    tables: Vec<*mut DateTable>,
    spare: Vec<*mut DateTable>,
    dirs: Vec<*mut ChunkDir>,
    /// The date range that may have tables in use (empty when `low > high`).
    low: i32,
    high: i32,
}

pub(crate) struct DayIndex {
    dates: DateSlots<DateTable>,
    owned: parking_lot::Mutex<Owned>,
}

// Safety: the raw pointers in `Owned` are only followed by the writer under the mutex and by
// `drop`; readers go through the atomics.
unsafe impl Send for DayIndex {}
unsafe impl Sync for DayIndex {}

fn null<T>() -> AtomicPtr<T> {
    AtomicPtr::new(std::ptr::null_mut())
}

impl Default for DayIndex {
    fn default() -> DayIndex {
        DayIndex {
            dates: DateSlots::default(),
            owned: parking_lot::Mutex::new(Owned {
                low: i32::MAX,
                high: i32::MIN,
                ..Owned::default()
            }),
        }
    }
}

impl DayIndex {
    /// The counters of `id` on `date`, if it has any.
    #[inline]
    pub fn get(&self, id: u32, date: Date) -> Option<u32> {
        let (table, entry) = self.entry(id, date)?;
        if table.date.load(Ordering::Acquire) != date.0 {
            return None;
        }
        let counts = entry.load(Ordering::Acquire);
        // Read again after the entry. The writer clears the date before it empties the table
        // (`retire_before`) and stores a new date before the new date's entries (`set`), each
        // store release; the entry was loaded acquire. So an entry written by either comes
        // with a date that reads otherwise now, and only an entry of `date` is answered. (A
        // retired date is never set again: its slots are not indexed, `SlotStore::add`.)
        (counts != NONE && table.date.load(Ordering::Acquire) == date.0).then_some(counts)
    }

    /// Ask for the line of `id`'s entry on `date` — `get`'s last load before the counters —
    /// without waiting for it: a caller about to look up many dates asks for all their entries
    /// first, so that their misses overlap (`Engine::free_places_by_day`). The loads before it
    /// (the date's table and chunk directory) are shared by every id of the date and mostly
    /// cached.
    #[inline]
    pub fn prefetch(&self, id: u32, date: Date) {
        // A table being reused for another date only makes the hint useless.
        if let Some((_, entry)) = self.entry(id, date) {
            crate::sync::prefetch(entry);
        }
    }

    /// The table that holds `date` now (or held it: the caller checks its date) and `id`'s
    /// entry in it, without reading the entry.
    #[inline]
    fn entry(&self, id: u32, date: Date) -> Option<(&DateTable, &AtomicU32)> {
        // Safety: tables, chunk directories and chunks are freed only by `drop`.
        let table = unsafe { self.dates.get(date)?.load(Ordering::Acquire).as_ref() }?;
        let chunks = unsafe { &*table.chunks.load(Ordering::Acquire) };
        let chunk = unsafe { chunks.0.get(id as usize / CHUNK)?.load(Ordering::Acquire).as_ref() }?;
        Some((table, &chunk.0[id as usize % CHUNK]))
    }

    /// Make `counts` the counters of `id` on `date` (serialised writers only).
    pub fn set(&self, id: u32, date: Date, counts: u32) {
        assert!(date.is_valid(), "dates are checked before their days are made");
        let mut owned = self.owned.lock();
        let slot = self.dates.get_or_make(date).expect("a date of the calendar");
        let mut table = slot.load(Ordering::Acquire);
        if table.is_null() {
            table = owned.spare.pop().unwrap_or_else(|| {
                let dir = Box::into_raw(Box::new(ChunkDir(Box::new([]))));
                owned.dirs.push(dir);
                let t = Box::into_raw(Box::new(DateTable {
                    date: AtomicI32::new(NO_DATE),
                    chunks: AtomicPtr::new(dir),
                }));
                owned.tables.push(t);
                t
            });
            // Safety: made or kept by this writer; only `drop` frees it.
            unsafe { &*table }.date.store(date.0, Ordering::Release);
            slot.store(table, Ordering::Release);
            owned.low = owned.low.min(date.0);
            owned.high = owned.high.max(date.0);
        }
        // Safety: as above.
        let table = unsafe { &*table };
        let c = id as usize / CHUNK;
        let mut chunks = table.chunks.load(Ordering::Acquire);
        // Safety: as above.
        if unsafe { &*chunks }.0.len() <= c {
            // A larger copy (doubling: the old copies add up to less than the new one); the
            // old one stays for readers that hold it.
            let old = unsafe { &*chunks };
            let len = (c + 1).max(old.0.len() * 2);
            let grown: Box<[AtomicPtr<Chunk>]> = (0..len)
                .map(|i| {
                    AtomicPtr::new(
                        old.0.get(i).map_or(std::ptr::null_mut(), |p| p.load(Ordering::Acquire)),
                    )
                })
                .collect();
            chunks = Box::into_raw(Box::new(ChunkDir(grown)));
            owned.dirs.push(chunks);
            table.chunks.store(chunks, Ordering::Release);
        }
        // Safety: as above.
        let entry = &unsafe { &*chunks }.0[c];
        if entry.load(Ordering::Acquire).is_null() {
            let chunk = Box::new(Chunk(std::array::from_fn(|_| AtomicU32::new(NONE))));
            entry.store(Box::into_raw(chunk), Ordering::Release);
        }
        // Safety: as above.
        unsafe { &*entry.load(Ordering::Acquire) }.0[id as usize % CHUNK]
            .store(counts, Ordering::Release);
    }

    /// Take every date before `before` out, passing each entry's counters to `freed`; the
    /// tables are emptied and kept for later dates (serialised writers only).
    pub fn retire_before(&self, before: Date, freed: &mut impl FnMut(u32)) {
        let mut owned = self.owned.lock();
        let upto = before.0.min(owned.high.saturating_add(1));
        for d in owned.low..upto.max(owned.low) {
            let Some(slot) = self.dates.get(Date(d)) else { continue };
            let table = slot.load(Ordering::Acquire);
            if table.is_null() {
                continue;
            }
            // Out of reach for new readers, then marked (readers that hold it see the date
            // change), then emptied.
            slot.store(std::ptr::null_mut(), Ordering::Release);
            // Safety: tables are freed only by `drop`.
            let t = unsafe { &*table };
            t.date.store(NO_DATE, Ordering::Release);
            Self::entries(t, |_, e| {
                let counts = e.swap(NONE, Ordering::AcqRel);
                if counts != NONE {
                    freed(counts);
                }
            });
            owned.spare.push(table);
        }
        owned.low = owned.low.max(before.0);
    }

    /// Each entry (set or not) of a table's chunks, with its id.
    fn entries(table: &DateTable, mut f: impl FnMut(u32, &AtomicU32)) {
        // Safety: chunk directories and chunks are freed only by `drop`.
        let chunks = unsafe { &*table.chunks.load(Ordering::Acquire) };
        for (c, chunk) in chunks.0.iter().enumerate() {
            if let Some(chunk) = unsafe { chunk.load(Ordering::Acquire).as_ref() } {
                for (i, e) in chunk.0.iter().enumerate() {
                    f((c * CHUNK + i) as u32, e);
                }
            }
        }
    }

    /// Every entry: (id, date, counters), by date then id (checks; not for hot paths).
    pub fn for_each(&self, mut f: impl FnMut(u32, Date, u32)) {
        let (low, high) = {
            let owned = self.owned.lock();
            (owned.low, owned.high)
        };
        for d in low..=high {
            let Some(table) = self.dates.get(Date(d)).map(|s| s.load(Ordering::Acquire)) else {
                continue;
            };
            // Safety: tables are freed only by `drop`.
            if let Some(t) = unsafe { table.as_ref() } {
                Self::entries(t, |id, e| {
                    let counts = e.load(Ordering::Acquire);
                    if counts != NONE {
                        f(id, Date(d), counts);
                    }
                });
            }
        }
    }
}

impl Drop for DayIndex {
    fn drop(&mut self) {
        let owned = self.owned.get_mut();
        // Safety: `&mut self`: no reader is left. Every pointer came from `Box::into_raw`
        // and is listed once: chunks in the current directory of their table (a replaced
        // directory shares its chunks with the newer one, so only current ones are walked).
        unsafe {
            for &t in &owned.tables {
                let chunks = &*(*t).chunks.load(Ordering::Relaxed);
                for chunk in chunks.0.iter() {
                    let p = chunk.load(Ordering::Relaxed);
                    if !p.is_null() {
                        drop(Box::from_raw(p));
                    }
                }
                drop(Box::from_raw(t));
            }
            for &dir in &owned.dirs {
                drop(Box::from_raw(dir));
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_by_id_and_date_and_retired_dates_are_gone() {
        let index = DayIndex::default();
        let day = Date(20_000);
        assert_eq!(index.get(7, day), None);
        index.set(7, day, 70);
        index.set(3_000, day, 30); // beyond the first chunk directory: it grows
        index.set(7, day.plus_days(1), 71);
        assert_eq!(index.get(7, day), Some(70));
        assert_eq!(index.get(3_000, day), Some(30));
        assert_eq!(index.get(8, day), None);
        assert_eq!(index.get(7, day.plus_days(1)), Some(71));
        assert_eq!(index.get(7, Date(-1)), None);
        assert_eq!(index.get(7, Date(i32::MAX)), None);
        let mut all = Vec::new();
        index.for_each(|id, date, c| all.push((id, date, c)));
        assert_eq!(all, vec![(7, day, 70), (3_000, day, 30), (7, day.plus_days(1), 71)]);
        let mut freed = Vec::new();
        index.retire_before(day.plus_days(1), &mut |c| freed.push(c));
        freed.sort();
        assert_eq!(freed, vec![30, 70]);
        assert_eq!(index.get(7, day), None);
        assert_eq!(index.get(7, day.plus_days(1)), Some(71));
        // The retired table is reused, empty, for a new date.
        index.set(5, day.plus_days(9), 59);
        assert_eq!(index.get(7, day.plus_days(9)), None);
        assert_eq!(index.get(3_000, day.plus_days(9)), None);
        assert_eq!(index.get(5, day.plus_days(9)), Some(59));
        assert_eq!(index.owned.lock().tables.len(), 2, "a spare table was reused");
    }
}
