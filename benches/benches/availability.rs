//! Availability queries on a province-size pool: 14 Dongguan-size cities × 52,000 slots a day
//! × 14 days = 10,192,000 live slots, built once for the whole file (its build time is printed
//! and is itself a measurement: one `publish_slots` call per city-day). 5% of the places of
//! the first visit day are booked so that queries see a mix of free and full slots.
//! - `department_day`: `find_free_slots` for one hospital department on one day (2 doctors ×
//!   16 segments). Goal: ≤ 2 µs.
//! - `department_14_days`: `free_places_by_day` of one department over the horizon.
//! - `alternatives_hospital`: same specialty at the other hospitals of the district (4 others).
//! - `alternatives_clinic_7_days`: general practice at the ~68 other clinics of the district.
//!
//! Run: `cargo bench -p haoyuan-benches --bench availability` (needs ~1.5 GB of memory).

use criterion::{criterion_group, criterion_main, Criterion};
use haoyuan::*;
use haoyuan_benches::*;
use std::hint::black_box;
use std::time::Duration;

fn availability(c: &mut Criterion) {
    let p = build_province(PROVINCE_CITIES, HORIZON_DAYS, booking_time());
    let slots = p.engine.slot_count();
    println!(
        "province pool: {slots} live slots built in {:.2} s ({:.0} ns per slot, {} publish calls)",
        p.build.as_secs_f64(),
        p.build.as_nanos() as f64 / slots as f64,
        PROVINCE_CITIES as i32 * p.days
    );
    // Book 5% of the first day's slots (one place each) so that some slots are full.
    let app = p.engine.channel_id("app").expect("standard channel");
    let day = visit_day();
    let mut rng = SplitMix(7);
    let first_day = (PROVINCE_CITIES * CITY_DAY_SLOTS) as u32;
    for _ in 0..first_day / 20 {
        let patient = p.engine.register_patient().expect("patient");
        let _ = p.engine.book(&Request::new(
            patient,
            SlotId(rng.below(first_day as usize) as u32),
            app,
        ));
    }

    let depts: Vec<DepartmentId> =
        p.cities.iter().flat_map(|c| c.hospital_departments.iter().copied()).collect();
    let clinics: Vec<DepartmentId> =
        p.cities.iter().flat_map(|c| c.clinic_departments.iter().copied()).collect();
    let mut g = c.benchmark_group("availability_10m_slots");
    let mut i = 0usize;
    g.bench_function("department_day", |b| {
        b.iter(|| {
            i += 1;
            let d = depts[i.wrapping_mul(7_919) % depts.len()];
            // Days 0..4 are released at `booking_time()`; later days answer "not open yet".
            let date = day.plus_days((i % 4) as i32);
            black_box(
                p.engine
                    .find_free_slots(&AvailabilityQuery::department(d, date, date))
                    .expect("query"),
            )
        })
    });
    g.bench_function("department_14_days", |b| {
        b.iter(|| {
            i += 1;
            let d = depts[i.wrapping_mul(7_919) % depts.len()];
            black_box(
                p.engine
                    .free_places_by_day(d, day, day.plus_days(HORIZON_DAYS - 1))
                    .expect("query"),
            )
        })
    });
    g.bench_function("alternatives_hospital", |b| {
        b.iter(|| {
            i += 1;
            let d = depts[i.wrapping_mul(7_919) % depts.len()];
            black_box(p.engine.alternatives(d, day, day, 10).expect("query"))
        })
    });
    g.bench_function("alternatives_clinic_7_days", |b| {
        b.iter(|| {
            i += 1;
            let d = clinics[i.wrapping_mul(7_919) % clinics.len()];
            black_box(p.engine.alternatives(d, day, day.plus_days(6), 10).expect("query"))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30);
    targets = availability
}
criterion_main!(benches);
