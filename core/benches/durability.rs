//! Durability benchmarks: booking throughput in memory, `Buffered` and `Sync` (group commit)
//! at 1, 2 and 8 threads, and recovery time of a one-million-record journal.
//!
//! `cargo bench -p haoyuan --bench durability` (add `-- --quick` style filters as usual). The
//! journal directories live under the target dir and are removed afterwards.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use haoyuan::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const PATIENTS: u32 = 200_000;
/// Slots of `PLACES_MAX` places: 64 M places, so that the fastest mode (memory, one thread, a
/// quiet machine: ~3 M bookings/s for criterion's warm-up and samples) never fills them — at
/// 400 slots it did, and the bench stopped on `SlotFull`.
const SLOTS: usize = 4_000;
/// Slots per resource: one a minute, within a day.
const SLOTS_PER_RESOURCE: usize = 1_000;

fn config() -> EngineConfig {
    let mut c = EngineConfig::default().with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    // One department-day takes every booking: limits out of the way.
    c.policy.limits = LimitPolicy {
        per_department_day: 100_000,
        per_visit_date: 100_000,
        per_seven_days: 100_000,
        total_active: 100_000,
        group_dates: GroupDates::First,
    };
    c
}

fn start() -> Timestamp {
    Timestamp::from_local(Date::from_ymd(2026, 11, 23).unwrap(), 16 * 60, 8 * 3600)
}

/// A hospital day of `SLOTS` slots (four desks) with 16,000 places each, and `patients` patients.
fn build(e: &Engine, patients: u32) {
    let h = e.add_institution("Dongguan People's Hospital", Tier::Community, "Guancheng").unwrap();
    let d = e.add_department(h, "general", "General practice").unwrap();
    let desks: Vec<ResourceId> = (0..SLOTS / SLOTS_PER_RESOURCE)
        .map(|k| {
            e.add_resource(d, ResourceKind::Service, &format!("Certificate desk {k}"), false)
                .unwrap()
        })
        .collect();
    let day = Date::from_ymd(2026, 11, 24).unwrap();
    let specs: Vec<SlotSpec> = (0..SLOTS)
        .map(|i| SlotSpec {
            resource: desks[i / SLOTS_PER_RESOURCE],
            date: day,
            start_min: (i % SLOTS_PER_RESOURCE) as u16,
            end_min: (i % SLOTS_PER_RESOURCE) as u16 + 1,
            capacity: PLACES_MAX,
        })
        .collect();
    e.publish_slots(&specs).unwrap();
    for _ in 0..patients {
        e.register_patient().unwrap();
    }
}

fn bench_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("durability-bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(mode: Durability) -> OpenOptions {
    OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start()))
}

/// An engine of each mode, built without timing (the durable ones are built buffered, then
/// reopened in their mode).
enum Subject {
    Memory(Box<Engine>),
    Durable(Box<DurableEngine>, PathBuf),
}

impl Subject {
    fn new(mode: &str) -> Subject {
        match mode {
            "memory" => {
                let e = Engine::with_manual_clock(config(), start()).unwrap();
                build(&e, PATIENTS);
                Subject::Memory(Box::new(e))
            }
            _ => {
                let dir = bench_dir(mode);
                let e = DurableEngine::open(
                    &dir,
                    options(Durability::Buffered { interval: Duration::from_millis(20) }),
                )
                .unwrap();
                build(&e, PATIENTS);
                e.close().unwrap();
                let m = if mode == "sync" {
                    Durability::Sync
                } else {
                    Durability::Buffered { interval: Duration::from_millis(10) }
                };
                Subject::Durable(Box::new(DurableEngine::open(&dir, options(m)).unwrap()), dir)
            }
        }
    }

    fn engine(&self) -> &Engine {
        match self {
            Subject::Memory(e) => e,
            Subject::Durable(e, _) => e,
        }
    }
}

/// The `i`-th request of a run: patients and slots in turn (ids start at 1).
fn request(i: u64, app: ChannelId) -> Request {
    Request::new(
        PatientId(1 + (i % PATIENTS as u64) as u32),
        SlotId(1 + (i % SLOTS as u64) as u32),
        app,
    )
}

/// Book `iters` requests from `threads` threads, each waiting in its own calls; the time from
/// the moment they all start until the last one is done.
fn book_from_threads(
    subject: &Arc<Subject>,
    next: &Arc<AtomicU64>,
    app: ChannelId,
    threads: usize,
    iters: u64,
) -> Duration {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads as u64)
        .map(|t| {
            let (subject, next, barrier) = (subject.clone(), next.clone(), barrier.clone());
            let n = iters / threads as u64 + if t == 0 { iters % threads as u64 } else { 0 };
            std::thread::spawn(move || {
                let e = subject.engine();
                barrier.wait();
                for _ in 0..n {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    e.book(&request(i, app)).expect("the bench world has room");
                }
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    t0.elapsed()
}

fn booking_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("booking");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for mode in ["memory", "buffered", "sync"] {
        for threads in [1usize, 2, 8] {
            let subject = Arc::new(Subject::new(mode));
            let next = Arc::new(AtomicU64::new(0));
            let app = subject.engine().channel_id("app").unwrap();
            group.bench_with_input(BenchmarkId::new(mode, threads), &threads, |b, &threads| {
                b.iter_custom(|iters| book_from_threads(&subject, &next, app, threads, iters));
            });
            if let Ok(Subject::Durable(e, dir)) = Arc::try_unwrap(subject) {
                drop(e);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
    group.finish();
}

/// `Sync` mode with many bookings in flight (issue 16's goals): 64 threads each waiting in its
/// call; one thread keeping 64 (and 1,024) pipelined bookings in flight (`pipelined`, then
/// `wait_durable` on the older half of them); one thread making bulk calls of 1,000 (`book_many`). Beside them,
/// one `fdatasync` of a small append on the same disk: the unit every figure is made of.
fn in_flight(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync_in_flight");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let subject = Arc::new(Subject::new("sync"));
    let next = Arc::new(AtomicU64::new(0));
    let e = subject.engine();
    let app = e.channel_id("app").unwrap();
    group.bench_function("threads/64", |b| {
        b.iter_custom(|iters| book_from_threads(&subject, &next, app, 64, iters));
    });
    // A host with `window` requests in flight: once it has `window` outcomes waiting, it waits
    // for the older half of them (and answers those callers) while the newer half is in the
    // journal's next fsync — so the journal always has a batch to take.
    for window in [64usize, 1024] {
        group.bench_function(format!("pipelined/{window}"), |b| {
            b.iter_custom(|iters| {
                let t0 = Instant::now();
                let mut in_flight: std::collections::VecDeque<DurableTicket> =
                    std::collections::VecDeque::with_capacity(window);
                for _ in 0..iters {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let p = e.pipelined(|e| e.book(&request(i, app)));
                    p.outcome.expect("the bench world has room");
                    in_flight.push_back(p.ticket);
                    if in_flight.len() == window {
                        let older: Vec<DurableTicket> = in_flight.drain(..window / 2).collect();
                        e.wait_durable(*older.last().unwrap()).unwrap();
                    }
                }
                if let Some(&last) = in_flight.back() {
                    e.wait_durable(last).unwrap();
                }
                t0.elapsed()
            });
        });
    }
    group.bench_function("bulk/1000", |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            let mut done = 0;
            while done < iters {
                let rows = (iters - done).min(1000);
                let first = next.fetch_add(rows, Ordering::Relaxed);
                let reqs: Vec<Request> = (first..first + rows).map(|i| request(i, app)).collect();
                for o in e.book_many(&reqs).unwrap() {
                    o.expect("the bench world has room");
                }
                done += rows;
            }
            t0.elapsed()
        });
    });
    drop(group);
    let mut group = c.benchmark_group("disk");
    group.sample_size(10).measurement_time(Duration::from_secs(2));
    let dir = bench_dir("fdatasync");
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = std::fs::File::create(dir.join("probe")).unwrap();
    group.bench_function("fdatasync_64B_append", |b| {
        b.iter(|| {
            use std::io::Write;
            f.write_all(&[0u8; 64]).unwrap();
            f.sync_data().unwrap();
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(Subject::Durable(e, dir)) = Arc::try_unwrap(subject) {
        drop(e);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Recovery of a journal of one million records (100,000 registrations, 900,000 bookings) and
/// no snapshot: the time reported is the time per million records.
fn recovery(c: &mut Criterion) {
    const RECORDS: u64 = 1_000_000;
    let dir = bench_dir("recovery");
    {
        let e = DurableEngine::open(
            &dir,
            options(Durability::Buffered { interval: Duration::from_millis(50) }),
        )
        .unwrap();
        build(&e, 100_000);
        let app = e.channel_id("app").unwrap();
        let have = e.last_event_seq();
        let total = RECORDS + 6; // the six standard channels are numbered before the journal
        let mut i = 0u64;
        while e.last_event_seq() < total {
            let req = Request::new(
                PatientId(1 + (i % 100_000) as u32),
                SlotId(1 + (i % SLOTS as u64) as u32),
                app,
            );
            e.book(&req).unwrap();
            i += 1;
        }
        assert!(have < total);
        e.close().unwrap();
    }
    let mut group = c.benchmark_group("recovery");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("1M_records", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let e = DurableEngine::open(&dir, options(Durability::None)).unwrap();
                total += t0.elapsed();
                assert!(e.last_event_seq() >= RECORDS);
                drop(e);
            }
            total
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, booking_throughput, in_flight, recovery);
criterion_main!(benches);
