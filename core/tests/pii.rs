//! Personal identifiers (issue 12, "Personal identifiers"): card numbers — national ID and
//! social-security numbers, sensitive personal information under China's PIPL — never appear in
//! any byte the engine writes, emits or prints. Known numbers go through every path (link,
//! idempotent relink, `CardTaken`, find, merge, snapshot, replay, a format-1 directory written
//! by the code before this change), then every byte of the directory, every event a subscriber
//! receives (JSON and `Debug`), every patient record, every error, the engine's own `Debug` and
//! the FHIR exports is searched for each number and for every 8-character piece of it (the
//! masked form shows at most 4 characters at either end, so no such piece is ever legitimate).
//!
//! The card key: reopening with another key, or with none, is a typed error; with the right one,
//! cards are found by number. Environment keys are tested in child processes, so this process's
//! environment is never changed while other tests run.

mod durability_support;

use durability_support::{day0, fresh_dir, start};
use haoyuan::*;
use haoyuan_fhir as fhir;
use std::path::{Path, PathBuf};

/// The cards of the durable scenario: (patient index, card type, number).
const CARDS: &[(usize, &str, &str)] = &[
    (0, "national_id", "441900199001011234"),
    (0, "social_security", "440306198507074321"),
    // The same number under another card type is another card (here another person's).
    (1, "social_security", "441900199001011234"),
    (1, "e_health", "EH20260001987"),
    (2, "hospital_card", "DG0012345678"),
    // Linked to patient 4, then merged into patient 3.
    (4, "national_id", "110105196912310027"),
    (4, "social_security", "11010519691231002X"),
];

/// The numbers of the format-1 fixture (`fixtures/format1/README.md`).
const FIXTURE_NUMBERS: &[&str] = &[
    "441900199001011234",
    "440306198507074321",
    "EH20260001987",
    "DG0012345678",
    "110105196912310027",
];

const WRONG_KEY_MESSAGE: &str =
    "the card key does not match the one this directory was written with";

fn key() -> CardKey {
    CardKey::from_hex("8f0c6a3e2b1d4f5a69788796a5b4c3d2e1f0112233445566778899aabbccddee").unwrap()
}

fn other_key() -> CardKey {
    CardKey::from_bytes(&[0x42; 32]).unwrap()
}

/// The pieces of a number that must never be seen: the number and each 8-character window.
fn pieces(number: &str) -> Vec<String> {
    let chars: Vec<char> = number.chars().collect();
    let mut out = vec![number.to_string()];
    out.extend(chars.windows(8).map(|w| w.iter().collect::<String>()));
    out
}

/// Panics if `bytes` holds a number (or a piece of it), saying where.
fn assert_clean(what: &str, bytes: &[u8], numbers: &[&str]) {
    for number in numbers {
        for piece in pieces(number) {
            if bytes.windows(piece.len()).any(|w| w == piece.as_bytes()) {
                panic!("{what} holds {piece:?}, a piece of the card number {number:?}");
            }
        }
    }
}

/// Every file of a directory, each checked.
fn assert_dir_clean(dir: &Path, numbers: &[&str]) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_clean(&path.display().to_string(), &std::fs::read(&path).unwrap(), numbers);
            n += 1;
        }
    }
    n
}

fn options(key: Option<CardKey>) -> OpenOptions {
    let mut o = OpenOptions::new(Durability::Sync).clock(ClockKind::Manual(start()));
    o.card_key = key;
    o
}

/// A small region: one community clinic (no referral pools), 10 single-place slots tomorrow.
fn region(e: &Engine) -> (Vec<SlotId>, ChannelId, ResourceId, DepartmentId) {
    let h = e.add_institution("Nancheng Community Clinic", Tier::Community, "Nancheng").unwrap();
    let d = e.add_department(h, "general", "General practice").unwrap();
    let r = e.add_resource(d, ResourceKind::Doctor, "Dr Ye", false).unwrap();
    let day = day0().plus_days(1);
    let specs: Vec<SlotSpec> = (0..10)
        .map(|i| SlotSpec {
            resource: r,
            date: day,
            start_min: 480 + 15 * i,
            end_min: 495 + 15 * i,
            capacity: 1,
        })
        .collect();
    let slots = e.publish_slots(&specs).unwrap();
    let ids = (slots.start.0..slots.end.0).map(SlotId).collect();
    (ids, e.channel_id("app").unwrap(), r, d)
}

/// Everything an engine shows of itself, its patients and FHIR, as text.
fn engine_views(
    e: &Engine,
    patients: &[PatientId],
    resource: ResourceId,
    department: DepartmentId,
    slots: &[SlotId],
) -> Vec<(String, String)> {
    let mut out = vec![
        ("engine Debug".to_string(), format!("{e:?}")),
        ("debug_state".into(), debug_state(e)),
    ];
    for p in patients {
        let rec = e.patient_record(*p).unwrap();
        out.push((format!("patient_record({p}) Debug"), format!("{rec:?}")));
        out.push((format!("patient_record({p}) JSON"), serde_json::to_string(&rec).unwrap()));
        out.push((format!("bookings_of({p})"), format!("{:?}", e.bookings_of(*p).unwrap())));
        let appts = fhir::export::appointments_of(e, *p).map(fhir::export::collection).unwrap();
        out.push((format!("FHIR appointments of {p}"), appts.to_string()));
        out.push((
            format!("FHIR JSON appointments of {p}"),
            fhir::export_patient_appointments_json(e, p.0).unwrap(),
        ));
    }
    let scope = fhir::ExportScope {
        date_from: day0(),
        date_to: day0().plus_days(2),
        institution: None,
        resource: None,
        appointments: true,
    };
    out.push(("FHIR bundle".into(), fhir::export::bundle(e, &scope).unwrap().to_string()));
    let scope_json = format!(
        r#"{{"date_from":"{}","date_to":"{}","appointments":true}}"#,
        day0(),
        day0().plus_days(2)
    );
    out.push(("FHIR bundle JSON".into(), fhir::export_bundle_json(e, &scope_json).unwrap()));
    out.push(("FHIR schedule".into(), fhir::export::schedule(e, resource).unwrap().to_string()));
    out.push(("FHIR waitlist".into(), fhir::export_waitlist_json(e, department.0).unwrap()));
    for s in slots {
        out.push((format!("FHIR slot {s}"), fhir::export::slot(e, *s).unwrap().to_string()));
    }
    out
}

/// An error in every form a host sees it: message, Debug, JSON, FHIR OperationOutcome.
fn error_views(what: &str, e: &Error) -> Vec<(String, String)> {
    vec![
        (format!("{what}: message"), e.to_string()),
        (format!("{what}: Debug"), format!("{e:?}")),
        // (serde cannot serialise the internally tagged newtype variants, e.g. InvalidArgument.)
        (format!("{what}: JSON"), serde_json::to_string(e).unwrap_or_default()),
        (
            format!("{what}: FHIR OperationOutcome"),
            fhir::FhirError::from(e.clone()).to_operation_outcome().to_string(),
        ),
    ]
}

#[test]
fn no_card_number_in_any_byte_written_emitted_or_printed() {
    let dir = fresh_dir("pii-all");
    let all: Vec<&str> = CARDS.iter().map(|c| c.2).collect();
    let mut views: Vec<(String, String)> = Vec::new();
    let (patients, slots, resource, department);
    {
        let e = DurableEngine::open(
            &dir,
            options(Some(key())).config(durability_support::config().with_card_key(key())),
        )
        .unwrap();
        let events = e.subscribe();
        let (s, app, r, d) = region(&e);
        (slots, resource, department) = (s, r, d);
        let ps: Vec<PatientId> = (0..5).map(|_| e.register_patient().unwrap()).collect();
        for (i, t, n) in CARDS {
            e.link_card(ps[*i], t, n).unwrap();
            // Linking again to its owner is a no-op.
            e.link_card(ps[*i], t, n).unwrap();
        }
        // Someone else's card: CardTaken, with the masked number only.
        let err = e.link_card(ps[2], "national_id", "441900199001011234").unwrap_err();
        match &err {
            Error::CardTaken { card_type, masked, owner } => {
                assert_eq!(
                    (card_type.as_str(), masked.as_str(), *owner),
                    ("national_id", "4419**********1234", ps[0])
                );
            }
            other => panic!("{other:?}"),
        }
        views.extend(error_views("CardTaken", &err));
        // Malformed cards: the error never repeats the number.
        for (t, n) in [
            ("national_id", "441900199001011234".repeat(4)),
            ("national_id\0", "441900199001011234".into()),
            ("", "441900199001011234".into()),
        ] {
            let err = e.link_card(ps[3], t, &n).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidArgument);
            views.extend(error_views("invalid card", &err));
            views.extend(error_views("invalid find", &e.find_patient_by_card(t, &n).unwrap_err()));
        }
        for (p, slot) in ps.iter().zip(&slots).take(3) {
            e.book(&Request::new(*p, *slot, app)).unwrap();
        }
        e.hold(&Request::new(ps[4], slots[4], app)).unwrap();
        // Found by number (hashed), the type bound in.
        for (i, t, n) in CARDS {
            assert_eq!(e.find_patient_by_card(t, n).unwrap(), Some(ps[*i]), "{t}");
        }
        assert_eq!(e.find_patient_by_card("e_health", "441900199001011234").unwrap(), None);
        e.snapshot().unwrap();
        // The same person found twice: patient 4's cards move to patient 3.
        e.merge_patients(ps[3], ps[4]).unwrap();
        assert_eq!(
            e.find_patient_by_card("national_id", "110105196912310027").unwrap(),
            Some(ps[3])
        );
        let merged_err = e.link_card(ps[0], "social_security", "11010519691231002X").unwrap_err();
        assert!(
            matches!(&merged_err, Error::CardTaken { owner, masked, .. } if *owner == ps[3] && masked == "1101**********002X"),
            "{merged_err:?}"
        );
        views.extend(error_views("CardTaken after merge", &merged_err));
        let rec = e.patient_record(ps[3]).unwrap();
        let masked: Vec<&str> = rec.cards.iter().map(|c| c.masked.as_str()).collect();
        assert_eq!(masked, ["1101**********0027", "1101**********002X"]);
        e.flush().unwrap();
        patients = ps;
        views.extend(engine_views(&e, &patients, resource, department, &slots));
        views.push(("DurableEngine Debug".into(), format!("{e:?}")));
        views.push(("recovery report".into(), format!("{:?}", e.recovery_report())));
        views.push(("OpenOptions Debug".into(), format!("{:?}", options(Some(key())))));
        views.push((
            "EngineConfig Debug".into(),
            format!("{:?}", durability_support::config().with_card_key(key())),
        ));
        // Every event a subscriber received, as JSON and Debug; CardLinked carries the masked
        // form and the digest.
        let received: Vec<Event> = events.try_iter().collect();
        let linked =
            received.iter().filter(|ev| matches!(ev.kind, EventKind::CardLinked { .. })).count();
        assert_eq!(linked, CARDS.len(), "one CardLinked per card, none for a relink");
        for ev in &received {
            if let EventKind::CardLinked { masked, digest, .. } = &ev.kind {
                assert!(masked.contains('*'));
                assert_eq!(digest.to_hex().len(), 32);
            }
            views.push((format!("event {} JSON", ev.seq), serde_json::to_string(ev).unwrap()));
            views.push((format!("event {} Debug", ev.seq), format!("{ev:?}")));
        }
        for ev in read_journal(&dir).unwrap() {
            let ev = ev.unwrap();
            views.push((
                format!("read_journal event {}", ev.seq),
                format!("{ev:?} {}", serde_json::to_string(&ev).unwrap()),
            ));
        }
        e.close().unwrap();
    }
    // Replay: snapshot + journal, same cards by number, same owners; CardTaken still holds.
    {
        let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
        for (i, t, n) in CARDS {
            let owner = if *i == 4 { patients[3] } else { patients[*i] };
            assert_eq!(e.find_patient_by_card(t, n).unwrap(), Some(owner), "{t} after replay");
        }
        let err = e.link_card(patients[1], "national_id", "441900199001011234").unwrap_err();
        assert!(matches!(err, Error::CardTaken { owner, .. } if owner == patients[0]));
        views.extend(error_views("CardTaken after replay", &err));
        views.extend(engine_views(&e, &patients, resource, department, &slots));
        e.snapshot().unwrap();
        e.close().unwrap();
    }
    assert!(views.len() > 100);
    for (what, text) in &views {
        assert_clean(what, text.as_bytes(), &all);
    }
    // Every byte of every file: config.json, LOCK, segments, snapshots.
    let files = assert_dir_clean(&dir, &all);
    assert!(files >= 5, "config, lock, segments and snapshots: {files}");
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(!config.contains("card_key"), "{config}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reopening_needs_the_same_key() {
    let dir = fresh_dir("pii-keys");
    let p;
    {
        let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
        p = e.register_patient().unwrap();
        e.link_card(p, "national_id", "441900199001011234").unwrap();
        e.snapshot().unwrap();
        e.link_card(p, "social_security", "440306198507074321").unwrap();
    }
    let before: Vec<(PathBuf, Vec<u8>)> = listing(&dir);
    // Another key: refused before anything is read or repaired; the directory is untouched.
    for mode in [Durability::Sync, Durability::None] {
        let mut o = options(Some(other_key()));
        o.durability = mode;
        let err = DurableEngine::open(&dir, o).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
        assert!(err.to_string().contains(WRONG_KEY_MESSAGE), "{err}");
        assert_eq!(listing(&dir), before, "a refused open changes nothing");
    }
    // Two different keys given.
    let err = DurableEngine::open(
        &dir,
        options(Some(key())).config(EngineConfig::default().with_card_key(other_key())),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    // No key at all (when the environment has none either: see the child-process test).
    if std::env::var_os(CARD_KEY_ENV).is_none() && std::env::var_os(CARD_KEY_FILE_ENV).is_none() {
        let err = DurableEngine::open(&dir, options(None)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
        assert!(
            err.to_string().contains("card key") && err.to_string().contains(CARD_KEY_ENV),
            "{err}"
        );
        assert_eq!(listing(&dir), before);
        // Refused before touching the disk: no directory is created.
        let nowhere = dir.join("not-created");
        assert!(DurableEngine::open(&nowhere, options(None)).is_err());
        assert!(!nowhere.exists());
    }
    // The key in the configuration is as good as the one in the options.
    let e = DurableEngine::open(
        &dir,
        options(None).config(EngineConfig::default().with_card_key(key())),
    )
    .unwrap();
    assert_eq!(e.find_patient_by_card("national_id", "441900199001011234").unwrap(), Some(p));
    assert_eq!(e.find_patient_by_card("social_security", "440306198507074321").unwrap(), Some(p));
    drop(e);
    // The key never reaches the directory; its check value does not reveal it.
    let k = key();
    let hex = format!("{k:?}");
    assert_eq!(hex, "CardKey(<secret>)");
    for (path, bytes) in listing(&dir) {
        assert!(
            !bytes.windows(8).any(|w| w == [0x8f, 0x0c, 0x6a, 0x3e, 0x2b, 0x1d, 0x4f, 0x5a]),
            "{} holds the key",
            path.display()
        );
        assert!(
            !bytes.windows(16).any(|w| w == b"8f0c6a3e2b1d4f5a"),
            "{} holds the key in hex",
            path.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap() != "LOCK")
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

/// A copy of the format-1 fixture in a fresh directory.
fn format1_dir(name: &str) -> PathBuf {
    let dir = fresh_dir(name);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1");
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".hyj") || name.ends_with(".hys") || name == "config.json" {
            std::fs::copy(&path, dir.join(&name)).unwrap();
        }
    }
    dir
}

/// Who holds each fixture card (see fixtures/format1/README.md): patient 3 was merged into 2.
fn assert_fixture_cards(e: &Engine) {
    let expect = [
        ("national_id", "441900199001011234", 1),
        ("social_security", "440306198507074321", 1),
        ("social_security", "441900199001011234", 2),
        ("e_health", "EH20260001987", 2),
        ("hospital_card", "DG0012345678", 2),
        ("national_id", "110105196912310027", 4),
    ];
    for (t, n, p) in expect {
        assert_eq!(e.find_patient_by_card(t, n).unwrap(), Some(PatientId(p)), "{t}");
    }
    assert_eq!(e.find_patient_by_card("e_health", "441900199001011234").unwrap(), None);
    let masked: Vec<String> = e
        .patient_record(PatientId(2))
        .unwrap()
        .cards
        .into_iter()
        .map(|c| format!("{}:{}", c.card_type, c.masked))
        .collect();
    assert_eq!(
        masked,
        [
            "social_security:4419**********1234",
            "e_health:EH2*******987",
            "hospital_card:DG0******678"
        ]
    );
}

#[test]
fn a_format1_directory_opens_hashed_and_is_written_without_numbers() {
    let dir = format1_dir("pii-format1");
    // The fixture really holds the numbers in plain text (format 1).
    let plain = listing(&dir)
        .iter()
        .filter(|(_, b)| b.windows(18).any(|w| w == b"441900199001011234"))
        .count();
    assert!(plain >= 1, "the fixture is format 1");
    {
        let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
        let report = e.recovery_report().clone();
        assert_eq!(
            (report.snapshot_seq, report.segments_read, report.last_seq),
            (Some(12), 2, 18),
            "{report:?}"
        );
        assert!(report.torn_tail.is_none());
        assert_fixture_cards(&e);
        // The bookings came through too.
        assert_eq!(e.patient_record(PatientId(1)).unwrap().active_bookings.len(), 1);
        assert_eq!(e.patient_record(PatientId(2)).unwrap().active_bookings.len(), 2);
        let err = e.link_card(PatientId(4), "national_id", "441900199001011234").unwrap_err();
        assert!(
            matches!(&err, Error::CardTaken { owner, masked, .. } if *owner == PatientId(1) && masked == "4419**********1234"),
            "{err:?}"
        );
        for (what, text) in error_views("CardTaken of a format-1 card", &err) {
            assert_clean(&what, text.as_bytes(), FIXTURE_NUMBERS);
        }
        for p in 1..=4 {
            let rec = e.patient_record(PatientId(p)).unwrap();
            assert_clean(
                "record",
                format!("{rec:?} {}", serde_json::to_string(&rec).unwrap()).as_bytes(),
                FIXTURE_NUMBERS,
            );
        }
        assert_clean("debug_state", debug_state(&e).as_bytes(), FIXTURE_NUMBERS);
        e.link_card(PatientId(4), "e_health", "EH20260004444").unwrap();
        e.close().unwrap();
    }
    // Mixed: format-1 snapshot and segments, then a format-2 segment.
    let new_files: Vec<(PathBuf, Vec<u8>)> = listing(&dir)
        .into_iter()
        .filter(|(p, _)| {
            !Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/format1")
                .join(p.file_name().unwrap())
                .exists()
        })
        .collect();
    assert_eq!(new_files.len(), 1, "one new segment");
    for (p, b) in &new_files {
        assert_clean(&p.display().to_string(), b, &[FIXTURE_NUMBERS, &["EH20260004444"]].concat());
    }
    {
        let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
        assert_eq!(e.recovery_report().segments_read, 3);
        assert_fixture_cards(&e);
        assert_eq!(
            e.find_patient_by_card("e_health", "EH20260004444").unwrap(),
            Some(PatientId(4))
        );
        // A new snapshot holds no number; after a second one, compaction has removed every
        // format-1 file and the whole directory is clean.
        e.snapshot().unwrap();
        let snaps: Vec<(PathBuf, Vec<u8>)> = listing(&dir)
            .into_iter()
            .filter(|(p, _)| p.extension().is_some_and(|x| x == "hys"))
            .collect();
        assert_eq!(snaps.len(), 2, "the format-1 snapshot and the new one");
        assert_clean(&snaps[1].0.display().to_string(), &snaps[1].1, FIXTURE_NUMBERS);
        e.register_patient().unwrap();
        e.snapshot().unwrap();
        e.close().unwrap();
    }
    assert_dir_clean(&dir, &[FIXTURE_NUMBERS, &["EH20260004444"]].concat());
    let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
    assert_fixture_cards(&e);
    drop(e);
    // Now the directory knows its key.
    let err = DurableEngine::open(&dir, options(Some(other_key()))).unwrap_err();
    assert!(err.to_string().contains(WRONG_KEY_MESSAGE), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_format1_directory_opens_under_any_key_until_written_in_a_later_format() {
    let dir = format1_dir("pii-format1-ro");
    let before = listing(&dir);
    let mut o = options(Some(other_key()));
    o.durability = Durability::None;
    // Format 1 has no key check: any key opens it (nothing was hashed yet) …
    let e = DurableEngine::open(&dir, o).unwrap();
    assert_fixture_cards(&e);
    drop(e);
    assert_eq!(listing(&dir), before, "Durability::None writes nothing");
    // … and a snapshot of it under a key is in the current format (6; the key check came in 2).
    let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
    e.snapshot().unwrap();
    drop(e);
    let newest = listing(&dir)
        .into_iter()
        .rfind(|(p, _)| p.extension().is_some_and(|x| x == "hys"))
        .unwrap();
    assert_eq!(
        &newest.1[..8],
        &[b'H', b'Y', b'S', b'N', b'A', b'P', 6, 0],
        "magic + u16 version 6"
    );
    assert_clean("new snapshot", &newest.1, FIXTURE_NUMBERS);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A header of a later format, by the rule every format ≥ 2 keeps (length at 8..10, CRC-32C of
/// the header's other bytes last).
fn future_header(magic: &[u8; 6], version: u16, len: usize, first_seq: u64) -> Vec<u8> {
    let mut h = vec![0u8; len];
    h[..6].copy_from_slice(magic);
    h[6..8].copy_from_slice(&version.to_le_bytes());
    h[8..10].copy_from_slice(&(len as u16).to_le_bytes());
    h[12..20].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c(&h[..len - 4]);
    h[len - 4..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// CRC-32C (Castagnoli), bitwise: the tests need no dependency for a few headers.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn files_of_a_future_format_are_refused_by_version() {
    for (kind, name) in
        [("segment", "seg-00000000000000000100.hyj"), ("snapshot", "snap-00000000000000000100.hys")]
    {
        let dir = fresh_dir(&format!("pii-future-{kind}"));
        let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
        let p = e.register_patient().unwrap();
        e.link_card(p, "national_id", "441900199001011234").unwrap();
        drop(e);
        let header = match kind {
            "segment" => future_header(b"HYJRNL", 7, 48, 100),
            _ => future_header(b"HYSNAP", 7, 64, 100),
        };
        std::fs::write(dir.join(name), &header).unwrap();
        let before = listing(&dir);
        let err = DurableEngine::open(&dir, options(Some(key()))).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Durability, "{err}");
        assert!(
            err.to_string().contains("format 7") && err.to_string().contains(name),
            "{kind}: {err}"
        );
        assert_eq!(listing(&dir), before, "{kind}: a refused open changes nothing");
        // A damaged header is not a version: the same bytes with a bad CRC are a torn tail
        // (segment) or a skipped snapshot.
        let mut damaged = header.clone();
        let n = damaged.len();
        damaged[n - 1] ^= 1;
        std::fs::write(dir.join(name), &damaged).unwrap();
        let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
        match kind {
            "segment" => {
                assert!(e.recovery_report().torn_tail.is_some(), "{:?}", e.recovery_report())
            }
            _ => assert_eq!(e.recovery_report().snapshots_skipped.len(), 1),
        }
        assert_eq!(e.find_patient_by_card("national_id", "441900199001011234").unwrap(), Some(p));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_in_memory_engine_without_a_key_hashes_under_a_random_one() {
    if std::env::var_os(CARD_KEY_ENV).is_some() || std::env::var_os(CARD_KEY_FILE_ENV).is_some() {
        return; // the environment supplies a key here
    }
    let digest = |config: EngineConfig| {
        let e = Engine::with_manual_clock(config, start()).unwrap();
        let events = e.subscribe();
        let p = e.register_patient().unwrap();
        e.link_card(p, "national_id", "441900199001011234").unwrap();
        assert_eq!(e.find_patient_by_card("national_id", "441900199001011234").unwrap(), Some(p));
        let found = events.try_iter().find_map(|ev| match ev.kind {
            EventKind::CardLinked { digest, .. } => Some(digest),
            _ => None,
        });
        found
    };
    let (a, b) = (digest(EngineConfig::default()), digest(EngineConfig::default()));
    assert!(a.is_some() && a != b, "ephemeral keys differ per engine");
    let keyed = || digest(EngineConfig::default().with_card_key(key()));
    assert_eq!(keyed(), keyed(), "one key, one digest");
}

// ------------------------------------------------------------------ the environment

const CHILD_MODE: &str = "HY_PII_CHILD_MODE";
const CHILD_DIR: &str = "HY_PII_CHILD_DIR";

/// The durable engine takes its key from `HAOYUAN_CARD_KEY` or `HAOYUAN_CARD_KEY_FILE` when
/// none is given: each case runs `env_child` in a child process with its own environment.
#[test]
fn keys_from_the_environment() {
    let dir = fresh_dir("pii-env");
    {
        let e = DurableEngine::open(&dir, options(Some(key()))).unwrap();
        let p = e.register_patient().unwrap();
        e.link_card(p, "national_id", "441900199001011234").unwrap();
    }
    let key_file = dir.with_extension("key");
    let hex = "8f0c6a3e2b1d4f5a69788796a5b4c3d2e1f0112233445566778899aabbccddee";
    std::fs::write(&key_file, format!("{hex}\n")).unwrap();
    let cases: [(&str, Vec<(&str, String)>); 5] = [
        ("none", vec![]),
        ("found", vec![(CARD_KEY_ENV, hex.to_uppercase())]),
        ("found", vec![(CARD_KEY_FILE_ENV, key_file.display().to_string())]),
        ("wrong", vec![(CARD_KEY_ENV, "42".repeat(32))]),
        ("malformed", vec![(CARD_KEY_ENV, "441900199001011234".into())]),
    ];
    for (mode, env) in cases {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "env_child", "--ignored", "--test-threads=1"])
            .env_remove(CARD_KEY_ENV)
            .env_remove(CARD_KEY_FILE_ENV);
        cmd.env(CHILD_MODE, mode).env(CHILD_DIR, &dir);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{mode} {env:?}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_file(&key_file);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "run by keys_from_the_environment in a child process"]
fn env_child() {
    let (Ok(mode), Some(dir)) = (std::env::var(CHILD_MODE), std::env::var_os(CHILD_DIR)) else {
        return;
    };
    let opened = DurableEngine::open(&dir, options(None).clock(ClockKind::Manual(start())));
    match mode.as_str() {
        "none" => {
            let err = opened.unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidArgument);
            assert!(
                err.to_string().contains(CARD_KEY_ENV)
                    && err.to_string().contains(CARD_KEY_FILE_ENV),
                "{err}"
            );
            // An in-memory engine is fine without one.
            assert!(Engine::new(EngineConfig::default()).is_ok());
        }
        "found" => {
            let e = opened.unwrap();
            assert_eq!(
                e.find_patient_by_card("national_id", "441900199001011234").unwrap(),
                Some(PatientId(1))
            );
            // The in-memory engine takes the environment's key too.
            assert!(CardKey::from_env().unwrap().is_some());
        }
        "wrong" => assert!(opened.unwrap_err().to_string().contains(WRONG_KEY_MESSAGE)),
        "malformed" => {
            let err = opened.unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidArgument);
            assert!(
                err.to_string().contains(CARD_KEY_ENV) && !err.to_string().contains("441900"),
                "{err}"
            );
            assert!(
                Engine::new(EngineConfig::default()).is_err(),
                "a malformed key is never ignored"
            );
        }
        other => panic!("unknown mode {other}"),
    }
}
