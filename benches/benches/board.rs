//! Reading the live load board (issue 18 part 2) of a Dongguan-size city (2,300 institutions,
//! 52,000 slots on the visit day, `add_city`), at 09:00 on the visit day with patients
//! checked in and seen in every hospital paediatrics department (the board then has queues,
//! measured paces and free places to compute).
//! - `paediatrics_district`: `load_board("paediatrics", district)` of a central district (5
//!   hospitals). Goal: ≤ 1 ms.
//! - `general_practice_district`: the community clinics of one district (~70 departments).
//! - `paediatrics_city`: the boards of all 33 districts, one call each (a city-wide screen).
//!
//! Run: `cargo bench -p haoyuan-benches --bench board`.

use criterion::{criterion_group, criterion_main, Criterion};
use haoyuan::*;
use haoyuan_benches::*;
use std::hint::black_box;

fn board(c: &mut Criterion) {
    let (engine, city) = city_engine(Policy::default(), booking_time());
    engine.publish_slots(&city_day_specs(&city, visit_day())).expect("city-day publishes");
    let app = engine.channel_id("app").expect("standard channel");
    // Every place of the first two slots (08:00, 08:15) of every hospital paediatrics doctor.
    let mut booked = Vec::new();
    for &(resource, _, places) in &city.resources {
        let dept = engine.resource(resource).expect("resource").department;
        let specialty = engine.department(dept).expect("department").specialty;
        let name = engine.specialty_name(specialty).expect("specialty");
        if name != "paediatrics" {
            continue;
        }
        let slots = engine.resource_day_slots(resource, visit_day()).expect("slots");
        for &slot in slots.iter().take(2) {
            for _ in 0..places {
                let p = engine.register_patient().expect("patient");
                booked.push(engine.book(&Request::new(p, slot, app)).expect("free place").id);
            }
        }
    }
    engine.advance_to(Timestamp::from_local(visit_day(), 8 * 60, 8 * 3600)).expect("clock");
    for id in &booked {
        engine.check_in(*id).expect("check in");
    }
    engine.advance_to(Timestamp::from_local(visit_day(), 9 * 60, 8 * 3600)).expect("clock");
    for id in booked.iter().step_by(2) {
        engine.fulfil(*id).expect("fulfil");
        engine.advance_clock(7).expect("clock");
    }
    let rows = engine.load_board("paediatrics", "city0-district0").expect("board").rows;
    assert!(rows.len() >= 5 && rows.iter().any(|r| r.queue > 0), "{rows:?}");
    println!("paediatrics board of city0-district0: {} rows", rows.len());

    let mut g = c.benchmark_group("board");
    g.bench_function("paediatrics_district", |b| {
        b.iter(|| black_box(engine.load_board("paediatrics", "city0-district0").expect("board")))
    });
    g.bench_function("general_practice_district", |b| {
        b.iter(|| {
            black_box(engine.load_board("general_practice", "city0-district9").expect("board"))
        })
    });
    g.bench_function("paediatrics_city", |b| {
        b.iter(|| {
            for d in 0..CITY_DISTRICTS {
                let district = format!("city0-district{d}");
                // Districts without a hospital answer an empty board.
                black_box(engine.load_board("paediatrics", &district).expect("board"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, board);
criterion_main!(benches);
