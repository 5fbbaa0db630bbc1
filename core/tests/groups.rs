//! Booking groups (multi-place bookings, all or nothing): bed stays, a visit with its exam,
//! rescheduling, cancellation, provider suspensions, races for the last beds, and the journal's
//! group record across a reopen and a torn tail.

mod common;
#[path = "durability_support/mod.rs"]
mod durability_support;

use common::*;
use haoyuan::*;
use std::sync::Arc;

/// Two maternity wards in two districts, one bed resource each, `beds` beds a night for
/// nights day0+1 ..= day0+7; plus the city's cardiology doctors.
struct Wards {
    c: City,
    ward: [DepartmentId; 2],
    bed: [ResourceId; 2],
    /// nights[w][n]: ward w's slot of night day0+1+n.
    nights: [Vec<SlotId>; 2],
}

fn wards_with(policy: Policy, beds: u16) -> Wards {
    let c = city_with(policy, at(day0(), 16, 0));
    let e = &c.engine;
    let siming = e.add_institution("Xiamen Maternity Hospital", Tier::Tertiary, "Siming").unwrap();
    let ward = [
        e.add_department(c.tertiary, "obstetrics", "Obstetric ward").unwrap(),
        e.add_department(siming, "obstetrics", "Obstetric ward").unwrap(),
    ];
    let bed = [
        e.add_resource(ward[0], ResourceKind::Bed, "Delivery beds", false).unwrap(),
        e.add_resource(ward[1], ResourceKind::Bed, "Delivery beds", false).unwrap(),
    ];
    let nights = bed.map(|r| {
        let specs: Vec<SlotSpec> = (1..=7)
            .map(|n| SlotSpec {
                resource: r,
                date: day0().plus_days(n),
                start_min: 20 * 60,
                end_min: 20 * 60 + 1,
                capacity: beds,
            })
            .collect();
        e.publish_slots(&specs).unwrap().iter().collect()
    });
    Wards { c, ward, bed, nights }
}

fn no_shares() -> Policy {
    let mut p = Policy::default();
    p.referral.share = 0.0;
    p
}

fn wards(beds: u16) -> Wards {
    wards_with(no_shares(), beds)
}

impl Wards {
    fn stay(&self, patient: PatientId, ward: usize, from: usize, nights: usize) -> GroupRequest {
        GroupRequest {
            patient,
            channel: self.c.app,
            slots: self.nights[ward][from..from + nights].to_vec(),
            referral: None,
        }
    }
    fn free(&self, slot: SlotId) -> u32 {
        let s = self.c.engine.slot(slot).unwrap();
        s.pool_places.total() - s.pool_taken.total()
    }
}

#[test]
fn a_stay_takes_every_night_and_counts_once_against_the_limits() {
    let mut policy = no_shares();
    policy.limits.per_visit_date = 1;
    policy.limits.total_active = 2;
    let w = wards_with(policy, 2);
    let mother = w.c.patient();
    let stay = w.c.engine.book_group(&w.stay(mother, 0, 0, 3)).unwrap();
    assert_eq!(stay.id, stay.bookings[0].id);
    assert_eq!(stay.bookings.iter().map(|b| b.slot).collect::<Vec<_>>(), w.nights[0][0..3]);
    assert!(stay.bookings.iter().all(|b| b.state == BookingState::Booked));
    for n in 0..3 {
        assert_eq!(w.free(w.nights[0][n]), 1);
    }
    // Counted once, on its first night: the second night's date is still free for one booking,
    // and the stay plus that booking reach the total of 2.
    let visit = w.c.slot(w.c.doctor[2], day0().plus_days(2), 480, 5);
    w.c.engine.book(&w.c.req(mother, visit)).unwrap();
    let other = w.c.slot(w.c.doctor[3], day0().plus_days(5), 480, 5);
    match w.c.engine.book(&w.c.req(mother, other)) {
        Err(Error::LimitReached { limit: LimitKind::TotalActive, .. }) => {}
        r => panic!("expected the total limit, got {r:?}"),
    }
    // The first night's date is taken by the stay.
    let same_day = w.c.slot(w.c.doctor[3], day0().plus_days(1), 480, 5);
    assert!(matches!(w.c.engine.book(&w.c.req(mother, same_day)), Err(Error::LimitReached { .. })));
    let group = w.c.engine.booking_group(stay.bookings[2].id).unwrap();
    assert_eq!(group, stay);
}

#[test]
fn under_every_date_a_stay_takes_a_per_date_place_on_each_night() {
    let mut policy = no_shares();
    policy.limits.per_visit_date = 1;
    policy.limits.group_dates = GroupDates::Every;
    let w = wards_with(policy, 2);
    let mother = w.c.patient();
    w.c.engine.book_group(&w.stay(mother, 0, 0, 3)).unwrap();
    // The second night's date is taken by the stay now (the default counts only the first).
    let visit = w.c.slot(w.c.doctor[2], day0().plus_days(2), 480, 5);
    match w.c.engine.book(&w.c.req(mother, visit)) {
        Err(Error::LimitReached { limit: LimitKind::PerVisitDate, .. }) => {}
        r => panic!("expected the per-date limit on the second night, got {r:?}"),
    }
    let after = w.c.slot(w.c.doctor[2], day0().plus_days(4), 480, 5);
    w.c.engine.book(&w.c.req(mother, after)).unwrap();
    // A second stay over a booked date is refused on that date, whole.
    let other = w.c.patient();
    w.c.engine.book(&w.c.req(other, w.c.slot(w.c.doctor[3], day0().plus_days(6), 480, 5))).unwrap();
    assert!(matches!(
        w.c.engine.book_group(&w.stay(other, 1, 4, 3)),
        Err(Error::LimitReached { limit: LimitKind::PerVisitDate, .. })
    ));
    assert_eq!(w.free(w.nights[1][4]), 2, "nothing taken");
}

#[test]
fn one_full_night_fails_the_whole_stay_and_changes_nothing() {
    let w = wards(1);
    let first = w.c.patient();
    w.c.engine.book(&w.c.req(first, w.nights[0][2])).unwrap();
    let mother = w.c.patient();
    let seq = w.c.engine.last_event_seq();
    match w.c.engine.book_group(&w.stay(mother, 0, 0, 4)) {
        Err(Error::SlotFull { slot }) => assert_eq!(slot, w.nights[0][2]),
        r => panic!("expected the third night full, got {r:?}"),
    }
    assert_eq!(w.c.engine.last_event_seq(), seq, "nothing journaled");
    for n in [0, 1, 3] {
        assert_eq!(w.free(w.nights[0][n]), 1, "night {n} given back");
    }
    assert!(w.c.engine.patient_record(mother).unwrap().active_bookings.is_empty());
    w.c.engine.check_availability_index().unwrap();
}

#[test]
fn bad_group_requests_are_typed_errors_and_change_nothing() {
    let w = wards(2);
    let p = w.c.patient();
    let seq = w.c.engine.last_event_seq();
    let e = &w.c.engine;
    let mut req = w.stay(p, 0, 0, 2);
    req.slots.clear();
    assert!(matches!(e.book_group(&req), Err(Error::InvalidArgument(_))));
    req.slots = vec![w.nights[0][0], w.nights[0][0]];
    assert!(matches!(e.book_group(&req), Err(Error::InvalidArgument(_))));
    req.slots = vec![w.nights[0][0]; GROUP_PLACES_MAX + 1];
    assert!(matches!(e.book_group(&req), Err(Error::InvalidArgument(_))));
    req.slots = vec![w.nights[0][0], SlotId(999_999)];
    assert!(matches!(e.book_group(&req), Err(Error::NotFound { .. })));
    req.slots = vec![w.nights[0][0]];
    req.patient = PatientId(999_999);
    assert!(matches!(e.book_group(&req), Err(Error::NotFound { .. })));
    let mut req = w.stay(p, 0, 0, 2);
    req.channel = ChannelId(999);
    assert!(matches!(e.book_group(&req), Err(Error::NotFound { .. })));
    assert!(matches!(e.booking_group(BookingId(1 << 40)), Err(Error::NotFound { .. })));
    assert_eq!(e.last_event_seq(), seq);
    let bad = RescheduleRequest {
        booking: BookingId(1 << 40),
        slots: vec![w.nights[0][0]],
        channel: w.c.app,
    };
    assert!(matches!(e.reschedule(&bad), Err(Error::NotFound { .. })));
    let q = |nights, flex_days, limit| StayQuery {
        specialty: "obstetrics".into(),
        district: None,
        first_night: day0().plus_days(1),
        nights,
        flex_days,
        limit,
    };
    assert!(matches!(e.find_stays(&q(0, 0, 5)), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        e.find_stays(&q(2, STAY_FLEX_DAYS_MAX + 1, 5)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(e.find_stays(&q(2, 0, 0)), Err(Error::InvalidArgument(_))));
    let mut unknown = q(2, 0, 5);
    unknown.specialty = "dermatology".into();
    assert!(matches!(e.find_stays(&unknown), Err(Error::InvalidArgument(_))));
    assert_eq!(e.last_event_seq(), seq);
}

#[test]
fn cancelling_any_place_cancels_the_group_and_a_late_one_counts_once() {
    let w = wards(2);
    let mother = w.c.patient();
    let stay = w.c.engine.book_group(&w.stay(mother, 0, 0, 3)).unwrap();
    // After 15:00 the day before the first night: late.
    w.c.engine.advance_to(at(day0(), 15, 30).max(at(day0(), 16, 1))).unwrap();
    let cancelled = w.c.engine.cancel(stay.bookings[1].id).unwrap();
    assert_eq!(cancelled.id, stay.bookings[1].id);
    assert_eq!(cancelled.state, BookingState::Cancelled);
    let group = w.c.engine.booking_group(stay.id).unwrap();
    assert!(group.bookings.iter().all(|b| b.state == BookingState::Cancelled));
    for n in 0..3 {
        assert_eq!(w.free(w.nights[0][n]), 2);
    }
    let record = w.c.engine.patient_record(mother).unwrap();
    let weight = w.c.engine.policy().cancellation.late_cancel_weight;
    assert_eq!(record.no_shows_in_window, weight, "a late group cancellation counts once");
    assert!(matches!(w.c.engine.cancel(stay.id), Err(Error::WrongState { .. })));
}

#[test]
fn a_visit_with_its_exam_is_one_booking() {
    let w = wards(2);
    let e = &w.c.engine;
    let imaging = e.add_department(w.c.tertiary, "radiology", "Ultrasound").unwrap();
    let scanner = e.add_resource(imaging, ResourceKind::Exam, "Ultrasound 1", false).unwrap();
    let date = day0().plus_days(2);
    let visit = w.c.slot(w.c.doctor[2], date, 8 * 60, 1);
    let exam = w.c.slot(scanner, date, 9 * 60, 1);
    let p = w.c.patient();
    let g = e
        .book_group(&GroupRequest {
            patient: p,
            channel: w.c.app,
            slots: vec![visit, exam],
            referral: None,
        })
        .unwrap();
    assert_eq!(g.bookings[1].department, imaging);
    // Each place goes through its own lifecycle.
    e.advance_to(at(date, 7, 50)).unwrap();
    e.check_in(g.bookings[0].id).unwrap();
    e.fulfil(g.bookings[0].id).unwrap();
    e.check_in(g.bookings[1].id).unwrap();
    // A checked-in place cannot be moved.
    let later = w.c.slot(scanner, date, 10 * 60, 1);
    let r =
        e.reschedule(&RescheduleRequest { booking: g.id, slots: vec![later], channel: w.c.app });
    assert!(matches!(r, Err(Error::WrongState { .. })));
}

#[test]
fn rescheduling_takes_the_new_places_first_keeps_shared_ones_and_counts_once() {
    let mut policy = no_shares();
    policy.limits.total_active = 1;
    let w = wards_with(policy, 1);
    let e = &w.c.engine;
    let mother = w.c.patient();
    let stay = e.book_group(&w.stay(mother, 0, 0, 3)).unwrap();
    // At the total limit of 1, a move still passes: the stay counts once throughout.
    let moved = e
        .reschedule(&RescheduleRequest {
            booking: stay.bookings[0].id,
            slots: w.nights[0][1..5].to_vec(),
            channel: w.c.app,
        })
        .unwrap();
    assert_eq!(moved.replaces, Some(stay.id));
    assert_eq!(moved.bookings.len(), 4);
    assert_eq!(w.free(w.nights[0][0]), 1, "the dropped night is free again");
    for n in 1..5 {
        assert_eq!(w.free(w.nights[0][n]), 0, "night {n} (kept or new) is taken once");
    }
    let old = e.booking_group(stay.id).unwrap();
    assert!(old.bookings.iter().all(|b| b.state == BookingState::Cancelled));
    assert_eq!(e.patient_record(mother).unwrap().no_shows_in_window, 0.0, "moving is not late");
    // A move onto a full night changes nothing.
    let other = w.c.patient();
    e.book(&w.c.req(other, w.nights[0][6])).unwrap();
    let seq = e.last_event_seq();
    let r = e.reschedule(&RescheduleRequest {
        booking: moved.id,
        slots: w.nights[0][4..7].to_vec(),
        channel: w.c.app,
    });
    assert!(matches!(r, Err(Error::SlotFull { .. })), "{r:?}");
    assert_eq!(e.last_event_seq(), seq);
    assert_eq!(w.free(w.nights[0][5]), 1);
    assert!(e
        .booking_group(moved.id)
        .unwrap()
        .bookings
        .iter()
        .all(|b| b.state == BookingState::Booked));
    e.check_availability_index().unwrap();
    // A single booking can be moved into a group too.
    let visit = w.c.slot(w.c.doctor[2], day0().plus_days(3), 480, 5);
    let third = w.c.patient();
    let single = e.book(&w.c.req(third, visit)).unwrap();
    let g = e
        .reschedule(&RescheduleRequest {
            booking: single.id,
            slots: vec![visit, w.nights[1][2]],
            channel: w.c.app,
        })
        .unwrap();
    assert_eq!(g.replaces, Some(single.id));
    assert_eq!(e.booking(single.id).unwrap().state, BookingState::Cancelled);
}

#[test]
fn a_provider_suspension_ends_the_whole_group_without_counting_it() {
    let w = wards(2);
    let e = &w.c.engine;
    let mother = w.c.patient();
    let stay = e.book_group(&w.stay(mother, 0, 0, 3)).unwrap();
    let report = e.suspend_session(w.bed[0], day0().plus_days(2), None).unwrap();
    assert_eq!(report.cancelled.len(), 3);
    let g = e.booking_group(stay.id).unwrap();
    assert!(g.bookings.iter().all(|b| b.state == BookingState::ProviderCancelled));
    assert_eq!(w.free(w.nights[0][0]), 2, "the other nights are given back");
    assert_eq!(e.patient_record(mother).unwrap().no_shows_in_window, 0.0);
    assert!(e.slot(w.nights[0][1]).unwrap().closed);
    assert!(!e.slot(w.nights[0][0]).unwrap().closed, "only the suspended night closes");
}

#[test]
fn stays_overlapping_on_the_last_bed_never_both_win() {
    for round in 0..20 {
        let w = Arc::new(wards(1));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = w.clone();
                let p = w.c.patient();
                std::thread::spawn(move || {
                    // Stays of 3 nights starting at night t: every pair overlaps on night 3
                    // or shares a night with a neighbour.
                    let from = t % 2 + (t / 2) * 2;
                    w.c.engine.book_group(&w.stay(p, 0, from.min(4), 3)).is_ok()
                })
            })
            .collect();
        let won: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let taken: u32 = w.nights[0].iter().map(|s| 1 - w.free(*s)).sum();
        assert_eq!(
            taken,
            3 * won.iter().filter(|x| **x).count() as u32,
            "round {round}: all or nothing"
        );
        for s in &w.nights[0] {
            let info = w.c.engine.slot(*s).unwrap();
            assert!(info.pool_taken.total() <= info.pool_places.total(), "round {round}: oversold");
        }
        assert!(won.iter().any(|x| *x), "round {round}: someone wins a free ward");
        w.c.engine.check_availability_index().unwrap();
    }
}

#[test]
fn find_stays_offers_the_district_first_then_the_earliest_night() {
    let w = wards(1);
    let e = &w.c.engine;
    // Siming's ward is full on night 2: its earliest 3-night stay from night 1 starts on night 3.
    e.book(&w.c.req(w.c.patient(), w.nights[1][1])).unwrap();
    let q = StayQuery {
        specialty: "obstetrics".into(),
        district: Some("Siming".into()),
        first_night: day0().plus_days(1),
        nights: 3,
        flex_days: 3,
        limit: 10,
    };
    let offers = e.find_stays(&q).unwrap();
    assert_eq!(offers.len(), 2);
    assert_eq!(offers[0].department, w.ward[1]);
    assert!(offers[0].same_district);
    assert_eq!(offers[0].first_night, day0().plus_days(3));
    assert_eq!(offers[0].slots, w.nights[1][2..5]);
    assert_eq!(offers[1].department, w.ward[0]);
    assert_eq!(offers[1].first_night, day0().plus_days(1));
    // No flexibility: Siming has no stay from night 1.
    let strict = e.find_stays(&StayQuery { flex_days: 0, ..q.clone() }).unwrap();
    assert_eq!(strict.iter().map(|o| o.department).collect::<Vec<_>>(), vec![w.ward[0]]);
    // The offer books.
    let g = e
        .book_group(&GroupRequest {
            patient: w.c.patient(),
            channel: w.c.app,
            slots: offers[0].slots.clone(),
            referral: None,
        })
        .unwrap();
    assert_eq!(g.bookings.len(), 3);
}

mod durable {
    use super::durability_support as ds;
    use super::*;

    fn options() -> OpenOptions {
        OpenOptions::new(Durability::Sync)
            .config(ds::config())
            .clock(ClockKind::Manual(ds::start()))
    }

    /// Beds published in a durable engine (no City: the durable tests use their own world).
    fn ward(e: &Engine) -> (ResourceId, Vec<SlotId>, ChannelId) {
        let h = e.add_institution("Xiamen Maternity Hospital", Tier::Tertiary, "Siming").unwrap();
        let ward = e.add_department(h, "obstetrics", "Obstetric ward").unwrap();
        let bed = e.add_resource(ward, ResourceKind::Bed, "Delivery beds", false).unwrap();
        let specs: Vec<SlotSpec> = (1..=7)
            .map(|n| SlotSpec {
                resource: bed,
                date: ds::day0().plus_days(n),
                start_min: 20 * 60,
                end_min: 20 * 60 + 1,
                capacity: 3,
            })
            .collect();
        (bed, e.publish_slots(&specs).unwrap().iter().collect(), e.channel_id("app").unwrap())
    }

    #[test]
    fn groups_replay_identically_after_reopen_and_from_a_snapshot() {
        let dir = ds::fresh_dir("groups-reopen");
        let digest = {
            let d = DurableEngine::open(&dir, options()).unwrap();
            let e = d.engine();
            let (bed, nights, app) = ward(e);
            let ps: Vec<PatientId> = (0..4).map(|_| e.register_patient().unwrap()).collect();
            let g = |p, a: usize, n: usize| GroupRequest {
                patient: p,
                channel: app,
                slots: nights[a..a + n].to_vec(),
                referral: None,
            };
            let a = e.book_group(&g(ps[0], 0, 3)).unwrap();
            let b = e.book_group(&g(ps[1], 1, 3)).unwrap();
            d.snapshot().unwrap();
            e.reschedule(&RescheduleRequest {
                booking: a.id,
                slots: nights[2..6].to_vec(),
                channel: app,
            })
            .unwrap();
            e.book_group(&g(ps[2], 4, 2)).unwrap();
            e.cancel(b.bookings[2].id).unwrap();
            e.book_group(&g(ps[3], 0, 2)).unwrap();
            e.suspend_session(bed, ds::day0().plus_days(5), None).unwrap();
            e.check_availability_index().unwrap();
            let digest = d.state_digest().unwrap();
            d.close().unwrap();
            digest
        };
        let d = DurableEngine::open(&dir, options()).unwrap();
        assert_eq!(d.state_digest().unwrap(), digest);
        assert!(d.recovery_report().snapshot_seq.is_some(), "recovered through the snapshot");
        d.engine().check_availability_index().unwrap();
        drop(d);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Writes the fuzz seed `fuzz/corpus/journal/group` (a segment holding group records):
    /// `cargo test -p haoyuan --test groups write_group_seed -- --ignored`.
    #[test]
    #[ignore = "regenerates a fuzz corpus seed"]
    fn write_group_seed() {
        let dir = ds::fresh_dir("groups-seed");
        {
            let d = DurableEngine::open(&dir, options()).unwrap();
            let e = d.engine();
            let (bed, nights, app) = ward(e);
            let p = e.register_patient().unwrap();
            let g = GroupRequest {
                patient: p,
                channel: app,
                slots: nights[0..3].to_vec(),
                referral: None,
            };
            let g = e.book_group(&g).unwrap();
            let g = e
                .reschedule(&RescheduleRequest {
                    booking: g.id,
                    slots: nights[1..4].to_vec(),
                    channel: app,
                })
                .unwrap();
            e.suspend_session(bed, ds::day0().plus_days(3), None).unwrap();
            e.cancel(g.id).unwrap_err();
            d.close().unwrap();
        }
        let seg = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "hyj"))
            .unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/journal");
        std::fs::write(root.join("group"), std::fs::read(seg).unwrap()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A crash in the middle of writing a group record: recovery cuts the torn record, and
    /// none of the group is there — no booking, no place counted.
    #[test]
    fn a_torn_group_record_leaves_none_of_the_group() {
        let dir = ds::fresh_dir("groups-torn");
        let (nights, patient) = {
            let d = DurableEngine::open(&dir, options()).unwrap();
            let e = d.engine();
            let (_, nights, app) = ward(e);
            let p = e.register_patient().unwrap();
            e.book_group(&GroupRequest {
                patient: p,
                channel: app,
                slots: nights[0..5].to_vec(),
                referral: None,
            })
            .unwrap();
            d.close().unwrap();
            (nights, p)
        };
        let mut segments: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "hyj"))
            .collect();
        segments.sort();
        let last = segments.last().unwrap();
        let len = std::fs::metadata(last).unwrap().len();
        // The group is the last record; cut its last 10 bytes (a torn write).
        std::fs::OpenOptions::new().write(true).open(last).unwrap().set_len(len - 10).unwrap();
        let d = DurableEngine::open(&dir, options()).unwrap();
        assert!(d.recovery_report().torn_tail.is_some());
        assert!(d.engine().patient_record(patient).unwrap().active_bookings.is_empty());
        for s in &nights {
            assert_eq!(d.engine().slot(*s).unwrap().pool_taken.total(), 0);
        }
        drop(d);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
