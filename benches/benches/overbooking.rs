//! No-show-driven overbooking (`Engine::calibrate_overbooking`, issue 15 item 2) on a
//! Dongguan-size city (`add_city`: 2,300 institutions; the visit day's 52,000 slots and the
//! six days after it published, the allowance counted per session), every resource measured
//! (two outcomes each: one visit, one no-show, so each is calibrated).
//! - `city_all_measured`: one calibration of every resource — what a platform's nightly job
//!   costs. The first iteration changes the policy; the later ones find nothing to change,
//!   as a nightly run mostly does.
//!
//! Run: `cargo bench -p haoyuan-benches --bench overbooking`.

use criterion::{criterion_group, criterion_main, Criterion};
use haoyuan::*;
use haoyuan_benches::*;
use std::hint::black_box;

fn overbooking(c: &mut Criterion) {
    let mut policy = Policy::default();
    policy.overbooking.spread = OverbookingSpread::Session;
    let (engine, city) = city_engine(policy, booking_time());
    for d in 0..7 {
        engine.publish_slots(&city_day_specs(&city, visit_day().plus_days(d))).expect("publishes");
    }
    let app = engine.channel_id("app").expect("standard channel");
    let mut booked = Vec::new();
    for &(resource, _, _) in &city.resources {
        // Resources with a day off on the visit day stay unmeasured (skipped).
        let Some(&slot) = engine.resource_day_slots(resource, visit_day()).expect("slots").first()
        else {
            continue;
        };
        for _ in 0..2 {
            let p = engine.register_patient().expect("patient");
            if let Ok(b) = engine.book(&Request::new(p, slot, app)) {
                booked.push(b.id);
            }
        }
    }
    engine.advance_to(Timestamp::from_local(visit_day(), 20 * 60, 8 * 3600)).expect("clock");
    for (i, id) in booked.iter().enumerate() {
        if i % 2 == 0 {
            engine.mark_no_show(*id).expect("no-show");
        } else {
            engine.check_in(*id).expect("check in");
        }
    }
    let calibration = OverbookingCalibration { min_outcomes: 2, ..Default::default() };
    let first = engine.calibrate_overbooking(&calibration).expect("calibrates");
    println!(
        "{} resources calibrated, {} skipped, policy changed: {}",
        first.resources.len(),
        first.skipped,
        first.policy_changed
    );
    let mut g = c.benchmark_group("overbooking");
    g.bench_function("city_all_measured", |b| {
        b.iter(|| black_box(engine.calibrate_overbooking(&calibration).expect("calibrates")))
    });
    g.finish();
}

criterion_group!(benches, overbooking);
criterion_main!(benches);
