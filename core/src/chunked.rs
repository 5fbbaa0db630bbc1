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

use parking_lot::Mutex;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Elements per chunk: 65,536 slots of 48 B = 3 MB.
const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

pub(crate) struct ChunkedVec<T> {
    /// One pointer per chunk, null until the chunk is allocated. Fixed at creation (`max`
    /// elements), so it never moves under a reader.
    chunks: Box<[AtomicPtr<MaybeUninit<T>>]>,
    len: AtomicUsize,
    append: Mutex<()>,
}

// Safety: the vector owns its `T`s; shared access hands out `&T` (needs `T: Sync`), appends move
// a `T` in from another thread (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for ChunkedVec<T> {}
unsafe impl<T: Send> Send for ChunkedVec<T> {}

impl<T> ChunkedVec<T> {
    /// An empty vector that can hold up to `max` elements.
    pub fn with_max(max: usize) -> ChunkedVec<T> {
        let n = max.div_ceil(CHUNK);
        ChunkedVec {
            chunks: (0..n).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
            len: AtomicUsize::new(0),
            append: Mutex::new(()),
        }
    }

    pub fn count(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Bytes of the chunks allocated so far and of the chunk table (operator metrics).
    pub fn allocated_bytes(&self) -> usize {
        let chunks = self.chunks.iter().filter(|c| !c.load(Ordering::Acquire).is_null()).count();
        chunks * CHUNK * std::mem::size_of::<T>()
            + self.chunks.len() * std::mem::size_of::<AtomicPtr<MaybeUninit<T>>>()
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len.load(Ordering::Acquire) {
            return None;
        }
        let chunk = self.chunks[index >> CHUNK_BITS].load(Ordering::Acquire);
        debug_assert!(!chunk.is_null(), "a chunk below the length is allocated");
        // Safety: `index < len`, and `push` initialised the element and allocated its chunk
        // before publishing a length covering it (Release, paired with the Acquire above).
        // Elements are never moved or dropped while `self` lives.
        unsafe { Some((*chunk.add(index & (CHUNK - 1))).assume_init_ref()) }
    }

    /// Append; returns the new element's index, or gives the value back when full.
    pub fn push(&self, value: T) -> Result<usize, T> {
        let _one_writer = self.append.lock();
        let index = self.len.load(Ordering::Relaxed);
        let Some(slot) = self.chunks.get(index >> CHUNK_BITS) else { return Err(value) };
        let mut chunk = slot.load(Ordering::Relaxed);
        if chunk.is_null() {
            let fresh: Box<[MaybeUninit<T>]> = (0..CHUNK).map(|_| MaybeUninit::uninit()).collect();
            chunk = Box::into_raw(fresh) as *mut MaybeUninit<T>;
            slot.store(chunk, Ordering::Release);
        }
        // Safety: the chunk holds CHUNK elements and this index is not yet published, so no
        // reader looks at it; appends are serialised by `append`.
        unsafe { (*chunk.add(index & (CHUNK - 1))).write(value) };
        self.len.store(index + 1, Ordering::Release);
        Ok(index)
    }

    /// The elements in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.count()).filter_map(|i| self.get(i))
    }
}

impl<T> Drop for ChunkedVec<T> {
    fn drop(&mut self) {
        let len = *self.len.get_mut();
        for (c, slot) in self.chunks.iter_mut().enumerate() {
            let chunk = *slot.get_mut();
            if chunk.is_null() {
                continue;
            }
            let filled = len.saturating_sub(c * CHUNK).min(CHUNK);
            // Safety: this chunk was made by `push` from a boxed slice of CHUNK elements, its
            // first `filled` elements are initialised, and `&mut self` means no reader is left.
            unsafe {
                for i in 0..filled {
                    (*chunk.add(i)).assume_init_drop();
                }
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(chunk, CHUNK)));
            }
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

    #[test]
    fn a_full_vector_gives_the_value_back() {
        let v = ChunkedVec::with_max(1);
        assert_eq!(v.push(1u8), Ok(0));
        // The directory rounds up to whole chunks: the rest of the chunk still fits.
        assert_eq!(v.push(2u8), Ok(1));
        let full = ChunkedVec::<u8>::with_max(0);
        assert_eq!(full.push(3), Err(3));
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
