//! An append-only vector in fixed-size chunks, for the slots (state).
//!
//! Readers index it without a lock and an element never moves, as with `boxcar::Vec`; but
//! where boxcar doubles its buckets — at 10 M slots the last bucket is 8 M entries, mostly
//! empty, and each entry carries a flag — the chunks here are `CHUNK` elements each, so at most
//! one chunk is partly empty: ~36 B per slot less at province scale (province-scale issue,
//! "fixed-size chunks instead of doubling buckets").
//!
//! Appends are serialised by an internal mutex (the engine appends slots under its publish
//! lock anyway). An element is written before the length that covers it is published
//! (release/acquire), so a reader that sees index `i < len` sees the element initialised.
//!
//! Retention frees the past a whole chunk at a time (`retire_chunk`): the chunk leaves the
//! directory at once, and its memory is freed through epoch-based reclamation
//! (`crossbeam-epoch`) once every reader that could have found it has unpinned. Readers of a
//! vector that retires therefore read under a pinned guard (`get_pinned`), which ties each
//! element's borrow to the guard. Indexes are never reused: a retired chunk's ids stay taken.

use crossbeam_epoch::Guard;
use parking_lot::Mutex;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Elements per chunk: 1,024 slots of 48 B = 48 KB. Small, because a chunk is also what
/// retention frees (`retire_chunk`): a host publishing 1,000 slots a day frees about a chunk a
/// day, so what it holds stays within a chunk of its steady size.
const CHUNK_BITS: u32 = 10;
pub(crate) const CHUNK: usize = 1 << CHUNK_BITS;
/// Chunk pointers per page of the directory (32 KB): a page covers 4 M elements, and pages are
/// allocated as the vector reaches them, so a small engine pays for one page and a province
/// (10 M slots, 100 M patients) for a few dozen.
const PAGE_BITS: u32 = 12;
const PAGE: usize = 1 << PAGE_BITS;

type Chunk<T> = MaybeUninit<T>;

pub(crate) struct ChunkedVec<T> {
    /// The directory's top level: one pointer per page, null until the page is needed. Fixed
    /// at creation (`max` elements), so it never moves under a reader.
    pages: Box<[AtomicPtr<AtomicPtr<Chunk<T>>>]>,
    len: AtomicUsize,
    append: Mutex<()>,
}

// Safety: the vector owns its `T`s; shared access hands out `&T` (needs `T: Sync`), appends move
// a `T` in from another thread (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for ChunkedVec<T> {}
unsafe impl<T: Send> Send for ChunkedVec<T> {}

/// A chunk's address, moved into the deferred function that frees it (`retire_chunk`).
struct Retired<T>(*mut Chunk<T>);
// Safety: the deferred function is the chunk's only owner once it runs (see `retire_chunk`).
unsafe impl<T: Send> Send for Retired<T> {}

impl<T> ChunkedVec<T> {
    /// An empty vector that can hold up to `max` elements.
    pub fn with_max(max: usize) -> ChunkedVec<T> {
        let n = max.div_ceil(CHUNK * PAGE);
        ChunkedVec {
            pages: (0..n).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
            len: AtomicUsize::new(0),
            append: Mutex::new(()),
        }
    }

    pub fn count(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Where chunk `c`'s pointer is, if its page exists.
    fn chunk_ptr(&self, c: usize) -> Option<&AtomicPtr<Chunk<T>>> {
        let page = self.pages.get(c >> PAGE_BITS)?.load(Ordering::Acquire);
        // Safety: a non-null page pointer points at PAGE chunk pointers, published (Release)
        // after they were initialised, and freed only when `self` drops.
        (!page.is_null()).then(|| unsafe { &*page.add(c & (PAGE - 1)) })
    }

    /// Bytes of the chunks and pages allocated now and of the directory (operator metrics).
    pub fn allocated_bytes(&self) -> usize {
        let len = self.count();
        let chunks = (0..len.div_ceil(CHUNK))
            .filter(|&c| self.chunk_ptr(c).is_some_and(|p| !p.load(Ordering::Acquire).is_null()))
            .count();
        let pages = self.pages.iter().filter(|p| !p.load(Ordering::Acquire).is_null()).count();
        chunks * CHUNK * std::mem::size_of::<T>()
            + pages * PAGE * std::mem::size_of::<AtomicPtr<Chunk<T>>>()
            + self.pages.len() * std::mem::size_of::<AtomicPtr<AtomicPtr<Chunk<T>>>>()
    }

    /// The element at `index`. Only for vectors whose chunks are never retired (the patients):
    /// a vector that retires chunks is read through [`ChunkedVec::get_pinned`].
    pub fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len.load(Ordering::Acquire) {
            return None;
        }
        let chunk = self.chunk_ptr(index >> CHUNK_BITS)?.load(Ordering::Acquire);
        if chunk.is_null() {
            return None;
        }
        // Safety: `index < len`, and `push` initialised the element and allocated its chunk
        // before publishing a length covering it (Release, paired with the Acquire above).
        // A chunk that is still in the directory is not freed before `guard`-free readers are
        // done: `retire_chunk`'s contract keeps them away from vectors that retire.
        unsafe { Some((*chunk.add(index & (CHUNK - 1))).assume_init_ref()) }
    }

    /// The element at `index`, for as long as `guard` stays pinned: a chunk retired meanwhile
    /// is freed only after every guard pinned before its retirement is dropped.
    pub fn get_pinned<'g>(&'g self, index: usize, _guard: &'g Guard) -> Option<&'g T> {
        self.get(index)
    }

    /// Append; returns the new element's index, or gives the value back when full.
    pub fn push(&self, value: T) -> Result<usize, T> {
        let _one_writer = self.append.lock();
        let index = self.len.load(Ordering::Relaxed);
        self.write_next(index, value).map(|()| index)
    }

    /// Append every value of `values` as `push` would, under one taking of the append lock (a
    /// publication stores a run of a day's slots at once); the index of the first. `Err` with
    /// the values not stored when the vector is full (those before them are stored).
    pub fn push_all(&self, values: impl IntoIterator<Item = T>) -> Result<usize, Vec<T>> {
        let _one_writer = self.append.lock();
        let first = self.len.load(Ordering::Relaxed);
        let mut values = values.into_iter();
        let mut index = first;
        while let Some(value) = values.next() {
            if let Err(value) = self.write_next(index, value) {
                return Err(std::iter::once(value).chain(values).collect());
            }
            index += 1;
        }
        Ok(first)
    }

    /// Store `value` at `index`, the length, allocating its chunk (and page) on first use, and
    /// publish it (the length moves past it: a reader sees each element as soon as it is
    /// whole). Under `append` only; gives the value back when the directory has no room.
    fn write_next(&self, index: usize, value: T) -> Result<(), T> {
        let Some(slot) = self.chunk_slot(index >> CHUNK_BITS) else { return Err(value) };
        let mut chunk = slot.load(Ordering::Relaxed);
        if chunk.is_null() {
            let fresh: Box<[Chunk<T>]> = (0..CHUNK).map(|_| MaybeUninit::uninit()).collect();
            chunk = Box::into_raw(fresh) as *mut Chunk<T>;
            slot.store(chunk, Ordering::Release);
        }
        // Safety: the chunk holds CHUNK elements and this index is not yet published, so no
        // reader looks at it; appends are serialised by `append`.
        unsafe { (*chunk.add(index & (CHUNK - 1))).write(value) };
        self.len.store(index + 1, Ordering::Release);
        Ok(())
    }

    /// Chunk `c`'s pointer, allocating its page (appends only, under `append`).
    fn chunk_slot(&self, c: usize) -> Option<&AtomicPtr<Chunk<T>>> {
        let top = self.pages.get(c >> PAGE_BITS)?;
        if top.load(Ordering::Relaxed).is_null() {
            let page: Box<[AtomicPtr<Chunk<T>>]> =
                (0..PAGE).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect();
            top.store(Box::into_raw(page) as *mut AtomicPtr<Chunk<T>>, Ordering::Release);
        }
        self.chunk_ptr(c)
    }

    /// Leave the next whole chunk empty (a retired chunk of a restored snapshot: its ids stay
    /// used, nothing is stored). Only at a chunk boundary; `false` elsewhere or when full.
    pub fn skip_chunk(&self) -> bool {
        let _one_writer = self.append.lock();
        let index = self.len.load(Ordering::Relaxed);
        if !index.is_multiple_of(CHUNK) || self.chunk_slot(index >> CHUNK_BITS).is_none() {
            return false;
        }
        self.len.store(index + CHUNK, Ordering::Release);
        true
    }

    /// The chunks up to the length, each as its initialised elements, or `None` where retired.
    pub fn chunks<'g>(&'g self, _guard: &'g Guard) -> impl Iterator<Item = Option<&'g [T]>> {
        let len = self.count();
        (0..len.div_ceil(CHUNK)).map(move |c| {
            let chunk = self.chunk_ptr(c)?.load(Ordering::Acquire);
            let filled = (len - c * CHUNK).min(CHUNK);
            // Safety: as in `get`: the first `filled` elements are initialised, and the guard
            // keeps a chunk retired meanwhile alive.
            (!chunk.is_null())
                .then(|| unsafe { std::slice::from_raw_parts(chunk as *const T, filled) })
        })
    }

    /// The elements in index order (vectors that never retire chunks).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.count()).filter_map(|i| self.get(i))
    }
}

impl<T: Send + 'static> ChunkedVec<T> {
    /// Take chunk `c` out of the directory and free it once no reader can hold an element of
    /// it. Only whole chunks (`(c + 1) * CHUNK <= count()`); `false` when not whole or already
    /// retired. Retired chunks are never re-filled: their indexes stay used.
    ///
    /// # Safety
    /// Every reader of this vector reads through [`ChunkedVec::get_pinned`] or
    /// [`ChunkedVec::chunks`] with a pinned guard, never through `get` or `iter`.
    pub unsafe fn retire_chunk(&self, c: usize, guard: &Guard) -> bool {
        if (c + 1) * CHUNK > self.count() {
            return false;
        }
        let Some(slot) = self.chunk_ptr(c) else { return false };
        let chunk = slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if chunk.is_null() {
            return false;
        }
        let retired = Retired(chunk);
        // Safety: the chunk is out of the directory, so no new reader finds it; readers that
        // found it before hold a guard pinned before this one's epoch ends, and the deferred
        // function runs only after all such guards are dropped. The chunk is whole: all CHUNK
        // elements are initialised.
        unsafe {
            guard.defer_unchecked(move || {
                let retired = retired;
                for i in 0..CHUNK {
                    (*retired.0.add(i)).assume_init_drop();
                }
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(retired.0, CHUNK)));
            });
        }
        true
    }
}

impl<T> Drop for ChunkedVec<T> {
    fn drop(&mut self) {
        let len = *self.len.get_mut();
        for (p, top) in self.pages.iter_mut().enumerate() {
            let page = *top.get_mut();
            if page.is_null() {
                continue;
            }
            for i in 0..PAGE {
                let c = (p << PAGE_BITS) + i;
                // Safety: the page holds PAGE initialised chunk pointers; `&mut self` means no
                // reader is left.
                let chunk = unsafe { (*page.add(i)).load(Ordering::Relaxed) };
                if chunk.is_null() {
                    continue;
                }
                let filled = len.saturating_sub(c * CHUNK).min(CHUNK);
                // Safety: this chunk was made by `push` from a boxed slice of CHUNK elements,
                // its first `filled` elements are initialised.
                unsafe {
                    for i in 0..filled {
                        (*chunk.add(i)).assume_init_drop();
                    }
                    drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(chunk, CHUNK)));
                }
            }
            // Safety: made by `chunk_slot` from a boxed slice of PAGE pointers.
            unsafe { drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(page, PAGE))) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pushes_are_read_back_across_chunks_and_dropped_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(usize, Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.1.fetch_add(1, Ordering::Relaxed);
            }
        }
        let n = 2 * CHUNK + 3;
        {
            let v = ChunkedVec::with_max(3 * CHUNK);
            for i in 0..n {
                assert_eq!(v.push(Counted(i, drops.clone())).ok(), Some(i));
            }
            assert_eq!(v.count(), n);
            assert!((0..n).all(|i| v.get(i).is_some_and(|c| c.0 == i)));
            assert!(v.get(n).is_none());
            assert_eq!(v.iter().count(), n);
        }
        assert_eq!(drops.load(Ordering::Relaxed), n, "every element dropped exactly once");
    }

    /// The reclamation protocol: a retired chunk leaves the directory at once, but an element
    /// read under a guard pinned before the retirement stays alive until that guard is gone;
    /// then the chunk is dropped, each element once. Fails if `retire_chunk` frees at once.
    #[test]
    fn a_retired_chunk_outlives_the_guards_that_could_see_it() {
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(usize, Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.1.fetch_add(1, Ordering::Relaxed);
            }
        }
        let v = ChunkedVec::with_max(4 * CHUNK);
        for i in 0..CHUNK + 5 {
            v.push(Counted(i, drops.clone())).ok().unwrap();
        }
        let reader = crossbeam_epoch::pin();
        let seen = v.get_pinned(7, &reader).unwrap();
        // Only whole chunks retire; chunk 1 is not whole.
        assert!(!unsafe { v.retire_chunk(1, &crossbeam_epoch::pin()) });
        assert!(unsafe { v.retire_chunk(0, &crossbeam_epoch::pin()) });
        assert!(!unsafe { v.retire_chunk(0, &crossbeam_epoch::pin()) }, "retired once");
        assert!(v.get(7).is_none() && v.get(CHUNK).is_some_and(|c| c.0 == CHUNK));
        assert_eq!(v.count(), CHUNK + 5, "ids stay taken");
        for _ in 0..1_000 {
            crossbeam_epoch::pin().flush();
        }
        assert_eq!(seen.0, 7, "read after the retirement, under the old guard");
        assert_eq!(drops.load(Ordering::Relaxed), 0, "freed while a reader could hold it");
        drop(reader);
        for _ in 0..100_000 {
            if drops.load(Ordering::Relaxed) == CHUNK {
                break;
            }
            crossbeam_epoch::pin().flush();
            std::thread::yield_now();
        }
        assert_eq!(drops.load(Ordering::Relaxed), CHUNK, "the chunk is freed, each element once");
        assert_eq!(
            v.chunks(&crossbeam_epoch::pin()).map(|c| c.map(|c| c.len())).collect::<Vec<_>>(),
            [None, Some(5)]
        );
    }

    #[test]
    fn restored_holes_leave_their_ids_empty() {
        let v = ChunkedVec::with_max(4 * CHUNK);
        assert!(v.skip_chunk());
        v.push(1u32).unwrap();
        assert!(!v.skip_chunk(), "only at a chunk boundary");
        assert_eq!(v.count(), CHUNK + 1);
        assert!(v.get(0).is_none() && v.get(CHUNK) == Some(&1));
        assert_eq!(v.chunks(&crossbeam_epoch::pin()).filter(|c| c.is_none()).count(), 1);
    }

    #[test]
    fn a_full_vector_gives_the_value_back() {
        let v = ChunkedVec::with_max(1);
        assert_eq!(v.push(1u8), Ok(0));
        // The directory rounds up to whole chunks: the rest of the chunk still fits.
        assert_eq!(v.push(2u8), Ok(1));
        let full = ChunkedVec::<u8>::with_max(0);
        assert_eq!(full.push(3), Err(3));
    }

    /// `push_all` stores as many `push`es would, across chunk boundaries, and a full vector
    /// gives back exactly the values it could not store.
    #[test]
    fn push_all_stores_a_run_as_pushes_would() {
        let v = ChunkedVec::with_max(4 * CHUNK);
        v.push(0u32).unwrap();
        assert_eq!(v.push_all(1..(2 * CHUNK as u32 + 7)), Ok(1));
        assert_eq!(v.push(2 * CHUNK as u32 + 7), Ok(2 * CHUNK + 7));
        assert!((0..2 * CHUNK + 8).all(|i| v.get(i) == Some(&(i as u32))));
        assert_eq!(v.push_all(std::iter::empty()), Ok(2 * CHUNK + 8), "nothing stored");
        let full = ChunkedVec::<u32>::with_max(0);
        assert_eq!(full.push_all(0..3), Err(vec![0, 1, 2]));
        assert_eq!(full.count(), 0);
    }

    #[test]
    fn readers_see_only_initialised_elements_while_one_thread_appends() {
        let v = Arc::new(ChunkedVec::with_max(4 * CHUNK));
        std::thread::scope(|s| {
            let w = v.clone();
            s.spawn(move || {
                for i in 0..(2 * CHUNK + 100) {
                    w.push(i as u64 * 3).unwrap();
                }
            });
            for _ in 0..2 {
                let r = v.clone();
                s.spawn(move || {
                    let mut seen = 0;
                    while seen < 2 * CHUNK + 100 {
                        let n = r.count();
                        for i in seen..n {
                            assert_eq!(*r.get(i).unwrap(), i as u64 * 3);
                        }
                        seen = n;
                    }
                });
            }
        });
    }
}
