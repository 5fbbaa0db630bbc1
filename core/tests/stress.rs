//! Multi-threaded stress: 8 threads × 100,000 mixed operations racing for a few slots, with
//! limits, referrals, waitlist offers, expiries, booking groups (several places all or nothing)
//! and their moves, and a provider suspension in the mix. Afterwards
//! every invariant is checked against the bookings themselves:
//! - no slot (and no pool) holds more places than it has (invariant 1);
//! - the places each slot counts taken equal the active bookings that point at it, so every
//!   hold is accounted for (invariant 3) and nothing leaked;
//! - no patient has more active bookings than a limit allows (invariant 2), a group counted once;
//! - no booking group is left partly cancelled.

mod common;
use common::*;
use haoyuan::*;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;

const THREADS: usize = 8;
const OPS_PER_THREAD: usize = 100_000;

#[test]
fn eight_threads_race_for_few_slots_without_breaking_invariants() {
    // 09:00: cancellations are still free (until 15:00 the day before), so patients are not
    // suspended en masse by late cancels; suspension has its own tests.
    let c = city_with(Policy::default(), at(day0(), 9, 0));
    let engine = Arc::new(c.engine);
    let dates: Vec<Date> = (1..=3).map(|d| day0().plus_days(d)).collect();
    let mut slots = Vec::new();
    for &date in &dates {
        for &doctor in &c.doctor {
            let specs: Vec<SlotSpec> = (0..4)
                .map(|i| SlotSpec {
                    resource: doctor,
                    date,
                    start_min: 480 + i * 15,
                    end_min: 495 + i * 15,
                    capacity: 3,
                })
                .collect();
            let r = engine.publish_slots(&specs).unwrap();
            slots.extend((r.start.0..r.end.0).map(SlotId));
        }
    }
    let patients: Vec<PatientId> = (0..200).map(|_| engine.register_patient().unwrap()).collect();
    let referrals: Vec<(PatientId, ReferralId)> = patients[..50]
        .iter()
        .map(|&p| {
            let r = engine
                .issue_referral(&ReferralRequest {
                    patient: p,
                    from: c.community,
                    specialty: "cardiology".into(),
                    institution: None,
                    urgency: Urgency::Urgent,
                    valid_days: 30,
                })
                .unwrap();
            (p, r.id)
        })
        .collect();
    let departments = c.cardio;
    let app = c.app;

    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let engine = engine.clone();
            let slots = slots.clone();
            let patients = patients.clone();
            let referrals = referrals.clone();
            let dates = dates.clone();
            std::thread::spawn(move || {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(t as u64);
                let mut mine: Vec<BookingId> = Vec::new();
                let mut counts = [0usize; 4];
                for i in 0..OPS_PER_THREAD {
                    // Thread 0 moves the clock (2 minutes per 2,000 of its operations, 100
                    // minutes in all): holds expire and waitlist offers pass on mid-race.
                    if t == 0 && i % 2000 == 0 {
                        engine.advance_clock(120).unwrap();
                    }
                    let slot = slots[rng.random_range(0..slots.len())];
                    let patient = patients[rng.random_range(0..patients.len())];
                    match rng.random_range(0..100) {
                        0..=29 => {
                            if let Ok(b) = engine.hold(&Request::new(patient, slot, app)) {
                                mine.push(b.id);
                                counts[0] += 1;
                            }
                        }
                        30..=49 => {
                            if let Ok(b) = engine.book(&Request::new(patient, slot, app)) {
                                mine.push(b.id);
                                counts[0] += 1;
                            }
                        }
                        50..=54 => {
                            let (p, r) = referrals[rng.random_range(0..referrals.len())];
                            if let Ok(b) = engine.book(&Request::new(p, slot, app).with_referral(r))
                            {
                                mine.push(b.id);
                            }
                        }
                        55..=69 if !mine.is_empty() => {
                            let b = mine.swap_remove(rng.random_range(0..mine.len()));
                            if engine.confirm(b).is_ok() {
                                counts[1] += 1;
                            }
                            mine.push(b);
                        }
                        70..=89 if !mine.is_empty() => {
                            let b = mine.swap_remove(rng.random_range(0..mine.len()));
                            if engine.cancel(b).is_ok() {
                                counts[2] += 1;
                            }
                        }
                        90 => {
                            let d = dates[rng.random_range(0..dates.len())];
                            let _ = engine.join_waitlist(&WaitlistRequest {
                                patient,
                                department: departments[rng.random_range(0..4)],
                                resource: None,
                                date_from: d,
                                date_to: d,
                                time: None,
                                channel: app,
                                referral: None,
                                follow_up: false,
                            });
                        }
                        91..=93 => {
                            let _ = engine.patient_record(patient);
                            let _ = engine.find_free_slots(&AvailabilityQuery::department(
                                departments[0],
                                dates[0],
                                dates[2],
                            ));
                        }
                        94..=98 => {
                            // A group of 2–3 places: a session's neighbouring segments (a stay's
                            // nights) or any of the slots (a visit with an exam elsewhere).
                            let k = rng.random_range(0..slots.len());
                            let n = rng.random_range(2..=3);
                            let group: Vec<SlotId> = if rng.random_bool(0.5) {
                                (0..n).map(|i| slots[(k + i) % slots.len()]).collect()
                            } else {
                                (0..n).map(|_| slots[rng.random_range(0..slots.len())]).collect()
                            };
                            let req = GroupRequest {
                                patient,
                                channel: app,
                                slots: group,
                                referral: None,
                            };
                            if let Ok(g) = engine.book_group(&req) {
                                mine.extend(g.bookings.iter().map(|b| b.id));
                                counts[3] += 1;
                            }
                        }
                        99 if !mine.is_empty() => {
                            let b = mine[rng.random_range(0..mine.len())];
                            let to = vec![slot, slots[rng.random_range(0..slots.len())]];
                            let req = RescheduleRequest { booking: b, slots: to, channel: app };
                            if let Ok(g) = engine.reschedule(&req) {
                                mine.extend(g.bookings.iter().map(|b| b.id));
                            }
                        }
                        _ => {}
                    }
                }
                counts
            })
        })
        .collect();
    // Meanwhile, a provider suspends one session.
    let suspended = engine.suspend_session(c.doctor[3], dates[2], None).unwrap();
    let totals: Vec<[usize; 4]> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let placed: usize = totals.iter().map(|c| c[0]).sum();
    let cancels: usize = totals.iter().map(|c| c[2]).sum();
    let groups: usize = totals.iter().map(|c| c[3]).sum();
    assert!(
        placed > 100 && cancels > 50 && groups > 10,
        "the race must actually book, cancel and book groups: {placed} placed, {cancels} cancelled, {groups} groups"
    );

    // Invariant 1 and 3: per slot, taken == active bookings on it, and ≤ pool sizes.
    let mut active_per_slot: HashMap<SlotId, [u16; 4]> = HashMap::new();
    let policy = engine.policy().clone();
    for &p in &patients {
        let record = engine.patient_record(p).unwrap();
        let all = engine.bookings_of(p).unwrap();
        let all_active: Vec<&Booking> = all.iter().filter(|b| b.state.is_active()).collect();
        assert_eq!(all_active.len(), record.active_bookings.len());
        for b in &all_active {
            active_per_slot.entry(b.slot).or_default()[b.pool as usize] += 1;
        }
        // A group counts once for the limits, through its first active place; and it is whole:
        // no place of it still held or booked once another was cancelled.
        let group_of = |b: &Booking| engine.booking_group(b.id).ok();
        let active: Vec<&Booking> = all_active
            .iter()
            .copied()
            .filter(|b| {
                group_of(b).is_none_or(|g| {
                    g.bookings.iter().find(|x| x.state.is_active()).map(|x| x.id) == Some(b.id)
                })
            })
            .collect();
        for g in all.iter().filter_map(|b| group_of(b).filter(|g| g.id == b.id)) {
            let has = |s: &[BookingState]| g.bookings.iter().any(|x| s.contains(&x.state));
            assert!(
                !(has(&[BookingState::Cancelled, BookingState::ProviderCancelled])
                    && has(&[BookingState::Held, BookingState::Booked])),
                "group {} partly cancelled: {:?}",
                g.id,
                g.bookings.iter().map(|x| x.state).collect::<Vec<_>>()
            );
        }
        // Invariant 2.
        assert!(active.len() as u32 <= policy.limits.total_active, "{p}: {} active", active.len());
        let mut per_day: HashMap<Date, u32> = HashMap::new();
        let mut per_dept_day: HashMap<(DepartmentId, Date), u32> = HashMap::new();
        for b in &active {
            *per_day.entry(b.date).or_default() += 1;
            *per_dept_day.entry((b.department, b.date)).or_default() += 1;
        }
        assert!(per_day.values().all(|&n| n <= policy.limits.per_visit_date));
        assert!(per_dept_day.values().all(|&n| n <= policy.limits.per_department_day));
        // Every referral is used by at most one active booking, and that booking exists.
        for r in record.referrals.iter().filter_map(|r| r.used_by) {
            assert!(all_active.iter().any(|b| b.id == r), "referral used by an ended booking");
        }
    }
    for &s in &slots {
        let info = engine.slot(s).unwrap();
        let expect = active_per_slot.get(&s).copied().unwrap_or_default();
        assert_eq!(
            info.pool_taken.to_array(),
            expect,
            "{s}: counted places must equal its active bookings"
        );
        for p in Pool::ALL {
            assert!(info.pool_taken[p] <= info.pool_places[p], "{s} pool {p:?} over its size");
        }
        if suspended.slots.contains(&s) {
            assert_eq!(info.pool_taken.total(), 0, "a suspended session keeps no bookings");
        }
    }
    let offers = patients
        .iter()
        .flat_map(|p| engine.bookings_of(*p).unwrap())
        .filter(|b| b.offer.is_some())
        .count();
    assert!(offers > 10, "waitlist offers must take part in the race: {offers}");
    // The availability index, kept by every racing claim, release and close, equals a recount.
    engine.check_availability_index().unwrap();
    eprintln!(
        "stress: {placed} placed, {cancels} cancelled, {groups} groups, {offers} waitlist offers"
    );
    // Every hold ends: after the last deadline passes, nothing is left held.
    engine.advance_clock(24 * 3600 - 1).unwrap();
    for &p in &patients {
        assert!(engine
            .bookings_of(p)
            .unwrap()
            .iter()
            .all(|b| b.state != BookingState::Held || b.expires_at > engine.now()));
    }
}

/// Retention frees slot chunks while other threads read slots without a lock: readers and
/// bookers race a clock that publishes more than a chunk of slots a day (1,100) and retires
/// every day past a one-day retention. A reader that kept a freed chunk would read garbage
/// (every slot here has 2 places and lasts 3 minutes) or crash; none may. At the end the
/// availability index equals a recount, no slot is over capacity, and the memory of most
/// published slots is freed.
#[test]
fn readers_and_bookers_race_retirement() {
    let mut policy = Policy::default();
    policy.retention.days = 1;
    policy.limits = limits_out_of_the_way();
    let c = city_with(policy, at(day0(), 9, 0));
    let engine = Arc::new(c.engine);
    let publish = |date: Date| {
        let specs: Vec<SlotSpec> = (0..1_100u16)
            .map(|k| SlotSpec {
                resource: c.doctor[(k % 4) as usize],
                date,
                start_min: 6 * 60 + (k / 4) * 3,
                end_min: 6 * 60 + (k / 4) * 3 + 3,
                capacity: 2,
            })
            .collect();
        engine.publish_slots(&specs).unwrap();
    };
    for d in 0..3 {
        publish(day0().plus_days(d));
    }
    let patients: Vec<PatientId> = engine.register_patients(500).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (app, departments) = (c.app, c.cardio);
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let (engine, patients, done) = (&engine, &patients, &done);
            s.spawn(move || {
                rounds_until(done, t, |rng| {
                    let n = engine.slot_count() as u32;
                    let id = SlotId(rng.random_range(1..=n));
                    if let Ok(info) = engine.slot(id) {
                        assert_eq!(info.capacity, 2, "{id}: {info:?}");
                        assert_eq!(info.end_min - info.start_min, 3, "{id}: {info:?}");
                    }
                    let p = patients[rng.random_range(0..patients.len())];
                    if let Ok(b) = engine.book(&Request::new(p, id, app)) {
                        if rng.random_bool(0.5) {
                            // The clock moves meanwhile: the visit may have started or its day
                            // may be retiring, and the cancellation refused with a typed error.
                            let _ = engine.cancel(b.id);
                        }
                    }
                    let dept = departments[rng.random_range(0..4)];
                    let from = engine.now().to_local(OFFSET).0.plus_days(rng.random_range(-3..3));
                    let q = AvailabilityQuery::department(dept, from, from.plus_days(2));
                    for f in engine.find_free_slots(&q).unwrap() {
                        assert!(f.free <= 2, "{f:?}");
                    }
                    engine.free_places_by_day(dept, from, from.plus_days(2)).unwrap();
                })
            });
        }
        for d in 3..15 {
            publish(day0().plus_days(d));
            engine.advance_clock(86_400).unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    engine.check_availability_index().unwrap();
    let published = engine.slot_count();
    let mut live = 0;
    for i in 1..=published as u32 {
        if let Ok(s) = engine.slot(SlotId(i)) {
            live += 1;
            assert!(s.pool_taken.total() <= s.capacity as u32, "{s:?}");
        }
    }
    assert!(live < published / 2, "{live} of {published} slots still live");
    let bytes = engine.metrics().memory.slot_bytes as usize;
    assert!(bytes < published * 48 / 2, "{bytes} B of slots for {published} published");
}

/// Readers query days whose slot lists are being replaced: publication adds slots to days that
/// already have some, while other threads book, cancel and ask every availability question.
/// A day's list is swapped whole under the epoch (`DayCounts::list`) and the old one freed
/// after the grace period, so a reader must only ever see a whole list, old or new: answers
/// stay well-formed throughout, and once quiet the index equals a recount and every day's
/// free places equal what its slots say.
#[test]
fn readers_race_publication_into_their_days() {
    let mut policy = Policy::default();
    policy.limits = limits_out_of_the_way();
    let c = city_with(policy, at(day0(), 16, 0));
    let engine = Arc::new(c.engine);
    let days: Vec<Date> = (1..4).map(|d| day0().plus_days(d)).collect();
    // Round r adds, to every doctor's day, slots starting at 07:00 + r minutes, 30 minutes
    // apart: each round interleaves with the ones before, so every list is rebuilt.
    let publish = |round: u16| {
        let specs: Vec<SlotSpec> = days
            .iter()
            .flat_map(|&date| {
                c.doctor.iter().flat_map(move |&resource| {
                    (0..8u16).map(move |k| SlotSpec {
                        resource,
                        date,
                        start_min: 7 * 60 + round + k * 30,
                        end_min: 7 * 60 + round + k * 30 + 1,
                        capacity: 2,
                    })
                })
            })
            .collect();
        engine.publish_slots(&specs).unwrap();
    };
    publish(0);
    let patients: Vec<PatientId> = engine.register_patients(300).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (app, departments) = (c.app, c.cardio);
    let (first, last) = (days[0], days[days.len() - 1]);
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let (engine, patients, done) = (&engine, &patients, &done);
            s.spawn(move || {
                rounds_until(done, t, |rng| {
                    let dept = departments[rng.random_range(0..4)];
                    if t == 0 {
                        // The booker.
                        let id = SlotId(rng.random_range(1..=engine.slot_count() as u32));
                        let p = patients[rng.random_range(0..patients.len())];
                        if let Ok(b) = engine.book(&Request::new(p, id, app)) {
                            if rng.random_bool(0.5) {
                                engine.cancel(b.id).unwrap();
                            }
                        }
                        return;
                    }
                    let free = engine
                        .find_free_slots(&AvailabilityQuery::department(dept, first, last))
                        .unwrap();
                    for w in free.windows(2) {
                        assert!((w[0].date, w[0].start_min) <= (w[1].date, w[1].start_min));
                    }
                    for f in &free {
                        assert!((1..=2).contains(&f.free) && f.department == dept, "{f:?}");
                        assert!((first..=last).contains(&f.date), "{f:?}");
                    }
                    for d in engine.free_places_by_day(dept, first, last).unwrap() {
                        assert!(d.free <= d.places, "{d:?}");
                    }
                    let home = engine.department(dept).unwrap().institution;
                    for a in engine.alternatives(dept, first, last, 3).unwrap() {
                        assert!(a.institution != home && (0.0..=1.0).contains(&a.load), "{a:?}");
                        assert!((1..=2).contains(&a.earliest.free), "{a:?}");
                        assert_eq!(a.earliest.department, a.department, "{a:?}");
                    }
                })
            });
        }
        for round in 1..30 {
            publish(round);
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    // Each day's list recounted against its counters, and each slot against its days: a list
    // that lost or doubled a slot while being replaced fails here.
    engine.check_availability_index().unwrap();
    // 30 rounds of 8 two-place slots per doctor-day, one doctor per department.
    for &dept in &departments {
        for d in engine.free_places_by_day(dept, first, last).unwrap() {
            assert_eq!(d.places, 30 * 8 * 2, "{dept} on {}", d.date);
        }
        let all = AvailabilityQuery {
            limit: 100_000,
            ..AvailabilityQuery::department(dept, first, last)
        };
        let free = engine.find_free_slots(&all).unwrap();
        let unique: std::collections::HashSet<SlotId> = free.iter().map(|f| f.slot).collect();
        assert_eq!(unique.len(), free.len(), "a slot listed twice in {dept}'s days");
    }
}

/// A racing thread's loop: `round` with the thread's own seeded generator, at least 200 times
/// (however late the thread starts on a busy machine), then until `done`.
fn rounds_until(
    done: &std::sync::atomic::AtomicBool,
    seed: u64,
    mut round: impl FnMut(&mut rand_chacha::ChaCha8Rng),
) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut rounds = 0;
    while rounds < 200 || !done.load(std::sync::atomic::Ordering::Relaxed) {
        rounds += 1;
        round(&mut rng);
    }
}

/// Retention switched on and off while patients cancel late (each a full no-show mark) from
/// several threads: turning it on fills the no-show marks' queue from the records while marks
/// are being made, turning it off empties it (`Engine::retention_switched`). A mark made
/// while the fill runs must still be queued, or retention would never forget it; none may stay
/// queued once it is off, or the queue would grow with retention off. Checked after the
/// threads stop, in the state the last switch left and in the other. Five engines, one after
/// the other, as one lasts milliseconds: an engine broken to fill the queue before the switch
/// instead of after it failed 7 of 8 runs of this test (one engine a run: 3 of 8).
#[test]
fn retention_switched_while_marks_are_made_keeps_the_queue_whole() {
    for _ in 0..5 {
        switch_retention_while_marking();
    }
}

fn switch_retention_while_marking() {
    let mut policy = Policy::default();
    policy.retention.days = 1;
    policy.limits = limits_out_of_the_way();
    policy.cancellation.late_cancel_weight = 1.0;
    // 16:00 the day before the visits: every cancellation is late.
    let c = city_with(policy, at(day0(), 16, 0));
    let engine = Arc::new(c.engine);
    let date = day0().plus_days(1);
    let specs: Vec<SlotSpec> = (0..2_000u16)
        .map(|k| SlotSpec {
            resource: c.doctor[(k % 4) as usize],
            date,
            start_min: 6 * 60 + (k / 4),
            end_min: 6 * 60 + (k / 4) + 1,
            capacity: 1,
        })
        .collect();
    let slots = engine.publish_slots(&specs).unwrap();
    let patients: Vec<PatientId> = engine.register_patients(2_000).unwrap();
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    let (done, switched) = (AtomicBool::new(false), AtomicUsize::new(0));
    let app = c.app;
    let mut marks = 0usize;
    std::thread::scope(|s| {
        let makers: Vec<_> = (0..3usize)
            .map(|t| {
                let (engine, patients, switched) = (&engine, &patients, &switched);
                // Each patient books once and cancels late: one mark (and a suspension).
                s.spawn(move || {
                    // The switcher is running before the first mark (a run is short).
                    while switched.load(Relaxed) == 0 {
                        std::thread::yield_now();
                    }
                    let mut made = 0;
                    for (i, slot) in slots.iter().enumerate().skip(t).step_by(3) {
                        let b = engine.book(&Request::new(patients[i], slot, app)).unwrap();
                        let cancelled = engine.cancel(b.id).unwrap();
                        assert_eq!(cancelled.state, BookingState::Cancelled);
                        made += 1;
                    }
                    made
                })
            })
            .collect();
        s.spawn(|| {
            // Bounded: an engine keeps at most POLICY_CHANGES_MAX policy versions.
            while !done.load(Relaxed) && switched.load(Relaxed) < 2_000 {
                let mut p = engine.policy().clone();
                p.retention.days = if p.retention.days > 0 { 0 } else { 1 };
                engine.set_policy(p).unwrap();
                switched.fetch_add(1, Relaxed);
            }
        });
        marks = makers.into_iter().map(|h| h.join().unwrap()).sum();
        done.store(true, Relaxed);
    });
    assert_eq!(marks, 2_000);
    let marked: f32 =
        patients.iter().map(|p| engine.patient_record(*p).unwrap().no_shows_in_window).sum();
    assert_eq!(marked, 2_000.0);
    engine.check_no_show_queue().unwrap();
    // And the other way round, from the same records.
    let mut p = engine.policy().clone();
    p.retention.days = if p.retention.days > 0 { 0 } else { 1 };
    engine.set_policy(p).unwrap();
    engine.check_no_show_queue().unwrap();
}
