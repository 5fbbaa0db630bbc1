//! A province in one process (issue 14 item 4): `make bench-province`.
//!
//! Builds the province pool of the memory report (14 Dongguan-size cities × 14 days =
//! 10,192,000 live slots), registers 100 M residents with one card each (in batches of 10,000,
//! as a province's master patient index would load them) and books 3 M places on the four
//! open days, then measures on that pool, one operation at a time on one thread: a
//! department-day query, free places by day over the horizon, alternatives for a clinic over 7
//! days, a book + cancel pair, a card lookup among the 100 M, and one more registration with
//! a card. It reports the time of each build step, the bytes per resident (allocated and
//! resident), the resident set at the end and its peak, and each operation's median and 99th
//! percentile (wall clock per call, so on a shared machine they include waiting for a core)
//! with the phase's CPU time per call beside them (the process's, exact to the call).
//!
//! Goal: ≤ 14 GB resident, all of it in under 10 minutes. Not part of `make test` (≈ 12 GB of
//! memory). Smaller: `cargo bench -p haoyuan-benches --bench province -- --residents 1000000`.

use haoyuan::*;
use haoyuan_benches::measure::{
    live_bytes, peak_rss_bytes, process_cpu_exact_ns as cpu_ns, rss_bytes, Counting,
};
use haoyuan_benches::*;
use std::hint::black_box;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Residents per registration call (the engine's batch is all or nothing).
const BATCH: usize = 10_000;
/// Resident memory the province must fit in on this 24 GB machine.
const GOAL_RESIDENT_BYTES: f64 = 14e9;
const GOAL_SECONDS: f64 = 600.0;

/// Resident `i`'s card number: 18 characters, as a national ID.
fn card_number(i: usize) -> String {
    format!("44{i:016}")
}

fn gb(bytes: f64) -> String {
    format!("{:.2} GB", bytes / 1e9)
}

/// Median and 99th percentile of per-call nanoseconds.
fn quantiles(ns: &mut [u64]) -> (u64, u64) {
    ns.sort_unstable();
    let at = |q: f64| ns.get(((ns.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
    (at(0.5), at(0.99))
}

struct Step {
    started: Instant,
    cpu0: u64,
}

impl Step {
    fn start() -> Step {
        Step { started: Instant::now(), cpu0: cpu_ns() }
    }
    /// (wall seconds, on-CPU seconds) since the start.
    fn done(&self) -> (f64, f64) {
        (self.started.elapsed().as_secs_f64(), (cpu_ns() - self.cpu0) as f64 / 1e9)
    }
}

fn main() {
    let cities = arg("--cities", PROVINCE_CITIES).clamp(1, 64);
    let residents = arg("--residents", 100_000_000).clamp(BATCH, 1 << 30);
    let bookings = arg("--bookings", 3_000_000);
    let samples = arg("--samples", 20_000).max(1);
    let t_all = Instant::now();
    println!(
        "haoyuan province: {cities} cities × {HORIZON_DAYS} days, {residents} residents with one \
         card, {bookings} bookings; then {samples} calls of each operation"
    );

    // 1. The slots.
    let step = Step::start();
    let province = build_province(cities, HORIZON_DAYS, booking_time());
    let (wall, cpu) = step.done();
    let engine = &province.engine;
    let slots = engine.slot_count();
    println!(
        "slots       {slots:>11} published in {wall:6.1} s ({cpu:.1} s on-CPU); resident {}",
        gb(rss_bytes())
    );

    // 2. The residents, in batches; card numbers are made per batch and freed after it.
    let (live0, rss0) = (live_bytes(), rss_bytes());
    let step = Step::start();
    let (mut first, mut last) = (u32::MAX, 0u32);
    let mut next_report = Instant::now();
    for b in 0..residents / BATCH {
        let numbers: Vec<String> = (b * BATCH..(b + 1) * BATCH).map(card_number).collect();
        let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let ids = engine.register_patients_with_cards("resident_id", &refs).expect("residents");
        first = first.min(ids[0].0);
        last = last.max(ids[ids.len() - 1].0);
        if next_report.elapsed().as_secs() >= 30 {
            eprintln!("  {} residents registered at {:.0} s", (b + 1) * BATCH, step.done().0);
            next_report = Instant::now();
        }
    }
    let registered = residents / BATCH * BATCH;
    assert_eq!((last - first) as usize + 1, registered, "fresh engine: consecutive ids");
    let (wall, cpu) = step.done();
    println!(
        "residents   {registered:>11} registered in {wall:6.1} s ({cpu:.1} s on-CPU, {:.0} per s); \
         {:.1} B allocated, {:.1} B resident per resident with its card and index entry \
         (goal ≤ 112 B)",
        registered as f64 / wall,
        (live_bytes() - live0) / registered as f64,
        (rss_bytes() - rss0) / registered as f64,
    );

    // 3. The bookings: random residents, random slots of the open days (visit_day() .. +3,
    //    the first ids: publication is day by day); a full slot or a limit tries the next slot.
    let app = engine.channel_id("app").expect("standard channel");
    let open_slots = (4 * cities * CITY_DAY_SLOTS).min(slots);
    let patient = |rng: &mut SplitMix| PatientId(first + rng.below(registered) as u32);
    let slot = |rng: &mut SplitMix| SlotId(rng.below(open_slots) as u32 + 1);
    let (live0, rss0) = (live_bytes(), rss_bytes());
    let step = Step::start();
    let mut rng = SplitMix(14);
    let mut booked = 0usize;
    let mut refused = 0usize;
    while booked < bookings {
        let (p, s) = (patient(&mut rng), slot(&mut rng));
        let mut done = false;
        for attempt in 0..64 {
            let s = SlotId((s.0 - 1 + attempt) % open_slots as u32 + 1);
            match engine.book(&Request::new(p, s, app)) {
                Ok(_) => {
                    done = true;
                    break;
                }
                Err(Error::SlotFull { .. }) => continue,
                Err(Error::LimitReached { .. }) => break,
                Err(e) => panic!("unexpected refusal: {e}"),
            }
        }
        booked += done as usize;
        refused += !done as usize;
        if refused > bookings {
            println!("  the open days are full: {booked} booked");
            break;
        }
    }
    let (wall, cpu) = step.done();
    println!(
        "bookings    {booked:>11} booked in {wall:6.1} s ({cpu:.1} s on-CPU, {:.0} per s); \
         {:.1} B allocated, {:.1} B resident per booking",
        booked as f64 / wall,
        (live_bytes() - live0) / booked.max(1) as f64,
        (rss_bytes() - rss0) / booked.max(1) as f64,
    );

    // 4. One operation at a time on the pool as it now stands.
    let hospital: Vec<DepartmentId> =
        province.cities.iter().flat_map(|c| c.hospital_departments.iter().copied()).collect();
    let clinics: Vec<DepartmentId> =
        province.cities.iter().flat_map(|c| c.clinic_departments.iter().copied()).collect();
    // The dates made once, outside the timed calls (`Date::from_ymd` costs ~80 instructions).
    let first_day = visit_day();
    let open_day = |rng: &mut SplitMix| first_day.plus_days(rng.below(4) as i32);
    let last_day = first_day.plus_days(HORIZON_DAYS - 1);
    let mut rows = Vec::new();
    let mut measure = |what: &str, op: &mut dyn FnMut(&mut SplitMix) -> bool| {
        let mut rng = SplitMix(what.len() as u64 * 7_919);
        let mut ns = Vec::with_capacity(samples);
        let cpu0 = cpu_ns();
        while ns.len() < samples {
            let t = Instant::now();
            let counted = op(&mut rng);
            let dt = t.elapsed().as_nanos() as u64;
            if counted {
                ns.push(dt);
            }
        }
        let cpu = (cpu_ns() - cpu0) as f64 / samples as f64;
        let (p50, p99) = quantiles(&mut ns);
        println!("  {what:<44} median {p50:>9} ns   p99 {p99:>9} ns   on-CPU {cpu:>9.0} ns");
        rows.push(
            serde_json::json!({"op": what, "median_ns": p50, "p99_ns": p99, "on_cpu_ns": cpu}),
        );
    };
    println!("operations on the province pool (wall per call; on-CPU: the phase's mean)");
    measure("department-day query (hospital)", &mut |rng| {
        let d = hospital[rng.below(hospital.len())];
        let day = open_day(rng);
        black_box(engine.find_free_slots(&AvailabilityQuery::department(d, day, day)).is_ok())
    });
    measure("free places by day, 14 days", &mut |rng| {
        let d = hospital[rng.below(hospital.len())];
        black_box(engine.free_places_by_day(d, first_day, last_day).is_ok())
    });
    measure("alternatives, clinic, 7 days, first 5", &mut |rng| {
        let d = clinics[rng.below(clinics.len())];
        black_box(engine.alternatives(d, first_day, first_day.plus_days(6), 5).is_ok())
    });
    measure("book + cancel pair", &mut |rng| {
        match engine.book(&Request::new(patient(rng), slot(rng), app)) {
            Ok(b) => engine.cancel(b.id).is_ok(),
            Err(_) => false, // a full slot or a limit: not a pair
        }
    });
    measure("card lookup among the residents", &mut |rng| {
        let n = card_number(rng.below(registered));
        engine.find_patient_by_card("resident_id", &n).expect("lookup").is_some()
    });
    let mut next_new = registered;
    measure("register one resident with a card", &mut |_| {
        let n = card_number(next_new);
        next_new += 1;
        engine.register_patients_with_cards("resident_id", &[n.as_str()]).is_ok()
    });

    let total = t_all.elapsed().as_secs_f64();
    let (rss, peak) = (rss_bytes(), peak_rss_bytes());
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "summary: resident {} (peak {}; goal ≤ {}: {}), {} allocated, all in {total:.0} s (goal \
         ≤ {GOAL_SECONDS:.0} s: {})",
        gb(rss),
        gb(peak),
        gb(GOAL_RESIDENT_BYTES),
        verdict(peak <= GOAL_RESIDENT_BYTES),
        gb(live_bytes()),
        verdict(total <= GOAL_SECONDS),
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "province",
            "cities": cities,
            "slots": slots,
            "residents": registered,
            "bookings": booked,
            "resident_bytes": rss,
            "peak_resident_bytes": peak,
            "allocated_bytes": live_bytes(),
            "seconds": total,
            "operations": rows,
        })
    );
}
