//! How long a province's snapshot takes to write and to load (issue 16's goal: a 10 M-slot
//! snapshot loads in ≤ 5 s).
//!
//! Builds the benchmark province (14 Dongguan-size cities × 14 days = 10,192,000 slots) on a
//! durable engine (`Buffered` journal), registers `patients` patients and books one place for
//! each, writes a snapshot, closes; then opens the directory `runs` times (`Durability::None`,
//! so nothing is written) and reports each open, the median, and the snapshot's size.
//!
//! `cargo run --release -p haoyuan-benches --example snapshot_load -- [patients] [runs] [dir]`
//! (defaults 1,000,000, 3, a directory under the system's temp dir, removed at the end).
//! A `dir` given on the command line is kept, and when it already holds a snapshot the build is
//! skipped and only the opens run: a profiler then sees the load alone
//! (`perf record … snapshot_load 1000000 3 /tmp/snap`, twice).

use haoyuan::*;
use haoyuan_benches::*;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let patients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    let dir = args
        .get(3)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("haoyuan-snapshot-load"));
    let keep = args.get(3).is_some();
    let find_snapshot = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .ok()?
            .map(|f| f.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "hys"))
    };
    let reuse = keep && find_snapshot(&dir).is_some();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let config = EngineConfig::default().with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    let options = |mode| {
        OpenOptions::new(mode).config(config.clone()).clock(ClockKind::Manual(booking_time()))
    };

    let (seq, slots) = if reuse {
        let e = DurableEngine::open(&dir, options(Durability::None)).expect("reopen");
        let seq = e.recovery_report().snapshot_seq.expect("a snapshot");
        println!("reusing the snapshot in {}", dir.display());
        (seq, e.slot_count())
    } else {
        build(
            &dir,
            patients,
            options(Durability::Buffered { interval: Duration::from_millis(100) }),
        )
    };

    let mut secs = Vec::with_capacity(runs);
    for run in 0..runs {
        let t = Instant::now();
        let e = DurableEngine::open(&dir, options(Durability::None)).expect("reopen");
        let took = t.elapsed().as_secs_f64();
        let r = e.recovery_report();
        assert_eq!(r.snapshot_seq, Some(seq), "loaded from the snapshot");
        assert_eq!(e.slot_count(), slots);
        println!(
            "open {run}: {took:.2} s (snapshot {:?}, {} events replayed after it)",
            r.snapshot_seq, r.events_replayed
        );
        secs.push(took);
        drop(e);
    }
    println!("median open: {:.2} s over {runs} runs", median(&mut secs));
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Build the province on a fresh durable engine in `dir`, snapshot it and close it: the
/// snapshot's sequence number and the slot count.
fn build(dir: &std::path::Path, patients: usize, options: OpenOptions) -> (u64, usize) {
    let t0 = Instant::now();
    let e = DurableEngine::open(dir, options).expect("open");
    let cities: Vec<City> =
        (0..PROVINCE_CITIES).map(|c| add_city(&e, c).expect("city registers")).collect();
    for d in 0..HORIZON_DAYS {
        for city in &cities {
            e.publish_slots(&city_day_specs(city, visit_day().plus_days(d))).expect("publish");
        }
    }
    let ids = e.register_patients(patients).expect("register");
    let app = e.channel_id("app").expect("app");
    let slots = e.slot_count();
    let mut booked = 0usize;
    for (i, &p) in ids.iter().enumerate() {
        // Every 7th slot from the first open day on: spread over the province.
        let slot = SlotId((1 + (i * 7) % slots) as u32);
        booked += e.book(&Request::new(p, slot, app)).is_ok() as usize;
    }
    let built = t0.elapsed();
    let t1 = Instant::now();
    let seq = e.snapshot().expect("snapshot");
    let wrote = t1.elapsed();
    e.close().expect("close");
    let snap = std::fs::read_dir(dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "hys"))
        .expect("a snapshot");
    let size = std::fs::metadata(&snap).unwrap().len();
    println!(
        "built {slots} slots, {patients} patients, {booked} bookings in {:.1} s; snapshot at seq {seq}: {:.1} MB written in {:.2} s",
        built.as_secs_f64(),
        size as f64 / 1e6,
        wrote.as_secs_f64()
    );

    (seq, slots)
}
