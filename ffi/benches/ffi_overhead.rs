//! What it measures: the cost of going through the C ABI instead of calling the Rust API, on
//! the same operations against identically built engines.
//!
//! - `single/rust` vs `single/c`: one booking and its cancellation (`Engine::book` +
//!   `Engine::cancel` vs `hy_engine_book` + `hy_engine_cancel`).
//! - `bulk/rust` vs `bulk/c`: 1,000 bookings then their 1,000 cancellations, as a Rust loop vs one
//!   `hy_engine_book_many` + one `hy_engine_lifecycle_many` (cancel) call (the C side also gathers the ids).
//!
//! The extern "C" functions are called through `black_box`ed function pointers so they cannot
//! be inlined into the bench: each call pays a real call, the pointer checks, the struct
//! conversions and the panic boundary, as from C. Engines are built outside the timing, the
//! same size for both sides, and rebuilt before any patient has booked `USES_PER_PATIENT`
//! times, so a patient's growing history does not drift the numbers. Targets: single within
//! 1.2× of Rust, bulk within 1.05×.
//!
//! Run: `cargo bench -p haoyuan-ffi --bench ffi_overhead` (or `make bench-ffi`); a quick run:
//! `cargo bench -p haoyuan-ffi --bench ffi_overhead -- --measurement-time 3 --warm-up-time 1`.
//! On a busy machine, `HY_FFI_AB=1 cargo bench -p haoyuan-ffi --bench ffi_overhead` alternates
//! the two sides round by round instead and prints the median ratios (see `interleaved`).

use criterion::{criterion_group, Criterion};
use haoyuan::*;
use haoyuan_core::{BookingId, ChannelId, Engine, PatientId, Request, SlotId};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BULK: usize = 1_000;
const USES_PER_PATIENT: usize = 8;
const SLOTS: u32 = 64;

/// An engine built through the C API, and the ids a booking needs.
struct Fixture {
    handle: *mut hy_engine,
    patients: Vec<u32>,
    first_slot: u32,
    channel: u16,
}

impl Fixture {
    fn new(patients: usize) -> Fixture {
        let mut handle = std::ptr::null_mut();
        let mut day = 0;
        let mut start = 0;
        assert_eq!(hy_date_from_ymd(2026, 11, 23, &mut day), hy_result::HY_OK);
        assert_eq!(hy_timestamp_from_local(day, 16 * 60, 8 * 3600, &mut start), hy_result::HY_OK);
        assert_eq!(
            hy_engine_with_manual_clock(
                std::ptr::null(),
                HY_POLICY_JSON,
                8 * 3600,
                start,
                &mut handle
            ),
            hy_result::HY_OK
        );
        let (mut inst, mut dep, mut res, mut channel, mut first_slot) = (0, 0, 0, 0, 0);
        assert_eq!(
            hy_engine_add_institution(
                handle,
                c"Hospital".as_ptr(),
                HY_TIER_SECONDARY,
                c"Guancheng".as_ptr(),
                &mut inst
            ),
            hy_result::HY_OK
        );
        assert_eq!(
            hy_engine_add_department(
                handle,
                inst,
                c"cardiology".as_ptr(),
                c"Cardiology".as_ptr(),
                &mut dep
            ),
            hy_result::HY_OK
        );
        assert_eq!(
            hy_engine_add_resource(
                handle,
                dep,
                HY_RESOURCE_DOCTOR,
                c"Dr Li".as_ptr(),
                false,
                &mut res
            ),
            hy_result::HY_OK
        );
        assert_eq!(hy_engine_channel_id(handle, c"app".as_ptr(), &mut channel), hy_result::HY_OK);
        // Three days ahead: open to the public, cancellation still free.
        let specs: Vec<hy_slot_spec> = (0..SLOTS)
            .map(|i| hy_slot_spec {
                resource: res,
                date: day + 3,
                start_min: (i * 10) as u16,
                end_min: (i * 10 + 10) as u16,
                capacity: 16_000,
            })
            .collect();
        assert_eq!(
            hy_engine_publish_slots(handle, specs.as_ptr(), specs.len(), &mut first_slot),
            hy_result::HY_OK
        );
        let patients = (0..patients)
            .map(|_| {
                let mut p = 0;
                assert_eq!(hy_engine_register_patient(handle, &mut p), hy_result::HY_OK);
                p
            })
            .collect();
        Fixture { handle, patients, first_slot, channel }
    }

    fn engine(&self) -> &Engine {
        // SAFETY: the handle lives until `drop`.
        unsafe { &*self.handle }.as_engine()
    }

    fn c_request(&self, i: usize) -> hy_request {
        hy_request {
            patient: self.patients[i % self.patients.len()],
            slot: self.first_slot + (i as u32 % SLOTS),
            channel: self.channel,
            follow_up: false,
            referral: 0,
        }
    }

    fn rust_request(&self, i: usize) -> Request {
        Request::new(
            PatientId(self.patients[i % self.patients.len()]),
            SlotId(self.first_slot + (i as u32 % SLOTS)),
            ChannelId(self.channel),
        )
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        hy_engine_free(self.handle);
    }
}

type BookFn = extern "C" fn(*mut hy_engine, *const hy_request, *mut hy_booking) -> hy_result;
type CancelFn = extern "C" fn(*mut hy_engine, hy_booking_id, *mut hy_booking) -> hy_result;
/// `hy_engine_lifecycle_many` with HY_LIFECYCLE_CANCEL, as one function pointer.
extern "C" fn cancel_many(
    engine: *mut hy_engine,
    bookings: *const hy_booking_id,
    len: usize,
    results: *mut hy_booking_result,
) -> hy_result {
    hy_engine_lifecycle_many(engine, HY_LIFECYCLE_CANCEL, bookings, len, results)
}

type BookBulkFn =
    extern "C" fn(*mut hy_engine, *const hy_request, usize, *mut hy_booking_result) -> hy_result;
type CancelBulkFn =
    extern "C" fn(*mut hy_engine, *const hy_booking_id, usize, *mut hy_booking_result) -> hy_result;

/// Time `iters` runs of `run`. The engines are rebuilt (untimed) every `runs_per_fixture`
/// runs, always with `patients` patients, so both sides of a comparison measure the same
/// workload whatever iteration counts criterion picks, and no patient books more than
/// `USES_PER_PATIENT` times in one engine.
fn timed(
    iters: u64,
    patients: usize,
    runs_per_fixture: usize,
    run: impl Fn(&Fixture, usize),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0usize;
    while done < iters as usize {
        let n = (iters as usize - done).min(runs_per_fixture);
        let fixture = Fixture::new(patients);
        let start = Instant::now();
        for i in 0..n {
            run(&fixture, i);
        }
        total += start.elapsed();
        done += n;
    }
    total
}

const SINGLE_PATIENTS: usize = 4096;
const SINGLE_RUNS_PER_FIXTURE: usize = SINGLE_PATIENTS * USES_PER_PATIENT;
const BULK_PATIENTS: usize = 8 * BULK;
const BULK_RUNS_PER_FIXTURE: usize = BULK_PATIENTS * USES_PER_PATIENT / BULK;

fn single(c: &mut Criterion) {
    let mut g = c.benchmark_group("single");
    g.bench_function("rust", |b| {
        b.iter_custom(|iters| {
            timed(iters, SINGLE_PATIENTS, SINGLE_RUNS_PER_FIXTURE, |f, i| {
                let e = f.engine();
                let booking = e.book(black_box(&f.rust_request(i))).unwrap();
                black_box(e.cancel(booking.id).unwrap());
            })
        })
    });
    let book: BookFn = black_box(hy_engine_book);
    let cancel: CancelFn = black_box(hy_engine_cancel);
    g.bench_function("c", |b| {
        b.iter_custom(|iters| {
            timed(iters, SINGLE_PATIENTS, SINGLE_RUNS_PER_FIXTURE, |f, i| {
                let req = f.c_request(i);
                let mut out = hy_booking::default();
                assert_eq!(book(f.handle, black_box(&req), &mut out), hy_result::HY_OK);
                let mut cancelled = hy_booking::default();
                assert_eq!(cancel(f.handle, out.id, &mut cancelled), hy_result::HY_OK);
                black_box(&cancelled);
            })
        })
    });
    g.finish();
}

fn bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulk");
    g.sample_size(20);
    g.bench_function("rust", |b| {
        b.iter_custom(|iters| {
            timed(iters, BULK_PATIENTS, BULK_RUNS_PER_FIXTURE, |f, i| {
                let e = f.engine();
                let ids: Vec<BookingId> =
                    (0..BULK).map(|k| e.book(&f.rust_request(i * BULK + k)).unwrap().id).collect();
                for id in ids {
                    black_box(e.cancel(id).unwrap());
                }
            })
        })
    });
    let book_bulk: BookBulkFn = black_box(hy_engine_book_many);
    let cancel_bulk: CancelBulkFn = black_box(cancel_many);
    g.bench_function("c", |b| {
        b.iter_custom(|iters| {
            timed(iters, BULK_PATIENTS, BULK_RUNS_PER_FIXTURE, |f, i| {
                let reqs: Vec<hy_request> = (0..BULK).map(|k| f.c_request(i * BULK + k)).collect();
                let mut results = vec![hy_booking_result::default(); BULK];
                assert_eq!(
                    book_bulk(f.handle, reqs.as_ptr(), BULK, results.as_mut_ptr()),
                    hy_result::HY_OK
                );
                let ids: Vec<hy_booking_id> = results.iter().map(|r| r.booking.id).collect();
                assert!(results.iter().all(|r| r.result == hy_result::HY_OK));
                assert_eq!(
                    cancel_bulk(f.handle, ids.as_ptr(), BULK, results.as_mut_ptr()),
                    hy_result::HY_OK
                );
                black_box(&results);
            })
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! { name = benches; config = config(); targets = single, bulk }

/// On a shared, loaded machine criterion's runs of A and then B see different loads. With
/// `HY_FFI_AB=1` the bench instead alternates A and B in short rounds (swapping which goes
/// first) and reports the median of the per-round ratios, which the load drift cancels out of.
fn interleaved() {
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }
    const ROUNDS: usize = 41;
    let book: BookFn = black_box(hy_engine_book);
    let cancel: CancelFn = black_box(hy_engine_cancel);
    let book_bulk: BookBulkFn = black_box(hy_engine_book_many);
    let cancel_bulk: CancelBulkFn = black_box(cancel_many);
    let single_rust = |iters| {
        timed(iters, SINGLE_PATIENTS, SINGLE_RUNS_PER_FIXTURE, |f, i| {
            let e = f.engine();
            let booking = e.book(black_box(&f.rust_request(i))).unwrap();
            black_box(e.cancel(booking.id).unwrap());
        })
    };
    let single_c = |iters| {
        timed(iters, SINGLE_PATIENTS, SINGLE_RUNS_PER_FIXTURE, |f, i| {
            let req = f.c_request(i);
            let mut out = hy_booking::default();
            assert_eq!(book(f.handle, black_box(&req), &mut out), hy_result::HY_OK);
            let mut cancelled = hy_booking::default();
            assert_eq!(cancel(f.handle, out.id, &mut cancelled), hy_result::HY_OK);
            black_box(&cancelled);
        })
    };
    let bulk_rust = |iters| {
        timed(iters, BULK_PATIENTS, BULK_RUNS_PER_FIXTURE, |f, i| {
            let e = f.engine();
            let ids: Vec<BookingId> =
                (0..BULK).map(|k| e.book(&f.rust_request(i * BULK + k)).unwrap().id).collect();
            for id in ids {
                black_box(e.cancel(id).unwrap());
            }
        })
    };
    let bulk_c = |iters| {
        timed(iters, BULK_PATIENTS, BULK_RUNS_PER_FIXTURE, |f, i| {
            let reqs: Vec<hy_request> = (0..BULK).map(|k| f.c_request(i * BULK + k)).collect();
            let mut results = vec![hy_booking_result::default(); BULK];
            assert_eq!(
                book_bulk(f.handle, reqs.as_ptr(), BULK, results.as_mut_ptr()),
                hy_result::HY_OK
            );
            let ids: Vec<hy_booking_id> = results.iter().map(|r| r.booking.id).collect();
            assert_eq!(
                cancel_bulk(f.handle, ids.as_ptr(), BULK, results.as_mut_ptr()),
                hy_result::HY_OK
            );
            black_box(&results);
        })
    };
    type Side<'a> = &'a dyn Fn(u64) -> Duration;
    let pairs: [(&str, u64, Side, Side); 2] =
        [("single", 30_000, &single_rust, &single_c), ("bulk", 30, &bulk_rust, &bulk_c)];
    for (name, iters, rust, c) in pairs {
        let (mut rs, mut cs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let (r, k) = if round % 2 == 0 {
                let r = rust(iters);
                (r, c(iters))
            } else {
                let k = c(iters);
                (rust(iters), k)
            };
            let (r, k) = (r.as_nanos() as f64 / iters as f64, k.as_nanos() as f64 / iters as f64);
            rs.push(r);
            cs.push(k);
            ratios.push(k / r);
        }
        println!(
            "{name}: rust median {:.0} ns, c median {:.0} ns, median ratio c/rust {:.3} ({ROUNDS} alternating rounds of {iters})",
            median(rs),
            median(cs),
            median(ratios)
        );
    }
}

fn main() {
    if std::env::var_os("HY_FFI_AB").is_some() {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
