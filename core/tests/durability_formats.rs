//! Every journal format this build reads opens to the same state, and what is written after
//! opening is in the current format. Format 1 (card numbers in plain text) is `pii.rs`'s; this
//! file reads format 2 (MessagePack records), written by the code before format 3
//! (`fixtures/format2/README.md`), format 3 (postcard records, no request stamps), written by
//! the code before format 4 (`fixtures/format3/README.md`), and format 4 (request stamps and
//! keys, no group records), written by the code before format 5 (`fixtures/format4/README.md`),
//! and format 5 (group records, no retirement record), written by the code before format 6
//! (`fixtures/format5/README.md`).

mod durability_support;

use durability_support::*;
use haoyuan::*;
use std::path::{Path, PathBuf};

const CURRENT: u16 = 6;

fn fixture(format: u16) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/format{format}"))
}

/// A copy of the fixture to open (opening writes: a new segment, the LOCK file).
fn copy_of_fixture(format: u16, name: &str) -> PathBuf {
    let dir = fresh_dir(name);
    for entry in std::fs::read_dir(fixture(format)).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        if file.ends_with(".hyj") || file.ends_with(".hys") || file == "config.json" {
            std::fs::copy(&path, dir.join(&file)).unwrap();
        }
    }
    dir
}

fn expected(format: u16, field: &str) -> String {
    let text = std::fs::read_to_string(fixture(format).join("expected.txt")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("{field} missing from expected.txt"))
}

fn hex(digest: [u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first bytes of each segment: magic and format version.
fn segment_formats(dir: &Path) -> Vec<(String, u16)> {
    let mut out: Vec<(String, u16)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hyj"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p.file_name().unwrap().to_str().unwrap().to_string(), u16::from_le_bytes([b[6], b[7]]))
        })
        .collect();
    out.sort();
    out
}

fn open(dir: &Path) -> DurableEngine {
    // The fixtures were written before retention existed: their configuration has the
    // default retention, not the shorter one of the other durability tests.
    let mut config = config();
    config.policy.retention = RetentionPolicy::default();
    DurableEngine::open(
        dir,
        OpenOptions::new(Durability::Sync).config(config).clock(ClockKind::Manual(start())),
    )
    .unwrap()
}

#[test]
fn a_format2_directory_recovers_its_exact_state_and_continues_in_the_current_format() {
    recovers_and_continues(2, 336, 481);
}

#[test]
fn a_format3_directory_recovers_its_exact_state_and_continues_in_the_current_format() {
    recovers_and_continues(3, 274, 447);
}

#[test]
fn a_format4_directory_recovers_its_exact_state_and_continues_in_the_current_format() {
    recovers_and_continues(4, 277, 453);
    // Its request keys, from the snapshot and from the journal's stamps, are remembered: a
    // retry answers the first outcome and registers nobody.
    let dir = copy_of_fixture(4, "format4-keys");
    let e = open(&dir);
    for key in ["fixture-150-0", "fixture-300-2"] {
        let seq = e.last_event_seq();
        let key = RequestKey::new(key).unwrap();
        let outcome = e.execute(Some(&key), &Command::RegisterPatient).unwrap();
        assert!(matches!(outcome, Outcome::Patient { .. }), "{outcome:?}");
        assert_eq!(e.last_event_seq(), seq, "the retry of {key} acted again");
    }
    let seq = e.last_event_seq();
    e.execute(Some(&RequestKey::new("fixture-new").unwrap()), &Command::RegisterPatient).unwrap();
    assert_eq!(e.last_event_seq(), seq + 1, "an unknown key acts");
}

#[test]
fn a_format5_directory_recovers_its_exact_state_and_continues_in_the_current_format() {
    recovers_and_continues(5, 247, 445);
    // Its booking groups (one from the snapshot's field, one from a group record) come back
    // whole.
    let e = open(&copy_of_fixture(5, "format5-groups"));
    let groups = (1..=e.stats().patients as u32)
        .flat_map(|p| e.bookings_of(PatientId(p)).unwrap_or_default())
        .filter(|b| e.booking_group(b.id).is_ok_and(|g| g.bookings.len() >= 2))
        .count();
    assert!(groups >= 4, "the fixture's two groups of two: {groups} grouped bookings");
}

/// Open a copy of the fixture of `format` (a snapshot at `snapshot_seq`, events up to `last`),
/// check its state against `expected.txt`, write on, reopen, compact.
fn recovers_and_continues(format: u16, snapshot_seq: u64, last: u64) {
    let dir = copy_of_fixture(format, &format!("format{format}"));
    assert_eq!(
        segment_formats(&dir).iter().map(|s| s.1).collect::<Vec<_>>(),
        [format, format],
        "the fixture is format {format}"
    );
    let e = open(&dir);
    let report = e.recovery_report().clone();
    assert_eq!(report.snapshot_seq, Some(snapshot_seq));
    assert_eq!(report.segments_read, 2);
    assert_eq!(report.events_replayed, last - snapshot_seq);
    assert_eq!(e.last_event_seq().to_string(), expected(format, "last_event_seq"));
    assert_eq!(hex(e.state_digest().unwrap()), expected(format, "state_digest"));
    assert_no_slot_over_capacity(&e);
    e.check_availability_index().unwrap();
    // The card linked in the fixture's second session is found by its number.
    let p =
        e.find_patient_by_card("e_health", "EH20260002024").unwrap().expect("the card is linked");

    // Writing goes on in the current format, after the fixture's segments.
    let app = e.channel_id("app").unwrap();
    // The first place the card's patient may book, in any department of the fixture, in the
    // days after the fixture's clock (the format-5 fixture's ran 8 days on).
    let today = e.now().to_local(8 * 3600).0;
    let booked = (1..=3)
        .flat_map(|d| {
            let q = AvailabilityQuery::department(
                DepartmentId(d),
                today.max(day0()).plus_days(1),
                today.max(day0()).plus_days(6),
            );
            e.find_free_slots(&q).unwrap()
        })
        .find_map(|f| e.book(&Request::new(p, f.slot, app)).ok())
        .expect("a place the fixture's patient may book");
    let digest = e.state_digest().unwrap();
    e.close().unwrap();
    let formats = segment_formats(&dir);
    assert_eq!(formats.len(), 3, "{formats:?}");
    assert_eq!(formats.iter().map(|s| s.1).collect::<Vec<_>>(), [format, format, CURRENT]);

    // Mixed formats reopen to the same state; a snapshot then compacts the old formats away.
    let e = open(&dir);
    assert_eq!(e.state_digest().unwrap(), digest);
    assert_eq!(e.booking(booked.id).unwrap().state, BookingState::Booked);
    e.snapshot().unwrap();
    e.cancel(booked.id).unwrap();
    e.snapshot().unwrap();
    let digest = e.state_digest().unwrap();
    e.close().unwrap();
    assert!(segment_formats(&dir).iter().all(|s| s.1 == CURRENT), "{:?}", segment_formats(&dir));
    let e = open(&dir);
    assert_eq!(e.state_digest().unwrap(), digest);
}
