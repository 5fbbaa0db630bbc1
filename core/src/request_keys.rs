//! The table of request keys (idempotent retries): per key, the command's fingerprint and the
//! outcome of its first run, bounded by age and count. State only; `idempotency.rs` runs
//! requests against it.

use crate::command::RequestKey;
use crate::error::{Error, Result};
use crate::events::RequestStamp;
use crate::time::Timestamp;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How long a request key is remembered after its request, seconds (24 h).
pub const REQUEST_KEY_RETENTION_S: i64 = 86_400;
/// Most request keys remembered; beyond, the oldest are forgotten first.
pub const REQUEST_KEYS_MAX: usize = 1_000_000;

/// One remembered key (also a snapshot's record of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyRec {
    pub key: RequestKey,
    pub fingerprint: [u8; 16],
    pub outcome: String,
    pub at: Timestamp,
}

enum Entry {
    /// The first try is running.
    Running {
        fingerprint: [u8; 16],
    },
    Done {
        fingerprint: [u8; 16],
        outcome: String,
        at: Timestamp,
    },
}

/// The engine's table of request keys.
#[derive(Default)]
pub(crate) struct RequestKeys {
    map: dashmap::DashMap<RequestKey, Entry, rustc_hash::FxBuildHasher>,
    /// Completed keys, oldest first: what to forget when over the bounds.
    order: Mutex<VecDeque<(Timestamp, RequestKey)>>,
}

pub(crate) enum Claim {
    New,
    Done(String),
}

impl RequestKeys {
    pub fn claim(&self, key: &RequestKey, fingerprint: [u8; 16]) -> Result<Claim> {
        use dashmap::mapref::entry::Entry as E;
        match self.map.entry(key.clone()) {
            E::Vacant(v) => {
                v.insert(Entry::Running { fingerprint });
                Ok(Claim::New)
            }
            E::Occupied(o) => match o.get() {
                Entry::Running { fingerprint: f } if *f != fingerprint => {
                    Err(Error::invalid(format!("request key {key:?} was used for another request")))
                }
                Entry::Running { .. } => Err(Error::invalid(format!(
                    "a request with key {key:?} is in progress: retry once it has returned"
                ))),
                Entry::Done { fingerprint: f, .. } if *f != fingerprint => {
                    Err(Error::invalid(format!("request key {key:?} was used for another request")))
                }
                Entry::Done { outcome, .. } => Ok(Claim::Done(outcome.clone())),
            },
        }
    }

    pub fn release(&self, key: &RequestKey) {
        self.map.remove_if(key, |_, e| matches!(e, Entry::Running { .. }));
    }

    /// Remember a completed request (live, replay and snapshot restore alike).
    pub fn complete(&self, rec: KeyRec) {
        let mut order = self.order.lock();
        self.map.insert(
            rec.key.clone(),
            Entry::Done { fingerprint: rec.fingerprint, outcome: rec.outcome, at: rec.at },
        );
        order.push_back((rec.at, rec.key));
        let oldest_kept = rec.at.plus_s(-REQUEST_KEY_RETENTION_S);
        while let Some((at, key)) = order.front() {
            if order.len() <= REQUEST_KEYS_MAX && *at >= oldest_kept {
                break;
            }
            // Only the entry of this completion: the key may have been used again since.
            let at = *at;
            self.map.remove_if(key, |_, e| matches!(e, Entry::Done { at: a, .. } if *a == at));
            order.pop_front();
        }
    }

    /// Replay of a stamped record.
    pub fn restore(&self, stamp: RequestStamp, at: Timestamp) {
        self.complete(KeyRec {
            key: stamp.key,
            fingerprint: stamp.fingerprint,
            outcome: stamp.outcome,
            at,
        });
    }

    /// The remembered keys, oldest first (snapshots).
    pub fn records(&self) -> Vec<KeyRec> {
        let order = self.order.lock();
        order
            .iter()
            .filter_map(|(at, key)| match self.map.get(key).as_deref() {
                Some(Entry::Done { fingerprint, outcome, at: a }) if a == at => Some(KeyRec {
                    key: key.clone(),
                    fingerprint: *fingerprint,
                    outcome: outcome.clone(),
                    at: *at,
                }),
                _ => None,
            })
            .collect()
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.order.lock().len()
    }
}
