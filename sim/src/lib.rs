//! # The policy simulator: the real engine, driven by synthetic patients
//!
//! A data scientist asks "what happens to waiting times, fairness and no-shows in our city if
//! we change the rules?". [`simulate`] answers on the very same [`Engine`] a hospital runs:
//! it builds a region ([`RegionSpec`], e.g. [`RegionSpec::dongguan`]), lets
//! seeded patients ([`DemandSpec`]) query availability, hold, confirm, cancel, arrive or not
//! come, on a manual clock, and returns a [`SimResult`]. The same inputs and seed give the same
//! result bit for bit (invariant 5). [`compare`] runs several policies over replications on
//! common random numbers, in parallel.
//!
//! ```
//! use haoyuan_sim::*;
//! let region = RegionSpec::small();
//! let demand = DemandSpec { requests_per_day: 300.0, ..DemandSpec::default() };
//! let r = simulate(&region, &demand, &SimPolicy::default(), 7, 1, &|_, _| Ok(())).unwrap();
//! assert!(r.total.places > 0 && r.total.booked > 0);
//! assert_eq!(r.warmup_days, default_warmup_days(&region, &demand, &SimPolicy::default()));
//! ```
//!
//! **Steady state by construction.** A run is a warm-up followed by a measurement window
//! ([`Window`]). The engine starts with every slot of its booking horizon already published
//! (as in a city that has been running), patients ask during the warm-up exactly as later, the
//! engine keeps publishing past the window's end so that the last measured days see their full
//! horizon, and only the window's requests and visit dates are counted. Without a warm-up the
//! first days measure the set-up instead of the city: an empty pool absorbs the demand of a
//! whole booking window at once.
//!
//! What it models, and what it does not: one request is one patient asking for one specialty;
//! the patient picks a preferred institution by tier preference (crowding towards tertiary
//! hospitals), takes its earliest free place, and — only when the pool is unified — takes the
//! engine's load-spreading alternative when the preferred place is further away than the
//! patient tolerates. With "information islands" each patient sees only the institution whose
//! channel they use. The clinical side (visit length, overtime) is not modelled: an attended
//! patient beyond a slot's capacity is counted as overflow.
//!
//! ## Where to start
//!
//! - Describe the city: [`RegionSpec`] ([`RegionSpec::small`] for a quick look,
//!   [`RegionSpec::dongguan`] for DOMAIN.md's sizes) and its patients: [`DemandSpec`].
//! - Describe the rules under study: [`SimPolicy`] (the engine's [`Policy`] plus the unified
//!   pool, load spreading and [`OverbookingTarget`]s).
//! - Run: [`simulate`] (one policy, one seed), [`compare`] (several policies × replications on
//!   common random numbers), [`simulate_recorded`] / [`compare_recorded`] (a city's own
//!   recorded requests, see [`Recorded`]), or [`simulate_with_hooks`] (a choice model written by
//!   the user, see [`SimHooks`]).
//! - Read the [`SimResult`]: [`SimResult::summary`] for the headline numbers; `warnings` for
//!   what could not be measured.
//!
//! Every entry point validates its inputs first and returns [`Error::InvalidArgument`] (or
//! `InvalidPolicy`) naming the bad field before anything runs.

#![warn(missing_docs)]

mod demand;
mod metrics;
mod recorded;
mod region;
mod run;

pub use demand::{
    DemandSpec, NoShowModel, NO_SHOW_HISTORY_MAX, POPULATION_MAX, REQUESTS_PER_DAY_MAX,
};
pub use haoyuan::{OverbookingTarget, OVERBOOKING_TARGETS_MAX};
pub use metrics::{
    gini, jain_index, Access, Counts, DayUsage, Fairness, LeadTime, ReferralLead, ReleaseClass,
    Sessions, SimResult, UnitUsage, Usage, LEAD_HOURS_MAX,
};
pub use recorded::{Arrival, Recorded, ARRIVALS_MAX, ARRIVAL_KINDS};
pub use region::{
    build_region, Region, RegionDepartment, RegionInstitution, RegionSpec, TierSpec,
    BEDS_SPECIALTY, EXAMS_SPECIALTY,
};

/// The ratio `targets` give each department of `region` they reach, later targets winning —
/// what the engine applies itself (`OverbookingPolicy::targets`) where no `by_department` or
/// `by_resource` entry comes first. A target that matches nothing is an error (a misspelt
/// name would otherwise change nothing, silently).
///
/// The keys are engine department ids ([`RegionDepartment::id`]), the values the targets'
/// ratios (0 ..= 1). [`simulate`] calls this to check [`SimPolicy::overbooking_targets`]; call
/// it to see which departments a target list reaches before running it.
///
/// # Errors
///
/// `InvalidArgument` naming the first target (its index and selectors) that matches no
/// department.
///
/// ```
/// use haoyuan::{Engine, EngineConfig, Tier, Timestamp};
/// use haoyuan_sim::*;
/// let spec = RegionSpec::small();
/// let config = EngineConfig::default();
/// let now = Timestamp::from_local(spec.start()?, 0, config.utc_offset_s);
/// let engine = Engine::with_manual_clock(config, now)?;
/// let region = build_region(&engine, &spec, 1)?;
/// // 10% extra on tertiary paediatrics: the small region has two tertiary hospitals.
/// let paediatrics = OverbookingTarget {
///     tier: Some(Tier::Tertiary),
///     specialty: Some("paediatrics".into()),
///     institution: None,
///     ratio: 0.1,
/// };
/// let by_department = resolve_overbooking_targets(&region, &[paediatrics])?;
/// assert_eq!(by_department.len(), 2);
/// assert!(by_department.values().all(|r| *r == 0.1));
/// // A misspelt specialty is an error, not a silent no-op.
/// let typo = OverbookingTarget {
///     tier: None,
///     specialty: Some("paediatric".into()),
///     institution: None,
///     ratio: 0.1,
/// };
/// assert!(resolve_overbooking_targets(&region, &[typo]).is_err());
/// # Ok::<(), haoyuan::Error>(())
/// ```
pub fn resolve_overbooking_targets(
    region: &Region,
    targets: &[OverbookingTarget],
) -> Result<std::collections::BTreeMap<u32, f32>> {
    let mut out = std::collections::BTreeMap::new();
    for (k, t) in targets.iter().enumerate() {
        let mut matched = 0usize;
        for d in &region.departments {
            let inst = &region.institutions[d.institution as usize];
            let ok = t.tier.is_none_or(|x| x == d.tier)
                && t.specialty
                    .as_ref()
                    .is_none_or(|s| *s == region.specialties[d.specialty as usize])
                && t.institution.as_ref().is_none_or(|n| *n == inst.name);
            if ok {
                out.insert(d.id.0, t.ratio);
                matched += 1;
            }
        }
        if matched == 0 {
            return Err(Error::invalid(format!(
                "overbooking target {k} ({t:?}) matches no department of the region"
            )));
        }
    }
    Ok(out)
}

use haoyuan::Policy;
use haoyuan::Tier;
use haoyuan::*;
use haoyuan::{Error, Result};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest simulated period, in days (ten years): the bound on [`Window::days`] and on a
/// warm-up.
pub const SIM_DAYS_MAX: u32 = 3660;
/// Most runs (policies × replications) one [`compare`] call makes: each run keeps a whole
/// engine in memory while it runs, and its [`SimResult`] afterwards.
pub const COMPARE_RUNS_MAX: usize = 10_000;

/// A policy under study: the engine's rules plus how the region shares its slots.
///
/// The default is the engine's default [`Policy`] (DOMAIN.md's rules) with overbooking
/// counted per session (see below), on one unified pool with five load-spreading alternatives
/// refreshed every 30 minutes. [`SimPolicy::islands`] is the city before a platform. Serde
/// reads a partial object (missing fields take their defaults) and refuses unknown fields, so a
/// misspelt setting is an error rather than a silent default.
///
/// ```
/// use haoyuan_sim::*;
/// let mut lottery = SimPolicy::default();
/// lottery.engine.lottery.window_s = 60; // the release minute is drawn by lot
/// lottery.validate().unwrap();
/// assert!(SimPolicy::islands().validate().is_ok());
/// ```
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
    /// Skip department-days the engine already reported full until the simulator sees a place
    /// of that department freed (cancellation, expiry). Exact: the engine would report the
    /// same; off = query everything (the test that they agree turns it off).
    pub query_hints: bool,
    /// Overbooking for parts of the city, by what a planner knows them by — tier, specialty,
    /// institution name — rather than by the engine's department ids, which exist only once
    /// the region is built. Appended to the engine's `overbooking.targets` (the engine's rule:
    /// later targets win where they overlap, `by_department` and `by_resource` entries before
    /// any); a target that matches no department of the region makes the run fail.
    pub overbooking_targets: Vec<OverbookingTarget>,
    /// No-show-driven overbooking: once a simulated week (its first day, before that day's
    /// publication) the engine sets each resource's ratio from its measured no-show rate
    /// within this overflow risk ([`Engine::calibrate_overbooking`], the rule a platform runs
    /// as its nightly or weekly job), so extra places go only where no-shows justify them.
    /// Its ratios take precedence over `overbooking_targets` and `engine.overbooking.ratio`
    /// for the resources it calibrates. `None` (the default): off.
    pub no_show_overbooking: Option<OverbookingCalibration>,
}

/// How often (simulated days) [`SimPolicy::no_show_overbooking`] recalibrates.
pub const CALIBRATION_EVERY_DAYS: i32 = 7;

impl Default for SimPolicy {
    fn default() -> Self {
        SimPolicy {
            engine: Policy::default(),
            unified_pool: true,
            alternatives: 5,
            query_hints: true,
            overbooking_targets: Vec::new(),
            no_show_overbooking: None,
        }
        .with_session_overbooking()
    }
}

impl SimPolicy {
    /// The engine's per-session overbooking ([`OverbookingSpread::Session`]): the simulator's
    /// default, so that a 10% allowance means 10% on a city of one- and two-place segments
    /// (per slot it adds nothing there). The engine keeps per-slot as its default only so that
    /// durable directories written before the spread existed reopen unchanged.
    fn with_session_overbooking(mut self) -> SimPolicy {
        self.engine.overbooking.spread = OverbookingSpread::Session;
        self
    }

    /// "Information islands": no shared pool, no alternatives.
    pub fn islands() -> SimPolicy {
        SimPolicy { unified_pool: false, alternatives: 0, ..SimPolicy::default() }
    }

    /// Check the policy before a run: the engine's own checks ([`Policy::validate`]), then
    /// `alternatives` at most 100, at most
    /// [`OVERBOOKING_TARGETS_MAX`] targets, each ratio within 0 ..= 1. Every entry point calls
    /// this; an `Err` names the bad field.
    pub fn validate(&self) -> Result<()> {
        self.engine.validate()?;
        if self.overbooking_targets.len() > OVERBOOKING_TARGETS_MAX {
            return Err(Error::invalid(format!(
                "at most {OVERBOOKING_TARGETS_MAX} overbooking targets"
            )));
        }
        // The ratios are checked where the engine's own targets are (they join them).
        let mut engine = self.engine.clone();
        engine.overbooking.targets.extend(self.overbooking_targets.iter().cloned());
        engine.validate()?;
        if let Some(c) = &self.no_show_overbooking {
            c.validate().map_err(|e| Error::InvalidPolicy(format!("no_show_overbooking: {e}")))?;
            if self.engine.overbooking.spread != OverbookingSpread::Session {
                return Err(Error::InvalidPolicy(
                    "no_show_overbooking counts allowances per session: engine.overbooking.spread must be \"session\"".into(),
                ));
            }
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
/// What a [`SimHooks::choose`] hook chooses among.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// The engine's slot (one time segment of one doctor, bed or device on one date).
    pub slot: SlotId,
    /// The engine's department of the slot.
    pub department: DepartmentId,
    /// The engine's institution of the slot.
    pub institution: InstitutionId,
    /// The institution's tier.
    pub tier: Tier,
    /// The institution's district index, `0 .. districts` (as [`RegionInstitution::district`]).
    pub district: u32,
    /// Days from the request's day to the visit date.
    pub days_ahead: i32,
    /// Start of the segment, in minutes after local midnight (480 = 08:00).
    pub start_min: u16,
    /// Places free to this requester.
    pub free: u32,
    /// Whether it is the preferred institution's place (the first offer) or an alternative.
    pub preferred: bool,
}

/// Who is choosing: what a [`SimHooks`] hook knows about the patient and the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceContext {
    /// The patient's id in the engine's master patient index (registered on the resident's
    /// first request of the run).
    pub patient: PatientId,
    /// Simulated day of the request (0 = first measured day; negative in warm-up).
    pub day: i32,
    /// The patient's home district index, `0 .. districts` (fixed per resident by the seed).
    pub district: u32,
    /// The specialty asked for, by name (one of [`Region::specialties`]).
    pub specialty: String,
    /// `emergency`, `urgent`, `routine`, `follow_up` or `general`.
    pub class: String,
    /// The channel the request came through (`app`, `wechat`, `web`, `kiosk`, `phone`,
    /// `clinic` for referrals, or a channel of [`DemandSpec::channel_mix`]).
    pub channel: String,
    /// Longest wait in days the patient accepts at the preferred place.
    pub tolerance_days: u8,
    /// The patient's no-shows within the demand's history window (`no_show.history_days`).
    pub past_no_shows: u32,
}

/// A custom policy written by the user (e.g. in Python): slower, but anything goes.
///
/// Without hooks a patient takes the preferred place if it is within their tolerance, else the
/// earliest alternative that is earlier. A hook replaces that choice, and may refuse places
/// beyond a slot's capacity. An `Err` from a hook stops the run and is returned.
///
/// ```
/// use haoyuan_sim::*;
/// /// Patients who always take the soonest place, wherever it is, and never an overbooked one.
/// struct Soonest;
/// impl SimHooks for Soonest {
///     fn choose(&self, _: &ChoiceContext, offers: &[Offer]) -> haoyuan::Result<Option<usize>> {
///         Ok((0..offers.len()).min_by_key(|&i| (offers[i].days_ahead, offers[i].start_min)))
///     }
///     fn overbook(&self, _: &ChoiceContext, _: &Offer, _: u32, _: u32) -> haoyuan::Result<bool> {
///         Ok(false)
///     }
/// }
/// let demand = DemandSpec { requests_per_day: 200.0, ..DemandSpec::default() };
/// let window = Window::days(1).warmup(2);
/// let quiet = |_: u64, _: u64| -> haoyuan::Result<()> { Ok(()) };
/// let r = simulate_with_hooks(
///     &RegionSpec::small(), &demand, &SimPolicy::default(), window, 7, &Soonest, &quiet,
/// )?;
/// assert!(r.counts.served > 0);
/// # Ok::<(), haoyuan::Error>(())
/// ```
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

/// Progress: `(done, total)` in simulated days, warm-up days included (over all runs for
/// `compare`). Called after every simulated day; an `Err` stops the run (or the comparison) at
/// that point and is returned — how a host interrupts a long run (the Python face's Ctrl-C).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) -> Result<()> + Sync);

/// How long a run measures, and how long it warms up first.
///
/// `Window::from(28)` measures 28 days after the default warm-up; `Window::days(28).warmup(10)`
/// chooses the warm-up (a shorter one than [`default_warmup_days`] adds a warning to the result).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Measured days (1 ..= [`SIM_DAYS_MAX`]).
    pub days: u32,
    /// Days simulated before the first measured day; `None` = [`default_warmup_days`].
    #[serde(default)]
    pub warmup_days: Option<u32>,
}

impl Window {
    /// `days` measured days after the default warm-up.
    pub fn days(days: u32) -> Window {
        Window { days, warmup_days: None }
    }

    /// The same window after a warm-up of `days` days.
    pub fn warmup(self, days: u32) -> Window {
        Window { warmup_days: Some(days), ..self }
    }

    fn check(&self) -> Result<()> {
        if self.days == 0 || self.days > SIM_DAYS_MAX {
            return Err(Error::invalid(format!("days {} must be 1 ..= {SIM_DAYS_MAX}", self.days)));
        }
        if self.warmup_days.is_some_and(|w| w > SIM_DAYS_MAX) {
            return Err(Error::invalid(format!("warmup_days must be at most {SIM_DAYS_MAX}")));
        }
        Ok(())
    }

    /// The warm-up this window runs under `policy` on `region` with `demand`.
    pub fn warmup_for(&self, region: &RegionSpec, demand: &DemandSpec, policy: &SimPolicy) -> u32 {
        self.warmup_days.unwrap_or_else(|| default_warmup_days(region, demand, policy))
    }
}

impl From<u32> for Window {
    fn from(days: u32) -> Window {
        Window::days(days)
    }
}

/// The warm-up long enough for every policy rule to act before the first measured day:
///
/// - the **booking windows** (public and referral, capped by the region's horizon): after that
///   many days every bookable date has seen a full window of demand, so the first measured
///   day starts as full as any later day, and its waiting times are those of a running city;
/// - plus the **first no-show suspension**: the first visits (and no-shows) of the warm-up
///   happen within a window, and only after a first suspension has run its course do patients
///   come back from suspension as fast as others are suspended;
/// - and at least the demand's **no-show history** window (`no_show.history_days`), so that
///   patients arrive at day 0 with the history they would have had.
///
/// Penalties counted per calendar year keep escalating through the year in a real city too:
/// that cycle is not a warm-up artefact, and no warm-up removes it.
pub fn default_warmup_days(region: &RegionSpec, demand: &DemandSpec, policy: &SimPolicy) -> u32 {
    let p = &policy.engine;
    let window = p.window.open_days_ahead.max(p.referral.open_days_ahead).min(region.horizon_days);
    (window as u32 + p.no_show.suspension_days(1)).max(demand.no_show.history_days)
}

/// Simulate the measurement window `window` (a number of days, or a [`Window`]) of `demand` on
/// `region` under `policy`. Deterministic: the same inputs and seed give the same result, bit
/// for bit (apart from `elapsed_s`).
///
/// `progress` is called after every simulated day (see [`Progress`]); pass `&|_, _| Ok(())`
/// for none.
///
/// # Errors
///
/// `InvalidArgument` / `InvalidPolicy` when the region, demand, policy or window fails its
/// checks (nothing has run then); the `Err` of `progress` if it stops the run;
/// `CapacityExceeded` if the simulator fell behind the engine's event stream (a bug: please
/// report it with the seed). Engine refusals a patient would meet (a full slot, a limit) are
/// not errors: they are counted in [`SimResult::counts`].
///
/// ```
/// use haoyuan_sim::*;
/// let region = RegionSpec::small();
/// let demand = DemandSpec { requests_per_day: 200.0, ..DemandSpec::default() };
/// // Two measured days after a deliberately short warm-up of three: quick, but not steady.
/// let window = Window::days(2).warmup(3);
/// let r = simulate(&region, &demand, &SimPolicy::default(), window, 42, &|_, _| Ok(()))?;
/// assert_eq!((r.days, r.warmup_days), (2, 3));
/// assert!(r.warnings.iter().any(|w| w.contains("not in steady state")));
/// assert!(r.counts.requests > 0 && r.counts.served <= r.counts.requests);
/// // Same inputs, same seed: the same result.
/// let again = simulate(&region, &demand, &SimPolicy::default(), window, 42, &|_, _| Ok(()))?;
/// assert_eq!(r.without_timing(), again.without_timing());
/// # Ok::<(), haoyuan::Error>(())
/// ```
pub fn simulate(
    region: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    window: impl Into<Window>,
    seed: u64,
    progress: Progress<'_>,
) -> Result<SimResult> {
    let window = window.into();
    window.check()?;
    run::run(region, demand, policy, window, seed, None, progress)
}

/// [`simulate`] with a custom policy hook (see [`SimHooks`]).
pub fn simulate_with_hooks(
    region: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    window: impl Into<Window>,
    seed: u64,
    hooks: &dyn SimHooks,
    progress: Progress<'_>,
) -> Result<SimResult> {
    let window = window.into();
    window.check()?;
    run::run(region, demand, policy, window, seed, Some(hooks), progress)
}

/// One run of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareRun {
    /// The policy's name, as given to [`compare`].
    pub policy: String,
    /// Replication index, `0 .. replications`.
    pub replication: u32,
    /// The run's seed: [`replication_seed`] of the comparison's seed and `replication` (pass it
    /// to [`simulate`] to rerun this one run alone).
    pub seed: u64,
    /// What the run measured.
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
///
/// Replication `r` of every policy runs with the seed [`replication_seed`]`(seed, r)`, so the
/// policies meet the same patients with the same dice, and differences between them are the
/// policy's, not the noise's. `progress` counts simulated days over all runs.
///
/// # Errors
///
/// As [`simulate`], plus `InvalidArgument` when there is no policy, no replication, or more
/// than [`COMPARE_RUNS_MAX`] runs. The first failing run's error is returned.
///
/// ```
/// use haoyuan_sim::*;
/// let region = RegionSpec::small();
/// let demand = DemandSpec { requests_per_day: 200.0, ..DemandSpec::default() };
/// let policies = vec![
///     ("unified".to_string(), SimPolicy::default()),
///     ("islands".to_string(), SimPolicy::islands()),
/// ];
/// let window = Window::days(1).warmup(2);
/// let runs = compare(&region, &demand, &policies, window, 2, 1, &|_, _| Ok(()))?;
/// assert_eq!(runs.len(), 4);
/// assert_eq!((runs[1].policy.as_str(), runs[1].replication), ("unified", 1));
/// // Common random numbers: replication 1 of each policy had the same seed.
/// assert_eq!(runs[1].seed, runs[3].seed);
/// assert_eq!(runs[1].seed, replication_seed(1, 1));
/// for run in &runs {
///     let served = run.result.summary().into_iter().find(|(k, _)| k == "served_rate").unwrap();
///     assert!((0.0..=1.0).contains(&served.1));
/// }
/// # Ok::<(), haoyuan::Error>(())
/// ```
pub fn compare(
    region: &RegionSpec,
    demand: &DemandSpec,
    policies: &[(String, SimPolicy)],
    window: impl Into<Window>,
    replications: u32,
    seed: u64,
    progress: Progress<'_>,
) -> Result<Vec<CompareRun>> {
    compare_with(region, demand, policies, window.into(), replications, seed, None, progress)
}

/// [`compare`] on the synthetic demand or on `recorded` requests.
#[allow(clippy::too_many_arguments)]
fn compare_with(
    region: &RegionSpec,
    demand: &DemandSpec,
    policies: &[(String, SimPolicy)],
    window: Window,
    replications: u32,
    seed: u64,
    recorded: Option<&Recorded>,
    progress: Progress<'_>,
) -> Result<Vec<CompareRun>> {
    window.check()?;
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
    if let Some(r) = recorded {
        // The checks that need no region, once: a malformed table fails before any region is
        // built (each run checks the rest against its own region and warm-up).
        r.validate()?;
    }
    let jobs: Vec<(usize, u32)> =
        (0..policies.len()).flat_map(|p| (0..replications).map(move |r| (p, r))).collect();
    let total: u64 = jobs
        .iter()
        .map(|&(p, _)| (window.days + window.warmup_for(region, demand, &policies[p].1)) as u64)
        .sum();
    let done = AtomicU64::new(0);
    jobs.par_iter()
        .map(|&(p, r)| {
            let s = replication_seed(seed, r);
            let last = std::cell::Cell::new(0u64);
            let report = |d: u64, _| {
                let step = d.saturating_sub(last.replace(d));
                let now = done.fetch_add(step, Ordering::Relaxed) + step;
                progress(now, total)
            };
            let result =
                run::run_with(region, demand, &policies[p].1, window, s, None, recorded, &report)?;
            Ok(CompareRun { policy: policies[p].0.clone(), replication: r, seed: s, result })
        })
        .collect()
}

/// [`simulate`] driven by recorded requests instead of the synthetic demand: a city replays
/// its own month under another policy (see [`Recorded`]). `demand` still gives the population,
/// the no-show model, the cancellation, abandonment and waitlist probabilities and the patients'
/// tolerance; its volumes and mixes are not used. Every arrival must fall within the warm-up
/// and measured days of `window`; a bad row is an `InvalidArgument` naming it, before anything
/// runs. Deterministic for a recording and seed, whatever the order of its rows.
pub fn simulate_recorded(
    region: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    window: impl Into<Window>,
    seed: u64,
    recorded: &Recorded,
    progress: Progress<'_>,
) -> Result<SimResult> {
    let window = window.into();
    window.check()?;
    run::run_with(region, demand, policy, window, seed, None, Some(recorded), progress)
}

/// [`compare`] on recorded requests (see [`simulate_recorded`]): every policy meets the same
/// arrivals; a replication changes only the dice (choices, no-shows, cancellations), on common
/// random numbers.
#[allow(clippy::too_many_arguments)]
pub fn compare_recorded(
    region: &RegionSpec,
    demand: &DemandSpec,
    policies: &[(String, SimPolicy)],
    window: impl Into<Window>,
    replications: u32,
    seed: u64,
    recorded: &Recorded,
    progress: Progress<'_>,
) -> Result<Vec<CompareRun>> {
    compare_with(
        region,
        demand,
        policies,
        window.into(),
        replications,
        seed,
        Some(recorded),
        progress,
    )
}

/// The requests the synthetic demand makes in a run of `window` (warm-up days included, with
/// negative `day`s) as a recording: to export, edit and replay with [`simulate_recorded`]. A
/// replay makes exactly these requests; its dice are drawn anew, so its metrics agree with
/// [`simulate`]'s of the same seed statistically, not bit for bit.
pub fn synthetic_arrivals(
    region: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    window: impl Into<Window>,
    seed: u64,
) -> Result<Recorded> {
    let window = window.into();
    window.check()?;
    run::synthetic_arrivals(region, demand, policy, window, seed)
}

/// The crate's README (what crates.io shows), compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctest;
