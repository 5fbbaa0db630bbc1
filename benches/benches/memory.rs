//! Memory: bytes per live slot and per booking, measured with a counting global allocator
//! (every byte the engine asks the allocator for, so growth slack counts) and, beside it, the
//! resident set (RSS) from /proc, which shows what was actually touched. Goals (issue 14): ≤ 48 B
//! per live slot, ≤ 64 B per booking, ≤ 64 + 48 B per registered patient with one card and its
//! card index entry.
//!
//! The pool is the province of the availability bench: 14 Dongguan-size cities × 14 days =
//! 10,192,000 live slots. Then 1,000,000 patients are registered and book three rounds of one
//! booking each (days 1, 2, 3 — the most the per-patient limits allow within 7 days).
//!
//! Run: `cargo bench -p haoyuan-benches --bench memory` (not a criterion bench: it prints a
//! report; ~2 GB of memory, ~1 minute). Smaller: `… --bench memory -- --cities 2`.

use haoyuan::*;
use haoyuan_benches::measure::{live_bytes as live, rss_bytes as rss, Counting};
use haoyuan_benches::*;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Sample {
    live: f64,
    rss: f64,
}

fn sample() -> Sample {
    Sample { live: live(), rss: rss() }
}

fn per(what: &str, before: &Sample, n: usize, goal: Option<f64>) -> f64 {
    let after = sample();
    let bytes = (after.live - before.live) / n as f64;
    let rss = (after.rss - before.rss) / n as f64;
    let verdict = match goal {
        Some(g) if bytes <= g => format!("goal ≤ {g} B: met"),
        Some(g) => format!("goal ≤ {g} B: MISSED"),
        None => String::new(),
    };
    println!("{what:<34} {n:>11} × {bytes:>7.1} B allocated, {rss:>7.1} B resident   {verdict}");
    bytes
}

fn main() {
    // `cargo bench` passes `--bench`; only our own flags are read.
    let cities = arg("--cities", PROVINCE_CITIES).clamp(1, 64);
    let patients_n = arg("--patients", 1_000_000).clamp(1, 50_000_000);
    println!("haoyuan memory report: {cities} cities × {HORIZON_DAYS} days, {patients_n} patients");
    println!(
        "size_of: Booking {} B, SlotSpec {} B",
        std::mem::size_of::<Booking>(),
        std::mem::size_of::<SlotSpec>()
    );

    let s0 = sample();
    let engine =
        Engine::with_manual_clock(EngineConfig::default(), booking_time()).expect("default policy");
    let city_list: Vec<City> = (0..cities).map(|c| add_city(&engine, c).expect("city")).collect();
    let resources: usize = city_list.iter().map(|c| c.resources.len()).sum();
    per("registry, per resource", &s0, resources, None);

    let t0 = Instant::now();
    let s1 = sample();
    for d in 0..HORIZON_DAYS {
        for city in &city_list {
            // The spec vector is the caller's and is freed before the next sample.
            engine.publish_slots(&city_day_specs(city, visit_day().plus_days(d))).expect("publish");
        }
    }
    let build = t0.elapsed();
    let slots = engine.slot_count();
    let slot_bytes = per("live slot", &s1, slots, Some(48.0));
    println!("  ({slots} slots published in {:.2} s)", build.as_secs_f64());

    let s2 = sample();
    let patients = register_patients(&engine, patients_n);
    per("patient (empty record)", &s2, patients_n, None);
    // Residents as a province registers them (issue 14 item 6): in batches, one card each; the
    // figure includes the card's entry in the card index.
    // Sampled before the card numbers are made: they are freed before the figure is taken.
    let s2c = sample();
    let carded_n = patients_n.min(1_000_000);
    let numbers: Vec<String> = (0..carded_n).map(|i| format!("44190019{i:010}")).collect();
    for batch in numbers.chunks(10_000) {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        engine.register_patients_with_cards("resident_id", &refs).expect("carded patients");
    }
    drop(numbers);
    per("patient + one card + its index entry", &s2c, carded_n, Some(112.0));

    let app = engine.channel_id("app").expect("standard channel");
    let per_day = cities * CITY_DAY_SLOTS;
    let mut booking_bytes = Vec::new();
    let mut booked_total = 0usize;
    let s3 = sample();
    for round in 0..3 {
        let s = sample();
        let first = round * per_day; // the slots of visit day `round`
        let mut booked = 0;
        // Patients in turn take the day's places slot by slot: a refused attempt is logged
        // too (8 B in the day log, see `SlotStore::log_attempt`), so the loop makes one only
        // when a slot has just filled, and the figure is the bookings' own.
        let mut slot = 0;
        for &p in &patients {
            while slot < per_day {
                // Slot ids are 1-based: index + 1.
                let id = SlotId((first + slot) as u32 + 1);
                match engine.book(&Request::new(p, id, app)) {
                    Ok(_) => {
                        booked += 1;
                        break;
                    }
                    Err(Error::SlotFull { .. }) => slot += 1,
                    Err(Error::LimitReached { .. }) => break,
                    Err(e) => panic!("unexpected refusal: {e}"),
                }
            }
        }
        booked_total += booked;
        booking_bytes.push(per(
            &format!("booking, round {} (marginal)", round + 1),
            &s,
            booked,
            None,
        ));
    }
    let avg = per("booking, 3 rounds (average)", &s3, booked_total, Some(64.0));
    let _ =
        assert_not_oversold(&engine, SlotRange { start: SlotId(1), end: SlotId(slots as u32 + 1) });
    println!("summary: {slot_bytes:.1} B per live slot (goal ≤ 48), {avg:.1} B per booking (goal ≤ 64); total live {:.0} MB, RSS {:.0} MB",
        live() / 1e6, rss() / 1e6);
}
