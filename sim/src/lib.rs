//! # The policy simulator: the real engine, driven by synthetic patients
//!
//! A data scientist asks "what happens to waiting times, fairness and no-shows in our city if
//! we change the rules?". [`simulate`] answers on the very same [`Engine`](haoyuan::Engine) a
//! hospital runs: it builds a region ([`RegionSpec`], e.g. [`RegionSpec::dongguan`]), lets
//! seeded patients ([`DemandSpec`]) query availability, hold, confirm, cancel, arrive or not
//! come, on a manual clock, and returns a [`SimResult`]. The same inputs and seed give the same
//! result bit for bit (invariant 5). [`compare`] runs several policies over replications on
//! common random numbers, in parallel.
//!
//! ```
//! use haoyuan_sim::*;
//! let region = RegionSpec::small();
//! let demand = DemandSpec { requests_per_day: 300.0, ..DemandSpec::default() };
//! let r = simulate(&region, &demand, &SimPolicy::default(), 7, 1, &|_, _| {}).unwrap();
//! assert!(r.total.places > 0 && r.total.booked > 0);
//! ```
//!
//! What it models, and what it does not: one request is one patient asking for one specialty;
//! the patient picks a preferred institution by tier preference (crowding towards tertiary
//! hospitals), takes its earliest free place, and — only when the pool is unified — takes the
//! engine's load-spreading alternative when the preferred place is further away than the
//! patient tolerates. With "information islands" each patient sees only the institution whose
//! channel they use. The clinical side (visit length, overtime) is not modelled: an attended
//! patient beyond a slot's capacity is counted as overflow.

mod demand;
mod metrics;
mod region;
mod run;

pub use demand::{DemandSpec, NoShowModel, POPULATION_MAX, REQUESTS_PER_DAY_MAX};
pub use metrics::{
    gini, jain_index, Access, Counts, Fairness, LeadTime, ReferralLead, ReleaseClass, SimResult,
    UnitUsage, Usage, LEAD_HOURS_MAX,
};
pub use region::{
    build_region, Region, RegionDepartment, RegionInstitution, RegionSpec, TierSpec,
    BEDS_SPECIALTY, EXAMS_SPECIALTY,
};

use haoyuan::Policy;
use haoyuan::Tier;
use haoyuan::*;
use haoyuan::{Error, Result};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest simulated period (ten years).
pub const SIM_DAYS_MAX: u32 = 3660;
/// Most runs one `compare` call makes.
pub const COMPARE_RUNS_MAX: usize = 10_000;

/// A policy under study: the engine's rules plus how the region shares its slots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimPolicy {
    /// The engine's allocation rules (windows, limits, referral pools, lottery, overbooking …).
    pub engine: Policy,
    /// One city-wide pool seen by every channel (true), or "information islands" (false):
    /// every hospital runs its own channel, and a patient sees only the one they use.
    pub unified_pool: bool,
    /// With a unified pool: how many load-spreading alternatives a patient is shown when the
    /// preferred place is full or too far away (0 = none).
    pub alternatives: u32,
    /// How often (seconds, default 30 minutes) the platform recomputes a department's load-spreading suggestions;
    /// patients in between see the last list (each place is still checked by the engine when
    /// booked). 0 = fresh for every patient. Suggestions scan a whole district, so this is the
    /// simulator's largest cost on a city.
    pub alternatives_refresh_s: u32,
    /// Skip department-days the engine already reported full until the simulator sees a place
    /// of that department freed (cancellation, expiry). Exact: the engine would report the
    /// same; off = query everything (the test that they agree turns it off).
    pub query_hints: bool,
}

impl Default for SimPolicy {
    fn default() -> Self {
        SimPolicy {
            engine: Policy::default(),
            unified_pool: true,
            alternatives: 5,
            alternatives_refresh_s: 1800,
            query_hints: true,
        }
    }
}

impl SimPolicy {
    /// "Information islands": no shared pool, no alternatives.
    pub fn islands() -> SimPolicy {
        SimPolicy { unified_pool: false, alternatives: 0, ..SimPolicy::default() }
    }

    pub fn validate(&self) -> Result<()> {
        self.engine.validate()?;
        if self.alternatives_refresh_s > 86_400 {
            return Err(Error::invalid("alternatives_refresh_s must be at most a day"));
        }
        if self.alternatives > 100 {
            return Err(Error::invalid(format!(
                "alternatives {} must be at most 100",
                self.alternatives
            )));
        }
        Ok(())
    }
}

/// A place offered to a patient: the preferred institution's earliest, or an alternative.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub slot: SlotId,
    pub department: DepartmentId,
    pub institution: InstitutionId,
    pub tier: Tier,
    pub district: u32,
    /// Days from the request's day to the visit date.
    pub days_ahead: i32,
    pub start_min: u16,
    /// Places free to this requester.
    pub free: u32,
    /// Whether it is the preferred institution's place (the first offer) or an alternative.
    pub preferred: bool,
}

/// Who is choosing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceContext {
    pub patient: PatientId,
    /// Simulated day of the request (0 = first measured day; negative in warm-up).
    pub day: i32,
    pub district: u32,
    pub specialty: String,
    /// `emergency`, `urgent`, `routine`, `follow_up` or `general`.
    pub class: String,
    pub channel: String,
    /// Longest wait in days the patient accepts at the preferred place.
    pub tolerance_days: u8,
    /// The patient's no-shows so far in the simulation.
    pub past_no_shows: u32,
}

/// A custom policy written by the user (e.g. in Python): slower, but anything goes.
pub trait SimHooks: Sync {
    /// Which offer the patient takes (an index into `offers`), or `None` to take none.
    /// Called only when there is at least one offer.
    fn choose(&self, ctx: &ChoiceContext, offers: &[Offer]) -> Result<Option<usize>>;
    /// Whether to accept a place beyond the slot's capacity (taken from the overbooking
    /// allowance). Called only for such places.
    fn overbook(
        &self,
        ctx: &ChoiceContext,
        offer: &Offer,
        booked: u32,
        capacity: u32,
    ) -> Result<bool>;
}

/// Progress: `(done, total)` in simulated days, warm-up days included (over all runs for `compare`).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

fn check_days(days: u32) -> Result<()> {
    if days == 0 || days > SIM_DAYS_MAX {
        return Err(Error::invalid(format!("days {days} must be 1 ..= {SIM_DAYS_MAX}")));
    }
    Ok(())
}

/// Simulate `days` days of `demand` on `region` under `policy`. Deterministic: the same inputs
/// and seed give the same result, bit for bit (apart from `elapsed_s`).
pub fn simulate(
    region: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    days: u32,
    seed: u64,
    progress: Progress<'_>,
) -> Result<SimResult> {
    check_days(days)?;
    run::run(region, demand, policy, days, seed, None, &|d, t| progress(d, t))
}

/// [`simulate`] with a custom policy hook (see [`SimHooks`]).
pub fn simulate_with_hooks(
    region: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    days: u32,
    seed: u64,
    hooks: &dyn SimHooks,
    progress: Progress<'_>,
) -> Result<SimResult> {
    check_days(days)?;
    run::run(region, demand, policy, days, seed, Some(hooks), &|d, t| progress(d, t))
}

/// One run of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareRun {
    pub policy: String,
    pub replication: u32,
    pub seed: u64,
    pub result: SimResult,
}

/// The seed of replication `r`: every policy of a comparison gets the same one (common random
/// numbers).
pub fn replication_seed(seed: u64, r: u32) -> u64 {
    let mut x = seed ^ (r as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Run every policy for `replications` replications on common random numbers, in parallel on
/// the rayon pool. Results come back in (policy, replication) order whatever the scheduling.
pub fn compare(
    region: &RegionSpec,
    demand: &DemandSpec,
    policies: &[(String, SimPolicy)],
    days: u32,
    replications: u32,
    seed: u64,
    progress: Progress<'_>,
) -> Result<Vec<CompareRun>> {
    check_days(days)?;
    if policies.is_empty()
        || replications == 0
        || policies.len() * replications as usize > COMPARE_RUNS_MAX
    {
        return Err(Error::invalid(format!(
            "compare needs 1 ..= {COMPARE_RUNS_MAX} runs (policies × replications)"
        )));
    }
    for (_, p) in policies {
        p.validate()?;
    }
    let jobs: Vec<(usize, u32)> =
        (0..policies.len()).flat_map(|p| (0..replications).map(move |r| (p, r))).collect();
    let total: u64 =
        jobs.iter().map(|&(p, _)| (days + run::warm_days(region, &policies[p].1)) as u64).sum();
    let done = AtomicU64::new(0);
    jobs.par_iter()
        .map(|&(p, r)| {
            let s = replication_seed(seed, r);
            let last = std::cell::Cell::new(0u64);
            let result = run::run(region, demand, &policies[p].1, days, s, None, &|d, _| {
                let step = d.saturating_sub(last.replace(d));
                let now = done.fetch_add(step, Ordering::Relaxed) + step;
                progress(now, total);
            })?;
            Ok(CompareRun { policy: policies[p].0.clone(), replication: r, seed: s, result })
        })
        .collect()
}
