//! `make demo`: a Dongguan-size city on the in-memory engine.
//!
//! Builds DOMAIN.md's Dongguan (2,300 institutions in 33 towns, ~52,000 slots a weekday, a
//! 14-day horizon), registers 300,000 residents with their cards, then drives two mornings of
//! booking traffic from several threads (searches, holds, confirms, abandoned holds,
//! cancellations, referrals from community clinics, load spreading to other hospitals when a
//! department is full), marks the first day's visits (attended or no-show, with suspensions),
//! and ends the second day with the 15:00 release flash crowd decided by the seeded release
//! lottery. It prints what happened and checks that no slot was oversold; then it plays the
//! next morning's paediatric clinics of one district (check-ins, patients seen) and prints that
//! district's live load board.
//!
//! ```text
//! cargo run --release -p haoyuan-sim --example dongguan [-- --threads 4 --seed 7]
//! ```

use haoyuan::*;
use haoyuan_sim::{build_region, Region, RegionSpec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const OFFSET: i32 = 8 * 3600;
const RESIDENTS: u32 = 300_000;
const MORNING_REQUESTS: usize = 160_000;
const FLASH_REQUESTS: usize = 100_000;

/// What became of one patient request.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
enum Outcome {
    Booked,
    BookedElsewhere,
    ReferralBooked,
    HoldAbandoned,
    NothingFree,
    Rejected(ErrorCode),
}

#[derive(Default)]
struct Tally(HashMap<Outcome, u64>);

impl Tally {
    fn add(&mut self, o: Outcome) {
        *self.0.entry(o).or_default() += 1;
    }
    fn merge(&mut self, other: Tally) {
        for (k, v) in other.0 {
            *self.0.entry(k).or_default() += v;
        }
    }
}

fn args() -> (usize, u64) {
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8) * 2;
    let mut seed = 7;
    let v: Vec<String> = std::env::args().skip(1).collect();
    for w in v.windows(2) {
        match w[0].as_str() {
            "--threads" => threads = w[1].parse().unwrap_or(threads).clamp(1, 64),
            "--seed" => seed = w[1].parse().unwrap_or(seed),
            _ => {}
        }
    }
    (threads, seed)
}

/// One resident's request during the morning: search, hold, confirm — or a referral from the
/// family doctor — with load spreading when the chosen department is full.
fn morning_request(
    engine: &Engine,
    region: &Region,
    rng: &mut ChaCha8Rng,
    today: Date,
    patients: u32,
    channels: &[ChannelId],
) -> (Outcome, Option<BookingId>) {
    let patient = PatientId(rng.random_range(1..=patients));
    let district = rng.random_range(0..region.districts) as usize;
    let clinical = region.by_specialty_tier.len().min(14);
    // Commoner specialties first (a rough Zipf mix).
    let specialty = ((rng.random::<f64>().powi(2)) * clinical as f64) as usize;
    let channel = channels[rng.random_range(0..channels.len())];

    if rng.random_bool(0.08) {
        // The family doctor at the community clinic refers the patient upwards.
        let Some(&clinic) = region.community_by_district[district].first() else {
            return (Outcome::NothingFree, None);
        };
        let from = region.institutions[clinic as usize].id;
        let urgency = [
            Urgency::Emergency,
            Urgency::Urgent,
            Urgency::Urgent,
            Urgency::Routine,
            Urgency::Routine,
            Urgency::Routine,
        ][rng.random_range(0..6)];
        let name = &region.specialties[specialty];
        let referral = match engine.issue_referral(&ReferralRequest {
            patient,
            from,
            specialty: name.clone(),
            institution: None,
            urgency,
            valid_days: 30,
        }) {
            Ok(r) => r.id,
            Err(e) => return (Outcome::Rejected(e.code()), None),
        };
        let depts = &region.by_specialty_tier[specialty][2];
        if depts.is_empty() {
            return (Outcome::NothingFree, None);
        }
        let dept = region.departments[depts[rng.random_range(0..depts.len())] as usize].id;
        let q = AvailabilityQuery {
            department: Some(dept),
            date_from: today,
            date_to: today.plus_days(13),
            with_referral: true,
            limit: 3,
            ..Default::default()
        };
        let clinic_channel = channels[channels.len() - 1];
        for free in engine.find_free_slots(&q).unwrap_or_default() {
            match engine
                .book(&Request::new(patient, free.slot, clinic_channel).with_referral(referral))
            {
                Ok(b) => return (Outcome::ReferralBooked, Some(b.id)),
                Err(Error::SlotFull { .. } | Error::NotOpenYet { .. }) => continue,
                Err(e) => return (Outcome::Rejected(e.code()), None),
            }
        }
        return (Outcome::NothingFree, None);
    }

    // The crowd prefers tertiary hospitals (the seeds' "big hospital" problem).
    let tier = if rng.random_bool(0.6) {
        2
    } else if rng.random_bool(0.5) {
        1
    } else {
        0
    };
    let local = &region.by_specialty_tier_district[specialty][tier][district];
    let depts = if local.is_empty() { &region.by_specialty_tier[specialty][tier] } else { local };
    if depts.is_empty() {
        return (Outcome::NothingFree, None);
    }
    let dept = region.departments[depts[rng.random_range(0..depts.len())] as usize].id;
    let days = rng.random_range(0..7);
    let (from, to) = (today.plus_days(days), today.plus_days(days.max(6)));
    let mut elsewhere = false;
    let mut candidates: Vec<SlotId> = engine
        .find_free_slots(&AvailabilityQuery {
            limit: 3,
            ..AvailabilityQuery::department(dept, from, to)
        })
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.slot)
        .collect();
    if candidates.is_empty() {
        // Full: spread the load to the same department at other institutions of the district.
        candidates = engine
            .alternatives(dept, from, to, 3)
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.earliest.slot)
            .collect();
        elsewhere = true;
    }
    for slot in candidates {
        let req = Request::new(patient, slot, channel);
        let held = match engine.hold(&req) {
            Ok(h) => h,
            Err(Error::SlotFull { .. }) => continue, // "shown free, gone at submit": try the next
            Err(e) => return (Outcome::Rejected(e.code()), None),
        };
        if rng.random_bool(0.08) {
            return (Outcome::HoldAbandoned, None); // never confirmed: expires in 10 minutes
        }
        return match engine.confirm(held.id) {
            Ok(b) if elsewhere => (Outcome::BookedElsewhere, Some(b.id)),
            Ok(b) => (Outcome::Booked, Some(b.id)),
            Err(e) => (Outcome::Rejected(e.code()), None),
        };
    }
    (Outcome::NothingFree, None)
}

fn morning(
    engine: &Engine,
    region: &Region,
    threads: usize,
    seed: u64,
    today: Date,
    channels: &[ChannelId],
) -> (Tally, Vec<BookingId>, f64) {
    let started = Instant::now();
    let per_thread = MORNING_REQUESTS / threads;
    let results: Vec<(Tally, Vec<BookingId>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(seed ^ (today.0 as u64) << 16 ^ t as u64);
                    let mut tally = Tally::default();
                    let mut booked = Vec::new();
                    for i in 0..per_thread {
                        let (o, b) =
                            morning_request(engine, region, &mut rng, today, RESIDENTS, channels);
                        tally.add(o);
                        booked.extend(b);
                        // 5% of bookings are cancelled again later in the morning.
                        if i % 20 == 0 && !booked.is_empty() {
                            let victim = booked.swap_remove(rng.random_range(0..booked.len()));
                            if engine.cancel(victim).is_ok() {
                                CANCELLED.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    (tally, booked)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let mut tally = Tally::default();
    let mut booked = Vec::new();
    for (t, b) in results {
        tally.merge(t);
        booked.extend(b);
    }
    (tally, booked, secs)
}

static CANCELLED: AtomicU64 = AtomicU64::new(0);

fn print_tally(title: &str, tally: &Tally, secs: f64) {
    let total: u64 = tally.0.values().sum();
    println!("\n{title}: {total} requests in {secs:.2} s = {:.0} requests/s (each: search + hold + confirm)", total as f64 / secs);
    let mut rows: Vec<_> = tally.0.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1));
    for (o, n) in rows {
        let label = match o {
            Outcome::Booked => "booked".to_string(),
            Outcome::BookedElsewhere => {
                "booked at an alternative institution (load spreading)".to_string()
            }
            Outcome::ReferralBooked => "booked with a referral from a community clinic".to_string(),
            Outcome::HoldAbandoned => "held, never confirmed (hold expires)".to_string(),
            Outcome::NothingFree => "nothing free in the department or district".to_string(),
            Outcome::Rejected(code) => format!("rejected by rule: {code:?}"),
        };
        println!("  {:>8}  {:>5.1}%  {label}", n, 100.0 * *n as f64 / total as f64);
    }
}

fn main() {
    let (threads, seed) = args();
    let spec = RegionSpec::dongguan();
    let today = spec.start().expect("preset date");
    let mut policy = Policy::default();
    policy.lottery.window_s = 60; // release-time fairness: the first minute after 15:00 is a lottery
    policy.lottery.seed = seed;
    policy.channel_quotas = vec![ChannelQuota {
        channels: vec!["kiosk".into(), "phone".into()],
        share: 0.1,
        cutoff_hours_before_start: 24,
    }];
    let engine = Engine::with_manual_clock(
        EngineConfig { policy, utc_offset_s: OFFSET, ..EngineConfig::default() },
        Timestamp::from_local(today, 7 * 60, OFFSET),
    )
    .expect("valid configuration");
    println!(
        "haoyuan demo — {} on the in-memory engine, {threads} threads, seed {seed}",
        spec.name
    );

    let t = Instant::now();
    let region = build_region(&engine, &spec, seed).expect("region");
    let built = t.elapsed();
    let t = Instant::now();
    let slots = engine.publish_rosters_until(today.plus_days(13)).expect("publish");
    let published = t.elapsed();
    let first_day = engine
        .find_free_slots(&AvailabilityQuery {
            date_from: today,
            date_to: today,
            limit: 1,
            ..Default::default()
        })
        .map(|_| ());
    first_day.expect("query");
    let stats = engine.stats();
    println!(
        "region: {} institutions ({} community, {} secondary, {} tertiary) in {} districts, {} departments, {} resources — built in {:.0?}",
        stats.institutions,
        spec.community.institutions,
        spec.secondary.institutions,
        spec.tertiary.institutions,
        spec.districts,
        stats.departments,
        stats.resources,
        built
    );
    println!(
        "slots: {slots} published for a 14-day horizon ({:.0} per day) in {:.0?} ({:.1} ms per city-day)",
        slots as f64 / 14.0,
        published,
        published.as_secs_f64() * 1000.0 / 14.0
    );

    let t = Instant::now();
    std::thread::scope(|s| {
        for part in 0..threads as u32 {
            let engine = &engine;
            s.spawn(move || {
                let mut id = part;
                while id < RESIDENTS {
                    let p = engine.register_patient().expect("register");
                    engine
                        .link_card(p, "social_security", &format!("4419{:010}", p.0))
                        .expect("card");
                    id += threads as u32;
                }
            });
        }
    });
    println!(
        "residents: {RESIDENTS} registered with a social-security card in {:.0?}",
        t.elapsed()
    );

    let channels: Vec<ChannelId> =
        STANDARD_CHANNELS.iter().map(|c| engine.channel_id(c).expect("channel")).collect();

    // Day 1 morning, 07:00–12:00.
    let (tally, booked_day1, secs) = morning(&engine, &region, threads, seed, today, &channels);
    print_tally(&format!("{today} morning (07:00–12:00)"), &tally, secs);
    println!("  cancellations during the morning: {}", CANCELLED.swap(0, Ordering::Relaxed));
    engine.advance_to(Timestamp::from_local(today, 12 * 60, OFFSET)).expect("clock");

    // The first day's visits: 88% attend, 12% do not come (≈ the 15% the seeds report).
    engine.advance_to(Timestamp::from_local(today, 23 * 60, OFFSET)).expect("clock");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut attended, mut no_shows, mut suspended) = (0, 0, 0);
    for &b in &booked_day1 {
        let Ok(booking) = engine.booking(b) else { continue };
        if booking.date != today || booking.state != BookingState::Booked {
            continue;
        }
        if rng.random_bool(0.12) {
            engine.mark_no_show(b).expect("no-show after start");
            no_shows += 1;
            if engine.patient_record(booking.patient).expect("record").suspended_until.is_some() {
                suspended += 1;
            }
        } else {
            engine.check_in(b).expect("check in");
            engine.fulfil(b).expect("fulfil");
            attended += 1;
        }
    }
    println!("\n{today} visits: {attended} attended, {no_shows} no-shows → {suspended} patients suspended for 30 days");

    // Day 2 morning.
    let day2 = today.plus_days(1);
    engine.advance_to(Timestamp::from_local(day2, 7 * 60, OFFSET)).expect("clock");
    let (tally, _, secs) = morning(&engine, &region, threads, seed + 1, day2, &channels);
    print_tally(&format!("{day2} morning"), &tally, secs);

    // 15:00: the slots of day2 + 7 are released to the public. 100,000 requests arrive in the
    // first minute for the expert doctors of the tertiary hospitals; a lottery decides.
    let release = Timestamp::from_local(day2, 15 * 60, OFFSET);
    engine.advance_to(release.plus_s(5)).expect("clock");
    let target = day2.plus_days(7);
    let expert_slots: Vec<SlotId> = region
        .departments
        .iter()
        .filter(|d| d.tier == Tier::Tertiary)
        .flat_map(|d| {
            engine
                .find_free_slots(&AvailabilityQuery {
                    limit: 1000,
                    ..AvailabilityQuery::department(d.id, target, target)
                })
                .unwrap_or_default()
        })
        .filter(|f| engine.resource(f.resource).is_ok_and(|r| r.expert))
        .map(|f| f.slot)
        .collect();
    let places: u32 =
        expert_slots.iter().map(|s| engine.slot(*s).map_or(0, |i| i.pool_places.total())).sum();
    // Room for every event of the crowd (an entry each, then the draw, a won or lost each):
    // the default queue (65,536) would cut this subscriber off halfway, and the counts below
    // would read zero.
    let events = engine
        .subscribe_with(SubscribeOptions {
            capacity: 4 * FLASH_REQUESTS,
            overflow: Overflow::Disconnect,
            ..SubscribeOptions::default()
        })
        .expect("within SUBSCRIPTION_CAPACITY_MAX");
    let t = Instant::now();
    let entered = AtomicU64::new(0);
    std::thread::scope(|s| {
        for part in 0..threads {
            let (engine, expert_slots, entered, channels) =
                (&engine, &expert_slots, &entered, &channels);
            s.spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xf1a5 ^ part as u64);
                for _ in 0..FLASH_REQUESTS / threads {
                    let patient = PatientId(rng.random_range(0..RESIDENTS));
                    let slot = expert_slots[rng.random_range(0..expert_slots.len())];
                    if let Ok(Submission::Entered { .. }) = engine.submit(&Request::new(
                        patient,
                        slot,
                        channels[rng.random_range(0..2)],
                    )) {
                        entered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let collect = t.elapsed();
    let t = Instant::now();
    engine.advance_to(release.plus_s(60)).expect("draw");
    let draw = t.elapsed();
    assert!(!events.is_cut_off(), "the subscriber kept up with the crowd");
    let (mut won, mut lost) = (0u64, 0u64);
    let mut reasons: HashMap<String, u64> = HashMap::new();
    for e in events.try_iter() {
        match e.kind {
            EventKind::LotteryWon { .. } => won += 1,
            EventKind::LotteryLost { reason, .. } => {
                lost += 1;
                // "slot#12 has no free place …" → "has no free place …": group by the rule, not the id.
                let key: String =
                    reason.split_whitespace().skip(1).take(5).collect::<Vec<_>>().join(" ");
                let key = if key.starts_with("reached") {
                    "reached a per-patient limit".to_string()
                } else {
                    key
                };
                *reasons.entry(key).or_default() += 1;
            }
            _ => {}
        }
    }
    println!(
        "\n15:00 release flash crowd for {target}: {FLASH_REQUESTS} requests for {} expert slots ({places} places) — {} entered the lottery in {:.0?}, drawn in {:.0?}",
        expert_slots.len(),
        entered.load(Ordering::Relaxed),
        collect,
        draw
    );
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!(
        "  won: {won}; lost: {lost}: {}",
        reasons.iter().take(3).map(|(r, n)| format!("{n} {r}")).collect::<Vec<_>>().join("; ")
    );

    // How places were shared, from every booking in the engine.
    let mut by_tier: HashMap<Tier, (u64, u64)> = HashMap::new();
    let mut by_channel: HashMap<String, u64> = HashMap::new();
    let mut by_class: HashMap<&str, u64> = HashMap::new();
    let mut oversold = 0;
    let n_slots = engine.slot_count();
    for id in 1..=n_slots as u32 {
        let Ok(s) = engine.slot(SlotId(id)) else { continue };
        let taken: u32 = s.pool_taken.total();
        let tier = engine.institution(s.institution).map(|i| i.tier).unwrap_or(Tier::Community);
        let e = by_tier.entry(tier).or_default();
        e.0 += taken as u64;
        e.1 += s.capacity as u64;
        if Pool::ALL.into_iter().any(|p| s.pool_taken[p] > s.pool_places[p]) {
            oversold += 1;
        }
    }
    for p in 0..RESIDENTS {
        let Ok(rec) = engine.patient_record(PatientId(p)) else { continue };
        for b in rec.active_bookings.iter().chain(
            engine
                .bookings_of(PatientId(p))
                .unwrap_or_default()
                .iter()
                .filter(|b| b.state == BookingState::Fulfilled),
        ) {
            let channel = engine.channel(b.channel).map(|c| c.name).unwrap_or_default();
            *by_channel.entry(channel).or_default() += 1;
            let class = match b.referral.and_then(|r| rec.referrals.iter().find(|x| x.id == r)) {
                Some(r) => match r.urgency {
                    Urgency::Emergency => "referral: emergency",
                    Urgency::Urgent => "referral: urgent",
                    Urgency::Routine => "referral: routine",
                },
                None => "general public",
            };
            *by_class.entry(class).or_default() += 1;
        }
    }
    println!("\nplaces taken by tier (all {n_slots} slots of the horizon):");
    for tier in [Tier::Tertiary, Tier::Secondary, Tier::Community] {
        let (t, c) = by_tier.get(&tier).copied().unwrap_or_default();
        println!(
            "  {:<10} {:>8} of {:>9} places ({:.1}%)",
            format!("{tier:?}"),
            t,
            c,
            100.0 * t as f64 / c.max(1) as f64
        );
    }
    let mut rows: Vec<_> = by_channel.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!(
        "bookings by channel: {}",
        rows.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", ")
    );
    let mut rows: Vec<_> = by_class.into_iter().collect();
    rows.sort();
    println!(
        "bookings by priority class: {}",
        rows.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", ")
    );
    println!("events emitted: {}; slots over capacity: {oversold}", engine.last_event_seq());
    if oversold > 0 {
        eprintln!("INVARIANT BROKEN: {oversold} slots oversold");
        std::process::exit(1);
    }

    paediatric_board(&engine, &region, day2.plus_days(1), seed);
    delivery_beds(&engine, &region, day2.plus_days(2), seed);
}

/// Xiamen's obstetric bed pool (issue 18) on this city: every hospital opens an obstetric ward
/// (tertiary 25 delivery beds, secondary 8) with one slot per night; the mothers due over the
/// next four days (~330 a day: Dongguan's ~120,000 births a year) each reserve the night before
/// her due date and the two after, as one booking group (all nights or none), taking the first
/// stay `find_stays` offers — her own district first, then the least loaded.
fn delivery_beds(engine: &Engine, region: &Region, from: Date, seed: u64) {
    let t = Instant::now();
    let mut specs = Vec::new();
    for inst in region.institutions.iter().filter(|i| i.tier != Tier::Community) {
        let ward =
            engine.add_department(inst.id, "obstetric beds", "Obstetric ward").expect("ward");
        let beds =
            engine.add_resource(ward, ResourceKind::Bed, "Delivery beds", false).expect("bed");
        let capacity = if inst.tier == Tier::Tertiary { 25 } else { 8 };
        for night in 0..7 {
            let date = from.plus_days(night);
            specs.push(SlotSpec {
                resource: beds,
                date,
                start_min: 20 * 60,
                end_min: 20 * 60 + 1,
                capacity,
            });
        }
    }
    let nights = engine.publish_slots(&specs).expect("nights");
    let districts: Vec<String> = region
        .institutions
        .iter()
        .map(|i| {
            engine
                .institution(i.id)
                .and_then(|x| engine.district_name(x.district))
                .expect("district")
        })
        .collect();
    let app = engine.channel_id("app").expect("standard channel");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xbed5);
    let (mut mothers, mut confirmed, mut own_district) = (0u32, 0u32, 0u32);
    let mut spent = std::time::Duration::ZERO;
    for due in 0..4 {
        for _ in 0..330 {
            mothers += 1;
            let mother = PatientId(rng.random_range(1..=RESIDENTS));
            let district = districts[rng.random_range(0..districts.len())].clone();
            let q = StayQuery {
                specialty: "obstetric beds".into(),
                district: Some(district),
                first_night: from.plus_days(due),
                nights: 3,
                flex_days: 0,
                limit: 5,
            };
            let s = Instant::now();
            let offers = engine.find_stays(&q).expect("stay query");
            let stay = offers.iter().find_map(|o| {
                let g = GroupRequest {
                    patient: mother,
                    channel: app,
                    slots: o.slots.clone(),
                    referral: None,
                };
                engine.book_group(&g).ok().map(|_| o.same_district)
            });
            spent += s.elapsed();
            if let Some(same) = stay {
                confirmed += 1;
                own_district += same as u32;
            }
        }
    }
    let mut oversold = 0;
    let mut taken = 0u64;
    for s in nights.iter() {
        let info = engine.slot(s).expect("night");
        oversold += (info.pool_taken.total() > info.pool_places.total()) as u32;
        taken += info.pool_taken.total() as u64;
    }
    println!(
        "\ndelivery beds (Xiamen's obstetric pool): {} wards, {} bed-nights over 7 nights; {mothers} mothers due in 4 days asked for 3-night stays: {confirmed} confirmed ({:.0}%, {own_district} in their own district), {} not served (no hospital with a free bed all three nights, or the mother at a booking limit); {taken} bed-nights taken, {oversold} nights over capacity; {:.0} µs per search + booking, {:.0?} in all",
        specs.len() / 7,
        specs.iter().map(|s| s.capacity as u64).sum::<u64>(),
        100.0 * confirmed as f64 / mothers as f64,
        mothers - confirmed,
        spent.as_secs_f64() * 1e6 / mothers as f64,
        t.elapsed()
    );
    assert_eq!(taken, 3 * confirmed as u64, "every confirmed stay holds its three nights, no more");
    if oversold > 0 {
        eprintln!("INVARIANT BROKEN: {oversold} nights oversold");
        std::process::exit(1);
    }
}

/// The live load board (Xiamen's paediatric platform, issue 18) of one district's paediatrics
/// over a simulated morning: walk-in bookings at 07:30 take the free places of the slots before
/// 11:00, 90% of the booked patients come, up to two hours before their slot (parents queue
/// from the opening), and check in; each doctor sees one every 8 to 15 minutes (a pace of its
/// own, ±1 minute, from 08:00); at 09:15 the board
/// shows each institution's queue, expected wait, free places today and beds tonight.
fn paediatric_board(engine: &Engine, region: &Region, day: Date, seed: u64) {
    let Some(ped) = region.specialties.iter().position(|s| s == "paediatrics") else { return };
    let ped = ped as u32;
    // The district with the most paediatrics departments.
    let mut count = vec![0u32; region.districts as usize];
    for d in region.departments.iter().filter(|d| d.specialty == ped) {
        count[d.district as usize] += 1;
    }
    let Some(district) = (0..region.districts).max_by_key(|&d| (count[d as usize], u32::MAX - d))
    else {
        return;
    };
    let t = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xb0a2d);
    let app = engine.channel_id("app").expect("standard channel");
    engine.advance_to(Timestamp::from_local(day, 7 * 60 + 30, OFFSET)).expect("clock");
    struct Doctor {
        pace_min: u16,
        next_free_min: u16,
        /// (check-in minute, booking), in check-in order.
        arriving: Vec<(u16, BookingId)>,
        queue: std::collections::VecDeque<BookingId>,
    }
    let mut doctors = Vec::new();
    let mut district_name = String::new();
    for d in region.departments.iter().filter(|d| d.specialty == ped && d.district == district) {
        let inst =
            engine.institution(region.institutions[d.institution as usize].id).expect("inst");
        district_name = engine.district_name(inst.district).expect("district");
        for r in engine.resources_of(d.id).expect("department") {
            if r.kind != ResourceKind::Doctor {
                continue;
            }
            let slots: Vec<SlotId> = engine
                .resource_day_slots(r.id, day)
                .expect("resource")
                .into_iter()
                .filter(|s| engine.slot(*s).is_ok_and(|i| i.start_min < 11 * 60))
                .collect();
            for &s in &slots {
                for _ in 0..engine.slot(s).map_or(0, |i| i.capacity) {
                    let p = PatientId(rng.random_range(0..RESIDENTS));
                    let _ = engine.book(&Request::new(p, s, app)); // full, or a limit: a walk-in less
                }
            }
            let mut arriving: Vec<(u16, BookingId)> = engine
                .bookings_on(&slots)
                .expect("slots")
                .into_iter()
                .filter(|b| b.state == BookingState::Booked)
                .filter_map(|b| {
                    let start = engine.slot(b.slot).map_or(0, |i| i.start_min);
                    let early = rng.random_range(0..=120);
                    rng.random_bool(0.9).then_some((start.saturating_sub(early), b.id))
                })
                .collect();
            arriving.sort();
            doctors.push(Doctor {
                pace_min: rng.random_range(8..=15),
                next_free_min: 8 * 60,
                arriving,
                queue: Default::default(),
            });
        }
    }
    let (mut checked_in, mut seen) = (0, 0);
    for minute in 7 * 60 + 30..9 * 60 + 15 {
        engine.advance_to(Timestamp::from_local(day, minute, OFFSET)).expect("clock");
        for doc in &mut doctors {
            while doc.arriving.first().is_some_and(|(m, _)| *m <= minute) {
                let (_, b) = doc.arriving.remove(0);
                engine.check_in(b).expect("check in");
                doc.queue.push_back(b);
                checked_in += 1;
            }
            if minute >= doc.next_free_min {
                if let Some(b) = doc.queue.pop_front() {
                    engine.fulfil(b).expect("fulfil");
                    seen += 1;
                    doc.next_free_min = minute + doc.pace_min + rng.random_range(0..=2) - 1;
                }
            }
        }
    }
    let read = Instant::now();
    let board = engine.load_board("paediatrics", &district_name).expect("board");
    let read = read.elapsed();
    println!(
        "\npaediatrics load board of {district_name}, {day} 09:15 ({} doctors, {checked_in} checked in since 07:30, {seen} seen; simulated in {:.0?}, board read in {read:.0?}):",
        doctors.len(),
        t.elapsed()
    );
    println!(
        "  {:<28} {:<10} {:>5} {:>11} {:>10} {:>12}",
        "institution", "tier", "queue", "wait (min)", "free today", "beds tonight"
    );
    for r in &board.rows {
        println!(
            "  {:<28} {:<10} {:>5} {:>11.0} {:>10} {:>12}",
            r.institution_name,
            format!("{:?}", r.tier),
            r.queue,
            r.expected_wait_s as f64 / 60.0,
            r.free_today,
            r.free_beds_tonight
        );
    }
}
