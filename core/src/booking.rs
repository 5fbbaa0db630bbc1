//! The booking path, in one file: `hold` → `confirm` → `check_in` → `fulfil`, `book`, `submit`,
//! `cancel`, expiry and `mark_no_show`.
//!
//! Every request does the same few steps, and the order is what keeps the invariants:
//!
//! 1. Read the slot (lock-free) and decide from the clock which of its pools this request may
//!    take, and in which order (`pool_order`): booking window, referral pool, channel quotas.
//! 2. Lock **this patient only** (`Patients::lock`). Under that lock: suspension, referral and
//!    per-patient limits are checked, the attempt is logged for provider suspensions, the place
//!    is claimed with one compare-and-swap on the slot, and the booking is recorded. Two
//!    requests of one patient therefore serialise (limits can never both pass, invariant 2),
//!    while requests of different patients never wait for each other.
//! 3. Events are emitted under the same lock, so a patient's events are in order.
//! 4. A place that frees up is offered to the waitlist *after* the patient lock is released:
//!    no thread ever holds two patient locks.

use crate::booking_record::BookingRec;
use crate::error::{Error, Result, FORGOTTEN_BOOKING};
use crate::events::EventKind;
use crate::ids::*;
use crate::load::Change;
use crate::model::{Booking, BookingState, CancelledBy, Pool, Request, Submission, Tier, Urgency};
use crate::patients::{PatientState, BOOKINGS_PER_PATIENT_MAX};

use crate::slot::{ClaimError, Slot};
use crate::time::{Date, Timestamp};
use crate::Engine;
use std::sync::atomic::Ordering;

/// How a place is taken.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Mode {
    /// `None`: booked at once; `Some(ttl)`: held for `ttl` seconds.
    pub hold_ttl_s: Option<u32>,
    pub offer: Option<WaitlistId>,
    /// The lottery itself (and waitlist offers) place requests inside the release window.
    pub bypass_lottery: bool,
}

/// Up to four pools in the order a request tries them.
pub(crate) struct PoolOrder {
    pools: [Pool; 4],
    len: usize,
}

impl PoolOrder {
    fn new() -> Self {
        PoolOrder { pools: [Pool::General; 4], len: 0 }
    }
    fn push(&mut self, p: Pool) {
        if !self.pools[..self.len].contains(&p) {
            self.pools[self.len] = p;
            self.len += 1;
        }
    }
    pub fn as_slice(&self) -> &[Pool] {
        &self.pools[..self.len]
    }
}

/// Opening and closing instants of one slot under the policy.
pub(crate) struct Window {
    pub public_opens_at: Timestamp,
    pub referral_opens_at: Timestamp,
    pub closes_at: Timestamp,
    pub starts_at: Timestamp,
}

impl Window {
    /// When a channel quota's unused places roll into the general pool: its cut-off before
    /// the start. One rule for the booking path (`pool_order_in`) and for the instants at
    /// which a requester's pools can change (`Engine::requester_pools_span`).
    pub fn quota_cut_off_at(&self, quota: &crate::policy::ChannelQuota) -> Timestamp {
        self.starts_at.plus_s(-(quota.cutoff_hours_before_start as i64) * 3600)
    }
}

impl Engine {
    pub(crate) fn window(&self, slot: &Slot) -> Window {
        self.window_at(slot.date(), slot.start_min)
    }

    /// The window of a slot on `date` starting at `start_min`: a slot's window depends on
    /// nothing else (so a day's can be known without reading its slots).
    pub(crate) fn window_at(&self, date: Date, start_min: u16) -> Window {
        let policy = self.pol();
        let w = &policy.window;
        let public_opens_at =
            self.local(date.plus_days(-(w.open_days_ahead as i32)), w.release_at_min);
        let referral_opens_at = self
            .local(date.plus_days(-(policy.referral.open_days_ahead as i32)), w.release_at_min)
            .min(public_opens_at);
        let starts_at = self.local(date, start_min);
        let closes_at = match w.close_day_before_at_min {
            Some(m) => self.local(date.plus_days(-1), m).min(starts_at),
            None => starts_at,
        };
        Window { public_opens_at, referral_opens_at, closes_at, starts_at }
    }

    /// The slots of `date` whose booking has closed at `now` are those starting at or before
    /// the minute this gives (`None`: none has): `window_at`'s `closes_at`, solved for the
    /// start once per day, so that a search of a day's closed slots compares starts rather than
    /// building each one's window.
    pub(crate) fn last_closed_start(&self, date: Date, now: Timestamp) -> Option<u16> {
        let closed_day_before = self
            .pol()
            .window
            .close_day_before_at_min
            .is_some_and(|m| now >= self.local(date.plus_days(-1), m));
        if closed_day_before {
            return Some(u16::MAX);
        }
        // now >= local(date, start) ⇔ start ≤ (now − local(date, 0)) / 60, in whole minutes.
        let since_midnight = now.0 - self.local(date, 0).0;
        (since_midnight >= 0).then(|| (since_midnight / 60).min(u16::MAX as i64) as u16)
    }

    /// When the release lottery of a slot draws, if `now` is inside its window.
    pub(crate) fn lottery_draw_at(&self, window: &Window, now: Timestamp) -> Option<Timestamp> {
        let len = self.pol().lottery.window_s as i64;
        let draws_at = window.public_opens_at.plus_s(len);
        (len > 0 && now >= window.public_opens_at && now < draws_at).then_some(draws_at)
    }

    /// Which pools a request may take now, in the order it tries them.
    pub(crate) fn pool_order(
        &self,
        slot: &Slot,
        window: &Window,
        channel: ChannelId,
        urgency: Option<Urgency>,
        now: Timestamp,
    ) -> Result<PoolOrder> {
        let _ = slot;
        self.pool_order_in(window, channel, urgency, now)
    }

    /// `pool_order` for any slot of `window`: the order depends on the window, not the slot.
    pub(crate) fn pool_order_in(
        &self,
        window: &Window,
        channel: ChannelId,
        urgency: Option<Urgency>,
        now: Timestamp,
    ) -> Result<PoolOrder> {
        let policy = self.pol();
        let group = channel.index().and_then(|i| self.channel_groups.get(i)).copied().flatten();
        let public_open = now >= window.public_opens_at;
        let cut_off = |g: usize| {
            let at = policy
                .channel_quotas
                .get(g)
                .map_or(window.starts_at, |q| window.quota_cut_off_at(q));
            now >= at
        };
        let mut order = PoolOrder::new();
        match urgency {
            Some(u) => {
                if now < window.referral_opens_at {
                    return Err(Error::NotOpenYet {
                        slot: SlotId(u32::MAX),
                        opens_at: window.referral_opens_at,
                        utc_offset_s: self.utc_offset_s,
                    });
                }
                order.push(Pool::Referral);
                if u == Urgency::Emergency {
                    // Emergency may take any pool, from the referral opening on.
                    for p in Pool::ALL {
                        order.push(p);
                    }
                    return Ok(order);
                }
                if !public_open {
                    return Ok(order);
                }
            }
            None if !public_open => {
                return Err(Error::NotOpenYet {
                    slot: SlotId(u32::MAX),
                    opens_at: window.public_opens_at,
                    utc_offset_s: self.utc_offset_s,
                });
            }
            None => {}
        }
        if let Some(g) = group {
            order.push(Pool::quota(g as usize));
        }
        order.push(Pool::General);
        if policy.referral.rollover_at_public_open {
            order.push(Pool::Referral);
        }
        for g in 0..policy.channel_quotas.len() {
            if cut_off(g) {
                order.push(Pool::quota(g));
            }
        }
        Ok(order)
    }

    /// Check a referral for this slot; returns its urgency.
    pub(crate) fn check_referral(
        &self,
        state: &PatientState,
        id: ReferralId,
        slot: &Slot,
        now: Timestamp,
    ) -> Result<Urgency> {
        let invalid = |reason: &str| Error::ReferralInvalid { referral: id, reason: reason.into() };
        let r = state.usable_referral(id, now)?;
        let department = self.registry.department(self.store.department_of(slot))?;
        if department.specialty != r.specialty {
            return Err(invalid("issued for another specialty"));
        }
        if r.institution.is_some_and(|i| i != department.institution) {
            return Err(invalid("issued for another institution"));
        }
        let to = self.registry.institution(department.institution)?.tier;
        let from = self.registry.institution(r.from)?.tier;
        if to <= from || to == Tier::Community {
            return Err(invalid("the slot is not at a higher tier than the referring institution"));
        }
        Ok(r.urgency)
    }

    /// The whole booking path; see the module comment.
    pub(crate) fn place(&self, req: &Request, mode: Mode, now: Timestamp) -> Result<Booking> {
        let slot = self.slot_ref(req.slot)?;
        self.registry.channel(req.channel)?;
        let window = self.window(&slot);
        if now >= window.closes_at {
            return Err(Error::BookingClosed {
                slot: req.slot,
                closed_at: window.closes_at,
                utc_offset_s: self.utc_offset_s,
            });
        }
        if slot.is_closed() {
            return Err(Error::SlotClosed { slot: req.slot });
        }
        if !mode.bypass_lottery {
            if let Some(draws_at) = self.lottery_draw_at(&window, now) {
                return Err(Error::LotteryWindow {
                    slot: req.slot,
                    draws_at,
                    utc_offset_s: self.utc_offset_s,
                });
            }
        }

        let (patient, mut state) = self.patients.lock(req.patient)?;
        if let Some(until) = state.suspended_until().filter(|u| *u > now) {
            return Err(Error::PatientSuspended {
                patient,
                until,
                utc_offset_s: self.utc_offset_s,
            });
        }
        let urgency = match req.referral {
            Some(r) => Some(self.check_referral(&state, r, &slot, now)?),
            None => None,
        };
        let order =
            self.pool_order(&slot, &window, req.channel, urgency, now).map_err(|e| match e {
                Error::NotOpenYet { opens_at, utc_offset_s, .. } => {
                    Error::NotOpenYet { slot: req.slot, opens_at, utc_offset_s }
                }
                e => e,
            })?;
        let department = self.store.department_of(&slot);
        state.check_limits(patient, &self.pol().limits, department, slot.date())?;
        if state.bookings.len() >= BOOKINGS_PER_PATIENT_MAX {
            return Err(Error::CapacityExceeded(format!(
                "{patient} has {BOOKINGS_PER_PATIENT_MAX} bookings on record"
            )));
        }

        let refused = |e| match e {
            ClaimError::Full => Error::SlotFull { slot: req.slot },
            ClaimError::Closed => Error::SlotClosed { slot: req.slot },
        };
        // A slot with nothing left for this requester refuses before the log: only an attempt
        // that may win a place must be found by a suspension, and a release crowd's refused
        // attempts (98 of 100 in a flash crowd) would otherwise each stay in the day log. A
        // place given back after this read is not this request's: the refusal is ordered
        // before the release, as a claim that lost its compare-and-swap would be.
        if let Some(e) = slot.refusal(order.as_slice()) {
            return Err(refused(e));
        }
        // Logged before the claim: a provider suspension that closes the slot after our claim
        // is guaranteed to find this entry (store.rs).
        self.store.log_attempt(slot.date(), req.slot, patient, slot.guard())?;
        let pool = self.store.claim(&slot, order.as_slice()).map_err(refused)?;

        let id = BookingId::new(patient, state.next_seq);
        state.next_seq += 1;
        let expires_at = now.plus_s(mode.hold_ttl_s.unwrap_or(0) as i64);
        let booking = Booking {
            id,
            patient,
            slot: req.slot,
            department,
            date: slot.date(),
            channel: req.channel,
            state: if mode.hold_ttl_s.is_some() {
                BookingState::Held
            } else {
                BookingState::Booked
            },
            pool,
            referral: req.referral,
            offer: mode.offer,
            created_at: now,
            expires_at,
            starts_at: window.starts_at,
        };
        if let Some(r) = req.referral.and_then(|r| state.referral_mut(r)) {
            r.used_by = Some(id);
        }
        let (rec, links) = BookingRec::made(&booking);
        state.push_booking(rec, links, now);
        let (slot_id, channel, referral) = (req.slot, req.channel, req.referral);
        match mode.hold_ttl_s {
            Some(_) => {
                self.timers.push(expires_at, id);
                self.emit_lazily(now, || EventKind::Held {
                    booking: id,
                    slot: slot_id,
                    patient,
                    channel,
                    pool,
                    expires_at,
                    referral,
                    offer: mode.offer,
                });
            }
            None => {
                self.emit_lazily(now, || EventKind::Booked {
                    booking: id,
                    slot: slot_id,
                    patient,
                    channel,
                    pool,
                    referral,
                });
            }
        }
        if let Some(referral) = referral {
            self.emit_at(now, EventKind::ReferralConsumed { referral, booking: id });
        }
        self.board_free_change(&slot, now);
        Ok(booking)
    }

    /// Hold a place for the policy's hold time (default 10 minutes) while the patient confirms
    /// or pays. Inside a release-lottery window this is [`Error::LotteryWindow`]: use
    /// [`Engine::submit`].
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// let patient = engine.register_patient()?;
    /// let hold = engine.hold(&Request::new(patient, slots.start, app))?;
    /// assert_eq!(hold.state, BookingState::Held);
    /// // Confirm before `hold.expires_at`, or the place goes back to the pool.
    /// assert_eq!(engine.confirm(hold.id)?.state, BookingState::Booked);
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn hold(&self, req: &Request) -> Result<Booking> {
        let ttl = self.pol().hold.ttl_s;
        self.place(
            req,
            Mode { hold_ttl_s: Some(ttl), offer: None, bypass_lottery: false },
            self.now(),
        )
        .and_then(|b| self.durable(b))
    }

    /// Hold with an explicit time-to-live in seconds (1 ..= 86,400).
    pub fn hold_for(&self, req: &Request, ttl_s: u32) -> Result<Booking> {
        if !(1..=86_400).contains(&ttl_s) {
            return Err(Error::invalid(format!("hold ttl_s {ttl_s} must be 1 ..= 86400")));
        }
        self.place(
            req,
            Mode { hold_ttl_s: Some(ttl_s), offer: None, bypass_lottery: false },
            self.now(),
        )
        .and_then(|b| self.durable(b))
    }

    /// Hold and confirm in one call.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// let (a, b, c) = (engine.register_patient()?, engine.register_patient()?, engine.register_patient()?);
    /// engine.book(&Request::new(a, slots.start, app))?;
    /// engine.book(&Request::new(b, slots.start, app))?;
    /// // Two places, two bookings: the third request finds the slot full, and nothing changed.
    /// assert!(matches!(engine.book(&Request::new(c, slots.start, app)), Err(Error::SlotFull { .. })));
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn book(&self, req: &Request) -> Result<Booking> {
        self.place(req, Mode { hold_ttl_s: None, offer: None, bypass_lottery: false }, self.now())
            .and_then(|b| self.durable(b))
    }

    /// Book, or — inside a release-lottery window — enter the lottery of that release.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// let patient = engine.register_patient()?;
    /// // No lottery in the default policy: first come, first served.
    /// match engine.submit(&Request::new(patient, slots.start, app))? {
    ///     Submission::Booked { booking } => assert_eq!(booking.state, BookingState::Booked),
    ///     Submission::Entered { .. } => unreachable!("the default policy draws no lottery"),
    /// }
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn submit(&self, req: &Request) -> Result<Submission> {
        let now = self.now();
        let slot = self.slot_ref(req.slot)?;
        let window = self.window(&slot);
        match self.lottery_draw_at(&window, now) {
            Some(draws_at) => self
                .enter_lottery(req, window.public_opens_at, draws_at, now)
                .and_then(|s| self.durable(s)),
            None => self.book(req).map(|booking| Submission::Booked { booking }),
        }
    }

    /// Run `f` on a booking under its patient's lock.
    fn with_booking<T>(
        &self,
        id: BookingId,
        f: impl FnOnce(&Engine, PatientId, &mut PatientState, usize) -> Result<T>,
    ) -> Result<T> {
        let (owner, mut state) = self
            .patients
            .lock(id.origin_patient())
            .map_err(|_| Error::not_found("booking", id.0))?;
        match state.bookings.iter().rposition(|b| b.id == id) {
            // A booking of a retired day that retention has not pruned from this record yet:
            // already forgotten (see `Engine::retire_due` for why this check is made here,
            // under the patient's lock).
            Some(index) if self.is_retired(state.bookings[index].starts_at()) => {
                Err(Error::not_found(FORGOTTEN_BOOKING, id.0))
            }
            Some(index) => f(self, owner, &mut state, index),
            None => {
                drop(state);
                Err(self.booking_missing(id))
            }
        }
    }

    /// The error for a booking id its patient's record does not hold: an id that was issued
    /// but whose ended booking has been forgotten (see `ENDED_BOOKINGS_KEPT`) says so, unlike
    /// an id that never existed. Takes the origin patient's lock itself: call it unlocked.
    pub(crate) fn booking_missing(&self, id: BookingId) -> Error {
        let issued = self
            .patients
            .lock_raw(id.origin_patient())
            .is_ok_and(|origin| (id.0 as u32) < origin.next_seq);
        if issued {
            Error::not_found(FORGOTTEN_BOOKING, id.0)
        } else {
            Error::not_found("booking", id.0)
        }
    }

    fn wrong_state(b: &BookingRec, action: &str) -> Error {
        Error::WrongState { booking: b.id, state: b.state, action: action.into() }
    }

    /// End an active booking: emit `event`, give the place back and the referral too. Under the
    /// patient lock. The event is numbered *before* the place is released, so a claim that
    /// takes this place is numbered after it: every prefix of the journal (what a crash leaves)
    /// is within capacity.
    fn end_booking(
        &self,
        state: &mut PatientState,
        index: usize,
        to: BookingState,
        now: Timestamp,
        event: impl FnOnce() -> EventKind,
    ) -> (SlotId, Option<ReferralId>) {
        let b = &mut state.bookings[index];
        debug_assert!(b.state.is_active());
        b.state = to;
        self.emit_lazily(now, event);
        let place = self.store.get(b.slot);
        if let Some(slot) = &place {
            self.store.release(slot, b.pool);
        }
        let slot = b.slot;
        let referral = state.referral_of(&state.bookings[index]);
        if let Some(r) = referral.and_then(|r| state.referral_mut(r)) {
            r.used_by = None;
            self.emit_at(now, EventKind::ReferralReturned { referral: r.id });
        }
        if let Some(place) = place {
            self.board_free_change(&place, now);
        }
        (slot, referral)
    }

    /// A hold whose time is up answers [`Error::HoldExpired`], however it is asked about and
    /// whether or not `tick` processed it yet: a hold past its deadline is expired here first
    /// (releasing its place, as the tick would). Returns the error and the freed slot, if this
    /// call expired it.
    fn expired_hold(
        &self,
        state: &mut PatientState,
        i: usize,
        now: Timestamp,
    ) -> Option<(Error, Option<SlotId>)> {
        let b = &state.bookings[i];
        let (id, expired_at, slot) = (b.id, b.expires_at(), b.slot);
        match b.state {
            BookingState::Expired => Some((
                Error::HoldExpired { booking: id, expired_at, utc_offset_s: self.utc_offset_s },
                None,
            )),
            BookingState::Held if now >= expired_at => {
                self.end_booking(state, i, BookingState::Expired, now, || EventKind::Expired {
                    booking: id,
                    slot,
                });
                Some((
                    Error::HoldExpired { booking: id, expired_at, utc_offset_s: self.utc_offset_s },
                    Some(slot),
                ))
            }
            _ => None,
        }
    }

    /// Confirm a hold. A hold past its expiry is [`Error::HoldExpired`] (see `expired_hold`).
    pub fn confirm(&self, id: BookingId) -> Result<Booking> {
        let now = self.now();
        let (result, freed) = self.with_booking(id, |engine, owner, state, i| {
            if let Some((err, freed)) = engine.expired_hold(state, i, now) {
                return Ok((Err(err), freed));
            }
            let b = &state.bookings[i];
            if b.state != BookingState::Held {
                return Ok((Err(Self::wrong_state(b, "confirm")), None));
            }
            state.bookings[i].state = BookingState::Booked;
            engine.emit_at(now, EventKind::Confirmed { booking: id });
            Ok((Ok(state.public_at(i, owner)), None))
        })?;
        if let Some(slot) = freed {
            self.offer_freed_place(slot, now);
        }
        // The expiry this call performed is a state change: durable before it is reported.
        self.durable(())?;
        result
    }

    /// Cancel a hold or booking. Cancelling a booking after the policy's free-cancellation time
    /// (default 15:00 the day before) counts as a fraction of a no-show. A hold past its expiry
    /// is [`Error::HoldExpired`].
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// let patient = engine.register_patient()?;
    /// let booking = engine.book(&Request::new(patient, slots.start, app))?;
    /// assert_eq!(engine.cancel(booking.id)?.state, BookingState::Cancelled);
    /// // After 15:00 the day before: a late cancellation, counted as a fraction of a no-show.
    /// assert!(engine.patient_record(patient)?.no_shows_in_window > 0.0);
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn cancel(&self, id: BookingId) -> Result<Booking> {
        let now = self.now();
        let mut group_freed = Vec::new();
        let (result, slot) = self.with_booking(id, |engine, owner, state, i| {
            if let Some((err, freed)) = engine.expired_hold(state, i, now) {
                return Ok((Err(err), freed));
            }
            // A place of a booking group: the whole group goes, as one (groups.rs).
            if let Some(group) =
                state.groups().first().and_then(|_| state.group_of(id)).map(|g| g.id)
            {
                let (booking, freed) = engine.cancel_group_locked(owner, state, group, id, now)?;
                group_freed = freed;
                return Ok((Ok(booking), None));
            }
            let b = &state.bookings[i];
            if !matches!(b.state, BookingState::Held | BookingState::Booked) {
                return Err(Self::wrong_state(b, "cancel"));
            }
            let free_until = engine.local(
                b.date.plus_days(-1),
                engine.pol().cancellation.free_until_day_before_at_min,
            );
            let late = b.state == BookingState::Booked && now >= free_until;
            // A late cancellation's weight and the suspension it may trigger come from the
            // policy, and replay derives them again: no policy change between numbering the
            // event and reading them (see `policy_gate`; `late` itself is in the event). Taken
            // only when late, to keep it off the common path; inside the patient lock is safe,
            // since `set_policy` holds the gate without taking any patient lock.
            let _policy_gate = late.then(|| engine.policy_gate());
            let (patient, slot) = (owner, b.slot);
            engine.end_booking(state, i, BookingState::Cancelled, now, || EventKind::Cancelled {
                booking: id,
                slot,
                by: CancelledBy::Patient,
                late,
            });
            if late {
                let weight = engine.pol().cancellation.late_cancel_weight;
                if let Some((until, n)) =
                    engine.add_no_show(state, patient, weight, now, &engine.pol().no_show)
                {
                    engine
                        .emit_at(now, EventKind::PatientSuspended { patient, until, no_shows: n });
                }
            }
            Ok((Ok(state.public_at(i, owner)), Some(slot)))
        })?;
        if let Some(slot) = slot {
            self.offer_freed_place(slot, now);
        }
        for slot in group_freed {
            self.offer_freed_place(slot, now);
        }
        self.durable(())?;
        result
    }

    /// The patient arrived (报到). Accepted from local midnight of the visit day on: a booking
    /// checked in can no longer be marked a no-show, so a check-in before the visit day would
    /// take it out of the no-show rules (`Error::InvalidArgument`, nothing changes). Later
    /// than the visit day is accepted while the booking is still booked: a host may record
    /// arrivals late.
    pub fn check_in(&self, id: BookingId) -> Result<Booking> {
        let now = self.now();
        self.with_booking(id, |engine, owner, state, i| {
            let b = &mut state.bookings[i];
            if b.state != BookingState::Booked {
                return Err(Self::wrong_state(b, "check in"));
            }
            let (visit_day, _) = b.starts_at().to_local(engine.utc_offset_s);
            let (today, _) = now.to_local(engine.utc_offset_s);
            if today < visit_day {
                return Err(Error::invalid(format!(
                    "{id} is for {visit_day}; a patient checks in on the visit day, not before \
                     (today is {today})"
                )));
            }
            b.state = BookingState::CheckedIn;
            let event = || {
                engine.emit_at(now, EventKind::CheckedIn { booking: id });
            };
            match engine.store.get(b.slot) {
                Some(slot) => {
                    if let Ok(r) = engine.registry.resource(slot.resource) {
                        r.outcomes.fetch_add(1, Ordering::Relaxed);
                    }
                    // Joins its session's queue; the event is numbered under the board's
                    // department lock (board.rs).
                    engine.board_change(&slot, Change::CheckedIn, now, true, event);
                }
                None => event(),
            }
            Ok(state.public_at(i, owner))
        })
        .and_then(|b| self.durable(b))
    }

    /// The visit took place.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// let patient = engine.register_patient()?;
    /// let booking = engine.book(&Request::new(patient, slots.start, app))?;
    /// engine.advance_to(Timestamp::from_local(day, 7 * 60 + 50, 8 * 3600))?;
    /// engine.check_in(booking.id)?; // 报到: the patient joins the session's queue
    /// assert_eq!(engine.fulfil(booking.id)?.state, BookingState::Fulfilled);
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn fulfil(&self, id: BookingId) -> Result<Booking> {
        let now = self.now();
        self.with_booking(id, |engine, owner, state, i| {
            let b = &mut state.bookings[i];
            if b.state != BookingState::CheckedIn {
                return Err(Self::wrong_state(b, "fulfil"));
            }
            b.state = BookingState::Fulfilled;
            let event = || {
                engine.emit_at(now, EventKind::Fulfilled { booking: id });
            };
            match engine.store.get(b.slot) {
                Some(slot) => engine.board_change(&slot, Change::Fulfilled, now, true, event),
                None => event(),
            }
            Ok(state.public_at(i, owner))
        })
        .and_then(|b| self.durable(b))
    }

    /// The patient did not come. Allowed once the segment has started. Counts one no-show and
    /// may start a suspension (the ladder of the policy).
    pub fn mark_no_show(&self, id: BookingId) -> Result<Booking> {
        // The no-show's suspension comes from the policy, and replay derives it again.
        let policy_gate = self.policy_gate();
        let now = self.now();
        let marked = self.with_booking(id, |engine, owner, state, i| {
            let b = &mut state.bookings[i];
            if b.state != BookingState::Booked {
                return Err(Self::wrong_state(b, "mark as no-show"));
            }
            if now < b.starts_at() {
                return Err(Error::invalid(format!(
                    "{id} starts at {}; a no-show can only be marked after that",
                    b.starts_at()
                )));
            }
            b.state = BookingState::NoShow;
            let (slot, patient) = (b.slot, owner);
            if let Some(r) =
                engine.store.get(slot).and_then(|s| engine.registry.resource(s.resource).ok())
            {
                r.outcomes.fetch_add(1, Ordering::Relaxed);
                r.no_shows.fetch_add(1, Ordering::Relaxed);
            }
            engine.emit_at(now, EventKind::NoShow { booking: id, slot });
            if let Some((until, n)) =
                engine.add_no_show(state, patient, 1.0, now, &engine.pol().no_show)
            {
                engine.emit_at(now, EventKind::PatientSuspended { patient, until, no_shows: n });
            }
            Ok(state.public_at(i, owner))
        });
        drop(policy_gate);
        marked.and_then(|b| self.durable(b))
    }

    /// Expire a hold whose deadline passed (called by `tick`). Returns whether it expired.
    pub(crate) fn expire_if_due(&self, id: BookingId, now: Timestamp) -> bool {
        let freed = self.with_booking(id, |engine, _, state, i| {
            let b = &state.bookings[i];
            if b.state != BookingState::Held || now < b.expires_at() {
                return Ok(None);
            }
            let slot = b.slot;
            engine.end_booking(state, i, BookingState::Expired, now, || EventKind::Expired {
                booking: id,
                slot,
            });
            Ok(Some(slot))
        });
        match freed {
            Ok(Some(slot)) => {
                self.offer_freed_place(slot, now);
                true
            }
            _ => false,
        }
    }
}
