//! Each allocation rule of DOMAIN.md at its edges: the booking window, referral pools and their
//! rounding, emergency access, limits, no-show penalties, late cancellation, channel quotas,
//! overbooking, the release lottery and the waitlist.

mod common;
use common::*;
use haoyuan::*;

fn referral(c: &City, patient: PatientId, from: InstitutionId, urgency: Urgency) -> ReferralId {
    c.engine
        .issue_referral(&ReferralRequest {
            patient,
            from,
            specialty: "cardiology".into(),
            institution: None,
            urgency,
            valid_days: 30,
        })
        .unwrap()
        .id
}

#[test]
fn public_window_opens_exactly_at_release_time() {
    // Now: Monday 16:00. A slot 8 days ahead opens next day (7 days before) at 15:00.
    let c = city();
    let date = day0().plus_days(8);
    let slot = c.slot(c.doctor[0], date, 480, 2);
    let opens = at(day0().plus_days(1), 15, 0);
    match c.engine.book(&c.req(c.patient(), slot)) {
        Err(Error::NotOpenYet { opens_at, .. }) => assert_eq!(opens_at, opens),
        other => panic!("{other:?}"),
    }
    c.engine.advance_to(opens.plus_s(-1)).unwrap();
    assert!(matches!(c.engine.book(&c.req(c.patient(), slot)), Err(Error::NotOpenYet { .. })));
    c.engine.advance_to(opens).unwrap();
    c.engine.book(&c.req(c.patient(), slot)).unwrap();
}

#[test]
fn close_the_day_before_when_configured() {
    let mut policy = Policy::default();
    policy.window.close_day_before_at_min = Some(16 * 60);
    let c = city_with(policy, at(day0(), 15, 59));
    let slot = c.slot(c.doctor[0], day0().plus_days(1), 480, 5);
    c.engine.book(&c.req(c.patient(), slot)).unwrap();
    c.engine.advance_clock(60).unwrap();
    match c.engine.book(&c.req(c.patient(), slot)) {
        Err(Error::BookingClosed { closed_at, .. }) => assert_eq!(closed_at, at(day0(), 16, 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn referral_share_is_spread_over_a_session_not_rounded_away() {
    let c = city();
    let date = day0().plus_days(1);
    // Ten one-place segments at a tertiary doctor: 30% → exactly 3 referral places in all.
    let slots = c.slots(c.doctor[2], date, &(0..10).map(|i| 480 + i * 15).collect::<Vec<_>>(), 1);
    let referral_places: u16 =
        slots.iter().map(|s| c.engine.slot(*s).unwrap().pool_places[Pool::Referral]).sum();
    assert_eq!(referral_places, 3);
    // One slot of 10 places: 3 referral places.
    let s = c.slot(c.doctor[2], date.plus_days(1), 480, 10);
    assert_eq!(c.engine.slot(s).unwrap().pool_places.to_array(), [7, 3, 0, 0]);
    // Community clinics keep no referral pool.
    let s = c.slot(c.doctor[0], date, 480, 10);
    assert_eq!(c.engine.slot(s).unwrap().pool_places.to_array(), [10, 0, 0, 0]);
    // Experts keep 50%.
    let expert =
        c.engine.add_resource(c.cardio[2], ResourceKind::Doctor, "Prof Wang", true).unwrap();
    let s = c.slot(expert, date, 480, 10);
    assert_eq!(c.engine.slot(s).unwrap().pool_places.to_array(), [5, 5, 0, 0]);
}

#[test]
fn referral_pool_opens_fourteen_days_ahead_and_rolls_over_at_public_release() {
    let c = city();
    let date = day0().plus_days(10); // public opens day0+3 15:00; referral opened day0-4 15:00
    let slot = c.slot(c.doctor[2], date, 480, 10); // 7 general, 3 referral
    let public = c.patient();
    assert!(matches!(c.engine.book(&c.req(public, slot)), Err(Error::NotOpenYet { .. })));
    let referred: Vec<PatientId> = (0..4).map(|_| c.patient()).collect();
    for (i, p) in referred.iter().enumerate() {
        let r = referral(&c, *p, c.community, Urgency::Routine);
        let result = c.engine.book(&c.req(*p, slot).with_referral(r));
        if i < 3 {
            assert_eq!(result.unwrap().pool, Pool::Referral);
        } else {
            assert!(
                matches!(result, Err(Error::SlotFull { .. })),
                "only the referral pool is open before the public release"
            );
        }
    }
    // At the public release the general pool opens; the referral pool is used up.
    c.engine.advance_to(at(day0().plus_days(3), 15, 0)).unwrap();
    for _ in 0..7 {
        assert_eq!(c.engine.book(&c.req(c.patient(), slot)).unwrap().pool, Pool::General);
    }
    assert!(matches!(c.engine.book(&c.req(c.patient(), slot)), Err(Error::SlotFull { .. })));
}

#[test]
fn unused_referral_places_roll_into_the_general_pool() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(1), 480, 10);
    let pools: Vec<Pool> =
        (0..10).map(|_| c.engine.book(&c.req(c.patient(), slot)).unwrap().pool).collect();
    assert_eq!(pools.iter().filter(|p| **p == Pool::General).count(), 7);
    assert_eq!(pools.iter().filter(|p| **p == Pool::Referral).count(), 3);
    // Without rollover the public never gets them.
    let mut policy = Policy::default();
    policy.referral.rollover_at_public_open = false;
    let c = city_with(policy, at(day0(), 16, 0));
    let slot = c.slot(c.doctor[2], day0().plus_days(1), 480, 10);
    let ok = (0..10).filter(|_| c.engine.book(&c.req(c.patient(), slot)).is_ok()).count();
    assert_eq!(ok, 7);
}

#[test]
fn referrals_are_checked_consumed_and_returned() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(10), 480, 10);
    let p = c.patient();
    let r = referral(&c, p, c.community, Urgency::Urgent);
    // Someone else's referral, an unknown one, a referral for another tier: refused.
    let q = c.patient();
    assert!(matches!(
        c.engine.book(&c.req(q, slot).with_referral(r)),
        Err(Error::ReferralInvalid { .. })
    ));
    assert!(matches!(
        c.engine.book(&c.req(p, slot).with_referral(ReferralId(9999))),
        Err(Error::ReferralInvalid { .. })
    ));
    let from_secondary = referral(&c, p, c.secondary, Urgency::Urgent);
    let sec_slot = c.slot(c.doctor[1], day0().plus_days(10), 480, 10);
    assert!(
        matches!(
            c.engine.book(&c.req(p, sec_slot).with_referral(from_secondary)),
            Err(Error::ReferralInvalid { .. })
        ),
        "secondary → secondary is not upwards"
    );
    // Tertiary cannot refer; tier must increase.
    assert!(c
        .engine
        .issue_referral(&ReferralRequest {
            patient: p,
            from: c.tertiary,
            specialty: "cardiology".into(),
            institution: None,
            urgency: Urgency::Routine,
            valid_days: 5
        })
        .is_err());
    assert!(c
        .engine
        .issue_referral(&ReferralRequest {
            patient: p,
            from: c.secondary,
            specialty: "cardiology".into(),
            institution: Some(c.community),
            urgency: Urgency::Routine,
            valid_days: 5
        })
        .is_err());
    let b = c.engine.book(&c.req(p, slot).with_referral(r)).unwrap();
    assert!(
        matches!(
            c.engine.book(&c.req(p, sec_slot).with_referral(r)),
            Err(Error::ReferralInvalid { .. })
        ),
        "consumed"
    );
    c.engine.cancel(b.id).unwrap();
    let again = c.engine.book(&c.req(p, slot).with_referral(r)).unwrap();
    assert_eq!(again.referral, Some(r), "given back on cancel");
    // Expired referral.
    let late = referral(&c, c.patient(), c.community, Urgency::Routine);
    c.engine.advance_clock(31 * DAY_S).unwrap();
    let owner = c.engine.patient_record(PatientId(late.0 as u32)).ok();
    let _ = owner;
}

#[test]
fn emergency_referrals_may_take_any_pool() {
    let mut policy = Policy::default();
    policy.channel_quotas = vec![ChannelQuota {
        channels: vec!["kiosk".into(), "phone".into()],
        share: 0.2,
        cutoff_hours_before_start: 24,
    }];
    let c = city_with(policy, at(day0(), 16, 0));
    let slot = c.slot(c.doctor[2], day0().plus_days(10), 480, 10); // 5 general, 3 referral, 2 kiosk/phone
    assert_eq!(c.engine.slot(slot).unwrap().pool_places.to_array(), [5, 3, 2, 0]);
    let mut pools = Vec::new();
    for _ in 0..10 {
        let p = c.patient();
        let r = referral(&c, p, c.community, Urgency::Emergency);
        pools.push(c.engine.book(&c.req(p, slot).with_referral(r)).unwrap().pool);
    }
    assert_eq!(pools.iter().filter(|p| **p == Pool::Referral).count(), 3);
    assert_eq!(pools.iter().filter(|p| **p == Pool::Quota0).count(), 2);
    let p = c.patient();
    let r = referral(&c, p, c.community, Urgency::Emergency);
    assert!(matches!(c.engine.book(&c.req(p, slot).with_referral(r)), Err(Error::SlotFull { .. })));
}

#[test]
fn channel_quota_is_kept_until_its_cutoff() {
    let mut policy = Policy::default();
    policy.channel_quotas = vec![ChannelQuota {
        channels: vec!["kiosk".into(), "phone".into()],
        share: 0.1,
        cutoff_hours_before_start: 24,
    }];
    let c = city_with(policy, at(day0(), 16, 0));
    let date = day0().plus_days(3);
    let slot = c.slot(c.doctor[0], date, 480, 10); // community: 9 general, 1 kiosk/phone
    for _ in 0..9 {
        c.engine.book(&c.req(c.patient(), slot)).unwrap();
    }
    assert!(
        matches!(c.engine.book(&c.req(c.patient(), slot)), Err(Error::SlotFull { .. })),
        "the app may not take the kiosk place"
    );
    // At the cut-off (24 h before 08:00) the kiosk place rolls into the general pool.
    c.engine.advance_to(at(date.plus_days(-1), 8, 0)).unwrap();
    assert_eq!(c.engine.book(&c.req(c.patient(), slot)).unwrap().pool, Pool::Quota0);
    // Before the cut-off a kiosk user takes the kiosk place first.
    let slot = c.slot(c.doctor[0], date.plus_days(3), 480, 10);
    let b = c.engine.book(&Request::new(c.patient(), slot, c.kiosk)).unwrap();
    assert_eq!(b.pool, Pool::Quota0);
}

#[test]
fn per_patient_limits() {
    // 09:00: cancelling tomorrow's booking is still free (late would suspend the patient).
    let c = city_with(Policy::default(), at(day0(), 9, 0));
    let p = c.patient();
    let d1 = day0().plus_days(1);
    let s = c.slots(c.doctor[2], d1, &[480, 495], 5);
    c.engine.book(&c.req(p, s[0])).unwrap();
    assert!(matches!(
        c.engine.book(&c.req(p, s[1])),
        Err(Error::LimitReached { limit: LimitKind::PerDepartmentDay, .. })
    ));
    let other = c.slot(c.doctor[3], d1, 480, 5);
    c.engine.book(&c.req(p, other)).unwrap();
    let third = c.slot(c.doctor[1], d1, 480, 5);
    assert!(matches!(
        c.engine.book(&c.req(p, third)),
        Err(Error::LimitReached { limit: LimitKind::PerVisitDate, .. })
    ));
    let d3 = c.slot(c.doctor[1], day0().plus_days(3), 480, 5);
    c.engine.book(&c.req(p, d3)).unwrap();
    let d5 = c.slot(c.doctor[1], day0().plus_days(5), 480, 5);
    assert!(matches!(
        c.engine.book(&c.req(p, d5)),
        Err(Error::LimitReached { limit: LimitKind::PerSevenDays, .. })
    ));
    // Holds count too; ending a booking frees the limit.
    let b = c.engine.bookings_of(p).unwrap()[0].id;
    c.engine.cancel(b).unwrap();
    c.engine.hold(&c.req(p, d5)).unwrap();
}

#[test]
fn no_shows_suspend_on_a_ladder_and_suspension_ends() {
    let c = city();
    let p = c.patient();
    let mut date = day0().plus_days(1);
    for (n, days) in [(1, 30), (2, 60)] {
        let slot = c.slot(c.doctor[0], date, 480, 1);
        let b = c.engine.book(&c.req(p, slot)).unwrap();
        assert!(c.engine.mark_no_show(b.id).is_err(), "not before the segment starts");
        c.engine.advance_to(at(date, 8, 0)).unwrap();
        c.engine.mark_no_show(b.id).unwrap();
        let rec = c.engine.patient_record(p).unwrap();
        assert_eq!(rec.no_shows_in_window, n as f32);
        let until = rec.suspended_until.unwrap();
        assert_eq!(until, c.engine.now().plus_s(days * DAY_S));
        let next = c.slot(c.doctor[0], date.plus_days(1), 480, 1);
        match c.engine.book(&c.req(p, next)) {
            Err(Error::PatientSuspended { until: u, .. }) => assert_eq!(u, until),
            other => panic!("{other:?}"),
        }
        // Exactly at the end of the suspension, booking works again.
        c.engine.advance_to(until).unwrap();
        date = until.to_local(OFFSET).0.plus_days(1);
        let s = c.slot(c.doctor[0], date, 600, 1);
        let ok = c.engine.book(&c.req(p, s)).unwrap();
        c.engine.cancel(ok.id).unwrap();
    }
    let stats = c.engine.resource_stats(c.doctor[0]).unwrap();
    assert_eq!((stats.outcomes, stats.no_shows), (2, 2));
}

#[test]
fn late_cancellation_counts_as_a_no_show_fraction() {
    let mut policy = Policy::default();
    policy.cancellation.late_cancel_weight = 0.5;
    let c = city_with(policy, at(day0(), 14, 0));
    let p = c.patient();
    let d1 = day0().plus_days(1);
    let s = c.slots(c.doctor[0], d1, &[480, 495, 510], 1);
    // Before 15:00 the day before: free.
    let b = c.engine.book(&c.req(p, s[0])).unwrap();
    c.engine.cancel(b.id).unwrap();
    assert_eq!(c.engine.patient_record(p).unwrap().no_shows_in_window, 0.0);
    c.engine.advance_to(at(day0(), 15, 0)).unwrap();
    for slot in [s[1], s[2]] {
        let b = c.engine.book(&c.req(p, slot)).unwrap();
        c.engine.cancel(b.id).unwrap();
    }
    let rec = c.engine.patient_record(p).unwrap();
    assert_eq!(rec.no_shows_in_window, 1.0);
    assert!(rec.suspended_until.is_some(), "two half no-shows make one");
    // Cancelling a hold is never late.
    let q = c.patient();
    let h = c.engine.hold(&c.req(q, s[0])).unwrap();
    c.engine.cancel(h.id).unwrap();
    assert_eq!(c.engine.patient_record(q).unwrap().no_shows_in_window, 0.0);
}

#[test]
fn overbooking_adds_floor_of_capacity_times_ratio() {
    let mut policy = Policy::default();
    policy.overbooking.ratio = 0.15;
    let c = city_with(policy.clone(), at(day0(), 16, 0));
    let s = c.slot(c.doctor[0], day0().plus_days(1), 480, 20);
    assert_eq!(c.engine.slot(s).unwrap().pool_places.to_array(), [23, 0, 0, 0]);
    let ok = (0..30).filter(|_| c.engine.book(&c.req(c.patient(), s)).is_ok()).count();
    assert_eq!(ok, 23);
    // Per-resource override wins.
    policy.overbooking.by_resource.insert(c.doctor[0].0, 0.5);
    let c = city_with(policy, at(day0(), 16, 0));
    let s = c.slot(c.doctor[0], day0().plus_days(1), 480, 20);
    assert_eq!(c.engine.slot(s).unwrap().pool_places.general, 30);
}

fn lottery_city(seed: u64) -> (City, SlotId, Timestamp) {
    let mut policy = Policy::default();
    policy.lottery.window_s = 60;
    policy.lottery.seed = seed;
    policy.referral.share = 0.0;
    let c = city_with(policy, at(day0(), 14, 0));
    let date = day0().plus_days(7); // releases today at 15:00
    let slot = c.slot(c.doctor[2], date, 480, 3);
    (c, slot, at(day0(), 15, 0))
}

#[test]
fn release_lottery_is_reproducible_and_recorded() {
    let run = |seed: u64| {
        let (c, slot, release) = lottery_city(seed);
        let patients: Vec<PatientId> = (0..20).map(|_| c.patient()).collect();
        c.engine.advance_to(release.plus_s(5)).unwrap();
        assert!(matches!(
            c.engine.book(&c.req(patients[0], slot)),
            Err(Error::LotteryWindow { .. })
        ));
        let rx = c.engine.subscribe();
        // Enter in reverse order: the outcome must not depend on arrival order.
        for p in patients.iter().rev() {
            assert!(matches!(
                c.engine.submit(&c.req(*p, slot)).unwrap(),
                Submission::Entered { .. }
            ));
        }
        assert!(
            c.engine.submit(&c.req(patients[0], slot)).is_err(),
            "one entry per patient and slot"
        );
        c.engine.advance_to(release.plus_s(60)).unwrap();
        let mut winners = Vec::new();
        let mut drawn = false;
        for e in rx.try_iter() {
            match e.kind {
                EventKind::LotteryDrawn { order, .. } => {
                    assert_eq!(order.len(), 20);
                    drawn = true;
                }
                EventKind::LotteryWon { booking, .. } => winners.push(booking.origin_patient()),
                _ => {}
            }
        }
        assert!(drawn);
        assert_eq!(winners.len(), 3);
        // After the window: first come, first served.
        assert!(matches!(
            c.engine.submit(&c.req(c.patient(), slot)).unwrap_err(),
            Error::SlotFull { .. }
        ));
        winners
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

/// The winners of a release with several slots, entered by `threads` threads in the order
/// given by `arrival` (a permutation of the entries): patients → their bookings' slots.
fn lottery_winners(seed: u64, arrival: &[usize], threads: usize) -> Vec<(PatientId, SlotId)> {
    let (c, _, release) = lottery_city(seed);
    // Three slots of 1, 2 and 3 places, 40 patients asking for one or two of them.
    let slots: Vec<SlotId> = [(600, 1), (660, 2), (720, 3)]
        .iter()
        .map(|&(start, places)| c.slot(c.doctor[2], day0().plus_days(7), start, places))
        .collect();
    let patients: Vec<PatientId> = (0..40).map(|_| c.patient()).collect();
    let entries: Vec<Request> = patients
        .iter()
        .enumerate()
        .flat_map(|(i, &p)| {
            let mut mine = vec![c.req(p, slots[i % 3])];
            if i % 4 == 0 {
                mine.push(c.req(p, slots[(i + 1) % 3]));
            }
            mine
        })
        .collect();
    assert_eq!(arrival.len(), entries.len());
    c.engine.advance_to(release.plus_s(1)).unwrap();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (c, entries) = (&c, &entries);
            s.spawn(move || {
                for &i in arrival.iter().skip(t).step_by(threads) {
                    assert!(matches!(
                        c.engine.submit(&entries[i]).unwrap(),
                        Submission::Entered { .. }
                    ));
                }
            });
        }
    });
    c.engine.advance_to(release.plus_s(61)).unwrap();
    let mut won: Vec<(PatientId, SlotId)> = patients
        .iter()
        .flat_map(|&p| {
            c.engine
                .patient_record(p)
                .unwrap()
                .active_bookings
                .into_iter()
                .map(move |b| (p, b.slot))
        })
        .collect();
    won.sort_unstable();
    for (i, &s) in slots.iter().enumerate() {
        assert_eq!(won.iter().filter(|w| w.1 == s).count(), i + 1, "slot {i} is filled exactly");
    }
    won
}

#[test]
fn lottery_winners_do_not_depend_on_arrival_order_or_threads() {
    let n = 50; // 40 patients, every fourth asking for two slots
    let forward: Vec<usize> = (0..n).collect();
    let backward: Vec<usize> = (0..n).rev().collect();
    // A fixed shuffle (multiplication by a unit modulo n) for a third order.
    let shuffled: Vec<usize> = (0..n).map(|i| (i * 17 + 3) % n).collect();
    for seed in [1, 2, 3] {
        let reference = lottery_winners(seed, &forward, 1);
        assert_eq!(lottery_winners(seed, &backward, 1), reference, "seed {seed}, reversed");
        assert_eq!(lottery_winners(seed, &shuffled, 2), reference, "seed {seed}, 2 threads");
        assert_eq!(lottery_winners(seed, &backward, 2), reference, "seed {seed}, 2 threads");
    }
    // And the seed matters.
    assert_ne!(lottery_winners(1, &forward, 1), lottery_winners(4, &forward, 1));
}

#[test]
fn equal_priority_entrants_win_equally_often() {
    // 6 entrants for 1 place, 600 seeded lotteries: each should win ~100 times.
    let mut wins = [0u32; 6];
    for seed in 0..600 {
        let (c, slot, release) = lottery_city(seed);
        let slot1 = {
            let s = c.engine.slot(slot).unwrap();
            c.slot(s.resource, s.date, 600, 1)
        };
        let patients: Vec<PatientId> = (0..6).map(|_| c.patient()).collect();
        c.engine.advance_to(release.plus_s(1)).unwrap();
        for p in &patients {
            c.engine.submit(&c.req(*p, slot1)).unwrap();
        }
        c.engine.advance_to(release.plus_s(61)).unwrap();
        for (i, p) in patients.iter().enumerate() {
            if !c.engine.patient_record(*p).unwrap().active_bookings.is_empty() {
                wins[i] += 1;
            }
        }
    }
    assert_eq!(wins.iter().sum::<u32>(), 600);
    // Binomial(600, 1/6): mean 100, σ ≈ 9.1; 4.5σ bounds make a false failure ~1e-5.
    for w in wins {
        assert!((59..=141).contains(&w), "{wins:?}");
    }
    let chi2: f64 = wins.iter().map(|&w| (w as f64 - 100.0).powi(2) / 100.0).sum();
    assert!(chi2 < 20.5, "chi² {chi2:.1} with 5 degrees of freedom (p ≈ 0.001): {wins:?}");
}

#[test]
fn priority_and_no_show_history_shape_the_lottery() {
    let (c, _, release) = lottery_city(3);
    let p = c.patient();
    let r = referral(&c, p, c.community, Urgency::Urgent);
    let q = c.patient();
    let s = c.slot(c.doctor[2], day0().plus_days(7), 900, 1);
    let rx = c.engine.subscribe();
    c.engine.advance_to(release.plus_s(1)).unwrap();
    c.engine.submit(&c.req(p, s).with_referral(r)).unwrap();
    c.engine.submit(&c.req(q, s)).unwrap();
    let weights: Vec<f64> = rx
        .try_iter()
        .filter_map(|e| match e.kind {
            EventKind::LotteryEntered { weight, .. } => Some(weight),
            _ => None,
        })
        .collect();
    assert_eq!(weights, [4.0, 1.0]);
}

#[test]
fn waitlist_offer_passes_on_when_unanswered() {
    let c = city();
    let d1 = day0().plus_days(1);
    let slot = c.slot(c.doctor[0], d1, 480, 1);
    let holder = c.patient();
    let booked = c.engine.book(&c.req(holder, slot)).unwrap();
    let (first, second) = (c.patient(), c.patient());
    let join = |p| {
        c.engine
            .join_waitlist(&WaitlistRequest {
                patient: p,
                department: c.cardio[0],
                resource: None,
                date_from: d1,
                date_to: d1,
                time: None,
                channel: c.app,
                referral: None,
                follow_up: false,
            })
            .unwrap()
    };
    join(first);
    join(second);
    assert_eq!(c.engine.waitlist(c.cardio[0]).unwrap().len(), 2);
    c.engine.cancel(booked.id).unwrap();
    let offered = c.engine.patient_record(first).unwrap().active_bookings;
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0].state, BookingState::Held);
    assert!(offered[0].offer.is_some());
    assert_eq!(offered[0].expires_at, c.engine.now().plus_s(900));
    // Unanswered: the offer expires and passes to the next patient.
    c.engine.advance_clock(900).unwrap();
    let next = c.engine.patient_record(second).unwrap().active_bookings;
    assert_eq!(next.len(), 1);
    c.engine.confirm(next[0].id).unwrap();
    assert!(c.engine.waitlist(c.cardio[0]).unwrap().is_empty());
    assert_eq!(c.engine.patient_record(second).unwrap().waitlist_entries, 0);
}

#[test]
fn waitlist_serves_referrals_first_and_respects_its_limits() {
    let c = city();
    let d1 = day0().plus_days(1);
    let slot = c.slot(c.doctor[2], d1, 480, 1);
    let b = c.engine.book(&c.req(c.patient(), slot)).unwrap();
    let general = c.patient();
    let urgent = c.patient();
    let r = referral(&c, urgent, c.community, Urgency::Urgent);
    let wl = |p, referral| WaitlistRequest {
        patient: p,
        department: c.cardio[2],
        resource: None,
        date_from: d1,
        date_to: d1,
        time: None,
        channel: c.app,
        referral,
        follow_up: false,
    };
    c.engine.join_waitlist(&wl(general, None)).unwrap();
    c.engine.join_waitlist(&wl(urgent, Some(r))).unwrap();
    let list = c.engine.waitlist(c.cardio[2]).unwrap();
    assert_eq!(list[0].request.patient, urgent, "urgent referral first, although it joined later");
    c.engine.cancel(b.id).unwrap();
    assert_eq!(c.engine.patient_record(urgent).unwrap().active_bookings.len(), 1);
    // At most 3 entries per patient.
    let p = c.patient();
    for _ in 0..3 {
        c.engine.join_waitlist(&wl(p, None)).unwrap();
    }
    assert!(matches!(
        c.engine.join_waitlist(&wl(p, None)),
        Err(Error::LimitReached { limit: LimitKind::WaitlistEntries, .. })
    ));
    let e = c
        .engine
        .waitlist(c.cardio[2])
        .unwrap()
        .into_iter()
        .find(|e| e.request.patient == p)
        .unwrap();
    c.engine.leave_waitlist(e.id).unwrap();
    assert!(c.engine.leave_waitlist(e.id).is_err());
    assert!(c
        .engine
        .join_waitlist(&WaitlistRequest { date_to: d1.plus_days(-5), ..wl(p, None) })
        .is_err());
}
