//! The open release lotteries (state): the tickets entered per release instant, until their
//! draw (`lottery.rs` enters and draws them).
//!
//! A release brings its whole crowd at once, and two threads entering it slow each other down
//! for every cache line both write per entry (one line moving between cores costs about as
//! much as a whole entry's own work here). So entering writes as few shared lines as it can:
//! - the draw is found through `recent`, a hint that is only read while the crowd enters (not
//!   a map lock, not a reference count): draws live in an append-only store, reused once
//!   drawn, and the hint is checked under the shard's lock;
//! - each draw is split in `SHARDS` shards by (patient, slot), each with its own mutex, its
//!   tickets, its keys and its duplicate set, so that two threads rarely want the same lock
//!   (with one mutex per draw, 2 threads spent most of their time contending for it);
//! - the `max_entries` bound is kept exactly without a shared counter per entry: each shard
//!   takes places from the draw's `left` in chunks, and when none are left an entry locks
//!   every shard, counts exactly and takes back what the others hold unused.
//!
//! Before all this, every entry took the write lock of the one dashmap shard that held its
//! release instant, so two threads entering the same release serialised on the whole lookup.
//!
//! Where a ticket is stored does not matter to the draw: it orders tickets by their keys,
//! never by position.

use crate::ids::*;
use crate::model::Request;
use crate::time::Timestamp;
use crossbeam_utils::CachePadded;
use parking_lot::{Mutex, MutexGuard};
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Tickets reserved when a draw is restored from a snapshot in one piece.
const TICKETS_RESERVED: usize = 4_096;

/// Shards of an open draw (a power of two).
const SHARDS: usize = 16;

/// Tickets reserved per shard when a draw opens: the first burst of a release (4,096 tickets
/// in all) enters without regrowing. (The whole `max_entries` is not reserved up front: most
/// releases draw a few entries.)
const SHARD_RESERVED: usize = TICKETS_RESERVED / SHARDS;

/// Tickets reserved per shard when it outgrows `SHARD_RESERVED`: a release with that many
/// entries is a flash crowd (DOMAIN.md: 100,000+ requests within seconds; 131,072 in all), so
/// the buffers grow once to this, instead of doubling five times and rehashing the duplicate
/// set each time.
const SHARD_FLASH_RESERVED: usize = (1 << 17) / SHARDS;

/// One entry into a release's draw.
#[derive(Clone)]
pub(crate) struct Ticket {
    pub id: TicketId,
    pub request: Request,
    pub weight: f64,
}

/// Tickets of a draw (or of one shard of an open draw).
#[derive(Default)]
pub(crate) struct Draw {
    pub draws_at: Timestamp,
    pub tickets: Vec<Ticket>,
    /// (patient, slot) already entered: one ticket each. Engine-assigned keys: a fast hasher.
    pub entered: FxHashSet<(PatientId, SlotId)>,
    /// The sort key of each ticket in the draw seeded `keys_seed` (`lottery::key`), computed by
    /// the thread that entered it, so the crowd's threads share that work and the draw only
    /// sorts. Valid when it has one key per ticket and the draw's seed is `keys_seed`;
    /// otherwise (a restored snapshot, a replayed entry, a policy seed changed meanwhile) the
    /// draw computes them again.
    pub keys: Vec<u64>,
    pub keys_seed: Option<u64>,
    /// Taken out for its draw (`take_due`): an `enter` that locks it afterwards must not push.
    drawn: bool,
    /// As a shard of an open draw: the release it belongs to (checked under its lock, since
    /// the store's places are reused), and the entries it may still take without asking the
    /// draw's `left`.
    release_at: Option<Timestamp>,
    budget: usize,
}

impl Draw {
    pub fn new(draws_at: Timestamp) -> Draw {
        Draw::with_capacity(draws_at, TICKETS_RESERVED)
    }

    fn with_capacity(draws_at: Timestamp, n: usize) -> Draw {
        Draw {
            draws_at,
            tickets: Vec::with_capacity(n),
            entered: FxHashSet::with_capacity_and_hasher(n, FxBuildHasher),
            keys: Vec::with_capacity(n),
            keys_seed: None,
            drawn: false,
            release_at: None,
            budget: 0,
        }
    }

    /// Whether this shard belongs to the open draw of `release_at`.
    fn is_open_for(&self, release_at: Timestamp) -> bool {
        self.release_at == Some(release_at) && !self.drawn
    }

    /// The keys of every ticket if they were all computed for `seed`.
    pub fn keys_for(&self, seed: u64) -> Option<&[u64]> {
        (self.keys_seed == Some(seed) && self.keys.len() == self.tickets.len())
            .then_some(&self.keys[..])
    }

    /// Room for one more ticket: at `SHARD_RESERVED`, room for a flash crowd's share at once.
    fn reserve_one(&mut self, max_entries: usize) {
        let len = self.tickets.len();
        if len < self.tickets.capacity() {
            return;
        }
        let to = if len < SHARD_FLASH_RESERVED { SHARD_FLASH_RESERVED } else { len * 2 };
        let more = to.min(max_entries).saturating_sub(len).max(1);
        self.tickets.reserve_exact(more);
        self.keys.reserve_exact(more);
        self.entered.reserve(more);
    }

    /// Add a ticket known to be new, with its key if it has one.
    fn push(&mut self, ticket: Ticket, key: Option<(u64, u64)>) {
        match key {
            Some((seed, key)) if self.tickets.is_empty() || self.keys_seed == Some(seed) => {
                self.keys_seed = Some(seed);
                self.keys.push(key);
            }
            _ => self.keys_seed = None, // the draw computes this shard's keys
        }
        self.tickets.push(ticket);
    }
}

/// A draw taken out to be drawn: its tickets, in shards. Ticket `i` of the draw is ticket
/// `i - starts[s]` of the shard `s` that holds it (no copy of the tickets into one vector).
pub(crate) struct TakenDraw {
    pub draws_at: Timestamp,
    pub shards: Vec<Draw>,
    /// Where each shard's tickets start in the draw's numbering; last: the number of tickets.
    starts: Vec<usize>,
}

impl TakenDraw {
    fn new(draws_at: Timestamp, shards: Vec<Draw>) -> TakenDraw {
        let mut starts = Vec::with_capacity(shards.len() + 1);
        let mut n = 0;
        starts.push(0);
        for d in &shards {
            n += d.tickets.len();
            starts.push(n);
        }
        TakenDraw { draws_at, shards, starts }
    }

    /// The number of tickets.
    pub fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Ticket `i` (`< len()`) in the draw's numbering: the shards' tickets one after another.
    pub fn ticket(&self, i: u32) -> &Ticket {
        let i = i as usize;
        // The last shard starting at or before `i` (empty shards start where the next does).
        let s = self.starts.partition_point(|&start| start <= i) - 1;
        &self.shards[s].tickets[i - self.starts[s]]
    }
}

/// Why a ticket could not be entered.
pub(crate) enum EnterError {
    /// The draw holds `max_entries` tickets already.
    Full,
    /// This patient already entered this slot's draw.
    Duplicate,
}

/// One shard of an open draw, on cache lines of its own.
#[repr(align(128))]
struct Shard(Mutex<Draw>);

/// A place in the store of draws: the shards of one open draw at a time.
struct OpenDraw {
    shards: [Shard; SHARDS],
    /// Entries the draw may still take beyond what its shards hold as budget:
    /// `max - (tickets + budgets of all shards)`.
    left: AtomicUsize,
    /// The `max_entries` that `left` was counted for (a policy may change it).
    max: AtomicUsize,
}

impl OpenDraw {
    fn new() -> OpenDraw {
        OpenDraw {
            shards: std::array::from_fn(|_| Shard(Mutex::new(Draw::default()))),
            left: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
        }
    }

    /// Take entries from `left` for a shard: a share small enough that the other shards
    /// rarely run dry while this one holds some (`None` when nothing is left).
    fn take_budget(&self) -> Option<usize> {
        let mut got = 0;
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                got = (left / (4 * SHARDS)).clamp(1, BUDGET_CHUNK).min(left);
                (got > 0).then(|| left - got)
            })
            .ok()
            .map(|_| got)
    }
}

/// The most entries a shard takes from its draw's `left` at once.
const BUDGET_CHUNK: usize = 64;

/// The shard of a (patient, slot): a multiplicative hash's top bits.
fn shard_of(patient: PatientId, slot: SlotId) -> usize {
    let identity = ((patient.0 as u64) << 32) | slot.0 as u64;
    (identity.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SHARDS.trailing_zeros())) as usize
}

/// Which places of the store hold which open draw.
#[derive(Default)]
struct Index {
    /// Open draws: release instant → (place, draws at).
    open: FxHashMap<Timestamp, (usize, Timestamp)>,
    /// Places whose draw was taken out, to reuse.
    free: Vec<usize>,
}

/// Open lotteries by release instant.
#[derive(Default)]
pub(crate) struct Lotteries {
    /// Every place ever used for a draw (as many as draws were ever open at once). Append-only,
    /// so a reference to a place stays valid while the engine lives.
    store: boxcar::Vec<OpenDraw>,
    index: Mutex<Index>,
    /// 1 + the place of the draw entered or opened last: where an entry looks first.
    recent: AtomicUsize,
    /// The last ticket number given. A live entry takes the next one only once it is in its
    /// draw (`push_numbered`): a refused entry changes nothing, its number included, so the live
    /// engine's count is the journal's (replay raises it to each `LotteryEntered`'s ticket).
    ///
    /// On a cache line of its own: every entry adds to it, and every entry reads `recent` and
    /// `store` beside it (two threads entering a crowd took turns at the line otherwise).
    pub(crate) next_ticket: CachePadded<AtomicU64>,
}

/// A ticket whose number the draw gives it as it enters (`Lotteries::enter_keyed`).
pub(crate) const TICKET_TO_NUMBER: TicketId = TicketId(0);

impl Lotteries {
    /// Open the draw of `release_at` (drawing at `draws_at`, bounded by `max_entries`) if it is
    /// not yet; returns its place and points `recent` at it.
    fn open_draw(&self, release_at: Timestamp, draws_at: Timestamp, max_entries: usize) -> usize {
        let mut index = self.index.lock();
        let place = match index.open.get(&release_at) {
            Some(&(place, _)) => place,
            None => {
                let place = index.free.pop().unwrap_or_else(|| self.store.push(OpenDraw::new()));
                let open = &self.store[place];
                open.max.store(max_entries, Ordering::Release);
                open.left.store(max_entries, Ordering::Release);
                for s in &open.shards {
                    let mut d = Draw::with_capacity(draws_at, SHARD_RESERVED);
                    d.release_at = Some(release_at);
                    *s.0.lock() = d;
                }
                index.open.insert(release_at, (place, draws_at));
                place
            }
        };
        self.recent.store(place + 1, Ordering::Release);
        place
    }

    /// Enter `ticket` in the draw of `release_at`, unless it holds `max_entries` tickets or the
    /// patient entered this slot already; returns its number (`TICKET_TO_NUMBER`: the next
    /// one, taken only if it enters). Without its sort key (replay): the draw computes it.
    pub fn enter(
        &self,
        release_at: Timestamp,
        draws_at: Timestamp,
        max_entries: usize,
        ticket: Ticket,
    ) -> Result<TicketId, EnterError> {
        self.enter_keyed(release_at, draws_at, max_entries, ticket, None)
    }

    /// `enter`, with the ticket's sort key in the draw seeded `key.0` if the caller computed it.
    ///
    /// The bound is checked before the duplicate, as it always was, and exactly: a shard
    /// without budget takes some from the draw's `left`, and when nothing is left, or the
    /// bound changed, the entry counts every shard under all their locks.
    ///
    /// A draw taken out by `take_due` is marked drawn: entering it would be lost, so the entry
    /// goes to the release's current draw instead. The mark is read under the shard's lock,
    /// which orders the push before or after the take.
    pub fn enter_keyed(
        &self,
        release_at: Timestamp,
        draws_at: Timestamp,
        max_entries: usize,
        ticket: Ticket,
        key: Option<(u64, u64)>,
    ) -> Result<TicketId, EnterError> {
        let shard = shard_of(ticket.request.patient, ticket.request.slot);
        let mut place = self.recent.load(Ordering::Acquire).wrapping_sub(1);
        loop {
            if let Some(open) = self.store.get(place) {
                let mut d = open.shards[shard].0.lock();
                if d.is_open_for(release_at) {
                    // The common path: a budget counted for this bound (read, not written).
                    if open.max.load(Ordering::Acquire) == max_entries {
                        if d.budget == 0 {
                            d.budget = open.take_budget().unwrap_or(0);
                        }
                        if d.budget > 0 {
                            return self.push(d, max_entries, ticket, key);
                        }
                    }
                    drop(d);
                    match self.enter_counted(open, shard, release_at, max_entries, ticket, key) {
                        Ok(result) => return result,
                        Err(back) => {
                            // The draw was taken out meanwhile: enter the current one.
                            return self.enter_keyed(release_at, draws_at, max_entries, back, key);
                        }
                    }
                }
            }
            place = self.open_draw(release_at, draws_at, max_entries);
        }
    }

    /// Push a ticket into a shard that has budget for it, unless it is a duplicate.
    fn push(
        &self,
        mut d: MutexGuard<'_, Draw>,
        max_entries: usize,
        ticket: Ticket,
        key: Option<(u64, u64)>,
    ) -> Result<TicketId, EnterError> {
        if !d.entered.insert((ticket.request.patient, ticket.request.slot)) {
            return Err(EnterError::Duplicate);
        }
        d.budget -= 1;
        d.reserve_one(max_entries);
        Ok(self.push_numbered(&mut d, ticket, key))
    }

    /// Push a ticket that is sure to enter, numbered now if it has no number yet (a live
    /// entry: the next one); replay's tickets keep theirs (replay raises the count itself).
    fn push_numbered(&self, d: &mut Draw, mut ticket: Ticket, key: Option<(u64, u64)>) -> TicketId {
        if ticket.id == TICKET_TO_NUMBER {
            ticket.id = TicketId(self.next_ticket.fetch_add(1, Ordering::Relaxed) + 1);
        }
        let id = ticket.id;
        d.push(ticket, key);
        id
    }

    /// The exact path: every shard locked (in order), the tickets counted against the bound,
    /// every unused budget taken back to `left` (counted for `max_entries`), then the entry.
    /// `Err(ticket)` if the draw was taken out meanwhile.
    fn enter_counted(
        &self,
        open: &OpenDraw,
        shard: usize,
        release_at: Timestamp,
        max_entries: usize,
        ticket: Ticket,
        key: Option<(u64, u64)>,
    ) -> Result<Result<TicketId, EnterError>, Ticket> {
        let mut all: Vec<MutexGuard<'_, Draw>> = open.shards.iter().map(|s| s.0.lock()).collect();
        if !all[shard].is_open_for(release_at) {
            return Err(ticket);
        }
        let tickets: usize = all.iter().map(|d| d.tickets.len()).sum();
        for d in all.iter_mut() {
            d.budget = 0;
        }
        open.max.store(max_entries, Ordering::Release);
        open.left.store(max_entries.saturating_sub(tickets), Ordering::Release);
        if tickets >= max_entries {
            return Ok(Err(EnterError::Full));
        }
        let d = &mut all[shard];
        if !d.entered.insert((ticket.request.patient, ticket.request.slot)) {
            return Ok(Err(EnterError::Duplicate));
        }
        open.left.fetch_sub(1, Ordering::AcqRel);
        d.reserve_one(max_entries);
        Ok(Ok(self.push_numbered(d, ticket, key)))
    }

    /// Put back a whole draw (snapshot restore).
    pub fn restore(&self, release_at: Timestamp, draw: Draw) {
        // Restored before the engine is shared: nothing enters meanwhile.
        let max = usize::MAX;
        let place = self.open_draw(release_at, draw.draws_at, max);
        let open = &self.store[place];
        open.left.fetch_sub(draw.tickets.len(), Ordering::AcqRel);
        for t in draw.tickets {
            let mut d = open.shards[shard_of(t.request.patient, t.request.slot)].0.lock();
            d.entered.insert((t.request.patient, t.request.slot));
            d.push(t, None);
        }
    }

    /// Take the draw of `release_at` out of the open ones: its shards, each marked drawn.
    fn take(&self, index: &mut Index, release_at: Timestamp) -> Option<TakenDraw> {
        let (place, draws_at) = index.open.remove(&release_at)?;
        // Lock to wait out an `enter` that holds a shard; the mark left behind turns later
        // ones away until the place is reused.
        let shards = self.store[place]
            .shards
            .iter()
            .map(|s| {
                let mut d = s.0.lock();
                let marker = Draw { drawn: true, release_at: d.release_at, ..Draw::default() };
                std::mem::replace(&mut *d, marker)
            })
            .collect();
        index.free.push(place);
        Some(TakenDraw::new(draws_at, shards))
    }

    /// Forget a release's draw (replay of its `LotteryDrawn`).
    pub fn remove(&self, release_at: Timestamp) {
        let mut index = self.index.lock();
        self.take(&mut index, release_at);
    }

    /// Every open draw, as (release instant, draws at, tickets), in release order, each
    /// draw's tickets in ticket order.
    pub fn open_draws(&self) -> Vec<(Timestamp, Timestamp, Vec<Ticket>)> {
        let index = self.index.lock();
        let mut out: Vec<(Timestamp, Timestamp, Vec<Ticket>)> = index
            .open
            .iter()
            .map(|(&release_at, &(place, draws_at))| {
                let mut tickets: Vec<Ticket> = self.store[place]
                    .shards
                    .iter()
                    .flat_map(|s| s.0.lock().tickets.clone())
                    .collect();
                tickets.sort_unstable_by_key(|t| t.id);
                (release_at, draws_at, tickets)
            })
            .collect();
        out.sort_by_key(|d| d.0);
        out
    }

    /// Take out every draw due at `now`, oldest release first.
    pub fn take_due(&self, now: Timestamp) -> Vec<(Timestamp, TakenDraw)> {
        let mut index = self.index.lock();
        let mut due: Vec<Timestamp> =
            index.open.iter().filter(|(_, &(_, at))| at <= now).map(|(&r, _)| r).collect();
        due.sort_unstable();
        due.into_iter().filter_map(|r| Some((r, self.take(&mut index, r)?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ChannelId;

    fn ticket(id: u64, patient: u32, slot: u32) -> Ticket {
        Ticket {
            id: TicketId(id),
            request: Request::new(PatientId(patient), SlotId(slot), ChannelId(0)),
            weight: 1.0,
        }
    }

    const R: Timestamp = Timestamp(1_000);
    const AT: Timestamp = Timestamp(1_060);

    fn count(l: &Lotteries) -> usize {
        l.open_draws().iter().map(|d| d.2.len()).sum()
    }

    #[test]
    fn the_bound_is_exact_and_checked_before_duplicates() {
        for max in [1, 2, 17, 1_000, 5_000] {
            let l = Lotteries::default();
            let mut id = 0;
            for p in 0..max as u32 {
                id += 1;
                assert!(l.enter(R, AT, max, ticket(id, p, 7)).is_ok(), "max {max}, entry {p}");
                if p % 3 == 0 {
                    let again = l.enter(R, AT, max, ticket(id + 1_000_000, p, 7));
                    let full = p as usize + 1 == max;
                    assert!(matches!(
                        (again, full),
                        (Err(EnterError::Duplicate), false) | (Err(EnterError::Full), true)
                    ));
                }
            }
            assert!(matches!(l.enter(R, AT, max, ticket(0, u32::MAX, 7)), Err(EnterError::Full)));
            assert_eq!(count(&l), max);
            // A larger bound (a policy change) lets more in, exactly up to it.
            for p in 0..3 {
                assert!(l
                    .enter(R, AT, max + 3, ticket(id + 10 + p, 1 << 30 | p as u32, 7))
                    .is_ok());
            }
            assert!(matches!(
                l.enter(R, AT, max + 3, ticket(1, 1 << 31, 7)),
                Err(EnterError::Full)
            ));
            // A smaller one refuses everything.
            assert!(matches!(
                l.enter(R, AT, max / 2, ticket(2, 1 << 29, 7)),
                Err(EnterError::Full)
            ));
            assert_eq!(count(&l), max + 3);
        }
    }

    #[test]
    fn two_threads_fill_a_draw_exactly_to_its_bound() {
        let max = 10_000;
        let l = Lotteries::default();
        let entered = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..2u32 {
                let (l, entered) = (&l, &entered);
                s.spawn(move || {
                    for p in 0..8_000u32 {
                        let id = (t as u64) << 32 | p as u64;
                        match l.enter(R, AT, max, ticket(id, p * 2 + t, 3)) {
                            Ok(_) => {
                                entered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(EnterError::Full) => {}
                            Err(EnterError::Duplicate) => panic!("no duplicate was entered"),
                        }
                        // Every patient also asks twice: always refused.
                        assert!(l.enter(R, AT, max, ticket(id, p * 2 + t, 3)).is_err());
                    }
                });
            }
        });
        assert_eq!(entered.into_inner(), max);
        assert_eq!(count(&l), max);
    }

    #[test]
    fn drawn_places_are_reused_and_restored_draws_are_whole() {
        let l = Lotteries::default();
        for round in 0..3u64 {
            let release = Timestamp(R.0 + round as i64 * 86_400);
            for p in 0..100 {
                assert!(l
                    .enter(release, AT, 1_000, ticket(round * 1_000 + p + 1, p as u32, 1))
                    .is_ok());
            }
            let due = l.take_due(Timestamp(i64::MAX));
            assert_eq!(due.len(), 1);
            let draw = &due[0].1;
            assert_eq!(draw.len(), 100);
            let mut ids: Vec<u64> = (0..100).map(|i| draw.ticket(i).id.0).collect();
            ids.sort_unstable();
            assert_eq!(ids, (round * 1_000 + 1..=round * 1_000 + 100).collect::<Vec<u64>>());
            assert!(l.open_draws().is_empty());
        }
        assert_eq!(l.store.count(), 1, "one place, reused");
        // A snapshot's draw comes back whole, duplicates still refused, in ticket order.
        let mut draw = Draw::new(AT);
        for p in (0..50).rev() {
            draw.entered.insert((PatientId(p), SlotId(2)));
            draw.tickets.push(ticket(p as u64, p, 2));
        }
        l.restore(R, draw);
        assert!(matches!(l.enter(R, AT, 1_000, ticket(99, 3, 2)), Err(EnterError::Duplicate)));
        assert!(l.enter(R, AT, 51, ticket(100, 50, 2)).is_ok());
        assert!(matches!(l.enter(R, AT, 51, ticket(101, 51, 2)), Err(EnterError::Full)));
        let open = l.open_draws();
        let ids: Vec<u64> = open[0].2.iter().map(|t| t.id.0).collect();
        assert_eq!(ids, (0..=50).chain([100]).filter(|&i| i != 50).collect::<Vec<u64>>());
    }
}
