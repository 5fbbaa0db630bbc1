//! Seeded workload runner (in the spirit of TigerBeetle's VOPR): random operations of every
//! kind on a manual clock, with a random policy, DOMAIN.md's invariants checked after every
//! step, and the whole run replayed from the same seed to prove it is reproducible.
//!
//! ```text
//! cargo run --release -p haoyuan-tests --bin workload -- --seed 1234 --steps 100000
//! cargo run --release -p haoyuan-tests --bin workload -- --seed 7 --threads 4   # races; checked at the end
//! ```
//! A failure prints the seed and the step: rerun with the same `--seed` to reproduce it exactly.

use haoyuan::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::process::ExitCode;
use std::sync::Arc;

struct Args {
    seed: u64,
    steps: usize,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { seed: 1, steps: 20_000, threads: 1 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: u64 = value.parse().map_err(|_| format!("{flag}: {value:?} is not a number"))?;
        match flag.as_str() {
            "--seed" => args.seed = n,
            "--steps" => args.steps = (n as usize).clamp(1, 100_000_000),
            "--threads" => args.threads = (n as usize).clamp(1, 64),
            _ => return Err(format!("unknown flag {flag}; use --seed N --steps N --threads N")),
        }
    }
    Ok(args)
}

const OFFSET: i32 = 8 * 3600;

/// A small region where everything collides: few slots, few patients, all tiers.
struct World {
    engine: Engine,
    patients: Vec<PatientId>,
    institutions: Vec<InstitutionId>,
    resources: Vec<(ResourceId, DepartmentId)>,
    channels: Vec<ChannelId>,
    /// One thread drives the engine: two reads in a row see the same state, so answers that
    /// take different paths (the availability index, the slots) can be compared.
    alone: bool,
}

fn random_policy(rng: &mut ChaCha8Rng) -> Policy {
    let mut p = Policy::default();
    p.hold.ttl_s = rng.random_range(60..1200);
    p.hold.offer_ttl_s = rng.random_range(60..1800);
    p.limits = LimitPolicy {
        per_department_day: rng.random_range(1..3),
        per_visit_date: rng.random_range(1..4),
        per_seven_days: rng.random_range(1..5),
        total_active: rng.random_range(1..7),
        group_dates: [GroupDates::First, GroupDates::Every][rng.random_range(0..2)],
    };
    p.cancellation.late_cancel_weight = [0.0, 0.5, 1.0][rng.random_range(0..3)];
    // Retention from a day to the default month: days retire amid the bookings, and the
    // checks below must find no booking of a retired day and an index still equal to a recount.
    // Drawn from a side stream, so every other draw of a seed is what it was before.
    let mut side = rng.clone();
    side.set_stream(1);
    p.retention.days = [1, 3, 30][side.random_range(0..3)];
    if rng.random_bool(0.5) {
        p.lottery.window_s = rng.random_range(30..600);
        p.lottery.seed = rng.random();
    }
    // Shares that collide on small slots: a referral share and one or two channel quotas (the
    // combination that once oversold one-place slots unseen).
    p.referral.share = [0.0, 0.1, 0.3, 0.45][rng.random_range(0..4)];
    p.referral.expert_share = p.referral.share.max([0.3, 0.5][rng.random_range(0..2)]);
    let groups: &[&[&str]] = match rng.random_range(0..3) {
        0 => &[],
        1 => &[&["kiosk", "phone"]],
        _ => &[&["kiosk", "phone"], &["wechat"]],
    };
    let room = 1.0 - p.referral.expert_share;
    p.channel_quotas = groups
        .iter()
        .map(|channels| ChannelQuota {
            channels: channels.iter().map(|c| c.to_string()).collect(),
            share: (room / groups.len() as f32) * [0.25, 0.5, 1.0][rng.random_range(0..3)],
            cutoff_hours_before_start: [12, 24, 72][rng.random_range(0..3)],
        })
        .collect();
    p.overbooking.ratio = [0.0, 0.0, 0.2][rng.random_range(0..3)];
    p.referral.rollover_at_public_open = rng.random_bool(0.8);
    if rng.random_bool(0.3) {
        p.window.close_day_before_at_min = Some(16 * 60);
    }
    p.no_show.window = if rng.random_bool(0.5) {
        NoShowWindow::CalendarYear
    } else {
        NoShowWindow::RollingDays(90)
    };
    p
}

fn build(seed: u64) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let policy = random_policy(&mut rng);
    let day0 = Date::from_ymd(2026, 11, 23).expect("valid date");
    // A card key from the seed: card digests are in the events, and a run must replay exactly
    // (an engine without a key hashes under a random one).
    let key = CardKey::from_bytes(&[seed as u8; 32]).expect("32 bytes");
    let config =
        EngineConfig { policy, utc_offset_s: OFFSET, ..EngineConfig::default() }.with_card_key(key);
    let engine = Engine::with_manual_clock(config, Timestamp::from_local(day0, 9 * 60, OFFSET))
        .expect("random policies are valid");
    let mut institutions = Vec::new();
    let mut resources = Vec::new();
    // Three institutions in one district, two in the other: a department has up to two
    // alternatives (checked against a reference in the query step).
    for (i, tier) in
        [Tier::Community, Tier::Secondary, Tier::Tertiary, Tier::Tertiary, Tier::Community]
            .into_iter()
            .enumerate()
    {
        let inst = engine
            .add_institution(
                &format!("Institution {i}"),
                tier,
                if i % 2 == 0 { "Nancheng" } else { "Dongcheng" },
            )
            .expect("add");
        institutions.push(inst);
        for specialty in ["cardiology", "paediatrics"] {
            let dept = engine.add_department(inst, specialty, specialty).expect("add");
            let r = engine
                .add_resource(dept, ResourceKind::Doctor, "Dr", rng.random_bool(0.3))
                .expect("add");
            resources.push((r, dept));
        }
    }
    // Rosters keep publishing two weeks ahead as the clock moves, so the run never runs dry.
    for &(r, _) in &resources {
        let weekdays: Vec<u8> = (0..7).filter(|_| rng.random_bool(0.6)).collect();
        // Sessions of 1 to 12 segments, mostly one place each.
        let segment_min = [10, 15, 30][rng.random_range(0..3)];
        let segments = rng.random_range(1..=12u16);
        engine
            .add_roster(Roster {
                resource: r,
                weekdays: if weekdays.is_empty() { vec![0] } else { weekdays },
                start_min: 8 * 60,
                end_min: 8 * 60 + segments * segment_min,
                segment_min,
                places: [1, 1, 1, 2, 3][rng.random_range(0..5)],
                valid_from: day0,
                valid_until: day0.plus_days(3650),
                closed_dates: vec![],
            })
            .expect("valid roster");
    }
    engine.publish_rosters_until(day0.plus_days(14)).expect("publish");
    let patients = (0..24).map(|_| engine.register_patient().expect("register")).collect();
    let channels =
        STANDARD_CHANNELS.iter().map(|c| engine.channel_id(c).expect("standard")).collect();
    World { engine, patients, institutions, resources, channels, alone: true }
}

/// The booking a lifecycle operation acts on: `picked`, or the first of the 64 bookings from it
/// in the list that the operation could take now (`ready`). Most picks have ended (expired
/// holds, cancellations) or are of other days; without the look, few confirmations,
/// check-ins, fulfilments and no-shows would succeed, and the states they lead to (checked
/// in, fulfilled, no-show, a suspension) would be rare: 0 no-shows in 285 tries, 3
/// confirmations in 969 (seed 1, 10,000 steps). When none of them is ready, `picked` is tried,
/// and the refusal is checked to change nothing. Draws nothing from the generator, so a seed
/// runs the same operations.
fn ready_for(
    e: &Engine,
    bookings: &[BookingId],
    picked: BookingId,
    ready: impl Fn(&Booking, Timestamp) -> bool,
) -> BookingId {
    let now = e.now();
    let at = bookings.iter().position(|&b| b == picked).unwrap_or(0);
    bookings
        .iter()
        .cycle()
        .skip(at)
        .take(64.min(bookings.len()))
        .copied()
        .find(|&b| e.booking(b).is_ok_and(|x| ready(&x, now)))
        .unwrap_or(picked)
}

/// Check-in opens on the visit day (local midnight) and stays open while the booking is booked;
/// the look takes patients who come before their start, and leaves those who did not come by
/// then to the no-show marks.
fn due_for_check_in(b: &Booking, now: Timestamp) -> bool {
    b.state == BookingState::Booked
        && b.starts_at.to_local(OFFSET).0 <= now.to_local(OFFSET).0
        && now < b.starts_at
}

/// One random operation. Returns a short description for the failure report.
fn step(w: &World, rng: &mut ChaCha8Rng, bookings: &mut Vec<BookingId>) -> Result<String, String> {
    let e = &w.engine;
    let patient = w.patients[rng.random_range(0..w.patients.len())];
    // Mostly the newest slots (the next two weeks), where the action is.
    let count = e.slot_count() as u32;
    let slot = SlotId(count - rng.random_range(0..count.min(300)));
    let channel = w.channels[rng.random_range(0..w.channels.len())];
    let pick = |rng: &mut ChaCha8Rng, b: &Vec<BookingId>| {
        (!b.is_empty()).then(|| b[rng.random_range(0..b.len())])
    };
    let suspended_until = e.patient_record(patient).map_err(|x| x.to_string())?.suspended_until;
    let op = rng.random_range(0..104);
    let mut req = Request::new(patient, slot, channel);
    if rng.random_bool(0.2) {
        if let Some(r) = e
            .patient_record(patient)
            .map_err(|x| x.to_string())?
            .referrals
            .iter()
            .find(|r| r.used_by.is_none())
        {
            req = req.with_referral(r.id);
        }
    }
    let placed = match op {
        0..=19 => e.hold(&req).ok().map(|b| b.id),
        20..=34 => e.book(&req).ok().map(|b| b.id),
        35..=39 => match e.submit(&req) {
            Ok(Submission::Booked { booking }) => Some(booking.id),
            _ => None,
        },
        _ => None,
    };
    if let Some(id) = placed {
        // Suspended before the request and still suspended now (other threads move the clock):
        // the booking must not exist.
        if let Some(until) = suspended_until.filter(|u| *u > e.now()) {
            return Err(format!("{patient} is suspended until {until} but gained {id}"));
        }
        bookings.push(id);
        return Ok(format!("place {req:?}"));
    }
    let desc = match op {
        40..=49 => pick(rng, bookings).map(|b| {
            let b = ready_for(e, bookings, b, |x, _| x.state == BookingState::Held);
            format!("confirm {b}: {:?}", e.confirm(b).map(|x| x.state))
        }),
        // Cancellations take whatever is picked: looking for active bookings would leave none
        // for the visit day (1 in 5 cancellations succeeds as it is).
        50..=59 => {
            pick(rng, bookings).map(|b| format!("cancel {b}: {:?}", e.cancel(b).map(|x| x.state)))
        }
        60..=62 => pick(rng, bookings).map(|b| {
            let b = ready_for(e, bookings, b, due_for_check_in);
            format!("check_in {b}: {:?}", e.check_in(b).map(|x| x.state))
        }),
        63..=64 => pick(rng, bookings).map(|b| {
            let b = ready_for(e, bookings, b, |x, _| x.state == BookingState::CheckedIn);
            format!("fulfil {b}: {:?}", e.fulfil(b).map(|x| x.state))
        }),
        65..=67 => pick(rng, bookings).map(|b| {
            let b = ready_for(e, bookings, b, |x, now| {
                x.state == BookingState::Booked && x.starts_at <= now
            });
            format!("no-show {b}: {:?}", e.mark_no_show(b).map(|x| x.state))
        }),
        68..=79 => {
            let s = rng.random_range(1..3600);
            e.advance_clock(s).map_err(|x| x.to_string())?;
            let today = e.now().to_local(OFFSET).0;
            let n = e.publish_rosters_until(today.plus_days(14)).map_err(|x| x.to_string())?;
            Some(format!("advance {s}s, {n} slots published"))
        }
        80..=84 => {
            let from = w.institutions[rng.random_range(0..2)];
            let urgency =
                [Urgency::Emergency, Urgency::Urgent, Urgency::Routine][rng.random_range(0..3)];
            let specialty = ["cardiology", "paediatrics"][rng.random_range(0..2)].to_string();
            let r = e.issue_referral(&ReferralRequest {
                patient,
                from,
                specialty,
                institution: None,
                urgency,
                valid_days: rng.random_range(1..30),
            });
            Some(format!("referral: {:?}", r.map(|r| r.id)))
        }
        85..=90 => {
            let (resource, department) = w.resources[rng.random_range(0..w.resources.len())];
            let from = e.now().to_local(OFFSET).0.plus_days(rng.random_range(0..10));
            let r = e.join_waitlist(&WaitlistRequest {
                patient,
                department,
                resource: rng.random_bool(0.5).then_some(resource),
                date_from: from,
                date_to: from.plus_days(rng.random_range(0..8)),
                time: None,
                channel,
                referral: None,
                follow_up: rng.random_bool(0.2),
            });
            Some(format!("waitlist: {:?}", r.map(|x| x.id)))
        }
        91 => {
            let (resource, _) = w.resources[rng.random_range(0..w.resources.len())];
            let date = e.now().to_local(OFFSET).0.plus_days(rng.random_range(0..14));
            match e.suspend_session(resource, date, None) {
                Ok(r) => {
                    Some(format!("suspend {resource} {date}: {} cancelled", r.cancelled.len()))
                }
                // Another thread moved the clock since `date` was read: the day may be retired.
                Err(Error::InvalidArgument(m)) if m.contains("retired") => {
                    Some(format!("suspend {resource} {date}: {m}"))
                }
                Err(x) => return Err(x.to_string()),
            }
        }
        92 => {
            let other = w.patients[rng.random_range(0..w.patients.len())];
            Some(format!("merge {patient} ← {other}: {:?}", e.merge_patients(patient, other)))
        }
        93 => {
            let number = format!("{}", rng.random_range(0..40));
            Some(format!("card: {:?}", e.link_card(patient, "ehealth", &number)))
        }
        94 => {
            // An afternoon session published by hand, in a random partition into calls and a
            // random order: its shares must not depend on it. Today to a month ahead: into days
            // other threads are querying and booking too (their lists are replaced under the
            // readers), and past the rosters' horizon.
            let (resource, _) = w.resources[rng.random_range(0..w.resources.len())];
            let date = e.now().to_local(OFFSET).0.plus_days(rng.random_range(0..30));
            let mut specs: Vec<SlotSpec> = (0..rng.random_range(1..10u16))
                .map(|i| SlotSpec {
                    resource,
                    date,
                    start_min: 14 * 60 + 10 * i,
                    end_min: 14 * 60 + 10 * i + 10,
                    capacity: rng.random_range(1..3),
                })
                .collect();
            specs.sort_by_key(|_| rng.random::<u32>());
            let mut published = 0;
            while !specs.is_empty() {
                let n = rng.random_range(1..=specs.len());
                let chunk: Vec<SlotSpec> = specs.drain(..n).collect();
                match e.publish_slots(&chunk) {
                    Ok(r) => published += (r.end.0 - r.start.0) as usize,
                    // The date was today or later when drawn; under threads another one may
                    // since have moved the clock days on, and retention retired it. Only then
                    // is the refusal right (one thread alone never sees it).
                    Err(Error::InvalidArgument(m))
                        if m.contains("is retired") && date < e.now().to_local(OFFSET).0 =>
                    {
                        return Ok(format!("publish on {date}: retired meanwhile ({m})"));
                    }
                    Err(x) => return Err(x.to_string()),
                }
            }
            Some(format!("publish {published} afternoon slots of {resource} on {date}"))
        }
        100..=101 => {
            // A booking group, all or nothing: neighbouring slots (a session's segments, like a
            // stay's nights) or scattered ones (a visit and an exam elsewhere).
            let n = rng.random_range(2..=4u32);
            let slots: Vec<SlotId> = if rng.random_bool(0.5) {
                (0..n).map(|i| SlotId((slot.0 + i - 1) % count + 1)).collect()
            } else {
                (0..n).map(|_| SlotId(count - rng.random_range(0..count.min(300)))).collect()
            };
            let g = GroupRequest { patient, channel, slots, referral: req.referral };
            match e.book_group(&g) {
                Ok(group) => {
                    if let Some(until) = suspended_until.filter(|u| *u > e.now()) {
                        return Err(format!(
                            "{patient} is suspended until {until} but gained {}",
                            group.id
                        ));
                    }
                    bookings.extend(group.bookings.iter().map(|b| b.id));
                    Some(format!("group {g:?}"))
                }
                Err(x) => Some(format!("group refused: {x}")),
            }
        }
        102..=103 => pick(rng, bookings).map(|b| {
            let n = rng.random_range(1..=3u32);
            let slots: Vec<SlotId> = (0..n).map(|i| SlotId((slot.0 + i - 1) % count + 1)).collect();
            let r = e.reschedule(&RescheduleRequest { booking: b, slots, channel });
            if let Ok(g) = &r {
                bookings.extend(g.bookings.iter().map(|b| b.id));
            }
            format!("reschedule {b}: {:?}", r.map(|g| g.id))
        }),
        _ => {
            let (_, department) = w.resources[rng.random_range(0..w.resources.len())];
            let today = e.now().to_local(OFFSET).0;
            let mut q = AvailabilityQuery::department(department, today, today.plus_days(13));
            q.limit = QUERY_LIMIT_MAX;
            let free = e.find_free_slots(&q).map_err(|x| x.to_string())?;
            let n = free.len();
            // Two paths to one answer: the day totals come from the availability index
            // wherever a day's slots answer alike, the free slots from reading the slots.
            let days = e
                .free_places_by_day(department, today, today.plus_days(13))
                .map_err(|x| x.to_string())?;
            // Under races too: never more free places than places, whatever is being
            // published or booked meanwhile.
            if let Some(d) = days.iter().find(|d| d.free > d.places) {
                return Err(format!("{department}: {d:?} has more free places than places"));
            }
            for d in days.into_iter().filter(|_| w.alone) {
                let listed: u32 = free.iter().filter(|f| f.date == d.date).map(|f| f.free).sum();
                if listed != d.free {
                    return Err(format!(
                            "{department} on {}: free_places_by_day says {} free, the free slots {listed}",
                            d.date, d.free
                        ));
                }
            }
            let alternatives = e
                .alternatives(department, today, today.plus_days(13), 5)
                .map_err(|x| x.to_string())?;
            if w.alone {
                check_alternatives(e, department, today, &alternatives)?;
            }
            Some(format!("query: {n} free, {} alternatives", alternatives.len()))
        }
    };
    Ok(desc.unwrap_or_else(|| "rejected request".into()))
}

/// `alternatives` (walked over the group-day sets of the availability index) against a
/// reference built from the public calls: every other institution's same-specialty department
/// of the district, its earliest free slot from `find_free_slots`, ranked by (date, start). The
/// answer must be the reference's first five by (date, start, load of that day), with each
/// department's own earliest place and the load of its day recounted from the slots (ties of all
/// three are ranked by the engine's member order, which the reference does not know: the
/// sequence of (date, start, load) and each department's own record are compared).
fn check_alternatives(
    e: &Engine,
    department: DepartmentId,
    today: Date,
    got: &[Alternative],
) -> Result<(), String> {
    let err = |x: Error| x.to_string();
    let home = e.department(department).map_err(err)?;
    let district = e.institution(home.institution).map_err(err)?.district;
    // A department-day's booked share, as `Alternative::load` states it: places taken over
    // places, from every slot of the day.
    let day_load = |d: DepartmentId, date: Date| -> Result<f32, String> {
        let (mut taken, mut places) = (0u32, 0u32);
        for r in e.resources_of(d).map_err(err)? {
            for id in e.resource_day_slots(r.id, date).map_err(err)? {
                let s = e.slot(id).map_err(err)?;
                taken += s.pool_taken.total();
                places += s.capacity as u32;
            }
        }
        Ok(if places == 0 { 0.0 } else { (taken as f32 / places as f32).min(1.0) })
    };
    let mut reference: HashMap<DepartmentId, (Date, u16, f32)> = HashMap::new();
    for inst in e.institutions() {
        if inst.id == home.institution || inst.district != district {
            continue;
        }
        for d in e.departments_of(inst.id).map_err(err)? {
            if d.specialty != home.specialty {
                continue;
            }
            let mut q = AvailabilityQuery::department(d.id, today, today.plus_days(13));
            q.limit = 1;
            if let Some(f) = e.find_free_slots(&q).map_err(err)?.first() {
                reference.insert(d.id, (f.date, f.start_min, day_load(d.id, f.date)?));
            }
        }
    }
    let mut want: Vec<(Date, u16, f32)> = reference.values().copied().collect();
    want.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    want.truncate(5);
    let seq: Vec<(Date, u16, f32)> =
        got.iter().map(|a| (a.earliest.date, a.earliest.start_min, a.load)).collect();
    let mine = |a: &Alternative| {
        reference.get(&a.department) == Some(&(a.earliest.date, a.earliest.start_min, a.load))
    };
    if seq != want || !got.iter().all(mine) {
        return Err(format!(
            "alternatives of {department}: {got:?}, reference earliest places {reference:?}"
        ));
    }
    Ok(())
}

/// DOMAIN.md's invariants 1–3 over the whole state.
fn check(w: &World) -> Result<(), String> {
    let e = &w.engine;
    // The availability index equals a recount of the slots once operations quiesce.
    e.check_availability_index()?;
    let now = e.now();
    let limits = &e.policy().limits;
    let mut using: HashMap<SlotId, [u16; 4]> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for &p in &w.patients {
        let record = e.patient_record(p).map_err(|x| x.to_string())?;
        if !seen.insert(record.patient) {
            continue; // merged into a survivor already checked
        }
        let all = e.bookings_of(record.patient).map_err(|x| x.to_string())?;
        // A booking group counts once for the limits, through its first active booking.
        let counts = |b: &Booking| match e.booking_group(b.id) {
            Err(_) => true,
            Ok(g) => g.bookings.iter().find(|x| x.state.is_active()).map(|x| x.id) == Some(b.id),
        };
        let active: Vec<&Booking> =
            all.iter().filter(|b| b.state.is_active() && counts(b)).collect();
        // Merges may join two records' bookings; limits are checked per original patient.
        let mut per_origin: HashMap<PatientId, Vec<&Booking>> = HashMap::new();
        for b in &active {
            per_origin.entry(b.id.origin_patient()).or_default().push(b);
        }
        for (origin, list) in per_origin {
            if list.len() as u32 > limits.total_active {
                return Err(format!(
                    "{origin} holds {} active bookings > {}",
                    list.len(),
                    limits.total_active
                ));
            }
            let mut per_day: HashMap<Date, u32> = HashMap::new();
            for b in &list {
                *per_day.entry(b.date).or_default() += 1;
            }
            if per_day.values().any(|&n| n > limits.per_visit_date) {
                return Err(format!("{origin} exceeds the per-visit-date limit"));
            }
        }
        for b in all.iter().filter(|b| Ok(b.id) == e.booking_group(b.id).map(|g| g.id)) {
            // All or nothing: a group's cancellation (by the patient, a provider suspension or
            // a move) ends every place still held or booked.
            let g = e.booking_group(b.id).map_err(|x| x.to_string())?;
            let has =
                |states: &[BookingState]| g.bookings.iter().any(|x| states.contains(&x.state));
            if has(&[BookingState::Cancelled, BookingState::ProviderCancelled])
                && has(&[BookingState::Held, BookingState::Booked])
            {
                let states: Vec<BookingState> = g.bookings.iter().map(|x| x.state).collect();
                return Err(format!("group {} is partly cancelled: {states:?}", g.id));
            }
        }
        for b in &all {
            if b.state == BookingState::Held && b.expires_at <= now {
                return Err(format!("{} is still held after its expiry", b.id));
            }
            if matches!(
                b.state,
                BookingState::Held
                    | BookingState::Booked
                    | BookingState::CheckedIn
                    | BookingState::Fulfilled
                    | BookingState::NoShow
            ) {
                using.entry(b.slot).or_default()[b.pool as usize] += 1;
            }
        }
    }
    // Invariant 1 at publication: a slot's pools sum to its capacity plus the overbooking
    // allowance, and every resource-day reserves its shares in all (whatever the order and
    // partition of its publication).
    let policy = e.policy();
    let ratio = policy.overbooking.ratio;
    let mut days: HashMap<(ResourceId, Date), ([u32; 4], u32)> = HashMap::new();
    for s in (1..=e.slot_count() as u32).map(SlotId) {
        let Some(info) = live_slot(e, s, &using)? else { continue };
        let over = (info.capacity as f32 * ratio).floor() as u16;
        if info.pool_places.total() != (info.capacity + over) as u32 {
            return Err(format!(
                "{s}: pools {:?} on capacity {} + {over}",
                info.pool_places, info.capacity
            ));
        }
        if info.pool_taken.total() > (info.capacity + over) as u32 {
            return Err(format!(
                "{s} oversold: taken {:?} on capacity {} + {over}",
                info.pool_taken, info.capacity
            ));
        }
        let day = days.entry((info.resource, info.date)).or_default();
        for p in 0..4 {
            day.0[p] += info.pool_places.to_array()[p] as u32;
        }
        day.1 += info.capacity as u32;
    }
    for ((resource, date), (places, capacity)) in days {
        let r = e.resource(resource).map_err(|x| x.to_string())?;
        let tier = e
            .institution(e.department(r.department).map_err(|x| x.to_string())?.institution)
            .map_err(|x| x.to_string())?
            .tier;
        let referral = match tier {
            Tier::Community => 0.0,
            _ if r.expert => policy.referral.expert_share,
            _ => policy.referral.share,
        };
        let mut shares = vec![(1usize, referral)];
        for (g, q) in policy.channel_quotas.iter().enumerate() {
            shares.push((2 + g, q.share));
        }
        let ppm = |x: f32| (x as f64 * 1e6).round() as u64;
        let total_ppm: u64 = shares.iter().map(|s| ppm(s.1)).sum();
        let reserved: u32 = places[1..].iter().sum();
        let want = ((total_ppm * capacity as u64 + 500_000) / 1_000_000) as u32;
        if reserved != want {
            return Err(format!("{resource} on {date}: {reserved} reserved places of {capacity}, the shares want {want}"));
        }
        for (p, share) in shares {
            if (places[p] as f64 - share as f64 * capacity as f64).abs() > 1.0 {
                return Err(format!("{resource} on {date}: pool {p} has {} of {capacity} places for a share of {share}", places[p]));
            }
        }
    }
    for s in (1..=e.slot_count() as u32).map(SlotId) {
        let Some(info) = live_slot(e, s, &using)? else { continue };
        let expect = using.get(&s).copied().unwrap_or_default();
        // A started slot's fulfilled and no-show places stay taken while the patient record
        // forgets the oldest of those bookings (see `push_booking`): there, at least.
        let exact = info.starts_at > now;
        let taken = info.pool_taken.to_array();
        if (exact && taken != expect) || (0..4).any(|p| taken[p] < expect[p]) {
            return Err(format!("{s}: taken {:?} but bookings use {:?}", info.pool_taken, expect));
        }
        if Pool::ALL.into_iter().any(|p| info.pool_taken[p] > info.pool_places[p]) {
            return Err(format!(
                "{s}: a pool is over its size: {:?} > {:?}",
                info.pool_taken, info.pool_places
            ));
        }
    }
    Ok(())
}

/// Slot `s`, or `None` if retention retired its day: then no booking a record still holds
/// may name it (retirement drops a retired day's bookings with its slots).
fn live_slot(
    e: &Engine,
    s: SlotId,
    using: &HashMap<SlotId, [u16; 4]>,
) -> Result<Option<SlotInfo>, String> {
    match e.slot(s) {
        Err(Error::NotFound { .. }) if using.contains_key(&s) => {
            Err(format!("{s} is retired, but a booking still names it"))
        }
        Err(Error::NotFound { .. }) => Ok(None),
        r => r.map(Some).map_err(|x| x.to_string()),
    }
}

/// What a single-thread run did: its events' digest and count, retirements, and how many
/// bookings reached each state of the lifecycle (confirmed, checked in, fulfilled, no-show)
/// and suspensions, printed so that a change of the generator shows what it reaches.
#[derive(PartialEq)]
struct RunSummary {
    digest: u64,
    events: usize,
    retirements: usize,
    lifecycle: [usize; 5],
}

/// One single-threaded run; returns a digest of every event emitted, and what it did.
fn run_sequential(seed: u64, steps: usize) -> Result<RunSummary, String> {
    let w = build(seed);
    let events = w.engine.subscribe();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut bookings = Vec::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let (mut n_events, mut retirements, mut lifecycle) = (0, 0, [0; 5]);
    for i in 0..steps {
        let what = step(&w, &mut rng, &mut bookings).map_err(|m| format!("step {i}: {m}"))?;
        if std::env::var("WORKLOAD_TRACE").is_ok() {
            eprintln!("{what}");
        }
        check(&w).map_err(|m| format!("step {i} ({what}): invariant broken: {m}"))?;
        for ev in events.try_iter() {
            serde_json::to_string(&ev).map_err(|x| x.to_string())?.hash(&mut hasher);
            n_events += 1;
            retirements += matches!(ev.kind, EventKind::Retired { .. }) as usize;
            let stage = match ev.kind {
                EventKind::Confirmed { .. } => Some(0),
                EventKind::CheckedIn { .. } => Some(1),
                EventKind::Fulfilled { .. } => Some(2),
                EventKind::NoShow { .. } => Some(3),
                EventKind::PatientSuspended { .. } => Some(4),
                _ => None,
            };
            if let Some(k) = stage {
                lifecycle[k] += 1;
            }
        }
    }
    Ok(RunSummary { digest: hasher.finish(), events: n_events, retirements, lifecycle })
}

fn run_threads(seed: u64, steps: usize, threads: usize) -> Result<(), String> {
    let w = Arc::new(World { alone: false, ..build(seed) });
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let w = w.clone();
            std::thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (t as u64 + 1) << 20);
                let mut bookings = Vec::new();
                for i in 0..steps / threads {
                    step(&w, &mut rng, &mut bookings)
                        .map_err(|m| format!("thread {t} step {i}: {m}"))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "a worker thread panicked".to_string())??;
    }
    w.engine.tick();
    check(&w)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(m) => {
            eprintln!("workload: {m}");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    if args.threads > 1 {
        return match run_threads(args.seed, args.steps, args.threads) {
            Ok(()) => {
                println!(
                    "workload seed {} threads {}: {} steps, invariants hold ({:.2?})",
                    args.seed,
                    args.threads,
                    args.steps,
                    started.elapsed()
                );
                ExitCode::SUCCESS
            }
            Err(m) => {
                eprintln!("workload seed {} threads {}: FAILED: {m}", args.seed, args.threads);
                ExitCode::FAILURE
            }
        };
    }
    let first = run_sequential(args.seed, args.steps);
    let again = run_sequential(args.seed, args.steps);
    match (first, again) {
        (Ok(a), Ok(b)) if a == b => {
            println!(
                "workload seed {}: {} steps, {} events ({} retirements; {} confirmed, {} checked in, {} fulfilled, {} no-shows, {} suspensions), invariants hold after every step; replay identical (digest {:016x}) ({:.2?})",
                args.seed,
                args.steps,
                a.events,
                a.retirements,
                a.lifecycle[0],
                a.lifecycle[1],
                a.lifecycle[2],
                a.lifecycle[3],
                a.lifecycle[4],
                a.digest,
                started.elapsed()
            );
            ExitCode::SUCCESS
        }
        (Ok(a), Ok(b)) => {
            eprintln!(
                "workload seed {}: FAILED: the replay differs ({:016x}/{} vs {:016x}/{} events)",
                args.seed, a.digest, a.events, b.digest, b.events
            );
            ExitCode::FAILURE
        }
        (Err(m), _) | (_, Err(m)) => {
            eprintln!("workload seed {}: FAILED: {m}\nreproduce: cargo run --release -p haoyuan-tests --bin workload -- --seed {} --steps {}", args.seed, args.seed, args.steps);
            ExitCode::FAILURE
        }
    }
}
