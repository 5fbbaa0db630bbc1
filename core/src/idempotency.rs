//! Idempotent retries: a patient-facing change run with a client's request key
//! ([`Engine::execute`]) acts once; a retry with the same key returns the first outcome.
//!
//! A host retries after a timeout, and the network may have delivered the first try. The
//! engine keeps, per key, the command's fingerprint and its outcome, and journals them **in
//! the record of the request's last event** (`RequestStamp`, format 4): the journal is written
//! in sequence order and cut only at its tail, so a durable stamp means every event of the
//! request is durable, and a lost stamp means the request's last event is lost too — and
//! since the request was then never acknowledged (acknowledgement waits for that event), the
//! client's retry finds no key and runs again on a state that may hold part of the first try
//! (each event is a consistent step), never a second copy of an acknowledged one.
//!
//! What is remembered: a request that **changed state** (emitted events) and succeeded. A
//! request that failed changed nothing (the engine's rule) and one that succeeded without a
//! change (nothing to do) cannot act twice, so a retry simply runs again — its answer may
//! differ (a place freed meanwhile), which is what the client wants from a fresh try. A retry
//! arriving while the first is still running is refused (`InvalidArgument`, "in progress"):
//! the client retries again later. A key reused with another command is refused too.
//!
//! **Bounds.** Keys are kept [`REQUEST_KEY_RETENTION_S`](crate::REQUEST_KEY_RETENTION_S) (24 h,
//! as common idempotency-key practice; a client retries within minutes) and at most
//! [`REQUEST_KEYS_MAX`](crate::REQUEST_KEYS_MAX) of them, the oldest dropped first; both
//! judged by the request's event time, so replay and snapshots keep the same keys as the live
//! engine. The table itself is `request_keys.rs`.

use crate::ack::PipelineScope;
use crate::command::{Command, Outcome, RequestKey};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::{KeyedEmission, RequestStamp};
use crate::request_keys::{Claim, KeyRec, RequestKeys};

/// Releases a claimed key when dropped, i.e. only on unwinding (`execute` forgets it).
struct ReleaseOnUnwind<'a> {
    keys: &'a RequestKeys,
    key: &'a RequestKey,
}

impl Drop for ReleaseOnUnwind<'_> {
    fn drop(&mut self) {
        self.keys.release(self.key);
    }
}

/// BLAKE3 of the command's JSON, first 16 bytes: a retry must carry the same command.
fn fingerprint(command: &Command) -> Result<[u8; 16]> {
    let json = serde_json::to_vec(command)
        .map_err(|e| Error::invalid(format!("cannot encode the command: {e}")))?;
    let hash = blake3::hash(&json);
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash.as_bytes()[..16]);
    Ok(out)
}

impl Engine {
    /// Run a patient-facing change, at most once per request key: a retry with the same `key`
    /// returns the first outcome (as it was then) instead of acting again — across a crash
    /// and reopen of a durable engine too (the journal records the key with the request's
    /// last event). Without a key, the same as calling the method the [`Command`] names.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let patient = engine.register_patient()?;
    /// let key = RequestKey::new("app-7f3a-0001")?;
    /// let book = Command::Book { request: Request::new(patient, slots.start, engine.channel_id("app")?) };
    /// let first = engine.execute(Some(&key), &book)?;
    /// // The client timed out and sends the same request again: one booking, the same answer.
    /// assert_eq!(engine.execute(Some(&key), &book)?, first);
    /// assert_eq!(engine.slot(slots.start)?.pool_taken.total(), 1);
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    ///
    /// # Errors
    /// The command's own errors (a failed request is not remembered: a retry runs again).
    /// [`Error::InvalidArgument`] if `key` was used for another command, or if a request with
    /// `key` is still running.
    pub fn execute(&self, key: Option<&RequestKey>, command: &Command) -> Result<Outcome> {
        let Some(key) = key else { return self.run_command(command) };
        let fingerprint = fingerprint(command)?;
        match self.request_keys.claim(key, fingerprint)? {
            Claim::Done(outcome) => {
                let outcome = serde_json::from_str(&outcome)
                    .map_err(|e| Error::Durability(format!("a stored outcome: {e}")))?;
                // The first try may still be on its way to the disk.
                return self.durable(outcome);
            }
            Claim::New => {}
        }
        // Should the command panic (a bug; the faces catch panics), the key must not stay
        // "in progress" for ever: released on unwinding.
        let claimed = ReleaseOnUnwind { keys: &self.request_keys, key };
        let emission = KeyedEmission::begin();
        // The request's last event is held back until its outcome is known, so nothing in it
        // may wait for durability.
        let pipelining = PipelineScope::enter();
        let result = self.run_command(command);
        drop(pipelining);
        let changed = emission.emitted() > 0;
        let encoded = match &result {
            Ok(outcome) if changed => serde_json::to_string(outcome).ok(),
            _ => None,
        };
        match encoded {
            Some(outcome) => {
                let stamp = RequestStamp { key: key.clone(), fingerprint, outcome };
                let at = emission.finish(Some(&stamp)).unwrap_or_else(|| self.now());
                let RequestStamp { key, fingerprint, outcome } = stamp;
                self.request_keys.complete(KeyRec { key, fingerprint, outcome, at });
            }
            None => {
                emission.finish(None);
                self.request_keys.release(key);
            }
        }
        std::mem::forget(claimed);
        match result {
            Ok(outcome) => self.durable(outcome),
            // Failures that recorded something (an expired hold) are durable before reported.
            Err(e) if changed => self.durable(()).and(Err(e)),
            Err(e) => Err(e),
        }
    }

    /// How many request keys the engine remembers ([`Engine::execute`]).
    pub fn request_keys_remembered(&self) -> usize {
        self.request_keys.len()
    }

    fn run_command(&self, command: &Command) -> Result<Outcome> {
        let booking =
            |b: Result<crate::model::Booking>| b.map(|booking| Outcome::Booking { booking });
        match command {
            Command::RegisterPatient => {
                self.register_patient().map(|patient| Outcome::Patient { patient })
            }
            Command::Hold { request } => booking(self.hold(request)),
            Command::Book { request } => booking(self.book(request)),
            Command::Submit { request } => {
                self.submit(request).map(|submission| Outcome::Submission { submission })
            }
            Command::Confirm { booking: id } => booking(self.confirm(*id)),
            Command::Cancel { booking: id } => booking(self.cancel(*id)),
            Command::CheckIn { booking: id } => booking(self.check_in(*id)),
            Command::Fulfil { booking: id } => booking(self.fulfil(*id)),
            Command::MarkNoShow { booking: id } => booking(self.mark_no_show(*id)),
            Command::JoinWaitlist { request } => {
                self.join_waitlist(request).map(|entry| Outcome::WaitlistEntry { entry })
            }
            Command::LeaveWaitlist { entry } => self.leave_waitlist(*entry).map(|()| Outcome::Done),
            Command::IssueReferral { request } => {
                self.issue_referral(request).map(|referral| Outcome::Referral { referral })
            }
            Command::BookGroup { request } => {
                self.book_group(request).map(|group| Outcome::Group { group })
            }
            Command::Reschedule { request } => {
                self.reschedule(request).map(|group| Outcome::Group { group })
            }
        }
    }
}
