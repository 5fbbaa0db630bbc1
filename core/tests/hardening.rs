//! Regression tests of the hardening issue: each test reproduces one defect found on the engine
//! as it stood, and failed there before the fix. The name says which item of the issue it is.

mod common;
use common::*;
use haoyuan::*;

fn kiosk_quota_policy() -> Policy {
    let mut policy = Policy::default();
    policy.channel_quotas = vec![ChannelQuota {
        channels: vec!["kiosk".into(), "phone".into()],
        share: 0.1,
        cutoff_hours_before_start: 24,
    }];
    policy
}

/// Item A (invariant 1): a referral share and a channel quota spread independently over ten
/// one-place slots landed on the same slot (#4: pools [0, 1, 1, 0] on a capacity of 1), and two
/// patients both booked it.
#[test]
fn a_referral_share_and_channel_quota_never_oversell_a_one_place_slot() {
    let date = day0().plus_days(2);
    let c = city_with(kiosk_quota_policy(), at(date.plus_days(-1), 16, 0));
    let slots = c.slots(c.doctor[2], date, &(0..10).map(|i| 480 + i * 10).collect::<Vec<_>>(), 1);
    let phone = c.engine.channel_id("phone").unwrap();
    for &s in &slots {
        let info = c.engine.slot(s).unwrap();
        assert!(
            info.pool_places.total() <= info.capacity as u32,
            "{s}: pools {:?} on capacity {}",
            info.pool_places,
            info.capacity
        );
        for channel in [c.kiosk, c.app, phone, c.app] {
            let _ = c.engine.book(&Request::new(c.patient(), s, channel));
        }
        let info = c.engine.slot(s).unwrap();
        assert!(
            info.pool_taken.total() <= info.capacity as u32,
            "{s} oversold: taken {:?}",
            info.pool_taken
        );
    }
    // The session as a whole still keeps every share: 30% referral, 10% kiosk+phone.
    let totals = c.engine_pool_totals(&slots);
    assert_eq!(totals[Pool::Referral as usize], 3);
    assert_eq!(totals[Pool::Quota0 as usize], 1);
}

/// Item 1: pool shares depended on how the slots were published. Two expert doctors' one-place
/// segments interleaved by start time reserved 100% of their places instead of 50%.
#[test]
fn i1_pool_shares_do_not_depend_on_publication_order() {
    let date = day0().plus_days(3);
    let c = city_with(kiosk_quota_policy(), at(day0(), 16, 0));
    let a = c.engine.add_resource(c.cardio[2], ResourceKind::Doctor, "Prof A", true).unwrap();
    let b = c.engine.add_resource(c.cardio[2], ResourceKind::Doctor, "Prof B", true).unwrap();
    let specs: Vec<SlotSpec> = (0..10u16)
        .flat_map(|i| {
            [a, b].map(|r| SlotSpec {
                resource: r,
                date,
                start_min: 480 + 10 * i,
                end_min: 490 + 10 * i,
                capacity: 1,
            })
        })
        .collect();
    let range = c.engine.publish_slots(&specs).unwrap();
    let ids: Vec<SlotId> = (range.start.0..range.end.0).map(SlotId).collect();
    let totals = c.engine_pool_totals(&ids);
    assert_eq!(totals[Pool::Referral as usize], 10, "50% of 20 expert places");
    assert_eq!(totals[Pool::Quota0 as usize], 2, "10% of 20 places");
    // One slot per call: the same totals, for an ordinary doctor (30%).
    let one_by_one: Vec<SlotId> =
        (0..10u16).map(|i| c.slot(c.doctor[3], date, 480 + 10 * i, 1)).collect();
    let totals = c.engine_pool_totals(&one_by_one);
    assert_eq!(totals[Pool::Referral as usize], 3, "30% of 10 places, published one per call");
    assert_eq!(totals[Pool::Quota0 as usize], 1);
}

/// Item 3: a UTC offset of i32::MIN passed the ±14 h check (`i32::abs` wraps in release and
/// panics in debug).
#[test]
fn i3_extreme_utc_offsets_are_refused_everywhere() {
    for offset in [i32::MIN, i32::MIN + 1, -14 * 3600 - 1, 14 * 3600 + 1, i32::MAX] {
        let config = EngineConfig { utc_offset_s: offset, ..EngineConfig::default() };
        assert_eq!(
            Engine::new(config.clone()).unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "{offset}"
        );
        assert_eq!(
            Engine::with_manual_clock(config, Timestamp(1_800_000_000)).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            Timestamp::try_from_local(day0(), 0, offset).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
    for offset in [-14 * 3600, 0, 8 * 3600, 14 * 3600] {
        let config = EngineConfig { utc_offset_s: offset, ..EngineConfig::default() };
        Engine::new(config).unwrap();
        assert_eq!(
            Timestamp::try_from_local(day0(), 60, offset).unwrap(),
            Timestamp::from_local(day0(), 60, offset)
        );
    }
    assert_eq!(
        Timestamp::try_from_local(day0(), 1441, 0).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        Timestamp::try_from_local(Date(-1), 0, 0).unwrap_err().code(),
        ErrorCode::InvalidDate
    );
}

/// Item 9: `with_manual_clock` fell back to the default configuration when given an invalid one.
#[test]
fn i9_an_invalid_config_is_an_error_on_the_manual_clock_too() {
    let mut policy = Policy::default();
    policy.hold.ttl_s = 0;
    let err = Engine::with_manual_clock(
        EngineConfig { policy, utc_offset_s: OFFSET, ..EngineConfig::default() },
        at(day0(), 9, 0),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidPolicy);
}

trait PoolTotals {
    fn engine_pool_totals(&self, slots: &[SlotId]) -> [u32; 4];
}

impl PoolTotals for City {
    fn engine_pool_totals(&self, slots: &[SlotId]) -> [u32; 4] {
        let mut t = [0u32; 4];
        for s in slots {
            let info = self.engine.slot(*s).unwrap();
            for (total, places) in t.iter_mut().zip(info.pool_places.to_array()) {
                *total += places as u32;
            }
        }
        t
    }
}

/// Items 3 and 4 on a durable directory: an invalid offset or an empty path is refused before
/// anything touches the disk (an empty path used to write `LOCK` and `config.json` into the
/// current directory, then fail).
#[test]
fn i3_i4_durable_open_refuses_bad_input_before_touching_the_disk() {
    let dir = std::env::temp_dir().join(format!("hy-hardening-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = EngineConfig { utc_offset_s: i32::MIN, ..EngineConfig::default() };
    let err =
        DurableEngine::open(&dir, OpenOptions::new(Durability::Sync).config(config)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(!dir.exists(), "nothing may be created for a refused open");

    let cwd = std::env::current_dir().unwrap();
    let before: Vec<_> = std::fs::read_dir(&cwd).unwrap().map(|e| e.unwrap().file_name()).collect();
    let err = DurableEngine::open("", OpenOptions::new(Durability::Sync)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    let after: Vec<_> = std::fs::read_dir(&cwd).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "an empty path wrote into the current directory");
}

/// Item 8: booking id 0 was a real booking (patient 0's first), while the bulk calls of C and
/// Python answer 0 for a refused row. No id of any kind is ever 0.
#[test]
fn i8_no_id_of_any_kind_is_zero() {
    let mut policy = Policy::default();
    policy.lottery.window_s = 60;
    let date = day0().plus_days(7);
    // Just before the release of `date`: the lottery opens at 15:00.
    let c = city_with(policy, at(day0(), 14, 0));
    assert!(STANDARD_CHANNELS.iter().all(|n| c.engine.channel_id(n).unwrap().0 != 0));
    assert_ne!(c.engine.add_channel("hospital_app").unwrap().0, 0);
    for id in [c.community.0, c.secondary.0, c.tertiary.0, c.cardio[0].0, c.doctor[0].0] {
        assert_ne!(id, 0);
    }
    let dept = c.engine.department(c.cardio[0]).unwrap();
    assert_ne!(dept.specialty.0, 0);
    assert_ne!(c.engine.institution(c.community).unwrap().district.0, 0);
    let roster = c
        .engine
        .add_roster(Roster {
            resource: c.doctor[1],
            weekdays: vec![0, 1, 2, 3, 4, 5, 6],
            start_min: 480,
            end_min: 540,
            segment_min: 30,
            places: 2,
            valid_from: date,
            valid_until: date,
            closed_dates: vec![],
        })
        .unwrap();
    assert_ne!(roster.0, 0);
    let first = c.patient();
    assert_ne!(first.0, 0, "the first patient");
    let slot = c.slot(c.doctor[2], date, 480, 4);
    assert_ne!(slot.0, 0, "the first slot");
    let referral = c
        .engine
        .issue_referral(&ReferralRequest {
            patient: first,
            from: c.community,
            specialty: "cardiology".into(),
            institution: None,
            urgency: Urgency::Urgent,
            valid_days: 30,
        })
        .unwrap();
    assert_ne!(referral.id.0, 0);
    // Referral pool: open 14 days ahead, so this books before the public release.
    let booking = c.engine.book(&c.req(first, slot).with_referral(referral.id)).unwrap();
    assert_ne!(booking.id.0, 0, "the first booking of the first patient");
    let waiter = c.patient();
    let entry = c
        .engine
        .join_waitlist(&WaitlistRequest {
            patient: waiter,
            department: c.cardio[0],
            resource: None,
            date_from: date,
            date_to: date,
            time: None,
            channel: c.app,
            referral: None,
            follow_up: false,
        })
        .unwrap();
    assert_ne!(entry.id.0, 0);
    c.engine.advance_to(at(day0(), 15, 0)).unwrap();
    match c.engine.submit(&c.req(c.patient(), slot)).unwrap() {
        Submission::Entered { ticket, .. } => assert_ne!(ticket.0, 0),
        other => panic!("expected a lottery entry, got {other:?}"),
    }
    // Id 0 is never found, for every kind of lookup.
    assert_eq!(c.engine.slot(SlotId(0)).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(c.engine.patient_record(PatientId(0)).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(c.engine.booking(BookingId(0)).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(c.engine.institution(InstitutionId(0)).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(c.engine.channel(ChannelId(0)).unwrap_err().code(), ErrorCode::NotFound);
}

/// Item 6: an expired hold answered `HoldExpired` when `confirm` found the expiry itself, but
/// `WrongState` once `tick`/`advance_clock` had processed it. Always `HoldExpired`.
#[test]
fn i6_an_expired_hold_always_answers_hold_expired() {
    // A clock the engine does not tick: the expiry is found by the call itself first.
    let clock = std::sync::Arc::new(ManualClock::new(at(day0(), 16, 0)));
    let engine = Engine::with_clock(
        EngineConfig { utc_offset_s: OFFSET, ..EngineConfig::default() },
        clock.clone(),
    )
    .unwrap();
    let h = engine.add_institution("Clinic", Tier::Community, "Nancheng").unwrap();
    let d = engine.add_department(h, "cardiology", "Cardiology").unwrap();
    let r = engine.add_resource(d, ResourceKind::Doctor, "Dr Wu", false).unwrap();
    let slot = engine
        .publish_slots(&[SlotSpec {
            resource: r,
            date: day0().plus_days(2),
            start_min: 480,
            end_min: 495,
            capacity: 4,
        }])
        .unwrap()
        .start;
    let app = engine.channel_id("app").unwrap();
    let hold = |ttl| {
        engine.hold_for(&Request::new(engine.register_patient().unwrap(), slot, app), ttl).unwrap()
    };
    let (a, b, c) = (hold(30), hold(30), hold(30));
    clock.advance(31);
    let expect_expired = |what: &str, result: Result<Booking>, id: BookingId| match result {
        Err(Error::HoldExpired { booking, expired_at, .. }) => {
            assert_eq!(booking, id, "{what}");
            assert_eq!(expired_at, engine.booking(id).unwrap().expires_at, "{what}");
        }
        other => panic!("{what} of an expired hold: {other:?}"),
    };
    // Found by the call: confirm and cancel both say so.
    expect_expired("confirm", engine.confirm(a.id), a.id);
    expect_expired("cancel", engine.cancel(b.id), b.id);
    // Processed by the tick first: the same answer.
    assert_eq!(engine.tick(), 1);
    assert_eq!(engine.booking(c.id).unwrap().state, BookingState::Expired);
    for id in [a.id, b.id, c.id] {
        expect_expired("confirm", engine.confirm(id), id);
        expect_expired("cancel", engine.cancel(id), id);
    }
    assert_eq!(
        engine.slot(slot).unwrap().pool_taken.to_array(),
        [0, 0, 0, 0],
        "every expired place is back"
    );
}

/// Bounded event queues: a subscriber that never reads used to grow the engine's memory without
/// end (each subscriber queue was unbounded and fed under the patient lock).
#[test]
fn q_a_subscriber_that_never_reads_holds_a_bounded_queue() {
    let c = city();
    let idle = c.engine.subscribe();
    for _ in 0..SUBSCRIPTION_CAPACITY_DEFAULT + 1000 {
        c.patient();
    }
    assert!(idle.len() <= SUBSCRIPTION_CAPACITY_DEFAULT, "{} events queued", idle.len());
    assert!(idle.is_cut_off(), "the default policy cuts a full subscriber off");
    // It keeps what was queued: the first events, gap-free, then the end.
    let seqs: Vec<u64> = idle.try_iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len(), SUBSCRIPTION_CAPACITY_DEFAULT);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    assert!(idle.is_ended());
    // A new subscriber after the cut-off is served as usual.
    let fresh = c.engine.subscribe();
    c.patient();
    assert_eq!(fresh.try_recv().unwrap().seq, c.engine.last_event_seq());
}

/// `Overflow::Disconnect`: the engine never waits; the subscriber detects the gap.
#[test]
fn q_disconnect_policy_cuts_off_and_the_gap_shows() {
    let c = city();
    let sub = c
        .engine
        .subscribe_with(SubscribeOptions {
            capacity: 8,
            overflow: Overflow::Disconnect,
            ..SubscribeOptions::default()
        })
        .unwrap();
    let first = c.engine.last_event_seq() + 1;
    for _ in 0..20 {
        c.patient();
    }
    assert!(sub.is_cut_off());
    let got: Vec<u64> = sub.try_iter().map(|e| e.seq).collect();
    assert_eq!(got, (first..first + 8).collect::<Vec<_>>());
    assert!(sub.is_ended() && sub.recv().is_none());
    assert_eq!(c.engine.last_event_seq(), first + 19, "every operation went on");
    assert_eq!(
        c.engine
            .subscribe_with(SubscribeOptions {
                capacity: 0,
                overflow: Overflow::Block,
                ..SubscribeOptions::default()
            })
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        c.engine
            .subscribe_with(SubscribeOptions {
                capacity: SUBSCRIPTION_CAPACITY_MAX + 1,
                overflow: Overflow::Block,
                ..SubscribeOptions::default()
            })
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
}

/// `Overflow::Block`: nothing is lost, the queue never exceeds its bound, and the waiting
/// operation holds no lock while it waits.
#[test]
fn q_block_policy_loses_nothing_and_waits_outside_every_lock() {
    use std::sync::Arc;
    let c = Arc::new(city());
    let slot = c.slot(c.doctor[0], day0().plus_days(2), 480, 100);
    let sub = c
        .engine
        .subscribe_with(SubscribeOptions {
            capacity: 4,
            overflow: Overflow::Block,
            ..SubscribeOptions::default()
        })
        .unwrap();
    let first = c.engine.last_event_seq() + 1;
    // Fill the queue, then one more booking: it must wait for the reader...
    let patients: Vec<PatientId> = (0..4).map(|_| c.engine.register_patient().unwrap()).collect();
    assert_eq!(sub.len(), 4);
    let booker = {
        let c = c.clone();
        let p = patients[0];
        std::thread::spawn(move || c.engine.book(&c.req(p, slot)).unwrap())
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!booker.is_finished(), "a full Block queue holds the emitting operation back");
    // ... with no lock held: the same patient's record and the same slot can be read, and
    // another patient can book (its event parks behind the first).
    assert_eq!(c.engine.patient_record(patients[0]).unwrap().active_bookings.len(), 1);
    assert_eq!(c.engine.slot(slot).unwrap().pool_taken.total(), 1);
    let other = {
        let c = c.clone();
        let p = patients[1];
        std::thread::spawn(move || c.engine.book(&c.req(p, slot)).unwrap())
    };
    // Read slowly: every event arrives, in a queue never above its bound.
    let mut seqs = Vec::new();
    // Four registrations and two bookings (one `booked` event each).
    while seqs.len() < 4 + 2 {
        assert!(sub.len() <= 4);
        if let Some(e) = sub.recv_timeout(std::time::Duration::from_secs(10)) {
            seqs.push(e.seq);
        } else {
            panic!("events missing: got {seqs:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    booker.join().unwrap();
    other.join().unwrap();
    seqs.sort_unstable();
    assert_eq!(seqs, (first..first + 6).collect::<Vec<_>>(), "every event, gap-free");
    assert!(!sub.is_cut_off());
}

/// Noticed in the thirteenth session, fixed in the fifteenth: a department-day's free places
/// are kept in 32-bit signed counters (`DayCounts`), and publication did not bound a day's
/// places. 140,000 slots of 16,000 places (2.24 × 10⁹) in one call were accepted, and the
/// general pool's counter wrapped: the day read as having no free place. Now a day holds at most
/// `DAY_PLACES_MAX` places, counted over every call that publishes to it; a publication past
/// it is refused whole, and what was published before still counts right.
#[test]
fn n_a_department_day_too_large_for_its_counters_is_refused() {
    let date = day0().plus_days(2);
    let c = city(); // the community clinic: no referral share, every place general
    let doctor = c.doctor[0];
    let specs = |resource: ResourceId, date: Date, n: usize, capacity: u16| -> Vec<SlotSpec> {
        (0..n)
            .map(|i| {
                let start = (i % 1439) as u16;
                SlotSpec { resource, date, start_min: start, end_min: start + 1, capacity }
            })
            .collect()
    };
    let by_day = |date: Date| {
        let d = c.engine.free_places_by_day(c.cardio[0], date, date).unwrap();
        (d[0].free as u64, d[0].places as u64)
    };
    // Past the counters' range in one call: refused whole, nothing published.
    let err = c.engine.publish_slots(&specs(doctor, date, 140_000, PLACES_MAX)).err();
    assert!(matches!(err, Some(Error::CapacityExceeded(_))), "{err:?}; by day {:?}", by_day(date));
    assert_eq!((c.engine.slot_count(), by_day(date)), (0, (0, 0)));
    // Up to the limit in two calls (62,500 × 16,000 = 10⁹), each counted right.
    let first = c.engine.publish_slots(&specs(doctor, date, 40_000, PLACES_MAX)).unwrap().start;
    c.engine.publish_slots(&specs(doctor, date, 22_500, PLACES_MAX)).unwrap();
    let limit = DAY_PLACES_MAX as u64;
    assert_eq!(limit, 62_500 * PLACES_MAX as u64);
    assert_eq!(by_day(date), (limit, limit));
    // One place more, by another doctor of the department, is refused; that doctor's other
    // days are not full.
    let other = c.engine.add_resource(c.cardio[0], ResourceKind::Doctor, "Dr Wu", false).unwrap();
    let err = c.engine.publish_slots(&specs(other, date, 1, 1)).err();
    assert!(matches!(err, Some(Error::CapacityExceeded(_))), "{err:?}");
    assert_eq!((c.engine.slot_count(), by_day(date)), (62_500, (limit, limit)));
    c.engine.publish_slots(&specs(other, date.plus_days(1), 1, 1)).unwrap();
    assert_eq!(by_day(date.plus_days(1)), (1, 1));
    // A booking on the full-size day moves its counters by one place.
    c.engine.book(&c.req(c.patient(), first)).unwrap();
    assert_eq!(by_day(date), (limit - 1, limit));
}

/// With the largest overbooking (ratio 1: a place more for every place), a day at
/// `DAY_PLACES_MAX` places holds twice as many in its pools, and its counters still hold them.
#[test]
fn n_a_day_at_the_limit_with_the_largest_overbooking_counts_right() {
    let date = day0().plus_days(2);
    let mut policy = Policy::default();
    policy.overbooking.ratio = 1.0;
    let c = city_with(policy, at(day0(), 16, 0));
    let specs: Vec<SlotSpec> = (0..62_500usize)
        .map(|i| {
            let start = (i % 1439) as u16;
            SlotSpec {
                resource: c.doctor[0],
                date,
                start_min: start,
                end_min: start + 1,
                capacity: PLACES_MAX,
            }
        })
        .collect();
    c.engine.publish_slots(&specs).unwrap();
    let d = c.engine.free_places_by_day(c.cardio[0], date, date).unwrap();
    assert_eq!(
        (d[0].free as u64, d[0].places as u64),
        (2 * DAY_PLACES_MAX as u64, DAY_PLACES_MAX as u64)
    );
    let free =
        c.engine.find_free_slots(&AvailabilityQuery::department(c.cardio[0], date, date)).unwrap();
    assert!(free.iter().all(|f| f.free == 2 * PLACES_MAX as u32), "{:?}", free.first());
}
