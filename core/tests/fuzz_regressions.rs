//! Named tests for fuzz inputs that once made the code fail, each with what broke (as
//! rust-lang/regex's `tests/fuzz/mod.rs`). The corpus under `fuzz/corpus/` holds seeds (valid
//! and torn files written by `durability_corruption.rs`'s `write_corpus`, hand-written FHIR
//! bundles and rosters), not failures: no failing input was ever committed. The failures that
//! can be established are the ones whose fix came with the fuzz targets and their seeded
//! mutations (commit 6febf70, "corruption tests, fuzz targets and corpus"): replay took any
//! instant a record carried. Their inputs are rebuilt here, byte for byte, through the same
//! fuzz hooks the cargo-fuzz targets call (`fuzz/fuzz_targets/journal.rs`).
//!
//! A new fuzz finding goes here too: the input (or the smallest one that still fails) as bytes
//! or `include_bytes!`, the test named after what it exercises, and a comment saying what broke.

use haoyuan::*;

/// Just enough MessagePack to write journal records by hand: an `Event` is
/// `[seq, at, [type, fields …]]` (docs/journal-format.md, section 3).
mod msgpack {
    pub fn array(len: usize, items: &[&[u8]]) -> Vec<u8> {
        assert!(len < 16 && len == items.len());
        let mut out = vec![0x90 | len as u8];
        for i in items {
            out.extend_from_slice(i);
        }
        out
    }

    pub fn string(s: &str) -> Vec<u8> {
        assert!(s.len() < 32);
        let mut out = vec![0xa0 | s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    pub fn uint(v: u64) -> Vec<u8> {
        let mut out = vec![0xcf];
        out.extend_from_slice(&v.to_be_bytes());
        out
    }

    pub fn int(v: i64) -> Vec<u8> {
        let mut out = vec![0xd3];
        out.extend_from_slice(&v.to_be_bytes());
        out
    }
}

/// The record of event `seq`, dated `at` (seconds since the epoch), registering patient `id`.
fn patient_registered(seq: u64, at: i64, id: u64) -> Vec<u8> {
    let kind = msgpack::array(2, &[&msgpack::string("patient_registered"), &msgpack::uint(id)]);
    msgpack::array(3, &[&msgpack::uint(seq), &msgpack::int(at), &kind])
}

/// A journal segment (valid header and checksums) holding `records` from event 1 on.
fn segment(records: &[Vec<u8>]) -> Vec<u8> {
    let payloads: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
    fuzz_segment_from_payloads(2, 1, &payloads).unwrap()
}

/// 2026-11-23 00:00 UTC (08:00 in China): an ordinary instant.
const NOW_S: i64 = 1_795_392_000;

/// The hand-written records are what the engine writes: a sane one replays. Without this, the
/// refusals below could come from a malformed record rather than from the instant.
#[test]
fn hand_written_records_replay() {
    let events =
        fuzz_decode_segment(&segment(&[patient_registered(1, NOW_S, 1)])).expect("replays");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].at, Timestamp(NOW_S));
    assert_eq!(events[0].kind, EventKind::PatientRegistered { patient: PatientId(1) });
}

/// 6febf70: a checksummed record dated far past the engine's calendar (`DATE_MAX`; here
/// `i64::MAX` seconds). Replay accepted it (the fuzz hook returned `Ok`: checked by removing
/// the check) and set the rebuilt engine's clock there, outside the range every date
/// computation of the engine assumes (local dates, windows, `plus_s`). Now `Replayer::apply`
/// refuses the record (`sane_time`) as corruption.
#[test]
fn journal_record_dated_after_the_calendar() {
    let bytes = segment(&[patient_registered(1, NOW_S, 1), patient_registered(2, i64::MAX, 2)]);
    let err = fuzz_decode_segment(&bytes).unwrap_err();
    assert!(matches!(err, Error::Durability(_)), "{err:?}");
    assert!(err.to_string().contains("outside the engine's calendar"), "{err}");
}

/// 6febf70: the same at the other end, a record dated before 1970 (`i64::MIN`, -1). The fresh
/// replayer's clock then started at `i64::MIN` too (`Replayer::fresh`), so such a record was
/// accepted as well; now the clock starts at 0 and the record is refused.
#[test]
fn journal_record_dated_before_the_epoch() {
    for at in [i64::MIN, -1] {
        let err = fuzz_decode_segment(&segment(&[patient_registered(1, at, 1)])).unwrap_err();
        assert!(err.to_string().contains("outside the engine's calendar"), "{at}: {err}");
    }
}
