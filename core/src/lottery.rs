//! Release-time lottery: requests in the window after a release instant are served in a seeded,
//! weighted random order instead of by speed, so that bots gain nothing from being first.
//!
//! The order is Efraimidis–Spirakis weighted sampling without replacement: each entry has a
//! uniform `u ∈ (0, 1]` and is served by descending `ln(u) / weight`. `u` is a hash of the seed
//! and the entry's identity (patient, slot) — a counter-based generator — so the draw depends
//! only on *who* entered, not on which thread arrived first, without first sorting the entries
//! into a canonical order: the same entries and seed give the same order, and `LotteryDrawn`
//! records it.
//!
//! A release brings ~100,000 entries for ~2,000 places (DOMAIN.md), so the draw is built for
//! that: each entry's key is computed by the thread that enters it (the crowd's threads share
//! the logarithms); the draw sorts 16-byte (key, index, sight) entries with a radix sort of the
//! keys' top bits (equal prefixes then ordered by whole key and identity: the same order a
//! comparison sort of (key, identity) gives); what a slot offers a channel is looked at once
//! per (slot, channel), not per ticket, so a ticket whose slot has no place left for it loses
//! without its patient's lock and without its own record being read; and events are built
//! only if someone reads them.

use crate::booking::{Mode, PoolOrder};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::*;
use crate::lotteries::{EnterError, TakenDraw, Ticket, TICKET_TO_NUMBER};
use crate::model::{PriorityClass, Request, Submission};
use crate::policy::Policy;
use crate::store::SlotRef;
use crate::time::Timestamp;
use crate::Engine;
use rustc_hash::FxHashMap;

/// SplitMix64's finaliser: a bijective 64-bit mix. Derives one seed per release instant from
/// the policy seed, and each entry's uniform from that seed and the entry's identity.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The uniform `u ∈ (0, 1]` of the entry `identity` in the draw seeded `seed`: 53 random bits.
/// Two rounds of the mix, so that neighbouring identities (patient ids are dense) and
/// neighbouring seeds give unrelated values.
fn unit(seed: u64, identity: u64) -> f64 {
    let h = mix(seed ^ mix(identity));
    ((h >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The sort key of an entry: descending `ln(u) / weight` as an ascending integer. `ln(u) ≤ 0`,
/// so the key is `-ln(u) / weight ≥ 0`, and non-negative floats order like their bits.
fn key(u: f64, weight: f64) -> u64 {
    (-u.ln() / weight.max(f64::MIN_POSITIVE)).to_bits()
}

/// The seed of the draw of the release at `release_at` under the policy seed `policy_seed`.
fn draw_seed(policy_seed: u64, release_at: Timestamp) -> u64 {
    mix(policy_seed ^ release_at.0 as u64)
}

/// Below this many entries a comparison sort beats the radix sort's fixed cost.
const RADIX_FROM: usize = 1_024;
/// The radix sort's digit and passes: 3 passes of 11 bits sort by a key's top 33 bits.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
const PASSES: usize = 3;
/// The bits below a key's sorted prefix.
const PREFIX_SHIFT: u32 = 64 - PASSES as u32 * DIGIT_BITS;

/// `a` in ascending `key` order for keys below `2^(PASSES × DIGIT_BITS)`, stable (least
/// significant digit first; a pass whose digit is the same for every key is skipped). Two
/// buffers and one histogram: no comparisons, up to 3 moves of each element.
fn radix_sort<T: Copy + Default>(mut a: Vec<T>, key: impl Fn(&T) -> u64) -> Vec<T> {
    let n = a.len();
    if n == 0 {
        return a;
    }
    let mut counts = vec![0u32; PASSES * BUCKETS];
    for e in &a {
        let k = key(e);
        for (p, c) in counts.chunks_exact_mut(BUCKETS).enumerate() {
            c[(k >> (p as u32 * DIGIT_BITS)) as usize & (BUCKETS - 1)] += 1;
        }
    }
    let mut b = vec![T::default(); n];
    for (p, c) in counts.chunks_exact_mut(BUCKETS).enumerate() {
        let shift = p as u32 * DIGIT_BITS;
        if c[(key(&a[0]) >> shift) as usize & (BUCKETS - 1)] as usize == n {
            continue; // every key has this digit: the pass would not move anything
        }
        let mut sum = 0;
        for x in c.iter_mut() {
            (*x, sum) = (sum, sum + *x);
        }
        for e in &a {
            let d = (key(e) >> shift) as usize & (BUCKETS - 1);
            b[c[d] as usize] = *e;
            c[d] += 1;
        }
        std::mem::swap(&mut a, &mut b);
    }
    a
}

/// `entries` in serving order: ascending key, equal keys by ascending identity (identities
/// are distinct). The order is total, so it depends only on the entries, never on the order
/// they were given in.
///
/// Large draws: a radix sort by the keys' top 33 bits (for the keys of a draw, the exponent
/// and 21 bits of the mantissa), then each run of equal prefixes (a few entries among
/// 100,000) ordered by whole key and identity — the same order as one comparison sort.
fn serving_order<T: Copy + Default>(
    entries: Vec<T>,
    key: impl Fn(&T) -> u64,
    identity: impl Fn(&T) -> u64,
) -> Vec<T> {
    let n = entries.len();
    let by_key_then_identity =
        |a: &T, b: &T| key(a).cmp(&key(b)).then_with(|| identity(a).cmp(&identity(b)));
    if n < RADIX_FROM {
        let mut entries = entries;
        entries.sort_unstable_by(by_key_then_identity);
        return entries;
    }
    let mut entries = radix_sort(entries, |e| key(e) >> PREFIX_SHIFT);
    let mut i = 0;
    while i + 1 < n {
        let prefix = key(&entries[i]) >> PREFIX_SHIFT;
        let mut j = i + 1;
        while j < n && key(&entries[j]) >> PREFIX_SHIFT == prefix {
            j += 1;
        }
        if j - i > 1 {
            entries[i..j].sort_unstable_by(by_key_then_identity);
        }
        i = j;
    }
    entries
}

/// Serving order of entries given their identities (distinct) and weights: indexes into both.
/// Ties (equal keys) go to the smaller identity, so the order is total and arrival-free.
fn order_of(identities: &[u64], weights: &[f64], seed: u64) -> Vec<usize> {
    debug_assert_eq!(identities.len(), weights.len());
    let keyed: Vec<(u64, u32)> = identities
        .iter()
        .zip(weights)
        .enumerate()
        .map(|(i, (&id, &w))| (key(unit(seed, id), w), i as u32))
        .collect();
    serving_order(keyed, |e| e.0, |e| identities[e.1 as usize])
        .into_iter()
        .map(|(_, i)| i as usize)
        .collect()
}

/// The serving order of weighted entries (indexes into `weights`), from `seed`: entry `i`'s
/// identity is `i`.
pub fn weighted_order(weights: &[f64], seed: u64) -> Vec<usize> {
    let identities: Vec<u64> = (0..weights.len() as u64).collect();
    order_of(&identities, weights, seed)
}

/// The identity of a ticket in its draw: one entry per (patient, slot).
fn identity(r: &Request) -> u64 {
    ((r.patient.0 as u64) << 32) | r.slot.0 as u64
}

impl Engine {
    /// The weight of a request in the draw: its class weight, divided by (1 + penalty) per
    /// counted no-show.
    fn lottery_weight(&self, class: PriorityClass, no_shows: f32) -> f64 {
        let l = &self.pol().lottery;
        let base = match class {
            PriorityClass::Emergency => l.weight_emergency,
            PriorityClass::Urgent => l.weight_urgent,
            PriorityClass::Routine => l.weight_routine,
            PriorityClass::FollowUp => l.weight_follow_up,
            PriorityClass::General => l.weight_general,
        };
        if no_shows <= 0.0 {
            return base; // most entrants: no `powf`
        }
        base / (1.0 + l.no_show_penalty).powf(no_shows as f64)
    }

    pub(crate) fn enter_lottery(
        &self,
        req: &Request,
        release_at: Timestamp,
        draws_at: Timestamp,
        now: Timestamp,
    ) -> Result<Submission> {
        // The draw's bound comes from the policy, and replay applies it again.
        let _policy = self.policy_gate();
        self.registry.channel(req.channel)?;
        let (patient, weight) = {
            let (patient, state) = self.patients.lock(req.patient)?;
            if let Some(until) = state.suspended_until().filter(|u| *u > now) {
                return Err(Error::PatientSuspended {
                    patient,
                    until,
                    utc_offset_s: self.utc_offset_s,
                });
            }
            let urgency = match req.referral {
                Some(r) => Some(
                    state
                        .referrals()
                        .iter()
                        .find(|x| x.id == r && x.used_by.is_none())
                        .ok_or_else(|| Error::ReferralInvalid {
                            referral: r,
                            reason: "not an unused referral of this patient".into(),
                        })?
                        .urgency,
                ),
                None => None,
            };
            let no_shows = state.no_shows_in_window(&self.pol().no_show, now, self.utc_offset_s);
            (patient, self.lottery_weight(PriorityClass::of(urgency, req.follow_up), no_shows))
        };
        let request = Request { patient, ..req.clone() };
        // The ticket's sort key, here rather than in the draw: the crowd's threads share it.
        let seed = draw_seed(self.pol().lottery.seed, release_at);
        let key = (seed, key(unit(seed, identity(&request)), weight));
        let max = self.pol().lottery.max_entries as usize;
        // Numbered as it enters: a refused entry takes no number (`Lotteries::next_ticket`).
        let ticket = Ticket { id: TICKET_TO_NUMBER, request: request.clone(), weight };
        let id = match self.lotteries.enter_keyed(release_at, draws_at, max, ticket, Some(key)) {
            Ok(id) => id,
            Err(EnterError::Full) => {
                return Err(Error::CapacityExceeded(format!("the lottery of {release_at} is full")))
            }
            Err(EnterError::Duplicate) => {
                return Err(Error::invalid(format!(
                    "{patient} already entered the lottery for {}",
                    req.slot
                )))
            }
        };
        self.emit_lazily(now, || EventKind::LotteryEntered {
            ticket: id,
            request,
            weight,
            release_at,
            draws_at,
        });
        Ok(Submission::Entered { ticket: id, draws_at })
    }

    /// Draw every lottery whose window has closed, oldest release first. Called by `tick`.
    ///
    /// Tickets are served in the drawn order against the places as they stand: a ticket whose
    /// slot has nothing left for it loses at once (`Sights::full`), so a place given back by a
    /// cancellation *during* the draw goes to whoever asks next, not to a later ticket of it.
    pub(crate) fn draw_due_lotteries(&self, now: Timestamp) {
        for (release_at, draw) in self.lotteries.take_due(now) {
            let seed = draw_seed(self.pol().lottery.seed, release_at);
            let at = draw.draws_at;
            // One pass over the tickets in their stored order: each one's key and sight, so
            // that serving them in drawn order reads the sorted entries and the sights, and a
            // ticket's own record only if it is tried (about one in fifty in a flash crowd).
            let mut sights = Sights::new(self, at);
            let mut entries: Vec<Entry> = Vec::with_capacity(draw.len());
            for shard in &draw.shards {
                let keys = shard.keys_for(seed);
                for (i, t) in shard.tickets.iter().enumerate() {
                    entries.push(Entry {
                        key: match keys {
                            Some(keys) => keys[i],
                            None => key(unit(seed, identity(&t.request)), t.weight),
                        },
                        index: entries.len() as u32,
                        sight: sights.index_of(&t.request),
                    });
                }
            }
            let order =
                serving_order(entries, |e| e.key, |e| identity(&draw.ticket(e.index).request));
            self.emit_lazily(at, || EventKind::LotteryDrawn {
                release_at,
                seed,
                order: order.iter().map(|e| draw.ticket(e.index).id).collect(),
            });
            let mode = Mode { hold_ttl_s: None, offer: None, bypass_lottery: true };
            // The tickets that lose on sight are emitted in runs, each run before the next
            // ticket tried and so numbered as one by one (`EventBus::emit_run`).
            let mut run_from = 0;
            for (k, e) in order.iter().enumerate() {
                if sights.full(e.sight).is_some() {
                    continue;
                }
                self.emit_lost_on_sight(at, &order[run_from..k], &draw, &mut sights);
                run_from = k + 1;
                let t = draw.ticket(e.index);
                match self.place(&t.request, mode, at) {
                    Ok(b) => {
                        self.emit_at(at, EventKind::LotteryWon { ticket: t.id, booking: b.id });
                    }
                    Err(e) => {
                        self.emit_lazily(at, || EventKind::LotteryLost {
                            ticket: t.id,
                            reason: e.to_string(),
                        });
                    }
                }
            }
            self.emit_lost_on_sight(at, &order[run_from..], &draw, &mut sights);
        }
    }

    /// `LotteryLost` for a run of tickets that lost on sight (their slots' reasons).
    fn emit_lost_on_sight(
        &self,
        at: Timestamp,
        run: &[Entry],
        draw: &TakenDraw,
        sights: &mut Sights<'_>,
    ) {
        self.events.emit_run(at, run.len(), |j| EventKind::LotteryLost {
            ticket: draw.ticket(run[j].index).id,
            reason: sights.list[run[j].sight as usize].reason(),
        });
    }
}

/// A ticket in the draw: its sort key, its index in the draw's tickets, its sight.
#[derive(Copy, Clone, Default)]
struct Entry {
    key: u64,
    index: u32,
    sight: u32,
}

/// The sight of tickets that always go through `place`.
const NO_SIGHT: u32 = u32::MAX;

/// What the draw knows of one (slot, channel) without any lock: the slot, and the pools a
/// ticket of that channel may take at the draw's instant. Computed once per (slot, channel)
/// instead of once per ticket (a release brings ~50 tickets per slot).
struct Sight<'e> {
    slot_id: SlotId,
    channel: ChannelId,
    /// `None`: the tickets go through `place`, which words their refusal (unknown slot,
    /// booking closed, pool not open).
    seen: Option<(SlotRef<'e>, PoolOrder)>,
    /// The reason a ticket lost, written once per slot if an event is built.
    reason: Option<String>,
}

impl Sight<'_> {
    fn reason(&mut self) -> String {
        let slot = self.slot_id;
        self.reason.get_or_insert_with(|| Error::SlotFull { slot }.to_string()).clone()
    }
}

/// The sights of one draw.
struct Sights<'e> {
    engine: &'e Engine,
    at: Timestamp,
    /// The policy the sights were computed under: a policy change during the draw computes
    /// them again.
    policy: *const Policy,
    index: FxHashMap<(SlotId, ChannelId), u32>,
    list: Vec<Sight<'e>>,
}

impl<'e> Sights<'e> {
    fn new(engine: &'e Engine, at: Timestamp) -> Self {
        Sights { engine, at, policy: engine.pol(), index: FxHashMap::default(), list: Vec::new() }
    }

    fn see(&self, slot_id: SlotId, channel: ChannelId) -> Option<(SlotRef<'e>, PoolOrder)> {
        let engine = self.engine;
        let slot = engine.store.get(slot_id)?;
        let window = engine.window(&slot);
        if self.at >= window.closes_at {
            return None;
        }
        let order = engine.pool_order(&slot, &window, channel, None, self.at).ok()?;
        Some((slot, order))
    }

    /// The sight of a request: `NO_SIGHT` for a request with a referral (its pools depend on
    /// the patient's record).
    fn index_of(&mut self, req: &Request) -> u32 {
        if req.referral.is_some() {
            return NO_SIGHT;
        }
        if let Some(&i) = self.index.get(&(req.slot, req.channel)) {
            return i;
        }
        let i = self.list.len() as u32;
        let seen = self.see(req.slot, req.channel);
        self.list.push(Sight { slot_id: req.slot, channel: req.channel, seen, reason: None });
        self.index.insert((req.slot, req.channel), i);
        i
    }

    /// The sight `i` if its tickets certainly lose now, known from the slot alone, without
    /// the patient's lock: the slot is open and no pool the request may take has a place.
    /// `None` when the ticket must be tried: no sight, the slot is closed or booking has
    /// closed (`place` words these), or a place is free.
    fn full(&mut self, i: u32) -> Option<&mut Sight<'e>> {
        if i == NO_SIGHT {
            return None;
        }
        if !std::ptr::eq(self.engine.pol(), self.policy) {
            self.policy = self.engine.pol();
            for k in 0..self.list.len() {
                let (slot, channel) = (self.list[k].slot_id, self.list[k].channel);
                self.list[k].seen = self.see(slot, channel);
            }
        }
        let sight = &mut self.list[i as usize];
        let (slot, order) = sight.seen.as_ref()?;
        (!slot.is_closed() && slot.free_in(order.as_slice()) == 0).then_some(sight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order as it was computed before the radix sort (one comparison sort of
    /// (key, identity, index)): the draw must give exactly this order, or a seed would
    /// give other winners than it did.
    fn reference_order(identities: &[u64], weights: &[f64], seed: u64) -> Vec<usize> {
        let mut keyed: Vec<(u64, u64, u32)> = identities
            .iter()
            .zip(weights)
            .enumerate()
            .map(|(i, (&id, &w))| (key(unit(seed, id), w), id, i as u32))
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, _, i)| i as usize).collect()
    }

    #[test]
    fn the_order_is_the_comparison_sorts_at_every_size() {
        for (n, seed) in [(0, 1), (1, 2), (7, 3), (1_023, 4), (1_024, 5), (5_000, 6), (100_000, 7)]
        {
            // Distinct identities as a draw has them ((patient, slot) pairs, given in a
            // scrambled order), and the default weights of the five priority classes.
            let identities: Vec<u64> =
                (0..n as u64).map(|i| (mix(i) >> 40) << 32 | i.wrapping_mul(7_919)).collect();
            let classes = [8.0, 4.0, 2.0, 1.5, 1.0];
            let weights: Vec<f64> = (0..n).map(|i| classes[mix(i as u64) as usize % 5]).collect();
            assert_eq!(
                order_of(&identities, &weights, seed),
                reference_order(&identities, &weights, seed),
                "{n} entries"
            );
        }
    }

    #[test]
    fn equal_keys_go_by_identity_whatever_the_arrival_order() {
        // Keys from a small range: most entries share their key with others, above and
        // below the size where the radix sort takes over.
        // And keys equal in their top bits (the radix sort's prefix), different below.
        for (n, low) in [(300usize, false), (3_000, false), (3_000, true), (100_000, true)] {
            let keys: Vec<u64> = (0..n as u64)
                .map(|i| (mix(i) % 17) << 52 | if low { mix(i ^ 5) % 3 } else { 0 })
                .collect();
            let identities: Vec<u64> = (0..n as u64).map(|i| mix(i ^ 0xabc)).collect();
            let order = |given: Vec<u32>| -> Vec<u32> {
                let entries = given.into_iter().map(|i| (keys[i as usize], i)).collect();
                let sorted =
                    serving_order(entries, |e: &(u64, u32)| e.0, |e| identities[e.1 as usize]);
                sorted.into_iter().map(|e| e.1).collect()
            };
            let mut expected: Vec<u32> = (0..n as u32).collect();
            expected.sort_unstable_by_key(|&i| (keys[i as usize], identities[i as usize]));
            assert_eq!(order((0..n as u32).collect()), expected);
            // The same entries given in reverse: the same entries served in the same order.
            assert_eq!(order((0..n as u32).rev().collect()), expected);
        }
    }

    #[test]
    fn same_seed_same_order_and_weights_matter() {
        let w = vec![1.0; 50];
        assert_eq!(weighted_order(&w, 7), weighted_order(&w, 7));
        assert_ne!(weighted_order(&w, 7), weighted_order(&w, 8));
        // A heavy entry comes first far more often than a light one.
        let mut first_heavy = 0;
        for seed in 0..2000 {
            let order = weighted_order(&[1.0, 8.0], seed);
            if order[0] == 1 {
                first_heavy += 1;
            }
        }
        // P(heavy first) = 8/9 ≈ 0.889; 2000 draws: σ ≈ 0.007.
        let p = first_heavy as f64 / 2000.0;
        assert!((p - 8.0 / 9.0).abs() < 0.04, "p = {p}");
    }
}
