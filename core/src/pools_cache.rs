//! The pools a requester may take from a slot, by the slot's date and start
//! (`Engine::requester_pools_at`), and from every slot of a day between two starts
//! (`Engine::pools_for_starts`), remembered on each thread across queries, each answer with the
//! span of instants it holds for.
//!
//! Why: the answer is asked for every department-day a query reads (its first and last start,
//! and slot by slot where they differ), and computing it builds the slot's window and pool
//! order: ~160 instructions. A query's own memo (`availability::PoolsMemo`) shares it within
//! the query, but every query started afresh: on a simulated city the asking was 4–7% of all
//! instructions, two per `find_free_slots` call.
//!
//! Why it is exact: within one engine and one policy, the answer depends on the date, the start,
//! whether the requester holds a referral and the instant `now` — and on `now` only through
//! comparisons with instants of the slot's window (public and referral opening, closing, each
//! channel quota's cut-off). So it is a step function of `now`, constant from the last of those
//! instants at or before `now` up to the first after it (`Span`), and an entry answers only a
//! `now` inside its span. Entries are scoped by the engine's number (never reused in the
//! process, `Engine::uid`) and its running policy (each version a box of its own, never freed
//! while the engine lives): another engine, or a policy change, never reads an entry it did not
//! make.
//!
//! Direct-mapped and bounded (`ENTRIES`): a colliding key replaces the entry, and a miss only
//! costs the computation.

use crate::time::{Date, Timestamp};
use std::cell::RefCell;

/// Entries per thread: a simulated city's day asks ~20 dates × ~30 starts.
const ENTRIES: usize = 1024;

/// One answer (a bit set of pools, bit `Pool as u8`; 0: booking has closed) and the instants
/// it holds for: `from <= now < until`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub mask: u8,
    pub from: Timestamp,
    pub until: Timestamp,
}

impl Span {
    /// The span around `now` of an answer that changes only at `instants`: from the last at or
    /// before `now` (the beginning of time if none) to the first after it (the end of time).
    pub fn around(mask: u8, now: Timestamp, instants: impl IntoIterator<Item = Timestamp>) -> Span {
        let (mut from, mut until) = (Timestamp(i64::MIN), Timestamp(i64::MAX));
        for at in instants {
            if at <= now {
                from = from.max(at);
            } else {
                until = until.min(at);
            }
        }
        Span { mask, from, until }
    }

    fn holds_at(&self, now: Timestamp) -> bool {
        self.from <= now && now < self.until
    }
}

/// Whose answers an entry holds: the engine's number and its policy version's address.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub engine: u64,
    pub policy: usize,
}

/// One remembered answer. Compared where it lies (never copied out): a lookup is the thread's
/// table, one entry's line and four compares.
#[derive(Copy, Clone)]
struct Entry {
    /// The date and the first and last start (`key`).
    key: u64,
    with_referral: bool,
    scope: Scope,
    span: Span,
}

/// A slot never written: its span holds at no instant.
const EMPTY: Entry = Entry {
    key: 0,
    with_referral: false,
    scope: Scope { engine: u64::MAX, policy: 0 },
    span: Span { mask: 0, from: Timestamp(0), until: Timestamp(0) },
};

thread_local! {
    /// `ENTRIES` entries (48 KiB), made on the thread's first query: empty until then, so
    /// that a thread of a host application that never queries carries nothing.
    static TABLE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

#[cfg(test)]
thread_local! {
    /// How many answers this thread computed (tests: that a test's answers were remembered).
    pub(crate) static MISSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The key of (date, first start, last start): a slot's own answer is its start's twice.
fn key(date: Date, starts: (u16, u16)) -> u64 {
    (date.0 as u32 as u64) << 32 | (starts.0 as u64) << 16 | starts.1 as u64
}

fn slot_of(key: u64, with_referral: bool) -> usize {
    // Fibonacci hashing: the top bits of the product spread nearby starts and dates.
    ((key ^ with_referral as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> (64 - ENTRIES.trailing_zeros())) as usize
}

const _: () = assert!(ENTRIES.is_power_of_two());

/// The answer for (date, starts, referral) at `now` under `scope` — the pools of a slot
/// starting at `starts.0 == starts.1`, or those of every slot of a day between the two starts
/// (or `PoolsMemo::DIFFER`) — remembered if an entry holds it, else `compute`d (giving the
/// answer and its span) and remembered. The table is not borrowed while `compute` runs, so
/// that it may read anything (and a nested use, should one ever come, computes afresh rather
/// than fail).
#[inline]
pub(crate) fn mask(
    scope: Scope,
    date: Date,
    starts: (u16, u16),
    with_referral: bool,
    now: Timestamp,
    compute: impl FnOnce() -> Span,
) -> u8 {
    let key = key(date, starts);
    let slot = slot_of(key, with_referral);
    let found = TABLE.with(|t| {
        let t = t.try_borrow().ok()?;
        let e = t.get(slot)?;
        (e.key == key
            && e.with_referral == with_referral
            && e.scope == scope
            && e.span.holds_at(now))
        .then_some(e.span.mask)
    });
    match found {
        Some(mask) => mask,
        None => remember(Entry { key, with_referral, scope, span: EMPTY.span }, slot, now, compute),
    }
}

/// `mask`'s miss: compute, and remember.
#[cold]
fn remember(entry: Entry, slot: usize, now: Timestamp, compute: impl FnOnce() -> Span) -> u8 {
    #[cfg(test)]
    MISSES.with(|m| m.set(m.get() + 1));
    let span = compute();
    debug_assert!(span.holds_at(now), "a span must hold at the instant it was computed for");
    TABLE.with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            if t.is_empty() {
                t.resize(ENTRIES, EMPTY);
            }
            t[slot] = Entry { span, ..entry };
        }
    });
    span.mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_runs_from_the_last_instant_reached_to_the_next() {
        let s = Span::around(
            3,
            Timestamp(100),
            [Timestamp(50), Timestamp(100), Timestamp(300), Timestamp(200)],
        );
        assert_eq!((s.from, s.until), (Timestamp(100), Timestamp(200)));
        assert!(s.holds_at(Timestamp(100)) && s.holds_at(Timestamp(199)));
        assert!(!s.holds_at(Timestamp(99)) && !s.holds_at(Timestamp(200)));
        let open = Span::around(1, Timestamp(0), []);
        assert!(open.holds_at(Timestamp(i64::MIN)) && open.holds_at(Timestamp(i64::MAX - 1)));
    }

    /// An entry answers only its own scope, key and span; anything else computes afresh.
    #[test]
    fn an_entry_answers_only_its_scope_key_and_span() {
        let scope = Scope { engine: u64::MAX - 7, policy: 0x1000 };
        let date = Date(20_000);
        let span = |mask, from, until| {
            move || Span { mask, from: Timestamp(from), until: Timestamp(until) }
        };
        let never = || -> Span { panic!("must be remembered") };
        assert_eq!(mask(scope, date, (480, 480), false, Timestamp(10), span(5, 10, 20)), 5);
        assert_eq!(mask(scope, date, (480, 480), false, Timestamp(19), never), 5);
        // Past the span: computed again, and the new span replaces the old.
        assert_eq!(mask(scope, date, (480, 480), false, Timestamp(20), span(6, 20, 30)), 6);
        assert_eq!(mask(scope, date, (480, 480), false, Timestamp(29), never), 6);
        assert_eq!(mask(scope, date, (480, 480), false, Timestamp(15), span(5, 10, 20)), 5);
        // Another start, a day of it, a referral, another engine, another policy.
        assert_eq!(mask(scope, date, (480, 481), false, Timestamp(15), span(11, 10, 20)), 11);
        assert_eq!(mask(scope, date, (481, 481), false, Timestamp(15), span(7, 10, 20)), 7);
        assert_eq!(mask(scope, date, (480, 480), true, Timestamp(15), span(8, 10, 20)), 8);
        let other_engine = Scope { engine: u64::MAX - 8, ..scope };
        assert_eq!(mask(other_engine, date, (480, 480), false, Timestamp(15), span(9, 10, 20)), 9);
        let other_policy = Scope { policy: 0x2000, ..scope };
        assert_eq!(
            mask(other_policy, date, (480, 480), false, Timestamp(15), span(10, 10, 20)),
            10
        );
    }
}
