//! The open release lotteries (state): the tickets entered per release instant, until their
//! draw (`lottery.rs` enters and draws them).
//!
//! A release brings its whole crowd at once, so entering is built to scale across threads: the
//! map from release instant to draw is only read on the common path (a shared shard guard, held
//! just long enough to clone an `Arc`), and each draw has its own mutex, held only for the
//! duplicate check and the push. Before, every entry took the write lock of the one dashmap
//! shard that held its release instant, so two threads entering the same release serialised on
//! the whole lookup.

use crate::ids::*;
use crate::model::Request;
use crate::time::Timestamp;
use dashmap::DashMap;
use parking_lot::Mutex;
use rustc_hash::{FxBuildHasher, FxHashSet};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Tickets reserved when a draw opens: the first burst of a release enters without regrowing.
/// (The whole `max_entries` is not reserved up front: most releases draw a few entries.)
const TICKETS_RESERVED: usize = 4_096;

/// Tickets reserved when a draw outgrows `TICKETS_RESERVED`: a release with that many entries is
/// a flash crowd (DOMAIN.md: 100,000+ requests within seconds), so the buffers grow once to
/// this, instead of doubling five times and rehashing the duplicate set each time.
const FLASH_CROWD_RESERVED: usize = 1 << 17;

/// One entry into a release's draw.
#[derive(Clone)]
pub(crate) struct Ticket {
    pub id: TicketId,
    pub request: Request,
    pub weight: f64,
}

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
    /// draw computes them all again.
    pub keys: Vec<u64>,
    pub keys_seed: Option<u64>,
    /// Taken out for its draw (`take_due`): an `enter` that locks it afterwards must not push.
    drawn: bool,
}

impl Draw {
    pub fn new(draws_at: Timestamp) -> Draw {
        Draw {
            draws_at,
            tickets: Vec::with_capacity(TICKETS_RESERVED),
            entered: FxHashSet::with_capacity_and_hasher(TICKETS_RESERVED, FxBuildHasher),
            keys: Vec::with_capacity(TICKETS_RESERVED),
            keys_seed: None,
            drawn: false,
        }
    }

    /// The keys of every ticket if they were all computed for `seed`.
    pub fn keys_for(&self, seed: u64) -> Option<&[u64]> {
        (self.keys_seed == Some(seed) && self.keys.len() == self.tickets.len())
            .then_some(&self.keys[..])
    }

    /// Room for one more ticket: at `TICKETS_RESERVED`, room for a flash crowd at once.
    fn reserve_one(&mut self, max_entries: usize) {
        let len = self.tickets.len();
        if len < self.tickets.capacity() {
            return;
        }
        let to = if len < FLASH_CROWD_RESERVED { FLASH_CROWD_RESERVED } else { len * 2 };
        let more = to.min(max_entries).saturating_sub(len).max(1);
        self.tickets.reserve_exact(more);
        self.keys.reserve_exact(more);
        self.entered.reserve(more);
    }
}

/// Why a ticket could not be entered.
pub(crate) enum EnterError {
    /// The draw holds `max_entries` tickets already.
    Full,
    /// This patient already entered this slot's draw.
    Duplicate,
}

/// An open draw in the map. `draws_at` sits outside the mutex so that finding the due draws
/// reads the map without locking any draw.
struct OpenDraw {
    draws_at: Timestamp,
    draw: Mutex<Draw>,
}

/// Open lotteries by release instant.
#[derive(Default)]
pub(crate) struct Lotteries {
    open: DashMap<Timestamp, Arc<OpenDraw>, FxBuildHasher>,
    pub(crate) next_ticket: AtomicU64,
}

impl Lotteries {
    /// The draw of `release_at`, opened (drawing at `draws_at`) if it is not yet.
    fn draw(&self, release_at: Timestamp, draws_at: Timestamp) -> Arc<OpenDraw> {
        if let Some(d) = self.open.get(&release_at) {
            return d.clone();
        }
        self.open
            .entry(release_at)
            .or_insert_with(|| {
                Arc::new(OpenDraw { draws_at, draw: Mutex::new(Draw::new(draws_at)) })
            })
            .clone()
    }

    fn all(&self) -> Vec<(Timestamp, Arc<OpenDraw>)> {
        self.open.iter().map(|d| (*d.key(), d.value().clone())).collect()
    }

    /// Enter `ticket` in the draw of `release_at`, unless it holds `max_entries` tickets or the
    /// patient entered this slot already. Without its sort key (replay): the draw computes it.
    pub fn enter(
        &self,
        release_at: Timestamp,
        draws_at: Timestamp,
        max_entries: usize,
        ticket: Ticket,
    ) -> Result<(), EnterError> {
        self.enter_keyed(release_at, draws_at, max_entries, ticket, None)
    }

    /// `enter`, with the ticket's sort key in the draw seeded `key.0` if the caller computed it.
    ///
    /// A draw taken out by `take_due` while this call held its `Arc` is marked drawn: entering
    /// it would be lost, so the entry goes to the release's current draw instead. The mark is
    /// read under the draw's lock, which orders the push before or after the take.
    pub fn enter_keyed(
        &self,
        release_at: Timestamp,
        draws_at: Timestamp,
        max_entries: usize,
        ticket: Ticket,
        key: Option<(u64, u64)>,
    ) -> Result<(), EnterError> {
        loop {
            let draw = self.draw(release_at, draws_at);
            let mut d = draw.draw.lock();
            if d.drawn {
                continue; // drawn between the lookup and the lock: enter the current one
            }
            if d.tickets.len() >= max_entries {
                return Err(EnterError::Full);
            }
            d.reserve_one(max_entries);
            if !d.entered.insert((ticket.request.patient, ticket.request.slot)) {
                return Err(EnterError::Duplicate);
            }
            match key {
                Some((seed, key)) if d.tickets.is_empty() || d.keys_seed == Some(seed) => {
                    d.keys_seed = Some(seed);
                    d.keys.push(key);
                }
                _ => d.keys_seed = None, // the draw computes every key
            }
            d.tickets.push(ticket);
            return Ok(());
        }
    }

    /// Put back a whole draw (snapshot restore).
    pub fn restore(&self, release_at: Timestamp, draw: Draw) {
        let draws_at = draw.draws_at;
        self.open.insert(release_at, Arc::new(OpenDraw { draws_at, draw: Mutex::new(draw) }));
    }

    /// Forget a release's draw (replay of its `LotteryDrawn`).
    pub fn remove(&self, release_at: Timestamp) {
        self.open.remove(&release_at);
    }

    /// Every open draw, as (release instant, draws at, tickets), in release order.
    pub fn open_draws(&self) -> Vec<(Timestamp, Timestamp, Vec<Ticket>)> {
        let mut out: Vec<(Timestamp, Timestamp, Vec<Ticket>)> = self
            .all()
            .into_iter()
            .map(|(release_at, d)| (release_at, d.draws_at, d.draw.lock().tickets.clone()))
            .collect();
        out.sort_by_key(|d| d.0);
        out
    }

    /// Take out every draw due at `now`, oldest release first.
    pub fn take_due(&self, now: Timestamp) -> Vec<(Timestamp, Draw)> {
        let mut due: Vec<Timestamp> =
            self.open.iter().filter(|d| d.value().draws_at <= now).map(|d| *d.key()).collect();
        due.sort_unstable();
        due.into_iter()
            .filter_map(|release_at| {
                let (_, draw) = self.open.remove(&release_at)?;
                // Lock to wait out an `enter` that holds the draw; the mark left behind turns
                // later ones away.
                let taken = std::mem::replace(
                    &mut *draw.draw.lock(),
                    Draw { drawn: true, ..Draw::default() },
                );
                Some((release_at, taken))
            })
            .collect()
    }
}
