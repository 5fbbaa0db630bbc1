//! The seeded workload runner as part of `cargo test` (`make test`): one long single-thread
//! run, one racing run on 4 threads, and every seed of `seeds.txt` that once found a defect.
//!
//! Why a test and not `cargo run` from the Makefile: `cargo run -p haoyuan-tests` resolves the
//! crates' features without the dev-dependencies that `cargo test` unifies in (the engine's
//! `fuzz-hooks`, and features of shared dependencies), so it compiled the engine a second time —
//! about two minutes of `make test` on this machine. As a test of this package, the runner is
//! built by the same `cargo test` as every other test, with the same features
//! (`CARGO_BIN_EXE_workload`).
//!
//! Each run's own output (its invariant checks, replay digest and time) goes straight to the
//! terminal, not through the test harness's capture, so `make test`'s log shows it.

use std::process::Command;

/// Runs the workload binary with `args`; panics, with the command to reproduce it, unless it
/// exits with success (it exits non-zero on the first broken invariant or replay difference).
fn run(args: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_workload"))
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot start the workload runner: {e}"));
    assert!(
        status.success(),
        "workload {} failed ({status}); reproduce: make workload with these arguments",
        args.join(" ")
    );
}

/// 10,000 steps on one thread: the invariants after every step, then replay from the journal.
#[test]
fn one_thread_long_run() {
    run(&["--seed", "1", "--steps", "10000"]);
}

/// 200,000 steps racing on 4 threads: the invariants at the end.
#[test]
fn four_threads_racing() {
    run(&["--seed", "2", "--steps", "200000", "--threads", "4"]);
}

/// Every seed of `seeds.txt` (seed, steps, threads, what it once found), in file order.
#[test]
fn seeds_that_once_found_a_defect() {
    let seeds = include_str!("seeds.txt");
    let mut ran = 0;
    for line in seeds.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().take(3).collect();
        let [seed, steps, threads] = fields[..] else {
            panic!("seeds.txt: expected `seed steps threads what`, got {line:?}");
        };
        run(&["--seed", seed, "--steps", steps, "--threads", threads]);
        ran += 1;
    }
    // An empty or commented-out file would pass without running anything.
    assert!(ran > 0, "seeds.txt lists no seed");
}
