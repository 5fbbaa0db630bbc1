//! The load board's state and its pure arithmetic (queues, paces, figures), apart from the
//! engine so that `engine.rs` can hold it without importing `board.rs`, whose operations are
//! `impl Engine` (no import cycle, ci/import-cycles.sh). See `board.rs` for the design.

use crate::ids::*;
use crate::model::HalfDay;
use crate::slot::Slot;
use crate::time::{Date, Timestamp};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};

/// Sessions one department keeps (a day and a half of half-days, plus the odd late check-in).
pub const SESSIONS_PER_DEPARTMENT_MAX: usize = 8;
/// Weight of the newest interval in a resource's moving average of service intervals.
pub const SERVICE_EWMA_ALPHA: f64 = 0.2;
/// Shortest service interval the board divides by (two fulfilments in the same second).
const SERVICE_INTERVAL_MIN_S: f64 = 1.0;

/// One department's board state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DepartmentLoad {
    /// At most [`SESSIONS_PER_DEPARTMENT_MAX`], in no particular order.
    pub sessions: Vec<SessionLoad>,
    /// The pace of each resource of the department that has had a patient checked in.
    pub pace: Vec<Pace>,
    /// The figures of its last `FreeChanged`. Last, and written only when set, so that a
    /// snapshot (positional MessagePack) without free-place events encodes as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_reported: Option<FreeReported>,
}

/// The free places today and free beds tonight a department's last `FreeChanged` reported:
/// the baseline of the next one, that day (another day starts again from 0 and 0).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FreeReported {
    pub date: Date,
    pub free_today: u32,
    pub free_beds_tonight: u32,
}

/// The queue of one department-session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SessionLoad {
    pub date: Date,
    pub half_day: HalfDay,
    /// (resource, patients checked in and not yet seen), in first check-in order; a resource
    /// stays listed at 0 after its patients are seen (it still serves the session), not after a
    /// provider suspension cancels its last one (it no longer does).
    pub waiting: Vec<(ResourceId, u32)>,
    /// Queue and expected wait of its last `LoadChanged` (0, 0 before any).
    pub reported: (u32, u32),
}

/// How fast one resource sees its patients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pace {
    pub resource: ResourceId,
    pub last_fulfil_at: Option<Timestamp>,
    /// Whether the last fulfilment left a patient of this resource waiting (so the interval
    /// to the next one is a consultation, not idle time).
    pub busy: bool,
    /// The moving average, valid once `samples > 0`.
    pub interval_s: f64,
    pub samples: u32,
    /// Segment length ÷ places of the slot last checked into.
    pub planned_s: f64,
}

impl Pace {
    fn interval_s(&self) -> f64 {
        let s = if self.samples > 0 { self.interval_s } else { self.planned_s };
        s.max(SERVICE_INTERVAL_MIN_S)
    }
}

/// What happened to a booking on the board.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    CheckedIn,
    Fulfilled,
    /// A checked-in booking cancelled by the provider (session suspended).
    Left,
}

/// Every department's board state.
#[derive(Default)]
pub(crate) struct Board {
    pub departments: DashMap<DepartmentId, DepartmentLoad>,
}

impl DepartmentLoad {
    pub(crate) fn session(&self, date: Date, half_day: HalfDay) -> Option<&SessionLoad> {
        self.sessions.iter().find(|s| s.date == date && s.half_day == half_day)
    }

    pub(crate) fn session_mut(
        &mut self,
        date: Date,
        half_day: HalfDay,
    ) -> Option<&mut SessionLoad> {
        self.sessions.iter_mut().find(|s| s.date == date && s.half_day == half_day)
    }

    /// Queue, mean service interval (s) and expected wait (s) of a session.
    pub(crate) fn figures(&self, date: Date, half_day: HalfDay) -> (u32, f64, u32) {
        let Some(s) = self.session(date, half_day) else { return (0, 0.0, 0) };
        let queue: u32 = s.waiting.iter().map(|(_, n)| *n).sum();
        let rate: f64 = s
            .waiting
            .iter()
            .filter_map(|(r, _)| self.pace.iter().find(|p| p.resource == *r))
            .map(|p| 1.0 / p.interval_s())
            .sum();
        if rate <= 0.0 {
            return (queue, 0.0, 0);
        }
        let mean = 1.0 / rate;
        let wait = (queue as f64 * mean).round().min(u32::MAX as f64) as u32;
        (queue, mean, wait)
    }

    /// Apply one change of a booking on `slot` at `at`; `same_half(last)`: whether an earlier
    /// fulfilment at `last` falls in `at`'s local half-day.
    pub(crate) fn apply(
        &mut self,
        slot: &Slot,
        change: Change,
        at: Timestamp,
        same_half: impl Fn(Timestamp) -> bool,
    ) {
        let (date, half_day) = (slot.date(), HalfDay::of_minute(slot.start_min));
        let r = slot.resource;
        if self.session(date, half_day).is_none() {
            if change != Change::CheckedIn {
                return; // its session was forgotten (bounded): nothing to take off
            }
            self.sessions.push(SessionLoad {
                date,
                half_day,
                waiting: Vec::new(),
                reported: (0, 0),
            });
            if self.sessions.len() > SESSIONS_PER_DEPARTMENT_MAX {
                let oldest = (0..self.sessions.len())
                    .min_by_key(|&i| (self.sessions[i].date, self.sessions[i].half_day))
                    .expect("not empty");
                self.sessions.swap_remove(oldest);
            }
            assert!(self.sessions.len() <= SESSIONS_PER_DEPARTMENT_MAX);
        }
        let Some(session) = self.session_mut(date, half_day) else { return };
        let left = match session.waiting.iter_mut().find(|(x, _)| *x == r) {
            Some((_, n)) => {
                match change {
                    Change::CheckedIn => *n = n.saturating_add(1),
                    Change::Fulfilled | Change::Left => *n = n.saturating_sub(1),
                }
                *n
            }
            None if change == Change::CheckedIn => {
                session.waiting.push((r, 1));
                1
            }
            None => return,
        };
        if change == Change::Left && left == 0 {
            // The provider cancelled this resource's last checked-in patient of the session
            // (a suspension): it no longer serves the session, so its pace leaves the session's
            // rate. A later check-in to one of its slots lists it again.
            session.waiting.retain(|(x, _)| *x != r);
            return;
        }
        let i = match self.pace.iter().position(|p| p.resource == r) {
            Some(i) => i,
            None => {
                self.pace.push(Pace {
                    resource: r,
                    last_fulfil_at: None,
                    busy: false,
                    interval_s: 0.0,
                    samples: 0,
                    planned_s: 0.0,
                });
                self.pace.len() - 1
            }
        };
        let pace = &mut self.pace[i];
        match change {
            Change::CheckedIn => {
                let segment_s = (slot.end_min - slot.start_min) as f64 * 60.0;
                pace.planned_s = segment_s / slot.capacity().max(1) as f64;
            }
            Change::Fulfilled => {
                if let Some(last) = pace.last_fulfil_at {
                    if pace.busy && same_half(last) {
                        let x = (at.0 - last.0).max(0) as f64;
                        pace.interval_s = if pace.samples == 0 {
                            x
                        } else {
                            SERVICE_EWMA_ALPHA * x + (1.0 - SERVICE_EWMA_ALPHA) * pace.interval_s
                        };
                        pace.samples = pace.samples.saturating_add(1);
                    }
                }
                pace.last_fulfil_at = Some(at);
                pace.busy = left > 0;
            }
            Change::Left => {}
        }
    }
}
