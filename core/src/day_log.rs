//! The day log: who tried for a place on one date, appended by every claim before it tries
//! (`SlotStore::log_attempt`), read by whatever must find the patients who may hold a place
//! that day — a provider's suspension, an audit of a slot's bookings, retention.
//!
//! One entry per attempt, written on the booking path by racing threads, so the log appends
//! without a lock. It is its own type, not a `boxcar::Vec`, for memory: boxcar keeps a flag
//! beside each entry (a `(SlotId, PatientId)` took 12 bytes) and doubles its buckets (a day's
//! last bucket mostly empty), about 25 bytes a booking on a province; here an entry is one
//! `u64` in fixed chunks of [`CHUNK`] entries, allocated zeroed as the log reaches them, and 0
//! marks an entry reserved but not yet written (a slot id is never 0).
//!
//! Why a reader may skip an entry still being written: a claim writes its entry (release)
//! before its compare-and-swap on the slot, so whoever saw that swap — a close that came after
//! it in the slot word's order — sees the entry; an entry not yet written belongs to a claim
//! that has not swapped yet, and will find the slot closed.

use crate::ids::{PatientId, SlotId};
// The standard atomics even in a loom build (`sync.rs`): chunks are allocated zeroed, which is
// a valid standard atomic but not a loom one; no loom model reaches the log.
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// Entries per chunk (8 KB): a host with a few hundred attempts a day pays one chunk a day.
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
/// Chunk pointers per page of the directory (4 KB), allocated as the log reaches them.
const PAGE_BITS: u32 = 9;
const PAGE: usize = 1 << PAGE_BITS;
/// Pages of the directory: the top level, fixed, so it never moves under a reader.
const PAGES: usize = 512;
/// Most attempts one day's log holds: 268 M, some 90 times a province's bookings in a day.
/// Past it an attempt is refused (`SlotStore::log_attempt` says so), never left unlogged.
pub(crate) const DAY_LOG_MAX: usize = PAGES * PAGE * CHUNK;

type Chunk = [AtomicU64; CHUNK];
type Page = [AtomicPtr<Chunk>; PAGE];

pub(crate) struct DayLog {
    /// Entries reserved (some may still be being written); past `DAY_LOG_MAX` when refused
    /// attempts have counted on.
    len: AtomicUsize,
    pages: Box<[AtomicPtr<Page>]>,
}

impl Default for DayLog {
    fn default() -> DayLog {
        DayLog {
            len: AtomicUsize::new(0),
            pages: (0..PAGES).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
        }
    }
}

impl std::fmt::Debug for DayLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DayLog").field("len", &self.len()).finish()
    }
}

/// An entry's word: the slot above the patient. Never 0, the mark of an unwritten entry.
fn pack(slot: SlotId, patient: PatientId) -> u64 {
    debug_assert_ne!(slot.0, 0, "slot ids start at 1");
    (slot.0 as u64) << 32 | patient.0 as u64
}

fn unpack(word: u64) -> (SlotId, PatientId) {
    (SlotId((word >> 32) as u32), PatientId(word as u32))
}

/// A zeroed `T` on the heap, as a raw pointer: `T` is an array of atomics (chunk) or of
/// atomic pointers (page), for which all-zero bytes are 0 and null.
fn zeroed<T>() -> *mut T {
    let layout = std::alloc::Layout::new::<T>();
    // Safety: the layout is of a non-zero-sized array; a null return is handled.
    let p = unsafe { std::alloc::alloc_zeroed(layout) } as *mut T;
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    p
}

/// The `T` at `slot`, allocated zeroed and installed if none is yet; of two racing installs
/// the loser frees its own.
fn get_or_install<T>(slot: &AtomicPtr<T>) -> *mut T {
    let p = slot.load(Ordering::Acquire);
    if !p.is_null() {
        return p;
    }
    let fresh = zeroed::<T>();
    match slot.compare_exchange(std::ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(theirs) => {
            // Safety: `fresh` was never published; it is ours alone.
            unsafe { std::alloc::dealloc(fresh as *mut u8, std::alloc::Layout::new::<T>()) };
            theirs
        }
    }
}

impl DayLog {
    /// Log an attempt. False (nothing logged) when the day's log is full: the caller refuses
    /// the attempt, since a place taken unlogged could not be found by a close.
    pub fn push(&self, slot: SlotId, patient: PatientId) -> bool {
        let i = self.len.fetch_add(1, Ordering::AcqRel);
        if i >= DAY_LOG_MAX {
            return false;
        }
        let page = get_or_install(&self.pages[i >> (CHUNK_BITS + PAGE_BITS)]);
        // Safety: a page pointer, once installed, points at a live zeroed `Page` until drop.
        let chunk_ptr = unsafe { &(*page)[(i >> CHUNK_BITS) & (PAGE - 1)] };
        let chunk = get_or_install(chunk_ptr);
        // Safety: likewise for a chunk; entry `i` is this call's alone (the `fetch_add`).
        unsafe { (*chunk)[i & (CHUNK - 1)].store(pack(slot, patient), Ordering::Release) };
        true
    }

    /// Entries reserved so far, written or not (at most `DAY_LOG_MAX`).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire).min(DAY_LOG_MAX)
    }

    /// The attempts logged, in the order their entries were reserved; an entry still being
    /// written is skipped (see the module's documentation for why that is safe).
    pub fn iter(&self) -> impl Iterator<Item = (SlotId, PatientId)> + '_ {
        let n = self.len();
        (0..n.div_ceil(CHUNK)).flat_map(move |c| {
            let page = self.pages[c >> PAGE_BITS].load(Ordering::Acquire);
            let chunk = if page.is_null() {
                std::ptr::null_mut()
            } else {
                // Safety: as in `push`.
                unsafe { (*page)[c & (PAGE - 1)].load(Ordering::Acquire) }
            };
            let entries = if chunk.is_null() { 0 } else { (n - c * CHUNK).min(CHUNK) };
            (0..entries).filter_map(move |e| {
                // Safety: as in `push`; `chunk` is not null when `entries` > 0.
                let word = unsafe { (*chunk)[e].load(Ordering::Acquire) };
                (word != 0).then(|| unpack(word))
            })
        })
    }

    /// Bytes allocated: the directory, the pages and the chunks.
    #[cfg(test)]
    fn allocated_bytes(&self) -> usize {
        let mut bytes = PAGES * std::mem::size_of::<AtomicPtr<Page>>();
        for page in self.pages.iter() {
            let page = page.load(Ordering::Acquire);
            if page.is_null() {
                continue;
            }
            bytes += std::mem::size_of::<Page>();
            // Safety: as in `push`.
            for chunk in unsafe { (*page).iter() } {
                if !chunk.load(Ordering::Acquire).is_null() {
                    bytes += std::mem::size_of::<Chunk>();
                }
            }
        }
        bytes
    }
}

impl Drop for DayLog {
    fn drop(&mut self) {
        for page in self.pages.iter() {
            let page = page.load(Ordering::Acquire);
            if page.is_null() {
                continue;
            }
            // Safety: `&mut self`: no pusher or reader is left; every non-null pointer was
            // allocated by `zeroed` with its type's layout and is freed once, here.
            unsafe {
                for chunk in (*page).iter() {
                    let chunk = chunk.load(Ordering::Acquire);
                    if !chunk.is_null() {
                        std::alloc::dealloc(chunk as *mut u8, std::alloc::Layout::new::<Chunk>());
                    }
                }
                std::alloc::dealloc(page as *mut u8, std::alloc::Layout::new::<Page>());
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn entry(i: usize) -> (SlotId, PatientId) {
        (SlotId(i as u32 % 1_000 + 1), PatientId(i as u32))
    }

    #[test]
    fn entries_read_back_in_order_across_chunks() {
        let log = DayLog::default();
        assert_eq!(log.iter().count(), 0);
        let n = 3 * CHUNK + 5;
        for i in 0..n {
            assert!(log.push(entry(i).0, entry(i).1));
        }
        assert_eq!(log.len(), n);
        let got: Vec<_> = log.iter().collect();
        assert_eq!(got, (0..n).map(entry).collect::<Vec<_>>());
        // The directory, one page and four chunks: 8 bytes an entry plus at most a chunk.
        let bytes = PAGES * 8 + PAGE * 8 + 4 * CHUNK * 8;
        assert_eq!(log.allocated_bytes(), bytes);
        // The largest ids round-trip (patient in the low half, slot in the high).
        let big = DayLog::default();
        big.push(SlotId(u32::MAX), PatientId(u32::MAX));
        assert_eq!(big.iter().collect::<Vec<_>>(), vec![(SlotId(u32::MAX), PatientId(u32::MAX))]);
    }

    #[test]
    fn racing_pushes_are_all_kept_and_readers_see_only_written_entries() {
        let log = Arc::new(DayLog::default());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        assert!(log.push(SlotId(t + 1), PatientId(i)));
                        if i % 500 == 0 {
                            // Whatever a reader sees mid-race is a written entry.
                            assert!(log.iter().all(|(s, _)| (1..=4).contains(&s.0)));
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut got: Vec<_> = log.iter().map(|(s, p)| (s.0, p.0)).collect();
        got.sort_unstable();
        let mut want: Vec<_> = (1..=4).flat_map(|t| (0..5_000).map(move |i| (t, i))).collect();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn a_full_log_refuses_and_keeps_what_it_has() {
        let log = DayLog::default();
        // Pretend the log is one entry short of full (the memory of 268 M entries is not
        // needed to test the bound): the last entry is taken, the next refused.
        log.len.store(DAY_LOG_MAX - 1, Ordering::Relaxed);
        assert!(log.push(SlotId(1), PatientId(7)));
        assert!(!log.push(SlotId(1), PatientId(8)));
        assert!(!log.push(SlotId(1), PatientId(9)));
        assert_eq!(log.len(), DAY_LOG_MAX);
        // Only the last page and chunk exist; reading walks the directory without touching
        // the unallocated ones.
        assert_eq!(log.iter().collect::<Vec<_>>(), vec![(SlotId(1), PatientId(7))]);
    }
}
