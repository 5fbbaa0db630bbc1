//! Round trips: random operations on a durable engine, close, reopen: the state is identical,
//! and identical to the same operations on a plain in-memory engine.

mod durability_support;

use durability_support::*;
use haoyuan::*;
use std::sync::Arc;
use std::time::Duration;

fn open(dir: &std::path::Path, mode: Durability) -> DurableEngine {
    DurableEngine::open(
        dir,
        OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start())),
    )
    .unwrap()
}

#[test]
fn random_operations_survive_close_snapshot_and_reopen() {
    for (seed, mode) in [
        (1, Durability::Sync),
        (2, Durability::Buffered { interval: Duration::from_millis(5) }),
        (3, Durability::Sync),
    ] {
        let dir = fresh_dir(&format!("roundtrip-{seed}"));
        let memory = Engine::with_manual_clock(config(), start()).unwrap();
        let (mut wm, mut om) = (build_world(&memory), Ops::new(seed));
        let expected_after_first;
        {
            let durable = open(&dir, mode);
            assert_eq!(durable.recovery_report().events_replayed, 0);
            let (mut wd, mut od) = (build_world(&durable), Ops::new(seed));
            for i in 0..1500 {
                om.step(&memory, &mut wm);
                od.step(&durable, &mut wd);
                if i == 700 {
                    durable.snapshot().unwrap();
                }
                if i == 1100 {
                    durable.snapshot().unwrap();
                }
            }
            assert!(od.ok > 300, "the mix must succeed often enough to mean something: {}", od.ok);
            // The clock passed the retention (`config`): the first days are retired, so the
            // snapshots and the replay below had retirements to rebuild.
            assert!(
                matches!(durable.slot(SlotId(1)), Err(Error::NotFound { .. })),
                "seed {seed}: the run never retired a day"
            );
            expected_after_first = debug_state(&memory);
            assert_eq!(
                debug_state(&durable),
                expected_after_first,
                "seed {seed}: durable and in-memory engines diverged"
            );
            durable.close().unwrap();
        }
        // Reopen: snapshot + journal replay gives the same state.
        let reopened = open(&dir, Durability::Sync);
        let report = reopened.recovery_report().clone();
        assert!(report.snapshot_seq.is_some(), "{report:?}");
        assert!(report.torn_tail.is_none(), "{report:?}");
        assert_eq!(
            debug_state(&reopened),
            expected_after_first,
            "seed {seed}: recovered state differs"
        );
        assert_no_slot_over_capacity(&reopened);
        // Life goes on after recovery, still in step with the in-memory engine (same ids).
        let mut wd = World {
            community: wm.community,
            patients: wm.patients.clone(),
            resources: wm.resources.clone(),
            departments: wm.departments.clone(),
        };
        let mut od = Ops::new(seed + 1000);
        let mut om2 = Ops::new(seed + 1000);
        od.bookings = om.bookings.clone();
        om2.bookings = om.bookings.clone();
        // The manual clocks may differ (an advance with no event is not journaled): align them.
        memory.advance_to(reopened.now()).unwrap();
        reopened.advance_to(memory.now()).unwrap();
        for _ in 0..400 {
            om2.step(&memory, &mut wm);
            od.step(&reopened, &mut wd);
        }
        let expected = debug_state(&memory);
        assert_eq!(debug_state(&reopened), expected);
        drop(reopened);
        let again = open(&dir, Durability::Sync);
        assert_eq!(debug_state(&again), expected, "seed {seed}: second recovery differs");
        // Export: every event still on disk, gap-free, ending at the last one.
        let events: Vec<Event> = read_journal(&dir).unwrap().collect::<Result<_>>().unwrap();
        assert!(!events.is_empty());
        for pair in events.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1);
        }
        assert_eq!(events.last().unwrap().seq, again.last_event_seq());
        let mut kinds = std::collections::BTreeMap::new();
        for e in &events {
            let name = serde_json::to_value(&e.kind).unwrap()["type"].as_str().unwrap().to_string();
            *kinds.entry(name).or_insert(0) += 1;
        }
        eprintln!("seed {seed}: journal after the oldest kept snapshot: {kinds:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn concurrent_bookings_with_snapshots_recover_exactly() {
    let dir = fresh_dir("concurrent");
    let expected;
    {
        let e = Arc::new(open(&dir, Durability::Sync));
        let w = build_world(&e);
        let patients = Arc::new(w.patients.clone());
        let mut handles = Vec::new();
        for t in 0..4u64 {
            let (e, patients) = (e.clone(), patients.clone());
            let (community, resources, departments) =
                (w.community, w.resources.clone(), w.departments.clone());
            handles.push(std::thread::spawn(move || {
                let mut ops = Ops::new(100 + t);
                let mut w =
                    World { community, patients: patients.to_vec(), resources, departments };
                for _ in 0..400 {
                    ops.step(&e, &mut w);
                }
            }));
        }
        let snapper = {
            let e = e.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    e.snapshot().unwrap();
                    std::thread::sleep(Duration::from_millis(3));
                }
            })
        };
        for h in handles {
            h.join().unwrap();
        }
        snapper.join().unwrap();
        expected = debug_state(&e);
        assert_no_slot_over_capacity(&e);
    }
    let reopened = open(&dir, Durability::Sync);
    assert_eq!(debug_state(&reopened), expected);
    assert_no_slot_over_capacity(&reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_keeps_its_configuration_and_refuses_a_second_opener() {
    let dir = fresh_dir("config");
    let e = open(&dir, Durability::Sync);
    let err = DurableEngine::open(&dir, OpenOptions::new(Durability::Sync).card_key(test_key()))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Durability, "{err}");
    drop(e);
    let mut other = config();
    other.policy.limits.total_active = 9;
    let err =
        DurableEngine::open(&dir, OpenOptions::new(Durability::Sync).config(other)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    // Without a config, the stored one is used.
    let e = DurableEngine::open(
        &dir,
        OpenOptions::new(Durability::None).card_key(test_key()).clock(ClockKind::Manual(start())),
    )
    .unwrap();
    assert_eq!(e.policy().lottery.window_s, 60);
    assert!(e.snapshot().is_err(), "no journal, no snapshot");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a crash leaves is a prefix of the event sequence (the journal is written in sequence
/// order). Every prefix must be within capacity: a place given back is numbered before any
/// claim that takes it again. Eight threads race book/cancel on one single-place slot.
///
/// The race must really contend, and on a loaded machine threads may run one after another:
/// they start together at a barrier, now and then hold the place across a yield, and keep
/// going until between them they have claimed the place thousands of times and been refused
/// as full hundreds of times (or a cap of attempts is reached, which fails the test).
/// The subscription holds every event of the run, so the whole sequence is checked, not the
/// first queue-full of it.
#[test]
fn every_prefix_of_the_event_sequence_is_within_capacity() {
    const THREADS: usize = 8;
    const MIN_EACH: usize = 2_000;
    const CAP_EACH: usize = 100_000;
    const FULL_WANTED: usize = 300;
    const CLAIMS_WANTED: usize = 2_000;
    let e = Arc::new(Engine::with_manual_clock(config(), start()).unwrap());
    let h = e.add_institution("Shijie Clinic", Tier::Community, "Shijie").unwrap();
    let d = e.add_department(h, "general", "General practice").unwrap();
    let r = e.add_resource(d, ResourceKind::Doctor, "Dr Guo", false).unwrap();
    let specs = [SlotSpec {
        resource: r,
        date: day0().plus_days(2),
        start_min: 480,
        end_min: 490,
        capacity: 1,
    }];
    let slots = e.publish_slots(&specs).unwrap();
    let patients: Vec<PatientId> = (0..64).map(|_| e.register_patient().unwrap()).collect();
    // Two events per attempt at most, for every attempt the cap allows.
    let events = e
        .subscribe_with(SubscribeOptions {
            capacity: 2 * THREADS * CAP_EACH,
            overflow: Overflow::Disconnect,
            ..SubscribeOptions::default()
        })
        .unwrap();
    let app = e.channel_id("app").unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let full_total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let claims_total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (e, barrier) = (e.clone(), barrier.clone());
            let (full_total, claims_total) = (full_total.clone(), claims_total.clone());
            let mine: Vec<PatientId> = patients.iter().copied().skip(t).step_by(THREADS).collect();
            let slot = slots.start;
            std::thread::spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                barrier.wait();
                let mut i = 0usize;
                let enough = || {
                    full_total.load(Relaxed) >= FULL_WANTED
                        && claims_total.load(Relaxed) >= CLAIMS_WANTED
                };
                while i < CAP_EACH && (i < MIN_EACH || !enough()) {
                    let p = mine[i % mine.len()];
                    match e.book(&Request::new(p, slot, app)) {
                        Ok(b) => {
                            claims_total.fetch_add(1, Relaxed);
                            if i.is_multiple_of(16) {
                                // Hold the place across a yield now and then: on one core (a
                                // loaded machine) the other threads then meet a full slot.
                                std::thread::yield_now();
                            }
                            e.cancel(b.id).unwrap();
                        }
                        Err(Error::SlotFull { .. }) => {
                            full_total.fetch_add(1, Relaxed);
                        }
                        Err(err) => panic!("{err}"),
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let full = full_total.load(std::sync::atomic::Ordering::Relaxed);
    let mut all: Vec<Event> = events.try_iter().collect();
    assert!(!events.is_cut_off(), "the subscription must hold the whole run");
    all.sort_by_key(|e| e.seq);
    for w in all.windows(2) {
        assert_eq!(w[1].seq, w[0].seq + 1, "the sequence has no gaps");
    }
    let mut taken = std::collections::HashMap::new();
    let (mut claims, mut max_seen) = (0, 0);
    for ev in &all {
        match &ev.kind {
            EventKind::Booked { slot, .. } => {
                let n = taken.entry(*slot).or_insert(0);
                *n += 1;
                claims += 1;
                max_seen = max_seen.max(*n);
                assert!(*n <= 1, "after event {}, {slot} has {n} places taken of 1", ev.seq);
            }
            EventKind::Cancelled { slot, .. } => *taken.get_mut(slot).unwrap() -= 1,
            _ => {}
        }
    }
    assert!(
        claims >= CLAIMS_WANTED && max_seen == 1 && full >= FULL_WANTED,
        "the race must contend: {claims} claims, {full} refused as full"
    );
}

/// The bulk calls commit as one batch: a thousand rows cost a handful of fsyncs, not a
/// thousand, each row's outcome is the one a single call would have given, and all of it is
/// there after reopening.
#[test]
fn a_bulk_call_is_one_batch_and_each_row_stands_on_its_own() {
    let dir = fresh_dir("bulk-batch");
    let e = open(&dir, Durability::Sync);
    let w = build_world(&e);
    let reference = Engine::with_manual_clock(config(), start()).unwrap();
    build_world(&reference);
    let app = e.channel_id("app").unwrap();
    let slots = e.slot_count() as u32;
    // Every patient asks for every slot in turn: most rows fail (full slots, limits), which
    // must not stop the rows after them.
    let requests: Vec<Request> = (0..1000u32)
        .map(|i| Request::new(w.patients[(i % 40) as usize], SlotId(1 + i * 7 % slots), app))
        .collect();
    let fsyncs_before = e.journal_stats().unwrap().fsyncs;
    let outcomes = e.book_many(&requests).unwrap();
    let fsyncs = e.journal_stats().unwrap().fsyncs - fsyncs_before;
    let expected: Vec<Result<Booking>> = requests.iter().map(|r| reference.book(r)).collect();
    assert_eq!(outcomes, expected, "a row's outcome is the one a single call gives");
    let booked: Vec<BookingId> = outcomes.iter().flatten().map(|b| b.id).collect();
    assert!(booked.len() > 50 && booked.len() < 1000, "{} of 1000 rows booked", booked.len());
    // The writer takes everything queued in each round: a few rounds, never one per row.
    assert!(fsyncs <= 10, "{fsyncs} fsyncs for one bulk call of 1000 rows");

    // The journal's metrics saw it: fsyncs in the histogram, bytes written, nothing lagging.
    let m = e.metrics();
    let j = m.journal.clone().expect("a durable engine has journal metrics");
    assert_eq!(j.fsyncs, e.journal_stats().unwrap().fsyncs);
    assert_eq!(j.fsync_buckets.iter().sum::<u64>(), j.fsyncs);
    assert!(j.fsync_seconds_sum > 0.0 && j.fsync_seconds_max <= j.fsync_seconds_sum);
    assert!(j.bytes_written > 1000 && !j.failed);
    assert_eq!((m.durable_seq, m.durable_lag_events), (e.last_event_seq(), 0), "sync mode");
    let text = m.to_prometheus();
    let inf = format!("haoyuan_journal_fsync_seconds_bucket{{le=\"+Inf\"}} {}\n", j.fsyncs);
    assert!(text.contains(&inf), "{text}");
    assert!(text.contains(&format!("haoyuan_journal_fsync_seconds_count {}\n", j.fsyncs)));

    let cancels = e.lifecycle_many(LifecycleAction::Cancel, &booked[..10]).unwrap();
    assert!(cancels.iter().all(|c| c.as_ref().is_ok_and(|b| b.state == BookingState::Cancelled)));
    let again = e.lifecycle_many(LifecycleAction::Cancel, &booked[..1]).unwrap();
    assert_eq!(again[0].as_ref().unwrap_err().code(), ErrorCode::WrongState);
    let too_many = vec![booked[0]; BULK_ROWS_MAX + 1];
    let seq = e.last_event_seq();
    assert_eq!(
        e.lifecycle_many(LifecycleAction::Fulfil, &too_many).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(e.last_event_seq(), seq, "a refused bulk call changes nothing");
    e.close().unwrap();

    let e = open(&dir, Durability::None);
    for (i, id) in booked.iter().enumerate() {
        let state = e.booking(*id).unwrap().state;
        let want = if i < 10 { BookingState::Cancelled } else { BookingState::Booked };
        assert_eq!(state, want, "booking {i} after reopening");
    }
    assert_no_slot_over_capacity(&e);
}

/// Pipelined operations: outcomes at once, one wait (or one callback) for many of them, and
/// tickets that say honestly whether they are durable.
#[test]
fn pipelined_outcomes_become_durable_on_their_tickets() {
    let dir = fresh_dir("pipelined");
    let e = Arc::new(open(&dir, Durability::Sync));
    let w = build_world(&e);
    let app = e.channel_id("app").unwrap();
    let fsyncs_before = e.journal_stats().unwrap().fsyncs;
    let free = e
        .find_free_slots(&AvailabilityQuery::department(
            w.departments[0],
            day0().plus_days(1),
            day0().plus_days(3),
        ))
        .unwrap();
    assert!(free.len() >= w.patients.len());
    let mut tickets = Vec::new();
    let mut booked = Vec::new();
    for (&p, f) in w.patients.iter().zip(&free) {
        let req = Request::new(p, f.slot, app);
        let r = e.pipelined(|e| e.book(&req));
        booked.push(r.outcome.unwrap().id);
        tickets.push(r.ticket);
    }
    assert!(tickets.windows(2).all(|t| t[0] < t[1]), "each booking's ticket is later");
    let newest = *tickets.last().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    e.on_durable(newest, Box::new(move |r| tx.send(r.is_ok()).unwrap()));
    e.wait_durable(newest).unwrap();
    assert!(tickets.iter().all(|&t| e.is_durable(t)));
    assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "the callback got Ok");
    let fsyncs = e.journal_stats().unwrap().fsyncs - fsyncs_before;
    assert!(
        fsyncs < w.patients.len() as u64,
        "{fsyncs} fsyncs for {} pipelined bookings",
        w.patients.len()
    );
    // The scope form (what C's begin/end and Python's `with engine.pipeline()` hold).
    let cancelled = {
        let _scope = e.pipeline_scope();
        e.cancel(booked[0]).unwrap().id
    };
    let ticket = e.ticket();
    assert!(ticket > newest);
    e.wait_durable(ticket).unwrap();
    assert!(e.is_durable(ticket));
    // A failed operation changes nothing and its ticket covers nothing new.
    let seq = e.last_event_seq();
    let r = e.pipelined(|e| e.book(&Request::new(w.patients[0], free[0].slot, app)));
    assert!(r.outcome.is_err());
    assert_eq!(r.ticket, DurableTicket(seq));
    Arc::try_unwrap(e).unwrap().close().unwrap();
    let e = open(&dir, Durability::None);
    for id in booked {
        let want = if id == cancelled { BookingState::Cancelled } else { BookingState::Booked };
        assert_eq!(e.booking(id).unwrap().state, want);
    }
}

/// In `Buffered` mode a ticket's wait still means on stable storage: it returns only once the
/// fsync covering the ticket is done (the plain calls' bounded-loss acknowledgement is not
/// enough for it), and so do the bulk calls.
#[test]
fn in_buffered_mode_a_ticket_waits_for_its_fsync() {
    let dir = fresh_dir("buffered-ticket");
    // A long interval and a large bound: nothing forces an fsync but the interval.
    let e = DurableEngine::open(
        &dir,
        OpenOptions::new(Durability::Buffered { interval: Duration::from_millis(300) })
            .config(config())
            .clock(ClockKind::Manual(start()))
            .max_unflushed(1_000_000),
    )
    .unwrap();
    let w = build_world(&e);
    e.flush().unwrap();
    let p = e.pipelined(|e| e.register_patient());
    p.outcome.unwrap();
    e.wait_durable(p.ticket).unwrap();
    assert!(e.is_durable(p.ticket), "wait_durable returned before the ticket was on disk");
    assert!(e.journal_stats().unwrap().durable_seq >= p.ticket.0);
    let app = e.channel_id("app").unwrap();
    let free = e
        .find_free_slots(&AvailabilityQuery::department(
            w.departments[1],
            day0().plus_days(1),
            day0().plus_days(2),
        ))
        .unwrap();
    let reqs: Vec<Request> =
        w.patients.iter().zip(&free).map(|(&p, f)| Request::new(p, f.slot, app)).collect();
    let out = e.book_many(&reqs).unwrap();
    assert!(out.iter().any(|o| o.is_ok()));
    assert!(e.is_durable(e.ticket()), "a bulk call returns with its rows on disk");
}
