//! Runs from data: the simulation driven by recorded requests instead of the synthetic demand,
//! so that a city can replay its own last month under another policy.
//!
//! What a recording means, and what a replay keeps of the demand, is documented on
//! [`Recorded`] (re-exported by the crate).

use super::demand::{Asked, Kind, Req};
use super::region::Region;
use haoyuan::{Error, Result, Urgency, DAY_S};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Most arrivals one recording may hold: a Dongguan-sized city (45,000 requests a weekday)
/// for about three years. Each costs about 200 bytes as an [`Arrival`] (its three strings) and
/// 16 bytes once a run has checked it, so the bound is one of memory: 10 GB of input at most.
pub const ARRIVALS_MAX: usize = 50_000_000;

/// The kinds of an [`Arrival`], as written in a recording.
pub const ARRIVAL_KINDS: [&str; 5] =
    ["general", "follow_up", "referral_emergency", "referral_urgent", "referral_routine"];

const KINDS: [Kind; 5] = [
    Kind::General,
    Kind::FollowUp,
    Kind::Referral(Urgency::Emergency),
    Kind::Referral(Urgency::Urgent),
    Kind::Referral(Urgency::Routine),
];

pub(crate) fn kind_name(kind: Kind) -> &'static str {
    ARRIVAL_KINDS[KINDS.iter().position(|k| *k == kind).expect("every kind is listed")]
}

/// One recorded request: a patient asking for one specialty, at one instant, through one
/// channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrival {
    /// Simulated day: 0 = the first measured day, negative = the warm-up.
    pub day: i32,
    /// Seconds after local midnight (0 ..= 86,399).
    pub at_s: u32,
    /// The resident asking: an index below the demand's `population`.
    pub patient: u32,
    /// One of the region's specialties (its clinical ones, `inpatient`, `imaging`).
    pub specialty: String,
    /// One of [`ARRIVAL_KINDS`].
    pub kind: String,
    /// A standard channel (`app`, `wechat`, `web`, `kiosk`, `phone`, `clinic`) or one of the
    /// demand's `channel_mix`.
    pub channel: String,
    /// Came for the date released that day, at its release (see [`Recorded`]).
    #[serde(default)]
    pub at_release: bool,
}

/// Recorded requests, in any order (at most [`ARRIVALS_MAX`]): what
/// [`simulate_recorded`](crate::simulate_recorded) replays, so that a city can replay its own
/// last month under another policy.
///
/// Each recorded [`Arrival`] becomes one request of the loop at its recorded day and second,
/// for its recorded patient, specialty, kind and channel. What a record cannot say — which
/// institution the patient prefers, whether they come, cancel or walk away from payment, how
/// long a wait they accept — is drawn as in a synthetic run, from the probabilities of the
/// [`DemandSpec`](crate::DemandSpec), with dice keyed by (seed, day, rank of the arrival in its
/// day). Ranks are taken in the order (time, patient, specialty, kind, channel, at_release),
/// not in the table's order, so the same recording and seed give the same run bit for bit
/// however its rows are ordered; and two policies replayed with one seed meet the same
/// patients with the same dice (common random numbers).
///
/// **Recorded arrivals replace the synthetic demand entirely**, warm-up included. The demand
/// still gives the population (recorded `patient`s are resident indexes below it), the no-show
/// model, the cancellation, abandonment, waitlist and offer probabilities and the patients'
/// tolerance; its volumes and mixes (`requests_per_day`, `weekday_factor`, `hourly_weights`,
/// `release_spike_share`, `specialty_weights`, `referral_share`, `urgency_mix`,
/// `follow_up_share`, `channel_mix`) are not used. A steady-state replay therefore needs the
/// warm-up's days recorded too (negative `day`s, see [`crate::Window`]): a warm-up without them
/// runs an empty city, and the result says so in its `warnings` (as it does when the recording
/// starts part-way into the warm-up).
///
/// An arrival `at_release` asks for the date released that day, as soon as it is released (the
/// engine's release lottery, if the policy has one, applies to it). Under a policy that
/// releases later than the recorded instant, the patient asks at the release instant instead —
/// they came for that date — and the result's `warnings` count how many did. Referrals never
/// ask at the release (as in the synthetic demand): for them the flag only records the time.
///
/// ```
/// use haoyuan_sim::*;
/// let region = RegionSpec::small();
/// let demand = DemandSpec { requests_per_day: 300.0, ..DemandSpec::default() };
/// let window = Window::days(3).warmup(14);
/// let month = synthetic_arrivals(&region, &demand, &SimPolicy::default(), window, 1).unwrap();
/// let quiet = |_: u64, _: u64| -> haoyuan::Result<()> { Ok(()) };
/// let r = simulate_recorded(&region, &demand, &SimPolicy::islands(), window, 1, &month, &quiet)
///     .unwrap();
/// let measured = month.arrivals.iter().filter(|a| a.day >= 0).count() as u64;
/// assert_eq!(r.counts.requests, measured);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// The recorded requests, one per row of the host's table, in any order.
    pub arrivals: Vec<Arrival>,
}

impl Recorded {
    /// The checks that need no region: the size, each row's time of day and kind. A run checks
    /// the rest (specialties, channels, patients, days) against its region, demand and window.
    pub fn validate(&self) -> Result<()> {
        if self.arrivals.len() > ARRIVALS_MAX {
            return Err(Error::invalid(format!(
                "recorded: {} arrivals; at most {ARRIVALS_MAX}",
                self.arrivals.len()
            )));
        }
        for (i, a) in self.arrivals.iter().enumerate() {
            if a.at_s as i64 >= DAY_S {
                return Err(row(i, a, format!("at_s {} is not a second of the day", a.at_s)));
            }
            if !ARRIVAL_KINDS.contains(&a.kind.as_str()) {
                return Err(row(
                    i,
                    a,
                    format!("kind {:?} is not one of {}", a.kind, ARRIVAL_KINDS.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// A row's error, named by its index (the table's row, 0-based) and what identifies it.
fn row(i: usize, a: &Arrival, what: String) -> Error {
    Error::invalid(format!("recorded arrival {i} (day {}, patient {}): {what}", a.day, a.patient))
}

/// An arrival checked and reduced to indexes (16 bytes): what a run keeps of a recording.
/// Field order is the rank order of a day's arrivals (see [`Recorded`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    at_s: u32,
    patient: u32,
    specialty: u32,
    kind: u8,
    channel: u8,
    at_release: bool,
}

/// A recording checked against a run and split by day, ready for the loop.
pub(crate) struct Days {
    first: i32,
    rows: Vec<Vec<Row>>,
    /// Arrivals `at_release` moved to a later release instant.
    retimed: u64,
}

impl Days {
    /// Check every arrival against the run — `region`'s specialties, the loop's channel table,
    /// `population`, days `first .. first + len` — and sort each day's into rank order.
    /// `release_s`: the policy's daily release, seconds after local midnight.
    pub fn new(
        rec: &Recorded,
        region: &Region,
        channel_names: &[String],
        population: u32,
        first: i32,
        len: u32,
        release_s: i64,
    ) -> Result<Days> {
        rec.validate()?;
        let specialties: HashMap<&str, u32> =
            region.specialties.iter().enumerate().map(|(i, s)| (s.as_str(), i as u32)).collect();
        let channels: HashMap<&str, u8> =
            channel_names.iter().enumerate().map(|(i, c)| (c.as_str(), i as u8)).collect();
        let end = first as i64 + len as i64;
        let mut rows: Vec<Vec<Row>> = vec![Vec::new(); len as usize];
        let mut retimed = 0;
        for (i, a) in rec.arrivals.iter().enumerate() {
            if !(first as i64..end).contains(&(a.day as i64)) {
                return Err(row(
                    i,
                    a,
                    format!(
                        "day {} is outside the run: warm-up days {first} ..= -1, measured days 0 \
                         ..= {}",
                        a.day,
                        end - 1
                    ),
                ));
            }
            if a.patient >= population {
                return Err(row(
                    i,
                    a,
                    format!(
                        "patient {} is not below the demand's population {population} (patients \
                         are resident indexes 0 .. population)",
                        a.patient
                    ),
                ));
            }
            let Some(&s) = specialties.get(a.specialty.as_str()) else {
                return Err(row(
                    i,
                    a,
                    format!(
                        "specialty {:?} is not one of the region's ({})",
                        a.specialty,
                        region.specialties.join(", ")
                    ),
                ));
            };
            let k = ARRIVAL_KINDS.iter().position(|k| *k == a.kind).expect("validated") as u8;
            let tiers = &region.by_specialty_tier[s as usize];
            // A specialty the model lacks (or a referral to one only clinics offer) is a
            // mismatch between the region and the city that recorded the demand: the replay
            // would count real demand as finding nothing.
            if tiers.iter().all(|t| t.is_empty()) {
                return Err(row(
                    i,
                    a,
                    format!(
                        "specialty {:?} is offered by no department of the region",
                        a.specialty
                    ),
                ));
            }
            if matches!(KINDS[k as usize], Kind::Referral(_))
                && tiers[1].is_empty()
                && tiers[2].is_empty()
            {
                return Err(row(
                    i,
                    a,
                    format!(
                        "a referral for {:?}, which no secondary or tertiary institution of the \
                         region offers",
                        a.specialty
                    ),
                ));
            }
            let Some(&c) = channels.get(a.channel.as_str()) else {
                return Err(row(
                    i,
                    a,
                    format!(
                        "channel {:?} is not one of the run's ({}; add others to the demand's \
                         channel_mix)",
                        a.channel,
                        channel_names.join(", ")
                    ),
                ));
            };
            let spike = a.at_release && !matches!(KINDS[k as usize], Kind::Referral(_));
            let mut at_s = a.at_s;
            if spike && (at_s as i64) < release_s {
                at_s = release_s as u32;
                retimed += 1;
            }
            rows[(a.day - first) as usize].push(Row {
                at_s,
                patient: a.patient,
                specialty: s,
                kind: k,
                channel: c,
                at_release: a.at_release,
            });
        }
        for day in &mut rows {
            day.sort_unstable();
        }
        Ok(Days { first, rows, retimed })
    }

    /// The requests of day `day`, sorted by time, each with its own dice (see the module
    /// documentation).
    pub fn day(&self, seed: u64, day: i32, tolerance_days_max: u8) -> Vec<Req> {
        let Some(rows) = usize::try_from(day - self.first).ok().and_then(|i| self.rows.get(i))
        else {
            return Vec::new();
        };
        // Its own streams, apart from the synthetic demand's (a tag in the key): one ChaCha
        // stream per rank, so that a row's dice do not depend on how many the rows before it
        // drew.
        let base = ChaCha8Rng::seed_from_u64(
            seed ^ 0x7265_636f_7264 ^ (day as i64 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let midnight = day as i64 * DAY_S;
        rows.iter()
            .enumerate()
            .map(|(rank, r)| {
                let mut rng = base.clone();
                rng.set_stream(rank as u64);
                let kind = KINDS[r.kind as usize];
                Asked {
                    at_s: midnight + r.at_s as i64,
                    day,
                    patient: r.patient,
                    specialty: r.specialty,
                    kind,
                    channel: r.channel,
                    spike: r.at_release && !matches!(kind, Kind::Referral(_)),
                }
                .with_dice(&mut rng, tolerance_days_max)
            })
            .collect()
    }

    /// What the result should say about the recording: a warm-up without recorded demand
    /// (wholly or in part), arrivals moved to a later release.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let warm = -self.first;
        let earliest = self.rows.iter().position(|d| !d.is_empty()).map(|i| i as i32 + self.first);
        if warm > 0 {
            match earliest {
                Some(d) if d < 0 && d > self.first => out.push(format!(
                    "the recorded demand starts on day {d}, {} days into the {warm}-day warm-up: \
                     the warm-up ran {} days without demand, so the first measured days may not \
                     be in steady state",
                    d - self.first,
                    d - self.first
                )),
                Some(d) if d < 0 => {}
                _ => out.push(format!(
                    "the warm-up had no recorded demand (no arrival with a negative day): the \
                     {warm} warm-up days ran an empty city, so the first measured days are not \
                     in steady state; record the days before day 0 too"
                )),
            }
        }
        if self.retimed > 0 {
            out.push(format!(
                "{} arrivals at_release were recorded before this policy's daily release and \
                 asked at the release instead",
                self.retimed
            ));
        }
        out
    }
}
