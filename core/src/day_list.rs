//! A day's slot list (`store::DayCounts::list`) in one allocation: its header (length,
//! counters, first and last start) followed by the slot ids, exactly sized.
//!
//! Why: a query reads a day's ids by following `DayCounts::list`. With the ids in a `Vec` that
//! was two dependent cache misses per day (the list's header, then the vector's buffer) and two
//! allocations per day; on a province pool the department-day query was 20% slower for it.
//! Here the header and the first ids share a cache line, and a list of n ids costs 12 + 4n
//! bytes.
//!
//! How: `DayList` is a dynamically sized type (`repr(C)`, a slice as its last field), so a
//! `&DayList` is a fat pointer whose length is the list's. `crossbeam_epoch::Atomic` holds a
//! thin pointer (a `usize`), so the list keeps its length in its header, and `Pointable` below
//! rebuilds the fat pointer from it (crossbeam does the same for `[MaybeUninit<T>]`).
//!
//! Safety argument, in one place: `init` allocates `DayList::layout(n)` and writes every field
//! (header and all n ids) before returning the address; `layout(n)` is the size and alignment
//! the compiler gives a `DayList` of n ids (`repr(C)`; checked against `Layout::for_value` in a
//! debug assertion and the tests), so a fat pointer of length n built from that address stays
//! inside the allocation. `len` is private and written only by `init`, so the length read back
//! is the one allocated for; `drop` frees with `layout` of that same length. The ids are
//! `Copy` (no destructor to run). Nothing else makes a `DayList`: the type cannot be built by
//! a struct expression outside this module (private field) and has no `Clone`.

use crate::ids::SlotId;
use crossbeam_epoch::{Owned, Pointable};
use std::alloc::{self, Layout};
use std::ptr;

/// The slots of a department-day or resource-day in start order, and where its counters are
/// (which hold this list: `DayCounts::list`). Made by `DayList::new` and never changed after:
/// publication replaces a list whole. `S` is only for the header's layout (`Header`); every
/// list is a `DayList` (of `[SlotId]`).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct DayList<S: ?Sized = [SlotId]> {
    /// `slots.len()`, kept in the allocation for `Pointable::deref` (see the module comment).
    len: u32,
    /// Index into `SlotStore::days`.
    pub counts: u32,
    /// The start (minutes) of the first and of the last slot of `slots`, kept with the list
    /// so that a query can tell days' shapes apart without reading a slot (`day_pools_memo`).
    pub starts: (u16, u16),
    /// The day's slot ids in start order, then id: the order of a query's answer.
    pub slots: S,
}

/// A `DayList` without ids: what comes before the first id, with the same layout (`repr(C)`,
/// and `[SlotId; 0]` has the alignment of `[SlotId]`).
type Header = DayList<[SlotId; 0]>;

// The ids have no destructor: `Pointable::drop` only frees the memory.
const _: () = assert!(!std::mem::needs_drop::<SlotId>());

/// What a `DayList` is made of (`Pointable::Init`, through `DayList::new`).
pub(crate) struct DayListParts {
    pub counts: u32,
    pub starts: (u16, u16),
    pub slots: Vec<SlotId>,
}

impl DayList {
    /// A new list, to be published into `DayCounts::list`. Panics past u32::MAX ids (a day
    /// holds far fewer: ids themselves are u32).
    pub fn new(counts: u32, starts: (u16, u16), slots: Vec<SlotId>) -> Owned<DayList> {
        Owned::init(DayListParts { counts, starts, slots })
    }

    /// Size and alignment of a list of `n` ids: the header, then the ids, padded to the
    /// alignment — the layout `repr(C)` gives the type.
    fn layout(n: usize) -> Layout {
        let ids = Layout::array::<SlotId>(n).expect("a day's ids fit in memory");
        let (layout, offset) = Layout::new::<Header>().extend(ids).expect("fits in memory");
        debug_assert_eq!(offset, std::mem::offset_of!(Header, slots));
        layout.pad_to_align()
    }

    /// The number of ids of the list at `ptr` (an address `init` returned).
    ///
    /// # Safety
    /// `ptr` came from `init` and has not been passed to `drop`.
    unsafe fn len(ptr: usize) -> usize {
        // Safety: the header was written by `init` and is not freed yet (the caller's
        // promise); `len` is never written after `init`, so reading it races nothing.
        unsafe { ptr::addr_of!((*(ptr as *const Header)).len).read() as usize }
    }

    /// The list at `ptr`, as a fat pointer of its own length.
    ///
    /// # Safety
    /// As `len`.
    unsafe fn raw(ptr: usize) -> *mut DayList {
        // Safety: the caller's promise.
        let len = unsafe { DayList::len(ptr) };
        ptr::slice_from_raw_parts_mut(ptr as *mut SlotId, len) as *mut DayList
    }
}

impl Pointable for DayList {
    const ALIGN: usize = std::mem::align_of::<Header>();

    type Init = DayListParts;

    unsafe fn init(parts: DayListParts) -> usize {
        let n = parts.slots.len();
        let len = u32::try_from(n).expect("fewer ids in a day than u32::MAX");
        let layout = DayList::layout(n);
        // Safety: `layout` has a non-zero size (the header's 12 bytes at least).
        let raw = unsafe { alloc::alloc(layout) };
        if raw.is_null() {
            alloc::handle_alloc_error(layout);
        }
        let list = ptr::slice_from_raw_parts_mut(raw.cast::<SlotId>(), n) as *mut DayList;
        // Safety: `raw` is a fresh allocation of `layout`, the layout of a `DayList` of n ids,
        // aligned for it; each field is written through a raw place (no reference to the
        // uninitialised memory), the ids from a vector of exactly n that cannot overlap it.
        unsafe {
            ptr::addr_of_mut!((*list).len).write(len);
            ptr::addr_of_mut!((*list).counts).write(parts.counts);
            ptr::addr_of_mut!((*list).starts).write(parts.starts);
            ptr::addr_of_mut!((*list).slots)
                .cast::<SlotId>()
                .copy_from_nonoverlapping(parts.slots.as_ptr(), n);
        }
        // Safety: every field was written just above.
        debug_assert_eq!(Layout::for_value(unsafe { &*list }), layout);
        raw as usize
    }

    unsafe fn deref<'a>(ptr: usize) -> &'a DayList {
        // Safety: `ptr` is a live list (the caller's promise, as `Pointable` states it), fully
        // written by `init`, and nothing mutates it concurrently.
        unsafe { &*DayList::raw(ptr) }
    }

    unsafe fn deref_mut<'a>(ptr: usize) -> &'a mut DayList {
        // Safety: as `deref`, and the caller promises no other reference is in use.
        unsafe { &mut *DayList::raw(ptr) }
    }

    unsafe fn drop(ptr: usize) {
        // Safety: `ptr` is a live list no one else reads (the caller's promise).
        let n = unsafe { DayList::len(ptr) };
        // Safety: allocated by `init` with `layout(n)`, n the length it wrote; the ids need
        // no destructor (asserted above).
        unsafe { alloc::dealloc(ptr as *mut u8, DayList::layout(n)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_epoch::Atomic;
    use std::sync::atomic::Ordering;

    fn ids(n: u32) -> Vec<SlotId> {
        (0..n).map(|i| SlotId(i * 7 + 3)).collect()
    }

    #[test]
    fn build_read_back_drop() {
        for n in [0, 1, 2, 3, 15, 16, 17, 1_000] {
            let list = DayList::new(42, (480, 1_020), ids(n));
            assert_eq!(list.slots, ids(n)[..], "{n} ids read back");
            assert_eq!((list.counts, list.starts), (42, (480, 1_020)));
            assert_eq!(list.slots.len(), n as usize);
            // One allocation, exactly sized: 12 bytes of header, 4 per id.
            assert_eq!(Layout::for_value(&*list), DayList::layout(n as usize));
            assert_eq!(std::mem::size_of_val(&*list), 12 + 4 * n as usize);
            drop(list);
        }
    }

    #[test]
    fn through_an_atomic_as_the_store_uses_it() {
        let day: Atomic<DayList> = Atomic::null();
        let guard = &crossbeam_epoch::pin();
        assert!(day.load(Ordering::Acquire, guard).is_null());
        day.store(DayList::new(1, (0, 0), Vec::new()), Ordering::Release);
        // Safety: the list stays in `day` until swapped out below; `guard` is pinned.
        let empty = unsafe { day.load(Ordering::Acquire, guard).as_ref() }.expect("stored");
        assert!(empty.slots.is_empty());
        assert_eq!(empty.counts, 1);
        let old = day.swap(DayList::new(2, (60, 90), ids(5)), Ordering::AcqRel, guard);
        // Safety: swapped out, so unreachable; destroyed once `guard` (and every other pin)
        // has gone.
        unsafe { guard.defer_destroy(old) };
        // Safety: as above.
        let list = unsafe { day.load(Ordering::Acquire, guard).as_ref() }.expect("stored");
        assert_eq!((list.counts, list.starts, &list.slots), (2, (60, 90), &ids(5)[..]));
        // Safety: no guard but this thread's, which no longer reads `list`; `day` is dropped
        // right after, as `Drop for DayCounts` does.
        unsafe {
            drop(day.load(Ordering::Relaxed, crossbeam_epoch::unprotected()).into_owned());
        }
    }
}
