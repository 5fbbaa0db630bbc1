//! The master patient index (居民主索引) and each patient's own state.
//!
//! Every patient has one `parking_lot::Mutex`. The booking path takes exactly one patient lock
//! at a time — the requester's — and does its limit checks, the slot claim and the booking
//! record under it, so two concurrent requests of one patient can never both pass a limit
//! (invariant 2). Merging two records is the only place that touches two patients; it takes
//! them one after the other, never nested (see `Engine::merge_patients`).

use crate::booking_record::{BookingLinks, BookingRec};
use crate::cards::{check_card_fields, mask_card_number, CardDigest, CardKey};
use crate::chunked::ChunkedVec;
use crate::error::{Error, LimitKind, Result};
use crate::model::{Booking, BookingState, Card, NoShowMark, Referral};

use crate::ids::*;
use crate::policy::{GroupDates, LimitPolicy, NoShowPolicy, NoShowWindow};

use crate::time::{Date, Timestamp, DAY_S};
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use thin_vec::ThinVec;

/// Most patients in one engine (ids are u32; the high bit is kept free).
pub const PATIENTS_MAX: usize = 1 << 31;
/// Most bookings a single patient record keeps (history included): a bound on one record.
pub const BOOKINGS_PER_PATIENT_MAX: usize = 100_000;
/// Most referrals a single patient record keeps.
pub const REFERRALS_PER_PATIENT_MAX: usize = 10_000;
/// Ended bookings (fulfilled, cancelled, expired, no-show) kept in memory per patient, newest
/// first to go last. Older ones live on in the event stream and the journal; keeping them all
/// would make a patient's record, and the limit check that scans it, grow without bound.
pub const ENDED_BOOKINGS_KEPT: usize = 64;

/// A card as the engine keeps it: type, masked number, and the keyed digest that indexes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LinkedCard {
    /// Boxed strings, not `String`s: a card is kept for each of 100 M residents and never
    /// grows, so the capacity word is dead weight (16 bytes a card).
    pub card_type: Box<str>,
    pub masked: Box<str>,
    pub digest: CardDigest,
}

impl LinkedCard {
    /// Check, hash and mask a card number; the number goes no further.
    pub fn new(key: &CardKey, card_type: &str, number: &str) -> Result<LinkedCard> {
        check_card_fields(card_type, number)?;
        Ok(LinkedCard {
            card_type: card_type.into(),
            masked: mask_card_number(number).into(),
            digest: key.digest(card_type, number),
        })
    }

    /// A card read back from the journal or a snapshot.
    pub fn restored(card_type: String, masked: String, digest: CardDigest) -> Result<LinkedCard> {
        check_card_fields(&card_type, &masked)?;
        Ok(LinkedCard { card_type: card_type.into(), masked: masked.into(), digest })
    }

    pub fn public(&self) -> Card {
        Card { card_type: self.card_type.to_string(), masked: self.masked.to_string() }
    }
}

/// Most distinct card types one engine keeps in its table ([`CardTypes`]). A card of a type
/// beyond it is kept in full ([`LinkedCard`]): nothing is refused, it only costs more.
pub(crate) const CARD_TYPES_MAX: usize = 4096;

/// The card types an engine has seen, each kept once, so that a record's card names its type
/// by a 2-byte number: a province links one card for each of 100 M residents, and almost all
/// of them share two or three types.
#[derive(Default)]
pub(crate) struct CardTypes {
    /// Append-only: a number, once given, names its type for the engine's life (lock-free
    /// reads by number).
    names: boxcar::Vec<Box<str>>,
    /// Number of each name. Host-supplied strings, so the standard (flood-resistant) hasher.
    numbers: parking_lot::RwLock<std::collections::HashMap<Box<str>, u16>>,
}

impl CardTypes {
    /// The number of `name`, giving it one if it has none and the table has room.
    fn number(&self, name: &str) -> Option<u16> {
        if let Some(&n) = self.numbers.read().get(name) {
            return Some(n);
        }
        let mut numbers = self.numbers.write();
        if let Some(&n) = numbers.get(name) {
            return Some(n);
        }
        if numbers.len() >= CARD_TYPES_MAX {
            return None;
        }
        // Pushed under the write lock, so numbers and positions agree.
        let n = self.names.push(name.into()) as u16;
        numbers.insert(name.into(), n);
        Some(n)
    }

    fn name(&self, number: u16) -> &str {
        // Every number in a record was given by `number` of this same table.
        self.names.get(number as usize).map_or("", |n| n)
    }
}

/// A card in 28 bytes, the form of almost every resident's one card: its digest, its type's
/// number in [`CardTypes`], and its masked number as what the mask leaves visible (at most 4
/// ASCII characters at each end, see `mask_card_number`) and its length. A card that does not
/// fit (visible characters beyond ASCII, a type table that is full, a masked form the mask did
/// not make) is kept as a [`LinkedCard`] instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CompactCard {
    digest: CardDigest,
    card_type: u16,
    /// Characters of the masked number.
    chars: u8,
    /// Visible characters at each end.
    keep: u8,
    /// The first `keep` visible characters, then the last `keep`.
    visible: [u8; 8],
}

impl CompactCard {
    /// `card` in compact form, if it round-trips exactly.
    fn new(types: &CardTypes, card: &LinkedCard) -> Option<CompactCard> {
        let masked = &*card.masked;
        let chars = masked.chars().count();
        let keep = (chars / 4).min(4);
        let tail_at = masked.len().checked_sub(keep)?;
        if chars > u8::MAX as usize
            || !masked.is_char_boundary(keep)
            || !masked.is_char_boundary(tail_at)
        {
            return None;
        }
        let (head, tail) = (&masked[..keep], &masked[tail_at..]);
        if !head.is_ascii() || !tail.is_ascii() {
            return None;
        }
        let mut visible = [0u8; 8];
        visible[..keep].copy_from_slice(head.as_bytes());
        visible[keep..2 * keep].copy_from_slice(tail.as_bytes());
        let compact = CompactCard {
            digest: card.digest,
            card_type: types.number(&card.card_type)?,
            chars: chars as u8,
            keep: keep as u8,
            visible,
        };
        // The masked number must be the mask's own shape (stars between the ends): checked by
        // rebuilding it, so that a record never shows a card other than it was given.
        (compact.masked() == masked).then_some(compact)
    }

    fn masked(&self) -> String {
        let (keep, chars) = (self.keep as usize, self.chars as usize);
        let ascii = |b: &[u8]| b.iter().map(|&c| c as char).collect::<String>();
        let mut s = ascii(&self.visible[..keep]);
        s.extend(std::iter::repeat_n('*', chars - 2 * keep));
        s.push_str(&ascii(&self.visible[keep..2 * keep]));
        s
    }

    fn expand(&self, types: &CardTypes) -> LinkedCard {
        LinkedCard {
            card_type: types.name(self.card_type).into(),
            masked: self.masked().into(),
            digest: self.digest,
        }
    }
}

/// One patient's record.
///
/// Sized for 100 M residents (province-scale issue): 64 bytes with its lock (asserted below)
/// for a patient with one card who has never booked. The first card sits in the record in its
/// compact form; the bookings are one [`ThinVec`] (one pointer, nothing allocated while empty);
/// everything most residents never have — a merge, a suspension, no-shows, referrals, groups,
/// further cards — is behind one pointer ([`Rare`]), allocated on first use.
#[derive(Default, Debug)]
pub(crate) struct PatientState {
    /// The first card, when it fits the compact form; every other card is in `rare.cards`
    /// (in the order linked: this one, when present, was linked first).
    card: Option<CompactCard>,
    pub bookings: ThinVec<BookingRec>,
    pub next_seq: u32,
    pub waitlist_entries: u32,
    rare: Option<Box<Rare>>,
}

/// The parts of a record most residents never need (see [`PatientState`]).
#[derive(Default, Debug)]
struct Rare {
    merged_into: Option<PatientId>,
    suspended_until: Option<Timestamp>,
    cards: ThinVec<LinkedCard>,
    no_shows: ThinVec<NoShowMark>,
    referrals: ThinVec<Referral>,
    /// The patient's booking groups (`groups.rs`).
    groups: ThinVec<GroupRec>,
    /// The referral and offer of each booking in `bookings` that has either (see
    /// `booking_record.rs`): one entry per such booking, none for a booking gone.
    links: ThinVec<BookingLinks>,
}

impl Rare {
    /// Nothing that needs the box: the record can go back to 64 B.
    fn is_empty(&self) -> bool {
        self.merged_into.is_none()
            && self.suspended_until.is_none()
            && self.cards.is_empty()
            && self.no_shows.is_empty()
            && self.referrals.is_empty()
            && self.groups.is_empty()
            && self.links.is_empty()
    }
}

/// Push onto one of a patient's lists, allocating room for exactly one on the first push: most
/// patients hold one card, one referral, one booking at a time, and the default first growth
/// (4 elements) would quadruple the memory of a record's first card.
pub(crate) fn push_lean<T>(list: &mut ThinVec<T>, value: T) {
    if list.capacity() == 0 {
        list.reserve_exact(1);
    }
    list.push(value);
}

// The budget of a record with one card (lock included); see `Patients::records`.
const _: () = assert!(std::mem::size_of::<Mutex<PatientState>>() <= 64);

/// A record's parts, as a snapshot keeps them (`PatientState::parts`, `from_parts`): the
/// public forms of its cards and bookings. Positional in the snapshot's MessagePack, so new
/// fields go last. Generic over the card for the conversion of format-1 snapshots.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct PatientRec<C = LinkedCard> {
    pub merged_into: Option<PatientId>,
    pub cards: Vec<C>,
    pub bookings: Vec<Booking>,
    pub next_seq: u32,
    pub no_shows: Vec<NoShowMark>,
    pub suspended_until: Option<Timestamp>,
    pub referrals: Vec<Referral>,
    pub waitlist_entries: u32,
    /// Booking groups. Last, and written only when not empty: snapshots written before groups
    /// existed (positional MessagePack) load without any, and a patient without one encodes as
    /// before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRec>,
}

/// A booking group as a patient's record keeps it: its bookings live in `bookings` like any
/// other; this says which belong together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupRec {
    /// The lead booking's id.
    pub id: BookingId,
    /// Its bookings, in the order requested (the lead first).
    pub members: Vec<BookingId>,
    /// The booking or group it replaced, if rescheduled.
    pub replaces: Option<BookingId>,
}

impl PatientState {
    /// The survivor this record was merged into, if it was.
    pub fn merged_into(&self) -> Option<PatientId> {
        self.rare.as_ref()?.merged_into
    }

    pub fn set_merged_into(&mut self, survivor: PatientId) {
        self.rare_mut().merged_into = Some(survivor);
    }

    /// The end of the patient's latest suspension (past or not).
    pub fn suspended_until(&self) -> Option<Timestamp> {
        self.rare.as_ref()?.suspended_until
    }

    /// Suspend until `until`, or keep a later end already set.
    pub fn suspend_until(&mut self, until: Timestamp) -> Timestamp {
        let rare = self.rare_mut();
        let end = rare.suspended_until.map_or(until, |u| u.max(until));
        rare.suspended_until = Some(end);
        end
    }

    pub fn no_shows(&self) -> &[NoShowMark] {
        self.rare.as_ref().map_or(&[], |r| &r.no_shows)
    }

    pub fn referrals(&self) -> &[Referral] {
        self.rare.as_ref().map_or(&[], |r| &r.referrals)
    }

    pub fn add_referral(&mut self, referral: Referral) {
        push_lean(&mut self.rare_mut().referrals, referral);
    }

    pub fn groups(&self) -> &[GroupRec] {
        self.rare.as_ref().map_or(&[], |r| &r.groups)
    }

    pub fn groups_mut(&mut self) -> &mut ThinVec<GroupRec> {
        &mut self.rare_mut().groups
    }

    /// The record's cards, in the order they were linked.
    pub fn cards(&self, types: &CardTypes) -> Vec<LinkedCard> {
        let first = self.card.map(|c| c.expand(types));
        let rest = self.rare.as_ref().into_iter().flat_map(|r| r.cards.iter().cloned());
        first.into_iter().chain(rest).collect()
    }

    /// The digests of the record's cards (what the card index holds).
    pub fn card_digests(&self) -> impl Iterator<Item = CardDigest> + '_ {
        let rest = self.rare.as_ref().into_iter().flat_map(|r| r.cards.iter().map(|c| c.digest));
        self.card.map(|c| c.digest).into_iter().chain(rest)
    }

    pub fn has_card(&self, digest: CardDigest) -> bool {
        self.card_digests().any(|d| d == digest)
    }

    pub fn card_count(&self) -> usize {
        self.card.is_some() as usize + self.rare.as_ref().map_or(0, |r| r.cards.len())
    }

    /// Add a card (the caller has checked it is not already linked): in the record itself when
    /// it is the first and fits the compact form, else with the rare parts.
    pub fn add_card(&mut self, types: &CardTypes, card: LinkedCard) {
        if self.card_count() == 0 {
            if let Some(compact) = CompactCard::new(types, &card) {
                self.card = Some(compact);
                return;
            }
        }
        push_lean(&mut self.rare_mut().cards, card);
    }

    /// The rare parts, allocated on first use.
    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The record's parts (a snapshot's form); `me` is the patient it is kept under.
    pub fn parts(&self, types: &CardTypes, me: PatientId) -> PatientRec {
        PatientRec {
            merged_into: self.merged_into(),
            cards: self.cards(types),
            bookings: self.bookings.iter().map(|b| self.public_booking(b, me)).collect(),
            next_seq: self.next_seq,
            no_shows: self.no_shows().to_vec(),
            suspended_until: self.suspended_until(),
            referrals: self.referrals().to_vec(),
            waitlist_entries: self.waitlist_entries,
            groups: self.groups().to_vec(),
        }
    }

    /// A record from its parts (a snapshot's form), laid out as the live engine lays it out;
    /// `None` when a booking names an id no engine makes (see `BookingRec::new`).
    pub fn from_parts(types: &CardTypes, p: PatientRec) -> Option<PatientState> {
        let mut state = PatientState {
            next_seq: p.next_seq,
            waitlist_entries: p.waitlist_entries,
            ..PatientState::default()
        };
        let mut links = ThinVec::new();
        state.bookings.reserve_exact(p.bookings.len());
        for b in &p.bookings {
            let (rec, link) = BookingRec::new(b)?;
            state.bookings.push(rec);
            links.extend(link);
        }
        for card in p.cards {
            state.add_card(types, card);
        }
        let rare = Rare {
            merged_into: p.merged_into,
            suspended_until: p.suspended_until,
            cards: std::mem::take(&mut state.rare_mut().cards),
            no_shows: p.no_shows.into(),
            referrals: p.referrals.into(),
            groups: p.groups.into(),
            links,
        };
        state.rare = (!rare.is_empty()).then(|| Box::new(rare));
        Some(state)
    }

    /// The booking `id`, if the record still holds it.
    pub fn booking(&self, id: BookingId) -> Option<&BookingRec> {
        self.bookings.iter().rev().find(|b| b.id == id)
    }

    /// The referral and offer of `b`, a booking of this record, if it has either.
    fn links_of(&self, b: &BookingRec) -> Option<&BookingLinks> {
        self.rare.as_ref()?.links.iter().find(|l| l.booking == b.id)
    }

    /// The public form of `b`, a booking of this record, which is kept under `owner`.
    pub fn public_booking(&self, b: &BookingRec, owner: PatientId) -> Booking {
        b.public(owner, self.links_of(b))
    }

    /// The public form of booking `i` of this record, which is kept under `owner`.
    pub fn public_at(&self, i: usize, owner: PatientId) -> Booking {
        self.public_booking(&self.bookings[i], owner)
    }

    /// The referral `b`, a booking of this record, was made with, if any.
    pub fn referral_of(&self, b: &BookingRec) -> Option<ReferralId> {
        self.links_of(b).and_then(BookingLinks::referral)
    }

    /// The group booking `id` belongs to, if any.
    pub fn group_of(&self, id: BookingId) -> Option<&GroupRec> {
        self.groups().iter().find(|g| g.members.contains(&id))
    }

    /// Whether `b` counts for the per-patient limits: a single booking counts itself, a group
    /// counts once, through its first active place (the lead until the lead has ended).
    /// `exclude` (a booking or group id) counts nothing: the one being rescheduled.
    fn counts_for_limits(&self, b: &BookingRec, exclude: Option<BookingId>) -> bool {
        if self.groups().is_empty() {
            return Some(b.id) != exclude;
        }
        match self.group_of(b.id) {
            None => Some(b.id) != exclude,
            Some(g) => {
                Some(g.id) != exclude
                    && g.members
                        .iter()
                        .find(|m| self.booking(**m).is_some_and(|x| x.state.is_active()))
                        == Some(&b.id)
            }
        }
    }

    /// This patient's referral `id` if it can be used at `now`: the patient's own, unused, and
    /// inside its validity period (the checks a booking and a recommendation share).
    pub fn usable_referral(&self, id: ReferralId, now: Timestamp) -> Result<&Referral> {
        let invalid = |reason: &str| Error::ReferralInvalid { referral: id, reason: reason.into() };
        let r = self
            .referrals()
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| invalid("not a referral of this patient"))?;
        if r.used_by.is_some() {
            return Err(invalid("already used by another booking"));
        }
        if now < r.valid_from || now > r.valid_until {
            return Err(invalid("outside its validity period"));
        }
        Ok(r)
    }

    pub fn booking_mut(&mut self, id: BookingId) -> Option<&mut BookingRec> {
        self.bookings.iter_mut().rev().find(|b| b.id == id)
    }

    pub fn referral_mut(&mut self, id: ReferralId) -> Option<&mut Referral> {
        self.rare.as_mut()?.referrals.iter_mut().find(|r| r.id == id)
    }

    /// Record a new hold or booking, first forgetting the oldest ended bookings beyond
    /// [`ENDED_BOOKINGS_KEPT`] — only those that no longer matter to a slot: cancelled or
    /// expired ones, and fulfilled or no-show ones whose segment has started (their place stays
    /// counted in the slot). Amortised O(1): the list is compacted only when it has grown to
    /// twice the kept history. Deterministic in `now`, so a replay keeps the same ones.
    pub fn push_booking(
        &mut self,
        booking: BookingRec,
        links: Option<BookingLinks>,
        now: Timestamp,
    ) {
        if self.bookings.len() >= 2 * ENDED_BOOKINGS_KEPT {
            let forgettable = |b: &BookingRec| match b.state {
                BookingState::Cancelled
                | BookingState::Expired
                | BookingState::ProviderCancelled => true,
                BookingState::Fulfilled | BookingState::NoShow => b.starts_at() <= now,
                _ => false,
            };
            let mut drop = self
                .bookings
                .iter()
                .filter(|b| forgettable(b))
                .count()
                .saturating_sub(ENDED_BOOKINGS_KEPT);
            if drop > 0 {
                self.bookings.retain(|b| {
                    let forget = drop > 0 && forgettable(b);
                    drop -= forget as usize;
                    !forget
                });
                self.forget_what_went_with_bookings();
            }
        }
        // Up to a few bookings the list grows one at a time: most patients hold one to three
        // (the 7-day limit is 3), and doubling would leave a 64 B record of slack in most
        // records. Past that it doubles as a Vec does (amortised O(1) for the rare long one).
        if self.bookings.len() == self.bookings.capacity() && self.bookings.len() < 4 {
            self.bookings.reserve_exact(1);
        }
        if let Some(links) = links {
            debug_assert!(links.booking == booking.id && self.links_of(&booking).is_none());
            push_lean(&mut self.rare_mut().links, links);
        }
        self.bookings.push(booking);
    }

    /// After bookings went from the list: a group goes when the last of its bookings has gone,
    /// and a booking's links go with it.
    fn forget_what_went_with_bookings(&mut self) {
        if let Some(rare) = &mut self.rare {
            let bookings = &self.bookings;
            let kept = |id: BookingId| bookings.iter().any(|b| b.id == id);
            rare.groups.retain(|g| g.members.iter().any(|m| kept(*m)));
            rare.links.retain(|l| kept(l.booking));
        }
    }

    /// Take over a merged record's data (the merge keeps everything, drops nothing). The moved
    /// bookings and referrals name `me`, the survivor, from now on: the merged id is only a
    /// tombstone that resolves to `me`, and a record must not report a patient it is not kept
    /// under (booking ids keep the origin patient; see `BookingId::origin_patient`).
    pub fn absorb(&mut self, types: &CardTypes, me: PatientId, other: PatientState) {
        for card in other.cards(types) {
            if !self.has_card(card.digest) {
                self.add_card(types, card);
            }
        }
        self.bookings.extend(other.bookings);
        self.waitlist_entries += other.waitlist_entries;
        let Some(theirs) = other.rare else { return };
        let Rare { suspended_until, mut referrals, no_shows, groups, links, .. } = *theirs;
        for r in &mut referrals {
            r.patient = me;
        }
        let mine = self.rare_mut();
        mine.no_shows.extend(no_shows);
        mine.no_shows.sort_by_key(|m| m.at);
        mine.suspended_until = match (mine.suspended_until, suspended_until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        mine.referrals.extend(referrals);
        mine.groups.extend(groups);
        mine.links.extend(links);
    }

    /// Check DOMAIN.md's per-patient limits for a new booking on `date` in `department`.
    pub fn check_limits(
        &self,
        me: PatientId,
        limits: &LimitPolicy,
        department: DepartmentId,
        date: Date,
    ) -> Result<()> {
        self.check_limits_excluding(me, limits, department, date, None)
    }

    /// `check_limits`, not counting the booking or group `exclude` (a reschedule: the booking
    /// counts once throughout, as the one being moved).
    pub fn check_limits_excluding(
        &self,
        me: PatientId,
        limits: &LimitPolicy,
        department: DepartmentId,
        date: Date,
        exclude: Option<BookingId>,
    ) -> Result<()> {
        // Almost every patient holds no group and nothing is being moved: then every active
        // booking counts once, on its own date. That case runs on every booking, so it gets
        // its own check, one pass over the record with no per-booking group test.
        if self.groups().is_empty() && exclude.is_none() {
            return self.check_single_limits(me, limits, department, date);
        }
        let how = limits.group_dates;
        self.check_limits_with(
            me,
            limits,
            date,
            department,
            |b| b.state.is_active() && self.counts_for_limits(b, exclude),
            |d| self.units_on(date, d, exclude, how),
        )
    }

    /// `check_limits` when every active booking counts once on its own date (no group, nothing
    /// being moved): one pass over the record instead of one per limit and per 7-day window.
    /// Same limits, same order, same answers as `check_limits_with` (the unit tests and the
    /// model check both paths).
    fn check_single_limits(
        &self,
        me: PatientId,
        limits: &LimitPolicy,
        department: DepartmentId,
        date: Date,
    ) -> Result<()> {
        let (mut total, mut on_date, mut in_department) = (0u32, 0u32, 0u32);
        // Active bookings on each date of date - 6 ..= date + 6: every 7-day window that
        // contains `date` lies in it.
        let mut near = [0u32; 13];
        for b in self.bookings.iter().filter(|b| b.state.is_active()) {
            total += 1;
            let d = b.date.0 as i64 - date.0 as i64;
            if (-6..=6).contains(&d) {
                near[(d + 6) as usize] += 1;
            }
            if d == 0 {
                on_date += 1;
                in_department += (b.department == department) as u32;
            }
        }
        let refuse = |limit, max| Err(Error::LimitReached { patient: me, limit, max });
        if total >= limits.total_active {
            return refuse(LimitKind::TotalActive, limits.total_active);
        }
        if on_date >= limits.per_visit_date {
            return refuse(LimitKind::PerVisitDate, limits.per_visit_date);
        }
        if in_department >= limits.per_department_day {
            return refuse(LimitKind::PerDepartmentDay, limits.per_department_day);
        }
        // No 7-day window holds more than all active bookings: most records stop here.
        if total >= limits.per_seven_days {
            let mut window: u32 = near[..7].iter().sum();
            for i in 7..=near.len() {
                if window >= limits.per_seven_days {
                    return refuse(LimitKind::PerSevenDays, limits.per_seven_days);
                }
                if i < near.len() {
                    window = window + near[i] - near[i - 7];
                }
            }
        }
        Ok(())
    }

    /// The limits in their order (total, per visit date, per department-day, 7 days):
    /// `counts` says which bookings count for the total and 7-day limits, `on_date` how many
    /// count on `date` (in a department, if given).
    fn check_limits_with(
        &self,
        me: PatientId,
        limits: &LimitPolicy,
        date: Date,
        department: DepartmentId,
        counts: impl Fn(&BookingRec) -> bool,
        on_date: impl Fn(Option<DepartmentId>) -> u32,
    ) -> Result<()> {
        let active = || self.bookings.iter().filter(|b| counts(b));
        let refuse = |limit, max| Err(Error::LimitReached { patient: me, limit, max });
        if active().count() as u32 >= limits.total_active {
            return refuse(LimitKind::TotalActive, limits.total_active);
        }
        if on_date(None) >= limits.per_visit_date {
            return refuse(LimitKind::PerVisitDate, limits.per_visit_date);
        }
        if on_date(Some(department)) >= limits.per_department_day {
            return refuse(LimitKind::PerDepartmentDay, limits.per_department_day);
        }
        // Every 7-day window containing `date` must stay within the limit.
        for first in (date.0 - 6)..=date.0 {
            let n = active().filter(|b| (first..first + 7).contains(&b.date.0)).count() as u32;
            if n >= limits.per_seven_days {
                return refuse(LimitKind::PerSevenDays, limits.per_seven_days);
            }
        }
        Ok(())
    }

    /// The two per-date limits alone, for a place on `date` in `department` (a group checks
    /// each further date of its own this way under [`GroupDates::Every`]).
    pub fn check_day_limits(
        &self,
        me: PatientId,
        limits: &LimitPolicy,
        department: DepartmentId,
        date: Date,
        exclude: Option<BookingId>,
    ) -> Result<()> {
        let refuse = |limit, max| Err(Error::LimitReached { patient: me, limit, max });
        let how = limits.group_dates;
        if self.units_on(date, None, exclude, how) >= limits.per_visit_date {
            return refuse(LimitKind::PerVisitDate, limits.per_visit_date);
        }
        if self.units_on(date, Some(department), exclude, how) >= limits.per_department_day {
            return refuse(LimitKind::PerDepartmentDay, limits.per_department_day);
        }
        Ok(())
    }

    /// Bookings and groups counting on `date` (in `department`, if given) for the per-date
    /// limits: a group on its first active place's date, or under [`GroupDates::Every`] once on
    /// every date (department-date) it has an active place on.
    fn units_on(
        &self,
        date: Date,
        department: Option<DepartmentId>,
        exclude: Option<BookingId>,
        how: GroupDates,
    ) -> u32 {
        let here = |b: &BookingRec| {
            b.state.is_active() && b.date == date && department.is_none_or(|d| b.department == d)
        };
        if how == GroupDates::First || self.groups().is_empty() {
            let n = self.bookings.iter().filter(|b| here(b) && self.counts_for_limits(b, exclude));
            return n.count() as u32;
        }
        let singles = self
            .bookings
            .iter()
            .filter(|b| here(b) && Some(b.id) != exclude && self.group_of(b.id).is_none());
        let groups = self.groups().iter().filter(|g| {
            Some(g.id) != exclude && g.members.iter().any(|m| self.booking(*m).is_some_and(here))
        });
        (singles.count() + groups.count()) as u32
    }

    /// Retention: forget the bookings of retired days (visits starting before `cutoff`,
    /// whatever their state: their slots are gone), the groups left without a booking, the
    /// no-show marks that can no longer count at `now` under `policy`'s window, a suspension
    /// that ended before `cutoff`, and referrals that expired before it unused; the rarely
    /// used part of the record goes when nothing is left in it. Returns how many bookings went.
    pub fn retire(
        &mut self,
        cutoff: Timestamp,
        policy: &NoShowPolicy,
        now: Timestamp,
        utc_offset_s: i32,
    ) -> usize {
        let before = self.bookings.len();
        self.bookings.retain(|b| b.starts_at() >= cutoff);
        let gone = before - self.bookings.len();
        if gone > 0 {
            self.bookings.shrink_to_fit();
            self.forget_what_went_with_bookings();
        }
        if let Some(rare) = &mut self.rare {
            let bookings = &self.bookings;
            let counts = |m: &NoShowMark| mark_counts(policy, m.at, now, utc_offset_s);
            if !rare.no_shows.iter().all(counts) {
                let kept: Vec<NoShowMark> = rare.no_shows.iter().copied().filter(counts).collect();
                rare.no_shows = kept.into();
            }
            // A suspension that ended before the retired days, and referrals that expired
            // before them unused (or used by a booking retired now), are history too.
            if rare.suspended_until.is_some_and(|until| until < cutoff) {
                rare.suspended_until = None;
            }
            let used = |r: &Referral| r.used_by.is_some_and(|b| bookings.iter().any(|x| x.id == b));
            if rare.referrals.iter().any(|r| r.valid_until < cutoff && !used(r)) {
                let kept: Vec<Referral> = rare
                    .referrals
                    .iter()
                    .filter(|r| r.valid_until >= cutoff || used(r))
                    .cloned()
                    .collect();
                rare.referrals = kept.into();
            }
            if rare.is_empty() {
                self.rare = None;
            }
        }
        gone
    }

    /// Weighted no-shows counted at `now` under the policy's window.
    pub fn no_shows_in_window(
        &self,
        policy: &NoShowPolicy,
        now: Timestamp,
        utc_offset_s: i32,
    ) -> f32 {
        let counts = |m: &&NoShowMark| mark_counts(policy, m.at, now, utc_offset_s);
        self.no_shows().iter().filter(counts).map(|m| m.weight).sum()
    }

    /// Record a (possibly fractional) no-show and, when the count crosses a whole number, start
    /// the suspension of the ladder. Returns the new suspension end if one was issued. The
    /// mark is queued for retention in `queue` under the patient's id `me` (an id whose lock
    /// leads to this record: `MarkQueue`) — a parameter, so that no caller, live or replay,
    /// can make a mark retention would not reach; `None` only while retention is off
    /// (`Engine::add_no_show`: the queue is rebuilt from the records when it is turned on).
    pub fn add_no_show(
        &mut self,
        weight: f32,
        now: Timestamp,
        policy: &NoShowPolicy,
        utc_offset_s: i32,
        (queue, me): (Option<&MarkQueue>, PatientId),
    ) -> Option<(Timestamp, f32)> {
        if weight <= 0.0 {
            return None;
        }
        let before = self.no_shows_in_window(policy, now, utc_offset_s);
        push_lean(&mut self.rare_mut().no_shows, NoShowMark { at: now, weight });
        if let Some(queue) = queue {
            queue.push(now, me);
        }
        let after = before + weight;
        // A small epsilon so that e.g. 0.1 × 10 reaches 1.
        let n_before = (before + 1e-4).floor() as u32;
        let n_after = (after + 1e-4).floor() as u32;
        if n_after > n_before {
            let days = policy.suspension_days(n_after) as i64;
            let until = now.plus_s(days * DAY_S);
            return Some((self.suspend_until(until), after));
        }
        None
    }
}

/// The index: patients by id, and card digests to patients (16 bytes a card, no number).
pub(crate) struct Patients {
    /// One lock and record per patient id, in fixed-size chunks: `boxcar`'s doubling buckets
    /// left up to half of the last bucket empty (at 100 M patients, ~80 B a patient of slack).
    pub records: ChunkedVec<Mutex<PatientState>>,
    pub cards: IdMap<CardDigest, PatientId>,
    /// The card types of the records' compact cards.
    pub card_types: CardTypes,
    /// Every no-show mark's time and patient, oldest first (`MarkQueue`).
    pub marks: MarkQueue,
}

impl Default for Patients {
    fn default() -> Patients {
        Patients {
            records: ChunkedVec::with_max(PATIENTS_MAX),
            cards: IdMap::default(),
            card_types: CardTypes::default(),
            marks: MarkQueue::default(),
        }
    }
}

/// Who holds a no-show mark, by the mark's time: so that retention forgets the marks that can
/// no longer count (`PatientState::retire`) of patients who do not come back. A retirement
/// otherwise reaches only the patients of the retired days' logs, whose marks of those days
/// still count under a window longer than the retention (the default: the calendar year
/// against 30 days), and a mark of a patient who never books again was kept for ever.
///
/// One entry per mark made (live, replayed, restored from a snapshot); a mark's entry is not
/// removed when the mark goes another way (the patient's own retirement, a merge: `lock`
/// follows a merge to the record that holds the mark now), so an entry may name a patient with
/// nothing left to forget — visiting one costs a lock, and changes nothing. A mark counts
/// at `now` less the older it is, under either window (`NoShowWindow`), so the entries of
/// marks past counting are the oldest ones: `take_past` pops them and no others. Hence after a
/// retirement no record holds a mark past counting at its time, whichever entries were
/// there: live, replayed and restored engines forget the same marks.
///
/// Bounded by the marks made over the counting window and the retention (each popped at the
/// first retirement after its mark stops counting): 16 B a mark. Kept only while retention is
/// on: with retention off nothing retires, so the queue would only grow, a mark at a time,
/// for nothing. Turning retention on fills it from every record (`Engine::replace_policy`,
/// under the policy gate's write side, which every caller of `Engine::add_no_show` holds
/// shared: no mark is made meanwhile); turning it off empties it. A leaf lock: taken inside a
/// patient's lock to push, never while a patient's lock is taken to pop.
#[derive(Default)]
pub(crate) struct MarkQueue {
    heap: Mutex<std::collections::BinaryHeap<std::cmp::Reverse<(Timestamp, PatientId)>>>,
}

impl MarkQueue {
    /// `patient` was given a mark at `at`.
    pub fn push(&self, at: Timestamp, patient: PatientId) {
        self.heap.lock().push(std::cmp::Reverse((at, patient)));
    }

    /// Retention was turned off: forget every entry, and the memory they took.
    pub fn clear(&self) {
        *self.heap.lock() = std::collections::BinaryHeap::new();
    }

    /// Retention was turned on: queue every mark `patients` hold (after `clear`, or on an
    /// empty queue). The records are read first, each under its own lock, and the queue's
    /// lock is taken once at the end: it is a leaf lock, never held while a patient's is taken.
    pub fn fill_from(&self, patients: &Patients) {
        let entries = Self::marks_held(patients).into_iter().map(std::cmp::Reverse);
        self.heap.lock().extend(entries);
    }

    /// Every mark the records hold, as (when, whose record), each record read under its own
    /// lock: what the queue must cover while retention is on.
    fn marks_held(patients: &Patients) -> Vec<(Timestamp, PatientId)> {
        let mut marks = Vec::new();
        for i in 0..patients.count() {
            let id = PatientId::from_index(i);
            if let Ok(record) = patients.lock_raw(id) {
                marks.extend(record.no_shows().iter().map(|m| (m.at, id)));
            }
        }
        marks
    }

    /// The patients of every entry whose mark no longer counts at `now` under `policy`,
    /// taken out of the queue (a patient once per such entry: the caller dedups, with the
    /// retired days' patients).
    pub fn take_past(
        &self,
        policy: &NoShowPolicy,
        now: Timestamp,
        utc_offset_s: i32,
    ) -> Vec<PatientId> {
        let mut heap = self.heap.lock();
        let mut past = Vec::new();
        while let Some(&std::cmp::Reverse((at, patient))) = heap.peek() {
            if mark_counts(policy, at, now, utc_offset_s) {
                break;
            }
            heap.pop();
            past.push(patient);
        }
        past
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.lock().len()
    }

    /// Tests (`Engine::check_no_show_queue`): with retention `on`, every mark a record holds
    /// has an entry naming a patient whose lock leads to that record; off, the queue is empty.
    /// Meaningful once operations have quiesced. The queue is copied first: its lock is a leaf.
    #[cfg(feature = "fuzz-hooks")]
    pub fn check_covers(&self, patients: &Patients, on: bool) -> std::result::Result<(), String> {
        let entries: Vec<(Timestamp, PatientId)> = self.heap.lock().iter().map(|e| e.0).collect();
        if !on {
            return match entries.first() {
                None => Ok(()),
                Some(e) => {
                    Err(format!("retention off, yet {} entries queued ({e:?} …)", entries.len()))
                }
            };
        }
        let mut queued = std::collections::HashSet::new();
        for (at, id) in entries {
            if let Ok((owner, _)) = patients.lock(id) {
                queued.insert((at, owner));
            }
        }
        match Self::marks_held(patients).into_iter().find(|mark| !queued.contains(mark)) {
            Some((at, id)) => {
                Err(format!("{id}'s no-show mark at {at:?} is not queued for retention"))
            }
            None => Ok(()),
        }
    }
}

/// Whether a mark made at `at` counts at `now` (the policy's window).
fn mark_counts(policy: &NoShowPolicy, at: Timestamp, now: Timestamp, utc_offset_s: i32) -> bool {
    match policy.window {
        NoShowWindow::CalendarYear => {
            at.to_local(utc_offset_s).0.year() == now.to_local(utc_offset_s).0.year()
        }
        NoShowWindow::RollingDays(d) => at.0 > now.0 - d as i64 * DAY_S,
    }
}

impl Patients {
    pub fn register(&self) -> Result<PatientId> {
        if self.records.count() >= PATIENTS_MAX {
            return Err(Error::CapacityExceeded(format!("at most {PATIENTS_MAX} patients")));
        }
        let index = self
            .records
            .push(Mutex::new(PatientState::default()))
            .map_err(|_| Error::CapacityExceeded(format!("at most {PATIENTS_MAX} patients")))?;
        Ok(PatientId::from_index(index))
    }

    pub fn count(&self) -> usize {
        self.records.count()
    }

    /// Lock a patient's record as stored, without following merges.
    pub fn lock_raw(&self, id: PatientId) -> Result<MutexGuard<'_, PatientState>> {
        Ok(self
            .records
            .get(id.index().ok_or_else(|| Error::not_found("patient", 0))?)
            .ok_or_else(|| Error::not_found("patient", id.0 as u64))?
            .lock())
    }

    /// Lock the record that now holds `id`'s data, following merges to the survivor.
    pub fn lock(&self, id: PatientId) -> Result<(PatientId, MutexGuard<'_, PatientState>)> {
        let mut current = id;
        // Merge chains are short; the bound keeps a corrupted chain from looping forever.
        for _ in 0..64 {
            let guard = self.lock_raw(current)?;
            match guard.merged_into() {
                None => return Ok((current, guard)),
                Some(next) => current = next,
            }
        }
        Err(Error::invalid(format!("merge chain of {id} is too long")))
    }

    /// The survivor id that `id` now resolves to.
    pub fn resolve(&self, id: PatientId) -> Result<PatientId> {
        self.lock(id).map(|(p, _)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn booking(date: i32, dept: u32, state: BookingState) -> BookingRec {
        let (rec, links) = BookingRec::made(&Booking {
            id: BookingId(0),
            patient: PatientId(0),
            slot: SlotId(0),
            department: DepartmentId(dept),
            date: Date(date),
            channel: ChannelId(0),
            state,
            pool: Pool::General,
            referral: None,
            offer: None,
            created_at: Timestamp(0),
            expires_at: Timestamp(0),
            starts_at: Timestamp(0),
        });
        assert!(links.is_none());
        rec
    }

    #[test]
    fn limits_follow_domain_defaults() {
        let l = LimitPolicy::default();
        let me = PatientId(0);
        let mut p = PatientState::default();
        p.bookings.push(booking(100, 1, BookingState::Booked));
        let err = p.check_limits(me, &l, DepartmentId(1), Date(100)).unwrap_err();
        assert!(matches!(err, Error::LimitReached { limit: LimitKind::PerDepartmentDay, .. }));
        assert!(p.check_limits(me, &l, DepartmentId(2), Date(100)).is_ok());
        p.bookings.push(booking(100, 2, BookingState::Held));
        let err = p.check_limits(me, &l, DepartmentId(3), Date(100)).unwrap_err();
        assert!(matches!(err, Error::LimitReached { limit: LimitKind::PerVisitDate, .. }));
        p.bookings.push(booking(106, 3, BookingState::Booked));
        // 100, 100, 106 lie in one 7-day window; 107 shares a window with 106 only... and with 101..107.
        let err = p.check_limits(me, &l, DepartmentId(4), Date(103)).unwrap_err();
        assert!(matches!(err, Error::LimitReached { limit: LimitKind::PerSevenDays, .. }));
        assert!(p.check_limits(me, &l, DepartmentId(4), Date(107)).is_ok());
        // Ended bookings do not count.
        p.bookings[0].state = BookingState::Cancelled;
        assert!(p.check_limits(me, &l, DepartmentId(4), Date(103)).is_ok());
        p.bookings.push(booking(200, 3, BookingState::Booked));
        p.bookings.push(booking(300, 3, BookingState::Booked));
        p.bookings.push(booking(400, 3, BookingState::CheckedIn));
        let err = p.check_limits(me, &l, DepartmentId(4), Date(500)).unwrap_err();
        assert!(matches!(err, Error::LimitReached { limit: LimitKind::TotalActive, .. }));
    }

    #[test]
    fn ended_history_is_bounded_and_active_bookings_are_kept() {
        let mut p = PatientState::default();
        p.push_booking(booking(1, 1, BookingState::Booked), None, Timestamp(0));
        for i in 0..1000 {
            let mut b = booking(2, 1, BookingState::Cancelled);
            b.id = BookingId(i + 10);
            p.push_booking(b, None, Timestamp(0));
        }
        assert!(p.bookings.len() <= 2 * ENDED_BOOKINGS_KEPT);
        assert_eq!(p.bookings[0].state, BookingState::Booked, "active bookings are never dropped");
        assert_eq!(
            p.bookings.last().unwrap().id,
            BookingId(1009),
            "the newest ended ones are kept"
        );
        assert!(p.bookings.iter().filter(|b| !b.state.is_active()).count() >= ENDED_BOOKINGS_KEPT);
    }

    #[test]
    fn an_empty_record_allocates_nothing_and_a_first_entry_exactly_one() {
        let mut p = PatientState::default();
        assert!(p.rare.is_none() && p.bookings.capacity() == 0, "nothing allocated while empty");
        p.push_booking(booking(1, 1, BookingState::Booked), None, Timestamp(0));
        assert_eq!(p.bookings.capacity(), 1);
        // A few bookings grow one at a time (no doubling slack in a 3-booking record).
        p.push_booking(booking(2, 1, BookingState::Booked), None, Timestamp(0));
        p.push_booking(booking(3, 1, BookingState::Booked), None, Timestamp(0));
        assert_eq!(p.bookings.capacity(), 3);
        let pol = NoShowPolicy::default();
        p.add_no_show(0.5, Timestamp(0), &pol, 0, (Some(&MarkQueue::default()), PatientId(1)));
        assert_eq!(p.rare.as_ref().unwrap().no_shows.capacity(), 1);
        // Later entries grow as a Vec does.
        p.add_no_show(0.25, Timestamp(1), &pol, 0, (Some(&MarkQueue::default()), PatientId(1)));
        let no_shows = &p.rare.as_ref().unwrap().no_shows;
        assert!(no_shows.capacity() >= 2 && no_shows.len() == 2);
    }

    fn card(types: &str, number: &str) -> LinkedCard {
        LinkedCard::new(&CardKey::from_bytes(&[7; 32]).unwrap(), types, number).unwrap()
    }

    #[test]
    fn a_first_card_lives_in_the_record_and_every_card_reads_back_as_linked() {
        let types = CardTypes::default();
        let cards = [
            card("resident_id", "441900199001011234"),
            card("身份证", "H-9"),
            card("e-health", "EH123456"),
            // Visible characters beyond ASCII: kept in full.
            card("医保卡", "粤A12345678"),
        ];
        let mut p = PatientState::default();
        for c in &cards {
            p.add_card(&types, c.clone());
        }
        assert!(p.card.is_some(), "the first card is compact");
        assert_eq!(p.cards(&types), cards.to_vec(), "same cards, same order");
        assert_eq!(
            p.card_digests().collect::<Vec<_>>(),
            cards.iter().map(|c| c.digest).collect::<Vec<_>>()
        );
        assert!(p.has_card(cards[2].digest) && p.card_count() == 4);

        // A first card that does not fit stays first, and later cards follow it.
        let mut q = PatientState::default();
        q.add_card(&types, cards[3].clone());
        q.add_card(&types, cards[0].clone());
        assert!(q.card.is_none());
        assert_eq!(q.cards(&types), vec![cards[3].clone(), cards[0].clone()]);

        // Multi-byte characters at either end, where a byte count would cut one.
        for number in ["é1234567", "1234567é", "éééééééé", "123456é8", "1é345678"] {
            let c = card("t", number);
            let mut q = PatientState::default();
            q.add_card(&types, c.clone());
            assert_eq!(q.cards(&types), vec![c], "{number}");
        }
        // A masked form the mask did not make round-trips in full, never altered.
        let odd = LinkedCard::restored("x".into(), "ab*d".into(), cards[0].digest).unwrap();
        assert!(CompactCard::new(&types, &odd).is_none());
        let mut r = PatientState::default();
        r.add_card(&types, odd.clone());
        assert_eq!(r.cards(&types), vec![odd]);
    }

    proptest::proptest! {
        /// Whatever a host links — any type, any number the card rules accept, ASCII or not,
        /// in any order — a record gives back exactly the cards linked, in order, whichever
        /// form (compact or full) each was kept in.
        #[test]
        fn every_linked_card_reads_back_exactly(
            cards in proptest::collection::vec(
                ("[a-z\\-_]{1,6}|身份证|医保卡|[^\\x00]{1,4}", "[0-9A-Za-z*\\-]{1,30}|[^\\x00]{1,24}"),
                1..5,
            ),
        ) {
            let types = CardTypes::default();
            let key = CardKey::from_bytes(&[3; 32]).unwrap();
            let linked: Vec<LinkedCard> = cards
                .iter()
                .filter_map(|(t, n)| LinkedCard::new(&key, t, n).ok())
                .collect();
            let mut p = PatientState::default();
            for c in &linked {
                p.add_card(&types, c.clone());
            }
            proptest::prop_assert_eq!(p.cards(&types), linked.clone());
            let q = PatientState::from_parts(&types, p.parts(&types, PatientId(1))).unwrap();
            proptest::prop_assert_eq!(q.cards(&types), linked);
        }
    }

    proptest::proptest! {
        // Enough cases, and limits mostly wide for the first three, that the 7-day windows
        // decide often: each of their edges (first and last window, the sliding sum) is
        // reached by a record that only it refuses.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        /// The one-pass check of the common case gives the answer of the general one (each
        /// limit counted by its own scan) for any record, limits, date and department.
        #[test]
        fn the_one_pass_limit_check_agrees_with_the_general_one(
            held in proptest::collection::vec((93i32..107, 1u32..4, 0usize..5), 0..12),
            limits in (0u32..24, 0u32..6, 0u32..4, 0u32..6),
            date in 95i32..105,
            dept in 1u32..4,
        ) {
            use BookingState::*;
            // Mostly active, as records near a limit are.
            let states = [Held, Booked, CheckedIn, Booked, Cancelled];
            let mut p = PatientState::default();
            for (d, dep, s) in held {
                p.bookings.push(booking(d, dep, states[s]));
            }
            let l = LimitPolicy {
                total_active: limits.0,
                per_visit_date: limits.1,
                per_department_day: limits.2,
                per_seven_days: limits.3,
                ..LimitPolicy::default()
            };
            let (me, date, department) = (PatientId(1), Date(date), DepartmentId(dept));
            let on_date = |department: Option<DepartmentId>| {
                p.bookings
                    .iter()
                    .filter(|b| {
                        b.state.is_active()
                            && b.date == date
                            && department.is_none_or(|d| b.department == d)
                    })
                    .count() as u32
            };
            let general =
                p.check_limits_with(me, &l, date, department, |b| b.state.is_active(), on_date);
            let one_pass = p.check_single_limits(me, &l, department, date);
            proptest::prop_assert_eq!(format!("{general:?}"), format!("{one_pass:?}"));
        }
    }

    #[test]
    fn a_full_type_table_keeps_cards_in_full() {
        let types = CardTypes::default();
        for i in 0..CARD_TYPES_MAX {
            assert_eq!(types.number(&format!("t{i}")), Some(i as u16));
        }
        assert_eq!(types.number("t7"), Some(7), "known types keep their number");
        assert_eq!(types.number("one more"), None);
        let mut p = PatientState::default();
        let c = card("one more", "441900199001011234");
        p.add_card(&types, c.clone());
        assert!(p.card.is_none());
        assert_eq!(p.cards(&types), vec![c]);
    }

    #[test]
    fn parts_round_trip_and_an_empty_rare_part_is_not_allocated() {
        let types = CardTypes::default();
        let mut p = PatientState::default();
        p.add_card(&types, card("resident_id", "441900199001011234"));
        p.push_booking(booking(1, 1, BookingState::Booked), None, Timestamp(0));
        let q = PatientState::from_parts(&types, p.parts(&types, PatientId(1))).unwrap();
        assert!(q.rare.is_none() && q.card.is_some());
        assert_eq!(q.cards(&types), p.cards(&types));
        p.set_merged_into(PatientId(9));
        p.suspend_until(Timestamp(50));
        p.add_card(&types, card("e-health", "EH123456"));
        let q = PatientState::from_parts(&types, p.parts(&types, PatientId(1))).unwrap();
        assert_eq!(
            (q.merged_into(), q.suspended_until()),
            (Some(PatientId(9)), Some(Timestamp(50)))
        );
        assert_eq!(q.cards(&types), p.cards(&types));
        assert_eq!(q.bookings.to_vec(), p.bookings.to_vec());
    }

    /// A booking with a referral or an offer keeps them beside the record
    /// (`booking_record.rs`): they read back with the booking wherever it goes — a snapshot, a
    /// merge — and go with it, whether the history forgets it or retention retires it.
    #[test]
    fn a_bookings_links_follow_it_and_go_with_it() {
        let types = CardTypes::default();
        let linked = |id: u64, date: i32, state: BookingState| {
            let b = Booking {
                id: BookingId(id),
                patient: PatientId(1),
                slot: SlotId(3),
                department: DepartmentId(1),
                date: Date(date),
                channel: ChannelId(0),
                state,
                pool: Pool::Referral,
                referral: Some(ReferralId(id + 100)),
                offer: id.is_multiple_of(2).then_some(WaitlistId(id + 200)),
                created_at: Timestamp(0),
                expires_at: Timestamp(0),
                starts_at: Timestamp(date as i64 * DAY_S),
            };
            let (rec, links) = BookingRec::made(&b);
            (b, rec, links)
        };
        let mut p = PatientState::default();
        let (b1, rec, links) = linked(1, 10, BookingState::Booked);
        p.push_booking(rec, links, Timestamp(0));
        p.push_booking(booking(10, 1, BookingState::Booked), None, Timestamp(0));
        assert_eq!(p.public_at(0, PatientId(1)), b1);
        assert_eq!(p.referral_of(&p.bookings[0]), Some(ReferralId(101)));
        assert_eq!(p.referral_of(&p.bookings[1]), None);
        // A snapshot's round trip.
        let q = PatientState::from_parts(&types, p.parts(&types, PatientId(1))).unwrap();
        assert_eq!(q.public_at(0, PatientId(1)), b1);
        assert_eq!(q.rare.as_ref().unwrap().links.len(), 1);
        // A merge: the survivor reads the merged record's booking with its links.
        let mut survivor = PatientState::default();
        survivor.absorb(&types, PatientId(7), p);
        let moved = survivor.booking(BookingId(1)).unwrap();
        assert_eq!(
            survivor.public_booking(moved, PatientId(7)),
            Booking { patient: PatientId(7), ..b1 }
        );
        // The history forgets ended bookings past ENDED_BOOKINGS_KEPT: their links go too.
        let mut p = PatientState::default();
        for i in 0..(2 * ENDED_BOOKINGS_KEPT as u64 + 1) {
            let (_, rec, links) = linked(i + 1, 10, BookingState::Cancelled);
            p.push_booking(rec, links, Timestamp(20 * DAY_S));
        }
        let kept: Vec<BookingId> = p.bookings.iter().map(|b| b.id).collect();
        let links: Vec<BookingId> =
            p.rare.as_ref().unwrap().links.iter().map(|l| l.booking).collect();
        assert!(kept.len() < 2 * ENDED_BOOKINGS_KEPT, "the history was compacted");
        assert_eq!(links, kept, "one entry per booking kept, none for a booking gone");
        for (i, b) in p.bookings.iter().enumerate() {
            assert_eq!(p.public_at(i, PatientId(1)), linked(b.id.0, 10, BookingState::Cancelled).0);
        }
        // Retention: a retired day's bookings go with their links, and an empty rare part too.
        let mut p = PatientState::default();
        let (_, rec, links) = linked(2, 10, BookingState::Fulfilled);
        p.push_booking(rec, links, Timestamp(0));
        let (b3, rec, links) = linked(3, 40, BookingState::Booked);
        p.push_booking(rec, links, Timestamp(0));
        assert_eq!(
            p.retire(Timestamp(20 * DAY_S), &NoShowPolicy::default(), Timestamp(50 * DAY_S), 0),
            1
        );
        assert_eq!(p.rare.as_ref().unwrap().links.len(), 1);
        assert_eq!(p.public_at(0, PatientId(1)), b3);
        assert_eq!(
            p.retire(Timestamp(45 * DAY_S), &NoShowPolicy::default(), Timestamp(75 * DAY_S), 0),
            1
        );
        assert!(p.rare.is_none(), "nothing left in the rare part: freed");
    }

    #[test]
    fn no_show_ladder_and_fractions() {
        let pol = NoShowPolicy::default();
        let mut p = PatientState::default();
        let t0 = Timestamp(1_800_000_000);
        assert_eq!(
            p.add_no_show(0.5, t0, &pol, 0, (Some(&MarkQueue::default()), PatientId(1))),
            None
        );
        let (until, n) =
            p.add_no_show(0.5, t0, &pol, 0, (Some(&MarkQueue::default()), PatientId(1))).unwrap();
        assert_eq!(until, t0.plus_s(30 * DAY_S));
        assert!((n - 1.0).abs() < 1e-6);
        let (until, _) =
            p.add_no_show(1.0, t0, &pol, 0, (Some(&MarkQueue::default()), PatientId(1))).unwrap();
        assert_eq!(until, t0.plus_s(60 * DAY_S));
        // Rolling window: old marks fall out.
        let rolling =
            NoShowPolicy { window: NoShowWindow::RollingDays(10), ..NoShowPolicy::default() };
        assert_eq!(p.no_shows_in_window(&rolling, t0.plus_s(11 * DAY_S), 0), 0.0);
    }

    /// Noticed in the thirteenth session, fixed in the fifteenth: a retirement pruned only the
    /// patients of the retired days' logs, at a time when their marks of those days still
    /// counted (the calendar-year window against 30 days of retention). A patient who never
    /// booked again kept the mark for ever. Now the mark goes at the first retirement after it
    /// stops counting.
    #[test]
    fn retention_forgets_the_marks_of_patients_who_never_come_back() {
        use crate::*;
        let off = 8 * 3600;
        let day = Date::from_ymd(2026, 3, 2).unwrap();
        let local = |d: Date, min: u16| Timestamp::from_local(d, min, off);
        let config = EngineConfig { utc_offset_s: off, ..EngineConfig::default() };
        assert_eq!(config.policy.no_show.window, NoShowWindow::CalendarYear);
        assert_eq!(config.policy.retention.days, 30);
        let e = Engine::with_manual_clock(config, local(day.plus_days(-1), 16 * 60)).unwrap();
        let inst = e.add_institution("Nancheng Hospital", Tier::Secondary, "Nancheng").unwrap();
        let dept = e.add_department(inst, "cardiology", "Cardiology").unwrap();
        let doctor = e.add_resource(dept, ResourceKind::Doctor, "Dr Chen", false).unwrap();
        let spec =
            SlotSpec { resource: doctor, date: day, start_min: 480, end_min: 510, capacity: 2 };
        let slot = e.publish_slots(&[spec]).unwrap().start;
        let gone = e.register_patient().unwrap();
        let b = e.book(&Request::new(gone, slot, e.channel_id("app").unwrap())).unwrap();
        e.advance_to(local(day, 9 * 60)).unwrap();
        e.mark_no_show(b.id).unwrap();
        let marks = |p: PatientId| e.patients.lock(p).unwrap().1.no_shows().len();
        // The visit day has retired; the mark still counts this year, and is kept.
        e.advance_to(local(day.plus_days(60), 0)).unwrap();
        assert!(e.slot(slot).is_err(), "the visit day is retired");
        assert_eq!((marks(gone), e.patient_record(gone).unwrap().no_shows_in_window), (1, 1.0));
        assert_eq!(e.patients.marks.len(), 1);
        // The next year: it no longer counts, and goes with the next retirement, though the
        // patient has booked nothing since; the record is back to its lean form.
        e.advance_to(local(Date::from_ymd(2027, 1, 2).unwrap(), 0)).unwrap();
        assert_eq!(marks(gone), 0);
        assert!(e.patients.lock(gone).unwrap().1.rare.is_none());
        assert_eq!(e.patients.marks.len(), 0);
    }

    /// Noticed in the fifteenth session, fixed in the sixteenth: with retention off nothing
    /// retires, yet every mark was queued for retention, so the queue grew a mark at a time
    /// for the engine's life (the brief's "a limit on every queue"). Now nothing is queued
    /// while retention is off, and turning it on queues the marks the records hold, so those
    /// made while it was off are still forgotten once they stop counting; turning it off
    /// again empties the queue.
    #[test]
    fn with_retention_off_no_show_marks_queue_nothing_and_turning_it_on_finds_them() {
        use crate::*;
        let off = 8 * 3600;
        let day = Date::from_ymd(2026, 3, 2).unwrap();
        let local = |d: Date, min: u16| Timestamp::from_local(d, min, off);
        let mut config = EngineConfig { utc_offset_s: off, ..EngineConfig::default() };
        config.policy.retention.days = 0;
        let e = Engine::with_manual_clock(config, local(day.plus_days(-1), 16 * 60)).unwrap();
        let inst = e.add_institution("Nancheng Hospital", Tier::Secondary, "Nancheng").unwrap();
        let dept = e.add_department(inst, "cardiology", "Cardiology").unwrap();
        let doctor = e.add_resource(dept, ResourceKind::Doctor, "Dr Chen", false).unwrap();
        let app = e.channel_id("app").unwrap();
        let patients = e.register_patients(3).unwrap();
        let specs: Vec<SlotSpec> = (0..3u16)
            .map(|k| SlotSpec {
                resource: doctor,
                date: day,
                start_min: 480 + 30 * k,
                end_min: 510 + 30 * k,
                capacity: 1,
            })
            .collect();
        let slots = e.publish_slots(&specs).unwrap();
        let booked: Vec<BookingId> = slots
            .iter()
            .zip(&patients)
            .map(|(slot, &p)| e.book(&Request::new(p, slot, app)).unwrap().id)
            .collect();
        e.advance_to(local(day, 12 * 60)).unwrap();
        for &b in &booked {
            e.mark_no_show(b).unwrap();
        }
        let marks = |p: PatientId| e.patients.lock(p).unwrap().1.no_shows().len();
        // Retention off: the marks are kept (they count this year) and nothing is queued.
        assert_eq!(patients.iter().map(|&p| marks(p)).sum::<usize>(), 3);
        assert_eq!(e.patients.marks.len(), 0, "queued with retention off");
        // Turned on: the queue holds the three marks, and the next year's first retirement
        // forgets them.
        let mut policy = e.policy().clone();
        policy.retention.days = 30;
        e.set_policy(policy.clone()).unwrap();
        assert_eq!(e.patients.marks.len(), 3);
        e.advance_to(local(Date::from_ymd(2027, 1, 2).unwrap(), 0)).unwrap();
        assert_eq!(patients.iter().map(|&p| marks(p)).sum::<usize>(), 0);
        assert_eq!(e.patients.marks.len(), 0);
        // Off again with a mark queued: the queue is emptied, the mark kept.
        let slot = e
            .publish_slots(&[SlotSpec {
                resource: doctor,
                date: Date::from_ymd(2027, 1, 3).unwrap(),
                start_min: 480,
                end_min: 510,
                capacity: 1,
            }])
            .unwrap()
            .start;
        let b = e.book(&Request::new(patients[0], slot, app)).unwrap();
        e.advance_to(local(Date::from_ymd(2027, 1, 3).unwrap(), 12 * 60)).unwrap();
        e.mark_no_show(b.id).unwrap();
        assert_eq!(e.patients.marks.len(), 1);
        policy.retention.days = 0;
        e.set_policy(policy).unwrap();
        assert_eq!((e.patients.marks.len(), marks(patients[0])), (0, 1));
    }
}
