//! Idempotent retries (`Engine::execute` with a `RequestKey`): a retry returns the first
//! outcome and never acts twice — racing retries included, and across a reopen or a snapshot
//! of a durable engine (the SIGKILL case is in durability_crash.rs).

mod common;
#[path = "durability_support/mod.rs"]
mod durability_support;

use common::*;
use haoyuan::*;

fn key(k: &str) -> RequestKey {
    RequestKey::new(k).unwrap()
}

#[test]
fn a_retry_returns_the_first_outcome_and_acts_once() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(3), 480, 5);
    let patient = c.patient();
    let book = Command::Book { request: c.req(patient, slot) };
    let first = c.engine.execute(Some(&key("r-1")), &book).unwrap();
    let seq = c.engine.last_event_seq();
    assert_eq!(c.engine.execute(Some(&key("r-1")), &book).unwrap(), first);
    assert_eq!(c.engine.last_event_seq(), seq, "a retry records nothing");
    assert_eq!(c.engine.slot(slot).unwrap().pool_taken.total(), 1);
    // The outcome as it was: the booking cancelled since is still returned as booked.
    let Outcome::Booking { booking } = &first else { panic!("{first:?}") };
    c.engine.cancel(booking.id).unwrap();
    assert_eq!(c.engine.execute(Some(&key("r-1")), &book).unwrap(), first);
    // Without a key, the same command acts again (a second place in another slot is booked).
    let other = c.slot(c.doctor[2], day0().plus_days(3), 540, 5);
    let again = Command::Book { request: c.req(patient, other) };
    c.engine.execute(None, &again).unwrap();
    assert_eq!(c.engine.slot(other).unwrap().pool_taken.total(), 1);
    assert_eq!(c.engine.request_keys_remembered(), 1);
}

#[test]
fn a_key_reused_for_another_command_is_refused_and_changes_nothing() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(3), 480, 5);
    let (p1, p2) = (c.patient(), c.patient());
    c.engine.execute(Some(&key("k")), &Command::Book { request: c.req(p1, slot) }).unwrap();
    let seq = c.engine.last_event_seq();
    match c.engine.execute(Some(&key("k")), &Command::Book { request: c.req(p2, slot) }) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("another request"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.engine.last_event_seq(), seq);
    assert_eq!(c.engine.slot(slot).unwrap().pool_taken.total(), 1);
}

#[test]
fn a_failed_request_is_not_remembered_its_retry_runs_again() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(3), 480, 1);
    let (first, second) = (c.patient(), c.patient());
    let taken = c.engine.book(&c.req(first, slot)).unwrap();
    let book = Command::Book { request: c.req(second, slot) };
    assert!(matches!(c.engine.execute(Some(&key("k")), &book), Err(Error::SlotFull { .. })));
    assert_eq!(c.engine.request_keys_remembered(), 0);
    // A place frees; the client's retry is a fresh try and succeeds.
    c.engine.cancel(taken.id).unwrap();
    assert!(matches!(c.engine.execute(Some(&key("k")), &book), Ok(Outcome::Booking { .. })));
}

#[test]
fn every_command_can_be_keyed() {
    let c = city();
    let date = day0().plus_days(3);
    let slot = c.slot(c.doctor[2], date, 480, 5);
    let run = |k: &str, command: Command| {
        let first = c.engine.execute(Some(&key(k)), &command).unwrap();
        assert_eq!(c.engine.execute(Some(&key(k)), &command).unwrap(), first, "{k}");
        first
    };
    let Outcome::Patient { patient } = run("register", Command::RegisterPatient) else { panic!() };
    // A visit this evening: check-in opens on the visit day.
    let tonight = c.slot(c.doctor[2], day0(), 23 * 60, 5);
    let Outcome::Booking { booking: held } =
        run("hold", Command::Hold { request: c.req(patient, tonight) })
    else {
        panic!()
    };
    run("confirm", Command::Confirm { booking: held.id });
    run("check_in", Command::CheckIn { booking: held.id });
    let Outcome::Booking { booking } = run("fulfil", Command::Fulfil { booking: held.id }) else {
        panic!()
    };
    assert_eq!(booking.state, BookingState::Fulfilled);
    let other = c.patient();
    let Outcome::Booking { booking } = run("book", Command::Book { request: c.req(other, slot) })
    else {
        panic!()
    };
    run("cancel", Command::Cancel { booking: booking.id });
    run("submit", Command::Submit { request: c.req(other, slot) });
    let Outcome::Referral { referral } = run(
        "refer",
        Command::IssueReferral {
            request: ReferralRequest {
                patient: other,
                from: c.community,
                specialty: "cardiology".into(),
                institution: None,
                urgency: Urgency::Routine,
                valid_days: 30,
            },
        },
    ) else {
        panic!()
    };
    assert_eq!(referral.patient, other);
    let Outcome::WaitlistEntry { entry } = run(
        "wait",
        Command::JoinWaitlist {
            request: WaitlistRequest {
                patient: c.patient(),
                department: c.cardio[2],
                resource: None,
                date_from: date,
                date_to: date,
                time: None,
                channel: c.app,
                referral: None,
                follow_up: false,
            },
        },
    ) else {
        panic!()
    };
    assert_eq!(run("leave", Command::LeaveWaitlist { entry: entry.id }), Outcome::Done);
    // A booking group and its move, each once however often retried.
    let grouped = c.patient();
    let later = c.slot(c.doctor[3], date, 540, 5);
    let request =
        GroupRequest { patient: grouped, channel: c.app, slots: vec![slot, later], referral: None };
    let Outcome::Group { group } = run("group", Command::BookGroup { request }) else { panic!() };
    let request = RescheduleRequest { booking: group.id, slots: vec![later], channel: c.app };
    let Outcome::Group { group: moved } = run("move", Command::Reschedule { request }) else {
        panic!()
    };
    assert_eq!(moved.replaces, Some(group.id));
    assert_eq!(c.engine.slot(later).unwrap().pool_taken.total(), 1, "a retried move moves once");
    // A no-show, on a booking whose time has passed.
    let late = c.patient();
    let b = c.engine.book(&c.req(late, slot)).unwrap();
    c.engine.advance_to(at(date, 9, 0)).unwrap();
    run("no_show", Command::MarkNoShow { booking: b.id });
}

#[test]
fn racing_retries_book_once() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(3), 480, 50);
    let patient = c.patient();
    let book = Command::Book { request: c.req(patient, slot) };
    for round in 0..50 {
        let k = key(&format!("race-{round}"));
        let outcomes: Vec<Result<Outcome>> = std::thread::scope(|s| {
            let tries: Vec<_> =
                (0..4).map(|_| s.spawn(|| c.engine.execute(Some(&k), &book))).collect();
            tries.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let booked: Vec<&Outcome> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert!(!booked.is_empty());
        assert!(booked.iter().all(|o| *o == booked[0]), "round {round}: {outcomes:?}");
        for o in &outcomes {
            if let Err(e) = o {
                assert!(matches!(e, Error::InvalidArgument(m) if m.contains("in progress")), "{e}");
            }
        }
        let Outcome::Booking { booking } = booked[0] else { panic!() };
        c.engine.cancel(booking.id).unwrap();
    }
    assert_eq!(c.engine.slot(slot).unwrap().pool_taken.total(), 0);
    assert_eq!(c.engine.request_keys_remembered(), 50);
}

#[test]
fn keys_are_forgotten_after_a_day() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(3), 480, 5);
    let book = Command::Book { request: c.req(c.patient(), slot) };
    c.engine.execute(Some(&key("old")), &book).unwrap();
    c.engine.advance_clock(REQUEST_KEY_RETENTION_S + 1).unwrap();
    let other = Command::Book { request: c.req(c.patient(), slot) };
    c.engine.execute(Some(&key("new")), &other).unwrap();
    assert_eq!(c.engine.request_keys_remembered(), 1, "the day-old key is dropped");
}

#[test]
fn bad_keys_are_typed_errors() {
    for bad in ["", "tab\there", &"x".repeat(REQUEST_KEY_LEN_MAX + 1)] {
        assert!(matches!(RequestKey::new(bad), Err(Error::InvalidArgument(_))), "{bad:?}");
    }
    assert!(RequestKey::new("x".repeat(REQUEST_KEY_LEN_MAX)).is_ok());
    let json: std::result::Result<RequestKey, _> = serde_json::from_str("\"\"");
    assert!(json.is_err(), "deserialising checks the key too");
}

mod durable {
    use super::durability_support::*;
    use super::key;
    use haoyuan::*;

    fn open(dir: &std::path::Path) -> DurableEngine {
        DurableEngine::open(
            dir,
            OpenOptions::new(Durability::Sync).config(config()).clock(ClockKind::Manual(start())),
        )
        .unwrap()
    }

    #[test]
    fn keys_survive_reopen_and_snapshots() {
        let dir = fresh_dir("idempotency");
        let e = open(&dir);
        let w = build_world(&e);
        e.publish_rosters_until(day0().plus_days(7)).unwrap();
        let app = e.channel_id("app").unwrap();
        let slot = e
            .publish_slots(&[SlotSpec {
                resource: w.resources[0],
                date: day0().plus_days(3),
                start_min: 18 * 60,
                end_min: 18 * 60 + 30,
                capacity: 10,
            }])
            .unwrap()
            .start;
        let commands: Vec<(RequestKey, Command)> = (0..5)
            .map(|i| {
                let request = Request::new(w.patients[i], slot, app);
                (key(&format!("d-{i}")), Command::Book { request })
            })
            .collect();
        let first: Vec<Outcome> =
            commands.iter().map(|(k, c)| e.execute(Some(k), c).unwrap()).collect();
        let digest = e.state_digest().unwrap();
        e.close().unwrap();
        // Replayed from the journal, then from a snapshot (with one more key after it).
        for step in 0..3 {
            let e = open(&dir);
            assert_eq!(e.state_digest().unwrap(), digest, "step {step}");
            for ((k, c), outcome) in commands.iter().zip(&first) {
                assert_eq!(&e.execute(Some(k), c).unwrap(), outcome, "step {step}: {k}");
            }
            assert_eq!(e.state_digest().unwrap(), digest, "step {step}: a retry changed state");
            if step == 1 {
                e.snapshot().unwrap();
            }
            e.close().unwrap();
        }
    }
}
