//! loom model of dense-id allocation (`ci/loom.sh`; built only with `RUSTFLAGS="--cfg loom"`).
//!
//! Patients, institutions and the other registry items get dense ids from an append-only
//! vector (boxcar, whose atomics are loom's in this build), and their events get sequence
//! numbers from the event bus. The journal lists events in sequence order, so the two must be
//! taken as one step: otherwise two concurrent registrations can be journaled in the opposite
//! order of their ids, and a crash that keeps only the later-numbered one leaves a journal whose
//! replay meets patient 2 before patient 1 exists (the journal-order defect, hardening issue,
//! item B). `Engine::alloc_lock` (a loom mutex in this build, see core/src/sync.rs) is what
//! makes it one step; this model runs the real `Engine::register_patient` and
//! `Engine::add_institution` from concurrent threads and checks every interleaving.
#![cfg(loom)]

use haoyuan::*;
use loom::sync::Arc;
use loom::thread;
use parking_lot::Mutex;

/// A journal that keeps what the engine hands it. `record` runs under the engine's locks and
/// this mutex is never held across a loom operation, so it adds no interleavings of its own.
#[derive(Default)]
struct Journal(Mutex<Vec<Event>>);

impl EventSink for Journal {
    fn record(&self, event: &Event) {
        self.0.lock().push(event.clone());
    }

    fn wait_durable(&self, _seq: u64) -> Result<()> {
        Ok(())
    }
}

fn engine() -> (Arc<Engine>, std::sync::Arc<Journal>) {
    let config = EngineConfig::default().with_card_key(CardKey::from_bytes(&[7; 32]).unwrap());
    let start = Timestamp::from_local(Date::from_ymd(2026, 11, 23).unwrap(), 16 * 60, 8 * 3600);
    let engine = Engine::with_manual_clock(config, start).unwrap();
    let journal = std::sync::Arc::new(Journal::default());
    engine.set_event_sink(journal.clone()).unwrap();
    (Arc::new(engine), journal)
}

/// A model thread with room for the engine: loom's threads are coroutines with small stacks,
/// too small for building an `Engine` or for its calls.
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> thread::JoinHandle<T> {
    thread::Builder::new().stack_size(8 << 20).spawn(f).unwrap()
}

/// The additions of one kind, in journal (sequence) order, as ids.
fn journaled(journal: &Journal, id_of: impl Fn(&EventKind) -> Option<u64>) -> Vec<u64> {
    let mut events = journal.0.lock().clone();
    events.sort_by_key(|e| e.seq);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>(), "no gap in the sequence");
    events.iter().filter_map(|e| id_of(&e.kind)).collect()
}

/// Two patients register while an institution is added: in every interleaving the journal
/// lists the patients in id order (so every prefix a crash may leave replays), and the ids the
/// callers got are the ones journaled.
#[test]
fn registrations_reach_the_journal_in_id_order() {
    let mut model = loom::model::Builder::new();
    // Building an engine takes well over loom's default of 1,000 atomic operations (boxcar
    // pushes of the standard channels, the registry's tables); the threads' work is small.
    model.max_branches = 100_000;
    model.check(|| spawn(registrations).join().unwrap());
}

fn registrations() {
    let (engine, journal) = engine();
    let patients: Vec<_> = (0..2)
        .map(|_| {
            let engine = engine.clone();
            spawn(move || engine.register_patient().unwrap())
        })
        .collect();
    let institution = {
        let engine = engine.clone();
        spawn(move || {
            engine.add_institution("Huizhou Central", Tier::Tertiary, "Huicheng").unwrap()
        })
    };
    let mut given: Vec<u64> = patients.into_iter().map(|t| t.join().unwrap().0 as u64).collect();
    let institution = institution.join().unwrap();
    given.sort_unstable();
    let in_journal = journaled(&journal, |k| match k {
        EventKind::PatientRegistered { patient } => Some(patient.0 as u64),
        _ => None,
    });
    assert_eq!(in_journal, vec![1, 2], "patients journaled out of id order");
    assert_eq!(given, in_journal);
    let institutions = journaled(&journal, |k| match k {
        EventKind::InstitutionAdded { institution, .. } => Some(institution.0 as u64),
        _ => None,
    });
    assert_eq!(institutions, vec![institution.0 as u64]);
}
