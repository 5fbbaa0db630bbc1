//! The hot standby (`Standby`): a read-only follower of a leader's durable directory. It sees
//! the leader's operations after `catch_up` (across segment rotations, snapshots and the
//! compaction that removes what it had not read yet), waits for a half-written record, is never
//! mutated, refuses promotion while the leader lives, and after a SIGKILL of a leader under
//! load is promoted with every acknowledged operation present.

mod durability_support;

use durability_support::*;
use haoyuan::*;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn leader_options(mode: Durability) -> OpenOptions {
    OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start()))
}

fn open_leader(dir: &Path) -> DurableEngine {
    DurableEngine::open(
        dir,
        leader_options(Durability::Buffered { interval: Duration::from_millis(5) }),
    )
    .unwrap()
}

fn standby_options() -> StandbyOptions {
    StandbyOptions::new().card_key(test_key()).clock(ClockKind::Manual(start()))
}

fn open_standby(dir: &Path) -> Standby {
    Standby::open(dir, standby_options()).unwrap()
}

/// Flush the leader, catch the standby up, and compare the two states.
fn assert_follows(leader: &DurableEngine, standby: &Standby, what: &str) {
    leader.flush().unwrap();
    standby.catch_up().unwrap();
    assert_eq!(standby.last_event_seq(), leader.last_event_seq(), "{what}: sequence");
    assert_eq!(
        standby.state_digest().unwrap(),
        leader.state_digest().unwrap(),
        "{what}: the standby's state differs from the leader's"
    );
    let lag = standby.lag();
    assert_eq!(lag.records_behind, 0, "{what}: {lag:?}");
    assert_eq!(lag.last_error, None, "{what}");
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hyj"))
        .collect();
    v.sort();
    v
}

/// Names and contents of every file in `dir` except `LOCK`: what a standby must never change.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("LOCK"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn follower_sees_the_leaders_operations_across_rotations_and_snapshots() {
    let dir = fresh_dir("standby-follow");
    let leader = open_leader(&dir);
    let mut world = build_world(&leader);
    leader.flush().unwrap();
    let standby = open_standby(&dir);
    assert_follows(&leader, &standby, "after open");
    let mut ops = Ops::new(11);
    for round in 0..6 {
        for _ in 0..150 {
            ops.step(&leader, &mut world);
        }
        if round % 2 == 1 {
            // Rotates the journal into a new segment and writes a snapshot.
            leader.snapshot().unwrap();
        }
        assert_follows(&leader, &standby, &format!("round {round}"));
    }
    assert!(segments(&dir).len() >= 2, "the rounds rotated the journal");
    // The first snapshot removes the segment before it at once (only one snapshot exists),
    // with records the standby had not read: it reloads once. Later rotations keep the segment
    // after the older kept snapshot, and the standby reads across them.
    assert_eq!(standby.lag().resyncs, 1);
    // Nothing the standby did changed a file of the leader's directory.
    let before = files(&dir);
    standby.catch_up().unwrap();
    let _ = standby.lag();
    assert_eq!(files(&dir), before);
}

#[test]
fn follower_reloads_when_compaction_removed_what_it_had_not_read() {
    let dir = fresh_dir("standby-resync");
    let leader = open_leader(&dir);
    let mut world = build_world(&leader);
    leader.flush().unwrap();
    let standby = open_standby(&dir);
    let mut ops = Ops::new(12);
    // Three snapshots without a catch-up: the two kept ones are both past the standby, and
    // the segments it was to read next are gone.
    for _ in 0..3 {
        for _ in 0..100 {
            ops.step(&leader, &mut world);
        }
        leader.snapshot().unwrap();
    }
    for _ in 0..50 {
        ops.step(&leader, &mut world);
    }
    assert_follows(&leader, &standby, "after compaction");
    assert_eq!(standby.lag().resyncs, 1);
}

#[test]
fn follower_continues_across_a_leader_restart() {
    let dir = fresh_dir("standby-restart");
    let standby;
    let mut world;
    let mut ops = Ops::new(13);
    {
        let leader = open_leader(&dir);
        world = build_world(&leader);
        leader.flush().unwrap();
        standby = open_standby(&dir);
        for _ in 0..100 {
            ops.step(&leader, &mut world);
        }
        assert_follows(&leader, &standby, "first run");
        leader.close().unwrap();
    }
    let leader = open_leader(&dir);
    for _ in 0..100 {
        ops.step(&leader, &mut world);
    }
    assert_follows(&leader, &standby, "second run");
}

#[test]
fn follower_rides_out_a_crashed_leaders_restart() {
    let dir = fresh_dir("standby-crashed-restart");
    let mut ops = Ops::new(16);
    let leader = open_leader(&dir);
    let mut world = build_world(&leader);
    leader.flush().unwrap();
    let standby = open_standby(&dir);
    for _ in 0..100 {
        ops.step(&leader, &mut world);
    }
    assert_follows(&leader, &standby, "before the crash");
    drop(leader);
    // The crash left the start of a record at the end of the live segment.
    let last = segments(&dir).pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap()
        .write_all(&[40, 0, 0, 0, 1, 2, 3])
        .unwrap();
    assert_eq!(standby.catch_up().unwrap(), 0, "a torn tail is waited for");
    assert_eq!(standby.lag().last_error, None);
    // The restarted leader cuts it and continues in a new segment; the standby follows.
    let leader = open_leader(&dir);
    assert_eq!(std::fs::metadata(&last).unwrap().len(), len);
    for _ in 0..100 {
        ops.step(&leader, &mut world);
    }
    assert_follows(&leader, &standby, "after the restart");
}

#[test]
fn a_half_written_record_is_waited_for_not_reported() {
    let dir = fresh_dir("standby-torn");
    let leader = open_leader(&dir);
    build_world(&leader);
    leader.flush().unwrap();
    let last = segments(&dir).pop().unwrap();
    let whole = std::fs::metadata(&last).unwrap().len();
    leader.register_patient().unwrap();
    let complete_seq = leader.flush().unwrap();
    let digest = leader.state_digest().unwrap();
    drop(leader);
    // Cut the last record in half, as a reader racing the writer may find it.
    let bytes = std::fs::read(&last).unwrap();
    let cut = whole as usize + (bytes.len() - whole as usize) / 2;
    std::fs::write(&last, &bytes[..cut]).unwrap();

    let standby = open_standby(&dir);
    assert_eq!(standby.catch_up().unwrap(), 0);
    assert_eq!(standby.last_event_seq(), complete_seq - 1);
    assert_eq!(std::fs::metadata(&last).unwrap().len(), cut as u64, "the standby cut nothing");
    assert_eq!(standby.lag().last_error, None);

    // The writer finishes the record: the next catch-up applies it.
    std::fs::OpenOptions::new().append(true).open(&last).unwrap().write_all(&bytes[cut..]).unwrap();
    assert_eq!(standby.lag().records_behind, 1);
    assert_eq!(standby.catch_up().unwrap(), 1);
    assert_eq!(standby.last_event_seq(), complete_seq);
    assert_eq!(standby.state_digest().unwrap(), digest);
}

#[test]
fn queries_answer_and_change_nothing() {
    let dir = fresh_dir("standby-readonly");
    let leader = open_leader(&dir);
    let mut world = build_world(&leader);
    let mut ops = Ops::new(14);
    for _ in 0..200 {
        ops.step(&leader, &mut world);
    }
    let standby = open_standby(&dir);
    assert_follows(&leader, &standby, "before the queries");
    let (digest, seq) = (standby.state_digest().unwrap(), standby.last_event_seq());
    let dept = world.departments[0];
    let day = day0().plus_days(7);
    let free = standby.find_free_slots(&AvailabilityQuery::department(dept, day, day)).unwrap();
    assert_eq!(
        free,
        leader.find_free_slots(&AvailabilityQuery::department(dept, day, day)).unwrap()
    );
    assert_eq!(
        standby.free_places_by_day(dept, day0(), day).unwrap(),
        leader.free_places_by_day(dept, day0(), day).unwrap()
    );
    let p = world.patients[0];
    assert_eq!(standby.patient_record(p).unwrap(), leader.patient_record(p).unwrap());
    assert_eq!(standby.bookings_of(p).unwrap(), leader.bookings_of(p).unwrap());
    if let Some(&b) = ops.bookings.first() {
        assert_eq!(format!("{:?}", standby.booking(b)), format!("{:?}", leader.booking(b)));
    }
    // Slot 1's day may be retired by now (the tests' retention is a day): then both say so.
    assert_eq!(format!("{:?}", standby.slot(SlotId(1))), format!("{:?}", leader.slot(SlotId(1))));
    assert_eq!(standby.slot_count(), leader.slot_count());
    assert_eq!(standby.institutions(), leader.institutions());
    assert_eq!(standby.waitlist(dept).unwrap(), leader.waitlist(dept).unwrap());
    assert_eq!(standby.stats(), leader.stats());
    assert_eq!(standby.policy(), *leader.policy());
    assert_eq!(
        standby.find_patient_by_card("social_security", "441900000000").unwrap(),
        leader.find_patient_by_card("social_security", "441900000000").unwrap()
    );
    assert!(standby.booking(BookingId(u64::MAX)).is_err());
    // Booking groups (the mix books and reschedules some) read back alike.
    for &b in &ops.bookings {
        if let Ok(group) = leader.booking_group(b) {
            assert_eq!(standby.booking_group(b).unwrap(), group);
        }
    }
    // The queries changed nothing (mutating calls do not exist on a standby: see the
    // `compile_fail` examples on `Standby`).
    assert_eq!(standby.state_digest().unwrap(), digest);
    assert_eq!(standby.last_event_seq(), seq);
}

/// A child process that another thread is spawning holds the parent's open files between
/// `fork` and `exec`, the leader's `LOCK` among them: `leader_alive` must not take that moment
/// for a living leader. It did, and `promotion_is_refused_while_the_leader_lives` failed once
/// when another test of this binary spawned its child process just then. Here the child waits
/// 300 ms before its `exec`, so the moment is long enough to hit every time.
#[cfg(unix)]
#[test]
fn a_child_being_spawned_does_not_pass_for_the_leader() {
    use std::os::unix::process::CommandExt;
    let dir = fresh_dir("standby-fork");
    let leader = open_leader(&dir);
    build_world(&leader);
    leader.flush().unwrap();
    let standby = open_standby(&dir);
    let spawner = std::thread::spawn(|| {
        let mut child = Command::new("true");
        // Safety: the closure runs in the child between fork and exec and only sleeps
        // (nanosleep is async-signal-safe): it allocates nothing and takes no lock.
        unsafe {
            child.pre_exec(|| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            });
        }
        child.status()
    });
    // The child has forked (holding a share of the LOCK) well before this ends.
    std::thread::sleep(Duration::from_millis(50));
    leader.close().unwrap();
    assert!(!standby.leader_alive().unwrap(), "a child between fork and exec is not the leader");
    assert!(spawner.join().unwrap().unwrap().success());
    // And promotion, which asks the same, goes ahead.
    assert!(standby.promote(leader_options(Durability::Sync)).is_ok());
}

#[test]
fn promotion_is_refused_while_the_leader_lives() {
    let dir = fresh_dir("standby-promote");
    let leader = open_leader(&dir);
    let world = build_world(&leader);
    leader.flush().unwrap();
    let standby = open_standby(&dir);
    // The leader holds the LOCK in this very process: another open file description conflicts.
    assert!(standby.leader_alive().unwrap());
    match standby.promote(leader_options(Durability::Sync)) {
        Err(Error::Durability(m)) => assert!(m.contains("LOCK"), "{m}"),
        other => panic!("promotion while the leader lives: {other:?}"),
    }
    let standby = open_standby(&dir);
    let p = leader.register_patient().unwrap();
    let digest = leader.state_digest().unwrap();
    leader.close().unwrap();
    assert!(!standby.leader_alive().unwrap());
    let promoted = standby.promote(leader_options(Durability::Sync)).unwrap();
    assert_eq!(promoted.state_digest().unwrap(), digest);
    // Promoted from the standby's own state: nothing was replayed a second time.
    let report = promoted.recovery_report();
    assert_eq!((report.snapshot_seq, report.events_replayed), (None, 0), "{report:?}");
    assert!(promoted.patient_record(p).is_ok());
    // The promoted engine is the leader now: it journals, and holds the LOCK.
    let b = promoted
        .book(&Request::new(world.patients[1], SlotId(1), promoted.channel_id("app").unwrap()))
        .map(|b| b.id);
    assert!(Standby::open(&dir, standby_options())
        .unwrap()
        .promote(leader_options(Durability::Sync))
        .is_err());
    drop(promoted);
    let reopened = DurableEngine::open(&dir, leader_options(Durability::None)).unwrap();
    if let Ok(b) = b {
        assert!(reopened.booking(b).is_ok(), "the promoted leader's booking was journaled");
    }
}

#[test]
fn background_polling_follows_without_calls() {
    let dir = fresh_dir("standby-poll");
    let leader = open_leader(&dir);
    let mut world = build_world(&leader);
    leader.flush().unwrap();
    let standby =
        Standby::open(&dir, standby_options().poll_interval(Duration::from_millis(2))).unwrap();
    let mut ops = Ops::new(15);
    for _ in 0..200 {
        ops.step(&leader, &mut world);
    }
    let target = leader.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while standby.last_event_seq() < target {
        assert!(Instant::now() < deadline, "the poller did not catch up: {:?}", standby.lag());
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(standby.state_digest().unwrap(), leader.state_digest().unwrap());
    let lag = standby.lag();
    assert_eq!((lag.applied_seq, lag.leader_seq, lag.records_behind), (target, target, 0));
    assert!(lag.caught_up_at_unix_ms.is_some() && lag.last_applied_at.is_some());
    let json = serde_json::to_string(&lag).unwrap();
    assert_eq!(serde_json::from_str::<StandbyLag>(&json).unwrap(), lag);
    standby.close(); // stops the poller (dropping does too)
}

#[test]
fn bad_inputs_are_typed_errors() {
    let invalid = |r: Result<Standby>| match r {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    let missing = fresh_dir("standby-missing").join("nothing-here");
    invalid(Standby::open(&missing, standby_options()));
    // A directory that is not a durable one, and nothing is created in it.
    let plain = fresh_dir("standby-plain");
    std::fs::write(plain.join("notes.txt"), "not a journal").unwrap();
    let m = invalid(Standby::open(&plain, standby_options()));
    assert!(m.contains("not a durable directory"), "{m}");
    assert_eq!(std::fs::read_dir(&plain).unwrap().count(), 1);
    let dir = fresh_dir("standby-bad-inputs");
    drop(open_leader(&dir));
    for interval in
        [Duration::ZERO, Duration::from_micros(999), Duration::from_secs(601), Duration::MAX]
    {
        let m = invalid(Standby::open(&dir, standby_options().poll_interval(interval)));
        assert!(m.contains("poll_interval"), "{m}");
    }
    for interval in [STANDBY_POLL_MIN, STANDBY_POLL_MAX] {
        Standby::open(&dir, standby_options().poll_interval(interval)).unwrap().close();
    }
    // Another card key than the directory's.
    let other = StandbyOptions::new().card_key(CardKey::from_bytes(&[9; 32]).unwrap());
    invalid(Standby::open(&dir, other));
}

// ------------------------------------------------------------------ crash test

/// The child: a leader in `Sync` mode, three threads booking, cancelling and registering
/// patients, printing each operation once acknowledged; snapshots now and then. Until killed.
#[test]
#[ignore = "run by promoted_standby_keeps_everything_acknowledged as its child process"]
fn standby_crash_child() {
    let Ok(dir) = std::env::var("HY_STANDBY_DIR") else { return };
    let seed: u64 = std::env::var("HY_STANDBY_SEED").unwrap().parse().unwrap();
    let e = Arc::new(DurableEngine::open(&dir, crash_options(Durability::Sync)).unwrap());
    let out = Arc::new(Mutex::new(std::io::stdout()));
    crash_load(e, out, seed, Duration::from_millis(60))
}

#[test]
fn promoted_standby_keeps_everything_acknowledged() {
    let rounds: usize =
        std::env::var("HY_STANDBY_ROUNDS").ok().and_then(|k| k.parse().ok()).unwrap_or(8);
    let dir = fresh_dir("standby-crash");
    crash_setup(&dir);
    let mut rng = ChaCha8Rng::seed_from_u64(0x57a);
    let mut acknowledged = Acknowledged::default();
    let began = Instant::now();
    for round in 0..rounds {
        // On the leader's manual clock, the promotion continues from the standby's state; on
        // the system clock (odd rounds) it recovers the directory from its newest snapshot.
        let clock = if round % 2 == 0 { ClockKind::Manual(start()) } else { ClockKind::System };
        let standby = Standby::open(
            &dir,
            StandbyOptions::new()
                .card_key(test_key())
                .clock(clock)
                .poll_interval(Duration::from_millis(2)),
        )
        .unwrap();
        let opened_at = standby.last_event_seq();
        let child = CrashChild::spawn(
            "standby_crash_child",
            &[
                ("HY_STANDBY_DIR", dir.display().to_string()),
                ("HY_STANDBY_SEED", round.to_string()),
            ],
        );
        std::thread::sleep(Duration::from_millis(rng.random_range(300..700)));
        let lag = standby.lag();
        assert_eq!(lag.last_error, None, "round {round}: the follower failed while following");
        assert!(lag.applied_seq > opened_at, "round {round}: the poller followed nothing: {lag:?}");
        let lines = child.kill();
        acknowledged.add(&lines);
        // The follower's own state, complete, equals what the promotion recovers.
        standby.catch_up().unwrap();
        let followed = (standby.last_event_seq(), standby.state_digest().unwrap());
        assert!(
            followed.0 > opened_at || lines.is_empty(),
            "round {round}: the standby followed nothing"
        );
        let leader = standby
            .promote(crash_options(Durability::Sync))
            .unwrap_or_else(|e| panic!("round {round}: promotion failed: {e}"));
        assert_eq!(
            (leader.last_event_seq(), leader.state_digest().unwrap()),
            followed,
            "round {round}: the promoted state is not the followed state"
        );
        let lost = acknowledged.missing(&leader);
        assert!(lost.is_empty(), "round {round}: acknowledged and lost: {lost:?}");
        assert_no_slot_over_capacity(&leader);
        // Whichever way it was promoted, the state is what a plain recovery of the directory
        // rebuilds.
        let promoted_digest = leader.state_digest().unwrap();
        let replayed_at_promotion = leader.recovery_report().events_replayed;
        drop(leader);
        let reopened = DurableEngine::open(&dir, crash_options(Durability::None)).unwrap();
        assert_eq!(reopened.state_digest().unwrap(), promoted_digest, "round {round}");
        let leader = reopened;
        eprintln!(
            "round {round}: {} lines, followed to event {}, {replayed_at_promotion} replayed at promotion, {:?} so far",
            lines.len(),
            followed.0,
            began.elapsed()
        );
        drop(leader);
    }
    assert!(acknowledged.booked.len() > rounds, "the child must make progress between kills");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The standby's operator metrics: its distance from the leader, for alerting, in the
/// Prometheus exposition too; an engine that follows no one reports no follower section.
#[test]
fn metrics_report_how_far_behind_the_standby_is() {
    let dir = fresh_dir("standby-metrics");
    let leader = open_leader(&dir);
    leader.register_patient().unwrap();
    // Written before the standby opens (the leader is buffered): it starts from that record.
    leader.flush().unwrap();
    let standby = open_standby(&dir);
    for _ in 0..5 {
        leader.register_patient().unwrap();
    }
    leader.flush().unwrap();
    let behind = standby.metrics();
    let f = behind.follower.clone().expect("a standby reports a follower section");
    assert_eq!((f.records_behind, f.leader_seq - f.applied_seq), (5, 5), "{f:?}");
    assert!(!f.failing && f.resyncs == 0);
    let text = behind.to_prometheus();
    assert!(text.contains("\nhaoyuan_follower_records_behind 5\n"), "{text}");
    assert!(text.contains("# TYPE haoyuan_follower_resyncs_total counter\n"));
    standby.catch_up().unwrap();
    let m = standby.metrics();
    let f = m.follower.expect("follower");
    assert_eq!((f.records_behind, f.applied_seq), (0, leader.last_event_seq()));
    assert!(f.caught_up_age_s.is_some_and(|s| (0.0..60.0).contains(&s)), "{f:?}");
    assert_eq!(m.stats.patients, 6);
    // The leader itself follows no one.
    let lm = leader.metrics();
    assert!(lm.follower.is_none());
    assert!(!lm.to_prometheus().contains("haoyuan_follower_"));
    drop(standby);
    leader.close().unwrap();
}
