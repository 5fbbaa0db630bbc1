//! Corruption: truncate a small journal at every offset and flip a byte at every offset;
//! recovery either succeeds up to the damage or fails with a clear `Durability` error, and never
//! panics. Damaged snapshots fall back to the previous one. Plus the fuzz corpus
//! (`fuzz/corpus/*`) run through the fuzz targets' bodies, with seeded mutations.

mod durability_support;

use durability_support::*;
use haoyuan::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

fn options(mode: Durability) -> OpenOptions {
    OpenOptions::new(mode).config(config()).clock(ClockKind::Manual(start()))
}

/// A directory with a small journal: returns the segment path (the only one with events).
fn small_journal(name: &str) -> (PathBuf, PathBuf, u64) {
    let dir = fresh_dir(name);
    let e = DurableEngine::open(&dir, options(Durability::Sync)).unwrap();
    let h = e.add_institution("Humen Hospital", Tier::Secondary, "Humen").unwrap();
    let d = e.add_department(h, "orthopaedics", "Orthopaedics").unwrap();
    let r = e.add_resource(d, ResourceKind::Doctor, "Dr Zhou", false).unwrap();
    let slots = e
        .publish_slots(&[SlotSpec {
            resource: r,
            date: day0().plus_days(2),
            start_min: 480,
            end_min: 510,
            capacity: 2,
        }])
        .unwrap();
    let app = e.channel_id("app").unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let p = e.register_patient().unwrap();
        if let Ok(b) = e.book(&Request::new(p, slots.start, app)) {
            ids.push(b.id);
        }
    }
    e.cancel(ids[0]).unwrap();
    let last = e.last_event_seq();
    drop(e);
    let segs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hyj"))
        .collect();
    let seg = segs.into_iter().max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap();
    (dir, seg, last)
}

/// Bytes of a segment header (format 2: magic, version, length, first seq, key check, CRC).
const HEADER: usize = 40;
/// Bytes of a snapshot header (format 2).
const SNAPSHOT_HEADER: usize = 52;

/// Where each frame of a segment ends (after its header).
fn frame_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = HEADER;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
        ends.push(pos);
    }
    ends
}

fn recover_damaged(
    work: &Path,
    original_dir: &Path,
    seg: &Path,
    bytes: &[u8],
) -> Result<DurableEngine> {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).unwrap();
    std::fs::copy(original_dir.join("config.json"), work.join("config.json")).unwrap();
    std::fs::write(work.join(seg.file_name().unwrap()), bytes).unwrap();
    DurableEngine::open(work, options(Durability::None))
}

#[test]
fn truncation_at_every_offset_recovers_the_prefix() {
    let (dir, seg, last) = small_journal("truncate");
    let bytes = std::fs::read(&seg).unwrap();
    let ends = frame_ends(&bytes);
    assert_eq!(*ends.last().unwrap(), bytes.len());
    let first = last - ends.len() as u64 + 1;
    let work = dir.join("work");
    for cut in 0..=bytes.len() {
        let e = recover_damaged(&work, &dir, &seg, &bytes[..cut])
            .unwrap_or_else(|err| panic!("cut at {cut}: {err}"));
        let whole = ends.iter().filter(|&&end| end <= cut).count() as u64;
        let expected_last = if cut < HEADER { first - 1 } else { first - 1 + whole };
        assert_eq!(e.last_event_seq(), expected_last, "cut at {cut}");
        let torn = cut != bytes.len() && !ends.contains(&cut) && cut != HEADER;
        assert_eq!(
            e.recovery_report().torn_tail.is_some(),
            torn,
            "cut at {cut}: {:?}",
            e.recovery_report()
        );
        drop(e);
        // The repaired directory opens cleanly and can be written again (every few offsets:
        // each of these opens costs fsyncs).
        if cut % 7 == 0 || torn {
            let again = DurableEngine::open(&work, options(Durability::Sync)).unwrap();
            assert!(again.recovery_report().torn_tail.is_none());
            again.register_patient().unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_flipped_byte_is_cut_off_at_the_tail_and_an_error_in_the_middle() {
    let (dir, seg, last) = small_journal("flip");
    let bytes = std::fs::read(&seg).unwrap();
    let ends = frame_ends(&bytes);
    let last_frame_start = ends[ends.len() - 2];
    let work = dir.join("work");
    let (mut cut, mut errors) = (0, 0);
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut damaged = bytes.clone();
            damaged[i] ^= mask;
            match recover_damaged(&work, &dir, &seg, &damaged) {
                Ok(e) => {
                    // Only damage with nothing valid after it may be cut off: the header
                    // (the whole segment) or the last frame.
                    assert!(i < HEADER || i >= last_frame_start, "flip at {i} silently skipped");
                    assert!(e.recovery_report().torn_tail.is_some());
                    assert!(e.last_event_seq() < last);
                    cut += 1;
                }
                Err(err) => {
                    assert_eq!(err.code(), ErrorCode::Durability, "flip at {i}: {err}");
                    assert!(
                        err.to_string().contains("corrupt") || err.to_string().contains("header"),
                        "{err}"
                    );
                    assert!(
                        (HEADER..last_frame_start).contains(&i),
                        "flip at {i} in the tail must be cut, not fail: {err}"
                    );
                    errors += 1;
                }
            }
        }
    }
    assert!(cut > 0 && errors > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_snapshot_falls_back_to_the_previous_one() {
    let dir = fresh_dir("snapfall");
    let expected;
    {
        let e = DurableEngine::open(&dir, options(Durability::Sync)).unwrap();
        let mut w = build_world(&e);
        let mut ops = Ops::new(9);
        for i in 0..600 {
            ops.step(&e, &mut w);
            if i == 200 || i == 400 {
                e.snapshot().unwrap();
            }
        }
        expected = debug_state(&e);
    }
    let mut snaps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hys"))
        .collect();
    snaps.sort();
    assert_eq!(snaps.len(), 2);
    let mut newest = std::fs::read(&snaps[1]).unwrap();
    let n = newest.len();
    newest[n / 2] ^= 0x10;
    std::fs::write(&snaps[1], &newest).unwrap();
    let e = DurableEngine::open(&dir, options(Durability::None)).unwrap();
    assert_eq!(e.recovery_report().snapshots_skipped.len(), 1);
    assert_eq!(debug_state(&e), expected);
    drop(e);
    // Both damaged: the journal before the older snapshot is gone, so this is an error.
    let mut older = std::fs::read(&snaps[0]).unwrap();
    older[40] ^= 0x10;
    std::fs::write(&snaps[0], &older).unwrap();
    let err = DurableEngine::open(&dir, options(Durability::None)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Durability, "{err}");
    assert!(err.to_string().contains("gap"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn corpus(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(kind);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    out
}

/// The fuzz targets' bodies (fuzz/fuzz_targets/*.rs), over the committed corpus and seeded
/// mutations of it: any result but a panic is fine.
#[test]
fn fuzz_corpus_and_mutations_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let journal = corpus("journal");
    let snapshot = corpus("snapshot");
    assert!(journal.len() >= 3 && snapshot.len() >= 2, "the corpus is committed under fuzz/corpus");
    let mutate = |rng: &mut ChaCha8Rng, b: &[u8]| {
        let mut m = b.to_vec();
        for _ in 0..rng.random_range(1..4) {
            match rng.random_range(0..3) {
                0 if !m.is_empty() => {
                    let i = rng.random_range(0..m.len());
                    m[i] ^= 1 << rng.random_range(0..8);
                }
                1 if !m.is_empty() => {
                    let cut = rng.random_range(0..m.len());
                    m.truncate(cut);
                }
                _ => {
                    let i = rng.random_range(0..=m.len());
                    m.insert(i, rng.random());
                }
            }
        }
        m
    };
    let mut decoded = 0;
    for (_, bytes) in &journal {
        decoded += fuzz_journal(bytes) as usize;
        for _ in 0..300 {
            fuzz_journal(&mutate(&mut rng, bytes));
        }
    }
    for (_, bytes) in &snapshot {
        decoded += fuzz_decode_snapshot(bytes).is_ok() as usize;
        for _ in 0..100 {
            fuzz_snapshot(&mutate(&mut rng, bytes));
        }
    }
    assert!(decoded >= 2, "the corpus holds valid inputs too");
}

/// = fuzz/fuzz_targets/journal.rs
fn fuzz_journal(data: &[u8]) -> bool {
    let ok = fuzz_decode_segment(data).is_ok();
    for format in [2, 3] {
        let _ = fuzz_decode_segment(&fuzz_segment_from_payloads(format, 7, &[data]).unwrap());
    }
    ok
}

/// = fuzz/fuzz_targets/snapshot.rs
fn fuzz_snapshot(data: &[u8]) {
    let _ = fuzz_decode_snapshot(data);
    if data.len() > SNAPSHOT_HEADER {
        let _ = fuzz_decode_snapshot_payload(&data[SNAPSHOT_HEADER..]);
    }
}

/// Writes the seed corpus: `HY_WRITE_CORPUS=1 cargo test --test durability_corruption write_corpus -- --ignored`.
#[test]
#[ignore = "regenerates fuzz/corpus"]
fn write_corpus() {
    if std::env::var("HY_WRITE_CORPUS").is_err() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    std::fs::create_dir_all(root.join("journal")).unwrap();
    std::fs::create_dir_all(root.join("snapshot")).unwrap();
    let (dir, seg, _) = small_journal("corpus");
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::write(root.join("journal/small"), &bytes).unwrap();
    std::fs::write(root.join("journal/torn"), &bytes[..bytes.len() - 5]).unwrap();
    std::fs::write(root.join("journal/header-only"), &bytes[..HEADER]).unwrap();
    let e = DurableEngine::open(&dir, options(Durability::Sync)).unwrap();
    let mut w = build_world(&e);
    let mut ops = Ops::new(5);
    for _ in 0..60 {
        ops.step(&e, &mut w);
    }
    e.snapshot().unwrap();
    drop(e);
    for p in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".hys") {
            std::fs::write(root.join("snapshot/world"), std::fs::read(&p).unwrap()).unwrap();
        }
        if name.ends_with(".hyj")
            && std::fs::metadata(&p).unwrap().len() > HEADER as u64
            && std::fs::metadata(&p).unwrap().len() < 20_000
        {
            std::fs::write(
                root.join(format!("journal/world-{}", &name[4..24])),
                std::fs::read(&p).unwrap(),
            )
            .unwrap();
        }
    }
    // A tiny snapshot: an engine with one institution.
    let d2 = fresh_dir("corpus-tiny");
    let e = DurableEngine::open(&d2, options(Durability::Sync)).unwrap();
    e.add_institution("Tiny Clinic", Tier::Community, "Humen").unwrap();
    e.snapshot().unwrap();
    drop(e);
    for p in std::fs::read_dir(&d2).unwrap().map(|e| e.unwrap().path()) {
        if p.extension().is_some_and(|x| x == "hys") {
            std::fs::write(root.join("snapshot/tiny"), std::fs::read(&p).unwrap()).unwrap();
        }
    }
}
