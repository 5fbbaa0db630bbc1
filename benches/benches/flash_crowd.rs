//! Release-time flash crowd: 100,000 patients ask at the release instant for 2,000 one-place
//! expert slots, from 2 threads (this machine's cores).
//! - `fcfs`: lottery off; every request is a `book`, first come first served.
//! - `lottery`: a 60 s release window; every request is a `submit` that enters the draw, then
//!   the clock advances past the window and `tick` draws and places all 100,000 tickets.
//!
//! The timed part is the whole crowd being decided (for the lottery: submissions + draw). Each
//! iteration gets a fresh engine (untimed), and after it the bench asserts that exactly 2,000
//! places were given and no slot is oversold (invariant 1). Goal: ≤ 20 ms, zero oversold.
//!
//! - `flash_crowd_100k_to_2k_sync`: first come, first served on a durable engine in `Sync` mode,
//!   timed until every outcome is on disk (see `flash_durable`).
//!
//! Run: `cargo bench -p haoyuan-benches --bench flash_crowd`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use haoyuan::*;
use haoyuan_benches::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LOTTERY_WINDOW_S: u32 = 60;

/// Send every request from `threads` threads (interleaved shares); count places won at once.
fn crowd(engine: &Engine, requests: &[Request], threads: usize, lottery: bool) -> usize {
    let won = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..threads {
            let won = &won;
            s.spawn(move || {
                let mut mine = 0;
                for r in requests.iter().skip(t).step_by(threads) {
                    if lottery {
                        match engine.submit(r) {
                            Ok(Submission::Entered { .. }) => {}
                            other => {
                                panic!("inside the window every submit enters the draw: {other:?}")
                            }
                        }
                    } else {
                        match engine.book(r) {
                            Ok(_) => mine += 1,
                            Err(Error::SlotFull { .. }) => {}
                            Err(e) => panic!("unexpected refusal: {e}"),
                        }
                    }
                }
                won.fetch_add(mine, Ordering::Relaxed);
            });
        }
    });
    won.into_inner()
}

fn flash(c: &mut Criterion) {
    let mut g = c.benchmark_group("flash_crowd_100k_to_2k");
    g.throughput(Throughput::Elements(FLASH_REQUESTS as u64));
    for (mode, lottery) in [("fcfs", false), ("lottery", true)] {
        for threads in [1usize, 2] {
            let mut seed = 0u64;
            g.bench_with_input(
                BenchmarkId::new(mode, format!("{threads}_threads")),
                &threads,
                |b, &threads| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            seed += 1;
                            let f = flash_crowd(
                                FLASH_REQUESTS,
                                FLASH_SLOTS,
                                if lottery { LOTTERY_WINDOW_S } else { 0 },
                                seed,
                            );
                            let start = Instant::now();
                            let won = crowd(&f.engine, &f.requests, threads, lottery);
                            if lottery {
                                f.engine
                                    .advance_clock(LOTTERY_WINDOW_S as i64)
                                    .expect("manual clock");
                            }
                            total += start.elapsed();
                            // Untimed checks: every place given exactly once, none oversold.
                            let taken = assert_not_oversold(&f.engine, f.slots);
                            assert_eq!(taken as usize, FLASH_SLOTS, "all 2,000 places are decided");
                            if !lottery {
                                assert_eq!(won, FLASH_SLOTS);
                            }
                        }
                        total
                    })
                },
            );
        }
    }
    g.finish();
}

/// The same crowd (first come, first served) on a durable engine in `Sync` mode, timed until
/// every outcome is acknowledged, i.e. on disk (issue 16's goal: ≤ 1 s). One thread, as a host
/// with the crowd in flight would: `pipelined` with up to 1,024 requests in flight (waiting on
/// the older half when full), or bulk calls of 1,000 (`book_many`). Set-up (100,000 patients,
/// journaled in `Buffered` mode, then reopened in `Sync`) is not timed.
fn flash_durable(c: &mut Criterion) {
    let mut g = c.benchmark_group("flash_crowd_100k_to_2k_sync");
    g.throughput(Throughput::Elements(FLASH_REQUESTS as u64));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("flash-durable");
    let config = EngineConfig::default().with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    let options = |mode| {
        OpenOptions::new(mode)
            .config(config.clone())
            .clock(ClockKind::Manual(release_of(visit_day())))
    };
    for mode in ["pipelined_1024", "bulk_1000"] {
        let mut seed = 0u64;
        g.bench_function(mode, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    seed += 1;
                    let _ = std::fs::remove_dir_all(&dir);
                    let (slots, requests) = {
                        let e = DurableEngine::open(
                            &dir,
                            options(Durability::Buffered { interval: Duration::from_millis(50) }),
                        )
                        .unwrap();
                        let crowd = add_flash_crowd(&e, FLASH_REQUESTS, FLASH_SLOTS, seed).unwrap();
                        e.close().unwrap();
                        crowd
                    };
                    let e = DurableEngine::open(&dir, options(Durability::Sync)).unwrap();
                    let start = Instant::now();
                    let won = if mode == "bulk_1000" {
                        let mut won = 0;
                        for chunk in requests.chunks(1000) {
                            won += e.book_many(chunk).unwrap().iter().filter(|o| o.is_ok()).count();
                        }
                        won
                    } else {
                        let mut won = 0;
                        let mut in_flight = std::collections::VecDeque::with_capacity(1024);
                        for r in &requests {
                            let p = e.pipelined(|e| e.book(r));
                            match p.outcome {
                                Ok(_) => won += 1,
                                Err(Error::SlotFull { .. }) => {}
                                Err(err) => panic!("unexpected refusal: {err}"),
                            }
                            in_flight.push_back(p.ticket);
                            if in_flight.len() == 1024 {
                                let older: Vec<DurableTicket> = in_flight.drain(..512).collect();
                                e.wait_durable(*older.last().unwrap()).unwrap();
                            }
                        }
                        e.wait_durable(e.ticket()).unwrap();
                        won
                    };
                    total += start.elapsed();
                    assert_eq!(won, FLASH_SLOTS);
                    assert_eq!(assert_not_oversold(&e, slots) as usize, FLASH_SLOTS);
                    e.close().unwrap();
                }
                let _ = std::fs::remove_dir_all(&dir);
                total
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5)).sample_size(10);
    targets = flash, flash_durable
}
criterion_main!(benches);
