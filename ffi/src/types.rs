//! Plain C structs and the integer types and constants the header declares, with their
//! conversions from and to the core's types. Enums a caller *passes in* are plain integers with
//! named constants: a C caller can put any number in them, and an out-of-range value in a Rust
//! enum would be undefined behaviour, so they are checked here instead. Enums the library only
//! writes out (`hy_booking_state`, `hy_pool`) are real enums.

use crate::error::{hy_result, set_last_error};
use crate::ffi::{try_opt_str, try_slice, try_str};
use haoyuan_core::*;

/// Days since 1970-01-01 (local to the region); valid 0 (1970-01-01) ..= 84005 (2199-12-31).
/// Make one with `hy_date_from_ymd` or `hy_date_parse`.
#[allow(non_camel_case_types)]
pub type hy_date = i32;
/// Seconds since the Unix epoch, UTC.
#[allow(non_camel_case_types)]
pub type hy_timestamp = i64;
// No id of any kind is ever 0: the engine's dense ids start at 1 (storage index + 1), so 0 is
// free to mean "no booking" in a bulk result row and "none" in the optional 64-bit id fields.
/// An institution (hospital or clinic). Never 0.
#[allow(non_camel_case_types)]
pub type hy_institution_id = u32;
/// A department of an institution. Never 0.
#[allow(non_camel_case_types)]
pub type hy_department_id = u32;
/// A bookable resource (doctor, bed, exam device …). Never 0.
#[allow(non_camel_case_types)]
pub type hy_resource_id = u32;
/// A booking channel; the standard ones ("app", "wechat", "web", "kiosk", "phone", "clinic")
/// are 1 ..= 6. Never 0.
#[allow(non_camel_case_types)]
pub type hy_channel_id = u16;
/// A patient in the master patient index. Never 0.
#[allow(non_camel_case_types)]
pub type hy_patient_id = u32;
/// A published slot. Never 0.
#[allow(non_camel_case_types)]
pub type hy_slot_id = u32;
/// A weekly roster template. Never 0.
#[allow(non_camel_case_types)]
pub type hy_roster_id = u32;
/// A hold or booking (the patient id in the high 32 bits, that patient's sequence below).
/// Never 0: a bulk result row whose booking id is 0 is a refused request.
#[allow(non_camel_case_types)]
pub type hy_booking_id = u64;
/// A referral. Never 0, so 0 means "no referral" in structs.
#[allow(non_camel_case_types)]
pub type hy_referral_id = u64;
/// A waitlist entry. Never 0, so 0 means "none" in structs.
#[allow(non_camel_case_types)]
pub type hy_waitlist_id = u64;
/// A release-lottery ticket. Never 0.
#[allow(non_camel_case_types)]
pub type hy_ticket_id = u64;

/// "No id" / "any" in a 32-bit id field of an input struct (institution, department, resource).
/// (0 is never an id either, but 0 in such a field is looked up and is HY_NOT_FOUND.)
pub const HY_NONE: u32 = 0xFFFF_FFFF;

/// Level of care of an institution (分级诊疗). 0 means "any" in an availability query.
/// Referrals go upwards only: a referral is valid for a slot at a higher tier than the
/// referring institution, never at a community one.
#[allow(non_camel_case_types)]
pub type hy_tier = u32;
/// "Any tier": only in `hy_availability_query.tier`; elsewhere HY_INVALID_ARGUMENT.
pub const HY_TIER_ANY: hy_tier = 0;
/// Community clinic or township hospital (基层/一级): keeps no referral pool.
pub const HY_TIER_COMMUNITY: hy_tier = 1;
/// Secondary hospital (二级): its slots keep the referral pool.
pub const HY_TIER_SECONDARY: hy_tier = 2;
/// Tertiary hospital (三级): its slots keep the referral pool.
pub const HY_TIER_TERTIARY: hy_tier = 3;

/// What is booked. Any other value passed in is HY_INVALID_ARGUMENT.
#[allow(non_camel_case_types)]
pub type hy_resource_kind = u32;
/// A doctor's clinic sessions (the common case; an expert doctor keeps a larger referral share).
pub const HY_RESOURCE_DOCTOR: hy_resource_kind = 0;
/// A bed (a ward's beds, the obstetric bed pool).
pub const HY_RESOURCE_BED: hy_resource_kind = 1;
/// An exam device or room (CT, ultrasound …).
pub const HY_RESOURCE_EXAM: hy_resource_kind = 2;
/// Nursing visits or procedures.
pub const HY_RESOURCE_NURSING: hy_resource_kind = 3;
/// Pharmacy counselling or dispensing.
pub const HY_RESOURCE_PHARMACY: hy_resource_kind = 4;
/// Anything else that is booked in time segments (certificates, administrative services).
pub const HY_RESOURCE_SERVICE: hy_resource_kind = 5;

/// Urgency of a referral (NHS e-Referral: two-week-wait/emergency, urgent, routine). Sets the
/// holder's place in waitlists and the release lottery; any other value passed in is
/// HY_INVALID_ARGUMENT.
#[allow(non_camel_case_types)]
pub type hy_urgency = u32;
/// Served first, and may take a place from any pool (general and channel quotas included)
/// from the referral opening on.
pub const HY_URGENCY_EMERGENCY: hy_urgency = 0;
/// Served after emergency referrals; takes the referral pool, then the general one.
pub const HY_URGENCY_URGENT: hy_urgency = 1;
/// Served after urgent referrals, before follow-ups and the general public.
pub const HY_URGENCY_ROUTINE: hy_urgency = 2;

/// The language of a policy text (the same keys in both; see docs for the policy's fields).
/// Any other value is HY_INVALID_ARGUMENT.
#[allow(non_camel_case_types)]
pub type hy_policy_format = u32;
/// A JSON object, e.g. `{"hold": {"ttl_s": 300}}`.
pub const HY_POLICY_JSON: hy_policy_format = 0;
/// A TOML document, e.g. `[hold]` then `ttl_s = 300`.
pub const HY_POLICY_TOML: hy_policy_format = 1;

/// What the engine does when a subscription's queue is full (`hy_engine_subscribe_with`).
#[allow(non_camel_case_types)]
pub type hy_overflow = u32;
/// Cut the subscriber off: it keeps what is queued, then `hy_subscription_is_cut_off` is true and the
/// events it missed show as a gap in `seq`. The engine never waits. The default.
pub const HY_OVERFLOW_DISCONNECT: hy_overflow = 0;
/// The engine call that emitted the event waits for room at its end, after it released every
/// lock. Never read such a handle on a thread that also calls the engine.
pub const HY_OVERFLOW_BLOCK: hy_overflow = 1;

pub(crate) fn overflow_from(o: hy_overflow) -> Result<haoyuan_core::Overflow, hy_result> {
    match o {
        HY_OVERFLOW_DISCONNECT => Ok(haoyuan_core::Overflow::Disconnect),
        HY_OVERFLOW_BLOCK => Ok(haoyuan_core::Overflow::Block),
        other => Err(invalid(format!("overflow {other} is not an hy_overflow"))),
    }
}

fn invalid(msg: String) -> hy_result {
    set_last_error(msg);
    hy_result::HY_INVALID_ARGUMENT
}

pub(crate) fn tier_from(t: hy_tier) -> Result<Tier, hy_result> {
    match t {
        HY_TIER_COMMUNITY => Ok(Tier::Community),
        HY_TIER_SECONDARY => Ok(Tier::Secondary),
        HY_TIER_TERTIARY => Ok(Tier::Tertiary),
        _ => Err(invalid(format!("tier {t} is not one of HY_TIER_COMMUNITY/SECONDARY/TERTIARY"))),
    }
}

pub(crate) fn tier_to(t: Tier) -> hy_tier {
    match t {
        Tier::Community => HY_TIER_COMMUNITY,
        Tier::Secondary => HY_TIER_SECONDARY,
        Tier::Tertiary => HY_TIER_TERTIARY,
    }
}

pub(crate) fn kind_from(k: hy_resource_kind) -> Result<ResourceKind, hy_result> {
    Ok(match k {
        HY_RESOURCE_DOCTOR => ResourceKind::Doctor,
        HY_RESOURCE_BED => ResourceKind::Bed,
        HY_RESOURCE_EXAM => ResourceKind::Exam,
        HY_RESOURCE_NURSING => ResourceKind::Nursing,
        HY_RESOURCE_PHARMACY => ResourceKind::Pharmacy,
        HY_RESOURCE_SERVICE => ResourceKind::Service,
        _ => return Err(invalid(format!("resource kind {k} is not one of HY_RESOURCE_*"))),
    })
}

pub(crate) fn urgency_from(u: hy_urgency) -> Result<Urgency, hy_result> {
    Ok(match u {
        HY_URGENCY_EMERGENCY => Urgency::Emergency,
        HY_URGENCY_URGENT => Urgency::Urgent,
        HY_URGENCY_ROUTINE => Urgency::Routine,
        _ => return Err(invalid(format!("urgency {u} is not one of HY_URGENCY_*"))),
    })
}

pub(crate) fn urgency_to(u: Urgency) -> hy_urgency {
    match u {
        Urgency::Emergency => HY_URGENCY_EMERGENCY,
        Urgency::Urgent => HY_URGENCY_URGENT,
        Urgency::Routine => HY_URGENCY_ROUTINE,
    }
}

fn opt_u32(v: u32) -> Option<u32> {
    (v != HY_NONE).then_some(v)
}

fn opt_u64(v: u64) -> Option<u64> {
    (v != 0).then_some(v)
}

/// A time-of-day filter from two minutes; (0, 0) means "the whole day".
pub(crate) fn time_of_day(start_min: u16, end_min: u16) -> Result<Option<TimeOfDay>, hy_result> {
    if start_min == 0 && end_min == 0 {
        return Ok(None);
    }
    if start_min >= end_min || end_min > 1440 {
        return Err(invalid(format!("time of day {start_min}..{end_min} must satisfy start < end <= 1440 (or 0, 0 for all day)")));
    }
    Ok(Some(TimeOfDay { start_min, end_min }))
}

/// The state of a hold or booking (see DOMAIN.md, "Booking lifecycle").
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum hy_booking_state {
    /// A place taken for a short time (policy `hold.ttl_s`, default 10 minutes) while the
    /// patient confirms or pays; confirm it before `expires_at`. Occupies a place.
    HY_BOOKING_HELD = 0,
    /// Confirmed. Occupies a place and counts against the per-patient limits.
    HY_BOOKING_BOOKED = 1,
    /// The patient arrived and is in the queue. Still occupies its place.
    HY_BOOKING_CHECKED_IN = 2,
    /// The visit took place. Final.
    HY_BOOKING_FULFILLED = 3,
    /// A hold that was not confirmed in time; its place went back. Final.
    HY_BOOKING_EXPIRED = 4,
    /// Cancelled by the patient; its place went back. Final. A late cancel counted as part of
    /// a no-show (policy `cancellation`).
    HY_BOOKING_CANCELLED = 5,
    /// Cancelled because the provider suspended the session (停诊). Final; never counts
    /// against the patient.
    HY_BOOKING_PROVIDER_CANCELLED = 6,
    /// The patient did not come. Final; counts a no-show and may suspend the patient.
    HY_BOOKING_NO_SHOW = 7,
}

/// Which share of a slot's places a booking took. Also the index into
/// `hy_slot_info.pool_places` / `pool_taken`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum hy_pool {
    /// The general public's places, with the overbooking allowance.
    HY_POOL_GENERAL = 0,
    /// The referral pool of a secondary or tertiary slot (default 30% of its places, 50% for
    /// experts). Once the public window opens, unused referral places roll over to everyone
    /// (policy `referral.rollover_at_public_open`); such a booking reports this pool too.
    HY_POOL_REFERRAL = 1,
    /// The quota of the policy's first channel group (`channel_quotas[0]`); open to everyone
    /// after the group's cut-off.
    HY_POOL_QUOTA0 = 2,
    /// The quota of the policy's second channel group (`channel_quotas[1]`).
    HY_POOL_QUOTA1 = 3,
}

/// One time segment of one resource to publish (`hy_engine_publish_slots`). Caller-owned.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_slot_spec {
    /// The registered resource the places belong to (HY_NOT_FOUND otherwise).
    pub resource: hy_resource_id,
    /// The visit date.
    pub date: hy_date,
    /// Minutes after local midnight, start_min < end_min <= 1440.
    pub start_min: u16,
    /// End of the segment, minutes after local midnight, exclusive (1440 = midnight).
    pub end_min: u16,
    /// Places, 1 ..= 16000.
    pub capacity: u16,
}

impl From<&hy_slot_spec> for SlotSpec {
    fn from(s: &hy_slot_spec) -> SlotSpec {
        SlotSpec {
            resource: ResourceId(s.resource),
            date: Date(s.date),
            start_min: s.start_min,
            end_min: s.end_min,
            capacity: s.capacity,
        }
    }
}

/// A weekly roster template (排班) for `hy_engine_add_roster`: on each weekday it runs, a
/// session from `start_min` to `end_min` cut into whole segments of `segment_min` minutes (a
/// shorter remainder is not published), `places` places each. Caller-owned.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_roster {
    /// The registered resource whose slots the roster makes.
    pub resource: hy_resource_id,
    /// Days it runs: bit 0 = Monday … bit 6 = Sunday; at least one bit, bit 7 clear.
    pub weekdays: u8,
    /// Start of the session, minutes after local midnight (480 = 08:00).
    pub start_min: u16,
    /// End of the session, minutes after local midnight, exclusive; start_min < end_min <= 1440.
    pub end_min: u16,
    /// Length of each slot in minutes, 1 ..= end_min - start_min.
    pub segment_min: u16,
    /// Places per segment, 1 ..= 16000.
    pub places: u16,
    /// First date it runs.
    pub valid_from: hy_date,
    /// Last date it runs, inclusive; not before `valid_from`.
    pub valid_until: hy_date,
    /// Dates it does not run (holidays); may be NULL when `closed_dates_len` is 0.
    /// Read during the call only.
    pub closed_dates: *const hy_date,
    /// Number of dates at `closed_dates`, 0 ..= 4096.
    pub closed_dates_len: usize,
}

/// Most closed dates one roster lists.
const CLOSED_DATES_MAX: usize = 4096;

pub(crate) fn roster_from(r: &hy_roster) -> Result<Roster, hy_result> {
    if r.weekdays & 0x80 != 0 {
        return Err(invalid(format!(
            "weekdays mask {:#04x} has bit 7 set; bits 0 (Monday) ..= 6 (Sunday) only",
            r.weekdays
        )));
    }
    let closed =
        try_slice(r.closed_dates, r.closed_dates_len, CLOSED_DATES_MAX, "roster.closed_dates")?;
    Ok(Roster {
        resource: ResourceId(r.resource),
        weekdays: (0..7u8).filter(|d| r.weekdays & (1 << d) != 0).collect(),
        start_min: r.start_min,
        end_min: r.end_min,
        segment_min: r.segment_min,
        places: r.places,
        valid_from: Date(r.valid_from),
        valid_until: Date(r.valid_until),
        closed_dates: closed.iter().map(|d| Date(*d)).collect(),
    })
}

/// A request for a place in one slot (`hy_engine_hold`, `_book`, `_submit`, the bulk calls).
/// Caller-owned; zero-initialise it, then set the fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_request {
    /// Who the place is for (a merged id is followed to its survivor).
    pub patient: hy_patient_id,
    /// The slot asked for.
    pub slot: hy_slot_id,
    /// Where the request comes from; picks the channel quota it may use.
    pub channel: hy_channel_id,
    /// A follow-up visit (priority above the general public).
    pub follow_up: bool,
    /// A referral held by the patient, or 0 for none.
    pub referral: hy_referral_id,
}

impl From<&hy_request> for Request {
    fn from(r: &hy_request) -> Request {
        Request {
            patient: PatientId(r.patient),
            slot: SlotId(r.slot),
            channel: ChannelId(r.channel),
            referral: opt_u64(r.referral).map(ReferralId),
            follow_up: r.follow_up,
        }
    }
}

/// A hold or booking as the engine reports it: a copy written into caller-owned memory, not
/// updated afterwards (read it again with `hy_engine_booking`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_booking {
    /// Its id, for confirm, cancel, check-in and look-ups.
    pub id: hy_booking_id,
    /// The patient who holds it (the survivor, after a merge).
    pub patient: hy_patient_id,
    /// The slot whose place it occupies.
    pub slot: hy_slot_id,
    /// The slot's department (copied so that limits and reports need no slot look-up).
    pub department: hy_department_id,
    /// The visit date.
    pub date: hy_date,
    /// The channel it was made through.
    pub channel: hy_channel_id,
    /// Where it is in the lifecycle.
    pub state: hy_booking_state,
    /// The share of the slot's places it took (a cancel returns the place there).
    pub pool: hy_pool,
    /// The referral it used, or 0.
    pub referral: hy_referral_id,
    /// The waitlist entry whose offer this hold is, or 0.
    pub offer: hy_waitlist_id,
    /// When the hold was taken (Unix seconds).
    pub created_at: hy_timestamp,
    /// When a hold expires (meaningful while HY_BOOKING_HELD).
    pub expires_at: hy_timestamp,
    /// Start of the booked segment.
    pub starts_at: hy_timestamp,
}

impl Default for hy_booking {
    fn default() -> Self {
        hy_booking {
            id: 0,
            patient: 0,
            slot: 0,
            department: 0,
            date: 0,
            channel: 0,
            state: hy_booking_state::HY_BOOKING_HELD,
            pool: hy_pool::HY_POOL_GENERAL,
            referral: 0,
            offer: 0,
            created_at: 0,
            expires_at: 0,
            starts_at: 0,
        }
    }
}

impl From<&Booking> for hy_booking {
    fn from(b: &Booking) -> hy_booking {
        hy_booking {
            id: b.id.0,
            patient: b.patient.0,
            slot: b.slot.0,
            department: b.department.0,
            date: b.date.0,
            channel: b.channel.0,
            state: match b.state {
                BookingState::Held => hy_booking_state::HY_BOOKING_HELD,
                BookingState::Booked => hy_booking_state::HY_BOOKING_BOOKED,
                BookingState::CheckedIn => hy_booking_state::HY_BOOKING_CHECKED_IN,
                BookingState::Fulfilled => hy_booking_state::HY_BOOKING_FULFILLED,
                BookingState::Expired => hy_booking_state::HY_BOOKING_EXPIRED,
                BookingState::Cancelled => hy_booking_state::HY_BOOKING_CANCELLED,
                BookingState::ProviderCancelled => hy_booking_state::HY_BOOKING_PROVIDER_CANCELLED,
                BookingState::NoShow => hy_booking_state::HY_BOOKING_NO_SHOW,
            },
            pool: match b.pool {
                Pool::General => hy_pool::HY_POOL_GENERAL,
                Pool::Referral => hy_pool::HY_POOL_REFERRAL,
                Pool::Quota0 => hy_pool::HY_POOL_QUOTA0,
                Pool::Quota1 => hy_pool::HY_POOL_QUOTA1,
            },
            referral: b.referral.map_or(0, |r| r.0),
            offer: b.offer.map_or(0, |w| w.0),
            created_at: b.created_at.0,
            expires_at: b.expires_at.0,
            starts_at: b.starts_at.0,
        }
    }
}

/// One entry of a bulk call's results: the item's own result code and, when it is HY_OK, the
/// booking. Otherwise `booking` is all zeros (`booking.id` 0, which is never a booking id: look
/// at `result`), and no message is kept for the item (call the single form to get one).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_booking_result {
    /// This item's outcome: HY_OK, or the code the single call would have returned.
    pub result: hy_result,
    /// The hold or booking when `result` is HY_OK; all zeros otherwise.
    pub booking: hy_booking,
}

/// What `hy_engine_submit` did.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum hy_submission_outcome {
    /// Booked at once; `booking` is set.
    HY_SUBMISSION_BOOKED = 0,
    /// Entered into the release lottery; `ticket` and `draws_at` are set, the result arrives
    /// as a `lottery_won` / `lottery_lost` event.
    HY_SUBMISSION_ENTERED = 1,
}

/// What `hy_engine_submit` did with a request: booked it at once (outside a release-lottery
/// window), or entered it into the lottery. Which fields are set depends on `outcome`; the
/// others are zero.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_submission {
    /// Which of the two happened.
    pub outcome: hy_submission_outcome,
    /// HY_SUBMISSION_BOOKED: the booking (state HY_BOOKING_BOOKED). Otherwise all zeros.
    pub booking: hy_booking,
    /// HY_SUBMISSION_ENTERED: the lottery ticket, named again by the `lottery_won` /
    /// `lottery_lost` event. Otherwise 0.
    pub ticket: hy_ticket_id,
    /// HY_SUBMISSION_ENTERED: when the lottery is drawn (Unix seconds; `hy_engine_tick` draws
    /// it). Otherwise 0.
    pub draws_at: hy_timestamp,
}

impl From<&Submission> for hy_submission {
    fn from(s: &Submission) -> hy_submission {
        match s {
            Submission::Booked { booking } => hy_submission {
                outcome: hy_submission_outcome::HY_SUBMISSION_BOOKED,
                booking: booking.into(),
                ticket: 0,
                draws_at: 0,
            },
            Submission::Entered { ticket, draws_at } => hy_submission {
                outcome: hy_submission_outcome::HY_SUBMISSION_ENTERED,
                booking: hy_booking::default(),
                ticket: ticket.0,
                draws_at: draws_at.0,
            },
        }
    }
}

/// Which free slots to list. Id filters take HY_NONE for "any", `tier` HY_TIER_ANY, strings
/// NULL; the time of day (0, 0) means the whole day. The date range is required.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_availability_query {
    /// Only this department, or HY_NONE.
    pub department: hy_department_id,
    /// Only this resource, or HY_NONE.
    pub resource: hy_resource_id,
    /// Only this institution, or HY_NONE.
    pub institution: hy_institution_id,
    /// Only institutions of this tier, or HY_TIER_ANY.
    pub tier: hy_tier,
    /// A specialty name (e.g. "cardiology") or NULL; read during the call only.
    pub specialty: *const std::ffi::c_char,
    /// A district name or NULL; read during the call only.
    pub district: *const std::ffi::c_char,
    /// First visit date searched.
    pub date_from: hy_date,
    /// Inclusive; at most 366 days after `date_from`.
    pub date_to: hy_date,
    /// Only segments starting at or after this minute of the day (0 ..= 1439); with
    /// `time_end_min` 0 too, the whole day.
    pub time_start_min: u16,
    /// Only segments starting before this minute of the day, time_start_min < end <= 1440.
    pub time_end_min: u16,
    /// Count the referral pool as free (for a patient holding a referral).
    pub with_referral: bool,
    /// Most results wanted; 0 means "as many as the output array holds".
    pub limit: u32,
}

pub(crate) fn query_from(
    q: &hy_availability_query,
    cap: usize,
) -> Result<AvailabilityQuery, hy_result> {
    let limit = match q.limit {
        0 => cap,
        n => (n as usize).min(cap),
    }
    .min(QUERY_LIMIT_MAX as usize) as u32;
    Ok(AvailabilityQuery {
        department: opt_u32(q.department).map(DepartmentId),
        resource: opt_u32(q.resource).map(ResourceId),
        institution: opt_u32(q.institution).map(InstitutionId),
        specialty: try_opt_str(q.specialty, "query.specialty")?.map(str::to_string),
        tier: if q.tier == HY_TIER_ANY { None } else { Some(tier_from(q.tier)?) },
        district: try_opt_str(q.district, "query.district")?.map(str::to_string),
        date_from: Date(q.date_from),
        date_to: Date(q.date_to),
        time: time_of_day(q.time_start_min, q.time_end_min)?,
        with_referral: q.with_referral,
        limit,
    })
}

/// A slot with free places, as an availability search found it (a snapshot: the place may be
/// gone by the time it is booked; the booking call decides).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_free_slot {
    /// The slot, to put in `hy_request.slot`.
    pub slot: hy_slot_id,
    /// Its resource (doctor, bed, device …).
    pub resource: hy_resource_id,
    /// Its resource's department.
    pub department: hy_department_id,
    /// That department's institution.
    pub institution: hy_institution_id,
    /// The visit date.
    pub date: hy_date,
    /// Start of the segment, minutes after local midnight.
    pub start_min: u16,
    /// End of the segment, minutes after local midnight, exclusive.
    pub end_min: u16,
    /// Places free to this kind of requester now (with or without a referral, as asked).
    pub free: u32,
    /// Start of the segment as an instant (Unix seconds).
    pub starts_at: hy_timestamp,
}

impl From<&FreeSlot> for hy_free_slot {
    fn from(f: &FreeSlot) -> hy_free_slot {
        hy_free_slot {
            slot: f.slot.0,
            resource: f.resource.0,
            department: f.department.0,
            institution: f.institution.0,
            date: f.date.0,
            start_min: f.start_min,
            end_min: f.end_min,
            free: f.free,
            starts_at: f.starts_at.0,
        }
    }
}

/// Free and total places of one department-day.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_day_availability {
    /// The day.
    pub date: hy_date,
    /// Places the general public (no referral) could book now across the department's slots
    /// that day; 0 before the public release and after booking closed.
    pub free: u32,
    /// Places published that day (the slots' capacities summed, overbooking not included).
    pub places: u32,
}

/// Half of a day: a department-session is (department, date, half-day of the slot's start).
#[allow(non_camel_case_types)]
pub type hy_half_day = u32;
/// Segments starting before 12:00 local.
pub const HY_HALF_DAY_AM: hy_half_day = 0;
/// Segments starting at 12:00 local or later.
pub const HY_HALF_DAY_PM: hy_half_day = 1;

/// One department's line of the live load board (`hy_engine_load_board`). Names are not
/// copied: look them up by id (`hy_engine_institution_name` …).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_board_row {
    /// The institution.
    pub institution: hy_institution_id,
    /// The department of the asked specialty there.
    pub department: hy_department_id,
    /// The institution's tier (`HY_TIER_*`).
    pub tier: hy_tier,
    /// The session of the queue: today (local) and the current half-day.
    pub date: hy_date,
    /// The current half-day (`HY_HALF_DAY_*`).
    pub half_day: hy_half_day,
    /// Patients checked in for this session and not yet seen.
    pub queue: u32,
    /// Seconds between two patients seen, the department's resources in parallel (0: none has
    /// a patient in this session).
    pub mean_service_interval_s: f64,
    /// Expected wait of someone checking in now, in seconds.
    pub expected_wait_s: u32,
    /// Places a member of the public could still take today.
    pub free_today: u32,
    /// Free places tonight in the department's bed resources.
    pub free_beds_tonight: u32,
}

impl From<&BoardRow> for hy_board_row {
    fn from(r: &BoardRow) -> Self {
        hy_board_row {
            institution: r.institution.0,
            department: r.department.0,
            tier: tier_to(r.tier),
            date: r.date.0,
            half_day: match r.half_day {
                HalfDay::Am => HY_HALF_DAY_AM,
                HalfDay::Pm => HY_HALF_DAY_PM,
            },
            queue: r.queue,
            mean_service_interval_s: r.mean_service_interval_s,
            expected_wait_s: r.expected_wait_s,
            free_today: r.free_today,
            free_beds_tonight: r.free_beds_tonight,
        }
    }
}

/// Why a recommendation has its rank (`hy_recommendation.reason`).
#[allow(non_camel_case_types)]
pub type hy_recommend_reason = u32;
/// The patient's referral is valid here: referral places rank first (orderly referral).
pub const HY_RECOMMEND_REASON_REFERRAL: hy_recommend_reason = 0;
/// A routine complaint at a community clinic: primary care first.
pub const HY_RECOMMEND_REASON_COMMUNITY_FIRST: hy_recommend_reason = 1;
/// A routine complaint at a hospital: after every community clinic with a place.
pub const HY_RECOMMEND_REASON_HIGHER_TIER: hy_recommend_reason = 2;
/// An urgent complaint: the earliest place first, whatever the tier.
pub const HY_RECOMMEND_REASON_URGENT: hy_recommend_reason = 3;
/// Possibly an emergency: the patient should go to an emergency department now; hospital
/// places are listed highest tier first, for afterwards.
pub const HY_RECOMMEND_REASON_EMERGENCY: hy_recommend_reason = 4;

/// What to recommend for (`hy_engine_recommend`): exactly one of `complaint` and `specialty`
/// (both NULL only with a referral), the patient's district, optionally the patient and a
/// referral of theirs, a date range and a limit. Strings are read during the call only.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_recommend_query {
    /// The patient's words (UTF-8, looked up in the engine's complaint table), or NULL.
    pub complaint: *const std::ffi::c_char,
    /// A specialty name, or NULL.
    pub specialty: *const std::ffi::c_char,
    /// The patient's district name (required).
    pub district: *const std::ffi::c_char,
    /// The patient, or HY_NONE (required with a referral).
    pub patient: hy_patient_id,
    /// A referral of the patient's, or 0 for none.
    pub referral: hy_referral_id,
    /// First visit date searched.
    pub date_from: hy_date,
    /// Last visit date searched, at most HY_RECOMMEND_DAYS_MAX days from the first.
    pub date_to: hy_date,
    /// Most recommendations wanted; 0 means "as many as the output array holds" (at most
    /// HY_RECOMMEND_LIMIT_MAX).
    pub limit: u32,
}

/// Most recommendations one `hy_engine_recommend` returns.
pub const HY_RECOMMEND_LIMIT_MAX: u32 = 100;
/// Longest date range one recommendation searches, in days.
pub const HY_RECOMMEND_DAYS_MAX: u32 = 31;
// Literals, so that cbindgen writes numbers into the header; the engine's bounds, checked here.
const _: () = assert!(HY_RECOMMEND_LIMIT_MAX == RECOMMEND_LIMIT_MAX);
const _: () = assert!(HY_RECOMMEND_DAYS_MAX as i32 == RECOMMEND_DAYS_MAX);

/// One recommended department and doctor (`hy_engine_recommend`), best first. Names are not
/// copied: look them up by id; the reason's words are Rust's and Python's only.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_recommendation {
    /// 1 for the first, 2 for the next …
    pub rank: u32,
    /// The institution.
    pub institution: hy_institution_id,
    /// Its tier (HY_TIER_COMMUNITY, _SECONDARY or _TERTIARY).
    pub tier: hy_tier,
    /// Whether it is in the patient's district.
    pub same_district: bool,
    /// The department.
    pub department: hy_department_id,
    /// The doctor with the earliest free place (also `earliest.resource`).
    pub resource: hy_resource_id,
    /// That earliest free place: a slot the patient could take now.
    pub earliest: hy_free_slot,
    /// Expected wait after checking in for that place's session, in seconds (live load
    /// board), or HY_NONE when the session has no check-ins yet (unknown).
    pub expected_wait_s: u32,
    /// The urgency the ranking used (the complaint's, or a more urgent referral's).
    pub urgency: hy_urgency,
    /// Why it ranks where it does (HY_RECOMMEND_REASON_*).
    pub reason: hy_recommend_reason,
}

impl From<&Recommendation> for hy_recommendation {
    fn from(r: &Recommendation) -> Self {
        hy_recommendation {
            rank: r.rank,
            institution: r.institution.0,
            tier: tier_to(r.tier),
            same_district: r.same_district,
            department: r.department.0,
            resource: r.resource.0,
            earliest: (&r.earliest).into(),
            expected_wait_s: r.expected_wait_s.unwrap_or(HY_NONE),
            urgency: urgency_to(r.urgency),
            reason: match r.reason {
                RecommendReason::Referral => HY_RECOMMEND_REASON_REFERRAL,
                RecommendReason::CommunityFirst => HY_RECOMMEND_REASON_COMMUNITY_FIRST,
                RecommendReason::HigherTier => HY_RECOMMEND_REASON_HIGHER_TIER,
                RecommendReason::Urgent => HY_RECOMMEND_REASON_URGENT,
                RecommendReason::Emergency => HY_RECOMMEND_REASON_EMERGENCY,
            },
        }
    }
}

pub(crate) fn recommend_query_from(
    q: &hy_recommend_query,
    cap: usize,
) -> Result<RecommendQuery, hy_result> {
    let limit = match q.limit {
        0 => cap,
        n => (n as usize).min(cap),
    }
    .min(RECOMMEND_LIMIT_MAX as usize) as u32;
    Ok(RecommendQuery {
        complaint: try_opt_str(q.complaint, "query.complaint")?.map(str::to_string),
        specialty: try_opt_str(q.specialty, "query.specialty")?.map(str::to_string),
        district: try_str(q.district, "query.district")?.to_string(),
        patient: opt_u32(q.patient).map(PatientId),
        referral: opt_u64(q.referral).map(ReferralId),
        date_from: Date(q.date_from),
        date_to: Date(q.date_to),
        limit,
    })
}

/// Another institution's department with free places (load spreading).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_alternative {
    /// The department of the same specialty at another institution.
    pub department: hy_department_id,
    /// Its institution (same district as the one asked about).
    pub institution: hy_institution_id,
    /// That institution's tier (HY_TIER_COMMUNITY, _SECONDARY or _TERTIARY).
    pub tier: hy_tier,
    /// Its earliest free slot in the range; of its slots that start together, the lowest id
    /// (the one `hy_engine_find_free_slots` on the department lists first).
    pub earliest: hy_free_slot,
    /// Booked share of its places on the day of `earliest` (0 = empty, 1 = full).
    pub load: f32,
}

/// A published slot (`hy_engine_slot`): a copy of its counters at the time of the call.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_slot_info {
    /// The slot.
    pub id: hy_slot_id,
    /// Its resource.
    pub resource: hy_resource_id,
    /// Its resource's department.
    pub department: hy_department_id,
    /// That department's institution.
    pub institution: hy_institution_id,
    /// The visit date.
    pub date: hy_date,
    /// Start of the segment, minutes after local midnight.
    pub start_min: u16,
    /// End of the segment, minutes after local midnight, exclusive.
    pub end_min: u16,
    /// Places as published, 1 ..= 16000 (the pools split these, plus any overbooking).
    pub capacity: u16,
    /// Places of each pool, indexed by hy_pool (general includes overbooking).
    pub pool_places: [u16; 4],
    /// Places taken from each pool.
    pub pool_taken: [u16; 4],
    /// The session was suspended (停诊): nothing can be booked.
    pub closed: bool,
    /// Start of the segment as an instant (Unix seconds).
    pub starts_at: hy_timestamp,
    /// End of the segment as an instant (Unix seconds).
    pub ends_at: hy_timestamp,
}

/// A referral to issue, from a community or secondary institution upwards
/// (`hy_engine_issue_referral`). Caller-owned.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_referral_request {
    /// The patient referred.
    pub patient: hy_patient_id,
    /// The referring institution.
    pub from: hy_institution_id,
    /// The specialty referred to (e.g. "cardiology"); read during the call only.
    pub specialty: *const std::ffi::c_char,
    /// One target institution, or HY_NONE for any of a higher tier.
    pub institution: hy_institution_id,
    /// How urgent: the holder's priority, and whether any pool may be taken (emergency).
    pub urgency: hy_urgency,
    /// Valid for this many days from now, 1 ..= 366.
    pub valid_days: u16,
}

pub(crate) fn referral_request_from(r: &hy_referral_request) -> Result<ReferralRequest, hy_result> {
    Ok(ReferralRequest {
        patient: PatientId(r.patient),
        from: InstitutionId(r.from),
        specialty: try_str(r.specialty, "referral.specialty")?.to_string(),
        institution: opt_u32(r.institution).map(InstitutionId),
        urgency: urgency_from(r.urgency)?,
        valid_days: r.valid_days,
    })
}

/// An issued referral.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_referral {
    /// The referral, to put in `hy_request.referral`.
    pub id: hy_referral_id,
    /// The patient who holds it; only this patient's requests may use it.
    pub patient: hy_patient_id,
    /// The referring institution; a slot must be at a higher tier than it.
    pub from: hy_institution_id,
    /// The specialty's id in the engine's registry.
    pub specialty: u32,
    /// The target institution, or HY_NONE for any of a higher tier.
    pub institution: hy_institution_id,
    /// How urgent, as issued.
    pub urgency: hy_urgency,
    /// When it was issued (Unix seconds); usable from then.
    pub valid_from: hy_timestamp,
    /// Last instant it may be used (Unix seconds).
    pub valid_until: hy_timestamp,
    /// The booking that uses it, or 0.
    pub used_by: hy_booking_id,
}

impl From<&Referral> for hy_referral {
    fn from(r: &Referral) -> hy_referral {
        hy_referral {
            id: r.id.0,
            patient: r.patient.0,
            from: r.from.0,
            specialty: r.specialty.0,
            institution: r.institution.map_or(HY_NONE, |i| i.0),
            urgency: urgency_to(r.urgency),
            valid_from: r.valid_from.0,
            valid_until: r.valid_until.0,
            used_by: r.used_by.map_or(0, |b| b.0),
        }
    }
}

/// What a patient waits for on a waitlist (`hy_engine_join_waitlist`). When a matching place
/// frees up the first eligible entry gets an offer: a hold with the policy's `offer_ttl_s`.
/// Caller-owned.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_waitlist_request {
    /// The patient waiting.
    pub patient: hy_patient_id,
    /// The department whose places the patient waits for.
    pub department: hy_department_id,
    /// One resource of the department, or HY_NONE for any.
    pub resource: hy_resource_id,
    /// First acceptable visit date.
    pub date_from: hy_date,
    /// Last acceptable visit date, inclusive.
    pub date_to: hy_date,
    /// Only segments starting in this time of day; (0, 0) for the whole day.
    pub time_start_min: u16,
    /// End of that time of day in minutes, exclusive, time_start_min < end <= 1440.
    pub time_end_min: u16,
    /// The channel the offer's hold is made through (its quota applies).
    pub channel: hy_channel_id,
    /// A follow-up visit: served after referrals, before the general public.
    pub follow_up: bool,
    /// A referral held by the patient, or 0.
    pub referral: hy_referral_id,
}

pub(crate) fn waitlist_request_from(w: &hy_waitlist_request) -> Result<WaitlistRequest, hy_result> {
    Ok(WaitlistRequest {
        patient: PatientId(w.patient),
        department: DepartmentId(w.department),
        resource: opt_u32(w.resource).map(ResourceId),
        date_from: Date(w.date_from),
        date_to: Date(w.date_to),
        time: time_of_day(w.time_start_min, w.time_end_min)?,
        channel: ChannelId(w.channel),
        referral: opt_u64(w.referral).map(ReferralId),
        follow_up: w.follow_up,
    })
}

/// Counters for a quick look at an engine.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_stats {
    /// Institutions registered.
    pub institutions: u64,
    /// Departments registered.
    pub departments: u64,
    /// Resources registered.
    pub resources: u64,
    /// Patients registered in the index (a merged id still counts).
    pub patients: u64,
    /// Slots published so far (ids are never reused).
    pub slots: u64,
    /// Sequence number of the last event emitted (0 before the first): compare with a
    /// subscriber's last `seq` to see how far behind it is.
    pub last_event_seq: u64,
}

// ------------------------------------------------------------------ records read back

/// Longest name the registry accepts (institutions, departments, resources, channels,
/// districts, specialties), in bytes.
pub const HY_NAME_LEN_MAX: usize = 200;
/// Size of the name fields of the registry structs: the longest name and its NUL.
pub const HY_NAME_BUF_LEN: usize = 201;
const _: () = assert!(HY_NAME_BUF_LEN == HY_NAME_LEN_MAX + 1);

/// A name as a fixed, NUL-terminated field (names are at most `HY_NAME_LEN_MAX` bytes; a longer
/// one, which the registry refuses, would be cut at a character boundary).
pub(crate) fn name_field(s: &str) -> [std::ffi::c_char; HY_NAME_BUF_LEN] {
    let mut out = [0 as std::ffi::c_char; HY_NAME_BUF_LEN];
    let mut n = s.len().min(HY_NAME_LEN_MAX);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    for (d, b) in out.iter_mut().zip(&s.as_bytes()[..n]) {
        *d = *b as std::ffi::c_char;
    }
    out
}

/// A hospital or clinic, as `hy_engine_institution` and `hy_engine_institutions` report it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_institution {
    /// The institution.
    pub id: hy_institution_id,
    /// Its level of care (HY_TIER_COMMUNITY, _SECONDARY or _TERTIARY).
    pub tier: hy_tier,
    /// Its name, NUL-terminated UTF-8.
    pub name: [std::ffi::c_char; HY_NAME_BUF_LEN],
    /// Its district (where load spreading looks for alternatives), NUL-terminated UTF-8.
    pub district: [std::ffi::c_char; HY_NAME_BUF_LEN],
}

/// A specialty at one institution.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_department {
    /// The department.
    pub id: hy_department_id,
    /// The institution it belongs to.
    pub institution: hy_institution_id,
    /// NUL-terminated UTF-8 (e.g. "cardiology"; shared across institutions).
    pub specialty: [std::ffi::c_char; HY_NAME_BUF_LEN],
    /// The department's own name at its institution, NUL-terminated UTF-8.
    pub name: [std::ffi::c_char; HY_NAME_BUF_LEN],
}

/// A bookable resource of a department.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_resource {
    /// The resource.
    pub id: hy_resource_id,
    /// The department it belongs to.
    pub department: hy_department_id,
    /// What is booked (HY_RESOURCE_*).
    pub kind: hy_resource_kind,
    /// A senior doctor (a larger referral share).
    pub expert: bool,
    /// Its name (a doctor's name, "CT 2" …), NUL-terminated UTF-8.
    pub name: [std::ffi::c_char; HY_NAME_BUF_LEN],
}

/// A booking channel.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_channel {
    /// The channel (the standard six are 1 ..= 6).
    pub id: hy_channel_id,
    /// Its name ("app", "kiosk" …; what a policy's channel quota names), NUL-terminated UTF-8.
    pub name: [std::ffi::c_char; HY_NAME_BUF_LEN],
}

/// The measured no-show rate of a resource (for setting its overbooking ratio).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_resource_stats {
    /// The resource measured.
    pub resource: hy_resource_id,
    /// Bookings that reached an outcome: attended (checked in) or no-show.
    pub outcomes: u64,
    /// Of those, the no-shows.
    pub no_shows: u64,
    /// `no_shows / outcomes`, 0 when nothing was observed yet.
    pub no_show_rate: f64,
}

pub(crate) fn resource_kind_to(k: ResourceKind) -> hy_resource_kind {
    match k {
        ResourceKind::Doctor => HY_RESOURCE_DOCTOR,
        ResourceKind::Bed => HY_RESOURCE_BED,
        ResourceKind::Exam => HY_RESOURCE_EXAM,
        ResourceKind::Nursing => HY_RESOURCE_NURSING,
        ResourceKind::Pharmacy => HY_RESOURCE_PHARMACY,
        ResourceKind::Service => HY_RESOURCE_SERVICE,
    }
}

/// The serving class of a waitlist entry (served in this order, then by joining order).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum hy_priority {
    /// With an emergency referral: served first.
    HY_PRIORITY_EMERGENCY = 0,
    /// With an urgent referral.
    HY_PRIORITY_URGENT = 1,
    /// With a routine referral.
    HY_PRIORITY_ROUTINE = 2,
    /// A follow-up visit without referral.
    HY_PRIORITY_FOLLOW_UP = 3,
    /// The general public: served last.
    HY_PRIORITY_GENERAL = 4,
}

/// A patient waiting on a department's waitlist.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct hy_waitlist_entry {
    /// The entry (`hy_booking.offer` of the hold it is offered).
    pub id: hy_waitlist_id,
    /// The patient waiting.
    pub patient: hy_patient_id,
    /// The department waited for.
    pub department: hy_department_id,
    /// One resource of the department, or HY_NONE for any.
    pub resource: hy_resource_id,
    /// First acceptable visit date.
    pub date_from: hy_date,
    /// Inclusive.
    pub date_to: hy_date,
    /// Only segments starting in this time of day; (0, 0) for the whole day.
    pub time_start_min: u16,
    /// End of that time of day in minutes, exclusive.
    pub time_end_min: u16,
    /// The channel an offer's hold is made through.
    pub channel: hy_channel_id,
    /// A follow-up visit.
    pub follow_up: bool,
    /// The referral it uses, or 0.
    pub referral: hy_referral_id,
    /// Its serving class, from the referral's urgency or `follow_up`.
    pub priority: hy_priority,
    /// When it joined (Unix seconds): the order within a class.
    pub joined_at: hy_timestamp,
}

impl From<&WaitlistEntry> for hy_waitlist_entry {
    fn from(e: &WaitlistEntry) -> hy_waitlist_entry {
        let r = &e.request;
        hy_waitlist_entry {
            id: e.id.0,
            patient: r.patient.0,
            department: r.department.0,
            resource: r.resource.map_or(HY_NONE, |x| x.0),
            date_from: r.date_from.0,
            date_to: r.date_to.0,
            time_start_min: r.time.map_or(0, |t| t.start_min),
            time_end_min: r.time.map_or(0, |t| t.end_min),
            channel: r.channel.0,
            follow_up: r.follow_up,
            referral: r.referral.map_or(0, |x| x.0),
            priority: match e.priority {
                PriorityClass::Emergency => hy_priority::HY_PRIORITY_EMERGENCY,
                PriorityClass::Urgent => hy_priority::HY_PRIORITY_URGENT,
                PriorityClass::Routine => hy_priority::HY_PRIORITY_ROUTINE,
                PriorityClass::FollowUp => hy_priority::HY_PRIORITY_FOLLOW_UP,
                PriorityClass::General => hy_priority::HY_PRIORITY_GENERAL,
            },
            joined_at: e.joined_at.0,
        }
    }
}

/// A patient's record in numbers (`hy_engine_patient_record`). The lists behind the counts are
/// read with `hy_engine_bookings_of` (every hold and booking) and `hy_engine_waitlist`; the
/// whole record, masked cards and referrals included, is `hy_engine_patient_record_json`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct hy_patient_record {
    /// The patient the id resolves to (after merges, the survivor).
    pub patient: hy_patient_id,
    /// Cards linked to the patient.
    pub cards: u32,
    /// Weighted no-shows in the policy's counting window.
    pub no_shows_in_window: f32,
    /// The end of a running suspension, or 0 when the patient may book.
    pub suspended_until: hy_timestamp,
    /// Holds, bookings and check-ins that occupy a place now.
    pub active_bookings: u32,
    /// Referrals the patient holds.
    pub referrals: u32,
    /// Waitlist entries the patient has.
    pub waitlist_entries: u32,
}

/// A bulk lifecycle action (`hy_engine_lifecycle_many`): the same step as the single call of
/// the same name, applied to each booking. Any other value is HY_INVALID_ARGUMENT.
#[allow(non_camel_case_types)]
pub type hy_lifecycle_action = u32;
/// held → booked (`hy_engine_confirm`).
pub const HY_LIFECYCLE_CONFIRM: hy_lifecycle_action = 0;
/// held | booked → cancelled by the patient (`hy_engine_cancel`).
pub const HY_LIFECYCLE_CANCEL: hy_lifecycle_action = 1;
/// booked → checked in (`hy_engine_check_in`).
pub const HY_LIFECYCLE_CHECK_IN: hy_lifecycle_action = 2;
/// checked in → fulfilled (`hy_engine_fulfil`).
pub const HY_LIFECYCLE_FULFIL: hy_lifecycle_action = 3;
/// booked → no-show, once the segment has started (`hy_engine_mark_no_show`).
pub const HY_LIFECYCLE_MARK_NO_SHOW: hy_lifecycle_action = 4;
