//! Write one exported FHIR R4 resource of every kind and status to a directory, for
//! validation by an independent implementation (`make test-fhir` runs `fhir.resources` on them).
//!
//!     cargo run -p haoyuan-fhir --example fhir_export -- target/fhir-samples
//!
//! With `--measure`, time the interop paths on a Dongguan-size day instead (52,000 slots of
//! 1,000 doctors; medians of 5 runs, 200 for $find):
//!
//!     cargo run --release -p haoyuan-fhir --example fhir_export -- --measure

use haoyuan::*;
use haoyuan_fhir::{self as fhir, CsvImport, ExportScope, ImportOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "target/fhir-samples".into());
    if arg == "--measure" {
        measure();
        return;
    }
    let dir = PathBuf::from(arg);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let samples = match fhir::samples::sample_exports() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sample scenario failed: {e}");
            std::process::exit(1);
        }
    };
    for (name, value) in &samples {
        let path = dir.join(format!("{name}.json"));
        let text =
            serde_json::to_string_pretty(value).expect("a serde_json::Value always serialises");
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    println!("wrote {} FHIR resources to {}", samples.len(), dir.display());
}

const DOCTORS: u32 = 1000;

fn day() -> Date {
    Date::from_ymd(2026, 11, 24).expect("valid date")
}

/// 1,000 doctors in 20 departments of 10 hospitals; nothing published.
fn registry() -> Engine {
    let engine = Engine::with_manual_clock(
        EngineConfig::default(),
        Timestamp::from_local(day().plus_days(-1), 16 * 60, 8 * 3600),
    )
    .expect("default config");
    let mut departments = Vec::new();
    for h in 0..10 {
        let i = engine
            .add_institution(
                &format!("Hospital {h}"),
                Tier::Tertiary,
                &format!("District {}", h % 4),
            )
            .unwrap();
        for d in 0..2 {
            departments.push(
                engine
                    .add_department(
                        i,
                        &format!("specialty-{}", (h * 2 + d) % 8),
                        &format!("Department {d}"),
                    )
                    .unwrap(),
            );
        }
    }
    for n in 0..DOCTORS {
        engine
            .add_resource(
                departments[n as usize % departments.len()],
                ResourceKind::Doctor,
                &format!("Dr {n}"),
                n % 10 == 0,
            )
            .unwrap();
    }
    engine
}

/// 52 ten-minute segments a day: 08:00–12:00 and 14:00–18:40, 2 places each.
const ROSTER_ROW: &str = "08:00,12:00,10,2";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// This process's CPU time (user + system) from /proc, 10 ms resolution; zero elsewhere. On a
/// shared machine wall time overstates the cost, so both are printed.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn measure() {
    // The CSV roster of the whole region: 2 sessions per doctor on Tuesdays.
    let source = registry();
    let mut csv = String::from(
        "resource,department,weekday,session_start,session_end,segment_minutes,places\n",
    );
    for n in 0..DOCTORS {
        let d = if (n as usize % 20).is_multiple_of(2) { "Department 0" } else { "Department 1" };
        csv.push_str(&format!("Dr {n},{d},tue,{ROSTER_ROW}\nDr {n},{d},tue,14:00,18:40,10,2\n"));
    }
    let mut csv_times = Vec::new();
    for run in 0..5 {
        let e = if run == 0 { None } else { Some(registry()) };
        let target = e.as_ref().unwrap_or(&source);
        let mut slots = 0;
        let mut dt = Duration::ZERO;
        for h in 0..10 {
            // One file per hospital: each names its own departments and doctors.
            let rows: String = csv
                .lines()
                .skip(1)
                .filter(|l| {
                    l.split(',')
                        .next()
                        .and_then(|r| r.strip_prefix("Dr "))
                        .and_then(|n| n.parse::<u32>().ok())
                        .is_some_and(|n| (n as usize % 20) / 2 == h)
                })
                .map(|l| format!("{l}\n"))
                .collect();
            let file = format!("resource,department,weekday,session_start,session_end,segment_minutes,places\n{rows}");
            let opts = CsvImport {
                institution: InstitutionId(h as u32),
                valid_from: day(),
                valid_until: day(),
            };
            let t = Instant::now();
            slots += fhir::import::import_csv(target, &file, &opts).unwrap().specs.len();
            dt += t.elapsed();
        }
        assert_eq!(slots, 52_000);
        csv_times.push(dt);
    }
    println!(
        "CSV roster import, 2,000 rows → 52,000 slots (10 files): median {}",
        ms(median(csv_times))
    );

    let scope = ExportScope {
        date_from: day(),
        date_to: day(),
        institution: None,
        resource: None,
        appointments: false,
    };
    let (mut export, mut text_t, mut parse, mut import) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    let mut export_cpu = Vec::new();
    for _ in 0..5 {
        let (t, c) = (Instant::now(), cpu());
        let bundle = fhir::export::bundle(&source, &scope).unwrap();
        export.push(t.elapsed());
        export_cpu.push(cpu() - c);
        let t = Instant::now();
        let text = bundle.to_string();
        text_t.push(t.elapsed());
        bytes = text.len();
        let target = registry();
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        parse.push(t.elapsed());
        let t = Instant::now();
        let r = fhir::import::import_bundle(&target, &v, &ImportOptions::default()).unwrap();
        import.push(t.elapsed());
        assert_eq!(r.specs.len(), 52_000);
    }
    println!(
        "export Bundle of 52,000 Slots + 1,000 Schedules: median {} wall, {} CPU (to JSON text {}, {:.1} MB)",
        ms(median(export)),
        ms(median(export_cpu)),
        ms(median(text_t)),
        bytes as f64 / 1e6
    );
    println!(
        "import that Bundle: parse JSON {} + validate and publish {} (medians)",
        ms(median(parse)),
        ms(median(import))
    );

    let params = serde_json::json!({ "start": "2026-11-24T09:00:00+08:00", "end": "2026-11-24T12:00:00+08:00", "specialty": "specialty-3", "location": "District 1", "_count": 20 });
    let mut find = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let b = fhir::ops::find(&source, &params).unwrap();
        find.push(t.elapsed());
        assert_eq!(b["total"], 20);
    }
    println!("$find (specialty + district + 3-hour window, _count 20) → searchset Bundle: median {:.0} µs", median(find).as_secs_f64() * 1e6);
}
