//! Crash test of retention (province-scale issue, item 5): a child process runs a hospital's
//! days at full speed in `Sync` mode — publishes its rosters a few days ahead, books, moves the
//! clock twelve hours at a time so that days retire under a one-day retention, while another thread
//! snapshots every 20 ms (snapshots holding freed chunks of slot ids as holes) — printing each
//! acknowledged booking with its visit date. The parent kills it with SIGKILL at a random
//! moment, reopens the directory and checks: recovery succeeds; every acknowledged booking of a
//! day still kept is there; one of a retired day is forgotten or still there (its retirement
//! may not have been journaled before the kill), never anything else; the availability index
//! equals a recount; no slot is over capacity; and a second recovery gives the same state.
//!
//! The durability crash test (`durability_crash.rs`) keeps its clock still; this one is the
//! combination it never generated: retirements, snapshots and a crash together. 30 kills by
//! default, and more (up to 300) until a freed chunk has been seen: on a loaded machine a child
//! gets through fewer days before its kill; `HY_CRASH_KILLS=300` for a longer run.

mod durability_support;

use durability_support::{add_rostered_hospital, limits_out_of_the_way, CrashChild};
use haoyuan::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PATIENTS: usize = 2000;
const OFFSET: i32 = 8 * 3600;

fn day0() -> Date {
    Date::from_ymd(2026, 11, 23).unwrap()
}

fn config() -> EngineConfig {
    let mut c = EngineConfig::default().with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    c.policy.limits = limits_out_of_the_way();
    c.policy.cancellation.late_cancel_weight = 0.0;
    c.policy.retention.days = 1;
    c
}

fn options(mode: Durability) -> OpenOptions {
    let start = Timestamp::from_local(day0(), 16 * 60, OFFSET);
    OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start))
}

/// Two departments of four doctors, each on a roster of 8 half-hour segments a day for two
/// years (64 slots a day: a chunk of 1,024 slot ids fills in 16 days), and the patients.
fn setup(dir: &Path) {
    let e = DurableEngine::open(dir, options(Durability::Sync)).unwrap();
    add_rostered_hospital(&e, 2, 4, 3, (day0(), day0().plus_days(730)));
    e.register_patients(PATIENTS).unwrap();
    e.close().unwrap();
}

fn today(e: &Engine) -> Date {
    e.now().to_local(OFFSET).0
}

/// The child: days at full speed until killed.
#[test]
#[ignore = "run by retirement_survives_sigkill as its child process"]
fn retention_crash_child() {
    let Ok(dir) = std::env::var("HY_CRASH_DIR") else { return };
    let seed: u64 = std::env::var("HY_CRASH_SEED").unwrap().parse().unwrap();
    let e = std::sync::Arc::new(DurableEngine::open(&dir, options(Durability::Sync)).unwrap());
    let snapshots = e.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(20));
        snapshots.snapshot().unwrap();
    });
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let channel = e.channel_id("app").unwrap();
    let mut out = std::io::stdout();
    loop {
        e.publish_rosters_until(today(&e).plus_days(3)).unwrap();
        let n = e.slot_count() as u32;
        for _ in 0..10 {
            // The slots of the last few days published: the days still bookable.
            let slot = SlotId(n - rng.random_range(0..n.min(192)));
            let patient = PatientId(rng.random_range(1..=PATIENTS as u32));
            if let Ok(b) = e.book(&Request::new(patient, slot, channel)) {
                // Printed only once `book` returned: acknowledged means durable.
                writeln!(out, "B {} {}", b.id.0, b.date.0).unwrap();
            }
        }
        e.advance_clock(12 * 3600).unwrap();
    }
}

#[test]
fn retirement_survives_sigkill() {
    let kills: usize =
        std::env::var("HY_CRASH_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(30);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("retention-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    setup(&dir);
    let mut rng = ChaCha8Rng::seed_from_u64(0x7e7e);
    // Acknowledged bookings and their visit dates.
    let mut booked: Vec<(u64, Date)> = Vec::new();
    let (mut forgotten, mut holes_seen) = (0, false);
    let mut round = 0;
    while round < kills || (!holes_seen && round < 300) {
        round += 1;
        let child = CrashChild::spawn(
            "retention_crash_child",
            &[("HY_CRASH_DIR", dir.display().to_string()), ("HY_CRASH_SEED", round.to_string())],
        );
        std::thread::sleep(Duration::from_millis(rng.random_range(60..200)));
        for l in child.kill() {
            // Only whole lines: the last one may be cut short by the kill.
            if let ["B", id, date] = l.split(' ').collect::<Vec<_>>()[..] {
                if let (Ok(id), Ok(date)) = (id.parse(), date.parse()) {
                    booked.push((id, Date(date)));
                }
            }
        }
        let e = DurableEngine::open(&dir, options(Durability::None))
            .unwrap_or_else(|err| panic!("round {round}: recovery failed: {err}"));
        // Retention keeps yesterday onwards (one day); a retirement that reached the journal
        // before the kill has forgotten the days before that.
        let kept_from = today(&e).plus_days(-1);
        for &(id, date) in &booked {
            match e.booking(BookingId(id)) {
                Ok(b) => assert_eq!(b.state, BookingState::Booked, "round {round}: {id}"),
                Err(Error::NotFound { kind, .. })
                    if kind == FORGOTTEN_BOOKING && date < kept_from =>
                {
                    forgotten += 1;
                }
                Err(err) => panic!(
                    "round {round}: acknowledged booking {id} on {date} lost \
                     (days from {kept_from} are kept): {err}"
                ),
            }
        }
        e.check_availability_index()
            .unwrap_or_else(|m| panic!("round {round}: availability index: {m}"));
        for i in 1..=e.slot_count() as u32 {
            if let Ok(s) = e.slot(SlotId(i)) {
                assert!(s.pool_taken.total() <= s.capacity as u32, "round {round}: {s:?}");
            }
        }
        holes_seen |= e.metrics().memory.slot_bytes < 48 * e.slot_count() as u64 / 2;
        let digest = e.state_digest().unwrap();
        drop(e);
        let again = DurableEngine::open(&dir, options(Durability::None)).unwrap();
        assert_eq!(
            again.state_digest().unwrap(),
            digest,
            "round {round}: a second recovery differs"
        );
    }
    eprintln!(
        "{round} kills; {} acknowledged bookings, {forgotten} checks found a retired one forgotten",
        booked.len()
    );
    assert!(booked.len() > round, "the child must make progress between kills");
    assert!(forgotten > 0, "no retirement reached the journal: the test tested nothing");
    assert!(holes_seen, "no chunk of slots was ever freed");
    let _ = std::fs::remove_dir_all(&dir);
}
