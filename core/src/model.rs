//! The model: the engine's plain data types — what goes in and comes out of every call, the
//! records the events and the journal carry — apart from the operations on them (TigerBeetle
//! keeps its types in `tigerbeetle.zig` and its operations in `state_machine.zig`).
//!
//! This module depends only on ids, time and serde, so that every other module can use it and
//! none is needed to read it. State (slots, patients, the registry, events, timers, rosters,
//! waitlists, lotteries) lives in modules that import the model; operations (`engine`,
//! `booking`, `waitlist`, `lottery`, `referral`, `availability`) implement `Engine` on top.

use crate::ids::*;
use crate::time::{Date, TimeOfDay, Timestamp};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- the region

/// The level of care of an institution (分级诊疗).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 基层 / 一级: community clinics and township hospitals.
    Community = 1,
    /// 二级.
    Secondary = 2,
    /// 三级.
    Tertiary = 3,
}

/// What is booked.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Doctor,
    Bed,
    Exam,
    Nursing,
    Pharmacy,
    Service,
}

/// A hospital or clinic.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Institution {
    pub id: InstitutionId,
    pub name: String,
    pub tier: Tier,
    pub district: DistrictId,
}

/// A specialty at one institution.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Department {
    pub id: DepartmentId,
    pub institution: InstitutionId,
    pub specialty: SpecialtyId,
    pub name: String,
}

/// The measured no-show rate of a resource.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceStats {
    pub resource: ResourceId,
    /// Bookings that reached an outcome: attended or no-show.
    pub outcomes: u64,
    pub no_shows: u64,
    /// `no_shows / outcomes`, 0 when nothing was observed yet.
    pub no_show_rate: f64,
}

/// A booking channel.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
}

// ---------------------------------------------------------------- slots

/// Which share of a slot a place was taken from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Pool {
    General = 0,
    Referral = 1,
    Quota0 = 2,
    Quota1 = 3,
}

impl Pool {
    pub const ALL: [Pool; 4] = [Pool::General, Pool::Referral, Pool::Quota0, Pool::Quota1];

    pub fn quota(group: usize) -> Pool {
        if group == 0 {
            Pool::Quota0
        } else {
            Pool::Quota1
        }
    }
}

/// What a caller publishes: one time segment of one resource.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotSpec {
    pub resource: ResourceId,
    pub date: Date,
    /// Minutes after local midnight, `start_min < end_min <= 1440`.
    pub start_min: u16,
    pub end_min: u16,
    /// Places, 1 ..= [`PLACES_MAX`](crate::PLACES_MAX).
    pub capacity: u16,
}

// ---------------------------------------------------------------- requests

/// A request for a place in one slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub patient: PatientId,
    pub slot: SlotId,
    pub channel: ChannelId,
    /// A referral from a lower tier: opens the referral pool and raises priority.
    #[serde(default)]
    pub referral: Option<ReferralId>,
    /// A follow-up visit (priority between referrals and the general public).
    #[serde(default)]
    pub follow_up: bool,
}

impl Request {
    pub fn new(patient: PatientId, slot: SlotId, channel: ChannelId) -> Request {
        Request { patient, slot, channel, referral: None, follow_up: false }
    }

    pub fn with_referral(mut self, referral: ReferralId) -> Request {
        self.referral = Some(referral);
        self
    }

    pub fn as_follow_up(mut self) -> Request {
        self.follow_up = true;
        self
    }
}

/// The outcome of [`Engine::submit`](crate::Engine::submit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Submission {
    /// Booked at once (first come, first served).
    Booked { booking: Booking },
    /// Entered into the release lottery, drawn at `draws_at`; the result arrives as a
    /// `lottery_won` / `lottery_lost` event.
    Entered { ticket: TicketId, draws_at: Timestamp },
}

/// Priority classes, highest first. Used by the lottery weights and waitlist order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityClass {
    Emergency,
    Urgent,
    Routine,
    FollowUp,
    General,
}

impl PriorityClass {
    pub(crate) fn of(urgency: Option<Urgency>, follow_up: bool) -> PriorityClass {
        match urgency {
            Some(Urgency::Emergency) => PriorityClass::Emergency,
            Some(Urgency::Urgent) => PriorityClass::Urgent,
            Some(Urgency::Routine) => PriorityClass::Routine,
            None if follow_up => PriorityClass::FollowUp,
            None => PriorityClass::General,
        }
    }
}

// ---------------------------------------------------------------- referrals

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

/// A referral to issue: from a community or secondary institution to a specialty at a higher
/// tier (any institution of that tier or above, or one named institution).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralRequest {
    pub patient: PatientId,
    pub from: InstitutionId,
    pub specialty: String,
    #[serde(default)]
    pub institution: Option<InstitutionId>,
    pub urgency: Urgency,
    /// Valid for this many days from now (1 ..= 366).
    pub valid_days: u16,
}

// ---------------------------------------------------------------- patients and bookings

/// An external identifier linked to a patient, as the engine reports it: a social-security
/// card, e-health card, a hospital's own card … ("one person, one card"). The number itself is
/// never kept (see `cards.rs`): only its masked form, e.g. `4419**********1234`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Card {
    pub card_type: String,
    /// The number masked for display ([`mask_card_number`](crate::mask_card_number)).
    pub masked: String,
}

/// The lifecycle of a hold or booking:
/// `held → booked → checked_in → fulfilled`; `held → expired`; `held | booked → cancelled`
/// (or `provider_cancelled`); `booked → no_show`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    Held,
    Booked,
    CheckedIn,
    Fulfilled,
    Expired,
    Cancelled,
    ProviderCancelled,
    NoShow,
}

impl BookingState {
    /// Holds, bookings and check-ins occupy a place and count against the patient's limits.
    pub fn is_active(self) -> bool {
        matches!(self, BookingState::Held | BookingState::Booked | BookingState::CheckedIn)
    }

    pub fn name(self) -> &'static str {
        match self {
            BookingState::Held => "held",
            BookingState::Booked => "booked",
            BookingState::CheckedIn => "checked_in",
            BookingState::Fulfilled => "fulfilled",
            BookingState::Expired => "expired",
            BookingState::Cancelled => "cancelled",
            BookingState::ProviderCancelled => "provider_cancelled",
            BookingState::NoShow => "no_show",
        }
    }
}

impl std::fmt::Display for BookingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A hold or booking as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    pub id: BookingId,
    pub patient: PatientId,
    pub slot: SlotId,
    pub department: DepartmentId,
    pub date: Date,
    pub channel: ChannelId,
    pub state: BookingState,
    pub pool: Pool,
    pub referral: Option<ReferralId>,
    /// A waitlist offer this hold came from.
    pub offer: Option<WaitlistId>,
    pub created_at: Timestamp,
    /// When a hold expires (only meaningful while `held`).
    pub expires_at: Timestamp,
    /// Start of the booked segment.
    pub starts_at: Timestamp,
}

/// A referral from a lower-tier institution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub id: ReferralId,
    pub patient: PatientId,
    pub from: InstitutionId,
    pub specialty: SpecialtyId,
    /// Restrict to one institution, or any higher-tier institution with the specialty.
    pub institution: Option<InstitutionId>,
    pub urgency: Urgency,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
    /// The booking that consumed it, while that booking stands.
    pub used_by: Option<BookingId>,
}

/// A counted no-show (or a late cancellation counted as a fraction of one).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoShowMark {
    pub at: Timestamp,
    pub weight: f32,
}

/// A patient's record as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatientRecord {
    pub patient: PatientId,
    pub cards: Vec<Card>,
    /// Weighted no-shows in the policy's counting window.
    pub no_shows_in_window: f32,
    pub suspended_until: Option<Timestamp>,
    pub active_bookings: Vec<Booking>,
    pub referrals: Vec<Referral>,
    pub waitlist_entries: u32,
}

// ---------------------------------------------------------------- waitlists

/// What a patient waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistRequest {
    pub patient: PatientId,
    pub department: DepartmentId,
    /// One resource of the department, or any.
    #[serde(default)]
    pub resource: Option<ResourceId>,
    pub date_from: Date,
    pub date_to: Date,
    /// Only segments starting in this time of day.
    #[serde(default)]
    pub time: Option<TimeOfDay>,
    pub channel: ChannelId,
    #[serde(default)]
    pub referral: Option<ReferralId>,
    #[serde(default)]
    pub follow_up: bool,
}

/// A waitlist entry as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub id: WaitlistId,
    pub request: WaitlistRequest,
    pub priority: PriorityClass,
    pub joined_at: Timestamp,
}

// ---------------------------------------------------------------- availability

/// Which free slots to list. Unset filters match everything; the date range is required.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AvailabilityQuery {
    pub department: Option<DepartmentId>,
    pub resource: Option<ResourceId>,
    pub institution: Option<InstitutionId>,
    pub specialty: Option<String>,
    pub tier: Option<Tier>,
    pub district: Option<String>,
    pub date_from: Date,
    pub date_to: Date,
    pub time: Option<TimeOfDay>,
    /// Count the referral pool as free (for a patient holding a referral).
    pub with_referral: bool,
    pub limit: u32,
}

impl Default for AvailabilityQuery {
    fn default() -> Self {
        AvailabilityQuery {
            department: None,
            resource: None,
            institution: None,
            specialty: None,
            tier: None,
            district: None,
            date_from: Date(0),
            date_to: Date(0),
            time: None,
            with_referral: false,
            limit: 100,
        }
    }
}

impl AvailabilityQuery {
    /// Free slots of one department over a date range.
    pub fn department(department: DepartmentId, date_from: Date, date_to: Date) -> Self {
        AvailabilityQuery { department: Some(department), date_from, date_to, ..Default::default() }
    }
}

/// A slot with free places.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FreeSlot {
    pub slot: SlotId,
    pub resource: ResourceId,
    pub department: DepartmentId,
    pub institution: InstitutionId,
    pub date: Date,
    pub start_min: u16,
    pub end_min: u16,
    /// Places free to this kind of requester now.
    pub free: u32,
    pub starts_at: Timestamp,
}

/// Free and total places of one department-day.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayAvailability {
    pub date: Date,
    pub free: u32,
    pub places: u32,
}

/// Another institution's department with free places, for load spreading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub department: DepartmentId,
    pub institution: InstitutionId,
    pub tier: Tier,
    /// Its earliest free slot in the range.
    pub earliest: FreeSlot,
    /// Booked share of its places over the range (0 = empty, 1 = full).
    pub load: f32,
}

// ---------------------------------------------------------------- live load board

/// Half of a day. A department-session is (department, date, half-day of the slot's start):
/// the engine has no session entity of its own (a roster's hours and `suspend_session`'s
/// `TimeOfDay` are free ranges), and the clinics of DOMAIN.md's cities run a morning and an
/// afternoon session (门诊上午/下午), so the half-day is the session a queue belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HalfDay {
    /// Segments starting before 12:00 local.
    Am,
    /// Segments starting at 12:00 local or later.
    Pm,
}

impl HalfDay {
    /// Local minute of day where the afternoon begins.
    pub const NOON_MIN: u16 = 12 * 60;

    /// The half-day of a local minute of day.
    pub fn of_minute(minute: u16) -> HalfDay {
        if minute < Self::NOON_MIN {
            HalfDay::Am
        } else {
            HalfDay::Pm
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HalfDay::Am => "am",
            HalfDay::Pm => "pm",
        }
    }
}

/// One department's line of the live load board (Xiamen's paediatric platform): its queue in
/// the current session, the measured pace, the expected wait of someone checking in now, and
/// its free places today and beds tonight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardRow {
    pub institution: InstitutionId,
    pub institution_name: String,
    pub department: DepartmentId,
    pub department_name: String,
    pub tier: Tier,
    /// The session the queue belongs to: today (local) and the current half-day.
    pub date: Date,
    pub half_day: HalfDay,
    /// Patients checked in for this session and not yet seen.
    pub queue: u32,
    /// Seconds between two patients seen, for the department as a whole: the resources with
    /// patients in this session, each at its moving average of the interval between
    /// fulfilments (or its slots' planned pace before its second fulfilment), in parallel.
    /// 0 when no resource has a patient in this session.
    pub mean_service_interval_s: f64,
    /// Expected wait of someone checking in now: `queue × mean_service_interval_s`, rounded.
    pub expected_wait_s: u32,
    /// Places a member of the public could still take today (`free_places_by_day`).
    pub free_today: u32,
    /// Free places tonight in the department's `bed` resources (today's bed slots).
    pub free_beds_tonight: u32,
}

/// The live load board of one specialty in one district at one instant, least expected wait
/// first (then shortest queue, then department id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadBoard {
    pub specialty: String,
    pub district: String,
    /// When it was read (the engine's clock).
    pub at: Timestamp,
    pub rows: Vec<BoardRow>,
}

// ---------------------------------------------------------------- engine reports

/// The ids one [`publish_slots`](crate::Engine::publish_slots) call gave its slots:
/// contiguous, in input order, `start` included and `end` excluded. Iterate it, or index it
/// like the input: `range.get(i)` is the id of `specs[i]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlotRange {
    pub start: SlotId,
    pub end: SlotId,
}

impl SlotRange {
    pub fn len(&self) -> usize {
        self.end.0.saturating_sub(self.start.0) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: SlotId) -> bool {
        (self.start.0..self.end.0).contains(&id.0)
    }

    /// The id of the `i`-th slot of the call, if there was one.
    pub fn get(&self, i: usize) -> Option<SlotId> {
        (i < self.len()).then(|| SlotId(self.start.0 + i as u32))
    }

    pub fn iter(&self) -> SlotRangeIter {
        SlotRangeIter(self.start.0..self.end.0)
    }
}

impl IntoIterator for SlotRange {
    type Item = SlotId;
    type IntoIter = SlotRangeIter;
    fn into_iter(self) -> SlotRangeIter {
        self.iter()
    }
}

impl IntoIterator for &SlotRange {
    type Item = SlotId;
    type IntoIter = SlotRangeIter;
    fn into_iter(self) -> SlotRangeIter {
        self.iter()
    }
}

impl From<SlotRange> for std::ops::Range<SlotId> {
    fn from(r: SlotRange) -> Self {
        r.start..r.end
    }
}

/// The ids of a [`SlotRange`], in order.
#[derive(Clone, Debug)]
pub struct SlotRangeIter(std::ops::Range<u32>);

impl Iterator for SlotRangeIter {
    type Item = SlotId;
    fn next(&mut self) -> Option<SlotId> {
        self.0.next().map(SlotId)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for SlotRangeIter {
    fn next_back(&mut self) -> Option<SlotId> {
        self.0.next_back().map(SlotId)
    }
}

impl ExactSizeIterator for SlotRangeIter {}

/// One count per pool, by name. Index it by pool (`counts[Pool::Referral]`) where the pool is a
/// variable; C and Python keep the array form (`to_array`, ordered as [`Pool::ALL`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolCounts {
    pub general: u16,
    pub referral: u16,
    pub quota0: u16,
    pub quota1: u16,
}

impl PoolCounts {
    /// From counts ordered as [`Pool::ALL`].
    pub fn from_array([general, referral, quota0, quota1]: [u16; 4]) -> PoolCounts {
        PoolCounts { general, referral, quota0, quota1 }
    }

    /// The counts ordered as [`Pool::ALL`].
    pub fn to_array(self) -> [u16; 4] {
        [self.general, self.referral, self.quota0, self.quota1]
    }

    /// The sum over all pools.
    pub fn total(&self) -> u32 {
        self.to_array().iter().map(|&n| n as u32).sum()
    }

    /// `(pool, count)` for every pool, in [`Pool::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Pool, u16)> {
        Pool::ALL.into_iter().zip(self.to_array())
    }
}

impl std::ops::Index<Pool> for PoolCounts {
    type Output = u16;
    fn index(&self, pool: Pool) -> &u16 {
        match pool {
            Pool::General => &self.general,
            Pool::Referral => &self.referral,
            Pool::Quota0 => &self.quota0,
            Pool::Quota1 => &self.quota1,
        }
    }
}

/// A published slot as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotInfo {
    pub id: SlotId,
    pub resource: ResourceId,
    pub department: DepartmentId,
    pub institution: InstitutionId,
    pub date: Date,
    pub start_min: u16,
    pub end_min: u16,
    pub capacity: u16,
    /// Places of each pool; general includes overbooking.
    pub pool_places: PoolCounts,
    /// Places taken from each pool.
    pub pool_taken: PoolCounts,
    pub closed: bool,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// What a session suspension (停诊) did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuspensionReport {
    pub slots: Vec<SlotId>,
    /// Holds and bookings cancelled as `provider_cancelled`; the host notifies and rebooks them.
    pub cancelled: Vec<Booking>,
}

/// Counters for a quick look at the engine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineStats {
    pub institutions: usize,
    pub departments: usize,
    pub resources: usize,
    pub patients: usize,
    pub slots: usize,
    pub last_event_seq: u64,
}

// ---------------------------------------------------------------- rosters

/// A weekly schedule: on each of `weekdays`, a session from `start_min` to `end_min` cut into
/// segments of `segment_min` minutes with `places` places each, between `valid_from` and
/// `valid_until` inclusive, except on `closed_dates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    pub resource: ResourceId,
    /// Monday = 0 … Sunday = 6.
    pub weekdays: Vec<u8>,
    pub start_min: u16,
    pub end_min: u16,
    pub segment_min: u16,
    pub places: u16,
    pub valid_from: Date,
    pub valid_until: Date,
    #[serde(default)]
    pub closed_dates: Vec<Date>,
}
