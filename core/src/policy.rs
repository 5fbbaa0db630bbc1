//! The allocation policy: every rule of DOMAIN.md as one serde value, with DOMAIN.md's numbers
//! (Beijing 114 platform, Beijing referral rules, NHS e-RS) as defaults.
//!
//! ```
//! let p = haoyuan::Policy::from_toml("[limits]\ntotal_active = 3\n").unwrap();
//! assert_eq!(p.limits.total_active, 3);
//! assert_eq!(p.hold.ttl_s, 600); // everything not named keeps its default
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// All allocation rules. Unknown fields are an error, so a typo in a config file is caught.
#[derive(Clone, Debug, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// When a slot opens to the public and when booking for it closes (`[window]`).
    pub window: WindowPolicy,
    /// How long a hold and a waitlist offer last before the place returns (`[hold]`).
    pub hold: HoldPolicy,
    /// Per-patient caps on active bookings, the anti-scalping rule (`[limits]`).
    pub limits: LimitPolicy,
    /// Until when a patient may cancel for free, and what a late cancel costs
    /// (`[cancellation]`).
    pub cancellation: CancellationPolicy,
    /// How no-shows are counted and how long each one suspends the patient (`[no_show]`).
    pub no_show: NoShowPolicy,
    /// The referral pool of secondary and tertiary slots: its share and opening
    /// (`[referral]`).
    pub referral: ReferralPolicy,
    /// Shares kept for groups of channels (`[[channel_quotas]]`); empty by default (no quota).
    /// At most [`MAX_CHANNEL_QUOTAS`] quota groups.
    pub channel_quotas: Vec<ChannelQuota>,
    /// The seeded draw that replaces arrival order just after a release (`[lottery]`); off by
    /// default.
    pub lottery: LotteryPolicy,
    /// Whether patients may wait for a freed place, and how many waits each may have
    /// (`[waitlist]`).
    pub waitlist: WaitlistPolicy,
    /// Places accepted beyond capacity where no-shows justify it (`[overbooking]`); 0 by
    /// default.
    pub overbooking: OverbookingPolicy,
    /// When the live load board emits `LoadChanged` and `FreeChanged` events (off by default),
    /// and how load spreading ranks by it. Last, and written
    /// only when not the default, so that a snapshot's state (and its digest) is byte for byte
    /// what it was before the field existed, and old snapshots (positional MessagePack) load.
    pub board: BoardPolicy,
    /// How long the past is kept (`[retention]`): days after a visit date before its slots,
    /// their indexes, its day log and its bookings are freed. Written only when not the
    /// default, as `board`.
    pub retention: RetentionPolicy,
}

impl Serialize for Policy {
    /// The fields in order, up to the last one that is not its default among those added
    /// after the first release (`board` onwards), as `BoardPolicy` does: a policy using none
    /// of them encodes byte for byte as before they existed, and a positional reader finds
    /// every field written at its place.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let n = fields_written(
            10,
            &[!self.board.is_default(), self.retention != RetentionPolicy::default()],
        );
        let mut st = s.serialize_struct("Policy", n)?;
        st.serialize_field("window", &self.window)?;
        st.serialize_field("hold", &self.hold)?;
        st.serialize_field("limits", &self.limits)?;
        st.serialize_field("cancellation", &self.cancellation)?;
        st.serialize_field("no_show", &self.no_show)?;
        st.serialize_field("referral", &self.referral)?;
        st.serialize_field("channel_quotas", &self.channel_quotas)?;
        st.serialize_field("lottery", &self.lottery)?;
        st.serialize_field("waitlist", &self.waitlist)?;
        st.serialize_field("overbooking", &self.overbooking)?;
        if n > 10 {
            st.serialize_field("board", &self.board)?;
        }
        if n > 11 {
            st.serialize_field("retention", &self.retention)?;
        }
        st.end()
    }
}

/// Retention (DOMAIN.md invariant 6: "the past is retired after a retention period"). When
/// the clock passes `days` days after a date, that day is retired: its slots become unknown
/// ids (`NotFound`), its bookings leave their patients' records, and the memory of both, of
/// the day's availability counters and of its day log is freed. The retirement is journaled
/// (`EventKind::Retired`), so a replay retires the same. No-show marks are kept while they
/// can count (`no_show.window`), whatever the retention. Ids are never reused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Days a date is kept after it has passed (1 ..= 3660); `0` keeps the past for ever.
    /// Default 30: a month of visits stays queryable for follow-up and disputes.
    pub days: u16,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { days: 30 }
    }
}

impl RetentionPolicy {
    /// Whether the past is retired at all (`days` 0 keeps it for ever).
    pub fn is_on(&self) -> bool {
        self.days > 0
    }

    /// The first date kept at local date `today`, or `None` when the past is kept for ever.
    pub fn keeps_from(&self, today: crate::time::Date) -> Option<crate::time::Date> {
        self.is_on().then(|| today.plus_days(-(self.days as i32)))
    }
}

/// Thresholds of the live load board's change events (see `board.rs`). A department-session's
/// `EventKind::LoadChanged` is emitted when its queue or its expected wait differs from the
/// figures of its last event (0 and 0 before any) by *more than* the threshold; a
/// department's `EventKind::FreeChanged` likewise when its free places today or free beds
/// tonight do. `None` never fires on that figure. All `None` (the default): no board event, so
/// journals and event streams are what they were before the board existed.
///
/// Serialised by hand (below): a snapshot stores the policy positionally, so only a trailing
/// run of default fields may be left out, and which run that is depends on several fields.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoardPolicy {
    /// Patients in the queue (`Some(0)`: every change).
    pub queue_delta: Option<u32>,
    /// Seconds of expected wait (at most one day).
    pub wait_delta_s: Option<u32>,
    /// How [`crate::Engine::alternatives`] (load spreading) ranks the places it offers.
    pub rank_alternatives: AlternativesRank,
    /// Free places today a member of the public may take in a department (the board's
    /// `free_today`).
    pub free_delta: Option<u32>,
    /// Free beds tonight in a department's bed resources (the board's `free_beds_tonight`).
    pub beds_delta: Option<u32>,
}

/// How many fields a hand-written `Serialize` of a snapshot-stored struct writes: its `first`
/// fields always, then its later ones up to the last that is not its default (`later[i]`:
/// whether later field `i` is set). A positional decoder fills the trailing defaults.
fn fields_written(first: usize, later: &[bool]) -> usize {
    first + later.iter().rposition(|&set| set).map_or(0, |last| last + 1)
}

impl Serialize for BoardPolicy {
    /// The fields in order, up to the last one that is not its default among those added after
    /// the first release (`rank_alternatives` onwards): a policy using none of them encodes
    /// byte for byte as before they existed (old snapshots load, digests stay), and a reader
    /// of a positional encoding finds every field written at its place.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let n = fields_written(
            2,
            &[
                self.rank_alternatives != AlternativesRank::Earliest,
                self.free_delta.is_some(),
                self.beds_delta.is_some(),
            ],
        );
        let mut st = s.serialize_struct("BoardPolicy", n)?;
        st.serialize_field("queue_delta", &self.queue_delta)?;
        st.serialize_field("wait_delta_s", &self.wait_delta_s)?;
        if n > 2 {
            st.serialize_field("rank_alternatives", &self.rank_alternatives)?;
        }
        if n > 3 {
            st.serialize_field("free_delta", &self.free_delta)?;
        }
        if n > 4 {
            st.serialize_field("beds_delta", &self.beds_delta)?;
        }
        st.end()
    }
}

/// How load spreading ranks other institutions' places ([`BoardPolicy::rank_alternatives`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlternativesRank {
    /// The earliest free place first (then the least loaded). The default.
    #[default]
    Earliest,
    /// By day, then on the same day the least expected wait for someone checking in now
    /// (the live load board's queue ÷ pace of that place's session today; 0 for the days
    /// after, whose queues have not formed), then the earliest start: Xiamen's board, where
    /// parents spread away from crowded hospitals.
    ExpectedWait,
}

impl BoardPolicy {
    fn is_default(&self) -> bool {
        *self == BoardPolicy::default()
    }

    /// Whether a `LoadChanged` event can fire.
    pub fn emits(&self) -> bool {
        self.queue_delta.is_some() || self.wait_delta_s.is_some()
    }

    /// Whether a `FreeChanged` event can fire.
    #[inline]
    pub fn emits_free(&self) -> bool {
        self.free_delta.is_some() || self.beds_delta.is_some()
    }
}

/// How many channel quota groups a slot can carry (each is a counter packed in the slot word).
pub const MAX_CHANNEL_QUOTAS: usize = 2;

/// When a slot opens to the public and when booking closes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowPolicy {
    /// Days before the visit date on which the public release happens (Beijing: 7).
    pub open_days_ahead: u16,
    /// Local minute of day of the release (Beijing: 15:00 = 900).
    pub release_at_min: u16,
    /// If set, booking closes at this local minute of the day before the visit (some hospitals:
    /// 16:00 = 960); otherwise it closes when the segment starts.
    pub close_day_before_at_min: Option<u16>,
}

impl Default for WindowPolicy {
    fn default() -> Self {
        WindowPolicy { open_days_ahead: 7, release_at_min: 900, close_day_before_at_min: None }
    }
}

/// How long places are held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoldPolicy {
    /// Time to confirm or pay before a hold expires (10 minutes).
    pub ttl_s: u32,
    /// Time a waitlisted patient has to accept an offer (15 minutes).
    pub offer_ttl_s: u32,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        HoldPolicy { ttl_s: 600, offer_ttl_s: 900 }
    }
}

/// Real-name per-patient limits (anti-scalping). Holds count as active.
///
/// Each is a count of the patient's active places (held, booked, checked in); a request that
/// would take a count past its limit is [`Error::LimitReached`]. The defaults are Beijing's
/// 114 platform's. A limit of 0 refuses every booking of that kind (no separate "off": set a
/// large number instead).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitPolicy {
    /// Most active places per (institution, department, visit date); default 1, so one person
    /// cannot take several of one clinic's sessions on a day.
    pub per_department_day: u32,
    /// Most active places per visit date, across all institutions; default 2.
    pub per_visit_date: u32,
    /// Most active places with visit dates inside any 7 consecutive days; default 3.
    pub per_seven_days: u32,
    /// Most active places in all; default 5.
    pub total_active: u32,
    /// Which dates a booking group (several places all or nothing: a bed stay, a visit with
    /// its exam) counts on for the two per-date limits; it counts once in the total and 7-day
    /// limits either way. Written only when not the default, so that a snapshot's state (and
    /// its digest) is byte for byte what it was before the field existed, and old snapshots
    /// (positional MessagePack) load.
    #[serde(skip_serializing_if = "GroupDates::is_first")]
    pub group_dates: GroupDates,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        LimitPolicy {
            per_department_day: 1,
            per_visit_date: 2,
            per_seven_days: 3,
            total_active: 5,
            group_dates: GroupDates::First,
        }
    }
}

/// Which dates a booking group counts on for the per-date limits ([`LimitPolicy::group_dates`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupDates {
    /// Its first place's date only (the first still active): a 5-night stay takes one place of
    /// the per-date limits, on its first night, so the mother can still book a clinic visit on
    /// the nights after. The default.
    #[default]
    First,
    /// Every date it has a place on, once per date (and per department-date): the stay takes
    /// one per-date place on each of its nights.
    Every,
}

impl GroupDates {
    fn is_first(&self) -> bool {
        *self == GroupDates::First
    }
}

/// Cancellation by the patient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CancellationPolicy {
    /// Free cancellation until this local minute of the day before the visit (15:00).
    pub free_until_day_before_at_min: u16,
    /// How much of a no-show a late cancellation counts as (default 1 = a full no-show).
    pub late_cancel_weight: f32,
}

impl Default for CancellationPolicy {
    fn default() -> Self {
        CancellationPolicy { free_until_day_before_at_min: 900, late_cancel_weight: 1.0 }
    }
}

/// Over which period no-shows are counted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoShowWindow {
    /// Counted per calendar year (Beijing), in the region's local time: a mark counts until
    /// the local New Year after it.
    CalendarYear,
    /// Counted over the last N days: a mark counts for N × 24 hours after it was made, and no
    /// longer at exactly N days.
    RollingDays(u32),
}

/// No-show penalties: the n-th no-show in the window suspends the patient for
/// `ladder_days[n-1]` days, and beyond the ladder for `last + step_days × extra` days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoShowPolicy {
    /// Over which period no-shows add up; default the calendar year (Beijing), so a new year
    /// starts clean.
    pub window: NoShowWindow,
    /// Suspension in days for the 1st, 2nd, 3rd … no-show in the window; default
    /// `[30, 60, 90]` (Beijing). A suspension starts when the weighted count (late cancels
    /// count `late_cancel_weight`) crosses a whole number.
    pub ladder_days: Vec<u32>,
    /// Days added per no-show beyond the ladder; default 30, continuing Beijing's 30-day steps
    /// (4th → 120 days).
    pub step_days: u32,
    /// Cap on any one suspension in days; default 365, so no patient is shut out for more than
    /// a year however many no-shows they have.
    pub max_suspension_days: u32,
}

impl Default for NoShowPolicy {
    fn default() -> Self {
        NoShowPolicy {
            window: NoShowWindow::CalendarYear,
            ladder_days: vec![30, 60, 90],
            step_days: 30,
            max_suspension_days: 365,
        }
    }
}

impl NoShowPolicy {
    /// Suspension in days for the `n`-th no-show (n ≥ 1).
    pub fn suspension_days(&self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let days = match self.ladder_days.get(n as usize - 1) {
            Some(d) => *d,
            None => {
                let last = self.ladder_days.last().copied().unwrap_or(0);
                let extra = n as usize - self.ladder_days.len();
                last.saturating_add(self.step_days.saturating_mul(extra as u32))
            }
        };
        days.min(self.max_suspension_days)
    }
}

/// Tiered referral priority: a pool of each secondary/tertiary slot reserved for referrals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReferralPolicy {
    /// Share of places reserved for referrals at secondary and tertiary institutions (30%).
    pub share: f32,
    /// Share for expert (senior doctor) resources (50%).
    pub expert_share: f32,
    /// Days before the visit on which the referral pool opens (Beijing: 14, against 7 public).
    pub open_days_ahead: u16,
    /// Whether unused referral places roll into the general pool when the public window opens.
    pub rollover_at_public_open: bool,
}

impl Default for ReferralPolicy {
    fn default() -> Self {
        ReferralPolicy {
            share: 0.30,
            expert_share: 0.50,
            open_days_ahead: 14,
            rollover_at_public_open: true,
        }
    }
}

/// A share of every slot kept for a group of channels (e.g. kiosk + phone for the elderly).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelQuota {
    /// Channel names (as registered: "kiosk", "phone" …).
    pub channels: Vec<String>,
    /// Fraction of every slot's places kept for these channels, 0 ..= 1 (e.g. 0.10). No
    /// default: a quota is written out in full. With the referral share it may not pass 1.
    pub share: f32,
    /// Unused quota places roll into the general pool this many hours before the segment starts.
    #[serde(default = "default_quota_cutoff")]
    pub cutoff_hours_before_start: u32,
}

fn default_quota_cutoff() -> u32 {
    24
}

/// Release-time fairness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LotteryPolicy {
    /// Requests within this many seconds after a public release are drawn by lottery
    /// (0 = off; typical 60).
    pub window_s: u32,
    /// Seed of the draw; each release instant derives its own stream from it.
    pub seed: u64,
    /// Relative weight of a request with an emergency referral in the draw; default 8. The
    /// weights are relative, each > 0 and at most 10^6; the defaults (8, 4, 2, 1.5, 1)
    /// follow DOMAIN.md's order (emergency > urgent > routine > follow-up > general) so that
    /// priority tilts the odds without shutting the general public out.
    pub weight_emergency: f64,
    /// Weight of a request with an urgent referral; default 4.
    pub weight_urgent: f64,
    /// Weight of a request with a routine referral; default 2.
    pub weight_routine: f64,
    /// Weight of a follow-up visit without referral; default 1.5.
    pub weight_follow_up: f64,
    /// Weight of the general public; default 1 (the unit the others are measured in).
    pub weight_general: f64,
    /// Each counted no-show divides the weight by (1 + this).
    pub no_show_penalty: f64,
    /// Most requests one lottery accepts (a bound on memory under a flash crowd).
    pub max_entries: u32,
}

impl Default for LotteryPolicy {
    fn default() -> Self {
        LotteryPolicy {
            window_s: 0,
            seed: 0x6861_6f79_7561_6e00,
            weight_emergency: 8.0,
            weight_urgent: 4.0,
            weight_routine: 2.0,
            weight_follow_up: 1.5,
            weight_general: 1.0,
            no_show_penalty: 0.5,
            max_entries: 1_000_000,
        }
    }
}

/// Waitlists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WaitlistPolicy {
    /// Whether `join_waitlist` is allowed; default true. When false it is
    /// [`Error::InvalidArgument`], and freed places simply return to their pool.
    pub enabled: bool,
    /// Most waitlist entries one patient may have at once; default 3, so one patient cannot
    /// queue for every department (the waitlist's own anti-scalping limit).
    pub max_entries_per_patient: u32,
}

impl Default for WaitlistPolicy {
    fn default() -> Self {
        WaitlistPolicy { enabled: true, max_entries_per_patient: 3 }
    }
}

/// Overbooking: accept up to capacity × (1 + ratio) bookings. A resource's ratio is, first
/// found: its `by_resource` entry, its department's `by_department` entry, the last of
/// `targets` that matches its department, `ratio`.
///
/// Serialised by hand (below): a snapshot stores the policy positionally, so only a trailing
/// run of default fields may be left out.
#[derive(Clone, Debug, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OverbookingPolicy {
    /// Extra places as a fraction of capacity, 0 ..= 1, for every resource without an
    /// override; default 0 (no overbooking) until a measured no-show rate justifies more.
    pub ratio: f32,
    /// Per-department overrides, by department id.
    pub by_department: BTreeMap<u32, f32>,
    /// Per-resource overrides, by resource id (take precedence over department).
    pub by_resource: BTreeMap<u32, f32>,
    /// How the allowance is counted: per slot (the default, as journals written before this
    /// field existed were) or per session. Written only when not the default (or when
    /// `targets` follows), so that a snapshot's state (and its digest) is byte for byte what
    /// it was before the field existed.
    pub spread: OverbookingSpread,
    /// Ratios by what a planner knows departments by — tier, specialty, institution name —
    /// rather than by ids, which exist only once the city is registered; later targets win
    /// where they overlap. At most [`OVERBOOKING_TARGETS_MAX`].
    pub targets: Vec<OverbookingTarget>,
}

impl Serialize for OverbookingPolicy {
    /// Every field up to the last one that is not its default among those added after the
    /// first release (`spread` onwards); see [`BoardPolicy`]'s for why.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let n =
            fields_written(3, &[self.spread != OverbookingSpread::Slot, !self.targets.is_empty()]);
        let mut st = s.serialize_struct("OverbookingPolicy", n)?;
        st.serialize_field("ratio", &self.ratio)?;
        st.serialize_field("by_department", &self.by_department)?;
        st.serialize_field("by_resource", &self.by_resource)?;
        if n > 3 {
            st.serialize_field("spread", &self.spread)?;
        }
        if n > 4 {
            st.serialize_field("targets", &self.targets)?;
        }
        st.end()
    }
}

/// An overbooking ratio for the departments that match every given selector (none given:
/// every department), by names a planner knows ([`OverbookingPolicy::targets`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverbookingTarget {
    /// Only departments of institutions of this tier (`None`: any tier).
    #[serde(default)]
    pub tier: Option<crate::model::Tier>,
    /// Only departments of this specialty, by its name (`None`: any specialty).
    #[serde(default)]
    pub specialty: Option<String>,
    /// Only the departments of the institution of this name (`None`: any institution).
    #[serde(default)]
    pub institution: Option<String>,
    /// Extra bookings allowed beyond capacity, as a share of places (0 ..= 1; 0.1 = 10%),
    /// counted as `spread` says.
    pub ratio: f32,
}

/// Most overbooking targets one policy may list (each publication of a resource-day matches
/// them in turn).
pub const OVERBOOKING_TARGETS_MAX: usize = 10_000;

/// How the overbooking allowance is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverbookingSpread {
    /// ⌊capacity × ratio⌋ extra places on each slot: nothing on slots of fewer than 1 / ratio
    /// places — at 10%, nothing on the one- and two-place segments most clinics publish.
    /// The default, so that a durable directory written before `spread` existed reopens to
    /// the same pools.
    #[default]
    Slot,
    /// ⌊ratio × places⌋ extra places per resource-day (session), dealt over its slots as the
    /// referral share is: the first `c` places of the day carry ⌊ratio × c⌋ in all, so a
    /// 10% allowance on ten one-place segments is one extra place, however they are published.
    Session,
}

impl Policy {
    /// Parse from TOML; unspecified fields keep their defaults.
    pub fn from_toml(s: &str) -> Result<Policy> {
        let p: Policy = toml::from_str(s).map_err(|e| Error::InvalidPolicy(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    /// Parse from JSON; unspecified fields keep their defaults.
    pub fn from_json(s: &str) -> Result<Policy> {
        let p: Policy = serde_json::from_str(s).map_err(|e| Error::InvalidPolicy(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    /// The policy as TOML; [`Policy::from_toml`] reads it back equal. Fields at their default
    /// are written too (except `overbooking.spread`), so the text is the whole rule set.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The policy as JSON; [`Policy::from_json`] reads it back equal. Written as
    /// [`Policy::to_toml`] is.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Check every number is in range. Called by the parsers and by `Engine::new`.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidPolicy(m));
        let share_ok = |x: f32| x.is_finite() && (0.0..=1.0).contains(&x);
        if self.retention.days > 3660 {
            return bad(format!("retention.days {} must be at most 3660", self.retention.days));
        }
        if self.board.wait_delta_s.is_some_and(|w| w > 86_400) {
            return bad("board.wait_delta_s must be at most 86400 (one day)".into());
        }
        if self.window.release_at_min >= 1440 {
            return bad(format!(
                "window.release_at_min {} is not a minute of the day",
                self.window.release_at_min
            ));
        }
        if matches!(self.window.close_day_before_at_min, Some(m) if m >= 1440) {
            return bad("window.close_day_before_at_min is not a minute of the day".into());
        }
        if self.window.open_days_ahead > 366 || self.referral.open_days_ahead > 366 {
            return bad("open_days_ahead must be at most 366".into());
        }
        if self.hold.ttl_s == 0
            || self.hold.offer_ttl_s == 0
            || self.hold.ttl_s > 86_400
            || self.hold.offer_ttl_s > 86_400
        {
            return bad("hold ttl_s and offer_ttl_s must be 1 ..= 86400 seconds".into());
        }
        if self.cancellation.free_until_day_before_at_min >= 1440 {
            return bad(
                "cancellation.free_until_day_before_at_min is not a minute of the day".into()
            );
        }
        let w = self.cancellation.late_cancel_weight;
        if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
            return bad(format!("cancellation.late_cancel_weight {w} must be within 0 ..= 1"));
        }
        if let NoShowWindow::RollingDays(0) = self.no_show.window {
            return bad("no_show.window rolling_days must be > 0".into());
        }
        if !share_ok(self.referral.share) || !share_ok(self.referral.expert_share) {
            return bad("referral shares must be within 0 ..= 1".into());
        }
        if self.channel_quotas.len() > MAX_CHANNEL_QUOTAS {
            return bad(format!("at most {MAX_CHANNEL_QUOTAS} channel quota groups"));
        }
        let mut total = self.referral.share.max(self.referral.expert_share);
        for q in &self.channel_quotas {
            if !share_ok(q.share) || q.channels.is_empty() {
                return bad("each channel quota needs channels and a share within 0 ..= 1".into());
            }
            total += q.share;
        }
        if total > 1.0 + 1e-6 {
            return bad(format!("referral and channel quota shares add up to {total:.2} > 1"));
        }
        let l = &self.lottery;
        for (name, x) in [
            ("weight_emergency", l.weight_emergency),
            ("weight_urgent", l.weight_urgent),
            ("weight_routine", l.weight_routine),
            ("weight_follow_up", l.weight_follow_up),
            ("weight_general", l.weight_general),
        ] {
            if !(x.is_finite() && x > 0.0 && x <= 1e6) {
                return bad(format!("lottery.{name} must be a positive finite number"));
            }
        }
        if !(l.no_show_penalty.is_finite() && l.no_show_penalty >= 0.0) {
            return bad("lottery.no_show_penalty must be >= 0".into());
        }
        if l.window_s > 86_400 {
            return bad("lottery.window_s must be at most a day".into());
        }
        let ratio_ok = |x: f32| x.is_finite() && (0.0..=1.0).contains(&x);
        if !ratio_ok(self.overbooking.ratio)
            || !self.overbooking.by_department.values().all(|x| ratio_ok(*x))
            || !self.overbooking.by_resource.values().all(|x| ratio_ok(*x))
        {
            return bad("overbooking ratios must be within 0 ..= 1".into());
        }
        let targets = &self.overbooking.targets;
        if targets.len() > OVERBOOKING_TARGETS_MAX {
            return bad(format!("at most {OVERBOOKING_TARGETS_MAX} overbooking targets"));
        }
        for (k, t) in targets.iter().enumerate() {
            if !ratio_ok(t.ratio) {
                return bad(format!(
                    "overbooking target {k}: ratio {} must be within 0 ..= 1",
                    t.ratio
                ));
            }
            let long = |n: &Option<String>| n.as_ref().is_some_and(|n| n.len() > 200);
            if long(&t.specialty) || long(&t.institution) {
                return bad(format!("overbooking target {k}: names are at most 200 bytes"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overbooking_spread_round_trips_in_snapshots_and_leaves_old_encodings_unchanged() {
        // Snapshots hold the policy in positional MessagePack: the default spread is not
        // written (a snapshot written before the field existed decodes, and a state's digest
        // is unchanged), and a session spread round-trips.
        let slot = Policy::default();
        let mut session = Policy::default();
        session.overbooking.spread = OverbookingSpread::Session;
        for p in [&slot, &session] {
            let bytes = rmp_serde::to_vec(p).unwrap();
            assert_eq!(&rmp_serde::from_slice::<Policy>(&bytes).unwrap(), p);
        }
        assert!(
            rmp_serde::to_vec(&session).unwrap().len() > rmp_serde::to_vec(&slot).unwrap().len()
        );
        let json = serde_json::to_value(&session).unwrap();
        assert_eq!(json["overbooking"]["spread"], "session");
        assert!(serde_json::to_value(&slot).unwrap()["overbooking"].get("spread").is_none());
        assert_eq!(
            Policy::from_json(r#"{"overbooking": {"spread": "session"}}"#).unwrap(),
            session
        );
    }

    #[test]
    fn defaults_round_trip_through_toml_and_json() {
        let p = Policy::default();
        assert_eq!(Policy::from_toml(&p.to_toml()).unwrap(), p);
        assert_eq!(Policy::from_json(&p.to_json()).unwrap(), p);
    }

    #[test]
    fn typos_and_bad_numbers_are_errors() {
        assert!(matches!(Policy::from_toml("[limits]\ntotl = 3"), Err(Error::InvalidPolicy(_))));
        assert!(matches!(
            Policy::from_json(r#"{"hold":{"ttl_s":0}}"#),
            Err(Error::InvalidPolicy(_))
        ));
        assert!(matches!(
            Policy::from_json(r#"{"referral":{"share":1.5}}"#),
            Err(Error::InvalidPolicy(_))
        ));
        assert!(matches!(Policy::from_json("not json"), Err(Error::InvalidPolicy(_))));
    }

    #[test]
    fn suspension_ladder() {
        let p = NoShowPolicy::default();
        assert_eq!([1, 2, 3, 4, 5].map(|n| p.suspension_days(n)), [30, 60, 90, 120, 150]);
        assert_eq!(p.suspension_days(100), 365);
    }
}

#[cfg(test)]
mod later_fields_encoding {
    use super::*;

    /// Snapshots hold the policy in positional MessagePack: every combination of the board's
    /// later fields must come back as written, and a board using none of them must encode as
    /// the two-field board of the first release did.
    #[test]
    fn later_fields_round_trip_positionally_and_old_encodings_stay() {
        let ranks = [AlternativesRank::Earliest, AlternativesRank::ExpectedWait];
        for rank_alternatives in ranks {
            for free_delta in [None, Some(0), Some(7)] {
                for beds_delta in [None, Some(1)] {
                    let b = BoardPolicy {
                        queue_delta: Some(2),
                        wait_delta_s: None,
                        rank_alternatives,
                        free_delta,
                        beds_delta,
                    };
                    let bytes = rmp_serde::to_vec(&b).unwrap();
                    let back: BoardPolicy = rmp_serde::from_slice(&bytes).unwrap();
                    assert_eq!(back, b, "positional");
                    let json = serde_json::to_string(&b).unwrap();
                    assert_eq!(serde_json::from_str::<BoardPolicy>(&json).unwrap(), b, "{json}");
                }
            }
        }
        // The overbooking section: every combination of its later fields, positionally.
        let target = OverbookingTarget {
            tier: Some(crate::model::Tier::Tertiary),
            specialty: None,
            institution: Some("Dongguan People's Hospital".into()),
            ratio: 0.1,
        };
        for spread in [OverbookingSpread::Slot, OverbookingSpread::Session] {
            for targets in [vec![], vec![target.clone()]] {
                let o = OverbookingPolicy { ratio: 0.05, spread, targets, ..Default::default() };
                let back: OverbookingPolicy =
                    rmp_serde::from_slice(&rmp_serde::to_vec(&o).unwrap()).unwrap();
                assert_eq!(back, o, "positional");
                let json = serde_json::to_string(&o).unwrap();
                assert_eq!(serde_json::from_str::<OverbookingPolicy>(&json).unwrap(), o, "{json}");
            }
        }
        let plain = OverbookingPolicy { ratio: 0.05, ..Default::default() };
        let old = (0.05f32, BTreeMap::<u32, f32>::new(), BTreeMap::<u32, f32>::new());
        assert_eq!(rmp_serde::to_vec(&plain).unwrap(), rmp_serde::to_vec(&old).unwrap());
        // The first release's board: two fields, whatever was added since.
        let first =
            BoardPolicy { queue_delta: Some(1), wait_delta_s: Some(60), ..Default::default() };
        let old: (Option<u32>, Option<u32>) = (Some(1), Some(60));
        assert_eq!(rmp_serde::to_vec(&first).unwrap(), rmp_serde::to_vec(&old).unwrap());
        assert_eq!(
            rmp_serde::from_slice::<BoardPolicy>(&rmp_serde::to_vec(&old).unwrap()).unwrap(),
            first
        );
        // The policy's own later fields (board, retention): every combination positionally,
        // and a policy using neither encodes as the ten fields before them.
        for board in [BoardPolicy::default(), first.clone()] {
            for days in [30, 0, 1] {
                let p = Policy {
                    board: board.clone(),
                    retention: RetentionPolicy { days },
                    ..Policy::default()
                };
                let back: Policy = rmp_serde::from_slice(&rmp_serde::to_vec(&p).unwrap()).unwrap();
                assert_eq!(back, p, "positional");
                let json = serde_json::to_string(&p).unwrap();
                assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p, "{json}");
            }
        }
        let p = Policy::default();
        let ten = (
            &p.window,
            &p.hold,
            &p.limits,
            &p.cancellation,
            &p.no_show,
            &p.referral,
            &p.channel_quotas,
            &p.lottery,
            &p.waitlist,
            &p.overbooking,
        );
        let bytes = rmp_serde::to_vec(&p).unwrap();
        assert_eq!(bytes, rmp_serde::to_vec(&ten).unwrap(), "ten fields, as before board");
    }
}
