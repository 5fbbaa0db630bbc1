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
//! that: one unstable sort of 16-byte keys, events built only if someone reads them, and a
//! ticket whose slot has no place left for it loses without taking its patient's lock.

use crate::booking::Mode;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::*;
use crate::lotteries::{EnterError, Ticket};
use crate::model::{PriorityClass, Request, Submission};
use crate::time::Timestamp;
use crate::Engine;
use std::sync::atomic::Ordering;

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

/// Serving order of entries given their identities (distinct) and weights: indexes into both.
/// Ties (equal keys) go to the smaller identity, so the order is total and arrival-free.
fn order_of(identities: &[u64], weights: &[f64], seed: u64) -> Vec<usize> {
    debug_assert_eq!(identities.len(), weights.len());
    // (key, identity, index): one unstable sort of plain integers; identities are distinct, so
    // the comparison is total and an unstable sort gives one answer.
    let mut keyed: Vec<(u64, u64, u32)> = identities
        .iter()
        .zip(weights)
        .enumerate()
        .map(|(i, (&id, &w))| (key(unit(seed, id), w), id, i as u32))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, i)| i as usize).collect()
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
            if let Some(until) = state.suspended_until.filter(|u| *u > now) {
                return Err(Error::PatientSuspended {
                    patient,
                    until,
                    utc_offset_s: self.utc_offset_s,
                });
            }
            let urgency = match req.referral {
                Some(r) => Some(
                    state
                        .referrals
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
        let id = TicketId(self.lotteries.next_ticket.fetch_add(1, Ordering::Relaxed) + 1);
        let request = Request { patient, ..req.clone() };
        let max = self.pol().lottery.max_entries as usize;
        let ticket = Ticket { id, request: request.clone(), weight };
        match self.lotteries.enter(release_at, draws_at, max, ticket) {
            Ok(()) => {}
            Err(EnterError::Full) => {
                return Err(Error::CapacityExceeded(format!("the lottery of {release_at} is full")))
            }
            Err(EnterError::Duplicate) => {
                return Err(Error::invalid(format!(
                    "{patient} already entered the lottery for {}",
                    req.slot
                )))
            }
        }
        self.emit_lazily(now, || EventKind::LotteryEntered {
            ticket: id,
            request,
            weight,
            release_at,
            draws_at,
        });
        Ok(Submission::Entered { ticket: id, draws_at })
    }

    /// Why a ticket certainly loses, known from its slot alone, without its patient's lock: the
    /// slot is closed, booking has closed, or no pool this request may take has a free place.
    /// Only for tickets without a referral (a referral's pools depend on the patient's record;
    /// those go through `place`). `None` when the ticket must be tried.
    fn lost_on_sight(&self, req: &Request, at: Timestamp) -> Option<Error> {
        if req.referral.is_some() {
            return None;
        }
        let slot = self.store.get(req.slot)?;
        let window = self.window(slot);
        if at >= window.closes_at || slot.is_closed() {
            return None; // `place` words these refusals.
        }
        let order = self.pool_order(slot, &window, req.channel, None, at).ok()?;
        (slot.free_in(order.as_slice()) == 0).then_some(Error::SlotFull { slot: req.slot })
    }

    /// Draw every lottery whose window has closed, oldest release first. Called by `tick`.
    ///
    /// Tickets are served in the drawn order against the places as they stand: a ticket whose
    /// slot has nothing left for it loses at once (`lost_on_sight`), so a place given back by a
    /// cancellation *during* the draw goes to whoever asks next, not to a later ticket of it.
    pub(crate) fn draw_due_lotteries(&self, now: Timestamp) {
        for (release_at, draw) in self.lotteries.take_due(now) {
            let seed = mix(self.pol().lottery.seed ^ release_at.0 as u64);
            let identities: Vec<u64> = draw.tickets.iter().map(|t| identity(&t.request)).collect();
            let weights: Vec<f64> = draw.tickets.iter().map(|t| t.weight).collect();
            let order = order_of(&identities, &weights, seed);
            let at = draw.draws_at;
            self.emit_lazily(at, || EventKind::LotteryDrawn {
                release_at,
                seed,
                order: order.iter().map(|&i| draw.tickets[i].id).collect(),
            });
            let mode = Mode { hold_ttl_s: None, offer: None, bypass_lottery: true };
            for i in order {
                let t = &draw.tickets[i];
                let outcome = match self.lost_on_sight(&t.request, at) {
                    Some(e) => Err(e),
                    None => self.place(&t.request, mode, at),
                };
                match outcome {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
