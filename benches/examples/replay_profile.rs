//! Recovery's cost per journal record, for a profiler (issue 16's goal: replay ≥ 3 M records/s).
//!
//! `build <dir> <bookings>` writes a journal like `make bench-durability`'s recovery bench: a
//! hospital day of 400 slots, 100,000 patients registered one by one, then `bookings`
//! bookings (one record each), no snapshot. `open <dir>` recovers it once (`Durability::None`: nothing written) and prints the
//! time. Under `valgrind --tool=callgrind`, `open` of two journal sizes gives the instructions
//! per record (their difference ÷ the difference in records); `callgrind_annotate` says where.
//!
//! `cargo run --release -p haoyuan-benches --example replay_profile -- build /tmp/j 200000`

use haoyuan::*;
use std::time::{Duration, Instant};

const PATIENTS: u32 = 100_000;
const SLOTS: u32 = 400;

/// As `core/benches/durability.rs`: one department-day takes every booking (limits out of the
/// way), so the journal is registrations and bookings like the recovery bench's.
fn options(mode: Durability) -> OpenOptions {
    let mut config = EngineConfig::default().with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    config.policy.limits = LimitPolicy {
        per_department_day: 100_000,
        per_visit_date: 100_000,
        per_seven_days: 100_000,
        total_active: 100_000,
        group_dates: GroupDates::First,
    };
    let start = Timestamp::from_local(Date::from_ymd(2026, 11, 23).unwrap(), 16 * 60, 8 * 3600);
    OpenOptions::new(mode).config(config).clock(ClockKind::Manual(start))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, dir) = (args.get(1).map(String::as_str), args.get(2).map(std::path::PathBuf::from));
    let Some(dir) = dir else {
        eprintln!("usage: replay_profile build <dir> <bookings> | open <dir>");
        std::process::exit(2);
    };
    match mode {
        Some("build") => {
            let n: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(200_000);
            let _ = std::fs::remove_dir_all(&dir);
            let e = DurableEngine::open(
                &dir,
                options(Durability::Buffered { interval: Duration::from_millis(50) }),
            )
            .expect("open");
            let h = e
                .add_institution("Dongguan People's Hospital", Tier::Community, "Guancheng")
                .unwrap();
            let d = e.add_department(h, "general", "General practice").unwrap();
            let r = e.add_resource(d, ResourceKind::Service, "Certificate desk", false).unwrap();
            let day = Date::from_ymd(2026, 11, 24).unwrap();
            let specs: Vec<SlotSpec> = (0..SLOTS)
                .map(|i| SlotSpec {
                    resource: r,
                    date: day,
                    start_min: i as u16,
                    end_min: i as u16 + 1,
                    capacity: PLACES_MAX,
                })
                .collect();
            e.publish_slots(&specs).unwrap();
            for _ in 0..PATIENTS {
                e.register_patient().unwrap();
            }
            let app = e.channel_id("app").unwrap();
            let first = e.last_event_seq();
            let mut i = 0u64;
            while e.last_event_seq() < first + n {
                let req = Request::new(
                    PatientId(1 + (i % PATIENTS as u64) as u32),
                    SlotId(1 + (i % SLOTS as u64) as u32),
                    app,
                );
                e.book(&req).expect("limits are out of the way");
                i += 1;
            }
            e.close().unwrap();
            println!("{} records after the set-up", n);
        }
        Some("open") => {
            let t0 = Instant::now();
            let e = DurableEngine::open(&dir, options(Durability::None)).expect("recover");
            println!("recovered {} events in {:?}", e.last_event_seq(), t0.elapsed());
        }
        _ => {
            eprintln!("usage: replay_profile build <dir> <bookings> | open <dir>");
            std::process::exit(2);
        }
    }
}
