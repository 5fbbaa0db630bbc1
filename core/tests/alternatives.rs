//! `alternatives` against a reference built from public calls, on districts larger than the
//! small city of the other tests: many clinics of one specialty opening at the same few
//! minutes, so that candidates tie on their earliest place and the answer's cut falls among
//! them. The engine reads the lists of only the candidates that can still rank (in the order of
//! a bound from their counters); the reference reads every department. Both must give the same
//! departments, places and loads, in the same order: (date, start, load of that day, member
//! order — the order departments joined the district's specialty, here their creation order).
//! Each clinic has two doctors whose slots are published in a generated order, so slots that
//! start together may have their ids in either doctor order: the place offered is the one the
//! department's query lists first (the lowest id), which the reference takes.

mod common;
use common::*;
use haoyuan::*;
use proptest::prelude::*;

/// One department's day: slots (doctor 0 or 1, start index into `STARTS`, capacity), published
/// in this order (so a later-registered doctor's slot may have the lower id), and how many
/// public bookings to try on it, slot by slot from the first.
#[derive(Clone, Debug)]
struct DaySpec {
    slots: Vec<(usize, usize, u16)>,
    bookings: usize,
}

/// Few distinct starts: clinics that open at the same hour tie.
const STARTS: [u16; 4] = [480, 495, 510, 540];

fn day_spec() -> impl Strategy<Value = DaySpec> {
    // Up to five places: a kiosk quota of 40% keeps one from three, two from five.
    (prop::collection::vec((0..2usize, 0..STARTS.len(), 1u16..=5), 0..5), 0usize..8)
        .prop_map(|(slots, bookings)| DaySpec { slots, bookings })
}

/// A district: the home department (full) and `n` others, each with its days' specs.
fn district() -> impl Strategy<Value = (Vec<Vec<DaySpec>>, u32, usize)> {
    // Most districts small; some of over a hundred clinics, whose days have dozens of
    // candidates (a read order that sorted only its first few was tried against these).
    (2usize..=3, prop_oneof![3 => 1usize..24, 1 => 100usize..180]).prop_flat_map(|(days, n)| {
        (prop::collection::vec(prop::collection::vec(day_spec(), days), n), 1u32..=8, Just(days))
    })
}

/// An engine under `policy` at 16:00 of day 0, with the app channel, the first visit day, and
/// the home department (paediatrics of a tertiary hospital in Nancheng) that asks.
fn district_at_four(policy: Policy) -> (Engine, ChannelId, Date, DepartmentId) {
    let engine = Engine::with_manual_clock(
        EngineConfig { policy, utc_offset_s: OFFSET, ..EngineConfig::default() },
        at(day0(), 16, 0),
    )
    .unwrap();
    let app = engine.channel_id("app").unwrap();
    let home_inst = engine.add_institution("Home Hospital", Tier::Tertiary, "Nancheng").unwrap();
    let home = engine.add_department(home_inst, "paediatrics", "Paediatrics").unwrap();
    (engine, app, day0().plus_days(1), home)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn alternatives_equal_a_reference_that_reads_every_department(
        (departments, limit, days) in district(),
        by_wait in any::<bool>(),
        (rollover, quota_cutoff_h, close_day_before, asked_after_min) in (
            any::<bool>(),
            prop::option::of(0u32..=3),
            prop::option::of(prop::sample::select(vec![17 * 60u16, 23 * 60])),
            // Often in the hours before the first day's sessions, when a quota has rolled over
            // for every start of the day (the pools, alike for the whole day, then include it)
            // while the scans of 16:00 moved the day's hints with the general pool alone.
            prop_oneof![0i64..=1_050, 780i64..=960],
        ),
        cancel_every in prop::option::of(1usize..=4),
    ) {
        // Ranked by expected wait, the days after today rank as by earliest place (no queue
        // yet: a wait of 0), and the engine prunes them alike.
        let mut policy = Policy::default();
        if by_wait {
            policy.board.rank_alternatives = AlternativesRank::ExpectedWait;
        }
        // What a public requester may take moves with the clock and a slot's start: booking
        // closes (at the start, or the evening before), a kiosk quota rolls into the general
        // pool hours before the start, referral places roll over at the public opening or not.
        // The call is asked at a generated minute from the evening before the first day to
        // that morning's sessions, so that the first day's slots answer differently by start.
        // (A shortcut that took one answer for a whole date was checked here.)
        policy.referral.rollover_at_public_open = rollover;
        policy.window.close_day_before_at_min = close_day_before;
        if let Some(h) = quota_cutoff_h {
            policy.channel_quotas = vec![ChannelQuota {
                channels: vec!["kiosk".into()],
                share: 0.4,
                cutoff_hours_before_start: h,
            }];
        }
        let (engine, app, d1, home) = district_at_four(policy);
        let mut others = Vec::new();
        let mut booked = Vec::new();
        for (k, spec) in departments.iter().enumerate() {
            // Every other one a secondary hospital, whose slots keep a referral share.
            let tier = if k % 2 == 0 { Tier::Community } else { Tier::Secondary };
            let inst =
                engine.add_institution(&format!("Clinic {k}"), tier, "Nancheng").unwrap();
            let d = engine.add_department(inst, "paediatrics", "Paediatrics").unwrap();
            let doctors = [0, 1].map(|i| {
                engine.add_resource(d, ResourceKind::Doctor, &format!("Dr {k}.{i}"), false).unwrap()
            });
            for (day, ds) in spec.iter().enumerate() {
                let date = d1.plus_days(day as i32);
                let specs: Vec<SlotSpec> = ds
                    .slots
                    .iter()
                    .map(|&(doctor, s, capacity)| SlotSpec {
                        resource: doctors[doctor],
                        date,
                        start_min: STARTS[s],
                        end_min: STARTS[s] + 15,
                        capacity,
                    })
                    .collect();
                if specs.is_empty() {
                    continue;
                }
                let range = engine.publish_slots(&specs).unwrap();
                // Bookings in start order, a place at a time, until the public's are gone.
                let mut ids: Vec<SlotId> = (range.start.0..range.end.0).map(SlotId).collect();
                ids.sort_by_key(|id| engine.slot(*id).unwrap().start_min);
                let mut left = ds.bookings;
                for id in ids {
                    while left > 0 {
                        let p = engine.register_patient().unwrap();
                        match engine.book(&Request::new(p, id, app)) {
                            Ok(b) => booked.push(b.id),
                            Err(_) => break,
                        }
                        left -= 1;
                    }
                }
            }
            others.push(d);
        }
        let to = d1.plus_days(days as i32 - 1);
        // Queries first, whose scans move the days' hints past the slots they read full (the
        // bound `alternatives` orders candidates by); then, maybe, cancellations, which send a
        // hint back where they free a place in a slot it counted full.
        let _ = engine.alternatives(home, d1, to, limit).unwrap();
        for d in &others {
            let _ = engine.find_free_slots(&AvailabilityQuery::department(*d, d1, to)).unwrap();
        }
        if let Some(n) = cancel_every {
            for b in booked.iter().step_by(n) {
                engine.cancel(*b).unwrap();
            }
        }
        engine.advance_to(at(day0(), 16, 0).plus_s(asked_after_min * 60)).unwrap();
        let got = engine.alternatives(home, d1, to, limit).unwrap();
        prop_assert_eq!(engine.check_availability_index(), Ok(()));

        // The reference: each other department's earliest free place for the public, the load
        // of that day recounted from its slots, ranked by (date, start, load, creation order).
        let mut want = Vec::new();
        for (k, d) in others.iter().enumerate() {
            let mut q = AvailabilityQuery::department(*d, d1, to);
            q.limit = 1;
            let Some(f) = engine.find_free_slots(&q).unwrap().into_iter().next() else { continue };
            let (mut taken, mut places) = (0u32, 0u32);
            for r in engine.resources_of(*d).unwrap() {
                for id in engine.resource_day_slots(r.id, f.date).unwrap() {
                    let s = engine.slot(id).unwrap();
                    taken += s.pool_taken.total();
                    places += s.capacity as u32;
                }
            }
            let load = if places == 0 { 0.0 } else { (taken as f32 / places as f32).min(1.0) };
            want.push((f.date, f.start_min, load, k, *d, f.slot));
        }
        want.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)).then(a.3.cmp(&b.3)));
        want.truncate(limit as usize);
        let want: Vec<_> = want.into_iter().map(|(date, start, load, _, d, slot)| (d, date, start, slot, load)).collect();
        let got: Vec<_> = got
            .iter()
            .map(|a| (a.department, a.earliest.date, a.earliest.start_min, a.earliest.slot, a.load))
            .collect();
        prop_assert_eq!(got, want);
    }
}

/// A day's hint knows where the general pool's free places begin, and `alternatives` orders
/// candidates by it — but only for a requester whose pools start there. In each case below,
/// clinic A's 08:00 slot is full in the general pool and keeps places of another pool: a
/// public query at 16:00 the day before moves the day's hint past it (to 10:00). Then that
/// other pool opens to the public (`opens`), so the 08:00 place is theirs again, and it must
/// outrank clinic B's 09:00 place with a limit of one (a bound of 10:00 would read B first and
/// stop there).
fn the_hint_of_a_pool_opened_later(policy: Policy, tier: Tier, opens: impl Fn(&Engine)) {
    let (engine, app, d1, home) = district_at_four(policy);
    let clinic = |name: &str, starts: &[u16]| {
        let inst = engine.add_institution(name, tier, "Nancheng").unwrap();
        let d = engine.add_department(inst, "paediatrics", "Paediatrics").unwrap();
        let r = engine.add_resource(d, ResourceKind::Doctor, "Dr", false).unwrap();
        let specs: Vec<SlotSpec> = starts
            .iter()
            .map(|&s| SlotSpec {
                resource: r,
                date: d1,
                start_min: s,
                end_min: s + 15,
                capacity: 5,
            })
            .collect();
        (d, engine.publish_slots(&specs).unwrap())
    };
    let (a, a_slots) = clinic("Clinic A", &[480, 600]);
    let (b, _) = clinic("Clinic B", &[540]);
    // Clinic A's 08:00 slot: every general place booked through the app; the others stay.
    let early = a_slots.start;
    while engine.book(&Request::new(engine.register_patient().unwrap(), early, app)).is_ok() {}
    assert!(engine.slot(early).unwrap().pool_taken.total() < 5, "another pool's places are left");
    let public = AvailabilityQuery::department(a, d1, d1);
    assert_eq!(engine.find_free_slots(&public).unwrap()[0].start_min, 600);
    opens(&engine);
    let first = engine.find_free_slots(&public).unwrap();
    assert_eq!((first[0].slot, first[0].start_min), (early, 480), "the place is public");
    let got = engine.alternatives(home, d1, d1, 1).unwrap();
    assert_eq!(
        got.iter().map(|x| (x.department, x.earliest.start_min)).collect::<Vec<_>>(),
        [(a, 480)]
    );
    // And with room for both, B's 09:00 after it.
    let got = engine.alternatives(home, d1, d1, 2).unwrap();
    assert_eq!(got.iter().map(|x| x.department).collect::<Vec<_>>(), [a, b]);
    assert_eq!(engine.check_availability_index(), Ok(()));
}

/// A kiosk quota rolled over to the public (by 07:30, three hours before each start): the
/// pools include a quota, which has no head.
#[test]
fn a_hint_does_not_bound_a_quota_rolled_over() {
    let mut policy = Policy::default();
    policy.channel_quotas = vec![ChannelQuota {
        channels: vec!["kiosk".into()],
        share: 0.4,
        cutoff_hours_before_start: 3,
    }];
    the_hint_of_a_pool_opened_later(policy, Tier::Community, |engine| {
        engine.advance_to(at(day0().plus_days(1), 7, 30)).unwrap();
    });
}

/// A secondary clinic's referral places, opened to the public by a new policy: the pools
/// include the referral pool, whose head (0) is short of the general one.
#[test]
fn a_hint_does_not_bound_a_referral_pool_short_of_the_general_head() {
    let mut policy = Policy::default();
    policy.referral.rollover_at_public_open = false;
    let mut opened = policy.clone();
    opened.referral.rollover_at_public_open = true;
    the_hint_of_a_pool_opened_later(policy, Tier::Secondary, |engine| {
        engine.set_policy(opened.clone()).unwrap();
    });
}
