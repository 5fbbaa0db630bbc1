//! Publishing: how long one bulk `publish_slots` call takes for a Dongguan city-day (52,000
//! slots of 2,300 institutions), and a whole 14-day horizon (14 calls, 728,000 slots), each into
//! a fresh engine that already holds the city's registry. Goal: a city-day in ≤ 10 ms.
//!
//! Run: `cargo bench -p haoyuan-benches --bench publish`
//! (criterion options after `--`, e.g. `-- --measurement-time 5`).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use haoyuan::Policy;
use haoyuan_benches::*;
use std::time::Duration;

fn publish(c: &mut Criterion) {
    let mut g = c.benchmark_group("publish");
    let (engine, city) = city_engine(Policy::default(), booking_time());
    drop(engine);
    let day = city_day_specs(&city, visit_day());
    g.throughput(Throughput::Elements(day.len() as u64));
    g.bench_function("city_day_52k", |b| {
        b.iter_batched(
            // The registry is rebuilt per iteration (untimed) so every publish starts from the
            // same empty store; ids are identical because registration is deterministic.
            || city_engine(Policy::default(), booking_time()).0,
            |engine| {
                engine.publish_slots(&day).expect("publish");
                engine // dropped outside the timed section
            },
            BatchSize::PerIteration,
        )
    });
    let horizon: Vec<Vec<haoyuan::SlotSpec>> =
        (0..HORIZON_DAYS).map(|d| city_day_specs(&city, visit_day().plus_days(d))).collect();
    g.throughput(Throughput::Elements((day.len() * HORIZON_DAYS as usize) as u64));
    g.sample_size(10);
    g.bench_function("horizon_14_days_728k", |b| {
        b.iter_batched(
            || city_engine(Policy::default(), booking_time()).0,
            |engine| {
                for specs in &horizon {
                    engine.publish_slots(specs).expect("publish");
                }
                engine
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4)).sample_size(20);
    targets = publish
}
criterion_main!(benches);
