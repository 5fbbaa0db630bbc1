//! What a simulation measures, as one serde value, and the small statistics it needs.

use haoyuan::Tier;
use serde::{Deserialize, Serialize};

/// Longest lead time the histograms resolve, in hours (30 days); longer waits land in the last bin.
pub const LEAD_HOURS_MAX: usize = 30 * 24;

/// Places, bookings and visits of a group of slots (a tier, an institution, a department).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Places released (capacity, without overbooking allowance).
    pub places: u64,
    /// Bookings standing at the visit (attended + no-show).
    pub booked: u64,
    pub attended: u64,
    pub no_shows: u64,
    /// Attended patients beyond a slot's capacity (overbooking that materialised).
    pub overflow: u64,
    /// Attended within capacity / places.
    pub utilisation: f64,
    /// Booked within capacity / places: the share of released places that were booked.
    pub booking_rate: f64,
}

impl Usage {
    pub(crate) fn add_slot(&mut self, capacity: u16, booked: u16, attended: u16) {
        self.places += capacity as u64;
        self.booked += booked as u64;
        self.attended += attended as u64;
        self.no_shows += booked.saturating_sub(attended) as u64;
        self.overflow += attended.saturating_sub(capacity) as u64;
        // Within-capacity sums kept in the ratios' numerators.
        self.utilisation += attended.min(capacity) as f64;
        self.booking_rate += booked.min(capacity) as f64;
    }

    pub(crate) fn finish(&mut self) {
        let p = self.places.max(1) as f64;
        self.utilisation /= p;
        self.booking_rate /= p;
    }
}

/// A distribution of waits in hours.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadTime {
    pub count: u64,
    pub mean_days: f64,
    pub p50_days: f64,
    pub p90_days: f64,
    /// Counts by whole days of wait, `0 ..= 30` (the last bin holds longer waits).
    pub histogram_days: Vec<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct LeadAcc {
    hours: Vec<u64>,
    sum_h: f64,
}

impl Default for LeadAcc {
    fn default() -> Self {
        LeadAcc { hours: vec![0; LEAD_HOURS_MAX + 1], sum_h: 0.0 }
    }
}

impl LeadAcc {
    pub fn add(&mut self, seconds: i64) {
        let h = (seconds.max(0) / 3600) as usize;
        self.hours[h.min(LEAD_HOURS_MAX)] += 1;
        self.sum_h += seconds.max(0) as f64 / 3600.0;
    }

    fn quantile_days(&self, q: f64, count: u64) -> f64 {
        if count == 0 {
            return 0.0;
        }
        let target = (q * count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (h, n) in self.hours.iter().enumerate() {
            seen += n;
            if seen >= target {
                // The middle of the hour bin.
                return (h as f64 + 0.5) / 24.0;
            }
        }
        LEAD_HOURS_MAX as f64 / 24.0
    }

    pub fn finish(&self) -> LeadTime {
        let count: u64 = self.hours.iter().sum();
        let mut histogram_days = vec![0u64; LEAD_HOURS_MAX / 24 + 1];
        for (h, n) in self.hours.iter().enumerate() {
            histogram_days[(h / 24).min(LEAD_HOURS_MAX / 24)] += n;
        }
        LeadTime {
            count,
            mean_days: if count == 0 { 0.0 } else { self.sum_h / count as f64 / 24.0 },
            p50_days: self.quantile_days(0.5, count),
            p90_days: self.quantile_days(0.9, count),
            histogram_days,
        }
    }
}

/// Requests and how many of them got a place, for one group (a district, a channel).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub name: String,
    pub requests: u64,
    pub served: u64,
    pub served_rate: f64,
}

/// Fairness of access across groups: Jain's index (1 = equal) and the Gini coefficient
/// (0 = equal) of the groups' served rates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    pub jain: f64,
    pub gini: f64,
    pub groups: Vec<Access>,
}

/// Jain's fairness index of non-negative values: (Σx)² / (n Σx²); 1 when all are equal.
pub fn jain_index(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let s: f64 = xs.iter().sum();
    let s2: f64 = xs.iter().map(|x| x * x).sum();
    if xs.is_empty() || s2 == 0.0 {
        return 1.0;
    }
    s * s / (n * s2)
}

/// Gini coefficient of non-negative values: mean absolute difference / (2 × mean); 0 when equal.
pub fn gini(xs: &[f64]) -> f64 {
    let n = xs.len();
    let s: f64 = xs.iter().sum();
    if n == 0 || s == 0.0 {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    // Σ (2i − n − 1) x_i / (n Σx), i from 1.
    let num: f64 =
        v.iter().enumerate().map(|(i, x)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * x).sum();
    num / (n as f64 * s)
}

impl Fairness {
    pub(crate) fn of(groups: Vec<Access>) -> Fairness {
        let groups: Vec<Access> = groups
            .into_iter()
            .map(|mut g| {
                g.served_rate =
                    if g.requests == 0 { 0.0 } else { g.served as f64 / g.requests as f64 };
                g
            })
            .collect();
        let rates: Vec<f64> =
            groups.iter().filter(|g| g.requests > 0).map(|g| g.served_rate).collect();
        Fairness { jain: jain_index(&rates), gini: gini(&rates), groups }
    }
}

/// Places won in the daily release (the minute after 15:00, lottery or first come), by
/// priority class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseClass {
    /// `emergency`, `urgent`, `routine`, `follow_up`, `general`.
    pub class: String,
    pub requests: u64,
    pub won: u64,
    /// This class's share of all places won at release.
    pub share_won: f64,
    /// This class's share of all release requests.
    pub share_requests: f64,
}

/// Referral lead time of one urgency: from the family doctor's request to the visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferralLead {
    pub urgency: String,
    pub requests: u64,
    pub served: u64,
    pub lead: LeadTime,
}

/// Usage of one institution or department.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitUsage {
    /// Engine id (institution or department).
    pub id: u32,
    pub tier: Tier,
    pub district: u32,
    /// Specialty name (departments) or empty (institutions).
    pub specialty: String,
    pub places: u64,
    pub booked: u64,
    pub attended: u64,
    pub utilisation: f64,
}

/// Counts of what happened to requests and bookings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests made on measured days.
    pub requests: u64,
    /// Requests that ended with a confirmed booking (directly, by lottery or by waitlist offer).
    pub served: u64,
    /// Requests that found no free place.
    pub found_nothing: u64,
    pub refused_limit: u64,
    pub refused_suspended: u64,
    pub holds_abandoned: u64,
    pub holds_expired: u64,
    pub waitlist_joined: u64,
    pub waitlist_offers: u64,
    pub waitlist_offers_accepted: u64,
    pub lottery_entries: u64,
    pub lottery_won: u64,
    pub cancellations: u64,
    pub late_cancellations: u64,
    pub referrals_issued: u64,
    /// Took an alternative institution instead of the preferred one (load spreading).
    pub took_alternative: u64,
    /// Load-spreading suggestion lists computed by the engine (see `alternatives_refresh_s`).
    pub suggestion_lists: u64,
    /// A custom hook declined an overbooked place.
    pub overbooking_declined: u64,
    /// Engine calls that failed where the simulator expected success (should stay 0).
    pub anomalies: u64,
    /// Engine calls made (a rough measure of work).
    pub engine_calls: u64,
}

/// Everything a run measures. Slot metrics cover visit dates `0 .. days`; request metrics cover
/// requests made on those days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimResult {
    pub days: u32,
    pub seed: u64,
    pub slots: u64,
    pub total: Usage,
    /// Community, secondary, tertiary.
    pub by_tier: Vec<(Tier, Usage)>,
    pub by_institution: Vec<UnitUsage>,
    pub by_department: Vec<UnitUsage>,
    /// From booking to visit, all bookings standing at the visit.
    pub days_to_appointment: LeadTime,
    pub days_to_appointment_by_tier: Vec<(Tier, LeadTime)>,
    /// No-shows / (attended + no-shows).
    pub no_show_rate: f64,
    pub referral_lead: Vec<ReferralLead>,
    pub fairness_districts: Fairness,
    pub fairness_channels: Fairness,
    pub release: Vec<ReleaseClass>,
    pub suspensions_issued: u64,
    pub counts: Counts,
    /// The first few unexpected engine errors, if any (see `counts.anomalies`).
    pub notes: Vec<String>,
    /// Wall-clock seconds of the run (not part of the determinism guarantee).
    pub elapsed_s: f64,
}

impl SimResult {
    /// The result without its wall-clock time: the part that is the same bit for bit for the
    /// same seed.
    pub fn without_timing(&self) -> SimResult {
        SimResult { elapsed_s: 0.0, ..self.clone() }
    }

    /// The headline numbers as (name, value) pairs, in a fixed order: what `compare` tabulates.
    pub fn summary(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = vec![
            ("utilisation".into(), self.total.utilisation),
            ("booking_rate".into(), self.total.booking_rate),
            (
                "overflow_per_place".into(),
                self.total.overflow as f64 / self.total.places.max(1) as f64,
            ),
            ("no_show_rate".into(), self.no_show_rate),
            ("served_rate".into(), self.counts.served as f64 / self.counts.requests.max(1) as f64),
            ("days_to_appointment_p50".into(), self.days_to_appointment.p50_days),
            ("days_to_appointment_p90".into(), self.days_to_appointment.p90_days),
            ("days_to_appointment_mean".into(), self.days_to_appointment.mean_days),
            ("jain_districts".into(), self.fairness_districts.jain),
            ("gini_districts".into(), self.fairness_districts.gini),
            ("jain_channels".into(), self.fairness_channels.jain),
            ("gini_channels".into(), self.fairness_channels.gini),
            ("suspensions_issued".into(), self.suspensions_issued as f64),
        ];
        for (tier, u) in &self.by_tier {
            let t = tier_name(*tier);
            out.push((format!("utilisation_{t}"), u.utilisation));
            out.push((format!("booking_rate_{t}"), u.booking_rate));
        }
        for r in &self.referral_lead {
            out.push((format!("referral_lead_p50_{}", r.urgency), r.lead.p50_days));
        }
        for c in &self.release {
            out.push((format!("release_share_won_{}", c.class), c.share_won));
        }
        out
    }
}

pub(crate) fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Community => "community",
        Tier::Secondary => "secondary",
        Tier::Tertiary => "tertiary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_and_gini_on_known_values() {
        assert!((jain_index(&[1.0, 1.0, 1.0]) - 1.0).abs() < 1e-12);
        assert!((jain_index(&[1.0, 0.0, 0.0, 0.0]) - 0.25).abs() < 1e-12);
        assert!(gini(&[2.0, 2.0]).abs() < 1e-12);
        // One of four holds everything: G = (n − 1) / n.
        assert!((gini(&[0.0, 0.0, 0.0, 4.0]) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn lead_quantiles() {
        let mut a = LeadAcc::default();
        for d in 0..10 {
            a.add(d * 86_400 + 3600);
        }
        let l = a.finish();
        assert_eq!(l.count, 10);
        assert!((l.p50_days - 4.06).abs() < 0.1, "{}", l.p50_days);
        assert!((l.p90_days - 8.06).abs() < 0.1, "{}", l.p90_days);
        assert_eq!(l.histogram_days.iter().sum::<u64>(), 10);
    }
}
