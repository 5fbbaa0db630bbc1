//! Replay: applying journaled events to an engine *forcibly*.
//!
//! Replay never re-runs a request (that would re-check limits and capacity against a clock and
//! an interleaving that are gone); it writes down what the event says happened: a `Booked`
//! inserts the booking into its patient's record and counts a place in the pool it names,
//! without a capacity check. Events of different patients may reach the journal a few positions
//! away from the order their claims happened in (a release is counted before its `Cancelled`
//! is numbered), so counters may pass a pool's size for a moment during replay; they end where
//! the live engine was. Everything else is derived as the live engine derives it: no-show marks
//! and suspensions from `NoShow` and late `Cancelled`, timers from `Held`, the day log from
//! every placed booking.
//!
//! Entities whose ids come from an append-only vector (institutions, departments, resources,
//! channels, patients, rosters) are numbered before their event is: two concurrent adds may be
//! journaled in the opposite order of their ids. Such an event waits ("is parked") until the
//! ids before it exist.

use super::codec::corrupt;
use crate::booking_record::BookingRec;
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::ids::*;
use crate::load::{Change, FreeReported};
use crate::lotteries::{EnterError, Ticket};
use crate::model::{
    Booking, BookingState, CancelledBy, GroupAction, Pool, Referral, GROUP_PLACES_MAX,
};
use crate::patients::{
    push_lean, GroupRec, LinkedCard, PatientState, BOOKINGS_PER_PATIENT_MAX,
    REFERRALS_PER_PATIENT_MAX,
};

use crate::time::Timestamp;
use crate::waitlists::WAITLIST_PER_DEPARTMENT_MAX;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

/// Most add events that may wait for an earlier id before the journal is judged inconsistent.
const PARKED_MAX: usize = 100_000;

/// Whether a restored engine runs on the system clock or a manual one (simulations).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// The operating system's clock ([`crate::SystemClock`]): production.
    System,
    /// A manual clock; it starts at the latest of this instant and the latest event time found
    /// in the directory, so a simulation continues where it stopped.
    Manual(Timestamp),
}

/// An engine being rebuilt from a snapshot and the journal after it.
pub(crate) struct Replayer {
    pub engine: Engine,
    /// The last event applied (or the snapshot's).
    pub last_seq: u64,
    /// The latest event time seen.
    pub clock: Timestamp,
    /// Release instants already drawn: a `LotteryEntered` numbered after its draw (a race in
    /// the live engine) must not reopen that lottery.
    pub drawn: BTreeSet<Timestamp>,
    parked: BTreeMap<(u8, u64), Event>,
}

fn ordered_key(kind: &EventKind) -> Option<(u8, u64)> {
    Some(match kind {
        EventKind::InstitutionAdded { institution, .. } => (0, institution.0 as u64),
        EventKind::DepartmentAdded { department, .. } => (1, department.0 as u64),
        EventKind::ResourceAdded { resource, .. } => (2, resource.0 as u64),
        EventKind::ChannelAdded { channel, .. } => (3, channel.0 as u64),
        EventKind::PatientRegistered { patient } => (4, patient.0 as u64),
        EventKind::RosterAdded { roster, .. } => (5, roster.0 as u64),
        _ => return None,
    })
}

impl Replayer {
    /// A fresh engine, as `DurableEngine::open` creates one for an empty directory. Its
    /// standard channels are numbered before any journal exists.
    pub fn fresh(config: EngineConfig, clock: ClockKind) -> Result<Replayer> {
        let engine = new_engine(config, clock)?;
        let last_seq = engine.last_event_seq();
        Ok(Replayer {
            engine,
            last_seq,
            clock: Timestamp(0),
            drawn: BTreeSet::new(),
            parked: BTreeMap::new(),
        })
    }

    pub fn from_parts(
        engine: Engine,
        last_seq: u64,
        clock: Timestamp,
        drawn: BTreeSet<Timestamp>,
    ) -> Replayer {
        Replayer { engine, last_seq, clock, drawn, parked: BTreeMap::new() }
    }

    /// Apply the next event; it must carry the next sequence number.
    pub fn apply(&mut self, event: Event) -> Result<()> {
        if event.seq != self.last_seq + 1 {
            return Err(corrupt(format!(
                "journal gap: expected event {}, found {}",
                self.last_seq + 1,
                event.seq
            )));
        }
        if !sane_time(event.at) {
            return Err(corrupt(format!(
                "event {} is dated {}, outside the engine's calendar",
                event.seq, event.at.0
            )));
        }
        self.last_seq = event.seq;
        self.clock = self.clock.max(event.at);
        let seq = event.seq;
        let result = match ordered_key(&event.kind) {
            Some(key) => self.apply_ordered(key, event),
            None => self.apply_kind(event.at, event.kind),
        };
        result.map_err(|e| match e {
            Error::Durability(m) => corrupt(format!("replay of event {seq}: {m}")),
            e => corrupt(format!("replay of event {seq} failed: {e}")),
        })
    }

    /// The id the next addition of `kind` receives (ids are dense index + 1).
    fn next_id(&self, kind: u8) -> u64 {
        let e = &self.engine;
        1 + (match kind {
            0 => e.registry.institutions.count(),
            1 => e.registry.departments.count(),
            2 => e.registry.resources.count(),
            3 => e.registry.channels.count(),
            4 => e.patients.count(),
            _ => e.rosters.inner.lock().len(),
        }) as u64
    }

    fn apply_ordered(&mut self, key: (u8, u64), event: Event) -> Result<()> {
        let next = self.next_id(key.0);
        if key.1 < next {
            // Re-adding an existing channel by name is a no-op in the live engine too.
            if let EventKind::ChannelAdded { channel, name } = &event.kind {
                if self.engine.registry.channel(*channel).is_ok_and(|c| &c.name == name) {
                    return Ok(());
                }
            }
            return Err(corrupt(format!("{:?} id {} exists already", event.kind, key.1)));
        }
        if key.1 > next || !self.ready(&event.kind) {
            if self.parked.len() >= PARKED_MAX {
                return Err(corrupt("too many additions wait for earlier ids"));
            }
            self.parked.insert(key, event);
            return Ok(());
        }
        self.apply_kind(event.at, event.kind)?;
        // Unpark whatever became applicable, until nothing moves.
        loop {
            let ready: Vec<(u8, u64)> = self
                .parked
                .iter()
                .filter(|(k, e)| k.1 == self.next_id(k.0) && self.ready(&e.kind))
                .map(|(k, _)| *k)
                .collect();
            if ready.is_empty() {
                return Ok(());
            }
            for k in ready {
                if let Some(e) = self.parked.remove(&k) {
                    self.apply_kind(e.at, e.kind)?;
                }
            }
        }
    }

    /// Whether what an addition refers to exists yet.
    fn ready(&self, kind: &EventKind) -> bool {
        let r = &self.engine.registry;
        match kind {
            EventKind::DepartmentAdded { institution, .. } => r.institution(*institution).is_ok(),
            EventKind::ResourceAdded { department, .. } => r.department(*department).is_ok(),
            EventKind::RosterAdded { template, .. } => r.resource(template.resource).is_ok(),
            _ => true,
        }
    }

    /// The engine, once the journal is consumed: its sequence continues after the last event
    /// and a manual clock stands at the latest event time.
    pub fn finish(self) -> Result<Engine> {
        if let Some((_, e)) = self.parked.iter().next() {
            return Err(corrupt(format!(
                "event {} adds an id whose predecessors never appear: {:?}",
                e.seq, e.kind
            )));
        }
        self.engine.events.restore_seq(self.last_seq);
        if let Some(clock) = self.engine.manual_clock() {
            clock.set(self.clock);
        }
        Ok(self.engine)
    }

    fn apply_kind(&mut self, at: Timestamp, kind: EventKind) -> Result<()> {
        let e = &self.engine;
        match kind {
            EventKind::InstitutionAdded { institution, name, tier, district } => expect_id(
                e.registry.add_institution(&name, tier, &district)?.0 as u64,
                institution.0 as u64,
            ),
            EventKind::DepartmentAdded { department, institution, specialty, name } => expect_id(
                e.registry.add_department(institution, &specialty, &name)?.0 as u64,
                department.0 as u64,
            ),
            EventKind::ResourceAdded { resource, department, kind, name, expert } => expect_id(
                e.registry.add_resource(department, kind, &name, expert)?.0 as u64,
                resource.0 as u64,
            ),
            EventKind::ChannelAdded { channel, name } => {
                expect_id(e.add_channel(&name)?.0 as u64, channel.0 as u64)
            }
            EventKind::PatientRegistered { patient } => {
                expect_id(e.patients.register()?.0 as u64, patient.0 as u64)
            }
            EventKind::CardLinked { patient, card_type, masked, digest } => {
                let card = LinkedCard::restored(card_type, masked, digest)?;
                let (p, mut state) = e.patients.lock(patient)?;
                if !state.has_card(card.digest) {
                    e.patients.cards.insert(card.digest, p);
                    state.add_card(&e.patients.card_types, card);
                }
                Ok(())
            }
            EventKind::PatientsMerged { survivor, merged } => {
                if e.patients.resolve(survivor)? == merged {
                    return Err(corrupt(format!("merge of {merged} into itself")));
                }
                let taken = {
                    let mut loser = e.patients.lock_raw(merged)?;
                    if loser.merged_into().is_some() {
                        return Err(corrupt(format!("{merged} is merged twice")));
                    }
                    let taken = std::mem::take(&mut *loser);
                    loser.set_merged_into(survivor);
                    taken
                };
                for digest in taken.card_digests() {
                    e.patients.cards.insert(digest, survivor);
                }
                let (_, mut s) = e.patients.lock(survivor)?;
                s.absorb(&e.patients.card_types, survivor, taken);
                Ok(())
            }
            EventKind::SlotsPublished { first, specs } => publish(e, first, &specs),
            EventKind::RosterAdded { roster, template } => {
                template.validate()?;
                expect_id(e.rosters.add(template)?.0 as u64, roster.0 as u64)
            }
            EventKind::RostersPublished { until } => {
                if !until.is_valid() {
                    return Err(Error::InvalidDate(until));
                }
                // Only the "published up to" marks matter (the slots follow as SlotsPublished).
                e.rosters.mark_published(until);
                Ok(())
            }
            EventKind::Held {
                booking,
                slot,
                patient,
                channel,
                pool,
                expires_at,
                referral,
                offer,
            } => self.place(
                at,
                booking,
                slot,
                patient,
                channel,
                pool,
                referral,
                offer,
                Some(expires_at),
            ),
            EventKind::Booked { booking, slot, patient, channel, pool, referral } => {
                self.place(at, booking, slot, patient, channel, pool, referral, None, None)
            }
            EventKind::Confirmed { booking } => {
                self.transition(booking, BookingState::Held, BookingState::Booked, |_, _, _| Ok(()))
            }
            EventKind::Cancelled { booking, slot, by, late } => {
                let to = match by {
                    CancelledBy::Patient => BookingState::Cancelled,
                    CancelledBy::Provider => {
                        // Only a closed slot's bookings are cancelled by the provider.
                        e.store.close(&*e.slot_ref(slot)?);
                        BookingState::ProviderCancelled
                    }
                    // Ended with its group; its own slot stays open.
                    CancelledBy::Group => BookingState::ProviderCancelled,
                };
                self.end(at, booking, slot, to, |e, state| {
                    if late {
                        let p = &e.pol();
                        let weight = p.cancellation.late_cancel_weight;
                        e.add_no_show(state, booking.origin_patient(), weight, at, &p.no_show);
                    }
                })
            }
            EventKind::Expired { booking, slot } => {
                self.end(at, booking, slot, BookingState::Expired, |_, _| {})
            }
            EventKind::CheckedIn { booking } => self.transition(
                booking,
                BookingState::Booked,
                BookingState::CheckedIn,
                |e, _, b| {
                    resource_of(e, b.slot)?.outcomes.fetch_add(1, Ordering::Relaxed);
                    e.board_change(&*e.slot_ref(b.slot)?, Change::CheckedIn, at, false, || {});
                    Ok(())
                },
            ),
            EventKind::Fulfilled { booking } => self.transition(
                booking,
                BookingState::CheckedIn,
                BookingState::Fulfilled,
                |e, _, b| {
                    e.board_change(&*e.slot_ref(b.slot)?, Change::Fulfilled, at, false, || {});
                    Ok(())
                },
            ),
            EventKind::NoShow { booking, slot: _ } => self.transition(
                booking,
                BookingState::Booked,
                BookingState::NoShow,
                |e, state, b| {
                    let r = resource_of(e, b.slot)?;
                    r.outcomes.fetch_add(1, Ordering::Relaxed);
                    r.no_shows.fetch_add(1, Ordering::Relaxed);
                    e.add_no_show(state, booking.origin_patient(), 1.0, at, &e.pol().no_show);
                    Ok(())
                },
            ),
            EventKind::PatientSuspended { patient, until, .. } => {
                // Normally already derived from the no-show that caused it; idempotent.
                let (_, mut state) = e.patients.lock(patient)?;
                state.suspend_until(until);
                Ok(())
            }
            EventKind::SessionSuspended { resource, date, time, .. } => {
                for id in e.store.resource_day(resource, date) {
                    if let Some(s) = e.store.get(id) {
                        if time.is_none_or(|t| t.contains_start(s.start_min)) {
                            e.store.close(&s);
                        }
                    }
                }
                Ok(())
            }
            EventKind::ReferralIssued {
                referral,
                patient,
                from,
                specialty,
                institution,
                urgency,
                valid_until,
            } => {
                let (p, mut state) = e.patients.lock(patient)?;
                if state.referrals().len() >= REFERRALS_PER_PATIENT_MAX {
                    return Err(corrupt(format!("{p} has too many referrals")));
                }
                state.add_referral(Referral {
                    id: referral,
                    patient: p,
                    from,
                    specialty,
                    institution,
                    urgency,
                    valid_from: at,
                    valid_until,
                    used_by: None,
                });
                e.next_referral.fetch_max(referral.0.saturating_add(1), Ordering::Relaxed);
                Ok(())
            }
            EventKind::ReferralConsumed { referral, booking } => {
                // `Held`/`Booked` already marked it; kept for a journal that has only this.
                let (_, mut state) = e.patients.lock(booking.origin_patient())?;
                if let Some(r) = state.referral_mut(referral) {
                    r.used_by = Some(booking);
                }
                Ok(())
            }
            // Given back together with the `Cancelled`/`Expired` of its booking.
            EventKind::ReferralReturned { .. } => Ok(()),
            EventKind::WaitlistJoined { entry } => {
                e.registry.department(entry.request.department)?;
                if e.waitlists
                    .lists
                    .get(&entry.request.department)
                    .is_some_and(|l| l.len() >= WAITLIST_PER_DEPARTMENT_MAX)
                {
                    return Err(corrupt("waitlist above its bound"));
                }
                {
                    let (_, mut state) = e.patients.lock(entry.request.patient)?;
                    state.waitlist_entries = state.waitlist_entries.saturating_add(1);
                }
                e.waitlists.next.fetch_max(entry.id.0, Ordering::Relaxed);
                e.waitlists.insert(entry);
                Ok(())
            }
            EventKind::WaitlistOffered { entry, .. } => {
                // Normally already taken off by the offer's `Held`.
                take_entry(e, entry);
                Ok(())
            }
            EventKind::WaitlistLeft { entry, patient } => {
                e.waitlists.remove(entry);
                let (_, mut state) = e.patients.lock(patient)?;
                state.waitlist_entries = state.waitlist_entries.saturating_sub(1);
                Ok(())
            }
            EventKind::LotteryEntered { ticket, request, weight, release_at, draws_at } => {
                if ticket.0 == 0 {
                    // Numbers start at 1; 0 asks the draw for a number (`TICKET_TO_NUMBER`).
                    return Err(corrupt("a lottery entry with ticket number 0".to_string()));
                }
                e.lotteries.next_ticket.fetch_max(ticket.0, Ordering::Relaxed);
                if self.drawn.contains(&release_at) {
                    return Ok(());
                }
                let max = e.pol().lottery.max_entries as usize;
                match e.lotteries.enter(
                    release_at,
                    draws_at,
                    max,
                    Ticket { id: ticket, request, weight },
                ) {
                    Ok(_) => Ok(()),
                    Err(EnterError::Full) => {
                        Err(corrupt(format!("the lottery of {release_at} is above its bound")))
                    }
                    Err(EnterError::Duplicate) => {
                        Err(corrupt(format!("{ticket} enters the lottery of {release_at} twice")))
                    }
                }
            }
            EventKind::LotteryDrawn { release_at, .. } => {
                e.lotteries.remove(release_at);
                self.drawn.insert(release_at);
                Ok(())
            }
            EventKind::LotteryWon { .. } | EventKind::LotteryLost { .. } => Ok(()),
            // The replayer's clock follows every event's `at` (see `apply`); a clock move must
            // stand where it says, or the journal was written by something else.
            // Retention: the same days retired at the same point of the history (the live
            // engine decided when; replay only follows).
            EventKind::Retired { before } => {
                e.retire(before, at);
                Ok(())
            }
            EventKind::ClockSet { to } if to == at => Ok(()),
            EventKind::ClockSet { to } => {
                Err(corrupt(format!("a clock move to {} recorded at {}", to.0, at.0)))
            }
            // Derived from the lifecycle event before it, which rebuilt the board; only the
            // figures it reported are taken (the baseline of the next one, board.rs).
            EventKind::PolicyChanged { policy } => {
                policy.validate().map_err(|err| corrupt(format!("policy change: {err}")))?;
                e.check_policy_change(e.pol(), &policy)
                    .map_err(|err| corrupt(format!("policy change: {err}")))?;
                let retention_was_on = e.pol().retention.is_on();
                e.replace_policy(*policy);
                e.retention_switched(retention_was_on);
                Ok(())
            }
            EventKind::Group { group, action, replaces, events } => {
                self.apply_group(at, group, action, replaces, events)
            }
            EventKind::LoadChanged { department, date, half_day, queue, expected_wait_s } => {
                e.registry.department(department)?;
                e.board_reported(department, date, half_day, (queue, expected_wait_s));
                Ok(())
            }
            EventKind::FreeChanged { department, date, free_today, free_beds_tonight } => {
                e.registry.department(department)?;
                e.board_free_reported(
                    department,
                    FreeReported { date, free_today, free_beds_tonight },
                );
                Ok(())
            }
        }
    }

    /// A group record: its events in order, then the group itself. Only the kinds a group is
    /// made of may appear inside it (`groups.rs` writes no others).
    fn apply_group(
        &mut self,
        at: Timestamp,
        group: BookingId,
        action: GroupAction,
        replaces: Option<BookingId>,
        events: Vec<EventKind>,
    ) -> Result<()> {
        if events.is_empty() || events.len() > 4 * GROUP_PLACES_MAX + 4 {
            return Err(corrupt(format!("group {group} holds {} events", events.len())));
        }
        let mut members = Vec::new();
        for kind in events {
            match &kind {
                EventKind::Booked { booking, .. }
                    if booking.origin_patient() == group.origin_patient() =>
                {
                    members.push(*booking)
                }
                EventKind::Cancelled { .. }
                | EventKind::ReferralConsumed { .. }
                | EventKind::ReferralReturned { .. }
                | EventKind::PatientSuspended { .. } => {}
                other => {
                    let what = format!("{other:?}");
                    return Err(corrupt(format!("group {group} holds {:.60}", what)));
                }
            }
            self.apply_kind(at, kind)?;
        }
        match action {
            GroupAction::Cancelled if members.is_empty() => Ok(()),
            GroupAction::Booked | GroupAction::Rescheduled
                if members.first() == Some(&group) && members.len() <= GROUP_PLACES_MAX =>
            {
                let (_, mut state) = self.engine.patients.lock(group.origin_patient())?;
                push_lean(state.groups_mut(), GroupRec { id: group, members, replaces });
                Ok(())
            }
            _ => Err(corrupt(format!("group {group}: its events do not match {action:?}"))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &self,
        at: Timestamp,
        id: BookingId,
        slot_id: SlotId,
        patient: PatientId,
        channel: ChannelId,
        pool: Pool,
        referral: Option<ReferralId>,
        offer: Option<WaitlistId>,
        hold_until: Option<Timestamp>,
    ) -> Result<()> {
        let e = &self.engine;
        let slot = e.slot_ref(slot_id)?;
        if id.origin_patient() != patient {
            return Err(corrupt(format!("{id} does not belong to {patient}")));
        }
        let window = e.window(&slot);
        {
            let (p, mut state) = e.patients.lock(patient)?;
            if p != patient {
                return Err(corrupt(format!(
                    "{id} was placed for {patient}, merged into {p} before it"
                )));
            }
            if state.bookings.len() >= BOOKINGS_PER_PATIENT_MAX {
                return Err(corrupt(format!("{p} has too many bookings")));
            }
            let own_seq = id.0 as u32;
            if own_seq < state.next_seq {
                return Err(corrupt(format!("{id} is placed twice or out of order")));
            }
            if !e.store.force_take(&slot, pool) {
                return Err(corrupt(format!("{slot_id} pool counter overflow")));
            }
            e.store.log_attempt(slot.date(), slot_id, patient, slot.guard())?;
            state.next_seq = own_seq
                .checked_add(1)
                .ok_or_else(|| corrupt(format!("{id}: booking numbers exhausted")))?;
            // Same history bound as the live path, so the recovered record is identical.
            let rec = BookingRec::new(&Booking {
                id,
                patient,
                slot: slot_id,
                department: e.store.department_of(&slot),
                date: slot.date(),
                channel,
                state: if hold_until.is_some() { BookingState::Held } else { BookingState::Booked },
                pool,
                referral,
                offer,
                created_at: at,
                expires_at: hold_until.unwrap_or(at),
                starts_at: window.starts_at,
            })
            .ok_or_else(|| {
                corrupt(format!(
                    "{id} cannot be kept as it was made (an id no engine makes, or a hold \
                     ending before it began)"
                ))
            })?;
            state.push_booking(rec.0, rec.1, at);
            if let Some(r) = referral.and_then(|r| state.referral_mut(r)) {
                r.used_by = Some(id);
            }
            if let Some(t) = hold_until {
                e.timers.push(t, id);
            }
        }
        if let Some(offer) = offer {
            take_entry(e, offer);
        }
        Ok(())
    }

    fn transition(
        &self,
        id: BookingId,
        from: BookingState,
        to: BookingState,
        f: impl FnOnce(&Engine, &mut PatientState, &BookingRec) -> Result<()>,
    ) -> Result<()> {
        let e = &self.engine;
        let (_, mut state) = e.patients.lock(id.origin_patient())?;
        let i = state
            .bookings
            .iter()
            .rposition(|b| b.id == id)
            .ok_or_else(|| Error::not_found("booking", id.0))?;
        let b = state.bookings[i].clone();
        if b.state != from {
            return Err(corrupt(format!("{id} is {}, not {}", b.state, from)));
        }
        state.bookings[i].state = to;
        f(e, &mut state, &b)
    }

    /// End an active booking: give its place and referral back.
    fn end(
        &self,
        at: Timestamp,
        id: BookingId,
        slot: SlotId,
        to: BookingState,
        f: impl FnOnce(&Engine, &mut PatientState),
    ) -> Result<()> {
        let e = &self.engine;
        let (_, mut state) = e.patients.lock(id.origin_patient())?;
        let i = state
            .bookings
            .iter()
            .rposition(|b| b.id == id)
            .ok_or_else(|| Error::not_found("booking", id.0))?;
        let b = &mut state.bookings[i];
        if b.slot != slot {
            return Err(corrupt(format!("{id} is on {}, not {slot}", b.slot)));
        }
        // Patients cancel holds and bookings; a provider suspension also ends check-ins.
        let may_end = match to {
            BookingState::ProviderCancelled => b.state.is_active(),
            BookingState::Expired => b.state == BookingState::Held,
            _ => matches!(b.state, BookingState::Held | BookingState::Booked),
        };
        if !may_end {
            return Err(corrupt(format!("{id} is {}; cannot end as {to}", b.state)));
        }
        if b.state == BookingState::CheckedIn {
            // A provider suspension takes a checked-in patient off its queue (board.rs).
            e.board_change(&*e.slot_ref(slot)?, Change::Left, at, false, || {});
        }
        b.state = to;
        let pool = b.pool;
        let referral = state.referral_of(&state.bookings[i]);
        if !e.store.force_release(&*e.slot_ref(slot)?, pool) {
            return Err(corrupt(format!("{slot} gives back a place it never counted")));
        }
        if let Some(r) = referral.and_then(|r| state.referral_mut(r)) {
            r.used_by = None;
        }
        f(e, &mut state);
        Ok(())
    }
}

/// Instants the engine's arithmetic is safe with: the supported calendar (see `Date`).
pub(crate) fn sane_time(t: Timestamp) -> bool {
    (0..=(crate::time::DATE_MAX.0 as i64 + 2) * crate::time::DAY_S).contains(&t.0)
}

fn expect_id(got: u64, want: u64) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(corrupt(format!("replay assigned id {got} where the journal says {want}")))
    }
}

fn resource_of(e: &Engine, slot: SlotId) -> Result<&crate::registry::Resource> {
    e.registry.resource(e.slot_ref(slot)?.resource)
}

/// Take a waitlist entry off its list and from its patient's count (once).
fn take_entry(e: &Engine, id: WaitlistId) {
    if let Some(entry) = e.waitlists.remove(id) {
        if let Ok((_, mut state)) = e.patients.lock(entry.request.patient) {
            state.waitlist_entries = state.waitlist_entries.saturating_sub(1);
        }
    }
}

/// Re-publish a batch at its journaled ids, with pool sizes recomputed from the same policy.
pub(crate) fn publish(e: &Engine, first: SlotId, specs: &[crate::model::SlotSpec]) -> Result<()> {
    if first.index() != Some(e.store.count()) {
        return Err(corrupt(format!(
            "slots published at {first}, but {} slots exist",
            e.store.count()
        )));
    }
    if specs.len() > crate::engine::PUBLISH_BATCH_MAX
        || e.store.count() + specs.len() > crate::store::SLOTS_MAX
    {
        return Err(corrupt("slot batch above its bound"));
    }
    let built = e.build_batch(specs)?;
    e.check_day_places(&built)?;
    e.add_slots(built);
    Ok(())
}

pub(crate) fn new_engine(config: EngineConfig, clock: ClockKind) -> Result<Engine> {
    match clock {
        ClockKind::System => Engine::new(config),
        ClockKind::Manual(start) => Engine::with_manual_clock(config, start),
    }
}
