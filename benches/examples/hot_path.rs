//! A plain loop over one hot path, for profilers (criterion's own machinery would dominate a
//! callgrind profile): `book_cancel` (default), `hold_confirm_cancel`, `query` or `flash`.
//!
//! Run: `cargo run --release -p haoyuan-benches --example hot_path -- book_cancel 2000000`
//! Profile: `valgrind --tool=callgrind --callgrind-out-file=cg.out <target>/release/examples/hot_path book_cancel 200000`
//! then `callgrind_annotate cg.out | head -60`.

use haoyuan::*;
use haoyuan_benches::*;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("book_cancel");
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1_000_000).clamp(1, 1_000_000_000);
    match what {
        "book_cancel" | "hold_confirm_cancel" => {
            let f = booking_fixture(200_000);
            let n_slots = f.slots.end.0 - f.slots.start.0;
            let start = Instant::now();
            for i in 0..n {
                let patient = f.patients[i % f.patients.len()];
                let slot = SlotId(f.slots.start.0 + ((i as u32).wrapping_mul(7_919) % n_slots));
                let req = Request::new(patient, slot, f.app);
                let b = if what == "book_cancel" {
                    f.engine.book(&req).expect("free")
                } else {
                    let h = f.engine.hold(&req).expect("free");
                    f.engine.confirm(h.id).expect("confirm")
                };
                black_box(f.engine.cancel(b.id).expect("cancel"));
            }
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            println!("{what}: {ns:.1} ns per iteration, {:.2} M operations/s", (if what == "book_cancel" { 2.0 } else { 3.0 }) * 1e3 / ns);
        }
        "query" => {
            let (engine, city) = city_engine(Policy::default(), booking_time());
            engine.publish_slots(&city_day_specs(&city, visit_day())).expect("publish");
            let start = Instant::now();
            for i in 0..n {
                let d = city.hospital_departments[i.wrapping_mul(7_919) % city.hospital_departments.len()];
                black_box(engine.find_free_slots(&AvailabilityQuery::department(d, visit_day(), visit_day())).expect("query"));
            }
            println!("department-day query: {:.1} ns", start.elapsed().as_nanos() as f64 / n as f64);
        }
        "flash" => {
            let lottery = n > 1; // `flash 2` runs the lottery, `flash 1` first-come-first-served
            let f = flash_crowd(FLASH_REQUESTS, FLASH_SLOTS, if lottery { 60 } else { 0 }, 1);
            let start = Instant::now();
            for r in &f.requests {
                let _ = black_box(f.engine.submit(r));
            }
            if lottery {
                f.engine.advance_clock(60).expect("manual clock");
            }
            println!("flash crowd ({}): {:.2} ms", if lottery { "lottery" } else { "fcfs" }, start.elapsed().as_secs_f64() * 1e3);
            assert_eq!(assert_not_oversold(&f.engine, f.slots.clone()) as usize, FLASH_SLOTS);
        }
        other => eprintln!("unknown hot path {other:?}: book_cancel | hold_confirm_cancel | query | flash"),
    }
}
