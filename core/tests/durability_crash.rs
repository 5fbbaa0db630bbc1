//! Crash test: a child process books and cancels at full speed in `Sync` mode (and snapshots
//! now and then), printing each acknowledged operation — acknowledged by each call, by a
//! pipelined ticket's wait or callback, or by a bulk call; the parent kills it with SIGKILL at a
//! random moment, reopens the directory and checks that every acknowledged booking and
//! cancellation is there, that every acknowledged request key is remembered (its retry returns
//! the same booking), and that no slot is over capacity. 50 kills by default;
//! `HY_CRASH_KILLS=500` for a longer run.
//!
//! The child is this test binary itself, re-run on the ignored `crash_child` test (no separate
//! binary to build).

mod durability_support;

use durability_support::{add_crash_hospital, limits_out_of_the_way, CrashChild};
use haoyuan::*;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PATIENTS: u32 = 3000;

fn start() -> Timestamp {
    Timestamp::from_local(Date::from_ymd(2026, 11, 23).unwrap(), 16 * 60, 8 * 3600)
}

fn config() -> EngineConfig {
    let mut c = EngineConfig::default().with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    c.policy.limits = limits_out_of_the_way();
    // Nor suspensions: late cancellations (everything on the first day is late from 15:00 the
    // day before) would suspend every patient within a few rounds, and later children would
    // have nothing left to do.
    c.policy.cancellation.late_cancel_weight = 0.0;
    c
}

fn options(mode: Durability) -> OpenOptions {
    OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start()))
}

fn setup(dir: &Path) {
    let e = DurableEngine::open(
        dir,
        options(Durability::Buffered { interval: Duration::from_millis(50) }),
    )
    .unwrap();
    add_crash_hospital(&e, 5, 8);
    for _ in 0..PATIENTS {
        e.register_patient().unwrap();
    }
    e.close().unwrap();
}

/// The child: book and cancel until killed.
#[test]
#[ignore = "run by crash_test_sigkill_loses_nothing_acknowledged as its child process"]
fn crash_child() {
    let Ok(dir) = std::env::var("HY_CRASH_DIR") else { return };
    let seed: u64 = std::env::var("HY_CRASH_SEED").unwrap().parse().unwrap();
    let e = Arc::new(DurableEngine::open(&dir, options(Durability::Sync)).unwrap());
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let stop = Arc::new(AtomicBool::new(false));
    let slots = e.slot_count() as u32;
    let channel = e.channel_id("app").unwrap();
    let mut threads = Vec::new();
    // Each thread acknowledges its own way, so that kills land between in-memory outcomes and
    // durability in every form: 0 waits in each call, 1 pipelines (`pipelined`, then
    // `wait_durable` on a window of tickets), 2 pipelines with `on_durable` callbacks, 3 uses
    // the bulk calls (`book_many`, `lifecycle_many`: one wait per call), 4 books with request
    // keys (`execute`) and now and then retries one at once, as a client that timed out would.
    for t in 0..5u64 {
        let (e, out, stop) = (e.clone(), out.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed * 16 + t);
            let mut mine: Vec<BookingId> = Vec::new();
            // Pipelined outcomes not yet durable: (line to print once durable, booking, ticket).
            let mut in_flight: Vec<(char, BookingId, DurableTicket)> = Vec::new();
            let mut keyed = 0u64;
            let random_request = |rng: &mut ChaCha8Rng| {
                Request::new(
                    PatientId(rng.random_range(1..=PATIENTS)),
                    SlotId(rng.random_range(1..=slots)),
                    channel,
                )
            };
            while !stop.load(Ordering::Relaxed) {
                // Bookings of earlier rounds too: without them, once the first rounds filled
                // every slot, later children could neither book nor cancel, and their kills
                // landed on an idle engine.
                if mine.is_empty() {
                    if let Ok(r) = e.patient_record(PatientId(rng.random_range(1..=PATIENTS))) {
                        let booked =
                            r.active_bookings.iter().filter(|b| b.state == BookingState::Booked);
                        mine.extend(booked.map(|b| b.id));
                    }
                }
                let cancel = rng.random_bool(0.2) && !mine.is_empty();
                match t {
                    0 => {
                        if cancel {
                            let b = mine.swap_remove(rng.random_range(0..mine.len()));
                            if e.cancel(b).is_ok() {
                                writeln!(out.lock(), "C {}", b.0).unwrap();
                            }
                        } else if rng.random_bool(0.5) {
                            // A booking group (all or nothing, one journal record): a kill
                            // lands inside groups too.
                            let first = random_request(&mut rng);
                            let n = rng.random_range(2..=3u32);
                            let group = GroupRequest {
                                patient: first.patient,
                                channel,
                                slots: (0..n)
                                    .map(|i| SlotId((first.slot.0 + i - 1) % slots + 1))
                                    .collect(),
                                referral: None,
                            };
                            if let Ok(g) = e.book_group(&group) {
                                let ids: Vec<String> =
                                    g.bookings.iter().map(|b| b.id.0.to_string()).collect();
                                writeln!(out.lock(), "G {}", ids.join(",")).unwrap();
                                mine.extend(g.bookings.iter().map(|b| b.id));
                            }
                        } else if let Ok(b) = e.book(&random_request(&mut rng)) {
                            // Printed only once `book` returned: acknowledged means durable.
                            writeln!(out.lock(), "B {}", b.id.0).unwrap();
                            mine.push(b.id);
                        }
                    }
                    1 | 2 => {
                        let (kind, p) = if cancel {
                            let b = mine.swap_remove(rng.random_range(0..mine.len()));
                            ('C', e.pipelined(|e| e.cancel(b)))
                        } else {
                            let req = random_request(&mut rng);
                            ('B', e.pipelined(|e| e.book(&req)))
                        };
                        let Ok(b) = p.outcome else { continue };
                        if kind == 'B' {
                            mine.push(b.id);
                        }
                        if t == 2 {
                            // Printed by the journal's thread once durable, never before.
                            let out = out.clone();
                            e.on_durable(
                                p.ticket,
                                Box::new(move |r| {
                                    if r.is_ok() {
                                        writeln!(out.lock(), "{kind} {}", b.id.0).unwrap();
                                    }
                                }),
                            );
                        } else {
                            in_flight.push((kind, b.id, p.ticket));
                            if in_flight.len() >= 64 || rng.random_bool(0.05) {
                                let newest = in_flight.iter().map(|f| f.2).max().unwrap();
                                e.wait_durable(newest).unwrap();
                                let mut out = out.lock();
                                for (kind, id, _) in in_flight.drain(..) {
                                    writeln!(out, "{kind} {}", id.0).unwrap();
                                }
                            }
                        }
                    }
                    4 => {
                        keyed += 1;
                        let key = RequestKey::new(format!("k{seed}-{keyed}")).unwrap();
                        let req = random_request(&mut rng);
                        let book = haoyuan::Command::Book { request: req.clone() };
                        if let Ok(Outcome::Booking { booking }) = e.execute(Some(&key), &book) {
                            if rng.random_bool(0.3) {
                                match e.execute(Some(&key), &book) {
                                    Ok(Outcome::Booking { booking: again }) => {
                                        assert_eq!(again.id, booking.id, "a retry booked again")
                                    }
                                    other => panic!("a retry returned {other:?}"),
                                }
                            }
                            let (p, s) = (req.patient.0, req.slot.0);
                            writeln!(out.lock(), "K {key} {p} {s} {}", booking.id.0).unwrap();
                        }
                    }
                    _ => {
                        if cancel {
                            let n = rng.random_range(1..=mine.len().min(20));
                            let ids: Vec<BookingId> = mine.drain(..n).collect();
                            let outcomes = e.lifecycle_many(LifecycleAction::Cancel, &ids).unwrap();
                            let mut out = out.lock();
                            for (id, o) in ids.iter().zip(outcomes) {
                                if o.is_ok() {
                                    writeln!(out, "C {}", id.0).unwrap();
                                }
                            }
                        } else {
                            let n = rng.random_range(1..=50);
                            let reqs: Vec<Request> =
                                (0..n).map(|_| random_request(&mut rng)).collect();
                            let outcomes = e.book_many(&reqs).unwrap();
                            let mut out = out.lock();
                            for b in outcomes.into_iter().flatten() {
                                writeln!(out, "B {}", b.id.0).unwrap();
                                mine.push(b.id);
                            }
                        }
                    }
                }
            }
        }));
    }
    // Snapshots too, so that kills also land inside them.
    loop {
        std::thread::sleep(Duration::from_millis(20));
        e.snapshot().unwrap();
    }
}

#[test]
fn crash_test_sigkill_loses_nothing_acknowledged() {
    let kills: usize =
        std::env::var("HY_CRASH_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(50);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("durability-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    setup(&dir);
    let mut rng = ChaCha8Rng::seed_from_u64(0xc4a5);
    let mut booked: HashSet<u64> = HashSet::new();
    let mut cancelled: HashSet<u64> = HashSet::new();
    // Acknowledged keyed bookings: (key, patient, slot, booking).
    let mut keyed: Vec<(String, PatientId, SlotId, u64)> = Vec::new();
    // Acknowledged booking groups, their booking ids in order.
    let mut groups: Vec<Vec<u64>> = Vec::new();
    let mut torn_tails = 0;
    // Acknowledged bookings the records had forgotten at the last check (ended, past history).
    let mut forgotten = 0;
    let began = Instant::now();
    for round in 0..kills {
        let child = CrashChild::spawn(
            "crash_child",
            &[("HY_CRASH_DIR", dir.display().to_string()), ("HY_CRASH_SEED", round.to_string())],
        );
        // Kill after the child had time to recover and start (~tens of ms) plus a random moment.
        std::thread::sleep(Duration::from_millis(rng.random_range(40..160)));
        let lines = child.kill();
        let mut acked_this_round = 0;
        for l in &lines {
            // A line cut short by the kill has no trustworthy id: only whole lines count, and
            // `lines()` yields the last fragment too, so require the parse to succeed.
            if let ["K", key, p, s, id] = l.split(' ').collect::<Vec<_>>()[..] {
                if let (Ok(p), Ok(s), Ok(id)) = (p.parse(), s.parse(), id.parse::<u64>()) {
                    keyed.push((key.to_string(), PatientId(p), SlotId(s), id));
                    booked.insert(id);
                    acked_this_round += 1;
                }
                continue;
            }
            if let Some(ids) = l.strip_prefix("G ") {
                let ids: Vec<u64> = ids.split(',').filter_map(|x| x.parse().ok()).collect();
                // The last line may be cut short: a group counts only with all its ids.
                if ids.len() >= 2 && !l.ends_with(',') && l.split(',').count() == ids.len() {
                    booked.extend(ids.iter().copied());
                    groups.push(ids);
                    acked_this_round += 1;
                }
                continue;
            }
            let Some((kind, id)) = l.split_once(' ') else { continue };
            let Ok(id) = id.parse::<u64>() else { continue };
            match kind {
                "B" => booked.insert(id),
                "C" => cancelled.insert(id),
                _ => continue,
            };
            acked_this_round += 1;
        }
        let e = DurableEngine::open(&dir, options(Durability::None))
            .unwrap_or_else(|err| panic!("round {round}: recovery failed: {err}"));
        if e.recovery_report().torn_tail.is_some() {
            torn_tails += 1;
        }
        let mut states: HashMap<BookingState, usize> = HashMap::new();
        forgotten = 0;
        for &id in &booked {
            let b = match e.booking(BookingId(id)) {
                Ok(b) => b,
                // A patient's record forgets its oldest ended bookings past its history
                // (ENDED_BOOKINGS_KEPT; the journal keeps them), which a fast run may reach.
                // Only a record that has been compacted can have forgotten one: compaction
                // starts at 2 × ENDED_BOOKINGS_KEPT bookings, so the patient's newest booking
                // number must be past that, and the record keeps a full history.
                Err(Error::NotFound { kind, .. }) if kind == FORGOTTEN_BOOKING => {
                    let mine = e.bookings_of(BookingId(id).origin_patient()).unwrap();
                    let ended = mine.iter().filter(|b| !b.state.is_active()).count();
                    let newest = mine.iter().map(|b| b.id.0 as u32).max().unwrap_or(0);
                    let seqs: Vec<u32> = mine.iter().map(|b| b.id.0 as u32).collect();
                    assert!(
                        ended >= ENDED_BOOKINGS_KEPT
                            && newest as usize + 1 >= 2 * ENDED_BOOKINGS_KEPT,
                        "round {round}: acknowledged booking {id} (number {}) lost from a record \
                         that never reached its history's bound: {ended} ended bookings, \
                         numbers held {seqs:?}",
                        id as u32
                    );
                    forgotten += 1;
                    continue;
                }
                Err(err) => panic!("round {round}: acknowledged booking {id} lost: {err}"),
            };
            *states.entry(b.state).or_default() += 1;
            if cancelled.contains(&id) {
                assert_eq!(
                    b.state,
                    BookingState::Cancelled,
                    "round {round}: acknowledged cancellation of {id} lost"
                );
            } else {
                // A cancellation that was not acknowledged may or may not have made it.
                assert!(
                    matches!(b.state, BookingState::Booked | BookingState::Cancelled),
                    "round {round}: {id} is {}",
                    b.state
                );
            }
        }
        // Every acknowledged group is whole: all its bookings, in one state (a cancellation
        // of any of them ends them all, in one record).
        for ids in &groups {
            let g = e.booking_group(BookingId(ids[0])).unwrap_or_else(|err| {
                panic!("round {round}: acknowledged group {ids:?} lost: {err}")
            });
            let got: Vec<u64> = g.bookings.iter().map(|b| b.id.0).collect();
            assert_eq!(&got, ids, "round {round}: group incomplete");
            assert!(
                g.bookings.iter().all(|b| b.state == g.bookings[0].state),
                "round {round}: a group half cancelled: {:?}",
                g.bookings.iter().map(|b| b.state).collect::<Vec<_>>()
            );
        }
        // Every acknowledged keyed request is remembered: its retry returns the same booking
        // (a forgotten key would book a new one, with a new id).
        let app = e.channel_id("app").unwrap();
        for (key, patient, slot, id) in &keyed {
            let retry = haoyuan::Command::Book { request: Request::new(*patient, *slot, app) };
            match e.execute(Some(&RequestKey::new(key.as_str()).unwrap()), &retry) {
                Ok(Outcome::Booking { booking }) => assert_eq!(
                    booking.id.0, *id,
                    "round {round}: the retry of acknowledged request {key} booked again"
                ),
                other => panic!("round {round}: the retry of {key} returned {other:?}"),
            }
        }
        for i in 0..e.slot_count() {
            let s = e.slot(SlotId(i as u32 + 1)).unwrap();
            for p in Pool::ALL {
                assert!(
                    s.pool_taken[p] <= s.pool_places[p],
                    "round {round}: slot {i} over capacity"
                );
            }
        }
        if round % 10 == 0 {
            eprintln!("round {round}: {acked_this_round} acknowledged this round, {} bookings checked ({} keyed, {} groups), {states:?}", booked.len(), keyed.len(), groups.len());
        }
    }
    eprintln!("{kills} kills in {:?}; {} acknowledged bookings ({} with request keys), {} cancellations, {torn_tails} torn tails cut, {forgotten} forgotten as history", began.elapsed(), booked.len(), keyed.len(), cancelled.len());
    assert!(booked.len() > kills, "the child must make progress between kills");
    // One fsync per keyed request (as thread 0's calls): tens per round, not thousands.
    assert!(!keyed.is_empty(), "keyed requests must be acknowledged too, for their check to run");
    let _ = std::fs::remove_dir_all(&dir);
}
