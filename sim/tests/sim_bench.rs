//! The city-year benchmark of `make bench-sim` (ignored by `cargo test`): the Dongguan preset
//! for `SIM_DAYS` days (default 365), timed, with the headline metrics printed as one JSON line.
//!
//!     cargo test --release -p haoyuan --test sim_bench -- --ignored --nocapture

use haoyuan_sim::*;
use std::time::Instant;

#[test]
#[ignore = "benchmark: run by make bench-sim"]
fn dongguan_city_year() {
    let days: u32 = std::env::var("SIM_DAYS").ok().and_then(|s| s.parse().ok()).unwrap_or(365);
    let t = Instant::now();
    let mut last = Instant::now();
    let policy = SimPolicy::default();
    let r = simulate(
        &RegionSpec::dongguan(),
        &DemandSpec::dongguan(),
        &policy,
        days,
        1,
        &|d, total| {
            if d == total || last.elapsed().as_secs() >= 10 {
                eprintln!("  day {d}/{total} at {:.1} s", t.elapsed().as_secs_f64());
            }
            Ok(())
        },
    )
    .unwrap();
    let _ = &mut last;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.counts.anomalies, 0, "{:?}", r.notes);
    let summary: std::collections::BTreeMap<String, f64> = r.summary().into_iter().collect();
    // The whole result (but its wall time) to a file, to check that a speed change changes no
    // answer: `SIM_DUMP=path`.
    if let Ok(path) = std::env::var("SIM_DUMP") {
        let mut whole = r.clone();
        whole.elapsed_s = 0.0;
        std::fs::write(&path, serde_json::to_string_pretty(&whole).unwrap()).unwrap();
    }
    // Simulated days include the warm-up: what a city-year (365 measured days after the same
    // warm-up) would cost at this run's rate.
    let simulated = (days + r.warmup_days) as f64;
    let per_day = secs / simulated;
    eprintln!(
        "{days} measured + {} warm-up days in {secs:.1} s: {per_day:.3} s per simulated day, \
         city-year ≈ {:.0} s, peak resident {:.2} GB",
        r.warmup_days,
        per_day * (365 + r.warmup_days) as f64,
        peak_resident_bytes() as f64 / 1e9
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "dongguan_city_year",
            "days": days,
            "warmup_days": r.warmup_days,
            "seconds": secs,
            "seconds_per_simulated_day": per_day,
            "city_year_seconds_extrapolated": per_day * (365 + r.warmup_days) as f64,
            "peak_resident_bytes": peak_resident_bytes(),
            "slots": r.slots,
            "places": r.total.places,
            "requests": r.counts.requests,
            "engine_calls": r.counts.engine_calls,
            "suggestion_lists": r.counts.suggestion_lists,
            "engine_calls_per_s": r.counts.engine_calls as f64 / secs,
            "summary": summary,
        })
    );
}

/// The process's peak resident memory (`VmHWM`), or 0 where /proc is not available.
fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
