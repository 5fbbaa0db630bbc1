//! Release-time lottery: requests in the window after a release instant are served in a seeded,
//! weighted random order instead of by speed, so that bots gain nothing from being first.
//!
//! The order is Efraimidis–Spirakis weighted sampling without replacement: each entry draws
//! `u ∈ (0, 1]` and is served by descending `ln(u) / weight`. Entries are first sorted by
//! (patient, slot), so the draw depends only on *who* entered, not on which thread arrived
//! first: the same entries and seed give the same order, and `LotteryDrawn` records it.

use crate::booking::Mode;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::*;
use crate::lotteries::{Draw, Ticket};
use crate::model::{PriorityClass, Request, Submission};
use crate::time::Timestamp;
use crate::Engine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::Ordering;

/// SplitMix64: derives one independent seed per release instant from the policy seed.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The serving order of weighted entries (indexes into `weights`), from `seed`.
pub fn weighted_order(weights: &[f64], seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut keyed: Vec<(f64, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let u = 1.0 - rng.random::<f64>(); // (0, 1]
            (u.ln() / w.max(f64::MIN_POSITIVE), i)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, i)| i).collect()
}

impl Engine {
    /// The weight of a request in the draw: its class weight, divided by (1 + penalty) per
    /// counted no-show.
    fn lottery_weight(&self, class: PriorityClass, no_shows: f32) -> f64 {
        let l = &self.policy.lottery;
        let base = match class {
            PriorityClass::Emergency => l.weight_emergency,
            PriorityClass::Urgent => l.weight_urgent,
            PriorityClass::Routine => l.weight_routine,
            PriorityClass::FollowUp => l.weight_follow_up,
            PriorityClass::General => l.weight_general,
        };
        base / (1.0 + l.no_show_penalty).powf(no_shows.max(0.0) as f64)
    }

    pub(crate) fn enter_lottery(
        &self,
        req: &Request,
        release_at: Timestamp,
        draws_at: Timestamp,
        now: Timestamp,
    ) -> Result<Submission> {
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
            let no_shows = state.no_shows_in_window(&self.policy.no_show, now, self.utc_offset_s);
            (patient, self.lottery_weight(PriorityClass::of(urgency, req.follow_up), no_shows))
        };
        let id = TicketId(self.lotteries.next_ticket.fetch_add(1, Ordering::Relaxed) + 1);
        {
            let mut draw = self
                .lotteries
                .open
                .entry(release_at)
                .or_insert_with(|| Draw { draws_at, ..Draw::default() });
            if draw.tickets.len() >= self.policy.lottery.max_entries as usize {
                return Err(Error::CapacityExceeded(format!(
                    "the lottery of {release_at} is full"
                )));
            }
            if !draw.entered.insert((patient, req.slot)) {
                return Err(Error::invalid(format!(
                    "{patient} already entered the lottery for {}",
                    req.slot
                )));
            }
            let request = Request { patient, ..req.clone() };
            draw.tickets.push(Ticket { id, request, weight });
        }
        self.emit_at(
            now,
            EventKind::LotteryEntered {
                ticket: id,
                request: Request { patient, ..req.clone() },
                weight,
                release_at,
                draws_at,
            },
        );
        Ok(Submission::Entered { ticket: id, draws_at })
    }

    /// Draw every lottery whose window has closed, oldest release first. Called by `tick`.
    pub(crate) fn draw_due_lotteries(&self, now: Timestamp) {
        let mut due: Vec<Timestamp> =
            self.lotteries.open.iter().filter(|d| d.draws_at <= now).map(|d| *d.key()).collect();
        due.sort_unstable();
        for release_at in due {
            let Some((_, mut draw)) = self.lotteries.open.remove(&release_at) else { continue };
            draw.tickets.sort_by_key(|t| (t.request.patient, t.request.slot));
            let seed = mix(self.policy.lottery.seed ^ release_at.0 as u64);
            let weights: Vec<f64> = draw.tickets.iter().map(|t| t.weight).collect();
            let order = weighted_order(&weights, seed);
            let at = draw.draws_at;
            self.emit_at(
                at,
                EventKind::LotteryDrawn {
                    release_at,
                    seed,
                    order: order.iter().map(|&i| draw.tickets[i].id).collect(),
                },
            );
            let mode = Mode { hold_ttl_s: None, offer: None, bypass_lottery: true };
            for i in order {
                let t = &draw.tickets[i];
                match self.place(&t.request, mode, at) {
                    Ok(b) => {
                        self.emit_at(at, EventKind::LotteryWon { ticket: t.id, booking: b.id })
                    }
                    Err(e) => self.emit_at(
                        at,
                        EventKind::LotteryLost { ticket: t.id, reason: e.to_string() },
                    ),
                };
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
