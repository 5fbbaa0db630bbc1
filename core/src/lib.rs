//! # haoyuan — one region-wide pool of hospital appointment slots (号源)
//!
//! A lock-minimal, in-memory engine that holds a city's or a province's time-segmented slots,
//! allocates them fairly (per-patient limits, release-time lottery, waitlists), applies no-show
//! penalties and honours tiered referral priority. [`Engine`] is `Send + Sync` and used through
//! `&self` from any number of threads: places are claimed with one compare-and-swap per slot,
//! and only the requesting patient's own record is locked.
//!
//! ```
//! use haoyuan::*;
//! let day = Date::from_ymd(2026, 11, 24).unwrap();
//! // A manual clock: 16:00 the day before, after the 15:00 release of `day`'s slots.
//! let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600)).unwrap();
//! let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng").unwrap();
//! let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics").unwrap();
//! let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false).unwrap();
//! engine.add_roster(Roster {
//!     resource: dr_chen, weekdays: vec![0, 1, 2, 3, 4], start_min: 8 * 60, end_min: 12 * 60,
//!     segment_min: 30, places: 6, valid_from: day, valid_until: day.plus_days(13), closed_dates: vec![],
//! }).unwrap();
//! engine.publish_rosters_until(day.plus_days(13)).unwrap();
//!
//! let patient = engine.register_patient().unwrap();
//! engine.link_card(patient, "social_security", "441900199001011234").unwrap();
//! let free = engine.find_free_slots(&AvailabilityQuery::department(paediatrics, day, day)).unwrap();
//! let hold = engine.hold(&Request::new(patient, free[0].slot, engine.channel_id("wechat").unwrap())).unwrap();
//! let booking = engine.confirm(hold.id).unwrap();
//! assert_eq!(booking.state, BookingState::Booked);
//! // A tertiary slot keeps 30% of its places for referrals until the public release; after it,
//! // unused referral places roll into the general pool, so all 6 were free.
//! assert_eq!(free[0].free, 6);
//! ```
#![warn(missing_docs)]

mod ack;
mod availability;
mod board;
mod booking;
mod booking_record;
mod calendar;
mod cards;
mod chunked;
mod command;
mod complaints;
mod day_index;
mod day_list;
mod day_log;
mod durability;
mod engine;
mod error;
mod event_types;
mod events;
mod gate;
mod groups;
mod idempotency;
mod ids;
mod load;
mod lotteries;
mod lottery;
mod metrics;
mod model;
mod overbooking;
mod patients;
mod pipeline;
mod policy;
mod pools_cache;
mod recommend;
mod referral;
mod registry;
mod request_keys;
mod roster;
mod slot;
mod store;
mod sync;
mod time;
mod timers;
mod waitlist;
mod waitlists;

pub use availability::{QUERY_DAYS_MAX, QUERY_LIMIT_MAX};
pub use complaints::{
    ComplaintEntry, ComplaintMatch, ComplaintTable, COMPLAINT_ENTRIES_MAX, COMPLAINT_LEN_MAX,
    COMPLAINT_TABLE_BYTES_MAX, KEYWORDS_PER_ENTRY_MAX, KEYWORD_LEN_MAX, SPECIALTIES_PER_ENTRY_MAX,
};
pub use load::{SERVICE_EWMA_ALPHA, SESSIONS_PER_DEPARTMENT_MAX};
pub use overbooking::overflow_probability;
pub use recommend::{RECOMMEND_DAYS_MAX, RECOMMEND_LIMIT_MAX};

pub use ack::PipelineScope;
pub use cards::{
    mask_card_number, CardDigest, CardKey, CARD_DIGEST_LEN, CARD_FIELD_LEN_MAX, CARD_KEY_ENV,
    CARD_KEY_FILE_ENV, CARD_KEY_LEN,
};
pub use command::{Command, Outcome, RequestKey, REQUEST_KEY_LEN_MAX};
#[cfg(feature = "fuzz-hooks")]
pub use durability::{
    debug_state, fuzz_decode_segment, fuzz_decode_snapshot, fuzz_decode_snapshot_payload,
    fuzz_segment_from_payloads,
};
pub use durability::{
    read_journal, ClockKind, Durability, DurableEngine, JournalReader, JournalStats, OpenOptions,
    RecoveryReport, ReplicationMode, ReplicationOptions, Standby, StandbyLag, StandbyOptions,
    TornTail, BUFFERED_UNFLUSHED_MAX_DEFAULT, SHIP_PROTOCOL_VERSION, STANDBY_POLL_MAX,
    STANDBY_POLL_MIN,
};
pub use engine::{
    Engine, EngineConfig, POLICY_CHANGES_MAX, PUBLISH_BATCH_MAX, REGISTER_BATCH_MAX,
    ROSTER_HORIZON_DAYS_MAX, SLOTS_PER_QUERY_MAX,
};
pub use error::{Error, ErrorCode, LimitKind, Result, FORGOTTEN_BOOKING};
pub use event_types::{EventKinds, EventType, EVENT_KIND_NAMES_MAX};
pub use events::{
    DurableCallback, Event, EventKind, EventSink, Overflow, RequestStamp, SubscribeOptions,
    Subscription, SUBSCRIPTION_CAPACITY_DEFAULT, SUBSCRIPTION_CAPACITY_MAX,
};
pub use groups::{STAY_FLEX_DAYS_MAX, STAY_LIMIT_MAX};
pub use ids::*;
pub use lottery::weighted_order;
pub use metrics::{
    FollowerMetrics, JournalMetrics, MemoryMetrics, Metrics, ReplicationMetrics, SubscriberMetrics,
    FSYNC_BUCKETS_S,
};
pub use model::{
    Alternative, AvailabilityQuery, BoardRow, Booking, BookingGroup, BookingState, CancelledBy,
    Card, Channel, DayAvailability, Department, EngineStats, FreeSlot, GroupAction, GroupRequest,
    HalfDay, Institution, LoadBoard, NoShowMark, OverbookingCalibration, OverbookingReport,
    PatientRecord, Pool, PoolCounts, PriorityClass, RecommendQuery, RecommendReason,
    Recommendation, Referral, ReferralRequest, Request, RescheduleRequest, ResourceKind,
    ResourceOverbooking, ResourceStats, Roster, SlotInfo, SlotRange, SlotRangeIter, SlotSpec,
    StayOffer, StayQuery, Submission, SuspensionReport, Tier, Urgency, WaitlistEntry,
    WaitlistRequest, GROUP_PLACES_MAX,
};
pub use patients::ENDED_BOOKINGS_KEPT;
pub use pipeline::{DurableTicket, LifecycleAction, Pipelined, BULK_ROWS_MAX};
pub use request_keys::{REQUEST_KEYS_MAX, REQUEST_KEY_RETENTION_S};
#[cfg(loom)]
#[doc(hidden)]
pub use slot::loom_models;
#[cfg(loom)]
#[doc(hidden)]
pub use store::loom_models as index_loom_models;

/// The cache hint the engine's scans use, for the simulator's loop (`haoyuan-sim`), which
/// asks for the next action's records while it works on the current one. Not part of the
/// engine's interface.
#[doc(hidden)]
pub use sync::prefetch;

pub use calendar::check_utc_offset;
pub use policy::*;
pub use registry::{Resource, STANDARD_CHANNELS};
pub use slot::{DAY_PLACES_MAX, PLACES_MAX};
pub use time::{
    Clock, Date, ManualClock, SystemClock, TimeOfDay, Timestamp, DAY_S, UTC_OFFSET_MAX_S,
};

/// The README's example, compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctest;

/// The crate's own README (what crates.io shows), compiled and run as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctest;
