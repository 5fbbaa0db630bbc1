//! The body of the cargo-fuzz target `fhir_import` (fuzz/fuzz_targets/fhir_import.rs) run on
//! stable: over the committed corpus, and over deterministic mutations of it (byte flips,
//! cuts, repeats and inserted tokens), so the importers meet broken input in every `cargo test`.

use haoyuan_fhir as fhir;
use std::path::PathBuf;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fuzz/corpus exists") {
        let dir = dir.unwrap().path();
        if !dir.file_name().unwrap().to_string_lossy().starts_with("fhir_") {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            out.push((
                f.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&f).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn corpus_seeds_reach_both_the_accepting_and_the_refusing_paths() {
    let seeds = corpus();
    assert!(seeds.len() >= 8, "the committed corpus is missing: {} files", seeds.len());
    let text = |name: &str| {
        String::from_utf8(seeds.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap()
    };
    let e = fhir::fuzz_engine();
    let before = e.slot_count();
    // busy-unavailable is skipped: two slots.
    assert!(fhir::import_bundle_json(&e, &text("bundle-good.json"), "{}")
        .unwrap()
        .contains("\"slots\":2"));
    assert!(fhir::import_bundle_json(&e, &text("bundle-by-name.json"), "{\"institution\": 1}")
        .unwrap()
        .contains("\"slots\":2"));
    assert_eq!(e.slot_count(), before + 4);
    let bad =
        fhir::import_bundle_json(&e, &text("bundle-bad.json"), "{}").unwrap_err().outcome_json();
    assert!(bad.contains("code-invalid"), "{bad}");
    let opts =
        "{\"institution\": 1, \"valid_from\": \"2026-11-23\", \"valid_until\": \"2026-11-29\"}";
    assert!(fhir::import_csv_json(&e, &text("roster-good.csv"), opts).is_ok());
    let bad = fhir::import_csv_json(&e, &text("roster-bad.csv"), opts).unwrap_err().outcome_json();
    assert!(bad.contains("line 2, weekday") && bad.contains("line 5, session_start"), "{bad}");
    assert!(fhir::find_json(&e, &text("find-parameters.json")).is_ok());
}

#[test]
fn the_fuzz_body_holds_on_every_seed() {
    for (_, data) in corpus() {
        fhir::fuzz_one(&data);
    }
}

const TOKENS: [&[u8]; 12] = [
    b"\"",
    b",",
    b"{",
    b"}",
    b"[]",
    b"-1",
    b"99999999999",
    b"\n",
    b"24:00",
    b"null",
    b"\"status\":\"free\"",
    b"\xff",
];

#[test]
fn the_fuzz_body_holds_on_mutations_of_the_corpus() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        // xorshift64*: deterministic, so a failure reproduces.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1) as u64) as usize
    };
    let mut runs = 0;
    for (_, seed) in corpus() {
        for _ in 0..400 {
            let mut d = seed.clone();
            for _ in 0..1 + next(3) {
                let at = next(d.len() + 1);
                match next(4) {
                    0 if !d.is_empty() => {
                        let i = at.min(d.len() - 1);
                        d[i] ^= 1 << next(8);
                    }
                    1 => {
                        let end = (at + next(16)).min(d.len());
                        d.drain(at..end);
                    }
                    2 => {
                        let end = (at + next(32)).min(d.len());
                        let piece = d[at..end].to_vec();
                        d.splice(at..at, piece);
                    }
                    _ => {
                        let t = TOKENS[next(TOKENS.len())];
                        d.splice(at..at, t.iter().copied());
                    }
                }
            }
            fhir::fuzz_one(&d);
            runs += 1;
        }
    }
    assert!(runs >= 3000);
}
