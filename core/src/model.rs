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
    /// A doctor's clinic sessions (门诊号).
    Doctor,
    /// An inpatient bed: one slot per night (Xiamen's obstetric bed pool).
    Bed,
    /// An examination: ultrasound, CT, MRI …
    Exam,
    /// Nursing services (home or clinic).
    Nursing,
    /// Pharmacy pick-up.
    Pharmacy,
    /// Any other bookable service (certificates, vaccinations …).
    Service,
}

/// A hospital or clinic.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Institution {
    /// Its id.
    pub id: InstitutionId,
    /// Its display name.
    pub name: String,
    /// Its tier of care: decides referral priority and where routine care goes first.
    pub tier: Tier,
    /// The district it belongs to: load spreading and alternatives stay within it.
    pub district: DistrictId,
}

/// A specialty at one institution.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Department {
    /// Its id.
    pub id: DepartmentId,
    /// The institution it belongs to.
    pub institution: InstitutionId,
    /// Its specialty: what alternatives, referrals and queries match on.
    pub specialty: SpecialtyId,
    /// Its display name.
    pub name: String,
}

/// The measured no-show rate of a resource.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceStats {
    /// The resource measured.
    pub resource: ResourceId,
    /// Bookings that reached an outcome: attended or no-show.
    pub outcomes: u64,
    /// Of those, no-shows.
    pub no_shows: u64,
    /// `no_shows / outcomes`, 0 when nothing was observed yet.
    pub no_show_rate: f64,
}

/// How [`crate::Engine::calibrate_overbooking`] sets each resource's overbooking ratio from
/// its measured no-show rate: the most extra places per session such that the chance that more
/// patients come than the session has places stays within `overflow_risk` (binomial: each
/// booked patient comes with probability 1 − the resource's no-show rate, independently).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OverbookingCalibration {
    /// Highest accepted probability that a full session (places + extra places booked) sees
    /// more patients come than it has places; 0 < risk < 1, default 0.05.
    pub overflow_risk: f64,
    /// Outcomes (check-ins and no-shows) a resource needs before its rate is used; resources
    /// with fewer keep the ratio they had. Default 50.
    pub min_outcomes: u64,
    /// Highest ratio set (extra places ÷ places), 0 ..= 1; default 0.5.
    pub max_ratio: f32,
}

impl Default for OverbookingCalibration {
    fn default() -> Self {
        OverbookingCalibration { overflow_risk: 0.05, min_outcomes: 50, max_ratio: 0.5 }
    }
}

/// One resource's line of an [`OverbookingReport`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceOverbooking {
    /// The resource.
    pub resource: ResourceId,
    /// Its measured outcomes and no-show rate.
    pub outcomes: u64,
    /// `no_shows / outcomes`.
    pub no_show_rate: f64,
    /// Its typical session: the mean places of its published days within two weeks of
    /// today (before or after), rounded.
    pub places: u32,
    /// Extra places such a session gets.
    pub extra: u32,
    /// The chance that more patients than `places` come to a session booked to
    /// `places + extra`.
    pub overflow_risk: f64,
    /// The ratio set in `overbooking.by_resource` (slightly above `extra ÷ places`, so that
    /// the session spread's ⌊ratio × places⌋ is `extra`).
    pub ratio: f32,
}

/// What [`crate::Engine::calibrate_overbooking`] did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverbookingReport {
    /// The resources calibrated, by id.
    pub resources: Vec<ResourceOverbooking>,
    /// Resources left as they were: fewer outcomes than `min_outcomes`, or no published place.
    pub skipped: u32,
    /// Whether the policy changed (a journaled policy change; slots published from now on get
    /// the new allowances, published ones keep theirs).
    pub policy_changed: bool,
}

/// A booking channel.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Channel {
    /// Its id.
    pub id: ChannelId,
    /// Its name, unique in the engine (the six of [`STANDARD_CHANNELS`](crate::STANDARD_CHANNELS) exist from the start).
    pub name: String,
}

// ---------------------------------------------------------------- slots

/// Which share of a slot a place was taken from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Pool {
    /// The public share: every channel, first come first served (or by lottery at release).
    General = 0,
    /// Reserved for referrals from lower tiers until the policy's roll-over before the start.
    Referral = 1,
    /// Reserved for the first channel quota group (e.g. phone and clinic windows, for the elderly).
    Quota0 = 2,
    /// Reserved for the second channel quota group.
    Quota1 = 3,
}

impl Pool {
    /// Every pool, in index order (the order of counts in C and Python arrays).
    pub const ALL: [Pool; 4] = [Pool::General, Pool::Referral, Pool::Quota0, Pool::Quota1];

    /// The pool of channel quota group `group` (0 or 1; any other value is group 1).
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
    /// The resource it belongs to.
    pub resource: ResourceId,
    /// The local date of the visit.
    pub date: Date,
    /// Minutes after local midnight, `start_min < end_min <= 1440`.
    pub start_min: u16,
    /// Minutes after local midnight at which it ends.
    pub end_min: u16,
    /// Places, 1 ..= [`PLACES_MAX`](crate::PLACES_MAX).
    pub capacity: u16,
}

// ---------------------------------------------------------------- requests

/// A request for a place in one slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The patient asking.
    pub patient: PatientId,
    /// The slot asked for.
    pub slot: SlotId,
    /// The channel the request came through (counts against that channel's quota group).
    pub channel: ChannelId,
    /// A referral from a lower tier: opens the referral pool and raises priority.
    #[serde(default)]
    pub referral: Option<ReferralId>,
    /// A follow-up visit (priority between referrals and the general public).
    #[serde(default)]
    pub follow_up: bool,
}

impl Request {
    /// A plain request: no referral, not a follow-up.
    pub fn new(patient: PatientId, slot: SlotId, channel: ChannelId) -> Request {
        Request { patient, slot, channel, referral: None, follow_up: false }
    }

    /// The same request with a referral.
    pub fn with_referral(mut self, referral: ReferralId) -> Request {
        self.referral = Some(referral);
        self
    }

    /// The same request as a follow-up visit.
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
    Booked {
        /// The booking made.
        booking: Booking,
    },
    /// Entered into the release lottery, drawn at `draws_at`; the result arrives as a
    /// `lottery_won` / `lottery_lost` event.
    Entered {
        /// The lottery ticket (named by the events that settle it).
        ticket: TicketId,
        /// When the release is drawn.
        draws_at: Timestamp,
    },
}

/// Most places one booking group holds (a bed stay of a month, a visit with its exams).
pub const GROUP_PLACES_MAX: usize = 31;

/// A booking of several places at once, all or nothing ([`crate::Engine::book_group`]): a bed
/// stay of several nights, a doctor's session with the exam it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRequest {
    /// The patient asking.
    pub patient: PatientId,
    /// The channel the request came through (every place counts against its quota group).
    pub channel: ChannelId,
    /// The slots, one place in each, 1 ..= [`GROUP_PLACES_MAX`], all different. The first is
    /// the group's lead: the per-patient limits count the group once, on the lead's date and
    /// department.
    pub slots: Vec<SlotId>,
    /// A referral for the lead's specialty: its urgency opens the referral pool for every
    /// place of that specialty, and the group uses it up.
    #[serde(default)]
    pub referral: Option<ReferralId>,
}

/// What happened to a booking group (in [`crate::EventKind::Group`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupAction {
    /// Its places were booked, all at once.
    Booked,
    /// It replaced another booking or group (`replaces`): the new places were taken before
    /// the old were given back.
    Rescheduled,
    /// Its remaining places were cancelled, all at once.
    Cancelled,
}

/// Several bookings made, moved and cancelled as one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookingGroup {
    /// Its id: the id of its first booking (the lead).
    pub id: BookingId,
    /// The patient it belongs to.
    pub patient: PatientId,
    /// Its bookings, one per place, in the order requested.
    pub bookings: Vec<Booking>,
    /// The booking or group it replaced, if it was made by rescheduling.
    pub replaces: Option<BookingId>,
}

/// Moving a booking or a whole group to other places ([`crate::Engine::reschedule`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescheduleRequest {
    /// Any booking of the booking or group to move.
    pub booking: BookingId,
    /// The new places, as in [`GroupRequest::slots`]. A slot the old booking already holds a
    /// place in keeps that place.
    pub slots: Vec<SlotId>,
    /// The channel asking (its quota group applies to the new places).
    pub channel: ChannelId,
}

/// Where to look for a bed stay ([`crate::Engine::find_stays`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StayQuery {
    /// The bed class: the specialty of the departments whose bed resources are searched
    /// (e.g. "obstetrics").
    pub specialty: String,
    /// The patient's district: stays there are offered first (`None`: no preference).
    #[serde(default)]
    pub district: Option<String>,
    /// The first night wanted.
    pub first_night: Date,
    /// Nights in a row, 1 ..= [`GROUP_PLACES_MAX`].
    pub nights: u16,
    /// How many days later the stay may start if the wanted night is full, 0 ..= 30.
    #[serde(default)]
    pub flex_days: u16,
    /// Most offers returned, 1 ..= 1,000.
    pub limit: u32,
}

/// A bed stay that can be booked now: one free bed per night at one institution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StayOffer {
    /// The institution.
    pub institution: InstitutionId,
    /// The department whose beds these are.
    pub department: DepartmentId,
    /// The institution's tier.
    pub tier: Tier,
    /// Whether it is in the query's district.
    pub same_district: bool,
    /// The first night.
    pub first_night: Date,
    /// One slot per night, in order: book them with [`crate::Engine::book_group`].
    pub slots: Vec<SlotId>,
    /// Booked share of the department's beds over those nights (0 = empty, 1 = full).
    pub load: f32,
}

/// Priority classes, highest first. Used by the lottery weights and waitlist order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityClass {
    /// Emergency referral: may take any pool, from the referral opening on.
    Emergency,
    /// Urgent referral.
    Urgent,
    /// Routine referral.
    Routine,
    /// A follow-up visit.
    FollowUp,
    /// Everyone else.
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
    /// The patient (or a channel on their behalf).
    Patient,
    /// The clinic session was suspended (停诊); never counts against the patient.
    Provider,
    /// Another place of its booking group was cancelled by the provider, and a group is all or
    /// nothing ([`crate::Engine::book_group`]); never counts against the patient.
    Group,
}

/// Urgency of a referral (NHS e-RS: two-week-wait/emergency, urgent, routine).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Emergency (e.g. two-week-wait cancer pathway): may take any pool.
    Emergency,
    /// Urgent.
    Urgent,
    /// Routine.
    Routine,
}

/// A referral to issue: from a community or secondary institution to a specialty at a higher
/// tier (any institution of that tier or above, or one named institution).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralRequest {
    /// The patient referred.
    pub patient: PatientId,
    /// The referring institution (community or secondary).
    pub from: InstitutionId,
    /// The specialty referred to, by name.
    pub specialty: String,
    #[serde(default)]
    /// One institution it is valid at; `None`: any institution of a higher tier with the specialty.
    pub institution: Option<InstitutionId>,
    /// How urgent.
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
    /// The card's type (e.g. `social_security`, `ehealth`).
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
    /// A place is held for the patient until the hold's deadline.
    Held,
    /// Confirmed.
    Booked,
    /// The patient arrived (报到).
    CheckedIn,
    /// The patient was seen.
    Fulfilled,
    /// A hold passed its deadline unconfirmed.
    Expired,
    /// Cancelled by the patient (or a channel for them).
    Cancelled,
    /// Cancelled by the provider: the session was suspended (停诊).
    ProviderCancelled,
    /// The patient did not come.
    NoShow,
}

impl BookingState {
    /// Holds, bookings and check-ins occupy a place and count against the patient's limits.
    pub fn is_active(self) -> bool {
        matches!(self, BookingState::Held | BookingState::Booked | BookingState::CheckedIn)
    }

    /// The state's name, as the event stream, C and Python spell it (`checked_in`).
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
    /// Its id (it carries the patient it was first made for).
    pub id: BookingId,
    /// The patient it belongs to (the survivor, after a merge).
    pub patient: PatientId,
    /// The slot it takes a place in.
    pub slot: SlotId,
    /// The slot's department.
    pub department: DepartmentId,
    /// The visit date.
    pub date: Date,
    /// The channel it was made through.
    pub channel: ChannelId,
    /// Where it is in its lifecycle.
    pub state: BookingState,
    /// The pool its place was taken from.
    pub pool: Pool,
    /// The referral it uses, if any.
    pub referral: Option<ReferralId>,
    /// A waitlist offer this hold came from.
    pub offer: Option<WaitlistId>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When a hold expires (only meaningful while `held`).
    pub expires_at: Timestamp,
    /// Start of the booked segment.
    pub starts_at: Timestamp,
}

/// A referral from a lower-tier institution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    /// Its id.
    pub id: ReferralId,
    /// The patient referred.
    pub patient: PatientId,
    /// The referring institution.
    pub from: InstitutionId,
    /// The specialty referred to.
    pub specialty: SpecialtyId,
    /// Restrict to one institution, or any higher-tier institution with the specialty.
    pub institution: Option<InstitutionId>,
    /// How urgent.
    pub urgency: Urgency,
    /// When it became valid.
    pub valid_from: Timestamp,
    /// When it lapses unused.
    pub valid_until: Timestamp,
    /// The booking that consumed it, while that booking stands.
    pub used_by: Option<BookingId>,
}

/// A counted no-show (or a late cancellation counted as a fraction of one).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoShowMark {
    /// When the no-show (or late cancellation) happened.
    pub at: Timestamp,
    /// 1 for a no-show; the policy's weight for a late cancellation.
    pub weight: f32,
}

/// A patient's record as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatientRecord {
    /// Its id (the survivor's, if the asked id was merged).
    pub patient: PatientId,
    /// Its linked cards, masked.
    pub cards: Vec<Card>,
    /// Weighted no-shows in the policy's counting window.
    pub no_shows_in_window: f32,
    /// Suspended from booking until then (no-show penalty), if suspended.
    pub suspended_until: Option<Timestamp>,
    /// Its holds, bookings and check-ins.
    pub active_bookings: Vec<Booking>,
    /// Its referrals, used or not.
    pub referrals: Vec<Referral>,
    /// How many waitlists it is on.
    pub waitlist_entries: u32,
}

// ---------------------------------------------------------------- waitlists

/// What a patient waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistRequest {
    /// The patient waiting.
    pub patient: PatientId,
    /// The department waited for.
    pub department: DepartmentId,
    /// One resource of the department, or any.
    #[serde(default)]
    pub resource: Option<ResourceId>,
    /// First acceptable visit date.
    pub date_from: Date,
    /// Last acceptable visit date.
    pub date_to: Date,
    /// Only segments starting in this time of day.
    #[serde(default)]
    pub time: Option<TimeOfDay>,
    /// The channel an offer's hold is made through.
    pub channel: ChannelId,
    #[serde(default)]
    /// A referral the offer may use (opens the referral pool).
    pub referral: Option<ReferralId>,
    #[serde(default)]
    /// A follow-up visit (its priority class).
    pub follow_up: bool,
}

/// A waitlist entry as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    /// Its id.
    pub id: WaitlistId,
    /// What is waited for.
    pub request: WaitlistRequest,
    /// Its priority class: entries are served by class, then by joining order.
    pub priority: PriorityClass,
    /// When it joined.
    pub joined_at: Timestamp,
}

// ---------------------------------------------------------------- availability

/// Which free slots to list. Unset filters match everything; the date range is required.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AvailabilityQuery {
    /// Only this department.
    pub department: Option<DepartmentId>,
    /// Only this resource.
    pub resource: Option<ResourceId>,
    /// Only this institution.
    pub institution: Option<InstitutionId>,
    /// Only departments of this specialty (by name).
    pub specialty: Option<String>,
    /// Only institutions of this tier.
    pub tier: Option<Tier>,
    /// Only institutions of this district (by name).
    pub district: Option<String>,
    /// First visit date (required).
    pub date_from: Date,
    /// Last visit date (required; at most 366 days after the first).
    pub date_to: Date,
    /// Only segments starting in this part of the day.
    pub time: Option<TimeOfDay>,
    /// Count the referral pool as free (for a patient holding a referral).
    pub with_referral: bool,
    /// Most slots returned (1 ..= 100,000), earliest first.
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
    /// The slot.
    pub slot: SlotId,
    /// Its resource.
    pub resource: ResourceId,
    /// Its department.
    pub department: DepartmentId,
    /// Its institution.
    pub institution: InstitutionId,
    /// Its visit date.
    pub date: Date,
    /// Start, minutes after local midnight.
    pub start_min: u16,
    /// End, minutes after local midnight.
    pub end_min: u16,
    /// Places free to this kind of requester now.
    pub free: u32,
    /// Its start as an instant.
    pub starts_at: Timestamp,
}

/// Free and total places of one department-day.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayAvailability {
    /// The day.
    pub date: Date,
    /// Places free to the public now (pools a requester without referral may take).
    pub free: u32,
    /// All places of the department's slots that day.
    pub places: u32,
}

/// Another institution's department with free places, for load spreading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    /// The department.
    pub department: DepartmentId,
    /// Its institution.
    pub institution: InstitutionId,
    /// Its institution's tier.
    pub tier: Tier,
    /// Its earliest free slot in the range; of its slots that start together, the lowest id
    /// (the one its own [`crate::Engine::find_free_slots`] lists first).
    pub earliest: FreeSlot,
    /// Booked share of its places on the day of `earliest` (0 = empty, 1 = full): the day the
    /// patient would book into, and what breaks a tie between equally early alternatives.
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

    /// Its name as the event stream, C and Python spell it (`am`, `pm`).
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
    /// The institution.
    pub institution: InstitutionId,
    /// Its display name (the C row carries ids only).
    pub institution_name: String,
    /// The department of the asked specialty there.
    pub department: DepartmentId,
    /// Its display name.
    pub department_name: String,
    /// The institution's tier (community clinics first for routine care).
    pub tier: Tier,
    /// The session the queue belongs to: today (local) and the current half-day.
    pub date: Date,
    /// The current half-day (the session's other half of the key).
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
    /// The specialty asked for, by name.
    pub specialty: String,
    /// The district asked for, by name.
    pub district: String,
    /// When it was read (the engine's clock).
    pub at: Timestamp,
    /// One row per department of the specialty in the district.
    pub rows: Vec<BoardRow>,
}

// ---------------------------------------------------------------- recommendations

/// What to recommend for (Qingdao: "after entering symptoms, the patient is recommended
/// hospitals and doctors"): a complaint or a specialty, the patient's district, and optionally
/// the patient and a referral of theirs, over a date range. See
/// [`Engine::recommend`](crate::Engine::recommend) for the ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecommendQuery {
    /// The patient's words (looked up in the engine's complaint table); or `specialty`.
    pub complaint: Option<String>,
    /// A specialty by name; or `complaint`. Both unset is allowed only with a referral (its
    /// specialty is then recommended).
    pub specialty: Option<String>,
    /// The patient's district, by name (same-district places rank first within a tier).
    pub district: String,
    /// The patient: leaves out department-days where a per-patient limit would refuse them;
    /// required with `referral`.
    pub patient: Option<PatientId>,
    /// A referral of the patient's: where it is valid ranks first, counting its referral pool.
    pub referral: Option<ReferralId>,
    /// First visit date searched.
    pub date_from: Date,
    /// Last visit date searched (at most [`RECOMMEND_DAYS_MAX`](crate::RECOMMEND_DAYS_MAX) days
    /// from the first).
    pub date_to: Date,
    /// Most recommendations returned, 1 ..= [`RECOMMEND_LIMIT_MAX`](crate::RECOMMEND_LIMIT_MAX).
    pub limit: u32,
}

impl Default for RecommendQuery {
    fn default() -> Self {
        RecommendQuery {
            complaint: None,
            specialty: None,
            district: String::new(),
            patient: None,
            referral: None,
            date_from: Date(0),
            date_to: Date(0),
            limit: 10,
        }
    }
}

impl RecommendQuery {
    /// Recommendations for a complaint in a district over a date range.
    pub fn complaint(complaint: &str, district: &str, date_from: Date, date_to: Date) -> Self {
        RecommendQuery {
            complaint: Some(complaint.into()),
            district: district.into(),
            date_from,
            date_to,
            ..Default::default()
        }
    }

    /// Recommendations for a specialty in a district over a date range.
    pub fn specialty(specialty: &str, district: &str, date_from: Date, date_to: Date) -> Self {
        RecommendQuery {
            specialty: Some(specialty.into()),
            district: district.into(),
            date_from,
            date_to,
            ..Default::default()
        }
    }
}

/// Why a recommendation has its rank (with [`Recommendation::reason_text`] in words).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendReason {
    /// The patient's referral is valid here: referral places rank first (orderly referral).
    Referral,
    /// A routine complaint at a community clinic: primary care first (基层首诊).
    CommunityFirst,
    /// A routine complaint at a hospital: after every community clinic with a place.
    HigherTier,
    /// An urgent complaint: the earliest place first, whatever the tier.
    Urgent,
    /// A complaint that may be an emergency: go to an emergency department now; hospital
    /// places are listed highest tier first for a visit afterwards.
    Emergency,
}

impl RecommendReason {
    /// Its name as C and Python spell it (`community_first`).
    pub fn name(self) -> &'static str {
        match self {
            RecommendReason::Referral => "referral",
            RecommendReason::CommunityFirst => "community_first",
            RecommendReason::HigherTier => "higher_tier",
            RecommendReason::Urgent => "urgent",
            RecommendReason::Emergency => "emergency",
        }
    }
}

/// One recommended department and doctor, with its earliest free place and the reason for its
/// rank ([`Engine::recommend`](crate::Engine::recommend)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// 1 for the first recommendation, 2 for the next …
    pub rank: u32,
    /// The institution.
    pub institution: InstitutionId,
    /// Its display name.
    pub institution_name: String,
    /// Its tier.
    pub tier: Tier,
    /// Its district's name.
    pub district: String,
    /// Whether it is in the patient's district.
    pub same_district: bool,
    /// The department.
    pub department: DepartmentId,
    /// Its display name.
    pub department_name: String,
    /// Its specialty's name.
    pub specialty: String,
    /// The doctor (a `doctor` resource of the department) with the earliest free place.
    pub resource: ResourceId,
    /// The doctor's display name.
    pub resource_name: String,
    /// That earliest free place: a slot the patient could take now (`earliest.free` places).
    pub earliest: FreeSlot,
    /// Expected wait after checking in for that place's session, in seconds, from the live load
    /// board (queue × measured pace, `BoardRow::expected_wait_s`); `None` when the session has
    /// no check-ins yet (nothing measured: unknown, not zero).
    pub expected_wait_s: Option<u32>,
    /// The urgency the ranking used: the complaint's (the most urgent matching keyword), or a
    /// usable referral's if more urgent; `routine` for a plain specialty.
    pub urgency: Urgency,
    /// Why it ranks where it does.
    pub reason: RecommendReason,
    /// The reason in words, for display (English).
    pub reason_text: String,
}

// ---------------------------------------------------------------- engine reports

/// The ids one [`publish_slots`](crate::Engine::publish_slots) call gave its slots:
/// contiguous, in input order, `start` included and `end` excluded. Iterate it, or index it
/// like the input: `range.get(i)` is the id of `specs[i]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlotRange {
    /// The first id of the call.
    pub start: SlotId,
    /// One past the last id of the call.
    pub end: SlotId,
}

impl SlotRange {
    /// How many slots the call published.
    pub fn len(&self) -> usize {
        self.end.0.saturating_sub(self.start.0) as usize
    }

    /// Whether the call published nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` came from this call.
    pub fn contains(&self, id: SlotId) -> bool {
        (self.start.0..self.end.0).contains(&id.0)
    }

    /// The id of the `i`-th slot of the call, if there was one.
    pub fn get(&self, i: usize) -> Option<SlotId> {
        (i < self.len()).then(|| SlotId(self.start.0 + i as u32))
    }

    /// The ids, in input order.
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
    /// General (public) pool.
    pub general: u16,
    /// Referral pool.
    pub referral: u16,
    /// First channel quota group's pool.
    pub quota0: u16,
    /// Second channel quota group's pool.
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
    /// The slot's id.
    pub id: SlotId,
    /// Its resource.
    pub resource: ResourceId,
    /// Its department.
    pub department: DepartmentId,
    /// Its institution.
    pub institution: InstitutionId,
    /// Its visit date.
    pub date: Date,
    /// Start, minutes after local midnight.
    pub start_min: u16,
    /// End, minutes after local midnight.
    pub end_min: u16,
    /// Places as published (overbooking adds to the general pool).
    pub capacity: u16,
    /// Places of each pool; general includes overbooking.
    pub pool_places: PoolCounts,
    /// Places taken from each pool.
    pub pool_taken: PoolCounts,
    /// Closed by a session suspension: nothing more can be taken.
    pub closed: bool,
    /// Its start as an instant.
    pub starts_at: Timestamp,
    /// Its end as an instant.
    pub ends_at: Timestamp,
}

/// What a session suspension (停诊) did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuspensionReport {
    /// The slots closed.
    pub slots: Vec<SlotId>,
    /// Holds and bookings cancelled as `provider_cancelled`; the host notifies and rebooks them.
    pub cancelled: Vec<Booking>,
}

/// Counters for a quick look at the engine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Institutions registered.
    pub institutions: usize,
    /// Departments registered.
    pub departments: usize,
    /// Resources registered.
    pub resources: usize,
    /// Patient records (merged ones included).
    pub patients: usize,
    /// Slots published.
    pub slots: usize,
    /// The last event's sequence number.
    pub last_event_seq: u64,
}

// ---------------------------------------------------------------- rosters

/// A weekly schedule: on each of `weekdays`, a session from `start_min` to `end_min` cut into
/// segments of `segment_min` minutes with `places` places each, between `valid_from` and
/// `valid_until` inclusive, except on `closed_dates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// The resource the schedule is for.
    pub resource: ResourceId,
    /// Monday = 0 … Sunday = 6.
    pub weekdays: Vec<u8>,
    /// Session start, minutes after local midnight.
    pub start_min: u16,
    /// Session end, minutes after local midnight.
    pub end_min: u16,
    /// Length of each segment (slot), minutes.
    pub segment_min: u16,
    /// Places of each segment.
    pub places: u16,
    /// First date it applies to.
    pub valid_from: Date,
    /// Last date it applies to (inclusive).
    pub valid_until: Date,
    #[serde(default)]
    /// Dates it does not apply to (holidays, leave).
    pub closed_dates: Vec<Date>,
}
