//! Retention, durable (province-scale issue, item 5: "journaled so replay retires the same").
//! Its own test binary: `retention.rs` counts every byte its process allocates.

#[path = "common/limits.rs"]
mod limits;
mod retention_host;
use haoyuan::*;
use limits::limits_out_of_the_way;
use retention_host::*;

/// A fresh, empty directory under the target dir, named for its test.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// How the durable host opens: `policy`, `durability`, the host's clock at its first morning.
fn open_options(policy: &Policy, durability: Durability) -> OpenOptions {
    OpenOptions::new(durability)
        .config(config(policy.clone()))
        .clock(ClockKind::Manual(Timestamp::from_local(first_day(), 7 * 60, OFFSET)))
}

/// Retirement journaled and snapshotted: a durable host and an in-memory twin run 40 days
/// under a 5-day retention, with snapshots while chunks of slot ids are being freed. Both hold
/// the same state at the end, and so does the directory reopened — from its last snapshot
/// (with freed chunks as holes) and the journal's `Retired` records after it.
#[test]
fn retirement_is_journaled_and_snapshotted_exactly() {
    let mut policy = Policy::default();
    policy.retention.days = 5;
    // Marks counted longer than days are kept: they go in retirements of their own
    // (`MarkQueue`), which a snapshot must rebuild and replay repeat.
    policy.no_show.window = NoShowWindow::RollingDays(12);
    let dir = fresh_dir("retention");
    let options = || {
        open_options(
            &policy,
            Durability::Buffered { interval: std::time::Duration::from_millis(5) },
        )
    };
    let mut memory = Host::new(policy.clone());
    let mut durable = Host::on(DurableEngine::open(&dir, options()).unwrap());
    let (mut bm, mut bd) = (Vec::new(), Vec::new());
    for day in 1..=40 {
        memory.day(&mut bm);
        durable.day(&mut bd);
        if day == 20 || day == 30 {
            durable.engine.snapshot().unwrap();
        }
    }
    let expected = debug_state(&memory.engine);
    assert!(expected.contains("holes: [\n"), "freed chunks of slot ids by day 40");
    assert_eq!(debug_state(&durable.engine), expected, "durable and in-memory hosts differ");
    // The first day's slots are unknown ids, its bookings forgotten.
    assert!(matches!(memory.engine.slot(SlotId(1)), Err(Error::NotFound { .. })));
    let bytes = memory.engine.metrics().memory.slot_bytes as f64;
    let published = memory.engine.slot_count() as f64;
    assert!(bytes < 0.5 * 48.0 * published, "{bytes} B of slots for {published} published");
    durable.engine.close().unwrap();
    let reopened = DurableEngine::open(&dir, options()).unwrap();
    assert!(reopened.recovery_report().snapshot_seq.is_some());
    assert_eq!(debug_state(&reopened), expected, "the reopened directory differs");
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a caller sees of a retired day: its slots and bookings are unknown (a booking as
/// forgotten, not as never issued), queries over it find nothing, and publishing onto it is
/// refused with a typed error that changes nothing.
#[test]
fn retired_days_answer_typed_errors_and_change_nothing() {
    let mut policy = Policy::default();
    policy.retention.days = 2;
    let mut host = Host::new(policy);
    let mut bookings = Vec::new();
    host.day(&mut bookings);
    let (date, booking) = bookings[0];
    let booked = host.engine.booking(booking).unwrap();
    for _ in 0..8 {
        host.day(&mut Vec::new());
    }
    let e = &host.engine;
    let today = e.now().to_local(OFFSET).0;
    assert!(date < today.plus_days(-2), "{date} is past the retention");
    assert!(matches!(e.slot(booked.slot), Err(Error::NotFound { .. })));
    let err = e.booking(booking).unwrap_err();
    assert!(matches!(&err, Error::NotFound { kind, .. } if kind == FORGOTTEN_BOOKING), "{err}");
    assert!(!e.bookings_of(booked.patient).unwrap().iter().any(|b| b.id == booking));
    let count = e.slot_count();
    let spec =
        SlotSpec { resource: ResourceId(1), date, start_min: 600, end_min: 620, capacity: 1 };
    assert!(matches!(e.publish_slots(&[spec]), Err(Error::InvalidArgument(_))));
    assert_eq!(e.slot_count(), count, "a refused publication adds nothing");
    let q = AvailabilityQuery::department(DepartmentId(1), date, date);
    assert_eq!(e.find_free_slots(&q).unwrap(), vec![]);
    let days = e.free_places_by_day(DepartmentId(1), date, date).unwrap();
    assert!(days.iter().all(|d| d.places == 0 && d.free == 0), "{days:?}");
}

/// A waitlist entry whose every date is retired can never be served: it leaves its list with a
/// `waitlist_left` event when its last date retires, stops counting against the patient's
/// waits, and a reopened directory (replaying that event) agrees.
#[test]
fn waits_for_retired_days_leave_their_lists() {
    let mut policy = Policy::default();
    policy.retention.days = 1;
    let dir = fresh_dir("retention-waits");
    let options = || open_options(&policy, Durability::Sync);
    let e = DurableEngine::open(&dir, options()).unwrap();
    let host = Host::on(&*e);
    let (patient, department) = (host.patients[0], e.resource(host.doctors[0]).unwrap().department);
    let app = e.channel_id("app").unwrap();
    let wait = |from: i32, to: i32| WaitlistRequest {
        patient,
        department,
        resource: None,
        date_from: first_day().plus_days(from),
        date_to: first_day().plus_days(to),
        time: None,
        channel: app,
        referral: None,
        follow_up: false,
    };
    let soon = e.join_waitlist(&wait(1, 1)).unwrap();
    let later = e.join_waitlist(&wait(1, 5)).unwrap();
    assert_eq!(e.patient_record(patient).unwrap().waitlist_entries, 2);
    let events = e.subscribe();
    e.advance_clock(3 * 86_400).unwrap();
    let left: Vec<WaitlistId> = events
        .try_iter()
        .filter_map(|ev| match ev.kind {
            EventKind::WaitlistLeft { entry, .. } => Some(entry),
            _ => None,
        })
        .collect();
    assert_eq!(left, [soon.id], "only the wait whose every date is retired leaves");
    let waiting: Vec<WaitlistId> = e.waitlist(department).unwrap().iter().map(|w| w.id).collect();
    assert_eq!(waiting, [later.id]);
    assert_eq!(e.patient_record(patient).unwrap().waitlist_entries, 1);
    let digest = e.state_digest().unwrap();
    drop(host);
    e.close().unwrap();
    let reopened = DurableEngine::open(&dir, options()).unwrap();
    assert_eq!(reopened.state_digest().unwrap(), digest, "replay leaves the same waits");
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Operations on a day's bookings racing that day's retirement: four threads mark no-shows,
/// check in, fulfil and cancel 600 bookings of a day while the clock moves past its retention.
/// Each operation either happens before the retirement (and is journaled before its record) or
/// finds the booking forgotten; a reopened directory replays to the same state. Before the
/// retirement record was written after the pruning, an operation that slipped between them was
/// journaled after the record, naming a slot replay no longer knew: the directory would not
/// reopen ("replay of event … failed: unknown slot id").
#[test]
fn operations_racing_a_retirement_replay_exactly() {
    let mut policy = Policy::default();
    policy.retention.days = 1;
    policy.limits = limits_out_of_the_way();
    policy.cancellation.late_cancel_weight = 0.5;
    for round in 0..6 {
        let dir = fresh_dir(&format!("retention-race-{round}"));
        let options = || {
            open_options(
                &policy,
                Durability::Buffered { interval: std::time::Duration::from_millis(2) },
            )
        };
        let e = DurableEngine::open(&dir, options()).unwrap();
        let inst =
            e.add_institution("Songshan Lake Hospital", Tier::Secondary, "Songshan Lake").unwrap();
        let dept = e.add_department(inst, "cardiology", "Cardiology").unwrap();
        let doctor = e.add_resource(dept, ResourceKind::Doctor, "Dr Li", false).unwrap();
        let day = first_day().plus_days(1);
        let specs: Vec<SlotSpec> = (0..300u16)
            .map(|k| SlotSpec {
                resource: doctor,
                date: day,
                start_min: 360 + k * 2,
                end_min: 362 + k * 2,
                capacity: 2,
            })
            .collect();
        let range = e.publish_slots(&specs).unwrap();
        let patients = e.register_patients(600).unwrap();
        let app = e.channel_id("app").unwrap();
        let bookings: Vec<BookingId> = patients
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let slot = SlotId(range.start.0 + (i / 2) as u32);
                e.book(&Request::new(p, slot, app)).unwrap().id
            })
            .collect();
        // The visit day is over: its bookings can be settled, until it retires.
        e.advance_to(Timestamp::from_local(first_day().plus_days(2), 23 * 60 + 59, OFFSET))
            .unwrap();
        // Ten no-shows for sure (the race may retire the day before any thread marks one).
        for &b in bookings.iter().step_by(3).take(10) {
            e.mark_no_show(b).unwrap();
        }
        let start = std::sync::Barrier::new(5);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (e, bookings, start) = (&e, &bookings, &start);
                s.spawn(move || {
                    start.wait();
                    for (i, &b) in bookings.iter().enumerate().filter(|(i, _)| i % 4 == t) {
                        let _ = match i % 3 {
                            0 => e.mark_no_show(b),
                            1 => e.check_in(b).and_then(|_| e.fulfil(b)),
                            _ => e.cancel(b),
                        };
                    }
                });
            }
            start.wait();
            // Midnight: the visit day falls out of the one-day retention.
            e.advance_clock(120).unwrap();
        });
        // The visit day's patients were pruned at its retirement, while their marks of this
        // year still counted; none of them books again. In the next year's first retirement
        // the marks no longer count, and go: the journal's `Retired` record must forget the
        // same ones on replay.
        let marked = debug_state(&e).matches("NoShowMark {").count();
        assert!(marked >= 10, "round {round}: {marked} marks");
        e.advance_to(Timestamp::from_local(Date::from_ymd(2027, 1, 2).unwrap(), 0, OFFSET))
            .unwrap();
        let expected = debug_state(&e);
        assert_eq!(expected.matches("NoShowMark {").count(), 0, "round {round}: marks kept");
        e.close().unwrap();
        let reopened = DurableEngine::open(&dir, options())
            .unwrap_or_else(|err| panic!("round {round}: the directory does not reopen: {err}"));
        assert_eq!(debug_state(&reopened), expected, "round {round}: replay differs");
        drop(reopened);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
