//! Events: every state change, as a typed value with a gap-free sequence number.
//!
//! Events are the audit trail and the input of the durable journal. Sequence numbers come from
//! one atomic counter, so they have no gaps; events of one patient (and so of one booking) are
//! emitted under that patient's lock and arrive in sequence order. Events of different patients
//! emitted by different threads may reach a subscriber a few positions out of order: a consumer
//! that needs the total order re-sequences by `seq`, which the absence of gaps makes exact.

use crate::booking::Request;
use crate::cards::CardDigest;
use crate::error::Result;
use crate::ids::*;
use crate::roster::Roster;
use crate::waitlist::WaitlistEntry;
use crate::registry::{ResourceKind, Tier};
use crate::slot::{Pool, SlotSpec};
use crate::time::{Date, TimeOfDay, Timestamp};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Where a durable journal plugs in (see the durability module).
///
/// `record` is called for every event in the emitting thread, under the same patient lock as
/// the change it describes, so it must be cheap: hand the event to a writer and return.
/// `wait_durable(seq)` blocks until every event up to `seq` is on stable storage; the engine
/// calls it before acknowledging an operation, outside every lock, so that concurrent
/// operations share one fsync (group commit).
pub trait EventSink: Send + Sync {
    fn record(&self, event: &Event);
    fn wait_durable(&self, seq: u64) -> Result<()>;
}

/// Who ended a booking by cancelling it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Patient,
    /// The clinic session was suspended (停诊); never counts against the patient.
    Provider,
}

/// Urgency of a referral (NHS e-RS: two-week-wait/emergency, urgent, routine).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Emergency,
    Urgent,
    Routine,
}

/// One state change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub at: Timestamp,
    pub kind: EventKind,
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    InstitutionAdded { institution: InstitutionId, name: String, tier: Tier, district: String },
    DepartmentAdded { department: DepartmentId, institution: InstitutionId, specialty: String, name: String },
    ResourceAdded { resource: ResourceId, department: DepartmentId, kind: ResourceKind, name: String, expert: bool },
    ChannelAdded { channel: ChannelId, name: String },
    PatientRegistered { patient: PatientId },
    /// The number itself is never emitted: its masked form, and the keyed digest that indexes
    /// it (pseudonymous; replay needs it).
    CardLinked { patient: PatientId, card_type: String, masked: String, digest: CardDigest },
    PatientsMerged { survivor: PatientId, merged: PatientId },
    /// A batch of slots; ids are `first .. first + specs.len()` in order.
    SlotsPublished { first: SlotId, specs: Vec<SlotSpec> },
    RosterAdded { roster: RosterId, template: Roster },
    /// Rosters were expanded up to `until` (their slots follow as `SlotsPublished`).
    RostersPublished { until: Date },
    Held {
        booking: BookingId,
        slot: SlotId,
        patient: PatientId,
        channel: ChannelId,
        pool: Pool,
        expires_at: Timestamp,
        referral: Option<ReferralId>,
        offer: Option<WaitlistId>,
    },
    /// Hold and confirm in one step.
    Booked { booking: BookingId, slot: SlotId, patient: PatientId, channel: ChannelId, pool: Pool, referral: Option<ReferralId> },
    Confirmed { booking: BookingId },
    Cancelled { booking: BookingId, slot: SlotId, by: CancelledBy, late: bool },
    Expired { booking: BookingId, slot: SlotId },
    CheckedIn { booking: BookingId },
    Fulfilled { booking: BookingId },
    NoShow { booking: BookingId, slot: SlotId },
    PatientSuspended { patient: PatientId, until: Timestamp, no_shows: f32 },
    SessionSuspended { resource: ResourceId, date: Date, time: Option<TimeOfDay>, slots: u32, cancelled: u32 },
    ReferralIssued {
        referral: ReferralId,
        patient: PatientId,
        from: InstitutionId,
        specialty: SpecialtyId,
        institution: Option<InstitutionId>,
        urgency: Urgency,
        valid_until: Timestamp,
    },
    ReferralConsumed { referral: ReferralId, booking: BookingId },
    ReferralReturned { referral: ReferralId },
    WaitlistJoined { entry: WaitlistEntry },
    WaitlistOffered { entry: WaitlistId, booking: BookingId },
    WaitlistLeft { entry: WaitlistId, patient: PatientId },
    LotteryEntered { ticket: TicketId, request: Request, weight: f64, release_at: Timestamp, draws_at: Timestamp },
    /// The order in which the entries of one release were served, from its seed.
    LotteryDrawn { release_at: Timestamp, seed: u64, order: Vec<TicketId> },
    LotteryWon { ticket: TicketId, booking: BookingId },
    LotteryLost { ticket: TicketId, reason: String },
}

/// Fan-out of events to subscribers.
#[derive(Default)]
pub(crate) struct EventBus {
    next_seq: AtomicU64,
    subscribers: RwLock<Vec<Sender<Event>>>,
    /// Read without the lock: with no subscriber, emitting costs one atomic add.
    subscriber_count: AtomicUsize,
    sink: OnceLock<Arc<dyn EventSink>>,
}

impl EventBus {
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut subs = self.subscribers.write();
        subs.push(tx);
        self.subscriber_count.store(subs.len(), Ordering::Release);
        rx
    }

    pub fn emit(&self, at: Timestamp, kind: EventKind) -> u64 {
        let seq = self.next_seq.fetch_add(1, Ordering::AcqRel) + 1;
        let sink = self.sink.get();
        if sink.is_none() && self.subscriber_count.load(Ordering::Acquire) == 0 {
            return seq;
        }
        let event = Event { seq, at, kind };
        if let Some(sink) = sink {
            sink.record(&event);
        }
        if self.subscriber_count.load(Ordering::Acquire) == 0 {
            return seq;
        }
        let mut gone: Vec<Sender<Event>> = Vec::new();
        {
            let subs = self.subscribers.read();
            for tx in subs.iter() {
                if tx.send(event.clone()).is_err() {
                    gone.push(tx.clone());
                }
            }
        }
        if !gone.is_empty() {
            // A subscriber dropped its receiver: forget it.
            let mut subs = self.subscribers.write();
            subs.retain(|tx| !gone.iter().any(|g| g.same_channel(tx)));
            self.subscriber_count.store(subs.len(), Ordering::Release);
        }
        seq
    }

    /// Attach the durable sink; only one, once.
    pub fn set_sink(&self, sink: Arc<dyn EventSink>) -> bool {
        self.sink.set(sink).is_ok()
    }

    /// Block until everything emitted so far is durable (no-op without a sink).
    pub fn wait_durable(&self) -> Result<()> {
        match self.sink.get() {
            Some(sink) => sink.wait_durable(self.last_seq()),
            None => Ok(()),
        }
    }

    /// Recovery only (durability): continue the sequence after the last replayed event.
    pub(crate) fn restore_seq(&self, last: u64) {
        self.next_seq.store(last, Ordering::Release);
    }

    /// The sequence number of the last event emitted (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Acquire)
    }
}
