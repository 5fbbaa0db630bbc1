//! What a simulation measures, as one serde value, and the small statistics it needs.

use haoyuan::Tier;
use serde::{Deserialize, Serialize};

/// Longest lead time the histograms resolve, in hours (30 days); longer waits land in the last bin.
pub const LEAD_HOURS_MAX: usize = 30 * 24;

/// NaN ⇄ `null`: a metric a run could not measure is NaN in Rust (and in Python's summaries)
/// and `null` in JSON, which has no NaN; `null` reads back as NaN, so results round-trip.
pub(crate) mod nan_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// `a / b`, or NaN (not measured) when there is nothing to divide by.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

/// Places, bookings and visits of a group of slots (a tier, an institution, a department).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Places released (capacity, without overbooking allowance).
    pub places: u64,
    /// Bookings standing at the visit (attended + no-show).
    pub booked: u64,
    /// Booked patients who came (checked in and were seen), overflow included.
    pub attended: u64,
    /// Booked patients who did not come (`booked − attended`).
    pub no_shows: u64,
    /// Attended patients beyond a slot's capacity (overbooking that materialised).
    pub overflow: u64,
    /// Attended within capacity / places (NaN: no places).
    #[serde(with = "nan_null")]
    pub utilisation: f64,
    /// Booked within capacity / places: the share of released places that were booked.
    #[serde(with = "nan_null")]
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
        let p = self.places as f64;
        self.utilisation = ratio(self.utilisation, p);
        self.booking_rate = ratio(self.booking_rate, p);
    }
}

/// Usage of one measured day's slots (by visit date): the steady-state check reads these.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayUsage {
    /// Day index (0 = first measured day).
    pub day: u32,
    /// Usage of the slots whose visit date is that day.
    pub usage: Usage,
}

/// A distribution of waits in days: from a patient's request to the visit booked for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadTime {
    /// Waits measured (requests served).
    pub count: u64,
    /// Mean, median and 90th percentile in days (NaN: nobody was served). The quantiles are
    /// exact order statistics (nearest rank), not histogram bins, so they vary from run to run
    /// as the waits do.
    #[serde(with = "nan_null")]
    pub mean_days: f64,
    /// Median wait in days, fractional (seconds / 86,400; NaN: nobody was served).
    #[serde(with = "nan_null")]
    pub p50_days: f64,
    /// 90th percentile of the wait in days, fractional (NaN: nobody was served).
    #[serde(with = "nan_null")]
    pub p90_days: f64,
    /// Counts by whole days of wait, `0 ..= 30` (the last bin holds longer waits).
    pub histogram_days: Vec<u64>,
}

/// Every wait, in seconds: exact quantiles need the values (4 bytes per served request, about
/// 60 MB for a city-year — small beside the engine).
#[derive(Clone, Debug, Default)]
pub(crate) struct LeadAcc {
    seconds: Vec<u32>,
}

impl LeadAcc {
    pub fn add(&mut self, seconds: i64) {
        self.seconds.push(seconds.clamp(0, u32::MAX as i64) as u32);
    }

    /// Nearest-rank quantile of sorted values, in days.
    fn quantile_days(sorted: &[u32], q: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1] as f64 / 86_400.0
    }

    pub fn finish(&self) -> LeadTime {
        let mut sorted = self.seconds.clone();
        sorted.sort_unstable();
        let days_max = LEAD_HOURS_MAX / 24;
        let mut histogram_days = vec![0u64; days_max + 1];
        for s in &sorted {
            histogram_days[(*s as usize / 86_400).min(days_max)] += 1;
        }
        let count = sorted.len() as u64;
        // Summed in sorted order: the mean does not depend on the order requests were served.
        let sum: f64 = sorted.iter().map(|s| *s as f64).sum();
        LeadTime {
            count,
            mean_days: ratio(sum / 86_400.0, count as f64),
            p50_days: Self::quantile_days(&sorted, 0.5),
            p90_days: Self::quantile_days(&sorted, 0.9),
            histogram_days,
        }
    }
}

/// Requests and how many of them got a place, for one group (a district, a channel).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    /// The group: `district N` (1-based, by the patients' home district) or a channel name.
    pub name: String,
    /// Requests the group made on measured days.
    pub requests: u64,
    /// Of those, requests that ended with a confirmed booking.
    pub served: u64,
    /// Served / requests (NaN: the group made no request).
    #[serde(with = "nan_null")]
    pub served_rate: f64,
}

/// Fairness of access across groups: Jain's index (1 = equal) and the Gini coefficient
/// (0 = equal) of the groups' served rates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    /// Jain's index of the served rates of the groups that made requests: 1/n ..= 1, 1 = every
    /// group served equally (see [`jain_index`]).
    pub jain: f64,
    /// Gini coefficient of the same rates: 0 ..= 1, 0 = equal (see [`gini`]).
    pub gini: f64,
    /// The groups, with their counts and served rates (every district; the channels that made
    /// requests). A group without requests has rate NaN and is left out of `jain` and `gini`.
    pub groups: Vec<Access>,
}

/// Jain's fairness index of non-negative values: (Σx)² / (n Σx²); 1 when all are equal, 1/n
/// when one value holds everything. 1 for no values or all zeros (nothing to be unequal about).
///
/// ```
/// use haoyuan_sim::jain_index;
/// assert_eq!(jain_index(&[0.5, 0.5, 0.5]), 1.0);
/// assert_eq!(jain_index(&[1.0, 0.0, 0.0, 0.0]), 0.25);
/// ```
pub fn jain_index(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let s: f64 = xs.iter().sum();
    let s2: f64 = xs.iter().map(|x| x * x).sum();
    if xs.is_empty() || s2 == 0.0 {
        return 1.0;
    }
    s * s / (n * s2)
}

/// Gini coefficient of non-negative values: mean absolute difference / (2 × mean); 0 when
/// equal, (n − 1) / n when one value holds everything. 0 for no values or all zeros.
///
/// ```
/// use haoyuan_sim::gini;
/// assert_eq!(gini(&[0.8, 0.8]), 0.0);
/// assert_eq!(gini(&[0.0, 0.0, 0.0, 4.0]), 0.75);
/// ```
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
                g.served_rate = ratio(g.served as f64, g.requests as f64);
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
    /// Measured requests of this class made at a daily release (in the minute after it, for
    /// the newly released date).
    pub requests: u64,
    /// Of those, requests that got a confirmed place at the release (directly or by winning the
    /// release lottery).
    pub won: u64,
    /// This class's share of all places won at release (NaN: nobody won a place at release in
    /// the measured window).
    #[serde(with = "nan_null")]
    pub share_won: f64,
    /// This class's share of all release requests (NaN: no request came at a release).
    #[serde(with = "nan_null")]
    pub share_requests: f64,
}

/// Referral lead time of one urgency: from the family doctor's request to the visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferralLead {
    /// `emergency`, `urgent` or `routine`.
    pub urgency: String,
    /// Measured referral requests of this urgency.
    pub requests: u64,
    /// Of those, requests that ended with a confirmed booking.
    pub served: u64,
    /// Waits of the served ones, from the family doctor's request to the visit.
    pub lead: LeadTime,
}

/// Usage of one institution or department.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitUsage {
    /// Engine id (institution or department).
    pub id: u32,
    /// The institution's tier.
    pub tier: Tier,
    /// The institution's district index, `0 .. districts`.
    pub district: u32,
    /// Specialty name (departments) or empty (institutions).
    pub specialty: String,
    /// As [`Usage::places`], for this unit's slots of the measured dates.
    pub places: u64,
    /// As [`Usage::booked`].
    pub booked: u64,
    /// As [`Usage::attended`].
    pub attended: u64,
    /// As [`Usage::utilisation`]: attended within capacity / places (NaN: no places).
    #[serde(with = "nan_null")]
    pub utilisation: f64,
}

/// Counts of what happened to requests and bookings.
///
/// Unless a field says otherwise, a count is of the measured days' requests (warm-up requests
/// are not counted, whenever their outcome happens). `holds_expired` and `late_cancellations`
/// are counted by when the engine reported them (from day 0 on); `suggestion_lists` and
/// `engine_calls` include the warm-up.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests made on measured days.
    pub requests: u64,
    /// Requests that ended with a confirmed booking (directly, by lottery or by waitlist offer).
    pub served: u64,
    /// Requests that found no free place.
    pub found_nothing: u64,
    /// Requests the engine refused for a per-patient limit (anti-scalping: per department-day,
    /// per date, per 7 days, in all).
    pub refused_limit: u64,
    /// Requests the engine refused because the patient was suspended for past no-shows.
    pub refused_suspended: u64,
    /// Holds the patient walked away from (never confirmed; see
    /// [`DemandSpec::hold_abandon_probability`](crate::DemandSpec::hold_abandon_probability)).
    pub holds_abandoned: u64,
    /// Holds the engine expired (abandoned holds and unanswered waitlist offers), counted by
    /// expiry time from day 0 on.
    pub holds_expired: u64,
    /// Requests that found nothing and joined the department's waitlist.
    pub waitlist_joined: u64,
    /// Waitlist offers (a hold with its own TTL) made to those requests' patients.
    pub waitlist_offers: u64,
    /// Of those, offers the patient confirmed.
    pub waitlist_offers_accepted: u64,
    /// Requests entered into a release lottery (the policy's `lottery.window_s` after a daily
    /// release).
    pub lottery_entries: u64,
    /// Lottery entries that won a place (losers retry first come, first served).
    pub lottery_won: u64,
    /// Bookings the patient cancelled before the visit.
    pub cancellations: u64,
    /// Patient cancellations after the free-cancellation deadline (by default counted against
    /// the patient as a no-show), counted by cancellation time from day 0 on.
    pub late_cancellations: u64,
    /// Referrals a family doctor issued for referral requests.
    pub referrals_issued: u64,
    /// Took an alternative institution instead of the preferred one (load spreading).
    pub took_alternative: u64,
    /// Load-spreading suggestion lists computed by the engine (one per request that needed
    /// them); a measure of work, warm-up included.
    pub suggestion_lists: u64,
    /// A custom hook declined an overbooked place.
    pub overbooking_declined: u64,
    /// Engine calls that failed where the simulator expected success (should stay 0).
    pub anomalies: u64,
    /// Engine calls made (a rough measure of work, warm-up included).
    pub engine_calls: u64,
}

/// How overbooked sessions turned out: the check of an overbooking rule's promise — e.g.
/// [`haoyuan::OverbookingCalibration::overflow_risk`], the chance that a session booked beyond
/// its places sees more patients come than it has places. `Usage::overflow` counts per slot
/// instead (a patient beyond one segment's places, whom a no-show elsewhere in the session may
/// make room for).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sessions {
    /// Resource-days of the measured dates with places.
    pub sessions: u64,
    /// Of those, booked beyond their places (overbooking used) at the visit.
    pub overbooked: u64,
    /// Of those, where more booked patients came than the day had places.
    pub overflowed: u64,
}

impl Sessions {
    /// From each session's (places, booked, attended), summed over its slots.
    pub(crate) fn of_sums(sessions: impl Iterator<Item = (u64, u64, u64)>) -> Sessions {
        let mut out = Sessions::default();
        for (places, booked, attended) in sessions.filter(|v| v.0 > 0) {
            out.sessions += 1;
            if booked > places {
                out.overbooked += 1;
                out.overflowed += (attended > places) as u64;
            }
        }
        out
    }

    /// `overflowed ÷ overbooked`: the measured overflow risk of an overbooked session (NaN: no
    /// session was overbooked). A method rather than a field, so that results without
    /// overbooking still compare equal (NaN ≠ NaN).
    pub fn overflow_share(&self) -> f64 {
        ratio(self.overflowed as f64, self.overbooked as f64)
    }
}

/// Everything a run measures. Slot metrics cover visit dates `0 .. days` (the measurement
/// window); request metrics cover requests made on those days, whatever date they booked (the
/// engine publishes past the window's end, as a running city does). Nothing of the warm-up is
/// counted. A metric the run could not measure is NaN (`null` in JSON) and `warnings` says why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimResult {
    /// Measured days.
    pub days: u32,
    /// Days simulated before the measurement window (see [`crate::default_warmup_days`]).
    pub warmup_days: u32,
    /// The seed the run used (for [`crate::compare`], the replication's seed).
    pub seed: u64,
    /// Slots of the measured dates.
    pub slots: u64,
    /// Usage of all slots of the measured dates.
    pub total: Usage,
    /// The sessions (resource-days) of the measured dates: how many were booked beyond their
    /// places, and how many of those saw more patients come than they had places.
    #[serde(default)]
    pub sessions: Sessions,
    /// Usage of each measured day's slots, by visit date.
    pub by_day: Vec<DayUsage>,
    /// Community, secondary, tertiary.
    pub by_tier: Vec<(Tier, Usage)>,
    /// Every institution of the region, in [`crate::Region::institutions`] order.
    pub by_institution: Vec<UnitUsage>,
    /// Every department of the region, in [`crate::Region::departments`] order.
    pub by_department: Vec<UnitUsage>,
    /// From the request to the visit booked for it, for every measured request that got a
    /// confirmed booking (counted when booked, whether or not it is later cancelled).
    pub days_to_appointment: LeadTime,
    /// `days_to_appointment` by the tier of the institution booked: community, secondary,
    /// tertiary.
    pub days_to_appointment_by_tier: Vec<(Tier, LeadTime)>,
    /// No-shows / (attended + no-shows) (NaN: nothing was booked).
    #[serde(with = "nan_null")]
    pub no_show_rate: f64,
    /// Referral waits by urgency: emergency, urgent, routine.
    pub referral_lead: Vec<ReferralLead>,
    /// Served rates of the patients' home districts (every district, 1-based names).
    pub fairness_districts: Fairness,
    /// Served rates of the channels that made requests (`app`, `wechat`, `kiosk` …).
    pub fairness_channels: Fairness,
    /// Places won at the daily release, by priority class: emergency, urgent, routine,
    /// follow-up, general.
    pub release: Vec<ReleaseClass>,
    /// No-show suspensions the engine issued from day 0 on.
    pub suspensions_issued: u64,
    /// What happened to requests and bookings.
    pub counts: Counts,
    /// The first few unexpected engine errors, if any (see `counts.anomalies`).
    pub notes: Vec<String>,
    /// Why a metric is NaN, or why the numbers may not be steady (a warm-up shorter than the
    /// policy's rules need).
    pub warnings: Vec<String>,
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
    ///
    /// Shares and rates are 0 ..= 1 (NaN: not measured), waits in days, fairness indexes as in
    /// [`Fairness`]; then per-tier utilisation, booking rate and overflow per place
    /// (`utilisation_tertiary` …), per-urgency median referral wait (`referral_lead_p50_urgent`
    /// …) and per-class share of release places won (`release_share_won_general` …).
    pub fn summary(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = vec![
            ("utilisation".into(), self.total.utilisation),
            ("booking_rate".into(), self.total.booking_rate),
            (
                "overflow_per_place".into(),
                ratio(self.total.overflow as f64, self.total.places as f64),
            ),
            ("no_show_rate".into(), self.no_show_rate),
            ("served_rate".into(), ratio(self.counts.served as f64, self.counts.requests as f64)),
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
            out.push((
                format!("overflow_per_place_{t}"),
                ratio(u.overflow as f64, u.places as f64),
            ));
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
    fn lead_quantiles_are_exact_order_statistics() {
        let mut a = LeadAcc::default();
        // Added out of order, minutes apart within an hour: hour bins could not tell them apart.
        for d in [9, 3, 0, 7, 1, 8, 2, 6, 4, 5] {
            a.add(d * 86_400 + 3600 + d * 60);
        }
        let l = a.finish();
        assert_eq!(l.count, 10);
        // Nearest rank: the 5th and the 9th smallest of ten.
        assert_eq!(l.p50_days, (4.0 * 86_400.0 + 3600.0 + 240.0) / 86_400.0);
        assert_eq!(l.p90_days, (8.0 * 86_400.0 + 3600.0 + 480.0) / 86_400.0);
        assert_eq!(l.histogram_days.iter().sum::<u64>(), 10);
        assert_eq!(l.histogram_days[..10], [1; 10]);
    }

    #[test]
    fn nothing_measured_is_nan_and_round_trips_through_json_as_null() {
        let l = LeadAcc::default().finish();
        assert!(l.p50_days.is_nan() && l.mean_days.is_nan() && l.count == 0);
        let mut u = Usage::default();
        u.finish();
        assert!(u.utilisation.is_nan());
        let text = serde_json::to_string(&l).unwrap();
        assert!(text.contains("\"p50_days\":null"), "{text}");
        let back: LeadTime = serde_json::from_str(&text).unwrap();
        assert!(back.p50_days.is_nan());
    }
}
