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

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5)).sample_size(10);
    targets = flash
}
criterion_main!(benches);
