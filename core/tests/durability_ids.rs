//! Hardening item B: every journaled id allocation replays, whatever the interleaving.
//!
//! Ids of patients, registry items and rosters used to be taken before their event got a
//! sequence number, so concurrent registrations reached the journal out of id order and a
//! durable directory could become unopenable ("replay of event 260 failed: unknown patient id
//! 212", or "adds an id whose predecessors never appear") after a clean close, and after about
//! 10% of SIGKILLs. Here many threads allocate every kind of id at once — institutions,
//! departments, resources, channels, rosters, patients (with cards), slots, bookings,
//! referrals, waitlist entries and lottery tickets — in every durability mode; the directory
//! must always reopen, with everything acknowledged in it.
//!
//! The SIGKILL child is this test binary itself, re-run on the ignored `id_child` test.

mod durability_support;

use durability_support::CrashChild;
use haoyuan::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const THREADS: usize = 8;
/// `max_unflushed` of the buffered SIGKILL rounds: small, so that an unbounded loss shows.
const BUFFERED_BOUND: u32 = 64;
const OFFSET: i32 = 8 * 3600;

fn day0() -> Date {
    Date::from_ymd(2026, 11, 23).unwrap()
}

/// 15:10 on day 0: inside the release lottery of day 7 (window one hour), and long after the
/// public release of tomorrow.
fn start() -> Timestamp {
    Timestamp::from_local(day0(), 15 * 60 + 10, OFFSET)
}

fn config() -> EngineConfig {
    let mut c = EngineConfig { utc_offset_s: OFFSET, ..EngineConfig::default() }
        .with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    c.policy.lottery.window_s = 3600;
    c
}

fn options(mode: Durability) -> OpenOptions {
    OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start()))
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ids-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// What one thread got acknowledged, as `kind id` lines (the same text the SIGKILL child
/// prints), so that the parent can check each is present after recovery.
fn allocate_round(e: &Engine, tag: &str, community: InstitutionId, ack: &mut dyn FnMut(&str, u64)) {
    let Ok(inst) =
        e.add_institution(&format!("Hospital {tag}"), Tier::Tertiary, &format!("District {tag}"))
    else {
        return;
    };
    ack("institution", inst.0 as u64);
    let Ok(dept) = e.add_department(inst, "cardiology", &format!("Cardiology {tag}")) else {
        return;
    };
    ack("department", dept.0 as u64);
    let Ok(res) = e.add_resource(dept, ResourceKind::Doctor, &format!("Dr {tag}"), false) else {
        return;
    };
    ack("resource", res.0 as u64);
    if let Ok(ch) = e.add_channel(&format!("channel-{tag}")) {
        ack("channel", ch.0 as u64);
    }
    let roster = Roster {
        resource: res,
        weekdays: vec![0, 1, 2, 3, 4, 5, 6],
        start_min: 13 * 60,
        end_min: 14 * 60,
        segment_min: 30,
        places: 2,
        valid_from: day0().plus_days(20),
        valid_until: day0().plus_days(20),
        closed_dates: vec![],
    };
    if let Ok(r) = e.add_roster(roster) {
        ack("roster", r.0 as u64);
    }
    let Ok(patient) = e.register_patient() else { return };
    ack("patient", patient.0 as u64);
    if e.link_card(patient, "e_health", &format!("EH-{tag}")).is_ok() {
        ack("card", patient.0 as u64);
    }
    let tomorrow = SlotSpec {
        resource: res,
        date: day0().plus_days(1),
        start_min: 8 * 60,
        end_min: 8 * 60 + 30,
        capacity: 4,
    };
    let release = SlotSpec { date: day0().plus_days(7), ..tomorrow };
    let Ok(slots) = e.publish_slots(&[tomorrow, release]) else { return };
    ack("slot", slots.start.0 as u64);
    let app = e.channel_id("app").unwrap();
    if let Ok(b) = e.book(&Request::new(patient, slots.start, app)) {
        ack("booking", b.id.0);
    }
    if let Ok(Submission::Entered { ticket, .. }) =
        e.submit(&Request::new(patient, SlotId(slots.start.0 + 1), app))
    {
        ack("ticket", ticket.0);
    }
    let referral = ReferralRequest {
        patient,
        from: community,
        specialty: "cardiology".into(),
        institution: None,
        urgency: Urgency::Routine,
        valid_days: 30,
    };
    if let Ok(r) = e.issue_referral(&referral) {
        ack("referral", r.id.0);
    }
    let wait = WaitlistRequest {
        patient,
        department: dept,
        resource: None,
        date_from: day0().plus_days(2),
        date_to: day0().plus_days(3),
        time: None,
        channel: app,
        referral: None,
        follow_up: false,
    };
    if let Ok(w) = e.join_waitlist(&wait) {
        ack("waitlist", w.id.0);
    }
}

fn community(e: &Engine) -> InstitutionId {
    e.add_institution("Nancheng Community Clinic", Tier::Community, "Nancheng").unwrap()
}

/// Check that an acknowledged `kind id` is present in a recovered engine.
fn present(e: &Engine, kind: &str, id: u64) -> bool {
    match kind {
        "institution" => e.institution(InstitutionId(id as u32)).is_ok(),
        "department" => e.department(DepartmentId(id as u32)).is_ok(),
        "resource" => e.resource(ResourceId(id as u32)).is_ok(),
        "channel" => e.channel(ChannelId(id as u16)).is_ok(),
        "roster" => e.roster(RosterId(id as u32)).is_ok(),
        "patient" => e.patient_record(PatientId(id as u32)).is_ok(),
        "card" => e.patient_record(PatientId(id as u32)).is_ok_and(|r| !r.cards.is_empty()),
        "slot" => e.slot(SlotId(id as u32)).is_ok(),
        "booking" => e.booking(BookingId(id)).is_ok(),
        // Tickets, referrals and waitlist entries: the recovered engine must not hand the same
        // id out again; checked by allocating after recovery (see `next_ids_are_fresh`).
        _ => true,
    }
}

/// After recovery, new ids of the counter-allocated kinds must be above every acknowledged one.
fn next_ids_are_fresh(e: &Engine, acked: &BTreeSet<(String, u64)>) {
    let max =
        |kind: &str| acked.iter().filter(|(k, _)| k == kind).map(|(_, id)| *id).max().unwrap_or(0);
    let c = community(e);
    let mut got: Vec<(String, u64)> = Vec::new();
    allocate_round(e, "after-recovery", c, &mut |k, id| got.push((k.to_string(), id)));
    for kind in ["referral", "waitlist", "ticket", "booking"] {
        if let Some((_, id)) = got.iter().find(|(k, _)| k == kind) {
            if kind != "booking" {
                assert!(*id > max(kind), "{kind} id {id} handed out again after recovery");
            }
        }
    }
}

fn run_threads(e: &Arc<DurableEngine>, rounds: usize, prefix: &str) -> BTreeSet<(String, u64)> {
    let c = community(e);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let e = e.clone();
            let prefix = prefix.to_string();
            std::thread::spawn(move || {
                let mut acked = BTreeSet::new();
                for i in 0..rounds {
                    allocate_round(&e, &format!("{prefix}-{t}-{i}"), c, &mut |k, id| {
                        acked.insert((k.to_string(), id));
                    });
                }
                acked
            })
        })
        .collect();
    handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
}

#[test]
fn concurrent_id_allocation_reopens_after_a_clean_close_in_every_mode() {
    let modes = [
        ("sync", Durability::Sync),
        ("buffered", Durability::Buffered { interval: Duration::from_millis(5) }),
        ("buffered-slow", Durability::Buffered { interval: Duration::from_millis(200) }),
    ];
    for (name, mode) in modes {
        for run in 0..3 {
            let dir = fresh_dir(&format!("clean-{name}-{run}"));
            let (acked, expected) = {
                let e = Arc::new(DurableEngine::open(&dir, options(mode)).unwrap());
                let acked = run_threads(&e, 40, &format!("r{run}"));
                let expected = debug_state_of(&e);
                Arc::try_unwrap(e).expect("threads joined").close().unwrap();
                (acked, expected)
            };
            let e = DurableEngine::open(&dir, options(mode))
                .unwrap_or_else(|err| panic!("{name} run {run}: reopen failed: {err}"));
            for (kind, id) in &acked {
                assert!(
                    present(&e, kind, *id),
                    "{name} run {run}: acknowledged {kind} {id} missing after reopen"
                );
            }
            assert_eq!(
                debug_state_of(&e),
                expected,
                "{name} run {run}: replay rebuilt another state"
            );
            next_ids_are_fresh(&e, &acked);
            drop(e);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn debug_state_of(e: &Engine) -> String {
    // The journal's own comparison helper is a test hook; the public view is enough here:
    // every record of every kind, by id.
    let stats = e.stats();
    let mut out = format!("{stats:?}\n");
    for i in 1..=stats.institutions as u32 {
        out += &format!("{:?}\n", e.institution(InstitutionId(i)));
    }
    for i in 1..=stats.departments as u32 {
        out += &format!("{:?}\n", e.department(DepartmentId(i)));
    }
    for i in 1..=stats.resources as u32 {
        out += &format!("{:?}\n", e.resource(ResourceId(i)).map(|r| (r.name, r.department)));
    }
    for i in 1..=stats.slots as u32 {
        out += &format!("{:?}\n", e.slot(SlotId(i)));
    }
    for i in 1..=stats.patients as u32 {
        out += &format!(
            "{:?}\n",
            e.patient_record(PatientId(i)).map(|r| (
                r.cards,
                r.active_bookings,
                r.referrals,
                r.waitlist_entries
            ))
        );
    }
    out.replace(&format!("{:?}", e.now()), "<now>")
}

// ------------------------------------------------------------------ SIGKILL

/// The child: allocate every kind of id from many threads until killed, printing each
/// acknowledged one.
#[test]
#[ignore = "run by sigkill_during_concurrent_id_allocation_loses_nothing_acknowledged as its child process"]
fn id_child() {
    let Ok(dir) = std::env::var("HY_IDS_DIR") else { return };
    let opts = match std::env::var("HY_IDS_MODE").unwrap().as_str() {
        "sync" => options(Durability::Sync),
        // A long interval: only the record bound limits what a crash may lose (item 10).
        _ => options(Durability::Buffered { interval: Duration::from_millis(100) })
            .max_unflushed(BUFFERED_BOUND),
    };
    let round: usize = std::env::var("HY_IDS_ROUND").unwrap().parse().unwrap();
    let e = Arc::new(DurableEngine::open(&dir, opts).unwrap());
    let c = community(&e);
    let out = Arc::new(parking_lot::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (e, out) = (e.clone(), out.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    allocate_round(&e, &format!("k{round}-{t}-{i}"), c, &mut |k, id| {
                        // Printed only once the call returned: acknowledged.
                        writeln!(out.lock(), "{k} {id}").unwrap();
                    });
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

fn kill_round(dir: &Path, mode: &str, round: usize, after_ms: u64) -> Vec<(String, u64)> {
    let child = CrashChild::spawn(
        "id_child",
        &[
            ("HY_IDS_DIR", dir.display().to_string()),
            ("HY_IDS_MODE", mode.to_string()),
            ("HY_IDS_ROUND", round.to_string()),
        ],
    );
    std::thread::sleep(Duration::from_millis(after_ms));
    child
        .kill()
        .iter()
        // A line cut short by the kill does not parse: only whole lines count.
        .filter_map(|l| {
            l.split_once(' ').and_then(|(k, id)| Some((k.to_string(), id.parse::<u64>().ok()?)))
        })
        .collect()
}

#[test]
fn sigkill_during_concurrent_id_allocation_loses_nothing_acknowledged() {
    let kills: usize =
        std::env::var("HY_IDS_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(20);
    let mut rng = ChaCha8Rng::seed_from_u64(0x1d5);
    for mode in ["sync", "buffered"] {
        let dir = fresh_dir(&format!("kill-{mode}"));
        let mut acked: BTreeSet<(String, u64)> = BTreeSet::new();
        for round in 0..kills {
            let got = kill_round(&dir, mode, round, rng.random_range(60..250));
            acked.extend(got);
            let e = DurableEngine::open(&dir, options(Durability::None))
                .unwrap_or_else(|err| panic!("{mode} round {round}: recovery failed: {err}"));
            let lost: Vec<_> = acked.iter().filter(|(k, id)| !present(&e, k, *id)).collect();
            match mode {
                "sync" => assert!(lost.is_empty(), "sync round {round}: acknowledged and lost: {lost:?}"),
                // Buffered mode may lose a bounded tail of acknowledged operations (item 10): at
                // most `max_unflushed` records, each operation at least one — counted, not timed.
                _ => assert!(
                    lost.len() <= BUFFERED_BOUND as usize,
                    "buffered round {round}: {} acknowledged operations lost, bound {BUFFERED_BOUND}",
                    lost.len()
                ),
            }
            // What was lost in buffered mode is forgotten by the next rounds.
            acked.retain(|(k, id)| present(&e, k, *id));
        }
        assert!(
            acked.iter().filter(|(k, _)| k == "patient").count() > kills,
            "{mode}: the child must make progress"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
