//! Multi-place bookings — booking groups — all or nothing: a bed stay of several nights, a
//! doctor's session with the exam it needs. Taking, moving (`reschedule`) and cancelling a
//! group; finding bed stays. The single-place path is `booking.rs`; a group goes through the
//! same steps (window, pool order, referral, limits, one compare-and-swap per place) for each of
//! its places, under the one lock of its patient.
//!
//! How all or nothing holds:
//! - **Taking**: every place is claimed under the patient's lock; if one claim fails, the places
//!   claimed so far are given back and the call fails. Nothing was numbered, so nothing is
//!   journaled. A reader may see those places taken for that moment, never after the call
//!   returns.
//! - **The journal**: each change of a group is one record (`EventKind::Group`), holding the
//!   ordinary `booked`/`cancelled`/referral events it is made of. A crash keeps all of a change
//!   or none of it, and replay applies it as one.
//! - **Giving back**: the record is numbered before any place is released (as `end_booking`
//!   does), so a claim that takes a freed place is numbered after it: every prefix of the
//!   journal stays within capacity.
//! - **Limits**: a group counts once, on its first active place
//!   (`PatientState::counts_for_limits`); a reschedule does not count the booking it moves.
//! - **Provider suspensions** end the whole group: the places in the suspended session are
//!   cancelled by the provider, the others with them (`CancelledBy::Group`); neither counts
//!   against the patient.

use crate::booking_record::BookingRec;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::*;
use crate::model::{
    Booking, BookingGroup, BookingState, CancelledBy, GroupAction, GroupRequest, Pool,
    RescheduleRequest, ResourceKind, StayOffer, StayQuery, Urgency, GROUP_PLACES_MAX,
};
use crate::patients::{push_lean, GroupRec, PatientState, BOOKINGS_PER_PATIENT_MAX};
use crate::policy::GroupDates;
use crate::slot::{ClaimError, Slot};
use crate::time::{Date, Timestamp};
use crate::Engine;
use std::collections::HashSet;

/// Most days a stay search may move the first night (`StayQuery::flex_days`).
pub const STAY_FLEX_DAYS_MAX: u16 = 30;
/// Most offers one stay search returns.
pub const STAY_LIMIT_MAX: u32 = 1_000;

/// A place about to be taken: its slot, the pools it may take now, and — when rescheduling —
/// the old booking whose place in the same slot it keeps.
struct Wanted<'a> {
    id: SlotId,
    slot: &'a Slot,
    /// The slot's department (from its resource-day's counters), read once.
    department: DepartmentId,
    starts_at: Timestamp,
    order: crate::booking::PoolOrder,
    kept: Option<(BookingId, Pool)>,
}

impl Engine {
    /// Book several places at once, all or nothing: the nights of a bed stay, a visit and its
    /// exam. Each place is checked as [`Engine::book`] checks one (window, pools, capacity);
    /// the per-patient limits count the group once, on its first place. If any place cannot
    /// be taken, the call fails with that place's error and nothing changes.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Xiamen Maternity Hospital", Tier::Tertiary, "Siming")?;
    /// # let ward = engine.add_department(hospital, "obstetrics", "Obstetric ward")?;
    /// let beds = engine.add_resource(ward, ResourceKind::Bed, "Delivery beds", false)?;
    /// // One slot per night, two beds each.
    /// let nights: Vec<SlotSpec> = (0..3)
    ///     .map(|n| SlotSpec { resource: beds, date: day.plus_days(n), start_min: 20 * 60, end_min: 20 * 60 + 1, capacity: 2 })
    ///     .collect();
    /// let slots = engine.publish_slots(&nights)?;
    /// let mother = engine.register_patient()?;
    /// let app = engine.channel_id("app")?;
    /// let stay = engine.book_group(&GroupRequest {
    ///     patient: mother,
    ///     channel: app,
    ///     slots: slots.iter().collect(),
    ///     referral: None,
    /// })?;
    /// assert_eq!(stay.bookings.len(), 3);
    /// // Cancelling any night cancels the stay.
    /// engine.cancel(stay.bookings[1].id)?;
    /// assert!(engine.booking_group(stay.id)?.bookings.iter().all(|b| b.state == BookingState::Cancelled));
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn book_group(&self, req: &GroupRequest) -> Result<BookingGroup> {
        let now = self.now();
        let (group, freed) =
            self.take_group(req.patient, req.channel, &req.slots, req.referral, None, now)?;
        debug_assert!(freed.is_empty());
        self.durable(group)
    }

    /// Move a booking or a whole group to other places, atomically: the new places are taken
    /// before the old are given back, or nothing changes. A slot the old booking already holds
    /// a place in keeps that place. The limits count the booking once throughout, the moved
    /// bookings end as `cancelled` (never late: moving is not a no-show), and the referral it
    /// used moves with it. The result's `replaces` names the old booking or group.
    pub fn reschedule(&self, req: &RescheduleRequest) -> Result<BookingGroup> {
        let now = self.now();
        let patient = req.booking.origin_patient();
        let (group, freed) =
            self.take_group(patient, req.channel, &req.slots, None, Some(req.booking), now)?;
        for slot in freed {
            self.offer_freed_place(slot, now);
        }
        self.durable(group)
    }

    /// The booking group a booking belongs to (`id` may be any of its bookings).
    /// [`Error::NotFound`] for a booking that is not part of a group.
    pub fn booking_group(&self, id: BookingId) -> Result<BookingGroup> {
        let (patient, state) = self
            .patients
            .lock(id.origin_patient())
            .map_err(|_| Error::not_found("booking", id.0))?;
        let g = state.group_of(id).ok_or_else(|| Error::not_found("booking group", id.0))?;
        Ok(BookingGroup {
            id: g.id,
            patient,
            bookings: g
                .members
                .iter()
                .filter_map(|m| state.booking(*m))
                .map(|b| state.public_booking(b, patient))
                .collect(),
            replaces: g.replaces,
        })
    }

    /// The patient-side checks and the claims of a group, then its record. `old`: the booking
    /// being rescheduled. Returns the group and the slots whose places were given back.
    fn take_group(
        &self,
        patient: PatientId,
        channel: ChannelId,
        slots: &[SlotId],
        referral: Option<ReferralId>,
        old: Option<BookingId>,
        now: Timestamp,
    ) -> Result<(BookingGroup, Vec<SlotId>)> {
        check_places(slots)?;
        self.registry.channel(channel)?;
        let mut wanted = Vec::with_capacity(slots.len());
        for &id in slots {
            let slot = self.slot_ref(id)?;
            let window = self.window(&slot);
            if now >= window.closes_at {
                return Err(Error::BookingClosed {
                    slot: id,
                    closed_at: window.closes_at,
                    utc_offset_s: self.utc_offset_s,
                });
            }
            if slot.is_closed() {
                return Err(Error::SlotClosed { slot: id });
            }
            // A group is never drawn by lot: one place drawn and another not would break it.
            if let Some(draws_at) = self.lottery_draw_at(&window, now) {
                return Err(Error::LotteryWindow {
                    slot: id,
                    draws_at,
                    utc_offset_s: self.utc_offset_s,
                });
            }
            wanted.push((id, slot, window));
        }

        let (patient, mut guard) = match old {
            Some(b) => self
                .patients
                .lock(b.origin_patient())
                .map_err(|_| Error::not_found("booking", b.0))?,
            None => self.patients.lock(patient)?,
        };
        let state = &mut *guard;
        if let Some(until) = state.suspended_until().filter(|u| *u > now) {
            return Err(Error::PatientSuspended {
                patient,
                until,
                utc_offset_s: self.utc_offset_s,
            });
        }
        // What is being moved: its members still held or booked, and the referral it used.
        let moving = match old {
            Some(b) => Some(self.moving(state, b)?),
            None => None,
        };
        let referral = match &moving {
            Some(m) => m.referral,
            None => referral,
        };
        let lead = &*wanted[0].1;
        let urgency = match (referral, &moving) {
            // Checked on the lead, as a single booking's is on its slot.
            (Some(r), None) => Some(self.check_referral(state, r, lead, now)?),
            // A moved booking keeps the referral it already used.
            (Some(r), Some(_)) => state.referrals().iter().find(|x| x.id == r).map(|x| x.urgency),
            (None, _) => None,
        };
        let lead_department = self.store.department_of(lead);
        let specialty = self.registry.department(lead_department)?.specialty;
        let mut places = Vec::with_capacity(wanted.len());
        for (id, slot, window) in &wanted {
            let department = self.store.department_of(slot);
            let same = self.registry.department(department)?.specialty == specialty;
            let urgency: Option<Urgency> = urgency.filter(|_| same);
            let order =
                self.pool_order(slot, window, channel, urgency, now).map_err(|e| match e {
                    Error::NotOpenYet { opens_at, utc_offset_s, .. } => {
                        Error::NotOpenYet { slot: *id, opens_at, utc_offset_s }
                    }
                    e => e,
                })?;
            let kept = moving
                .as_ref()
                .and_then(|m| m.members.iter().find(|x| x.slot == *id).map(|x| (x.id, x.pool)));
            let starts_at = window.starts_at;
            places.push(Wanted { id: *id, slot, department, starts_at, order, kept });
        }
        let limits = &self.pol().limits;
        state.check_limits_excluding(
            patient,
            limits,
            lead_department,
            lead.date(),
            moving.as_ref().map(|m| m.unit),
        )?;
        if limits.group_dates == GroupDates::Every {
            // The group counts on each of its dates too (once per date and department-date).
            let unit = moving.as_ref().map(|m| m.unit);
            for (i, p) in places.iter().enumerate().skip(1) {
                // `places[0]` is the lead.
                let key = (p.slot.date(), p.department);
                let seen = places[..i].iter().any(|q| (q.slot.date(), q.department) == key);
                if !seen {
                    state.check_day_limits(patient, limits, key.1, key.0, unit)?;
                }
            }
        }
        if state.bookings.len() + places.len() > BOOKINGS_PER_PATIENT_MAX {
            return Err(Error::CapacityExceeded(format!(
                "{patient} has {BOOKINGS_PER_PATIENT_MAX} bookings on record"
            )));
        }

        // Claims: all, or none (given back on the first failure, before anything is numbered).
        // One pin for the day logs of all of them (`SlotStore::log_attempt`).
        let pin = &crossbeam_epoch::pin();
        let mut pools = Vec::with_capacity(places.len());
        for p in &places {
            if let Some((_, pool)) = p.kept {
                pools.push(pool);
                continue;
            }
            let claimed =
                self.store.log_attempt(p.slot.date(), p.id, patient, pin).and_then(|()| {
                    self.store.claim(p.slot, p.order.as_slice()).map_err(|e| match e {
                        ClaimError::Full => Error::SlotFull { slot: p.id },
                        ClaimError::Closed => Error::SlotClosed { slot: p.id },
                    })
                });
            match claimed {
                Ok(pool) => pools.push(pool),
                Err(e) => {
                    for (q, pool) in places.iter().zip(&pools) {
                        if q.kept.is_none() {
                            self.store.release(q.slot, *pool);
                        }
                    }
                    return Err(e);
                }
            }
        }

        // Every place is ours: record, number, then give the old places back.
        let mut freed = Vec::new();
        if let Some(m) = &moving {
            for x in &m.members {
                if let Some(b) = state.booking_mut(x.id) {
                    b.state = BookingState::Cancelled;
                }
                if !places.iter().any(|p| p.id == x.slot) {
                    freed.push((x.slot, x.pool));
                }
            }
        }
        let first = state.next_seq;
        let id_of = |i: usize| BookingId::new(patient, first + i as u32);
        let mut bookings = Vec::with_capacity(places.len());
        for (i, (p, pool)) in places.iter().zip(&pools).enumerate() {
            bookings.push(Booking {
                id: id_of(i),
                patient,
                slot: p.id,
                department: p.department,
                date: p.slot.date(),
                channel,
                state: BookingState::Booked,
                pool: *pool,
                referral: referral.filter(|_| i == 0),
                offer: None,
                created_at: now,
                expires_at: now,
                starts_at: p.starts_at,
            });
        }
        let group_id = id_of(0);
        if let Some(r) = referral.and_then(|r| state.referral_mut(r)) {
            r.used_by = Some(group_id);
        }
        state.next_seq += places.len() as u32;
        // One growth for the group's places, not one per place.
        state.bookings.reserve_exact(bookings.len());
        for b in &bookings {
            let (rec, links) = BookingRec::made(b);
            state.push_booking(rec, links, now);
        }
        let replaces = moving.as_ref().map(|m| m.unit);
        push_lean(
            state.groups_mut(),
            GroupRec { id: group_id, members: bookings.iter().map(|b| b.id).collect(), replaces },
        );
        let action = if moving.is_some() { GroupAction::Rescheduled } else { GroupAction::Booked };
        // Built only if journaled or subscribed to (`emit_lazily`): the old places' ends, then
        // the new places, then the referral, in the order replay applies them.
        self.emit_lazily(now, || {
            let moved = moving.as_ref().map_or(&[][..], |m| &m.members[..]);
            let mut events = Vec::with_capacity(moved.len() + bookings.len() + 1);
            events.extend(moved.iter().map(|x| EventKind::Cancelled {
                booking: x.id,
                slot: x.slot,
                by: CancelledBy::Patient,
                late: false,
            }));
            events.extend(bookings.iter().map(|b| EventKind::Booked {
                booking: b.id,
                slot: b.slot,
                patient,
                channel,
                pool: b.pool,
                referral: b.referral,
            }));
            if let Some(r) = referral {
                events.push(EventKind::ReferralConsumed { referral: r, booking: group_id });
            }
            EventKind::Group { group: group_id, action, replaces, events }
        });
        for (slot, pool) in &freed {
            if let Some(s) = self.store.get(*slot) {
                self.store.release(&s, *pool);
            }
        }
        for p in places.iter().filter(|p| p.kept.is_none()) {
            self.board_free_change(p.slot, now);
        }
        for s in freed.iter().filter_map(|(s, _)| self.store.get(*s)) {
            self.board_free_change(&s, now);
        }
        drop(guard);
        Ok((
            BookingGroup { id: group_id, patient, bookings, replaces },
            freed.into_iter().map(|(s, _)| s).collect(),
        ))
    }

    /// The booking or group `id` as a reschedule moves it: its members still held or booked.
    fn moving(&self, state: &PatientState, id: BookingId) -> Result<Moving> {
        let b = state.booking(id).ok_or_else(|| Error::not_found("booking", id.0))?;
        // Of a retired day not yet pruned from this record: forgotten (`Engine::retire_due`).
        if self.is_retired(b.starts_at()) {
            return Err(Error::not_found(crate::error::FORGOTTEN_BOOKING, id.0));
        }
        let (unit, ids) = match state.group_of(id) {
            Some(g) => (g.id, g.members.clone()),
            None => (id, vec![id]),
        };
        let mut members = Vec::with_capacity(ids.len());
        let mut referral = None;
        for m in ids {
            let Some(x) = state.booking(m) else { continue };
            match x.state {
                BookingState::Held | BookingState::Booked => {
                    if let Some(r) = state.referral_of(x) {
                        referral = Some(r);
                    }
                    members.push(Member { id: x.id, slot: x.slot, pool: x.pool });
                }
                BookingState::CheckedIn => {
                    return Err(Error::WrongState {
                        booking: x.id,
                        state: x.state,
                        action: "reschedule".into(),
                    })
                }
                _ => {}
            }
        }
        if members.is_empty() {
            return Err(Error::WrongState {
                booking: id,
                state: b.state,
                action: "reschedule".into(),
            });
        }
        Ok(Moving { unit, members, referral })
    }

    /// Cancel what is left of group `group` for its patient (`asked`: the booking the call
    /// named). Under the patient lock. Returns the asked booking and the slots freed.
    pub(crate) fn cancel_group_locked(
        &self,
        owner: PatientId,
        state: &mut PatientState,
        group: BookingId,
        asked: BookingId,
        now: Timestamp,
    ) -> Result<(Booking, Vec<SlotId>)> {
        let ending =
            group_members(state, group, |s| matches!(s, BookingState::Held | BookingState::Booked));
        let Some(first) = ending.first() else {
            let b = state.booking(asked).ok_or_else(|| Error::not_found("booking", asked.0))?;
            return Err(Error::WrongState {
                booking: asked,
                state: b.state,
                action: "cancel".into(),
            });
        };
        let policy = self.pol();
        let free_until =
            self.local(first.date.plus_days(-1), policy.cancellation.free_until_day_before_at_min);
        // Late once, for the group: on its first place still to come.
        let late = first.state == BookingState::Booked && now >= free_until;
        let _policy_gate = late.then(|| self.policy_gate());
        let policy = self.pol();
        let returned = end_members(state, &ending, BookingState::Cancelled);
        let suspended = if late {
            self.add_no_show(
                state,
                owner,
                policy.cancellation.late_cancel_weight,
                now,
                &policy.no_show,
            )
        } else {
            None
        };
        let patient = owner;
        self.emit_lazily(now, || {
            let mut events = Vec::with_capacity(ending.len() + returned.len() + 1);
            events.extend(ending.iter().enumerate().map(|(i, b)| EventKind::Cancelled {
                booking: b.id,
                slot: b.slot,
                by: CancelledBy::Patient,
                late: late && i == 0,
            }));
            events
                .extend(returned.iter().map(|&referral| EventKind::ReferralReturned { referral }));
            if let Some((until, no_shows)) = suspended {
                events.push(EventKind::PatientSuspended { patient, until, no_shows });
            }
            let action = GroupAction::Cancelled;
            EventKind::Group { group, action, replaces: None, events }
        });
        for b in &ending {
            if let Some(s) = self.store.get(b.slot) {
                self.store.release(&s, b.pool);
                self.board_free_change(&s, now);
            }
        }
        let asked = state
            .booking(asked)
            .map(|b| state.public_booking(b, owner))
            .ok_or_else(|| Error::not_found("booking", asked.0))?;
        Ok((asked, ending.iter().map(|b| b.slot).collect()))
    }

    /// A provider suspension closed `closed`: end every group of this patient with an active
    /// place there, all of it. Under the patient lock. Returns the bookings ended.
    pub(crate) fn end_groups_in_closed(
        &self,
        owner: PatientId,
        state: &mut PatientState,
        closed: &HashSet<SlotId>,
        now: Timestamp,
    ) -> Vec<Booking> {
        let hit: Vec<BookingId> = state
            .groups()
            .iter()
            .filter(|g| {
                g.members.iter().any(|m| {
                    state
                        .booking(*m)
                        .is_some_and(|b| b.state.is_active() && closed.contains(&b.slot))
                })
            })
            .map(|g| g.id)
            .collect();
        let mut ended = Vec::new();
        for group in hit {
            let ending = group_members(state, group, BookingState::is_active);
            let mut events = Vec::with_capacity(ending.len() + 1);
            for b in &ending {
                let by = if closed.contains(&b.slot) {
                    CancelledBy::Provider
                } else {
                    CancelledBy::Group
                };
                events.push(EventKind::Cancelled { booking: b.id, slot: b.slot, by, late: false });
            }
            let returned = end_members(state, &ending, BookingState::ProviderCancelled);
            events.extend(
                returned.into_iter().map(|referral| EventKind::ReferralReturned { referral }),
            );
            let action = GroupAction::Cancelled;
            self.emit_at(now, EventKind::Group { group, action, replaces: None, events });
            for b in &ending {
                if let Some(s) = self.store.get(b.slot) {
                    if b.state == BookingState::CheckedIn {
                        // A checked-in patient leaves its session's queue (board.rs).
                        self.board_change(&s, crate::load::Change::Left, now, true, || {});
                    }
                    self.store.release(&s, b.pool);
                    self.board_free_change(&s, now);
                }
            }
            ended.extend(ending.iter().map(|b| state.public_booking(b, owner)));
        }
        ended
    }

    /// Bed stays that can be booked now: for each department of the bed class (`specialty`)
    /// with bed resources, the earliest first night from `first_night` (up to `flex_days`
    /// later) for which every night of the stay has a free bed there. Offers in the query's
    /// district come first, then the earliest, then the least loaded. Book one with
    /// [`Engine::book_group`] on its `slots`.
    pub fn find_stays(&self, q: &StayQuery) -> Result<Vec<StayOffer>> {
        if !(1..=GROUP_PLACES_MAX as u16).contains(&q.nights) {
            return Err(Error::invalid(format!(
                "nights {} must be 1 ..= {GROUP_PLACES_MAX}",
                q.nights
            )));
        }
        if q.flex_days > STAY_FLEX_DAYS_MAX {
            return Err(Error::invalid(format!(
                "flex_days {} must be 0 ..= {STAY_FLEX_DAYS_MAX}",
                q.flex_days
            )));
        }
        if !(1..=STAY_LIMIT_MAX).contains(&q.limit) {
            return Err(Error::invalid(format!(
                "limit {} must be 1 ..= {STAY_LIMIT_MAX}",
                q.limit
            )));
        }
        let last = q.first_night.plus_days(q.flex_days as i32 + q.nights as i32 - 1);
        if !q.first_night.is_valid() || !last.is_valid() {
            return Err(Error::InvalidDate(q.first_night));
        }
        let specialty = self
            .registry
            .find_specialty(&q.specialty)
            .ok_or_else(|| Error::invalid(format!("unknown specialty {:?}", q.specialty)))?;
        let district = match &q.district {
            Some(d) => Some(
                self.registry
                    .find_district(d)
                    .ok_or_else(|| Error::invalid(format!("unknown district {d:?}")))?,
            ),
            None => None,
        };
        let now = self.now();
        let mut offers = Vec::new();
        for (_, d) in self.registry.departments.iter().filter(|(_, d)| d.specialty == specialty) {
            let beds: Vec<ResourceId> = self
                .registry
                .by_department
                .get(&d.id)
                .map(|l| l.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|r| self.registry.resource(*r).is_ok_and(|r| r.kind == ResourceKind::Bed))
                .collect();
            if beds.is_empty() {
                continue;
            }
            let institution = self.registry.institution(d.institution)?;
            for start in 0..=q.flex_days as i32 {
                let first = q.first_night.plus_days(start);
                if let Some((slots, load)) = self.stay_at(&beds, first, q.nights, now) {
                    offers.push(StayOffer {
                        institution: d.institution,
                        department: d.id,
                        tier: institution.tier,
                        same_district: district.is_some_and(|x| x == institution.district),
                        first_night: first,
                        slots,
                        load,
                    });
                    break;
                }
            }
        }
        offers.sort_by(|a, b| {
            (!a.same_district, a.first_night)
                .cmp(&(!b.same_district, b.first_night))
                .then(a.load.total_cmp(&b.load))
                .then(a.department.cmp(&b.department))
        });
        offers.truncate(q.limit as usize);
        Ok(offers)
    }

    /// One free bed for each of `nights` nights from `first` among `beds`, the same bed
    /// resource as the night before where it has one; and the booked share of all their beds.
    fn stay_at(
        &self,
        beds: &[ResourceId],
        first: Date,
        nights: u16,
        now: Timestamp,
    ) -> Option<(Vec<SlotId>, f32)> {
        let mut chosen: Vec<SlotId> = Vec::with_capacity(nights as usize);
        let mut previous: Option<ResourceId> = None;
        let (mut places, mut free_total) = (0u64, 0u64);
        for n in 0..nights as i32 {
            let date = first.plus_days(n);
            let mut best: Option<(bool, SlotId, ResourceId)> = None;
            for &r in beds {
                for id in self.store.resource_day(r, date) {
                    let Some(slot) = self.store.get(id) else { continue };
                    if slot.is_closed() {
                        continue;
                    }
                    let window = self.window(&slot);
                    let free = if now >= window.closes_at
                        || self.lottery_draw_at(&window, now).is_some()
                    {
                        0
                    } else {
                        self.free_now(&slot, false, now)
                    };
                    places += slot.capacity() as u64;
                    free_total += free as u64;
                    let same = previous == Some(r);
                    if free > 0 && best.is_none_or(|(s, _, _)| same && !s) {
                        best = Some((same, id, r));
                    }
                }
            }
            let (_, id, r) = best?;
            chosen.push(id);
            previous = Some(r);
        }
        let load = if places == 0 { 1.0 } else { 1.0 - free_total as f32 / places as f32 };
        Some((chosen, load.clamp(0.0, 1.0)))
    }
}

/// The bookings of group `group` whose state passes `ends`, in the group's order (copies:
/// the caller changes the record next).
fn group_members(
    state: &PatientState,
    group: BookingId,
    ends: impl Fn(BookingState) -> bool,
) -> Vec<BookingRec> {
    let Some(g) = state.group_of(group) else { return Vec::new() };
    g.members.iter().filter_map(|m| state.booking(*m)).filter(|b| ends(b.state)).cloned().collect()
}

/// End `ending` in the patient's record as `to` and give back the referrals they used;
/// returns those referrals (for their `referral_returned` events). Places are released by
/// the caller, after the group record is numbered.
fn end_members(
    state: &mut PatientState,
    ending: &[BookingRec],
    to: BookingState,
) -> Vec<ReferralId> {
    let mut returned = Vec::new();
    let referrals: Vec<ReferralId> = ending.iter().filter_map(|b| state.referral_of(b)).collect();
    for r in referrals {
        if let Some(r) = state.referral_mut(r) {
            r.used_by = None;
            returned.push(r.id);
        }
    }
    for b in ending {
        if let Some(x) = state.booking_mut(b.id) {
            x.state = to;
        }
    }
    returned
}

/// What a reschedule moves.
struct Moving {
    /// The booking or group id (what the limits do not count).
    unit: BookingId,
    members: Vec<Member>,
    referral: Option<ReferralId>,
}

struct Member {
    id: BookingId,
    slot: SlotId,
    pool: Pool,
}

/// 1 ..= GROUP_PLACES_MAX places, all in different slots (pairwise: at most 465 comparisons,
/// no allocation, no hashing).
fn check_places(slots: &[SlotId]) -> Result<()> {
    if !(1..=GROUP_PLACES_MAX).contains(&slots.len()) {
        return Err(Error::invalid(format!(
            "a booking group takes 1 ..= {GROUP_PLACES_MAX} places, not {}",
            slots.len()
        )));
    }
    if slots.iter().enumerate().any(|(i, s)| slots[..i].contains(s)) {
        return Err(Error::invalid(
            "a booking group takes one place per slot: a slot is named twice",
        ));
    }
    Ok(())
}
