//! The simulator measures the city, not its own set-up: with the default warm-up, the first
//! measured day looks like the same weekday later in the window, and a 7-day study agrees with
//! a 28-day one. Each check is a 95% confidence interval over replications on fixed seeds (the
//! paired difference: both numbers come from the same replication) that must lie within ±2% of
//! the steady value. The scaled-down preset runs here (`make test`); the Dongguan one in `make
//! bench-sim` (`SIM_STEADY_REGION=dongguan`, ignored here: it takes minutes).
//!
//! Without the warm-up (`warmup_days = 0`) the same check fails: see the last test, which shows
//! the artefact these checks exist to catch.

use haoyuan::Result;
use haoyuan_sim::*;
use rayon::prelude::*;

const REPLICATIONS: u32 = 20;
const SEED: u64 = 2026;

fn quiet(_: u64, _: u64) -> Result<()> {
    Ok(())
}

fn region(name: &str) -> (RegionSpec, DemandSpec) {
    match name {
        "dongguan" => (RegionSpec::dongguan(), DemandSpec::dongguan()),
        // The small region, busy enough that departments fill (as a city's do) and a day holds
        // enough places for a day's utilisation to be a stable number.
        _ => (
            RegionSpec::small(),
            DemandSpec { requests_per_day: 1200.0, population: 20_000, ..DemandSpec::default() },
        ),
    }
}

/// Two-sided 95% Student t quantile for `n − 1` degrees of freedom (n ≤ 20 here, or the normal
/// beyond the table).
fn t975(n: usize) -> f64 {
    const T: [f64; 19] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093,
    ];
    T.get(n.saturating_sub(2)).copied().unwrap_or(1.96)
}

/// Mean and 95% confidence interval of `xs`.
fn ci(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = t975(xs.len()) * (var / n).sqrt();
    (mean, mean - half, mean + half)
}

fn runs(region: &RegionSpec, demand: &DemandSpec, window: Window, n: u32) -> Vec<SimResult> {
    (0..n)
        .into_par_iter()
        .map(|r| {
            let s = replication_seed(SEED, r);
            let out = simulate(region, demand, &SimPolicy::default(), window, s, &quiet).unwrap();
            assert_eq!(out.counts.anomalies, 0, "{:?}", out.notes);
            out
        })
        .collect()
}

/// First measured day minus the mean of the window's same weekdays (0, 7, 14, 21: weekdays
/// differ in rosters and demand, so that is the steady value to compare with).
fn first_day_gaps(results: &[SimResult]) -> (Vec<f64>, f64) {
    let mut gaps = Vec::new();
    let mut steady = Vec::new();
    for r in results {
        let same: Vec<f64> =
            r.by_day.iter().step_by(7).skip(1).map(|d| d.usage.utilisation).collect();
        let later = same.iter().sum::<f64>() / same.len() as f64;
        gaps.push(r.by_day[0].usage.utilisation - later);
        steady.push(later);
    }
    (gaps, steady.iter().sum::<f64>() / steady.len() as f64)
}

/// The rates a study reports: each must not depend on the window's length. Counts (which grow
/// with it) and dispersion indices over groups (whose small-sample bias shrinks with it, a
/// property of the index and not a warm-up artefact) are left out.
const RATES: [&str; 8] = [
    "utilisation",
    "booking_rate",
    "served_rate",
    "utilisation_tertiary",
    "utilisation_secondary",
    "no_show_rate",
    "days_to_appointment_mean",
    "booking_rate_community",
];
/// How many of [`RATES`] the scaled-down preset resolves: on its ~2,000 places a day, 20
/// replications give the last three a 95% CI about as wide as ±2% itself (no-show rate ±0.0024
/// against a bound of ±0.0023, measured), so they are checked on Dongguan in `make bench-sim`.
const RATES_SMALL: usize = 5;

fn metric(r: &SimResult, name: &str) -> f64 {
    r.summary().into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap()
}

/// Every check, printed; the failures returned. `rates`: how many of [`RATES`] to check.
fn checks(
    region: &RegionSpec,
    demand: &DemandSpec,
    warmup: Option<u32>,
    replications: u32,
    rates: usize,
) -> Vec<String> {
    let long = runs(region, demand, Window { days: 28, warmup_days: warmup }, replications);
    let short = runs(region, demand, Window { days: 7, warmup_days: warmup }, replications);
    // Publishing past the window's end makes a short window's days exactly the long window's
    // first days: nothing near a window's end sees a horizon cut short.
    for (s, l) in short.iter().zip(&long) {
        assert_eq!(s.by_day[..], l.by_day[..7], "a 7-day window must be the 28-day one's start");
    }
    let mut failures = Vec::new();
    let mut check = |what: String, diffs: &[f64], steady: f64| {
        let (mean, lo, hi) = ci(diffs);
        let bound = 0.02 * steady.abs();
        let ok = lo >= -bound && hi <= bound;
        eprintln!(
            "{what:<48} diff {mean:+.5} CI [{lo:+.5}, {hi:+.5}] bound ±{bound:.5} {}",
            if ok { "ok" } else { "FAIL" }
        );
        if !ok {
            failures.push(format!("{what}: CI [{lo:+.5}, {hi:+.5}] not within ±{bound:.5}"));
        }
    };
    let (gaps, steady) = first_day_gaps(&long);
    check("first measured day − same weekdays, utilisation".into(), &gaps, steady);
    for name in &RATES[..rates] {
        let diffs: Vec<f64> =
            short.iter().zip(&long).map(|(s, l)| metric(s, name) - metric(l, name)).collect();
        let steady = long.iter().map(|l| metric(l, name)).sum::<f64>() / long.len() as f64;
        check(format!("7-day − 28-day window, {name}"), &diffs, steady);
    }
    failures
}

#[test]
fn default_warm_up_measures_a_steady_city() {
    let (region, demand) = region("small");
    let failures = checks(&region, &demand, None, REPLICATIONS, RATES_SMALL);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn without_warm_up_the_first_days_measure_the_set_up() {
    // The artefact the warm-up removes: an empty pool absorbs a booking window's demand at once,
    // so day 0 is far fuller than the same weekday later, and short windows disagree with long.
    let (region, demand) = region("small");
    // The artefact is large (day 0 about 0.14 below the same weekday later, of about 0.45: an
    // engine that starts at day 0 has no bookings for it yet): four replications show it.
    let failures = checks(&region, &demand, Some(0), 4, RATES_SMALL);
    assert!(
        failures.iter().any(|f| f.starts_with("first measured day")),
        "with no warm-up the first day should stand out: {failures:#?}"
    );
    let r = simulate(&region, &demand, &SimPolicy::default(), Window::days(7).warmup(0), 1, &quiet)
        .unwrap();
    assert!(r.warnings.iter().any(|w| w.contains("warm-up of 0 days")), "{:?}", r.warnings);
}

#[test]
#[ignore = "minutes: run by make bench-sim"]
fn dongguan_default_warm_up_measures_a_steady_city() {
    let (region, demand) = region("dongguan");
    let failures = checks(&region, &demand, None, REPLICATIONS, RATES.len());
    assert!(failures.is_empty(), "{failures:#?}");
}
