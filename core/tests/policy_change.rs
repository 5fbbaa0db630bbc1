//! Policy changes on a running engine (`Engine::set_policy`): from the instant of the change on,
//! never retroactive, refused changes change nothing, journaled and replayed at the same point
//! — also when the change races the operations whose replay derives from the policy.

mod common;
#[path = "durability_support/mod.rs"]
mod durability_support;

use common::*;
use haoyuan::*;

fn with(engine: &Engine, change: impl FnOnce(&mut Policy)) -> Result<()> {
    let mut policy = engine.policy().clone();
    change(&mut policy);
    engine.set_policy(policy)
}

#[test]
fn pools_of_published_slots_keep_their_sizes_new_slots_take_the_new_share() {
    let c = city();
    let date = day0().plus_days(1);
    let before = c.slot(c.doctor[2], date, 480, 10);
    assert_eq!(c.engine.slot(before).unwrap().pool_places.to_array(), [7, 3, 0, 0]);
    with(&c.engine, |p| {
        p.referral.share = 0.5;
        p.overbooking.ratio = 0.2;
    })
    .unwrap();
    assert_eq!(c.engine.slot(before).unwrap().pool_places.to_array(), [7, 3, 0, 0]);
    let places = |s: SlotId| c.engine.slot(s).unwrap().pool_places.to_array().iter().sum::<u16>();
    assert_eq!(places(before), 10, "no overbooking added afterwards");
    let after = c.slot(c.doctor[2], date, 600, 10);
    assert_eq!(c.engine.slot(after).unwrap().pool_places[Pool::Referral], 5);
    assert_eq!(places(after), 12, "the new overbooking ratio applies to the new slot");
}

#[test]
fn rules_read_at_decision_time_apply_from_the_change_on() {
    let c = city();
    let date = day0().plus_days(1);
    let (a, b) = (c.slot(c.doctor[2], date, 480, 5), c.slot(c.doctor[3], date, 480, 5));
    let patient = c.patient();
    let first = c.engine.book(&c.req(patient, a)).unwrap();
    with(&c.engine, |p| p.limits.per_visit_date = 1).unwrap();
    // The booking made under the old limit stays; the next one is refused by the new limit.
    assert_eq!(c.engine.booking(first.id).unwrap().state, BookingState::Booked);
    match c.engine.book(&c.req(patient, b)) {
        Err(Error::LimitReached { .. }) => {}
        other => panic!("expected the new per-date limit, got {other:?}"),
    }
    with(&c.engine, |p| p.limits.per_visit_date = 2).unwrap();
    c.engine.book(&c.req(patient, b)).unwrap();
}

#[test]
fn holds_keep_the_expiry_they_were_given() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(1), 480, 5);
    let hold = c.engine.hold(&c.req(c.patient(), slot)).unwrap();
    with(&c.engine, |p| p.hold.ttl_s = 60).unwrap();
    c.engine.advance_clock(120).unwrap();
    // Given 600 s under the old policy: still confirmable after the new 60 s.
    c.engine.confirm(hold.id).unwrap();
    // A hold taken now gets the new time.
    let short = c.engine.hold(&c.req(c.patient(), slot)).unwrap();
    c.engine.advance_clock(120).unwrap();
    assert!(matches!(c.engine.confirm(short.id), Err(Error::HoldExpired { .. })));
}

#[test]
fn refused_changes_change_nothing() {
    let mut policy = Policy::default();
    policy.channel_quotas = vec![ChannelQuota {
        channels: vec!["kiosk".into()],
        share: 0.1,
        cutoff_hours_before_start: 24,
    }];
    let c = city_with(policy, at(day0(), 16, 0));
    let (seq, running) = (c.engine.last_event_seq(), c.engine.policy());
    type Change = Box<dyn Fn(&mut Policy)>;
    let refusals: Vec<Change> = vec![
        Box::new(|p| p.referral.share = 1.5),
        Box::new(|p| p.hold.ttl_s = 0),
        // Regrouping the quotas: another channel, a second group, no group.
        Box::new(|p| p.channel_quotas[0].channels = vec!["phone".into()]),
        Box::new(|p| {
            p.channel_quotas.push(ChannelQuota {
                channels: vec!["phone".into()],
                share: 0.1,
                cutoff_hours_before_start: 24,
            })
        }),
        Box::new(|p| p.channel_quotas.clear()),
    ];
    for (i, change) in refusals.iter().enumerate() {
        match with(&c.engine, change) {
            Err(Error::InvalidPolicy(_)) => {}
            other => panic!("change {i}: expected InvalidPolicy, got {other:?}"),
        }
        assert_eq!(c.engine.last_event_seq(), seq, "change {i} emitted an event");
        assert_eq!(*c.engine.policy(), *running, "change {i} changed the policy");
    }
    // The quota's share and cut-off may change.
    with(&c.engine, |p| {
        p.channel_quotas[0].share = 0.2;
        p.channel_quotas[0].cutoff_hours_before_start = 2;
    })
    .unwrap();
    assert_eq!(c.engine.policy().channel_quotas[0].share, 0.2);
}

#[test]
fn a_change_is_an_event_subscribers_see() {
    let c = city();
    let sub = c.engine.subscribe();
    with(&c.engine, |p| p.limits.per_visit_date = 1).unwrap();
    let event = sub.try_recv().expect("one event");
    match event.kind {
        EventKind::PolicyChanged { policy } => assert_eq!(policy.limits.per_visit_date, 1),
        other => panic!("{other:?}"),
    }
}

mod durable {
    use super::durability_support::*;
    use super::with;
    use haoyuan::*;

    fn open(dir: &std::path::Path, mode: Durability) -> DurableEngine {
        DurableEngine::open(
            dir,
            OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start())),
        )
        .unwrap()
    }

    #[test]
    fn a_change_survives_reopen_and_snapshots_and_the_directory_keeps_its_config() {
        let dir = fresh_dir("policy-change");
        let e = open(&dir, Durability::Sync);
        let w = build_world(&e);
        e.publish_rosters_until(day0().plus_days(7)).unwrap();
        with(&e, |p| {
            p.referral.share = 0.5;
            p.limits.per_visit_date = 1;
        })
        .unwrap();
        // Published after the change: pools from the new share, which replay must reproduce.
        e.publish_slots(&[SlotSpec {
            resource: w.resources[0],
            date: day0().plus_days(2),
            start_min: 18 * 60,
            end_min: 18 * 60 + 30,
            capacity: 10,
        }])
        .unwrap();
        let running = e.policy().clone();
        let digest = e.state_digest().unwrap();
        e.close().unwrap();

        // Reopened with the directory's creation config (config.json is unchanged)…
        let e = open(&dir, Durability::Sync);
        assert_eq!(*e.policy(), running);
        assert_eq!(e.state_digest().unwrap(), digest);
        // … and from a snapshot taken after the change, with one more change after it.
        e.snapshot().unwrap();
        with(&e, |p| p.limits.per_visit_date = 3).unwrap();
        let (running, digest) = (e.policy().clone(), e.state_digest().unwrap());
        e.close().unwrap();
        let e = DurableEngine::open(
            &dir,
            OpenOptions::new(Durability::Sync)
                .card_key(test_key())
                .clock(ClockKind::Manual(start())),
        )
        .unwrap();
        assert_eq!(e.policy().limits.per_visit_date, 3);
        assert_eq!(*e.policy(), running);
        assert_eq!(e.state_digest().unwrap(), digest);
        e.snapshot().unwrap();
        e.close().unwrap();
        let e = open(&dir, Durability::Sync);
        assert_eq!(*e.policy(), running);
        assert_eq!(e.state_digest().unwrap(), digest);
        e.close().unwrap();
    }

    /// The race the policy gate exists for: late cancellations (whose replay derives a weight
    /// and a suspension from the policy) numbered around a policy change must be replayed under
    /// the policy they were decided by. Two threads book and cancel late while another flips
    /// the late-cancellation weight and the suspension ladder; the reopened engine must equal
    /// the live one. (No-show marking and publication take the gate the same way.)
    #[test]
    fn changes_racing_late_cancellations_and_no_shows_replay_identically() {
        let dir = fresh_dir("policy-race");
        let e = open(&dir, Durability::Buffered { interval: std::time::Duration::from_millis(2) });
        let w = build_world(&e);
        // Tomorrow's slots, booked and cancelled after 15:00 today: every cancellation is late.
        let tomorrow = day0().plus_days(1);
        let specs: Vec<SlotSpec> = (0..40)
            .map(|i| SlotSpec {
                resource: w.resources[i % w.resources.len()],
                date: tomorrow,
                start_min: 8 * 60 + (i as u16 / 3) * 10,
                end_min: 8 * 60 + (i as u16 / 3) * 10 + 10,
                capacity: 50,
            })
            .collect();
        let slots = e.publish_slots(&specs).unwrap();
        let patients: Vec<PatientId> = (0..20_000).map(|_| e.register_patient().unwrap()).collect();
        let app = e.channel_id("app").unwrap();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let changes = std::thread::scope(|s| {
            for t in 0..2usize {
                let (e, patients, done) = (&e, &patients, &done);
                s.spawn(move || {
                    // Each patient books and cancels late until suspended: 1 to 4 times.
                    for (i, p) in patients.iter().enumerate().skip(t).step_by(2) {
                        let slot = SlotId(slots.start.0 + (i % 40) as u32);
                        for _ in 0..4 {
                            match e.book(&Request::new(*p, slot, app)) {
                                Ok(b) => {
                                    e.cancel(b.id).unwrap();
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                });
            }
            let mut changes = 0u64;
            // Spread over the cancellations (the engine keeps each version: at most
            // POLICY_CHANGES_MAX changes in its life).
            while done.load(std::sync::atomic::Ordering::Relaxed) < 2
                && changes < (POLICY_CHANGES_MAX - 10) as u64
            {
                let pause = std::time::Instant::now();
                while pause.elapsed() < std::time::Duration::from_micros(30) {
                    std::hint::spin_loop();
                }
                with(&e, |p| {
                    p.cancellation.late_cancel_weight =
                        if changes.is_multiple_of(2) { 1.0 } else { 0.25 };
                    p.no_show.ladder_days =
                        if changes.is_multiple_of(3) { vec![1, 2] } else { vec![7] };
                })
                .unwrap();
                changes += 1;
            }
            changes
        });
        assert!(changes > 100, "the changes must interleave with the cancellations: {changes}");
        let suspended = patients
            .iter()
            .filter(|p| e.patient_record(**p).unwrap().suspended_until.is_some())
            .count();
        assert!(suspended > 0, "the mix must reach suspensions to test them");
        let digest = e.state_digest().unwrap();
        e.close().unwrap();
        let e = open(&dir, Durability::Sync);
        assert_eq!(e.state_digest().unwrap(), digest, "replay diverged from the live engine");
        e.close().unwrap();
    }
}
