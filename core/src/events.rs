//! Events: every state change, as a typed value with a gap-free sequence number.
//!
//! Events are the audit trail and the input of the durable journal. Sequence numbers come from
//! one atomic counter, so they have no gaps; events of one patient (and so of one booking) are
//! emitted under that patient's lock and arrive in sequence order. Events of different patients
//! emitted by different threads may reach a subscriber a few positions out of order: a consumer
//! that needs the total order re-sequences by `seq`, which the absence of gaps makes exact.

use crate::cards::CardDigest;
use crate::error::Result;
use crate::event_types::{EventKinds, EventType};
use crate::ids::*;
use crate::model::{
    CancelledBy, HalfDay, Pool, Request, ResourceKind, Roster, SlotSpec, Tier, Urgency,
    WaitlistEntry,
};

use crate::time::{Date, TimeOfDay, Timestamp};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use crossbeam_utils::CachePadded;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// Where a durable journal plugs in (see the durability module).
///
/// `record` is called for every event in the emitting thread, under the same patient lock as
/// the change it describes, so it must be cheap: hand the event to a writer and return.
/// `wait_durable(seq)` blocks until every event up to `seq` is on stable storage; the engine
/// calls it before acknowledging an operation, outside every lock, so that concurrent
/// operations share one fsync (group commit).
pub trait EventSink: Send + Sync {
    /// Take one event, in sequence order per emitting thread; must not block on I/O.
    fn record(&self, event: &Event);
    /// Block until every event up to `seq` is durable; `Err` if the sink failed (the engine then
    /// reports the operation as not acknowledged).
    fn wait_durable(&self, seq: u64) -> Result<()>;
    /// The last sequence number known durable. A sink that cannot tell answers 0: nothing is
    /// then known durable without waiting.
    fn durable_seq(&self) -> u64 {
        0
    }
    /// Call `done` once every event up to `seq` is durable, or the sink failed. The default
    /// waits on the calling thread; a sink with a writer thread calls back from it instead.
    fn on_durable(&self, seq: u64, done: DurableCallback) {
        done(self.wait_durable(seq))
    }
    /// The writer's side for [`crate::Engine::metrics`]; `None` for a sink without one.
    fn metrics(&self) -> Option<crate::metrics::JournalMetrics> {
        None
    }
    /// `record`, for the last event of a request run with a [`RequestKey`](crate::RequestKey)
    /// ([`crate::Engine::execute`]): a sink that recovers request keys must make `stamp` durable
    /// with the event, atomically — the journal writes it into the event's own record, so that
    /// a crash keeps both or neither (and with the event, every earlier one of the request).
    /// The default records the event alone: such a sink forgets the keys across a restart.
    fn record_stamped(&self, event: &Event, stamp: &RequestStamp) {
        let _ = stamp;
        self.record(event)
    }
}

/// What the journal keeps with the last event of a request run with a request key
/// ([`crate::Engine::execute`]): enough to answer a retry after a restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestStamp {
    /// The client's key.
    pub key: crate::command::RequestKey,
    /// BLAKE3 of the command's JSON (first 16 bytes): a retry must carry the same command.
    pub fingerprint: [u8; 16],
    /// The outcome the request returned, as JSON ([`crate::Outcome`]).
    pub outcome: String,
}

/// What `on_durable` calls once: `Ok` when the events are durable, the journal's error if it
/// failed first.
pub type DurableCallback = Box<dyn FnOnce(Result<()>) + Send>;

/// One state change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its number: consecutive from 1 over the engine's life (a gap a subscriber sees means it
    /// missed events); the journal's order.
    pub seq: u64,
    /// When it happened, on the engine's clock.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A hospital or clinic joined the registry (`Engine::add_institution`).
    InstitutionAdded {
        /// Its id.
        institution: InstitutionId,
        /// Its display name.
        name: String,
        /// Its tier of care (community, secondary, tertiary).
        tier: Tier,
        /// The district it belongs to (load spreading and alternatives stay within it).
        district: String,
    },
    /// A department of an institution joined the registry (`Engine::add_department`).
    DepartmentAdded {
        /// Its id.
        department: DepartmentId,
        /// The institution it belongs to.
        institution: InstitutionId,
        /// Its specialty (the key alternatives and referrals match on).
        specialty: String,
        /// Its display name.
        name: String,
    },
    /// A bookable resource — a doctor, bed, exam room … — joined a department (`Engine::add_resource`).
    ResourceAdded {
        /// Its id.
        resource: ResourceId,
        /// The department it belongs to.
        department: DepartmentId,
        /// What kind of resource it is.
        kind: ResourceKind,
        /// Its display name.
        name: String,
        /// An expert (专家号) rather than an ordinary doctor.
        expert: bool,
    },
    /// A booking channel (app, WeChat, phone, window …) was added (`Engine::add_channel`).
    ChannelAdded {
        /// Its id.
        channel: ChannelId,
        /// Its name, unique in the engine.
        name: String,
    },
    /// A patient record was created in the master patient index.
    PatientRegistered {
        /// The new record's id.
        patient: PatientId,
    },
    /// The number itself is never emitted: its masked form, and the keyed digest that indexes
    /// it (pseudonymous; replay needs it).
    CardLinked {
        /// The patient the card now identifies.
        patient: PatientId,
        /// The card's type (national ID, social security …).
        card_type: String,
        /// The number, masked for display.
        masked: String,
        /// The keyed digest of the number (under the host's secret).
        digest: CardDigest,
    },
    /// Two records of one person were merged: `merged` now resolves to `survivor`.
    PatientsMerged {
        /// The record that is kept.
        survivor: PatientId,
        /// The record merged into it (a tombstone from now on).
        merged: PatientId,
    },
    /// A batch of slots; ids are `first .. first + specs.len()` in order.
    SlotsPublished {
        /// The id of the batch's first slot.
        first: SlotId,
        /// The slots, in id order.
        specs: Vec<SlotSpec>,
    },
    /// A weekly roster template was added; its slots are published by `RostersPublished`.
    RosterAdded {
        /// Its id.
        roster: RosterId,
        /// The template, as given.
        template: Roster,
    },
    /// Rosters were expanded up to `until` (their slots follow as `SlotsPublished`).
    RostersPublished {
        /// The last date published.
        until: Date,
    },
    /// A place was held for a patient until `expires_at` (confirm before then, or it expires).
    Held {
        /// The booking (or hold).
        booking: BookingId,
        /// Its slot.
        slot: SlotId,
        /// The patient.
        patient: PatientId,
        /// The channel it came through.
        channel: ChannelId,
        /// The pool its place was taken from.
        pool: Pool,
        /// When the hold expires unless confirmed.
        expires_at: Timestamp,
        /// The referral it uses, if any.
        referral: Option<ReferralId>,
        /// The waitlist entry whose offer this hold is, if any.
        offer: Option<WaitlistId>,
    },
    /// Hold and confirm in one step.
    Booked {
        /// The booking (or hold).
        booking: BookingId,
        /// Its slot.
        slot: SlotId,
        /// The patient.
        patient: PatientId,
        /// The channel it came through.
        channel: ChannelId,
        /// The pool its place was taken from.
        pool: Pool,
        /// The referral it uses, if any.
        referral: Option<ReferralId>,
    },
    /// A hold became a booking.
    Confirmed {
        /// The booking (or hold).
        booking: BookingId,
    },
    /// A hold or booking was cancelled and its place given back.
    Cancelled {
        /// The booking (or hold).
        booking: BookingId,
        /// Its slot.
        slot: SlotId,
        /// Who cancelled: the patient, or the provider (session suspension).
        by: CancelledBy,
        /// Cancelled too close to the visit: counted as a fraction of a no-show.
        late: bool,
    },
    /// A hold passed its deadline unconfirmed; its place was given back.
    Expired {
        /// The booking (or hold).
        booking: BookingId,
        /// Its slot.
        slot: SlotId,
    },
    /// The patient arrived for a booking (报到).
    CheckedIn {
        /// The booking (or hold).
        booking: BookingId,
    },
    /// The patient was seen: the booking is complete.
    Fulfilled {
        /// The booking (or hold).
        booking: BookingId,
    },
    /// The patient did not come: counted against them (no-show penalties).
    NoShow {
        /// The booking (or hold).
        booking: BookingId,
        /// Its slot.
        slot: SlotId,
    },
    /// A patient reached the no-show threshold and may not book until `until`.
    PatientSuspended {
        /// The patient.
        patient: PatientId,
        /// When the suspension ends.
        until: Timestamp,
        /// The weighted no-shows counted in the policy's window that triggered it.
        no_shows: f32,
    },
    /// A provider suspended a session (停诊): its slots closed, their bookings cancelled by the provider.
    SessionSuspended {
        /// The resource whose session was suspended.
        resource: ResourceId,
        /// The date of the session.
        date: Date,
        /// The part of the day suspended (`None`: the whole day).
        time: Option<TimeOfDay>,
        /// How many slots were closed.
        slots: u32,
        /// How many bookings were cancelled by the provider.
        cancelled: u32,
    },
    /// A lower-tier institution referred a patient (their bookings may take the referral pool).
    ReferralIssued {
        /// Its id.
        referral: ReferralId,
        /// The patient.
        patient: PatientId,
        /// The referring institution.
        from: InstitutionId,
        /// The specialty referred to.
        specialty: SpecialtyId,
        /// The one institution it is valid at (`None`: any higher-tier one with the specialty).
        institution: Option<InstitutionId>,
        /// How urgent (decides the pools it may take).
        urgency: Urgency,
        /// When it lapses unused.
        valid_until: Timestamp,
    },
    /// A booking used a referral.
    ReferralConsumed {
        /// The referral.
        referral: ReferralId,
        /// The booking that used it.
        booking: BookingId,
    },
    /// The booking that used a referral ended before the visit: the referral can be used again.
    ReferralReturned {
        /// The referral, usable again.
        referral: ReferralId,
    },
    /// A patient joined a waitlist.
    WaitlistJoined {
        /// The entry, with its id, patient, wishes and priority.
        entry: WaitlistEntry,
    },
    /// A freed place was offered to a waitlisted patient as a hold (`booking`).
    WaitlistOffered {
        /// The entry offered a place.
        entry: WaitlistId,
        /// The hold made for it.
        booking: BookingId,
    },
    /// A waitlist entry ended: withdrawn (`Engine::leave_waitlist`), or dropped because its
    /// patient can no longer book (suspended, at a limit, referral used).
    WaitlistLeft {
        /// The entry.
        entry: WaitlistId,
        /// Its patient.
        patient: PatientId,
    },
    /// A request made during a release window entered that release's lottery.
    LotteryEntered {
        /// The ticket's id.
        ticket: TicketId,
        /// The request it will make if drawn.
        request: Request,
        /// Its weight in the draw: its priority class's weight, lowered by the patient's counted
        /// no-shows (`Policy::lottery`).
        weight: f64,
        /// The release it entered (the public opening instant).
        release_at: Timestamp,
        /// When that release is drawn.
        draws_at: Timestamp,
    },
    /// The order in which the entries of one release were served, from its seed.
    LotteryDrawn {
        /// The release drawn.
        release_at: Timestamp,
        /// The seed of the draw (auditable: the same seed gives the same order).
        seed: u64,
        /// Every ticket of the release, in the order served.
        order: Vec<TicketId>,
    },
    /// A lottery ticket won: its booking was made.
    LotteryWon {
        /// The ticket.
        ticket: TicketId,
        /// The booking it made.
        booking: BookingId,
    },
    /// A lottery ticket lost (no place left for it, or its patient could not book).
    LotteryLost {
        /// The ticket.
        ticket: TicketId,
        /// Why it lost, for the patient (e.g. no place left).
        reason: String,
    },
    /// A manual clock moved forward to `to` (the event's own `at`). Journaled so that a durable
    /// simulation reopens where its clock stood, even if nothing else happened since.
    ClockSet {
        /// The new time.
        to: Timestamp,
    },
    /// The live load board of a department-session moved past a threshold of the policy
    /// (`Policy::board`): its queue or expected wait now. Derived from the lifecycle event
    /// just before it (same `at`); replay rebuilds the board from those and takes from this
    /// one only the figures last reported, the baseline of the next event (`board.rs`).
    LoadChanged {
        /// The department.
        department: DepartmentId,
        /// The session's date.
        date: Date,
        /// The session's half-day.
        half_day: HalfDay,
        /// Patients checked in and not yet seen.
        queue: u32,
        /// Expected wait of someone checking in now, seconds.
        expected_wait_s: u32,
    },
    /// A department's free places today or free beds tonight (the live load board's
    /// `free_today`, `free_beds_tonight`) moved past a threshold of the policy
    /// (`Policy::board`). Derived from the change just before it (a booking, a cancellation,
    /// an expiry, a publication, a suspension); replay takes from it only the figures last
    /// reported, the baseline of the next event (`board.rs`).
    FreeChanged {
        /// The department.
        department: DepartmentId,
        /// Today (the engine's local date).
        date: Date,
        /// Free places today a member of the public may take.
        free_today: u32,
        /// Free beds tonight.
        free_beds_tonight: u32,
    },
    /// The running policy was replaced ([`crate::Engine::set_policy`]): every event after this
    /// one was decided under `policy`.
    PolicyChanged {
        /// The whole new policy.
        policy: Box<crate::policy::Policy>,
    },
    /// Several changes of one booking group ([`crate::Engine::book_group`],
    /// [`crate::Engine::reschedule`], a cancellation), applied as one: one journal record, so
    /// after a crash either all of them are there or none. `events` holds ordinary `booked`,
    /// `cancelled`, `referral_consumed`, `referral_returned` and `patient_suspended` events,
    /// in the order they apply — never another group.
    Group {
        /// The group: its lead booking's id.
        group: BookingId,
        /// What happened to it.
        action: crate::model::GroupAction,
        /// When rescheduled: the booking or group it replaced (its places are given back by
        /// the `cancelled` events inside).
        replaces: Option<BookingId>,
        /// The changes, in order.
        events: Vec<EventKind>,
    },
    /// Retention retired every day before `before` (`Policy::retention`): their slots are
    /// unknown ids from now on, their bookings have left the patients' records, and the
    /// memory of both is freed. Journaled, so a replay retires the same days at the same point.
    Retired {
        /// The first date kept.
        before: Date,
    },
}

/// `EventKind::event_type`'s match, one arm per variant of the same name in both enums: a
/// variant missing from either is a compile error, and no arm can map to another name.
macro_rules! event_type_of {
    ($kind:expr; $($variant:ident)*) => {
        match $kind {
            $(EventKind::$variant { .. } => EventType::$variant,)*
        }
    };
}

impl EventKind {
    /// This event's type (its JSON `type` tag is [`EventType::name`]).
    pub fn event_type(&self) -> EventType {
        event_type_of!(self;
            InstitutionAdded DepartmentAdded ResourceAdded ChannelAdded PatientRegistered
            CardLinked PatientsMerged SlotsPublished RosterAdded RostersPublished Held Booked
            Confirmed Cancelled Expired CheckedIn Fulfilled NoShow PatientSuspended
            SessionSuspended ReferralIssued ReferralConsumed ReferralReturned WaitlistJoined
            WaitlistOffered WaitlistLeft LotteryEntered LotteryDrawn LotteryWon LotteryLost
            ClockSet LoadChanged FreeChanged PolicyChanged Group Retired)
    }

    /// The bits of the types this event counts as for a subscription: its own, and a
    /// group's members' ([`EventKinds`]).
    fn type_bits(&self) -> u64 {
        match self {
            EventKind::Group { events, .. } => {
                events.iter().fold(EventType::Group.bit(), |m, e| m | e.event_type().bit())
            }
            other => other.event_type().bit(),
        }
    }
}

/// What the engine does when a subscriber's queue is full.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Cut the subscriber off: it keeps what is queued, then its subscription ends
    /// ([`Subscription::is_cut_off`]), and the events it missed show as a gap in `seq`. The
    /// engine never waits for a subscriber. The default.
    #[default]
    Disconnect,
    /// The operation that emitted the event waits until the subscriber made room — at its very
    /// end, after it released every lock, so no other patient or slot is held up by it. A slow
    /// subscriber slows the engine down by design (an audit log that must not miss an event).
    /// Never read such a subscription on a thread that also calls the engine: it would wait
    /// for itself.
    Block,
}

/// Most events one subscription may queue (a bound on a slow subscriber's memory).
pub const SUBSCRIPTION_CAPACITY_MAX: usize = 1 << 22;
/// Queue size of [`crate::Engine::subscribe`].
pub const SUBSCRIPTION_CAPACITY_DEFAULT: usize = 1 << 16;

/// How to subscribe: the queue's size, what happens when it is full, and which events.
///
/// ```
/// use haoyuan::{EventKinds, SubscribeOptions};
/// // Cancellations and expiries only (the places that come back), in a queue of 1,024.
/// let options = SubscribeOptions {
///     capacity: 1024,
///     kinds: EventKinds::from_names(["cancelled", "expired"])?,
///     ..SubscribeOptions::default()
/// };
/// # Ok::<(), haoyuan::Error>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeOptions {
    /// Events queued at most, 1 ..= [`SUBSCRIPTION_CAPACITY_MAX`].
    pub capacity: usize,
    /// What happens when the queue is full.
    pub overflow: Overflow,
    /// The event types received (not empty); every type by default. The others are neither
    /// queued nor counted against the capacity, and show as gaps in `seq` (see
    /// [`Subscription`]). A [`EventKind::Group`] counts as every type it holds.
    #[serde(default)]
    pub kinds: EventKinds,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        SubscribeOptions {
            capacity: SUBSCRIPTION_CAPACITY_DEFAULT,
            overflow: Overflow::Disconnect,
            kinds: EventKinds::ALL,
        }
    }
}

/// A stream of the engine's events from the moment of subscribing, through a bounded queue (see
/// [`SubscribeOptions`]). Drop it to unsubscribe. Events of one patient arrive in order; events
/// of different patients may arrive a few positions apart — `seq` has no gaps, so a consumer
/// that needs the total order re-sequences by it, and a consumer that was cut off sees where.
/// A subscription to some types only ([`SubscribeOptions::kinds`]) sees the others' numbers as
/// gaps; [`Subscription::is_cut_off`] tells it whether it missed any of its own.
#[derive(Debug)]
pub struct Subscription {
    rx: Receiver<Event>,
    cut_off: Arc<AtomicBool>,
    /// Its entry in the bus's list, removed when it is dropped (`Drop` below).
    id: u64,
    bus: Weak<Subscribers>,
}

impl Drop for Subscription {
    /// Unsubscribe at once: a subscriber to rare types would otherwise stay listed (and keep
    /// the engine building events for it) until one of its types next came.
    fn drop(&mut self) {
        if let Some(subscribers) = self.bus.upgrade() {
            subscribers.remove(&[self.id]);
        }
    }
}

impl Subscription {
    /// The next event if one is queued.
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// Wait for the next event; `None` once the subscription ended (cut off, or the engine is
    /// gone) and everything queued was read.
    pub fn recv(&self) -> Option<Event> {
        self.rx.recv().ok()
    }

    /// Wait at most `timeout` for the next event; `None` on timeout or end ([`Self::is_ended`]).
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<Event> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Every event queued now, without waiting.
    pub fn try_iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.rx.try_iter()
    }

    /// Events as they come, until the subscription ends.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.rx.iter()
    }

    /// Events queued now.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// No event queued now.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// The queue's size.
    pub fn capacity(&self) -> usize {
        self.rx.capacity().unwrap_or(0)
    }

    /// Whether the engine cut this subscriber off because its queue was full
    /// ([`Overflow::Disconnect`]); the events after the last one queued were not delivered.
    pub fn is_cut_off(&self) -> bool {
        self.cut_off.load(Ordering::Acquire)
    }

    /// Whether nothing more will arrive: the queue is empty and the engine stopped sending (it
    /// cut this subscriber off, or it was dropped).
    pub fn is_ended(&self) -> bool {
        self.rx.is_empty()
            && (self.is_cut_off()
                || self
                    .rx
                    .recv_timeout(std::time::Duration::ZERO)
                    .is_err_and(|e| e.is_disconnected()))
    }
}

#[derive(Debug)]
struct Subscriber {
    id: u64,
    tx: Sender<Event>,
    overflow: Overflow,
    cut_off: Arc<AtomicBool>,
    /// The types it receives, as bits (`EventKinds::bits`).
    kinds: u64,
}

thread_local! {
    /// Events for [`Overflow::Block`] subscribers whose queue was full when they were emitted
    /// (under a patient lock, where waiting is forbidden). The emitting operation sends them,
    /// waiting for room, at its end (`EventBus::deliver_waiting`). At most the events of one
    /// operation, so bounded by the operation's own bounds.
    static WAITING: std::cell::RefCell<Vec<(u64, Sender<Event>, Event)>> = const { std::cell::RefCell::new(Vec::new()) };
}

thread_local! {
    /// Set while this thread runs a keyed request (`idempotency.rs`): its events are counted,
    /// and the sink gets each one only when the next arrives — the last is held back until the
    /// request's outcome is known, to be recorded with its stamp ([`EventSink::record_stamped`]).
    static KEYED: std::cell::RefCell<Option<KeyedRun>> = const { std::cell::RefCell::new(None) };
    /// Whether `KEYED` is set: one cheap read on every emission.
    static KEYED_ACTIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct KeyedRun {
    emitted: u32,
    held: Option<(Arc<dyn EventSink>, Event)>,
}

/// A keyed request's hold on its own events (see `KEYED`). Not `Send`: it is the thread's.
/// Dropped without [`KeyedEmission::finish`] (a panic), it records the held event unstamped.
pub(crate) struct KeyedEmission {
    _this_thread: std::marker::PhantomData<*const ()>,
}

impl KeyedEmission {
    pub fn begin() -> KeyedEmission {
        KEYED.with(|k| {
            let mut k = k.borrow_mut();
            assert!(k.is_none(), "keyed requests do not nest");
            *k = Some(KeyedRun { emitted: 0, held: None });
        });
        KEYED_ACTIVE.with(|a| a.set(true));
        KeyedEmission { _this_thread: std::marker::PhantomData }
    }

    /// Events emitted since `begin` (with or without a sink): 0 means the request changed
    /// nothing.
    pub fn emitted(&self) -> u32 {
        KEYED.with(|k| k.borrow().as_ref().map_or(0, |r| r.emitted))
    }

    /// End the hold: the held event goes to the sink, with `stamp` if given. Returns the held
    /// event's time (`None` without a sink: nothing was held).
    pub fn finish(self, stamp: Option<&RequestStamp>) -> Option<Timestamp> {
        let at = Self::release(stamp);
        std::mem::forget(self);
        at
    }

    fn release(stamp: Option<&RequestStamp>) -> Option<Timestamp> {
        KEYED_ACTIVE.with(|a| a.set(false));
        let run = KEYED.with(|k| k.borrow_mut().take());
        let (sink, event) = run.and_then(|r| r.held)?;
        match stamp {
            Some(stamp) => sink.record_stamped(&event, stamp),
            None => sink.record(&event),
        }
        Some(event.at)
    }
}

impl Drop for KeyedEmission {
    fn drop(&mut self) {
        Self::release(None);
    }
}

/// Events parked in any thread's `WAITING`: lets every operation skip the thread-local lookup
/// in the common case of nothing waiting anywhere.
static WAITING_TOTAL: AtomicUsize = AtomicUsize::new(0);

/// The subscribers, shared with their subscriptions (each removes itself when dropped).
#[derive(Debug, Default)]
struct Subscribers {
    list: RwLock<Vec<Subscriber>>,
    /// Read without the lock: with no subscriber, emitting costs one atomic add.
    count: AtomicUsize,
    /// The union of the subscribers' types (bits), read without the lock: an event nobody
    /// asked for is dropped before the list is read. Written under its write lock.
    wanted: AtomicU64,
}

impl Subscribers {
    /// Publish the count and the union of types of `list` (under its write lock). The union
    /// is stored first: an emitter that sees the new count sees the new union too.
    fn changed(&self, list: &[Subscriber]) {
        self.wanted.store(list.iter().fold(0, |m, s| m | s.kinds), Ordering::Release);
        self.count.store(list.len(), Ordering::Release);
    }

    /// Remove the subscribers `ids` (dropping a sender ends its subscription once its queue
    /// is read).
    fn remove(&self, ids: &[u64]) {
        let mut list = self.list.write();
        list.retain(|s| !ids.contains(&s.id));
        self.changed(&list);
    }
}

/// Fan-out of events to subscribers.
#[derive(Default)]
pub(crate) struct EventBus {
    /// On a cache line of its own: every event adds to it, from every thread, and the fields
    /// beside it (and the engine's around the bus) are read by every operation.
    next_seq: CachePadded<AtomicU64>,
    subscribers: Arc<Subscribers>,
    next_subscriber: AtomicU64,
    sink: OnceLock<Arc<dyn EventSink>>,
}

impl EventBus {
    pub fn subscribe(&self, options: SubscribeOptions) -> Result<Subscription> {
        if !(1..=SUBSCRIPTION_CAPACITY_MAX).contains(&options.capacity) {
            return Err(crate::Error::InvalidArgument(format!(
                "subscription capacity {} must be 1 ..= {SUBSCRIPTION_CAPACITY_MAX}",
                options.capacity
            )));
        }
        if options.kinds.is_empty() {
            return Err(crate::Error::invalid(
                "a subscription must receive at least one event type (`kinds` is empty)",
            ));
        }
        let (tx, rx) = crossbeam_channel::bounded(options.capacity);
        let cut_off = Arc::new(AtomicBool::new(false));
        let id = self.next_subscriber.fetch_add(1, Ordering::Relaxed);
        let kinds = options.kinds.bits();
        let mut list = self.subscribers.list.write();
        list.push(Subscriber {
            id,
            tx,
            overflow: options.overflow,
            cut_off: cut_off.clone(),
            kinds,
        });
        self.subscribers.changed(&list);
        let bus = Arc::downgrade(&self.subscribers);
        Ok(Subscription { rx, cut_off, id, bus })
    }

    /// Number and record an event, and queue it for every subscriber. Called under the lock of
    /// what changed, so it never waits: a full queue either cuts its subscriber off or parks the
    /// event for the end of the operation (see [`Overflow`]).
    pub fn emit(&self, at: Timestamp, kind: EventKind) -> u64 {
        self.emit_with(at, || kind)
    }

    /// `emit`, building the event only if someone records or receives it: the sequence number
    /// is taken either way (so numbering, and with it the journal, is the same), but an engine
    /// with no journal and no subscriber does not pay for events nobody reads — the release
    /// lottery's ~100,000 `LotteryLost` reasons, a publication's copy of its specs.
    pub fn emit_with(&self, at: Timestamp, kind: impl FnOnce() -> EventKind) -> u64 {
        let seq = self.next_seq.fetch_add(1, Ordering::AcqRel) + 1;
        self.deliver(seq, at, kind);
        seq
    }

    /// `n` events in a row, as `n` calls of `emit_with` would number them (`kind(i)` builds
    /// the `i`th), with one addition to the sequence when nobody records, receives or counts
    /// events: the release lottery's ~98,000 losers, between two placements.
    pub fn emit_run(&self, at: Timestamp, n: usize, mut kind: impl FnMut(usize) -> EventKind) {
        if n == 0 {
            return;
        }
        let first = self.next_seq.fetch_add(n as u64, Ordering::AcqRel) + 1;
        if !KEYED_ACTIVE.with(|a| a.get())
            && self.sink.get().is_none()
            && self.subscribers.count.load(Ordering::Acquire) == 0
        {
            return;
        }
        for i in 0..n {
            self.deliver(first + i as u64, at, || kind(i));
        }
    }

    /// Count, record and queue the event numbered `seq` (see `emit_with`).
    fn deliver(&self, seq: u64, at: Timestamp, kind: impl FnOnce() -> EventKind) {
        let keyed = KEYED_ACTIVE.with(|a| a.get());
        if keyed {
            KEYED.with(|k| {
                if let Some(run) = k.borrow_mut().as_mut() {
                    run.emitted += 1;
                }
            });
        }
        let sink = self.sink.get();
        if sink.is_none() && self.subscribers.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let event = Event { seq, at, kind: kind() };
        if let Some(sink) = sink {
            if keyed {
                // Hold this one back; the one held before is not the request's last.
                let before = KEYED.with(|k| {
                    k.borrow_mut()
                        .as_mut()
                        .and_then(|run| run.held.replace((sink.clone(), event.clone())))
                });
                if let Some((sink, event)) = before {
                    sink.record(&event);
                }
            } else {
                sink.record(&event);
            }
        }
        if self.subscribers.count.load(Ordering::Acquire) == 0 {
            return;
        }
        // Nobody asked for this type: the list is not read (a simulator that reads six types
        // of thirty-six, `SubscribeOptions::kinds`). A subscriber that joins meanwhile missed
        // nothing it could have had: it subscribed after the event was numbered.
        let mask = event.kind.type_bits();
        if self.subscribers.wanted.load(Ordering::Acquire) & mask == 0 {
            return;
        }
        let mut gone: Vec<u64> = Vec::new();
        {
            let subs = self.subscribers.list.read();
            // Built once: the last subscriber that wants it gets the event itself, the others
            // copies (a release's `LotteryDrawn` holds every ticket of the draw).
            let last = subs.iter().rposition(|s| s.kinds & mask != 0);
            let mut event = Some(event);
            for (k, sub) in subs.iter().enumerate() {
                if sub.kinds & mask == 0 {
                    continue;
                }
                let Some(ev) = (if Some(k) == last { event.take() } else { event.clone() }) else {
                    break;
                };
                // A blocking subscriber with an event already parked by this thread gets the
                // later ones parked too, so that this thread's events reach it in order.
                let parked_before = sub.overflow == Overflow::Block
                    && WAITING_TOTAL.load(Ordering::Acquire) > 0
                    && WAITING.with(|w| w.borrow().iter().any(|(id, _, _)| *id == sub.id));
                let result =
                    if parked_before { Err(TrySendError::Full(ev)) } else { sub.tx.try_send(ev) };
                match result {
                    Ok(()) => {}
                    Err(TrySendError::Full(ev)) => match sub.overflow {
                        Overflow::Disconnect => {
                            sub.cut_off.store(true, Ordering::Release);
                            gone.push(sub.id);
                        }
                        Overflow::Block => {
                            WAITING.with(|w| w.borrow_mut().push((sub.id, sub.tx.clone(), ev)));
                            WAITING_TOTAL.fetch_add(1, Ordering::AcqRel);
                        }
                    },
                    Err(TrySendError::Disconnected(_)) => gone.push(sub.id),
                }
            }
        }
        if !gone.is_empty() {
            self.subscribers.remove(&gone);
        }
    }

    /// Send the events this thread parked for full [`Overflow::Block`] queues, waiting for
    /// room. Called at the end of every operation, outside every lock.
    #[inline]
    pub fn deliver_waiting() {
        if WAITING_TOTAL.load(Ordering::Acquire) != 0 {
            Self::deliver_parked();
        }
    }

    /// `deliver_waiting` when something is parked somewhere (kept out of line: every
    /// operation inlines the check above, one load, instead of calling).
    #[cold]
    #[inline(never)]
    fn deliver_parked() {
        let waiting = WAITING.with(|w| std::mem::take(&mut *w.borrow_mut()));
        WAITING_TOTAL.fetch_sub(waiting.len(), Ordering::AcqRel);
        for (_, tx, event) in waiting {
            // Fails only when the subscription was dropped meanwhile: nothing to deliver to.
            let _ = tx.send(event);
        }
    }

    /// Attach the durable sink; only one, once.
    pub fn set_sink(&self, sink: Arc<dyn EventSink>) -> bool {
        self.sink.set(sink).is_ok()
    }

    /// Block until everything emitted so far is durable (no-op without a sink), after handing
    /// this thread's parked events to their blocking subscribers.
    pub fn wait_durable(&self) -> Result<()> {
        Self::deliver_waiting();
        match self.sink.get() {
            Some(sink) => sink.wait_durable(self.last_seq()),
            None => Ok(()),
        }
    }

    /// Block until every event up to `seq` is durable (no-op without a sink).
    ///
    /// On stable storage in every mode: in `Buffered` mode an operation's own acknowledgement
    /// waits only until it is within the mode's bound of the durable point
    /// (`EventSink::wait_durable`), but a ticket's wait means what it says, so it waits for the
    /// fsync that covers `seq` (through `on_durable`: at the latest the mode's interval).
    pub fn wait_durable_seq(&self, seq: u64) -> Result<()> {
        let Some(sink) = self.sink.get() else { return Ok(()) };
        if sink.durable_seq() >= seq {
            return Ok(());
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        sink.on_durable(
            seq,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        // The sink calls back exactly once; a sink dropped without calling is a failure too.
        rx.recv().unwrap_or_else(|_| {
            Err(crate::Error::Durability(
                "the journal stopped before the ticket was durable".into(),
            ))
        })
    }

    /// The last sequence number known durable; without a sink every event is "durable" as
    /// soon as it is emitted (there is nothing more to wait for).
    pub fn durable_seq(&self) -> u64 {
        match self.sink.get() {
            Some(sink) => sink.durable_seq(),
            None => self.last_seq(),
        }
    }

    /// `done` once `seq` is durable (at once without a sink or when it already is).
    pub fn on_durable(&self, seq: u64, done: DurableCallback) {
        match self.sink.get() {
            Some(sink) if sink.durable_seq() < seq => sink.on_durable(seq, done),
            _ => done(Ok(())),
        }
    }

    /// The journal's metrics, if a sink is attached and keeps them.
    pub fn journal_metrics(&self) -> Option<crate::metrics::JournalMetrics> {
        self.sink.get().and_then(|s| s.metrics())
    }

    /// Each subscription's queue, by subscription order.
    pub fn subscriber_metrics(&self) -> Vec<crate::metrics::SubscriberMetrics> {
        self.subscribers
            .list
            .read()
            .iter()
            .map(|s| crate::metrics::SubscriberMetrics {
                id: s.id,
                queue_depth: s.tx.len(),
                queue_capacity: s.tx.capacity().unwrap_or(0),
                overflow: match s.overflow {
                    Overflow::Disconnect => "disconnect".into(),
                    Overflow::Block => "block".into(),
                },
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PatientId;

    fn registered(i: usize) -> EventKind {
        EventKind::PatientRegistered { patient: PatientId(i as u32) }
    }

    #[test]
    fn a_run_is_numbered_and_delivered_as_one_by_one() {
        // Nobody reading: the run only advances the sequence.
        let quiet = EventBus::default();
        quiet.emit(Timestamp(1), registered(0));
        quiet.emit_run(Timestamp(1), 0, |_| unreachable!("an empty run builds nothing"));
        quiet.emit_run(Timestamp(1), 5, |_| unreachable!("nobody reads these"));
        quiet.emit(Timestamp(1), registered(6));
        assert_eq!(quiet.last_seq(), 7);
        // A subscriber receives every event of the run, in order, numbered as one by one.
        let bus = EventBus::default();
        let sub = bus.subscribe(SubscribeOptions::default()).unwrap();
        bus.emit(Timestamp(1), registered(0));
        bus.emit_run(Timestamp(2), 5, |i| registered(i + 1));
        bus.emit(Timestamp(3), registered(6));
        let got: Vec<(u64, EventKind)> = sub.try_iter().map(|e| (e.seq, e.kind)).collect();
        let want: Vec<(u64, EventKind)> = (0..7).map(|i| (i as u64 + 1, registered(i))).collect();
        assert_eq!(got, want);
    }
}
