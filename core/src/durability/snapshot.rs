//! Snapshots: the whole state of a *quiescent* engine as one serde value.
//!
//! Snapshots are never copied out of the live engine. `DurableEngine::snapshot` seals the
//! current journal segment and rebuilds the state at exactly that segment's last sequence number
//! from the previous snapshot plus the sealed segments, in a private engine that nobody else
//! touches (log compaction). The live engine is not locked at all, bookings never pause, and the
//! snapshot is consistent at one sequence number, so the journal after it replays onto it with
//! no idempotence tricks. The cost is a second copy of the state in memory while it is built and
//! the replay of the journal since the last snapshot, on the caller's thread.

use super::codec::corrupt;
use super::replay::{new_engine, sane_time, ClockKind, Replayer};
use crate::engine::{Engine, EngineConfig};
use crate::error::Result;
use crate::ids::*;
use crate::lotteries::{Draw, Ticket};
use crate::model::{BookingState, Request, ResourceKind, Roster, SlotSpec, Tier, WaitlistEntry};

use crate::cards::{CardDigest, CardKey};
use crate::load::DepartmentLoad;
pub(crate) use crate::patients::PatientRec;
use crate::patients::{LinkedCard, PatientState};

use crate::chunked::CHUNK;
use crate::request_keys::KeyRec;
use crate::slot::{Slot, PLACES_MAX, TAKEN_MAX};
use crate::time::{Date, Timestamp};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

/// The state. Generic over how a card and a card index key are kept, so that format 1 (plain
/// numbers, read only: `format1.rs`) shares the shape: `C` is a patient's card, `I` the index
/// key of a card.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct State<C = LinkedCard, I = CardDigest> {
    /// The configuration running at `seq`: the policy may differ from the directory's
    /// `config.json` after `Engine::set_policy` (recovery checks what cannot change).
    pub config: EngineConfig,
    pub seq: u64,
    pub clock: Timestamp,
    /// name, tier, district name
    pub institutions: Vec<(String, Tier, String)>,
    /// institution, specialty name, name
    pub departments: Vec<(InstitutionId, String, String)>,
    pub resources: Vec<ResourceRec>,
    pub channels: Vec<String>,
    pub patients: Vec<PatientRec<C>>,
    pub cards: Vec<(I, PatientId)>,
    pub slots: Vec<SlotRec>,
    pub rosters: Vec<(Roster, Option<Date>)>,
    pub waitlist: Vec<WaitlistEntry>,
    pub next_waitlist: u64,
    pub lotteries: Vec<DrawRec>,
    pub next_ticket: u64,
    pub drawn: Vec<Timestamp>,
    pub next_referral: u64,
    /// The live load board's queues and paces, by department (board.rs). Last, and written
    /// only when not empty: snapshots written before it existed (positional MessagePack) load
    /// with an empty board, and an engine without check-ins encodes as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub board: Vec<(DepartmentId, DepartmentLoad)>,
    /// The remembered request keys (idempotency.rs), oldest first. Not a field of the
    /// encoded state: format 4 writes them after it (`write_snapshot`).
    #[serde(skip)]
    pub request_keys: Vec<KeyRec>,
    /// What retention has retired. Not a field of the encoded state either: written after
    /// the request keys, and only once something is retired (`write_snapshot`).
    #[serde(skip)]
    pub retained: Retained,
}

/// Retention's part of a snapshot: the first date kept, and the chunks of slot ids whose
/// memory is freed (their ids stay taken; `slots` lists every other id's slot, in id order,
/// retired or not, so that ids stay where they were).
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
pub(crate) struct Retained {
    pub before: Date,
    pub holes: Vec<u32>,
}

impl Default for Retained {
    fn default() -> Retained {
        Retained { before: Date(i32::MIN), holes: Vec::new() }
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct ResourceRec {
    pub department: DepartmentId,
    pub kind: ResourceKind,
    pub name: String,
    pub expert: bool,
    pub outcomes: u64,
    pub no_shows: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
pub(crate) struct SlotRec {
    pub spec: SlotSpec,
    pub department: DepartmentId,
    pub sizes: [u16; 4],
    pub taken: [u16; 4],
    pub closed: bool,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct DrawRec {
    pub release_at: Timestamp,
    pub draws_at: Timestamp,
    pub tickets: Vec<(TicketId, Request, f64)>,
}

impl<C, I> State<C, I> {
    /// The same state with its cards converted (format 1 → current).
    pub fn map_cards<C2, I2>(
        self,
        mut card: impl FnMut(C) -> Result<C2>,
        mut index: impl FnMut(I) -> Result<I2>,
    ) -> Result<State<C2, I2>> {
        let patients = self
            .patients
            .into_iter()
            .map(|p| {
                Ok(PatientRec {
                    merged_into: p.merged_into,
                    cards: p.cards.into_iter().map(&mut card).collect::<Result<_>>()?,
                    bookings: p.bookings,
                    next_seq: p.next_seq,
                    no_shows: p.no_shows,
                    suspended_until: p.suspended_until,
                    referrals: p.referrals,
                    waitlist_entries: p.waitlist_entries,
                    groups: p.groups,
                })
            })
            .collect::<Result<_>>()?;
        let cards =
            self.cards.into_iter().map(|(c, p)| Ok((index(c)?, p))).collect::<Result<_>>()?;
        Ok(State {
            config: self.config,
            seq: self.seq,
            clock: self.clock,
            institutions: self.institutions,
            departments: self.departments,
            resources: self.resources,
            channels: self.channels,
            patients,
            cards,
            slots: self.slots,
            rosters: self.rosters,
            waitlist: self.waitlist,
            next_waitlist: self.next_waitlist,
            lotteries: self.lotteries,
            next_ticket: self.next_ticket,
            drawn: self.drawn,
            next_referral: self.next_referral,
            board: self.board,
            request_keys: Vec::new(),
            retained: Retained::default(),
        })
    }
}

impl State {
    /// Copy a replayer's engine. Only for an engine no other thread uses.
    pub fn capture(r: &Replayer) -> State {
        Self::capture_engine(&r.engine, r.last_seq, r.clock, r.drawn.iter().copied().collect())
    }

    /// Copy an engine's state (consistent only when no other thread changes it).
    pub fn capture_engine(e: &Engine, seq: u64, clock: Timestamp, drawn: Vec<Timestamp>) -> State {
        let reg = &e.registry;
        let name_of = |v: &boxcar::Vec<String>, i: u32| {
            (i as usize).checked_sub(1).and_then(|i| v.get(i)).cloned().unwrap_or_default()
        };
        let mut slots = Vec::with_capacity(e.store.count());
        let mut holes = Vec::new();
        let pin = crossbeam_epoch::pin();
        for (c, chunk) in e.store.chunks(&pin).enumerate() {
            let Some(chunk) = chunk else {
                holes.push(u32::try_from(c).expect("slot ids are u32"));
                continue;
            };
            slots.extend(chunk.iter().map(|s| SlotRec {
                spec: SlotSpec {
                    resource: s.resource,
                    date: s.date(),
                    start_min: s.start_min,
                    end_min: s.end_min,
                    capacity: s.capacity(),
                },
                // From the registry, not the resource-day's counters: a retired day's slot
                // (kept while its chunk holds other days) no longer owns its counters.
                department:
                    reg.resource(s.resource).map_or(DepartmentId(u32::MAX), |r| r.department),
                sizes: s.sizes,
                taken: s.taken(),
                closed: s.is_closed(),
            }));
        }
        drop(pin);
        let mut cards: Vec<(CardDigest, PatientId)> =
            e.patients.cards.iter().map(|c| (*c.key(), *c.value())).collect();
        cards.sort_unstable();
        let mut waitlist: Vec<WaitlistEntry> =
            e.waitlists.lists.iter().flat_map(|l| l.value().clone()).collect();
        waitlist.sort_by_key(|w| w.id);
        let lotteries: Vec<DrawRec> = e
            .lotteries
            .open_draws()
            .into_iter()
            .map(|(release_at, draws_at, tickets)| DrawRec {
                release_at,
                draws_at,
                tickets: tickets.into_iter().map(|t| (t.id, t.request, t.weight)).collect(),
            })
            .collect();
        State {
            config: EngineConfig {
                policy: e.pol().clone(),
                utc_offset_s: e.utc_offset_s,
                card_key: None,
            },
            seq,
            clock,
            institutions: reg
                .institutions
                .iter()
                .map(|(_, i)| (i.name.clone(), i.tier, name_of(&reg.districts, i.district.0)))
                .collect(),
            departments: reg
                .departments
                .iter()
                .map(|(_, d)| {
                    (d.institution, name_of(&reg.specialties, d.specialty.0), d.name.clone())
                })
                .collect(),
            resources: reg
                .resources
                .iter()
                .map(|(_, r)| ResourceRec {
                    department: r.department,
                    kind: r.kind,
                    name: r.name.clone(),
                    expert: r.expert,
                    outcomes: r.outcomes.load(Ordering::Relaxed),
                    no_shows: r.no_shows.load(Ordering::Relaxed),
                })
                .collect(),
            channels: reg.channels.iter().map(|(_, c)| c.name.clone()).collect(),
            patients: e
                .patients
                .records
                .iter()
                .enumerate()
                .map(|(i, m)| m.lock().parts(&e.patients.card_types, PatientId::from_index(i)))
                .collect(),
            cards,
            slots,
            rosters: e.rosters.inner.lock().clone(),
            waitlist,
            next_waitlist: e.waitlists.next.load(Ordering::Relaxed),
            lotteries,
            next_ticket: e.lotteries.next_ticket.load(Ordering::Relaxed),
            drawn,
            next_referral: e.next_referral.load(Ordering::Relaxed),
            board: {
                let mut board: Vec<(DepartmentId, DepartmentLoad)> =
                    e.board.departments.iter().map(|d| (*d.key(), d.value().clone())).collect();
                board.sort_by_key(|(d, _)| *d);
                board
            },
            request_keys: e.request_keys.records(),
            retained: Retained { before: e.store.retired_before(), holes },
        }
    }

    /// Rebuild an engine (its cards hashed under `key`, which the snapshot's header was checked
    /// against). Every reference is checked: a snapshot that passed its checksum but is
    /// inconsistent (a bug, or a fuzzer) is an error, never a panic.
    pub fn restore(mut self, clock: ClockKind, key: &CardKey) -> Result<Replayer> {
        self.config.card_key = Some(key.clone());
        let clock = match clock {
            ClockKind::Manual(t) => ClockKind::Manual(t.max(self.clock)),
            c => c,
        };
        if !sane_time(self.clock) {
            return Err(corrupt("snapshot clock outside the engine's calendar"));
        }
        let e = new_engine(self.config, clock)?;
        let reg = &e.registry;
        for (name, tier, district) in &self.institutions {
            reg.add_institution(name, *tier, district)?;
        }
        for (institution, specialty, name) in &self.departments {
            reg.add_department(*institution, specialty, name)?;
        }
        for r in &self.resources {
            let id = reg.add_resource(r.department, r.kind, &r.name, r.expert)?;
            let res = reg.resource(id)?;
            res.outcomes.store(r.outcomes, Ordering::Relaxed);
            res.no_shows.store(r.no_shows, Ordering::Relaxed);
        }
        for (i, name) in self.channels.iter().enumerate() {
            if e.add_channel(name)?.index() != Some(i) {
                return Err(corrupt(format!("snapshot channel {name:?} is listed twice")));
            }
        }
        let mut restored = Vec::with_capacity(self.slots.len());
        for s in &self.slots {
            let res = reg.resource(s.spec.resource)?;
            if res.department != s.department
                || !(1..=PLACES_MAX).contains(&s.spec.capacity)
                || !s.spec.date.is_valid()
                || !Slot::sizes_fit_counters(s.sizes)
                // Capacity plus an overbooking allowance of at most the capacity (as
                // publication builds them): what keeps a day's counters within range
                // (`DAY_PLACES_MAX`).
                || s.sizes.iter().map(|&n| n as u32).sum::<u32>() > 2 * s.spec.capacity as u32
                || s.taken.iter().any(|&t| t > TAKEN_MAX)
            {
                return Err(corrupt(format!(
                    "snapshot slot of {} is inconsistent",
                    s.spec.resource
                )));
            }
            let slot = Slot::new(&s.spec, s.sizes);
            slot.restore_counts(s.taken, s.closed);
            restored.push(slot);
        }
        e.check_day_places(&restored).map_err(|err| corrupt(format!("snapshot: {err}")))?;
        // Retention first, so that the retired days' slots are stored without an index; then
        // the slots chunk by chunk, a freed chunk leaving its ids empty, so every id is where
        // it was.
        let retained = std::mem::take(&mut self.retained);
        e.store.retire(retained.before);
        if !retained.holes.is_sorted_by(|a, b| a < b) {
            return Err(corrupt("snapshot slot holes out of order"));
        }
        let mut holes = retained.holes.iter().peekable();
        let mut restored = restored.into_iter();
        for c in 0u32.. {
            if holes.next_if_eq(&&c).is_some() {
                if !e.store.skip_chunk() {
                    return Err(corrupt(format!("snapshot slot hole {c} is not a whole chunk")));
                }
                continue;
            }
            let chunk: Vec<Slot> = restored.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            e.add_slots(chunk);
        }
        if holes.next().is_some() {
            return Err(corrupt("snapshot slot hole beyond its slots"));
        }
        let patient_count = self.patients.len();
        let known = |p: PatientId| p.index().is_some_and(|i| i < patient_count);
        for p in self.patients {
            if p.merged_into.is_some_and(|m| !known(m))
                || p.no_shows.iter().any(|m| !sane_time(m.at))
            {
                return Err(corrupt("snapshot merges a patient into an unknown one"));
            }
            // Bounded as the live engine bounds them: a group lives while one of its bookings
            // does, and holds 1 ..= GROUP_PLACES_MAX of them.
            if p.groups.len() > p.bookings.len()
                || p.groups.iter().any(|g| {
                    g.members.first() != Some(&g.id)
                        || g.members.len() > crate::model::GROUP_PLACES_MAX
                })
            {
                return Err(corrupt("snapshot booking group out of bounds"));
            }
            // A record holds only its own patient's bookings (a merge renames the ones it
            // moves), so the record does not keep the patient (booking_record.rs).
            let me = PatientId::from_index(e.patients.records.count());
            // Every mark held is queued for retention, as the live engine queued it (while
            // retention is on: `MarkQueue`).
            if e.policy().retention.is_on() {
                for m in &p.no_shows {
                    e.patients.marks.push(m.at, me);
                }
            }
            for b in &p.bookings {
                let slot = e.slot_ref(b.slot)?;
                if b.patient != me {
                    return Err(corrupt(format!(
                        "snapshot {} of {} is kept in the record of {me}",
                        b.id, b.patient
                    )));
                }
                e.store.log_attempt(slot.date(), b.slot, b.patient, slot.guard())?;
                if b.state == BookingState::Held {
                    e.timers.push(b.expires_at, b.id);
                }
            }
            let state = PatientState::from_parts(&e.patients.card_types, p).ok_or_else(|| {
                corrupt(format!("a snapshot booking of {me} names an id no engine makes"))
            })?;
            e.patients
                .records
                .push(Mutex::new(state))
                .map_err(|_| corrupt("snapshot holds more patients than an engine can"))?;
        }
        for (digest, owner) in self.cards {
            if !known(owner) {
                return Err(corrupt("snapshot card of an unknown patient"));
            }
            e.patients.cards.insert(digest, owner);
        }
        for (roster, done) in self.rosters {
            roster.validate()?;
            reg.resource(roster.resource)?;
            e.rosters.add(roster)?;
            if let Some(last) = e.rosters.inner.lock().last_mut() {
                last.1 = done;
            }
        }
        for w in self.waitlist {
            reg.department(w.request.department)?;
            if !known(w.request.patient) {
                return Err(corrupt("snapshot waitlist entry of an unknown patient"));
            }
            e.waitlists.insert(w);
        }
        e.waitlists.next.store(self.next_waitlist, Ordering::Relaxed);
        for d in self.lotteries {
            let mut draw = Draw::new(d.draws_at);
            for (id, request, weight) in d.tickets {
                draw.entered.insert((request.patient, request.slot));
                draw.tickets.push(Ticket { id, request, weight });
            }
            e.lotteries.restore(d.release_at, draw);
        }
        e.lotteries.next_ticket.store(self.next_ticket, Ordering::Relaxed);
        e.next_referral.store(self.next_referral, Ordering::Relaxed);
        for (d, load) in self.board {
            reg.department(d)?;
            let resources_ok = load.pace.iter().all(|p| reg.resource(p.resource).is_ok())
                && load
                    .sessions
                    .iter()
                    .flat_map(|s| &s.waiting)
                    .all(|(r, _)| reg.resource(*r).is_ok());
            if load.sessions.len() > crate::load::SESSIONS_PER_DEPARTMENT_MAX || !resources_ok {
                return Err(corrupt(format!("snapshot board of {d} is inconsistent")));
            }
            e.board.departments.insert(d, load);
        }
        for rec in self.request_keys {
            e.request_keys.complete(rec);
        }
        let drawn: BTreeSet<Timestamp> = self.drawn.into_iter().collect();
        Ok(Replayer::from_parts(e, self.seq, self.clock, drawn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Date;

    /// A slot packs its date into 17 bits (`Slot::date`), so a date outside the engine's
    /// calendar must be refused before a slot is made of it: a snapshot that carries one is
    /// corrupt, an error, never a panic or a slot with another date.
    #[test]
    fn a_snapshot_slot_dated_outside_the_calendar_is_refused() {
        let day = Date::from_ymd(2026, 11, 30).expect("a date");
        let e = Engine::with_manual_clock(EngineConfig::default(), Timestamp(0)).unwrap();
        let inst = e.add_institution("Nancheng Hospital", Tier::Secondary, "Nancheng").unwrap();
        let dept = e.add_department(inst, "cardiology", "Cardiology").unwrap();
        let r = e.add_resource(dept, ResourceKind::Doctor, "Dr Chen", false).unwrap();
        let spec = SlotSpec { resource: r, date: day, start_min: 480, end_min: 510, capacity: 2 };
        e.publish_slots(&[spec]).unwrap();
        let key = CardKey::from_bytes(&[7; 32]).expect("32 bytes");
        let state = || State::capture_engine(&e, 0, Timestamp(0), Vec::new());
        assert!(state().restore(ClockKind::Manual(Timestamp(0)), &key).is_ok());
        for bad in [Date(-1), Date(crate::time::DATE_MAX.0 + 1), Date(i32::MAX)] {
            let mut s = state();
            s.slots[0].spec.date = bad;
            let err = s.restore(ClockKind::Manual(Timestamp(0)), &key).err().expect("refused");
            assert!(err.to_string().contains("inconsistent"), "{bad:?}: {err}");
        }
    }

    /// A day's counters hold at most twice `DAY_PLACES_MAX` places (`slot::DAY_PLACES_MAX`):
    /// a snapshot that would take one past it — too many places on one day, or a slot whose
    /// pools hold more than twice its capacity — is corrupt, refused before a counter wraps.
    #[test]
    fn a_snapshot_day_past_the_counters_range_is_refused() {
        let day = Date::from_ymd(2026, 11, 30).expect("a date");
        let e = Engine::with_manual_clock(EngineConfig::default(), Timestamp(0)).unwrap();
        let inst = e.add_institution("Nancheng Clinic", Tier::Community, "Nancheng").unwrap();
        let dept = e.add_department(inst, "cardiology", "Cardiology").unwrap();
        let r = e.add_resource(dept, ResourceKind::Doctor, "Dr Chen", false).unwrap();
        let capacity = crate::slot::PLACES_MAX;
        let spec = SlotSpec { resource: r, date: day, start_min: 480, end_min: 510, capacity };
        e.publish_slots(&[spec]).unwrap();
        let key = CardKey::from_bytes(&[7; 32]).expect("32 bytes");
        let state = || State::capture_engine(&e, 0, Timestamp(0), Vec::new());
        let at_limit = (crate::slot::DAY_PLACES_MAX / capacity as u32) as usize;
        // At the limit: restored, and counted.
        let mut s = state();
        s.slots = vec![s.slots[0].clone(); at_limit];
        let restored = s.restore(ClockKind::Manual(Timestamp(0)), &key).expect("at the limit");
        let places = restored.engine.free_places_by_day(dept, day, day).unwrap()[0].places;
        assert_eq!(places, crate::slot::DAY_PLACES_MAX);
        // One slot more.
        let mut s = state();
        s.slots = vec![s.slots[0].clone(); at_limit + 1];
        let err = s.restore(ClockKind::Manual(Timestamp(0)), &key).err().expect("refused");
        assert!(err.to_string().contains("places a day"), "{err}");
        // Pools of more than twice the capacity (each within its counter).
        let mut s = state();
        s.slots[0].spec.capacity = 1;
        s.slots[0].sizes = [1, 1, 1, 0];
        let err = s.restore(ClockKind::Manual(Timestamp(0)), &key).err().expect("refused");
        assert!(err.to_string().contains("inconsistent"), "{err}");
    }
}
