//! Contention: `book` + `cancel` pairs from 1, 2, 4 and 8 threads at once, (a) spread over the
//! 52,000 slots of a city-day, (b) all on 4 hot slots (64 places each) of one doctor. Each
//! thread books for its own patients, so only the slots are shared. Throughput counts both
//! operations of a pair. Goal: 1 → 2 threads on spread slots scales ≥ 1.8× (this machine has
//! 2 cores: 4 and 8 threads show oversubscription, not scaling).
//!
//! Run: `cargo bench -p haoyuan-benches --bench contention`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use haoyuan::*;
use haoyuan_benches::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

const PATIENTS: usize = 400_000;
const SLOT_STRIDE: u32 = 7_919;
const HOT_SLOTS: u16 = 4;

/// Run `pairs` book + cancel pairs split over `threads` threads; returns the wall time.
fn run(f: &BookingFixture, slots: &[SlotId], threads: usize, pairs: u64, round: u64) -> Duration {
    let per_thread = pairs.div_ceil(threads as u64);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for k in 0..per_thread {
                    // Patients of thread t: t, t + threads, …; each patient is used by one
                    // thread only, so the per-patient lock is never contended.
                    let per_thread_patients = (PATIENTS / threads) as u64;
                    let patient = f.patients
                        [t + threads * (round.wrapping_add(k) % per_thread_patients) as usize];
                    let slot = slots[((k as u32 ^ (t as u32) << 20).wrapping_mul(SLOT_STRIDE)
                        as usize)
                        % slots.len()];
                    // Two threads may pick the same one-place slot at once: the loser's
                    // `SlotFull` is a correct answer, and costs what a booking attempt costs.
                    match f.engine.book(&Request::new(patient, slot, f.app)) {
                        Ok(b) => {
                            black_box(f.engine.cancel(b.id).expect("cancellable"));
                        }
                        Err(Error::SlotFull { .. }) => {}
                        Err(e) => panic!("unexpected refusal: {e}"),
                    }
                }
            });
        }
    });
    start.elapsed()
}

/// A fresh city, its spread slots, and its four hot slots (published on the day after).
fn fixture() -> (BookingFixture, Vec<SlotId>, SlotRange) {
    let f = booking_fixture(PATIENTS);
    let spread: Vec<SlotId> = (f.slots.start.0..f.slots.end.0).map(SlotId).collect();
    let hot_resource = f.city.resources[0].0;
    let hot_specs: Vec<SlotSpec> = (0..HOT_SLOTS)
        .map(|s| SlotSpec {
            resource: hot_resource,
            date: visit_day().plus_days(1),
            start_min: 14 * 60 + s * 15,
            end_min: 14 * 60 + s * 15 + 15,
            capacity: 64,
        })
        .collect();
    let hot = f.engine.publish_slots(&hot_specs).expect("publish hot slots");
    (f, spread, hot)
}

fn contention(c: &mut Criterion) {
    let mut round = 0u64;
    for hot_slots in [false, true] {
        let name = if hot_slots { "hot_4_slots" } else { "spread" };
        let mut g = c.benchmark_group(format!("contention_{name}"));
        g.throughput(Throughput::Elements(2));
        for threads in [1usize, 2, 4, 8] {
            // A fresh city for each thread count: on one city, a later count's patients would
            // carry the earlier counts' ended bookings (longer records for the limit check to
            // read), and the comparison would show their length, not contention
            // (`hot_path spread2` did, BENCHMARKS.md, fourteenth session).
            let (f, spread, hot_range) = fixture();
            let hot: Vec<SlotId> = (hot_range.start.0..hot_range.end.0).map(SlotId).collect();
            let slots = if hot_slots { &hot } else { &spread };
            g.bench_with_input(
                BenchmarkId::from_parameter(format!("{threads}_threads")),
                &threads,
                |b, &threads| {
                    b.iter_custom(|iters| {
                        round = round.wrapping_add(iters);
                        run(&f, slots, threads, iters, round)
                    })
                },
            );
            assert_eq!(assert_not_oversold(&f.engine, f.slots), 0);
            assert_eq!(assert_not_oversold(&f.engine, hot_range), 0);
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(15);
    targets = contention
}
criterion_main!(benches);
