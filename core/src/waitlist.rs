//! Waitlists.
//!
//! A waitlist entry waits for a place in a department (optionally one resource) over a date
//! range. When a place frees up (cancel, expiry, provider suspension does not count), the first
//! matching entry — by priority class, then joining order — is removed from the list and the
//! place is held for that patient with the policy's offer time-to-live. An unanswered offer
//! expires like any hold, which frees the place again and passes it to the next entry.
//!
//! Locking: the department's list is locked only to find and remove an entry; the offer itself
//! runs the ordinary booking path afterwards, under the patient lock alone.

use crate::booking::Mode;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::*;
use crate::model::{PriorityClass, Request, WaitlistEntry, WaitlistRequest};
use crate::time::{Date, Timestamp};
use crate::waitlists::WAITLIST_PER_DEPARTMENT_MAX;
use crate::Engine;
use std::sync::atomic::Ordering;

/// Most entries tried per freed place before giving up (a bound on one cancel's work).
const OFFER_ATTEMPTS_MAX: usize = 32;

impl Engine {
    /// Join a waitlist.
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
    /// let first = engine.book(&Request::new(a, slots.start, app))?;
    /// engine.book(&Request::new(b, slots.start, app))?;
    /// // The slot is full: `c` waits for a place in the department that day.
    /// engine.join_waitlist(&WaitlistRequest {
    ///     patient: c, department: paediatrics, resource: None, date_from: day, date_to: day,
    ///     time: None, channel: app, referral: None, follow_up: false,
    /// })?;
    /// engine.cancel(first.id)?;
    /// // The freed place was offered to `c` as a hold, to confirm within the offer's time.
    /// let offer = engine.bookings_of(c)?.pop().expect("an offer");
    /// assert_eq!((offer.slot, offer.state), (slots.start, BookingState::Held));
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn join_waitlist(&self, req: &WaitlistRequest) -> Result<WaitlistEntry> {
        if !self.pol().waitlist.enabled {
            return Err(Error::invalid("waitlists are disabled by the policy"));
        }
        self.registry.department(req.department)?;
        self.registry.channel(req.channel)?;
        if let Some(r) = req.resource {
            if self.registry.resource(r)?.department != req.department {
                return Err(Error::invalid(format!("{r} is not in {}", req.department)));
            }
        }
        for d in [req.date_from, req.date_to] {
            if !d.is_valid() {
                return Err(Error::InvalidDate(d));
            }
        }
        if req.date_from > req.date_to || req.date_to.0 - req.date_from.0 > 366 {
            return Err(Error::invalid(
                "waitlist dates must satisfy date_from <= date_to, at most 366 days apart",
            ));
        }
        if let Some(t) = req.time {
            t.check()?;
        }
        if self
            .waitlists
            .lists
            .get(&req.department)
            .is_some_and(|l| l.len() >= WAITLIST_PER_DEPARTMENT_MAX)
        {
            return Err(Error::CapacityExceeded(format!(
                "the waitlist of {} is full",
                req.department
            )));
        }
        let now = self.now();
        let entry = {
            let (patient, mut state) = self.patients.lock(req.patient)?;
            if let Some(until) = state.suspended_until().filter(|u| *u > now) {
                return Err(Error::PatientSuspended {
                    patient,
                    until,
                    utc_offset_s: self.utc_offset_s,
                });
            }
            let max = self.pol().waitlist.max_entries_per_patient;
            if state.waitlist_entries >= max {
                return Err(Error::LimitReached {
                    patient,
                    limit: crate::error::LimitKind::WaitlistEntries,
                    max,
                });
            }
            let urgency = match req.referral {
                Some(r) => Some(
                    state
                        .referrals()
                        .iter()
                        .find(|x| x.id == r)
                        .ok_or_else(|| Error::ReferralInvalid {
                            referral: r,
                            reason: "not a referral of this patient".into(),
                        })?
                        .urgency,
                ),
                None => None,
            };
            state.waitlist_entries += 1;
            let id = WaitlistId(self.waitlists.next.fetch_add(1, Ordering::Relaxed) + 1);
            let entry = WaitlistEntry {
                id,
                request: WaitlistRequest { patient, ..req.clone() },
                priority: PriorityClass::of(urgency, req.follow_up),
                joined_at: now,
            };
            self.emit_at(now, EventKind::WaitlistJoined { entry: entry.clone() });
            entry
        };
        self.waitlists.insert(entry.clone());
        self.durable(entry)
    }

    /// Leave a waitlist.
    pub fn leave_waitlist(&self, id: WaitlistId) -> Result<()> {
        let entry =
            self.waitlists.remove(id).ok_or_else(|| Error::not_found("waitlist entry", id.0))?;
        self.forget_entry(&entry);
        self.durable(())
    }

    /// The entries of a department's waitlist, in serving order.
    pub fn waitlist(&self, department: DepartmentId) -> Result<Vec<WaitlistEntry>> {
        self.registry.department(department)?;
        Ok(self.waitlists.lists.get(&department).map(|l| l.clone()).unwrap_or_default())
    }

    /// Retention: the entries whose every date is retired (before `before`) can never be
    /// served; they leave their lists, each with its `WaitlistLeft` event (which replay applies,
    /// so the retirement record itself leaves waitlists alone), and stop counting against
    /// their patients' waits.
    pub(crate) fn leave_past_waitlists(&self, before: Date) {
        if self.waitlists.is_empty() {
            return;
        }
        let past: Vec<WaitlistId> = self
            .waitlists
            .lists
            .iter()
            .flat_map(|l| {
                l.value()
                    .iter()
                    .filter(|e| e.request.date_to < before)
                    .map(|e| e.id)
                    .collect::<Vec<_>>()
            })
            .collect();
        for id in past {
            if let Some(entry) = self.waitlists.remove(id) {
                self.forget_entry(&entry);
            }
        }
    }

    fn forget_entry(&self, entry: &WaitlistEntry) {
        if let Ok((patient, mut state)) = self.patients.lock(entry.request.patient) {
            state.waitlist_entries = state.waitlist_entries.saturating_sub(1);
            self.emit(EventKind::WaitlistLeft { entry: entry.id, patient });
        }
    }

    /// A place in `slot` was freed: offer it to the first matching waitlist entry.
    pub(crate) fn offer_freed_place(&self, slot_id: SlotId, now: Timestamp) {
        if self.waitlists.is_empty() {
            return;
        }
        let Some(slot) = self.store.get(slot_id) else { return };
        let matches = |e: &WaitlistEntry| {
            let r = &e.request;
            r.resource.is_none_or(|x| x == slot.resource)
                && (r.date_from..=r.date_to).contains(&slot.date())
                && r.time.is_none_or(|t| t.contains_start(slot.start_min))
        };
        let candidates: Vec<WaitlistId> = match self
            .waitlists
            .lists
            .get(&self.store.department_of(&slot))
        {
            Some(list) => {
                list.iter().filter(|e| matches(e)).take(OFFER_ATTEMPTS_MAX).map(|e| e.id).collect()
            }
            None => return,
        };
        let ttl = self.pol().hold.offer_ttl_s;
        for id in candidates {
            let Some(entry) = self.waitlists.remove(id) else { continue };
            let r = &entry.request;
            let req = Request {
                patient: r.patient,
                slot: slot_id,
                channel: r.channel,
                referral: r.referral,
                follow_up: r.follow_up,
            };
            match self.place(
                &req,
                Mode { hold_ttl_s: Some(ttl), offer: Some(id), bypass_lottery: true },
                now,
            ) {
                Ok(b) => {
                    if let Ok((_, mut state)) = self.patients.lock(r.patient) {
                        state.waitlist_entries = state.waitlist_entries.saturating_sub(1);
                    }
                    self.emit_at(now, EventKind::WaitlistOffered { entry: id, booking: b.id });
                    return;
                }
                // The place is gone (taken by someone else) or cannot be booked any more: keep
                // the entry for the next place.
                Err(
                    Error::SlotFull { .. } | Error::SlotClosed { .. } | Error::BookingClosed { .. },
                ) => {
                    self.waitlists.insert(entry);
                    return;
                }
                // Not for this patient yet (window): keep the entry, try the next one.
                Err(Error::NotOpenYet { .. }) => self.waitlists.insert(entry),
                // The patient cannot book at all (suspended, limits, referral used): drop it.
                Err(_) => self.forget_entry(&entry),
            }
        }
    }
}
