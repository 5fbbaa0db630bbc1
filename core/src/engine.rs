//! The engine: one region-wide pool of slots, shared by every channel, used through `&self` from
//! any number of threads. This file holds the state and everything that is not the booking path
//! (which is in `booking.rs`): construction, the clock, the registry and patient index,
//! publishing and suspending slots, and reading records back.
//!
//! See `docs/concurrency.md` for which lock or atomic guards what.

use crate::calendar::check_utc_offset;
use crate::cards::{CardDigest, CardKey};
use crate::error::{Error, Result};
use crate::events::{EventBus, EventKind, EventSink, SubscribeOptions, Subscription};
use crate::ids::*;
use crate::lotteries::Lotteries;
use crate::model::{
    Booking, BookingState, Channel, Department, EngineStats, Institution, PatientRecord,
    PoolCounts, ResourceKind, ResourceStats, Roster, SlotInfo, SlotRange, SlotSpec,
    SuspensionReport, Tier,
};
use crate::patients::{LinkedCard, Patients, PATIENTS_MAX};
use crate::policy::Policy;
use crate::registry::{Registry, Resource};
use crate::roster::Rosters;
use crate::slot::{
    overbooking_allowances, pool_sizes, share_ppm, Dealt, Slot, DAY_PLACES_MAX, PLACES_MAX,
};
use crate::store::{SlotRef, SlotStore, SLOTS_MAX};
use crate::time::{Clock, Date, ManualClock, SystemClock, TimeOfDay, Timestamp, DAY_S};
use crate::timers::Timers;
use crate::waitlists::Waitlists;
use parking_lot::Mutex;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::atomic::{AtomicPtr, AtomicU64};
use std::sync::Arc;

/// The next engine's number (`Engine::uid`).
static NEXT_ENGINE_UID: AtomicU64 = AtomicU64::new(0);

/// Most slots one bulk publish call accepts (a bound on one call's memory).
pub const PUBLISH_BATCH_MAX: usize = 5_000_000;
/// Most patients one `register_patients*` call registers (a province registers its residents
/// a batch at a time).
pub const REGISTER_BATCH_MAX: usize = 1_000_000;
/// Most slots one `bookings_on` call accepts.
pub const SLOTS_PER_QUERY_MAX: usize = 1_000_000;
/// How far ahead of today `publish_rosters_until` may publish, in days.
pub const ROSTER_HORIZON_DAYS_MAX: i32 = 366;

/// How an engine is set up.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// The allocation policy (limits, windows, pools, lottery, no-shows …); checked by `Engine::new`.
    pub policy: Policy,
    /// The region's offset from UTC in seconds (China: +8 h). Dates and minutes of day in slots
    /// and policy are local to the region.
    pub utc_offset_s: i32,
    /// The deployment's secret under which card numbers are hashed (see [`CardKey`]). `None`:
    /// the environment's (`HAOYUAN_CARD_KEY` / `HAOYUAN_CARD_KEY_FILE`), else, for an in-memory
    /// engine only, a random one that lives and dies with the engine. Never serialised (a
    /// durable directory's `config.json` does not hold it) and ignored by `==`.
    #[serde(skip)]
    pub card_key: Option<CardKey>,
}

/// Equal policies and offsets; the card key is not part of a configuration's identity (a
/// stored configuration never holds it; the directory checks the key on its own).
impl PartialEq for EngineConfig {
    fn eq(&self, other: &EngineConfig) -> bool {
        let EngineConfig { policy, utc_offset_s, card_key: _ } = self;
        *policy == other.policy && *utc_offset_s == other.utc_offset_s
    }
}

impl EngineConfig {
    /// Check the policy and the UTC offset (±14 h). Every constructor and
    /// `DurableEngine::open` call it before anything else happens.
    pub fn validate(&self) -> Result<()> {
        self.policy.validate()?;
        check_utc_offset(self.utc_offset_s)
    }

    /// This configuration with a card key.
    pub fn with_card_key(mut self, key: CardKey) -> EngineConfig {
        self.card_key = Some(key);
        self
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { policy: Policy::default(), utc_offset_s: 8 * 3600, card_key: None }
    }
}

/// Most policy changes in an engine's life ([`Engine::set_policy`]): every version is kept
/// (a reader holds it without a lock), ~1 KB each, so this bounds that memory to ~10 MB. A
/// change a day for 27 years; a simulation changing its policy daily over a year uses 365.
pub const POLICY_CHANGES_MAX: usize = 10_000;

/// The engine. `Send + Sync`; every method takes `&self`.
///
/// ```
/// use haoyuan::*;
/// let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(Date::from_ymd(2026, 11, 23).unwrap(), 16 * 60, 8 * 3600)).unwrap();
/// let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng").unwrap();
/// let cardiology = engine.add_department(hospital, "cardiology", "Cardiology").unwrap();
/// let dr_li = engine.add_resource(cardiology, ResourceKind::Doctor, "Dr Li", false).unwrap();
/// let tomorrow = Date::from_ymd(2026, 11, 24).unwrap();
/// let slots = engine.publish_slots(&[SlotSpec { resource: dr_li, date: tomorrow, start_min: 8 * 60, end_min: 8 * 60 + 15, capacity: 10 }]).unwrap();
/// let patient = engine.register_patient().unwrap();
/// let app = engine.channel_id("app").unwrap();
/// let booking = engine.book(&Request::new(patient, slots.start, app)).unwrap();
/// assert_eq!(engine.booking(booking.id).unwrap().state, BookingState::Booked);
/// ```
pub struct Engine {
    /// Every policy the engine has run, boxed (a box's contents never move) and never dropped
    /// while the engine lives: so a reader holds a plain `&Policy` without a lock or a
    /// reference count ([`Engine::pol`] is one atomic load on the booking path, where
    /// `arc-swap` cost ~300 instructions per book + cancel pair and an index into an
    /// append-only vector ~270, ci/instructions.sh). The price is memory: an old version is
    /// never freed, hence the bound [`POLICY_CHANGES_MAX`].
    #[allow(clippy::vec_box)] // the boxes are the point: their contents never move
    policies: Mutex<Vec<Box<Policy>>>,
    /// The running policy, a box of `policies`; replaced only by [`Engine::set_policy`] (and
    /// its replay), under `policy_gate`.
    policy_now: AtomicPtr<Policy>,
    /// Orders policy changes against the operations whose *replay* derives something from the
    /// policy: publication (pool sizes, overbooking allowances), late cancellation and no-show
    /// marking (weights, the counting window, suspensions), lottery entry (its bound). Such an
    /// operation holds it shared from reading the policy until its events are numbered, and
    /// `set_policy` holds it exclusively while it swaps the policy and numbers `PolicyChanged`:
    /// so every event numbered before `PolicyChanged` was decided under the old policy and
    /// every one after under the new, which is the order replay applies them in. Bookings read
    /// the policy too (limits, windows, pools) but their events record what was decided, so
    /// they never take it: a booking racing a change is decided by one policy or the other,
    /// though one operation may read it at several steps.
    policy_gate: crate::gate::ShardedGate,
    pub(crate) utc_offset_s: i32,
    clock: Arc<dyn Clock>,
    manual_clock: Option<Arc<ManualClock>>,
    pub(crate) registry: Registry,
    pub(crate) patients: Patients,
    pub(crate) store: SlotStore,
    pub(crate) events: EventBus,
    pub(crate) timers: Timers,
    pub(crate) waitlists: Waitlists,
    pub(crate) lotteries: Lotteries,
    pub(crate) rosters: Rosters,
    /// The live load board's queues and paces (board.rs).
    pub(crate) board: crate::load::Board,
    /// Request keys of completed requests (request_keys.rs; run by idempotency.rs).
    pub(crate) request_keys: crate::request_keys::RequestKeys,
    /// Quota group of each channel (by channel id), fixed when the channel is added.
    pub(crate) channel_groups: boxcar::Vec<Option<u8>>,
    /// This engine's number, unique in the process (never reused, unlike its address): what
    /// the per-thread caches that outlive a query key their entries by (`pools_cache`).
    pub(crate) uid: u64,
    /// Serialises publishers only (never bookings), so that one batch gets contiguous slot ids.
    publish_lock: Mutex<()>,
    /// Held while a dense id (registry items, channels, patients, rosters) is taken *and* its
    /// event numbered, so that the journal lists such additions in id order: replay then never
    /// meets an event about an id whose addition comes later, whatever the interleaving of the
    /// threads and wherever a crash cuts the journal (hardening issue, item B). Additions are
    /// rare and short; bookings never take it.
    alloc_lock: crate::sync::Mutex<()>,
    /// Card links take it shared, a batch registration (`register_patients_with_cards`)
    /// exclusively: between the batch's check that none of its cards is linked yet and its own
    /// links, no other link can take one of them, so the batch is all or nothing.
    cards_lock: parking_lot::RwLock<()>,
    /// Serialises roster publications (see `publish_rosters_until`).
    roster_lock: Mutex<()>,
    /// Serialises `tick` so expiry and draws happen once, in order.
    tick_lock: Mutex<()>,
    /// Serialises manual-clock moves, so their `ClockSet` events reach the journal in order.
    clock_lock: Mutex<()>,
    /// Serialises patient merges (see `merge_patients`).
    merge_lock: Mutex<()>,
    pub(crate) next_referral: AtomicU64,
    /// The host's complaint table for `recommend` (configuration, not state: never journaled).
    pub(crate) complaints: parking_lot::RwLock<Arc<crate::complaints::ComplaintTable>>,
    /// Card numbers are hashed under it (never printed: see `CardKey`'s `Debug`).
    card_key: CardKey,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("stats", &self.stats()).finish()
    }
}

impl Engine {
    /// An engine on the system clock.
    pub fn new(config: EngineConfig) -> Result<Engine> {
        Engine::build(config, Arc::new(SystemClock), None)
    }

    /// An engine on a manual clock starting at `start`; time moves only through
    /// [`Engine::advance_clock`] / [`Engine::advance_to`] (simulations, tests, replays).
    pub fn with_manual_clock(config: EngineConfig, start: Timestamp) -> Result<Engine> {
        let manual = Arc::new(ManualClock::new(start));
        Engine::build(config, manual.clone(), Some(manual))
    }

    /// An engine on any clock.
    pub fn with_clock(config: EngineConfig, clock: Arc<dyn Clock>) -> Result<Engine> {
        Engine::build(config, clock, None)
    }

    fn build(
        config: EngineConfig,
        clock: Arc<dyn Clock>,
        manual_clock: Option<Arc<ManualClock>>,
    ) -> Result<Engine> {
        config.validate()?;
        let card_key = match config.card_key {
            Some(key) => key,
            None => match CardKey::from_env()? {
                Some(key) => key,
                None => CardKey::generate()?,
            },
        };
        let engine = Engine {
            policy_now: AtomicPtr::new(std::ptr::null_mut()),
            policies: Mutex::new(Vec::new()),
            policy_gate: crate::gate::ShardedGate::default(),
            utc_offset_s: config.utc_offset_s,
            clock,
            manual_clock,
            registry: Registry::new(),
            patients: Patients::default(),
            store: SlotStore::default(),
            events: EventBus::default(),
            timers: Timers::default(),
            waitlists: Waitlists::default(),
            lotteries: Lotteries::default(),
            rosters: Rosters::default(),
            board: crate::load::Board::default(),
            request_keys: Default::default(),
            channel_groups: boxcar::Vec::new(),
            uid: NEXT_ENGINE_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            publish_lock: Mutex::new(()),
            alloc_lock: crate::sync::Mutex::new(()),
            cards_lock: parking_lot::RwLock::new(()),
            roster_lock: Mutex::new(()),
            tick_lock: Mutex::new(()),
            clock_lock: Mutex::new(()),
            merge_lock: Mutex::new(()),
            next_referral: AtomicU64::new(1),
            complaints: parking_lot::RwLock::new(Arc::new(
                crate::complaints::ComplaintTable::bundled(),
            )),
            card_key,
        };
        // The first policy, before anyone can read it (`pol` needs one).
        engine.replace_policy(config.policy);
        // The registry starts with the standard channels; give each its quota group.
        for (_, channel) in engine.registry.channels.iter() {
            engine.channel_groups.push(engine.quota_group_of(&channel.name));
        }
        Ok(engine)
    }

    /// Recovery only (durability): the manual clock, to restore its time without a tick.
    pub(crate) fn manual_clock(&self) -> Option<&ManualClock> {
        self.manual_clock.as_deref()
    }

    /// The policy the engine runs now. A later [`Engine::set_policy`] does not change what this
    /// returned (the engine keeps every version it ran).
    pub fn policy(&self) -> &Policy {
        self.pol()
    }

    /// The running policy, for the engine's own reads: one atomic load and an index.
    #[inline]
    /// What the per-thread caches scope their entries by: this engine and the policy version
    /// it runs (`pools_cache`).
    pub(crate) fn pools_scope(&self) -> crate::pools_cache::Scope {
        crate::pools_cache::Scope { engine: self.uid, policy: self.pol() as *const Policy as usize }
    }

    pub(crate) fn pol(&self) -> &Policy {
        let now = self.policy_now.load(std::sync::atomic::Ordering::Acquire);
        // SAFETY: `now` points into a box of `self.policies` (set by `replace_policy`, also in
        // `build` before the engine is shared, so never null here), stored with Release after
        // the box was filled and pushed; the box is neither dropped nor changed while `self`
        // lives, so the reference is valid for `&self`'s lifetime.
        unsafe { &*now }
    }

    /// Shared hold on the policy gate (see the field): taken before the patient or slot locks
    /// by the operations whose replay derives from the policy. Recursive, because such an
    /// operation may publish or enter a draw from inside another (a writer waiting must not
    /// block the second read).
    pub(crate) fn policy_gate(&self) -> parking_lot::RwLockReadGuard<'_, ()> {
        self.policy_gate.read()
    }

    /// Replace the running policy from now on, journaled as [`EventKind::PolicyChanged`] and
    /// replayed at the same point of the journal. Pass a whole policy; to change a part, start
    /// from [`Engine::policy`]:
    ///
    /// ```
    /// # use haoyuan::*;
    /// let engine = Engine::new(EngineConfig::default())?;
    /// let mut policy = (*engine.policy()).clone();
    /// policy.limits.per_visit_date = 1;
    /// engine.set_policy(policy)?;
    /// assert_eq!(engine.policy().limits.per_visit_date, 1);
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    ///
    /// **Never retroactive.** What was decided under the old policy stays decided:
    /// - pools and overbooking allowances of published slots keep their sizes (a new referral
    ///   share, quota share or overbooking ratio applies to slots published from now on);
    /// - holds keep their expiry, suspensions their end, lottery entries their weight and draw
    ///   time, no-shows and late cancellations the weight they were counted with;
    /// - rules read at decision time apply to every decision from now on: limits, booking and
    ///   cancellation windows, the no-show counting window and threshold (over the no-shows
    ///   already recorded too: the window is how they are counted), hold and offer times,
    ///   lottery and waitlist bounds, board thresholds.
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] (and nothing changes) if the policy fails [`Policy::validate`],
    /// or if it regroups the channel quotas: published slots hold a pool per quota group, by
    /// position, so the groups' number and channels are fixed for an engine's life (their
    /// shares and cut-off hours may change). The journal's error if the
    /// change cannot be made durable (it is then in memory, as for every operation).
    pub fn set_policy(&self, policy: Policy) -> Result<()> {
        self.change_policy(|_| Ok(Some(policy))).map(|_| ())
    }

    /// Replace the running policy by what `change` makes of it (`None`: leave it), with no
    /// other change in between (under the policy gate). Returns whether it changed.
    pub(crate) fn change_policy(
        &self,
        change: impl FnOnce(&Policy) -> Result<Option<Policy>>,
    ) -> Result<bool> {
        // The tick lock first (a tick takes the gate inside it): no retirement runs until the
        // no-show marks' queue follows the change (`retention_switched`).
        let _no_tick = self.tick_lock.lock();
        let _gate = self.policy_gate.write();
        let Some(policy) = change(self.pol())? else { return Ok(false) };
        policy.validate()?;
        self.check_policy_change(self.pol(), &policy)?;
        if self.policies.lock().len() > POLICY_CHANGES_MAX {
            return Err(Error::CapacityExceeded(format!(
                "at most {POLICY_CHANGES_MAX} policy changes in an engine's life (each version is kept)"
            )));
        }
        let retention_was_on = self.pol().retention.is_on();
        self.emit(EventKind::PolicyChanged { policy: Box::new(policy.clone()) });
        self.replace_policy(policy);
        drop(_gate);
        self.retention_switched(retention_was_on);
        drop(_no_tick);
        self.durable(true)
    }

    /// What [`Engine::set_policy`] refuses beyond validation.
    pub(crate) fn check_policy_change(&self, old: &Policy, new: &Policy) -> Result<()> {
        let groups = |p: &Policy| -> Vec<Vec<String>> {
            p.channel_quotas.iter().map(|q| q.channels.clone()).collect()
        };
        if groups(old) != groups(new) {
            return Err(Error::InvalidPolicy(
                "a policy change cannot regroup the channel quotas (published slots keep a pool per group): change their shares or cut-off hours only".into(),
            ));
        }
        Ok(())
    }

    /// Replay of [`EventKind::PolicyChanged`]: the journal holds only changes that passed
    /// `set_policy`'s checks.
    pub(crate) fn replace_policy(&self, policy: Policy) {
        let boxed = Box::new(policy);
        let now: *const Policy = &*boxed;
        self.policies.lock().push(boxed);
        self.policy_now.store(now.cast_mut(), std::sync::atomic::Ordering::Release);
    }

    /// After a policy change (live or replayed) that may have turned retention on or off
    /// (`was_on`: before it): the no-show marks' queue is kept while retention is on only
    /// (`MarkQueue`), filled from every record when it is turned on, emptied when it is turned
    /// off. Live, the caller holds the tick lock (no retirement reads the queue meanwhile) but
    /// no longer the policy gate: filling takes every patient's lock, and a late cancellation
    /// asks for the gate while it holds its patient's. A mark made after the change is queued
    /// by its maker and may be queued again here, which is harmless (`MarkQueue`); none made
    /// before it is missed, since its maker held the gate. Replay fills at the same point of
    /// the journal, before the same retirements.
    pub(crate) fn retention_switched(&self, was_on: bool) {
        match (was_on, self.pol().retention.is_on()) {
            (false, true) => self.patients.marks.fill_from(&self.patients),
            (true, false) => self.patients.marks.clear(),
            _ => {}
        }
    }

    /// The region's offset from UTC, seconds.
    pub fn utc_offset_s(&self) -> i32 {
        self.utc_offset_s
    }

    /// The key card numbers are hashed under (durability: the snapshot's rebuild engine).
    pub(crate) fn card_key(&self) -> &CardKey {
        &self.card_key
    }

    // ---------------------------------------------------------------- clock

    /// The engine's clock now (wall clock, or the manual clock's time).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Move the manual clock forward by `seconds` (0 ..= 366 days) and process what fell due.
    pub fn advance_clock(&self, seconds: i64) -> Result<()> {
        if !(0..=366 * DAY_S).contains(&seconds) {
            return Err(Error::invalid(format!("advance of {seconds} s must be 0 ..= 366 days")));
        }
        let clock = self.manual_clock.as_ref().ok_or(Error::NotManualClock)?;
        self.move_clock(clock, |now| now.plus_s(seconds))
    }

    /// Move the manual clock to `t` and process what fell due. `t` may equal the clock's time
    /// (nothing moves) but never lie before it: a manual clock never goes back, here as in
    /// [`Engine::advance_clock`].
    pub fn advance_to(&self, t: Timestamp) -> Result<()> {
        let clock = self.manual_clock.as_ref().ok_or(Error::NotManualClock)?;
        let now = clock.now();
        let off = self.utc_offset_s;
        if t < now {
            return Err(Error::invalid(format!(
                "advance_to {} is before the clock's time {}; a manual clock never goes back",
                t.local(off),
                now.local(off)
            )));
        }
        self.move_clock(clock, |_| t)
    }

    /// Move the manual clock, journal where it stands (`ClockSet`, so a durable engine reopens
    /// there) and process what fell due. One move at a time: two racing advances must not
    /// journal their positions out of order.
    fn move_clock(&self, clock: &ManualClock, to: impl Fn(Timestamp) -> Timestamp) -> Result<()> {
        {
            let _one_at_a_time = self.clock_lock.lock();
            let before = clock.now();
            let after = to(before);
            if after > before {
                clock.set(after);
                self.emit(EventKind::ClockSet { to: after });
            }
        }
        self.tick();
        self.durable(())
    }

    /// Process everything due at the current time: expire holds (releasing their places and
    /// passing them to waitlists) and draw release lotteries whose window closed. Call it about
    /// once a second on the system clock; the manual clock calls it on every advance.
    /// Returns how many holds expired.
    pub fn tick(&self) -> usize {
        let _one_at_a_time = self.tick_lock.lock();
        let now = self.now();
        let mut expired = 0;
        for (_, booking) in self.timers.take_due(now) {
            if self.expire_if_due(booking, now) {
                expired += 1;
            }
        }
        self.draw_due_lotteries(now);
        self.retire_due(now);
        drop(_one_at_a_time);
        EventBus::deliver_waiting();
        expired
    }

    /// Retention (`Policy::retention`): retire the days the policy no longer keeps at `now`,
    /// journaled first (`Retired`) so that a replay retires the same. Under the tick lock.
    fn retire_due(&self, now: Timestamp) {
        let today = now.to_local(self.utc_offset_s).0;
        let Some(before) = self.pol().retention.keeps_from(today) else { return };
        if before <= self.store.retired_before() {
            return;
        }
        // The record comes *after* the retirement, so that no event about a retired slot or
        // booking can follow it in the journal (replay would no longer find what it names):
        // an operation on a booking checks the days being retired under its patient's lock
        // (`is_retired`), and `retire` prunes each such patient under that lock after setting
        // them, so an operation that checked before is done — its event emitted, its slots
        // read — before the pruning of its patient, hence before this record. Publications
        // and session suspensions, which name slots without a patient lock, wait on the
        // publish lock meanwhile.
        {
            let _no_publication = self.publish_lock.lock();
            self.retire(before, now);
        }
        self.emit_at(now, EventKind::Retired { before });
        self.leave_past_waitlists(before);
    }

    /// Whether a booking starting at `starts_at` is of a retired day (gone, or about to go).
    pub(crate) fn is_retired(&self, starts_at: Timestamp) -> bool {
        let kept_from = self.store.retiring_before();
        kept_from.0 != i32::MIN && starts_at < self.local(kept_from, 0)
    }

    /// Retire every day before `before` (live from `retire_due`, or replaying a `Retired`):
    /// the store drops the days' slots, indexes and day log (`SlotStore::retire`), and the
    /// patients who tried for a place on them (the day log names every one that can hold a
    /// booking there) drop those bookings and their no-show marks past counting.
    ///
    /// The records go first, each under its patient's lock, while the slots are still
    /// readable: an operation that took a patient's lock before `begin_retire` finishes with
    /// the slots it saw (its resource counts, its board change) before that patient is pruned,
    /// exactly as replay, which applies its event before this retirement, does.
    pub(crate) fn retire(&self, before: Date, now: Timestamp) {
        let mut patients = self.store.begin_retire(before);
        let cutoff = self.local(before, 0);
        let policy = &self.pol().no_show;
        // And whoever holds a mark that no longer counts, whether or not they tried for a
        // retired day (`MarkQueue`).
        patients.extend(self.patients.marks.take_past(policy, now, self.utc_offset_s));
        patients.sort_unstable();
        patients.dedup();
        for patient in patients {
            if let Ok((_, mut state)) = self.patients.lock(patient) {
                state.retire(cutoff, policy, now, self.utc_offset_s);
            }
        }
        self.store.retire(before);
    }

    /// Tests: the no-show marks' queue is what retention relies on (`MarkQueue`): while
    /// retention is on, every mark of every record is queued (else it would never be
    /// forgotten), and while it is off the queue is empty (else it would grow). Call it with
    /// no operation running.
    #[cfg(feature = "fuzz-hooks")]
    #[doc(hidden)]
    pub fn check_no_show_queue(&self) -> std::result::Result<(), String> {
        self.patients.marks.check_covers(&self.patients, self.pol().retention.is_on())
    }

    /// Count a no-show (or a late cancellation's fraction of one) against `patient`, whose
    /// record `state` is, under its lock; the mark is queued for retention (`MarkQueue`) if
    /// retention is on. Every live caller holds the policy gate (shared), so retention cannot
    /// be turned on between this reading of it and the push (`replace_policy`); replay is
    /// one thread. Returns the suspension it started, if any (`PatientState::add_no_show`).
    pub(crate) fn add_no_show(
        &self,
        state: &mut crate::patients::PatientState,
        patient: PatientId,
        weight: f32,
        now: Timestamp,
        policy: &crate::policy::NoShowPolicy,
    ) -> Option<(Timestamp, f32)> {
        let queue = self.pol().retention.is_on().then_some(&self.patients.marks);
        state.add_no_show(weight, now, policy, self.utc_offset_s, (queue, patient))
    }

    // ---------------------------------------------------------------- registry

    /// Add a hospital or clinic in `district` (created on first use). Journaled; names up to the
    /// registry's length bound; `Err(CapacityExceeded)` past the registry's size bound.
    pub fn add_institution(&self, name: &str, tier: Tier, district: &str) -> Result<InstitutionId> {
        let id = {
            let _in_id_order = self.alloc_lock.lock();
            let id = self.registry.add_institution(name, tier, district)?;
            self.emit(EventKind::InstitutionAdded {
                institution: id,
                name: name.into(),
                tier,
                district: district.into(),
            });
            id
        };
        self.durable(id)
    }

    /// Add a department of `specialty` (created on first use) to an institution; it joins its
    /// district's set of that specialty (alternatives, referrals). Journaled.
    pub fn add_department(
        &self,
        institution: InstitutionId,
        specialty: &str,
        name: &str,
    ) -> Result<DepartmentId> {
        let id = {
            let _in_id_order = self.alloc_lock.lock();
            let id = self.registry.add_department(institution, specialty, name)?;
            self.emit(EventKind::DepartmentAdded {
                department: id,
                institution,
                specialty: specialty.into(),
                name: name.into(),
            });
            id
        };
        self.durable(id)
    }

    /// Add a bookable resource (a doctor, bed, exam room …) to a department. `expert` marks an
    /// expert's sessions (专家号). Journaled.
    pub fn add_resource(
        &self,
        department: DepartmentId,
        kind: ResourceKind,
        name: &str,
        expert: bool,
    ) -> Result<ResourceId> {
        let id = {
            let _in_id_order = self.alloc_lock.lock();
            let id = self.registry.add_resource(department, kind, name, expert)?;
            self.emit(EventKind::ResourceAdded {
                resource: id,
                department,
                kind,
                name: name.into(),
                expert,
            });
            id
        };
        self.durable(id)
    }

    /// Add a channel (idempotent by name). The six standard channels exist from the start.
    pub fn add_channel(&self, name: &str) -> Result<ChannelId> {
        // In id order (see `alloc_lock`), which also keeps the group table aligned with ids.
        let _guard = self.alloc_lock.lock();
        let before = self.registry.channels.count();
        let id = self.registry.add_channel(name)?;
        if self.registry.channels.count() > before {
            self.channel_groups.push(self.quota_group_of(name));
            self.emit(EventKind::ChannelAdded { channel: id, name: name.into() });
        }
        drop(_guard);
        self.durable(id)
    }

    fn quota_group_of(&self, channel: &str) -> Option<u8> {
        let group =
            self.pol().channel_quotas.iter().position(|q| q.channels.iter().any(|c| c == channel));
        group.map(|g| g as u8)
    }

    /// The id of a channel by name (`Err(NotFound)` if there is none).
    pub fn channel_id(&self, name: &str) -> Result<ChannelId> {
        self.registry
            .find_channel(name)
            .ok_or_else(|| Error::invalid(format!("unknown channel {name:?}")))
    }

    /// An institution's record.
    pub fn institution(&self, id: InstitutionId) -> Result<Institution> {
        self.registry.institution(id).cloned()
    }

    /// A department's record.
    pub fn department(&self, id: DepartmentId) -> Result<Department> {
        self.registry.department(id).cloned()
    }

    /// A resource's record.
    pub fn resource(&self, id: ResourceId) -> Result<Resource> {
        self.registry.resource(id).map(Resource::snapshot)
    }

    /// A channel's record.
    pub fn channel(&self, id: ChannelId) -> Result<Channel> {
        self.registry.channel(id).cloned()
    }

    /// A district's name.
    pub fn district_name(&self, id: DistrictId) -> Result<String> {
        id.index()
            .and_then(|i| self.registry.districts.get(i))
            .cloned()
            .ok_or_else(|| Error::not_found("district", id.0 as u64))
    }

    /// A specialty's name.
    pub fn specialty_name(&self, id: SpecialtyId) -> Result<String> {
        id.index()
            .and_then(|i| self.registry.specialties.get(i))
            .cloned()
            .ok_or_else(|| Error::not_found("specialty", id.0 as u64))
    }

    /// Measured no-show rate of a resource, for setting its overbooking ratio.
    pub fn resource_stats(&self, id: ResourceId) -> Result<ResourceStats> {
        self.registry.resource_stats(id)
    }

    /// Counts of what the engine holds, for a quick look.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            institutions: self.registry.institutions.count(),
            departments: self.registry.departments.count(),
            resources: self.registry.resources.count(),
            patients: self.patients.count(),
            slots: self.store.count(),
            last_event_seq: self.events.last_seq(),
        }
    }

    /// The operator metrics now (`metrics.rs`): counts, event and durable sequence numbers,
    /// the journal's queue and fsync latencies (durable engines), the subscribers' queues,
    /// memory. Cheap: counters only.
    pub fn metrics(&self) -> crate::metrics::Metrics {
        let last = self.events.last_seq();
        let durable = self.events.durable_seq().min(last);
        crate::metrics::Metrics {
            stats: self.stats(),
            last_event_seq: last,
            durable_seq: durable,
            durable_lag_events: last - durable,
            journal: self.events.journal_metrics(),
            subscribers: self.events.subscriber_metrics(),
            memory: crate::metrics::MemoryMetrics {
                slot_bytes: self.store.slot_bytes() as u64,
                process_resident_bytes: crate::metrics::process_resident_bytes(),
            },
            follower: None,
        }
    }

    // ---------------------------------------------------------------- master patient index

    /// Create an empty patient record in the master patient index. Journaled; the id is dense and
    /// never reused (a merged id stays a tombstone resolving to its survivor).
    pub fn register_patient(&self) -> Result<PatientId> {
        let id = {
            let _in_id_order = self.alloc_lock.lock();
            let id = self.patients.register()?;
            self.emit(EventKind::PatientRegistered { patient: id });
            id
        };
        self.durable(id)
    }

    /// Register `count` patients at once: their ids are contiguous, in order. All or nothing
    /// (refused only above [`REGISTER_BATCH_MAX`] or the engine's patient limit); one
    /// durability wait for the whole batch.
    ///
    /// ```
    /// use haoyuan::*;
    /// let engine = Engine::new(EngineConfig::default()).unwrap();
    /// let ids = engine.register_patients(3).unwrap();
    /// assert_eq!(ids.len(), 3);
    /// assert_eq!(ids[1].0, ids[0].0 + 1);
    /// ```
    pub fn register_patients(&self, count: usize) -> Result<Vec<PatientId>> {
        self.register_batch(count, None)
    }

    /// Register one patient per card number, each with that card linked (a province's
    /// residents from its population register, a batch at a time). All or nothing: a malformed
    /// number, a number given twice in the batch, or a card that already belongs to someone
    /// refuses the whole batch, and no one is registered. Returns the new ids, contiguous and in
    /// the order of `numbers`. Each patient gets the events of the single calls
    /// (`PatientRegistered`, `CardLinked`), so the journal and its replay are the same; the
    /// batch waits for durability once.
    ///
    /// ```
    /// use haoyuan::*;
    /// let engine = Engine::new(EngineConfig::default()).unwrap();
    /// let ids = engine.register_patients_with_cards("resident_id", &["110101199003071234", "110101199003075678"]).unwrap();
    /// assert_eq!(engine.find_patient_by_card("resident_id", "110101199003075678").unwrap(), Some(ids[1]));
    /// // A card already linked refuses the whole next batch:
    /// let again = engine.register_patients_with_cards("resident_id", &["110101199003079999", "110101199003071234"]);
    /// assert_eq!(again.unwrap_err().code(), ErrorCode::CardTaken);
    /// assert_eq!(engine.find_patient_by_card("resident_id", "110101199003079999").unwrap(), None);
    /// ```
    pub fn register_patients_with_cards(
        &self,
        card_type: &str,
        numbers: &[&str],
    ) -> Result<Vec<PatientId>> {
        self.register_batch(numbers.len(), Some((card_type, numbers)))
    }

    fn register_batch(
        &self,
        count: usize,
        cards: Option<(&str, &[&str])>,
    ) -> Result<Vec<PatientId>> {
        if count > REGISTER_BATCH_MAX {
            return Err(Error::CapacityExceeded(format!(
                "at most {REGISTER_BATCH_MAX} patients per registration batch"
            )));
        }
        // Hash every card first (the costly part: a keyed BLAKE3 each, in parallel), outside
        // every lock; the first bad number, in input order, refuses the batch.
        let linked: Vec<LinkedCard> = match cards {
            Some((card_type, numbers)) => {
                let hashed: Vec<Result<LinkedCard>> = numbers
                    .par_iter()
                    .map(|n| LinkedCard::new(&self.card_key, card_type, n))
                    .collect();
                hashed.into_iter().collect::<Result<_>>()?
            }
            None => Vec::new(),
        };
        let mut digests: Vec<(CardDigest, usize)> =
            linked.iter().enumerate().map(|(i, c)| (c.digest, i)).collect();
        digests.sort_unstable();
        if let Some(w) = digests.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::invalid(format!(
                "card {} is given twice in the batch (rows {} and {})",
                linked[w[0].1].masked, w[0].1, w[1].1
            )));
        }
        let ids = {
            let _no_link_between = self.cards_lock.write();
            for c in &linked {
                if let Some(owner) = self.patients.cards.get(&c.digest).map(|o| *o) {
                    return Err(Error::CardTaken {
                        card_type: c.card_type.to_string(),
                        masked: c.masked.to_string(),
                        owner,
                    });
                }
            }
            let _in_id_order = self.alloc_lock.lock();
            if self.patients.count() + count > PATIENTS_MAX {
                return Err(Error::CapacityExceeded(format!("at most {PATIENTS_MAX} patients")));
            }
            let mut ids = Vec::with_capacity(count);
            let mut cards = linked.into_iter();
            for _ in 0..count {
                let id = self.patients.register()?; // within the limit: checked above
                self.emit(EventKind::PatientRegistered { patient: id });
                if let Some(card) = cards.next() {
                    let (_, mut state) = self.patients.lock(id)?;
                    self.patients.cards.insert(card.digest, id);
                    let event = EventKind::CardLinked {
                        patient: id,
                        card_type: card.card_type.to_string(),
                        masked: card.masked.to_string(),
                        digest: card.digest,
                    };
                    state.add_card(&self.patients.card_types, card);
                    self.emit(event);
                }
                ids.push(id);
            }
            ids
        };
        self.durable(ids)
    }

    /// Link a card to a patient. A card that already belongs to someone else is
    /// [`Error::CardTaken`]; linking it again to its owner is a no-op. The number is hashed
    /// and masked here and goes no further: no event, record or error holds it.
    pub fn link_card(&self, patient: PatientId, card_type: &str, number: &str) -> Result<()> {
        let card = LinkedCard::new(&self.card_key, card_type, number)?;
        let _no_batch_between = self.cards_lock.read();
        let (patient, mut state) = self.patients.lock(patient)?;
        match self.patients.cards.entry(card.digest) {
            dashmap::mapref::entry::Entry::Occupied(e) => {
                // The stored owner, not resolved: resolving would lock a second patient.
                let owner = *e.get();
                if owner == patient {
                    return Ok(());
                }
                return Err(Error::CardTaken {
                    card_type: card.card_type.into(),
                    masked: card.masked.into(),
                    owner,
                });
            }
            dashmap::mapref::entry::Entry::Vacant(e) => {
                e.insert(patient);
            }
        }
        let event = EventKind::CardLinked {
            patient,
            card_type: card.card_type.to_string(),
            masked: card.masked.to_string(),
            digest: card.digest,
        };
        state.add_card(&self.patients.card_types, card);
        self.emit(event);
        drop(state);
        self.durable(())
    }

    /// The patient a card belongs to (following merges): the number is hashed under the card
    /// key and looked up by its digest.
    pub fn find_patient_by_card(&self, card_type: &str, number: &str) -> Result<Option<PatientId>> {
        let card = LinkedCard::new(&self.card_key, card_type, number)?;
        let Some(id) = self.patients.cards.get(&card.digest).map(|r| *r) else { return Ok(None) };
        Ok(Some(self.patients.resolve(id)?))
    }

    /// Merge `merged` into `survivor` (the same person found twice): cards, bookings, referrals
    /// and no-show history move to the survivor; `merged` then resolves to `survivor`.
    ///
    /// Merges are rare administrative acts, so they are serialised by one mutex; that makes the
    /// merging thread the only one that ever holds two patient locks (booking paths hold one),
    /// so no lock cycle can form. Both records are locked while the data moves, so no request,
    /// cancellation or provider suspension ever sees the bookings in neither record.
    pub fn merge_patients(&self, survivor: PatientId, merged: PatientId) -> Result<()> {
        let _one_merge_at_a_time = self.merge_lock.lock();
        let survivor = self.patients.resolve(survivor)?;
        let merged_now = self.patients.resolve(merged)?;
        if survivor == merged_now {
            return Err(Error::invalid(format!("{merged} and {survivor} are already one patient")));
        }
        let cards = {
            let mut loser = self.patients.lock_raw(merged_now)?;
            let mut kept = self.patients.lock_raw(survivor)?;
            let taken = std::mem::take(&mut *loser);
            // Tombstone: from here on, `lock` follows the merge.
            loser.set_merged_into(survivor);
            let cards: Vec<_> = taken.card_digests().collect();
            kept.absorb(&self.patients.card_types, survivor, taken);
            self.emit(EventKind::PatientsMerged { survivor, merged: merged_now });
            cards
        };
        for digest in cards {
            self.patients.cards.insert(digest, survivor);
        }
        self.durable(())
    }

    /// A patient's record: cards, no-shows in the counting window, suspension, active bookings,
    /// referrals.
    pub fn patient_record(&self, patient: PatientId) -> Result<PatientRecord> {
        let now = self.now();
        let (patient, state) = self.patients.lock(patient)?;
        Ok(PatientRecord {
            patient,
            cards: state.cards(&self.patients.card_types).iter().map(LinkedCard::public).collect(),
            no_shows_in_window: state.no_shows_in_window(
                &self.pol().no_show,
                now,
                self.utc_offset_s,
            ),
            suspended_until: state.suspended_until().filter(|u| *u > now),
            active_bookings: state
                .bookings
                .iter()
                .filter(|b| b.state.is_active())
                .map(|b| state.public_booking(b, patient))
                .collect(),
            referrals: state.referrals().to_vec(),
            waitlist_entries: state.waitlist_entries,
        })
    }

    /// A patient's holds and bookings, oldest first: every active one, and the most recent
    /// ended ones (at most `ENDED_BOOKINGS_KEPT`; the event stream has them all).
    pub fn bookings_of(&self, patient: PatientId) -> Result<Vec<Booking>> {
        let (owner, state) = self.patients.lock(patient)?;
        Ok(state.bookings.iter().map(|b| state.public_booking(b, owner)).collect())
    }

    /// Every hold and booking on `slots` (at most [`SLOTS_PER_QUERY_MAX`]), active ones and the
    /// ended ones patients' records still keep, ordered by (slot, id): an audit of who holds a
    /// place, without scanning every patient. Found through the day log, which every claim
    /// writes before it takes a place.
    pub fn bookings_on(&self, slots: &[SlotId]) -> Result<Vec<Booking>> {
        if slots.len() > SLOTS_PER_QUERY_MAX {
            return Err(Error::CapacityExceeded(format!(
                "at most {SLOTS_PER_QUERY_MAX} slots per call"
            )));
        }
        let mut wanted: HashSet<SlotId> = HashSet::with_capacity(slots.len());
        let mut dates: Vec<Date> = Vec::new();
        for &id in slots {
            let s = self.slot_ref(id)?;
            wanted.insert(id);
            dates.push(s.date());
        }
        dates.sort_unstable();
        dates.dedup();
        let mut patients: Vec<PatientId> = Vec::new();
        for d in dates {
            self.store.with_day_log(d, |log| {
                patients.extend(log.iter().filter(|(s, _)| wanted.contains(s)).map(|(_, p)| p))
            });
        }
        patients.sort_unstable();
        patients.dedup();
        let mut out = Vec::new();
        let mut seen: HashSet<BookingId> = HashSet::new();
        for p in patients {
            // A merged patient's bookings live with the survivor; `seen` drops the repeats.
            let Ok((owner, state)) = self.patients.lock(p) else { continue };
            for b in state.bookings.iter().filter(|b| wanted.contains(&b.slot)) {
                if seen.insert(b.id) {
                    out.push(state.public_booking(b, owner));
                }
            }
        }
        out.sort_by_key(|b| (b.slot, b.id));
        Ok(out)
    }

    /// The slots of a resource on a date, in start order (empty when none is published).
    pub fn resource_day_slots(&self, resource: ResourceId, date: Date) -> Result<Vec<SlotId>> {
        self.registry.resource(resource)?;
        if !date.is_valid() {
            return Err(Error::InvalidDate(date));
        }
        Ok(self.store.resource_day(resource, date))
    }

    /// An institution's departments, in id order.
    pub fn departments_of(&self, institution: InstitutionId) -> Result<Vec<Department>> {
        self.registry.institution(institution)?;
        let ids =
            self.registry.by_institution.get(&institution).map(|l| l.clone()).unwrap_or_default();
        ids.into_iter().map(|d| self.department(d)).collect()
    }

    /// A department's resources, in id order.
    pub fn resources_of(&self, department: DepartmentId) -> Result<Vec<Resource>> {
        self.registry.department(department)?;
        let ids =
            self.registry.by_department.get(&department).map(|l| l.clone()).unwrap_or_default();
        ids.into_iter().map(|r| self.resource(r)).collect()
    }

    /// Every institution, in id order.
    pub fn institutions(&self) -> Vec<Institution> {
        self.registry.institutions.iter().map(|(_, i)| i.clone()).collect()
    }

    /// One hold or booking, by id. A patient's record keeps every active booking and the last
    /// [`ENDED_BOOKINGS_KEPT`](crate::ENDED_BOOKINGS_KEPT) ended ones; an older ended booking
    /// answers [`Error::NotFound`] with the kind [`FORGOTTEN_BOOKING`](crate::FORGOTTEN_BOOKING) (the event stream and
    /// the journal still have it), an id never issued the kind `"booking"`.
    pub fn booking(&self, id: BookingId) -> Result<Booking> {
        let (owner, state) = self
            .patients
            .lock(id.origin_patient())
            .map_err(|_| Error::not_found("booking", id.0))?;
        match state.booking(id).map(|b| state.public_booking(b, owner)) {
            Some(b) => Ok(b),
            None => {
                drop(state);
                Err(self.booking_missing(id))
            }
        }
    }

    // ---------------------------------------------------------------- slots

    /// A slot as the engine reports it.
    pub fn slot(&self, id: SlotId) -> Result<SlotInfo> {
        let s = self.slot_ref(id)?;
        let institution = self.registry.department(self.store.department_of(&s))?.institution;
        Ok(SlotInfo {
            id,
            resource: s.resource,
            department: self.store.department_of(&s),
            institution,
            date: s.date(),
            start_min: s.start_min,
            end_min: s.end_min,
            capacity: s.capacity(),
            pool_places: PoolCounts::from_array(s.sizes),
            pool_taken: PoolCounts::from_array(s.taken()),
            closed: s.is_closed(),
            starts_at: self.local(s.date(), s.start_min),
            ends_at: self.local(s.date(), s.end_min),
        })
    }

    /// Slots published over the engine's life.
    pub fn slot_count(&self) -> usize {
        self.store.count()
    }

    pub(crate) fn slot_ref(&self, id: SlotId) -> Result<SlotRef<'_>> {
        self.store.get(id).ok_or_else(|| Error::not_found("slot", id.0 as u64))
    }

    pub(crate) fn local(&self, date: Date, minute: u16) -> Timestamp {
        Timestamp::from_local(date, minute, self.utc_offset_s)
    }

    fn check_spec(&self, spec: &SlotSpec) -> Result<DepartmentId> {
        let resource = self.registry.resource(spec.resource)?;
        if !spec.date.is_valid() {
            return Err(Error::InvalidDate(spec.date));
        }
        if spec.start_min >= spec.end_min || spec.end_min > 1440 {
            return Err(Error::invalid(format!(
                "segment {}..{} must satisfy start < end <= 1440 minutes",
                spec.start_min, spec.end_min
            )));
        }
        if spec.capacity == 0 || spec.capacity > PLACES_MAX {
            return Err(Error::invalid(format!(
                "capacity {} must be 1 ..= {PLACES_MAX}",
                spec.capacity
            )));
        }
        Ok(resource.department)
    }

    /// Publish slots in one call (a whole city-day is one call). All or nothing: one bad spec
    /// rejects the batch. Returns the new ids, contiguous and in input order.
    ///
    /// Pool sizes are fixed here from the policy: the referral share at secondary and tertiary
    /// institutions (larger for experts) and the channel quotas, spread over each resource-day
    /// as a whole — counting the places it already has — so that a session reserves its shares
    /// however its slots are published (`slot::pool_sizes`); overbooking adds general places,
    /// ⌊capacity × ratio⌋ per slot or ⌊ratio × places⌋ per session (`OverbookingSpread`).
    pub fn publish_slots(&self, specs: &[SlotSpec]) -> Result<SlotRange> {
        if specs.len() > PUBLISH_BATCH_MAX {
            return Err(Error::CapacityExceeded(format!(
                "at most {PUBLISH_BATCH_MAX} slots per publish call"
            )));
        }
        // The pools come from the policy: no policy change between reading it and numbering
        // `SlotsPublished` (see `policy_gate`).
        let _policy = self.policy_gate();
        // Held while the pools are computed: they depend on the slots already published.
        let _guard = self.publish_lock.lock();
        let first = self.store.count();
        if first + specs.len() > SLOTS_MAX {
            return Err(Error::CapacityExceeded(format!("at most {SLOTS_MAX} slots")));
        }
        let kept_from = self.store.retired_before();
        if let Some(spec) = specs.iter().find(|s| s.date < kept_from) {
            return Err(Error::invalid(format!(
                "slot date {} is retired (retention keeps {} onwards)",
                spec.date, kept_from
            )));
        }
        let built = self.build_batch(specs)?;
        self.check_day_places(&built)?;
        let added = self.add_slots(built);
        debug_assert_eq!(added, first);
        // Built only if recorded or received: the copy of a city-day's specs is ~0.8 MB.
        self.emit_lazily(self.now(), || EventKind::SlotsPublished {
            first: SlotId::from_index(first),
            specs: specs.to_vec(),
        });
        self.board_free_published(specs, self.now());
        drop(_guard);
        self.durable(SlotRange {
            start: SlotId::from_index(first),
            end: SlotId::from_index(first + specs.len()),
        })
    }

    /// Refuse slots that would take a department-day past [`DAY_PLACES_MAX`] places, counting
    /// the places it has: before anything is added, so a refused publication (or a corrupt
    /// journal's or snapshot's) changes nothing. Under the publish lock or single-threaded.
    pub(crate) fn check_day_places(&self, slots: &[Slot]) -> Result<()> {
        let added: u64 = slots.iter().map(|s| s.capacity() as u64).sum();
        // Every real publication: the whole batch on the fullest day so far stays within.
        if added + self.store.max_day_places() as u64 <= DAY_PLACES_MAX as u64 {
            return Ok(());
        }
        let mut days: rustc_hash::FxHashMap<(DepartmentId, Date), u64> = Default::default();
        for s in slots {
            let department = self.registry.resource(s.resource)?.department;
            *days.entry((department, s.date())).or_default() += s.capacity() as u64;
        }
        for ((department, date), more) in days {
            let has = self.store.department_day_counts(department, date).map_or(0, |c| {
                self.store.day_counts(c).places.load(std::sync::atomic::Ordering::Acquire)
            });
            if has as u64 + more > DAY_PLACES_MAX as u64 {
                return Err(Error::CapacityExceeded(format!(
                    "{department} on {date}: {has} places and {more} more exceed \
                     {DAY_PLACES_MAX} places a day"
                )));
            }
        }
        Ok(())
    }

    /// Add built slots to the store, each department-day entered in its group-day. Under the
    /// publish lock (live) or single-threaded (replay, restore).
    pub(crate) fn add_slots(&self, slots: Vec<Slot>) -> usize {
        self.store.add(slots, &|r| {
            // `build_batch` (and the snapshot's check) only pass known resources, and a
            // resource's department is registered before it.
            let department = self.registry.resource(r).expect("slots name registered resources");
            let department = department.department;
            let group = self.registry.department_group(department).expect("registered before");
            (department, group)
        })
    }

    /// A resource's overbooking ratio under `policy` (see `OverbookingPolicy`'s precedence).
    fn overbooking_ratio(
        &self,
        policy: &Policy,
        resource: ResourceId,
        department: DepartmentId,
    ) -> Result<f32> {
        let o = &policy.overbooking;
        if let Some(r) =
            o.by_resource.get(&resource.0).or_else(|| o.by_department.get(&department.0))
        {
            return Ok(*r);
        }
        if o.targets.is_empty() {
            return Ok(o.ratio);
        }
        let dep = self.registry.department(department)?;
        let inst = self.registry.institution(dep.institution)?;
        let matches = |t: &&crate::policy::OverbookingTarget| {
            t.tier.is_none_or(|x| x == inst.tier)
                && t.institution.as_ref().is_none_or(|n| *n == inst.name)
                && t.specialty
                    .as_ref()
                    .is_none_or(|s| self.registry.find_specialty(s) == Some(dep.specialty))
        };
        Ok(o.targets.iter().rev().find(matches).map_or(o.ratio, |t| t.ratio))
    }

    /// The slots of a batch, in input order, with their pool sizes. Called under the publish
    /// lock (live) or by replay, so the resource-days' existing places cannot change meanwhile.
    pub(crate) fn build_batch(&self, specs: &[SlotSpec]) -> Result<Vec<Slot>> {
        // Group by resource-day, keeping input order inside each group. A publication lists a
        // resource-day's slots together: its runs are found in one pass, and a stable sort of
        // the runs by resource-day gathers one listed in pieces, in input order. No map and no
        // vector per resource-day on this thread: the tasks make their own index lists.
        type Run = ((ResourceId, Date), std::ops::Range<usize>);
        let mut runs: Vec<Run> = Vec::new();
        let mut i = 0;
        while i < specs.len() {
            let key = (specs[i].resource, specs[i].date);
            let run = specs[i..].iter().take_while(|s| (s.resource, s.date) == key).count();
            runs.push((key, i..i + run));
            i += run;
        }
        runs.sort_by_key(|r| r.0);
        let groups: Vec<&[Run]> = runs.chunk_by(|a, b| a.0 == b.0).collect();
        let built: Vec<Vec<(usize, Slot)>> = groups
            .par_iter()
            .map(|g| {
                let indexes: Vec<usize> = g.iter().flat_map(|(_, r)| r.clone()).collect();
                self.build_resource_day(specs, &indexes)
            })
            .collect::<Result<_>>()?;
        let mut slots: Vec<Option<Slot>> = (0..specs.len()).map(|_| None).collect();
        for (i, slot) in built.into_iter().flatten() {
            slots[i] = Some(slot);
        }
        Ok(slots.into_iter().map(|s| s.expect("every spec belongs to one group")).collect())
    }

    /// Slots of one resource-day (`indexes` into `specs`, in publication order).
    fn build_resource_day(
        &self,
        specs: &[SlotSpec],
        indexes: &[usize],
    ) -> Result<Vec<(usize, Slot)>> {
        // One version of the policy for the whole resource-day.
        let policy = self.pol();
        let first = &specs[indexes[0]];
        let department = self.check_spec(first)?;
        for &i in &indexes[1..] {
            self.check_spec(&specs[i])?;
        }
        let resource = self.registry.resource(first.resource)?;
        let tier =
            self.registry.institution(self.registry.department(department)?.institution)?.tier;
        let referral_share = match tier {
            Tier::Community => 0.0,
            _ if resource.expert => policy.referral.expert_share,
            _ => policy.referral.share,
        };
        let mut shares = [share_ppm(referral_share), 0, 0];
        for (g, q) in policy.channel_quotas.iter().enumerate() {
            shares[1 + g] = share_ppm(q.share);
        }
        // Where the resource-day's dealing stands: a function of its places so far under the
        // running shares (`Dealt::at`), and its counters hold those places. Rebuilt at every
        // publication rather than kept per resource-day (a map entry of ~40 B a resource-day,
        // ~3 B a live slot on a province), for a few dozen steps of arithmetic; and so live,
        // replayed and snapshot-restored engines deal alike, and a policy change applies its
        // shares to the places published after it (published slots keep theirs).
        let places = self.store.resource_day_counts(first.resource, first.date).map_or(0, |c| {
            self.store.day_counts(c).places.load(std::sync::atomic::Ordering::Acquire)
        });
        let start = Dealt::at(places as u64, shares);
        let capacities: Vec<u16> = indexes.iter().map(|&i| specs[i].capacity).collect();
        let (reserved, _) = pool_sizes(start, &capacities, shares);
        let ratio = self.overbooking_ratio(policy, resource.id, department)?;
        let allowances =
            overbooking_allowances(policy.overbooking.spread, ratio, start.places, &capacities);
        Ok(indexes
            .iter()
            .zip(reserved)
            .zip(allowances)
            .map(|((&i, r), over)| {
                let spec = &specs[i];
                let reserved_total: u16 = r.iter().sum();
                // Ratios are within 0 ..= 1 (`Policy::validate`), so neither spread gives a slot
                // more extra places than it has places.
                assert!(over <= spec.capacity.min(crate::slot::OVERBOOKING_PLACES_MAX));
                let sizes = [spec.capacity - reserved_total + over, r[0], r[1], r[2]];
                // Invariant 1 at publication: a slot's pools never sum past its capacity plus
                // the overbooking allowance (pool_sizes guarantees reserved ≤ capacity).
                assert_eq!(
                    sizes.iter().map(|&x| x as u32).sum::<u32>(),
                    spec.capacity as u32 + over as u32
                );
                (i, Slot::new(spec, sizes))
            })
            .collect())
    }

    /// Add a weekly roster template. Slots are created by [`Engine::publish_rosters_until`].
    pub fn add_roster(&self, roster: Roster) -> Result<RosterId> {
        roster.validate()?;
        self.registry.resource(roster.resource)?;
        let id = {
            let _in_id_order = self.alloc_lock.lock();
            let id = self.rosters.add(roster.clone())?;
            self.emit(EventKind::RosterAdded { roster: id, template: roster });
            id
        };
        self.durable(id)
    }

    /// A roster template, by id.
    pub fn roster(&self, id: RosterId) -> Result<Roster> {
        self.rosters.get(id).ok_or_else(|| Error::not_found("roster", id.0 as u64))
    }

    /// Publish every roster's slots up to and including `until` (idempotent: dates already
    /// published are skipped). Returns how many slots were created.
    ///
    /// `until` may lie at most [`ROSTER_HORIZON_DAYS_MAX`] days past today (a bound on what one
    /// call creates). All or nothing: every due slot is checked before any is published.
    pub fn publish_rosters_until(&self, until: Date) -> Result<usize> {
        if !until.is_valid() {
            return Err(Error::InvalidDate(until));
        }
        let today = self.now().to_local(self.utc_offset_s).0;
        if until > today.plus_days(ROSTER_HORIZON_DAYS_MAX) {
            return Err(Error::invalid(format!("publishing rosters until {until} is more than {ROSTER_HORIZON_DAYS_MAX} days ahead of {today}")));
        }
        // One roster publication at a time: the due dates are read, checked and marked as one step.
        let _one_at_a_time = self.roster_lock.lock();
        let specs = self.rosters.due(until);
        for spec in &specs {
            self.check_spec(spec)?;
        }
        if self.store.count() + specs.len() > SLOTS_MAX {
            return Err(Error::CapacityExceeded(format!("at most {SLOTS_MAX} slots")));
        }
        self.rosters.mark_published(until);
        self.emit(EventKind::RostersPublished { until });
        for chunk in specs.chunks(PUBLISH_BATCH_MAX) {
            self.publish_slots(chunk)?;
        }
        self.durable(specs.len())
    }

    /// Suspend a resource's session (停诊) on `date`, the whole day or the segments starting in
    /// `time`. Its slots close; every hold and booking on them becomes `provider_cancelled`
    /// (never counted against the patient), referrals are given back, and events tell the host
    /// whom to notify and rebook.
    pub fn suspend_session(
        &self,
        resource: ResourceId,
        date: Date,
        time: Option<TimeOfDay>,
    ) -> Result<SuspensionReport> {
        self.registry.resource(resource)?;
        if !date.is_valid() {
            return Err(Error::InvalidDate(date));
        }
        if let Some(t) = time {
            t.check()?;
        }
        // Serialised with retention (`retire_due`), which refuses the day from then on.
        let _no_retirement = self.publish_lock.lock();
        if date < self.store.retired_before() {
            return Err(Error::invalid(format!("{date} is retired (past the retention)")));
        }
        let now = self.now();
        let slots: Vec<SlotId> = self
            .store
            .resource_day(resource, date)
            .into_iter()
            .filter(|id| {
                time.is_none_or(|t| {
                    self.store.get(*id).is_some_and(|s| t.contains_start(s.start_min))
                })
            })
            .collect();
        for id in &slots {
            if let Some(s) = self.store.get(*id) {
                self.store.close(&s);
            }
        }
        // Every claim that won before the close logged its patient first (see store.rs).
        let closed: HashSet<SlotId> = slots.iter().copied().collect();
        let mut patients: Vec<PatientId> = Vec::new();
        self.store.with_day_log(date, |log| {
            patients.extend(log.iter().filter(|(s, _)| closed.contains(s)).map(|(_, p)| p))
        });
        patients.sort_unstable();
        patients.dedup();
        let mut cancelled = Vec::new();
        for p in patients {
            let Ok((owner, mut state)) = self.patients.lock(p) else { continue };
            // A booking group with a place here ends whole, as one record (groups.rs); its
            // bookings are no longer active for the loop below.
            if !state.groups().is_empty() {
                cancelled.extend(self.end_groups_in_closed(owner, &mut state, &closed, now));
            }
            let mut returned = Vec::new();
            for i in 0..state.bookings.len() {
                let b = &mut state.bookings[i];
                if !(b.state.is_active() && closed.contains(&b.slot)) {
                    continue;
                }
                let was_waiting = b.state == BookingState::CheckedIn;
                b.state = BookingState::ProviderCancelled;
                // Numbered before the release, as in `end_booking` (journal prefixes stay within capacity).
                let event = || {
                    self.emit_at(
                        now,
                        EventKind::Cancelled {
                            booking: b.id,
                            slot: b.slot,
                            by: crate::model::CancelledBy::Provider,
                            late: false,
                        },
                    );
                };
                match self.store.get(b.slot).filter(|_| was_waiting) {
                    // A checked-in patient leaves its session's queue (board.rs).
                    Some(s) => self.board_change(&s, crate::load::Change::Left, now, true, event),
                    None => event(),
                }
                if let Some(s) = self.store.get(b.slot) {
                    self.store.release(&s, b.pool);
                }
                returned.extend(state.referral_of(&state.bookings[i]));
                cancelled.push(state.public_at(i, owner));
            }
            for r in returned {
                if let Some(r) = state.referral_mut(r) {
                    r.used_by = None;
                    self.emit_at(now, EventKind::ReferralReturned { referral: r.id });
                }
            }
        }
        self.emit_at(
            now,
            EventKind::SessionSuspended {
                resource,
                date,
                time,
                slots: slots.len() as u32,
                cancelled: cancelled.len() as u32,
            },
        );
        // One resource-day: one department's figures moved.
        if let Some(s) = slots.first().and_then(|id| self.store.get(*id)) {
            self.board_free_change(&s, now);
        }
        self.durable(SuspensionReport { slots, cancelled })
    }

    // ---------------------------------------------------------------- events

    /// Receive every event emitted from now on, through a queue of
    /// [`SUBSCRIPTION_CAPACITY_DEFAULT`](crate::SUBSCRIPTION_CAPACITY_DEFAULT) events; a
    /// subscriber that lets it fill up is cut off ([`Overflow::Disconnect`](crate::Overflow)). Drop it to leave.
    pub fn subscribe(&self) -> Subscription {
        self.events.subscribe(SubscribeOptions::default()).expect("the default options are valid")
    }

    /// Subscribe with a queue size and a policy for a full queue (see [`Overflow`](crate::Overflow)).
    pub fn subscribe_with(&self, options: SubscribeOptions) -> Result<Subscription> {
        self.events.subscribe(options)
    }

    /// The sequence number of the last event emitted.
    pub fn last_event_seq(&self) -> u64 {
        self.events.last_seq()
    }

    /// Attach a durable journal (see [`EventSink`]); at most once per engine.
    pub fn set_event_sink(&self, sink: Arc<dyn EventSink>) -> Result<()> {
        if self.events.set_sink(sink) {
            Ok(())
        } else {
            Err(Error::invalid("an event sink is already attached"))
        }
    }

    /// Acknowledge a successful operation: with a durable journal attached, wait (outside every
    /// lock) until its events are on stable storage — unless the caller pipelines
    /// (`pipeline.rs`): then it waits on the operation's ticket itself.
    pub(crate) fn durable<T>(&self, value: T) -> Result<T> {
        if crate::ack::pipelining() {
            EventBus::deliver_waiting();
            return Ok(value);
        }
        self.events.wait_durable().map(|()| value)
    }

    pub(crate) fn emit(&self, kind: EventKind) -> u64 {
        self.events.emit(self.now(), kind)
    }

    pub(crate) fn emit_at(&self, at: Timestamp, kind: EventKind) -> u64 {
        self.events.emit(at, kind)
    }

    /// `emit_at`, building the event only if it is recorded or received (`EventBus::emit_with`).
    pub(crate) fn emit_lazily(&self, at: Timestamp, kind: impl FnOnce() -> EventKind) -> u64 {
        self.events.emit_with(at, kind)
    }
}
