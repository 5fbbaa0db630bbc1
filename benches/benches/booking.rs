//! Booking, single thread, uncontended: `book` + `cancel` of one place (the pair is two
//! operations), and `hold` + `confirm` + `cancel`, on a Dongguan city-day of 52,000 slots with
//! 500,000 registered patients. Each iteration uses the next patient and a slot far from the
//! last one, so no two consecutive requests share a cache line. Goal: ≥ 5 M operations/s for
//! book + cancel.
//!
//! Run: `cargo bench -p haoyuan-benches --bench booking`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use haoyuan::*;
use haoyuan_benches::*;
use std::hint::black_box;
use std::time::Duration;

const PATIENTS: usize = 500_000;
/// A stride co-prime with 52,000 spreads consecutive requests over the whole day.
const SLOT_STRIDE: u32 = 7_919;

fn booking(c: &mut Criterion) {
    let f = booking_fixture(PATIENTS);
    let n_slots = f.slots.end.0 - f.slots.start.0;
    let mut g = c.benchmark_group("booking_1_thread");
    let mut i: u64 = 0;
    g.throughput(Throughput::Elements(2));
    g.bench_function("book_cancel", |b| {
        b.iter(|| {
            i += 1;
            let patient = f.patients[(i % PATIENTS as u64) as usize];
            let slot = SlotId(f.slots.start.0 + ((i as u32).wrapping_mul(SLOT_STRIDE) % n_slots));
            let booking = f.engine.book(&Request::new(patient, slot, f.app)).expect("free place");
            black_box(f.engine.cancel(booking.id).expect("cancellable"))
        })
    });
    g.throughput(Throughput::Elements(3));
    g.bench_function("hold_confirm_cancel", |b| {
        b.iter(|| {
            i += 1;
            let patient = f.patients[(i % PATIENTS as u64) as usize];
            let slot = SlotId(f.slots.start.0 + ((i as u32).wrapping_mul(SLOT_STRIDE) % n_slots));
            let hold = f.engine.hold(&Request::new(patient, slot, f.app)).expect("free place");
            let booking = f.engine.confirm(hold.id).expect("confirmable");
            black_box(f.engine.cancel(booking.id).expect("cancellable"))
        })
    });
    // A booking group of three places (a 3-night stay, a visit with two exams) and its
    // cancellation, against three single book + cancel pairs on the same slots.
    g.throughput(Throughput::Elements(2));
    g.bench_function("group3_book_cancel", |b| {
        b.iter(|| {
            i += 1;
            let patient = f.patients[(i % PATIENTS as u64) as usize];
            let first = (i as u32).wrapping_mul(SLOT_STRIDE) % (n_slots - 2);
            let slots = (0..3).map(|k| SlotId(f.slots.start.0 + first + k)).collect();
            let req = GroupRequest { patient, channel: f.app, slots, referral: None };
            let group = f.engine.book_group(&req).expect("free places");
            black_box(f.engine.cancel(group.id).expect("cancellable"))
        })
    });
    g.throughput(Throughput::Elements(6));
    g.bench_function("single3_book_cancel", |b| {
        b.iter(|| {
            i += 1;
            let patient = f.patients[(i % PATIENTS as u64) as usize];
            let first = (i as u32).wrapping_mul(SLOT_STRIDE) % (n_slots - 2);
            for k in 0..3 {
                let slot = SlotId(f.slots.start.0 + first + k);
                let booking = f.engine.book(&Request::new(patient, slot, f.app)).expect("free");
                black_box(f.engine.cancel(booking.id).expect("cancellable"));
            }
        })
    });
    g.finish();
    // Every place went back: nothing may be left taken.
    assert_eq!(assert_not_oversold(&f.engine, f.slots), 0);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4)).sample_size(30);
    targets = booking
}
criterion_main!(benches);
