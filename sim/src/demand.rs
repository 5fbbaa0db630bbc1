//! Demand: who asks for what, when, through which channel, and how they behave afterwards.
//!
//! Every random number of a request is drawn when its day is generated, from a stream that
//! depends only on the seed and the day. Two policies run with one seed therefore see the same
//! patients asking for the same things at the same instants with the same "dice" for no-show,
//! cancellation and patience: common random numbers, so that a comparison measures the policy
//! and not the noise.

use haoyuan::{Error, Result};
use haoyuan::{Tier, Urgency};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most residents in a simulated population.
pub const POPULATION_MAX: u32 = 50_000_000;
/// Most requests a simulated day may carry.
pub const REQUESTS_PER_DAY_MAX: f64 = 5_000_000.0;

/// The no-show model: `p = base + per_lead_day × lead days + per_past_no_show × past no-shows`,
/// capped at `max` (literature: ~15% at a Chinese hospital, 7.6% NHS England, ~23% worldwide).
/// Past no-shows are those of the last `history_days` days (at most [`NO_SHOW_HISTORY_MAX`] of
/// them): a history that only grew would raise the no-show rate all through a run, and no
/// warm-up could reach a steady state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoShowModel {
    /// Probability (0 ..= 1) that a patient booked for the same day, with no past no-show,
    /// does not come. Default 0.11: with the lead-time term, bookings a few days ahead land
    /// near the ~15% reported at a Chinese hospital.
    pub base: f64,
    /// Added probability per day between booking and visit (default 0.008: a place booked a
    /// week ahead is missed about 6 points more often — plans change, people forget).
    pub per_lead_day: f64,
    /// Added probability per no-show in the patient's recent history (default 0.10: past
    /// no-shows predict future ones — the behaviour suspensions act on).
    pub per_past_no_show: f64,
    /// Cap on the probability (0 ..= 1; default 0.9: nobody is certain not to come).
    pub max: f64,
    /// Days a no-show counts in a patient's history (1 ..= 366).
    pub history_days: u32,
}

/// Most past no-shows a patient's history holds (older ones drop out first).
pub const NO_SHOW_HISTORY_MAX: usize = 4;

impl Default for NoShowModel {
    fn default() -> Self {
        NoShowModel {
            base: 0.11,
            per_lead_day: 0.008,
            per_past_no_show: 0.10,
            max: 0.9,
            history_days: 30,
        }
    }
}

impl NoShowModel {
    /// The probability (0 ..= `max`) that a booking made `lead_days` days (fractional, from
    /// booking to the visit; negative counts as 0) ahead is a no-show, for a patient with
    /// `past_no_shows` no-shows in the history window.
    ///
    /// ```
    /// use haoyuan_sim::NoShowModel;
    /// let m = NoShowModel::default();
    /// assert!((m.probability(0.0, 0) - 0.11).abs() < 1e-12);
    /// assert!((m.probability(7.0, 1) - (0.11 + 7.0 * 0.008 + 0.10)).abs() < 1e-12);
    /// assert_eq!(m.probability(7.0, 100), m.max);
    /// ```
    pub fn probability(&self, lead_days: f64, past_no_shows: u32) -> f64 {
        (self.base
            + self.per_lead_day * lead_days.max(0.0)
            + self.per_past_no_show * past_no_shows as f64)
            .clamp(0.0, self.max)
    }
}

/// What patients ask for, and how they behave once booked.
///
/// Weights (`weekday_factor`, `hourly_weights`, `tier_preference`, `specialty_weights`,
/// `urgency_mix`, `channel_mix`) are relative: only their ratios matter. Shares and
/// probabilities are within 0 ..= 1. The default is a city of 20,000 booking residents making
/// 600 requests on an ordinary weekday, with the specialty, channel and no-show mixes of the
/// seed articles; [`DemandSpec::dongguan`] scales it to Dongguan. Serde reads a partial object
/// (missing fields take these defaults) and refuses unknown fields.
///
/// ```
/// use haoyuan_sim::*;
/// // A city where the elderly book by phone much more, and patients wait longer.
/// let mut demand =
///     DemandSpec { requests_per_day: 300.0, tolerance_days_max: 7, ..DemandSpec::default() };
/// demand.channel_mix.insert("phone".into(), 0.5);
/// demand.validate().unwrap();
/// demand.release_spike_share = 1.5;
/// assert!(demand.validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemandSpec {
    /// Residents who book (each has a home district and a no-show history).
    pub population: u32,
    /// Mean requests on a day with weekday factor 1.
    pub requests_per_day: f64,
    /// Monday … Sunday multipliers.
    pub weekday_factor: [f64; 7],
    /// Relative arrivals by local hour of day.
    pub hourly_weights: [f64; 24],
    /// Share of the day's requests that arrive in the minute after the daily release (15:00)
    /// for the newly released date.
    pub release_spike_share: f64,
    /// Preference of self-referred patients for community, secondary and tertiary institutions
    /// (the crowding of big hospitals the seeds describe).
    pub tier_preference: [f64; 3],
    /// Relative demand by specialty name; a specialty not named gets `other_specialty_weight`.
    pub specialty_weights: BTreeMap<String, f64>,
    /// Relative demand of each region specialty not named in `specialty_weights` (default
    /// 0.03, beside internal medicine's 0.26).
    pub other_specialty_weight: f64,
    /// Share of requests that are referrals from a community clinic (booked by the family
    /// doctor through the `clinic` channel).
    pub referral_share: f64,
    /// Emergency, urgent, routine shares among referrals.
    pub urgency_mix: [f64; 3],
    /// Share of self-referred requests that are follow-up visits.
    pub follow_up_share: f64,
    /// Relative use of the patient channels (referrals always use `clinic`).
    pub channel_mix: BTreeMap<String, f64>,
    /// Who does not come to a booked visit, and how long a no-show is remembered.
    pub no_show: NoShowModel,
    /// Probability that a booking is cancelled by the patient before the visit.
    pub cancel_probability: f64,
    /// Probability that a hold is never confirmed (the patient walks away from payment).
    pub hold_abandon_probability: f64,
    /// Probability that a patient who found nothing joins the department's waitlist.
    pub waitlist_probability: f64,
    /// Probability that a waitlist offer is accepted.
    pub offer_accept_probability: f64,
    /// The longest wait (days) a patient accepts at the preferred place before taking an
    /// earlier alternative; drawn uniformly from 0 ..= this.
    pub tolerance_days_max: u8,
}

impl Default for DemandSpec {
    fn default() -> Self {
        let mut hourly = [0.0; 24];
        // Requests through the day: the morning peak, a lunch dip, an evening tail.
        for (h, w) in [
            (7, 3.0),
            (8, 9.0),
            (9, 10.0),
            (10, 9.0),
            (11, 7.0),
            (12, 4.0),
            (13, 5.0),
            (14, 6.0),
            (15, 7.0),
            (16, 6.0),
            (17, 5.0),
            (18, 4.0),
            (19, 4.0),
            (20, 5.0),
            (21, 4.0),
            (22, 2.0),
            (23, 1.0),
            (6, 1.0),
        ] {
            hourly[h] = w;
        }
        let specialty_weights: BTreeMap<String, f64> = [
            ("internal_medicine", 0.26),
            ("paediatrics", 0.12),
            ("gynaecology", 0.07),
            ("surgery", 0.06),
            ("stomatology", 0.05),
            ("ophthalmology", 0.05),
            ("cardiology", 0.05),
            ("orthopaedics", 0.05),
            ("imaging", 0.04),
            ("inpatient", 0.01),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let channel_mix: BTreeMap<String, f64> =
            [("app", 0.30), ("wechat", 0.38), ("web", 0.05), ("kiosk", 0.15), ("phone", 0.12)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        DemandSpec {
            population: 20_000,
            requests_per_day: 600.0,
            weekday_factor: [1.15, 1.05, 1.0, 1.0, 0.95, 0.6, 0.45],
            hourly_weights: hourly,
            release_spike_share: 0.08,
            tier_preference: [0.2, 0.3, 0.5],
            specialty_weights,
            other_specialty_weight: 0.03,
            referral_share: 0.10,
            urgency_mix: [0.05, 0.25, 0.70],
            follow_up_share: 0.15,
            channel_mix,
            no_show: NoShowModel::default(),
            cancel_probability: 0.08,
            hold_abandon_probability: 0.03,
            waitlist_probability: 0.3,
            offer_accept_probability: 0.8,
            tolerance_days_max: 3,
        }
    }
}

impl DemandSpec {
    /// Dongguan-sized demand: a million residents booking about 45,000 visits on a weekday.
    pub fn dongguan() -> DemandSpec {
        DemandSpec { population: 1_000_000, requests_per_day: 45_000.0, ..DemandSpec::default() }
    }

    /// Check every field against its bound: population 1 ..= [`POPULATION_MAX`], at most
    /// [`REQUESTS_PER_DAY_MAX`] requests on the busiest weekday, weights finite and non-negative
    /// with a positive sum where one is drawn from, shares and probabilities within 0 ..= 1,
    /// `no_show.history_days` 1 ..= 366, `tolerance_days_max` at most 60. Every entry point
    /// calls this; an `Err` (`InvalidArgument`) names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::invalid(format!("demand: {m}")));
        let p = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        let w = |x: f64| x.is_finite() && (0.0..=1e9).contains(&x);
        if self.population == 0 || self.population > POPULATION_MAX {
            return bad("population must be 1 ..= 50,000,000");
        }
        if !(self.requests_per_day.is_finite()
            && (0.0..=REQUESTS_PER_DAY_MAX).contains(&self.requests_per_day))
        {
            return bad("requests_per_day must be 0 ..= 5,000,000");
        }
        if !self.weekday_factor.iter().all(|x| w(*x) && *x <= 10.0) {
            return bad("weekday_factor entries must be 0 ..= 10");
        }
        // The busiest day's requests are generated at once: bound that day, not just the mean.
        if self.requests_per_day * self.weekday_factor.iter().cloned().fold(0.0, f64::max)
            > REQUESTS_PER_DAY_MAX
        {
            return bad("requests_per_day × the largest weekday_factor must be at most 5,000,000");
        }
        if !self.hourly_weights.iter().all(|x| w(*x))
            || self.hourly_weights.iter().sum::<f64>() <= 0.0
        {
            return bad("hourly_weights must be non-negative with a positive sum");
        }
        if !self.tier_preference.iter().all(|x| w(*x))
            || self.tier_preference.iter().sum::<f64>() <= 0.0
        {
            return bad("tier_preference must be non-negative with a positive sum");
        }
        if !self.urgency_mix.iter().all(|x| w(*x)) || self.urgency_mix.iter().sum::<f64>() <= 0.0 {
            return bad("urgency_mix must be non-negative with a positive sum");
        }
        if !self.specialty_weights.values().all(|x| w(*x))
            || !w(self.other_specialty_weight)
            || self.specialty_weights.len() > 1000
        {
            return bad("specialty weights must be non-negative (at most 1000 named)");
        }
        if self.channel_mix.is_empty()
            || self.channel_mix.len() > 64
            || !self.channel_mix.values().all(|x| w(*x))
            || self.channel_mix.values().sum::<f64>() <= 0.0
        {
            return bad(
                "channel_mix needs 1 ..= 64 channels with non-negative weights and a positive sum",
            );
        }
        for (name, x) in [
            ("release_spike_share", self.release_spike_share),
            ("referral_share", self.referral_share),
            ("follow_up_share", self.follow_up_share),
            ("cancel_probability", self.cancel_probability),
            ("hold_abandon_probability", self.hold_abandon_probability),
            ("waitlist_probability", self.waitlist_probability),
            ("offer_accept_probability", self.offer_accept_probability),
            ("no_show.base", self.no_show.base),
            ("no_show.max", self.no_show.max),
        ] {
            if !p(x) {
                return Err(Error::invalid(format!("demand: {name} {x} must be within 0 ..= 1")));
            }
        }
        if !(w(self.no_show.per_lead_day) && w(self.no_show.per_past_no_show)) {
            return bad("no_show slopes must be non-negative");
        }
        if !(1..=366).contains(&self.no_show.history_days) {
            return bad("no_show.history_days must be 1 ..= 366");
        }
        if self.tolerance_days_max > 60 {
            return bad("tolerance_days_max must be at most 60");
        }
        Ok(())
    }
}

/// Kind of a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    General,
    FollowUp,
    Referral(Urgency),
}

/// One request with all of its dice.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Req {
    /// Seconds after the simulation's local midnight of day 0 (may be negative in warm-up).
    pub at_s: i64,
    pub day: i32,
    pub patient: u32,
    pub specialty: u32,
    pub kind: Kind,
    /// Index into the simulator's channel table.
    pub channel: u8,
    pub spike: bool,
    /// Uniforms: tier choice, institution choice, slot choice at release, no-show, cancel,
    /// cancel time, hold abandonment, waitlist, offer acceptance, referring clinic.
    pub u_tier: f32,
    pub u_inst: f32,
    pub u_slot: f32,
    pub u_no_show: f32,
    pub u_cancel: f32,
    pub u_cancel_at: f32,
    pub u_abandon: f32,
    pub u_waitlist: f32,
    pub u_offer: f32,
    pub u_clinic: f32,
    pub tolerance_days: u8,
}

/// What a request asks (from the synthetic demand or a recording), before its dice.
pub(crate) struct Asked {
    pub at_s: i64,
    pub day: i32,
    pub patient: u32,
    pub specialty: u32,
    pub kind: Kind,
    pub channel: u8,
    pub spike: bool,
}

impl Asked {
    /// The request with its patient's dice, drawn from `rng` in one fixed order — the one
    /// place that order is written, for synthetic and recorded requests alike.
    pub fn with_dice(self, rng: &mut impl Rng, tolerance_days_max: u8) -> Req {
        Req {
            at_s: self.at_s,
            day: self.day,
            patient: self.patient,
            specialty: self.specialty,
            kind: self.kind,
            channel: self.channel,
            spike: self.spike,
            u_tier: rng.random(),
            u_inst: rng.random(),
            u_slot: rng.random(),
            u_no_show: rng.random(),
            u_cancel: rng.random(),
            u_cancel_at: rng.random(),
            u_abandon: rng.random(),
            u_waitlist: rng.random(),
            u_offer: rng.random(),
            u_clinic: rng.random(),
            tolerance_days: rng.random_range(0..=tolerance_days_max),
        }
    }
}

fn pick(weights: &[f64], u: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = u * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// Precomputed weights for drawing requests.
pub(crate) struct Sampler {
    pub specialty_w: Vec<f64>,
    pub channel_w: Vec<f64>,
    hour_w: Vec<f64>,
    referral_ok: Vec<bool>,
}

impl Sampler {
    /// `referral_ok[s]`: the specialty exists at a secondary or tertiary institution.
    pub fn new(
        d: &DemandSpec,
        specialties: &[String],
        referral_ok: Vec<bool>,
        channel_names: &[String],
    ) -> Sampler {
        let specialty_w = specialties
            .iter()
            .map(|s| d.specialty_weights.get(s).copied().unwrap_or(d.other_specialty_weight))
            .collect();
        let channel_w =
            channel_names.iter().map(|c| d.channel_mix.get(c).copied().unwrap_or(0.0)).collect();
        Sampler { specialty_w, channel_w, hour_w: d.hourly_weights.to_vec(), referral_ok }
    }

    /// The requests of simulated day `day` (`weekday` Monday = 0), sorted by time.
    /// `release_s`: seconds after local midnight of the daily release.
    pub fn day(
        &self,
        d: &DemandSpec,
        seed: u64,
        day: i32,
        weekday: u8,
        release_s: i64,
        clinic_channel: u8,
    ) -> Vec<Req> {
        let mut rng = ChaCha8Rng::seed_from_u64(
            seed ^ ((day as i64 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        );
        let mean = d.requests_per_day * d.weekday_factor[weekday as usize];
        let n = mean.floor() as u64 + (rng.random::<f64>() < mean.fract()) as u64;
        let base = day as i64 * 86_400;
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let spike = rng.random::<f64>() < d.release_spike_share;
            let hour = pick(&self.hour_w, rng.random());
            let in_hour: f64 = rng.random();
            let mut specialty = pick(&self.specialty_w, rng.random()) as u32;
            let referral = rng.random::<f64>() < d.referral_share
                && self.referral_ok.get(specialty as usize).copied().unwrap_or(false);
            let kind = if referral {
                Kind::Referral(
                    [Urgency::Emergency, Urgency::Urgent, Urgency::Routine]
                        [pick(&d.urgency_mix, rng.random())],
                )
            } else if rng.random::<f64>() < d.follow_up_share {
                Kind::FollowUp
            } else {
                Kind::General
            };
            let channel =
                if referral { clinic_channel } else { pick(&self.channel_w, rng.random()) as u8 };
            // Release-time requests: app users are there within seconds, kiosk and phone later.
            let speed: f64 = rng.random();
            let at_s = if spike {
                let slow = matches!(channel, 3 | 4);
                release_s + if slow { (speed * 90.0) as i64 } else { (speed * 20.0) as i64 }
            } else {
                hour as i64 * 3600 + (in_hour * 3600.0) as i64
            };
            if self.specialty_w.get(specialty as usize).is_none() {
                specialty = 0;
            }
            // The patient first, then the dice (the order of draws fixes a seed's run).
            let patient = rng.random_range(0..d.population);
            let request = Asked {
                at_s: base + at_s,
                day,
                patient,
                specialty,
                kind,
                channel,
                spike: spike && !referral,
            };
            out.push(request.with_dice(&mut rng, d.tolerance_days_max));
        }
        stable_sort_by_second(out, |r| r.at_s)
    }
}

/// `items` stably sorted by `at` (seconds): what `sort_by_key(at)` gives, by counting when the
/// times span at most about a day (a day's requests, a day's actions), by merge sort otherwise.
pub(crate) fn stable_sort_by_second<T>(mut items: Vec<T>, at: impl Fn(&T) -> i64) -> Vec<T> {
    let (Some(lo), Some(hi)) = (items.iter().map(&at).min(), items.iter().map(&at).max()) else {
        return items;
    };
    let span = (hi - lo) as u64;
    if span > 2 * 86_400 {
        items.sort_by_key(at);
        return items;
    }
    // Each item's place: the items before it in time, then those of its time before it.
    let mut start = vec![0u32; span as usize + 2];
    for t in items.iter().map(&at) {
        start[(t - lo) as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    // Which item goes to each place: its time's next free place, in the items' order.
    let mut source = vec![0u32; items.len()];
    for (i, t) in items.iter().map(&at).enumerate() {
        let place = &mut start[(t - lo) as usize];
        source[*place as usize] = i as u32;
        *place += 1;
    }
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
    source.into_iter().map(|i| items[i as usize].take().expect("a permutation")).collect()
}

/// Tier choice of a self-referred patient among the tiers that offer the specialty.
pub(crate) fn pick_tier(pref: &[f64; 3], available: [bool; 3], u: f32) -> Option<Tier> {
    let w: [f64; 3] = std::array::from_fn(|i| if available[i] { pref[i] } else { 0.0 });
    if w.iter().sum::<f64>() <= 0.0 {
        // Preferred tiers do not offer it: any tier that does.
        return available.iter().position(|a| *a).map(tier_of);
    }
    Some(tier_of(pick(&w, u as f64)))
}

pub(crate) fn tier_of(i: usize) -> Tier {
    match i {
        0 => Tier::Community,
        1 => Tier::Secondary,
        _ => Tier::Tertiary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_sort_is_the_stable_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // A day of times with many ties, a wide span (the merge-sort path), and nothing.
        for span in [86_400i64, 30, 10 * 86_400, 0] {
            let n = if span == 0 { 0 } else { 5_000 };
            let items: Vec<(i64, usize)> =
                (0..n).map(|i| (-86_400 + rng.random_range(0..span.max(1)), i)).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|x| x.0);
            assert_eq!(stable_sort_by_second(items, |x| x.0), expected);
        }
    }
}
