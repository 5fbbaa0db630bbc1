//! Pipelined acknowledgements and bulk calls: many operations, one wait for durability.
//!
//! A durable engine acknowledges an operation only once its events are on stable storage
//! (`Durability::Sync`). Waiting inside every call limits a thread to one operation per fsync:
//! group commit can only gather as many operations as there are waiting threads. Here a caller
//! separates the two halves instead:
//!
//! - [`Engine::pipelined`] runs an operation and returns its **in-memory outcome at once**, with
//!   a [`DurableTicket`]; [`Engine::wait_durable`] blocks until the ticket is durable,
//!   [`Engine::on_durable`] calls back when it is (from the journal's thread). One thread keeps
//!   thousands of operations in flight, and the journal writes all of them with one fsync.
//! - The bulk calls ([`Engine::book_many`], [`Engine::hold_many`], [`Engine::lifecycle_many`])
//!   run their rows pipelined and wait once, at the end, for all of them: one batch for the
//!   journal, each row succeeding or failing on its own.
//!
//! **The rule for hosts**: an outcome from `pipelined` is not yet an acknowledgement. Tell the
//! patient "booked" (send the HTTP response, commit the message offset) only after
//! `wait_durable(ticket)` returned `Ok` (or the `on_durable` callback got `Ok`): a crash before
//! that may lose the booking, and the patient would hold a confirmation the engine has
//! forgotten. Outcomes that are errors need no wait (they changed nothing).
//!
//! In `Buffered` mode a plain call is acknowledged once it is within the mode's bound of the
//! durable point; a ticket's wait and the bulk calls wait for the fsync that covers them (at the
//! latest the mode's interval): "durable" means on stable storage in every mode.
//!
//! How it works: a thread-local depth marks the calling thread as pipelining, and
//! `Engine::durable` (the last step of every mutating call) then returns without waiting. The
//! ticket is the engine's last event sequence number when the operation returned: at least the
//! operation's own last event, so waiting for it covers the operation (and perhaps other
//! threads' events too — a few microseconds more, never less).

use crate::ack::PipelineScope;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::DurableCallback;
use crate::ids::BookingId;
use crate::model::{Booking, Request};
use serde::{Deserialize, Serialize};

/// What an operation's durability is waited on with: the engine's event sequence number when
/// the operation returned. Tickets are ordered: a later ticket covers every earlier one.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct DurableTicket(pub u64);

/// An operation's in-memory outcome and the ticket to wait on before acknowledging it.
#[derive(Debug)]
#[must_use = "an outcome is not acknowledged until its ticket is durable"]
pub struct Pipelined<T> {
    /// What the operation did in memory. An `Ok` may be lost by a crash until `ticket` is
    /// durable; an `Err` changed nothing and needs no wait.
    pub outcome: Result<T>,
    /// Wait on this ([`Engine::wait_durable`], [`Engine::on_durable`]) before telling anyone
    /// about an `Ok` outcome.
    pub ticket: DurableTicket,
}

/// The lifecycle steps the bulk call [`Engine::lifecycle_many`] applies to each booking.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    /// `held → booked`: [`Engine::confirm`] (the patient confirmed or paid in time).
    Confirm,
    /// `held | booked → cancelled` by the patient: [`Engine::cancel`] (a late cancel counts
    /// as part of a no-show).
    Cancel,
    /// `booked → checked_in`: [`Engine::check_in`] (the patient arrived).
    CheckIn,
    /// `checked_in → fulfilled`: [`Engine::fulfil`] (the visit took place).
    Fulfil,
    /// `booked → no_show`: [`Engine::mark_no_show`], once the segment has started; may start a
    /// suspension.
    MarkNoShow,
}

impl LifecycleAction {
    /// Every action, in lifecycle order (the order of the C `HY_LIFECYCLE_*` numbers, 0 ..= 4).
    pub const ALL: [LifecycleAction; 5] = [
        LifecycleAction::Confirm,
        LifecycleAction::Cancel,
        LifecycleAction::CheckIn,
        LifecycleAction::Fulfil,
        LifecycleAction::MarkNoShow,
    ];

    /// The name used by every face (`"confirm"`, `"cancel"`, `"check_in"`, `"fulfil"`,
    /// `"mark_no_show"`).
    pub fn name(self) -> &'static str {
        match self {
            LifecycleAction::Confirm => "confirm",
            LifecycleAction::Cancel => "cancel",
            LifecycleAction::CheckIn => "check_in",
            LifecycleAction::Fulfil => "fulfil",
            LifecycleAction::MarkNoShow => "mark_no_show",
        }
    }

    /// The action of a name, or `InvalidArgument` listing the names.
    pub fn from_name(name: &str) -> Result<LifecycleAction> {
        LifecycleAction::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| {
            Error::invalid(format!(
                "unknown lifecycle action {name:?}; expected confirm, cancel, check_in, fulfil or mark_no_show"
            ))
        })
    }
}

/// Most rows one bulk call takes: a bound on one call's memory (its outcomes) and on how long
/// other threads' acknowledgements may share its fsync. Python's NumPy bulk calls allow more
/// rows; they go through [`Engine::pipelined`] in chunks.
pub const BULK_ROWS_MAX: usize = 1_000_000;

impl Engine {
    /// Run `op` on this engine and return its in-memory outcome at once, with the ticket to
    /// wait on before acknowledging it (see the module's rule for hosts). On an in-memory
    /// engine the ticket is durable at once.
    ///
    /// ```
    /// use haoyuan::*;
    /// let engine = Engine::new(EngineConfig::default()).unwrap();
    /// let p = engine.pipelined(|e| e.register_patient());
    /// let patient = p.outcome.unwrap();
    /// engine.wait_durable(p.ticket).unwrap(); // now tell the caller about `patient`
    /// # let _ = patient;
    /// ```
    pub fn pipelined<T>(&self, op: impl FnOnce(&Engine) -> Result<T>) -> Pipelined<T> {
        let outcome = {
            let _scope = PipelineScope::enter();
            op(self)
        };
        Pipelined { outcome, ticket: self.ticket() }
    }

    /// Pipeline this thread's operations until the scope is dropped (see [`PipelineScope`]).
    pub fn pipeline_scope(&self) -> PipelineScope {
        PipelineScope::enter()
    }

    /// A ticket covering every operation that has returned so far, on any thread: wait on it to
    /// acknowledge what a [`PipelineScope`] did.
    pub fn ticket(&self) -> DurableTicket {
        DurableTicket(self.last_event_seq())
    }

    /// Block until everything up to `ticket` is on stable storage (at once without a journal).
    /// An error means the journal failed: nothing after its last durable point may be
    /// acknowledged, by this engine or any other caller.
    pub fn wait_durable(&self, ticket: DurableTicket) -> Result<()> {
        self.events.wait_durable_seq(ticket.0)
    }

    /// Whether `ticket` is already durable (never blocks).
    pub fn is_durable(&self, ticket: DurableTicket) -> bool {
        self.events.durable_seq() >= ticket.0
    }

    /// Call `done` once `ticket` is durable (or the journal failed): at once on this thread if
    /// it already is, else later on the journal's writer thread. `done` must be quick and must
    /// not call the engine's mutating operations (it would delay every fsync after it).
    pub fn on_durable(&self, ticket: DurableTicket, done: DurableCallback) {
        self.events.on_durable(ticket.0, done)
    }

    /// Book each request in order, each on its own (one failing does not stop the others), and
    /// wait once for all of them to be durable: `Ok(outcomes)` in request order, each outcome
    /// acknowledged. `Err` only for more than [`BULK_ROWS_MAX`] rows (before anything changes)
    /// or a journal failure (then no outcome is acknowledged: see [`Engine::wait_durable`]).
    pub fn book_many(&self, requests: &[Request]) -> Result<Vec<Result<Booking>>> {
        self.many(requests, |e, r| e.book(r))
    }

    /// Hold each request in order; as [`Engine::book_many`].
    pub fn hold_many(&self, requests: &[Request]) -> Result<Vec<Result<Booking>>> {
        self.many(requests, |e, r| e.hold(r))
    }

    /// Apply one lifecycle step to each booking in order; as [`Engine::book_many`].
    pub fn lifecycle_many(
        &self,
        action: LifecycleAction,
        bookings: &[BookingId],
    ) -> Result<Vec<Result<Booking>>> {
        self.many(bookings, |e, &id| e.lifecycle(action, id))
    }

    /// One lifecycle step by its [`LifecycleAction`].
    pub fn lifecycle(&self, action: LifecycleAction, id: BookingId) -> Result<Booking> {
        match action {
            LifecycleAction::Confirm => self.confirm(id),
            LifecycleAction::Cancel => self.cancel(id),
            LifecycleAction::CheckIn => self.check_in(id),
            LifecycleAction::Fulfil => self.fulfil(id),
            LifecycleAction::MarkNoShow => self.mark_no_show(id),
        }
    }

    fn many<T, R>(
        &self,
        rows: &[T],
        op: impl Fn(&Engine, &T) -> Result<R>,
    ) -> Result<Vec<Result<R>>> {
        if rows.len() > BULK_ROWS_MAX {
            return Err(Error::invalid(format!(
                "{} rows in one bulk call; at most {BULK_ROWS_MAX}",
                rows.len()
            )));
        }
        let p = self.pipelined(|e| Ok(rows.iter().map(|row| op(e, row)).collect::<Vec<_>>()));
        self.wait_durable(p.ticket)?;
        p.outcome
    }
}
