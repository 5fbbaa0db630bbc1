//! The simulation loop: one manual-clock engine, one time-ordered queue of actions (requests,
//! cancellations, visits, lottery draws), processed one at a time so that a seed fixes the run.
//! Everything the patients do goes through the engine's public API; the loop only keeps its
//! own tally of outcomes, fed by return values and by the engine's event stream (waitlist
//! offers, lottery results, suspensions and expiries happen inside the engine).

use super::demand::{
    pick_tier, stable_sort_by_second, tier_of, DemandSpec, Kind, Req, Sampler, NO_SHOW_HISTORY_MAX,
};
use super::metrics::{
    ratio, Access, Counts, DayUsage, Fairness, LeadAcc, ReferralLead, ReleaseClass, Sessions,
    SimResult, UnitUsage, Usage,
};
use super::recorded::{kind_name, Arrival, Days, Recorded};
use super::region::{build_region, Region, RegionSpec};
use super::{
    default_warmup_days, resolve_overbooking_targets, ChoiceContext, Offer, SimHooks, SimPolicy,
    Window, CALIBRATION_EVERY_DAYS,
};
use haoyuan::{
    AvailabilityQuery, Booking, CancelledBy, ReferralRequest, Request, Submission, Tier, Urgency,
    WaitlistRequest,
};

use haoyuan::*;
use haoyuan::{Error, Result};
use haoyuan::{
    EventKind, EventKinds, EventType, Overflow, SubscribeOptions, Subscription,
    SUBSCRIPTION_CAPACITY_DEFAULT, SUBSCRIPTION_CAPACITY_MAX,
};

/// The event types `Sim::drain` reacts to (its subscription receives these alone).
const DRAINED: [EventType; 6] = [
    EventType::WaitlistOffered,
    EventType::PatientSuspended,
    EventType::Expired,
    EventType::Cancelled,
    EventType::LotteryWon,
    EventType::LotteryLost,
];

use haoyuan::STANDARD_CHANNELS;
use haoyuan::{Date, Timestamp, DAY_S};

use haoyuan::{Engine, EngineConfig};
use rustc_hash::FxHashMap as HashMap;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

const CLINIC: u8 = 5;
const CLASSES: [&str; 5] = ["emergency", "urgent", "routine", "follow_up", "general"];

fn class_of(kind: Kind) -> usize {
    match kind {
        Kind::Referral(Urgency::Emergency) => 0,
        Kind::Referral(Urgency::Urgent) => 1,
        Kind::Referral(Urgency::Routine) => 2,
        Kind::FollowUp => 3,
        Kind::General => 4,
    }
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Request(Req, Option<ReferralId>, bool),
    Cancel(u32),
    Visit(u32),
    Tick,
}

struct Item {
    t: i64,
    seq: u64,
    action: Action,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

/// The loop's actions in (time, push order) — the order a single binary heap of every pending
/// action would give, at a fraction of its cost: actions of later days wait unsorted in one
/// bucket per day; a day's bucket is sorted once when the day starts, and actions pushed for
/// the current day meanwhile (retries, cancellations) go to a small heap beside it.
struct Queue {
    /// Day index of `later[0]`.
    base: i32,
    /// The current day: actions at or before its end are in `sorted` or `heap`.
    day: i32,
    /// The current day's bucket, latest first (popped from the end).
    sorted: Vec<Item>,
    /// Actions pushed for the current day (or earlier) once it had started.
    heap: BinaryHeap<Item>,
    /// Actions of later days, one unsorted bucket per day from `base`.
    later: Vec<Vec<Item>>,
}

impl Queue {
    fn new(first_day: i32) -> Queue {
        Queue {
            base: first_day,
            day: first_day - 1,
            sorted: Vec::new(),
            heap: BinaryHeap::new(),
            later: Vec::new(),
        }
    }

    fn push(&mut self, item: Item) {
        let d = item.t.div_euclid(DAY_S) as i32;
        if d <= self.day {
            self.heap.push(item);
            return;
        }
        let i = (d - self.base) as usize;
        if i >= self.later.len() {
            self.later.resize_with(i + 1, Vec::new);
        }
        self.later[i].push(item);
    }

    /// Room for `n` more actions of day `d`, a later day: a day's requests come in one batch,
    /// and a bucket grown push by push copied itself a dozen times a day.
    fn reserve(&mut self, d: i32, n: usize) {
        if d <= self.day {
            return;
        }
        let i = (d - self.base) as usize;
        if i >= self.later.len() {
            self.later.resize_with(i + 1, Vec::new);
        }
        self.later[i].reserve(n);
    }

    /// Start day `d` (days in order): its bucket joins the current actions.
    fn start_day(&mut self, d: i32) {
        debug_assert!(d > self.day);
        self.day = d;
        let i = (d - self.base) as usize;
        let Some(bucket) = self.later.get_mut(i) else { return };
        // Pushed in `seq` order, so a stable sort by time is the (time, seq) order; reversed,
        // latest first, to pop from the end.
        let mut bucket = stable_sort_by_second(std::mem::take(bucket), |i| i.t);
        bucket.reverse();
        if self.sorted.is_empty() {
            self.sorted = bucket;
        } else {
            // Left over from earlier days (not in the loop's use): keep one order.
            self.heap.extend(bucket);
        }
    }

    /// The action `pop_before` would give next, if any (whatever its time).
    fn peek(&self) -> Option<&Item> {
        match (self.sorted.last(), self.heap.peek()) {
            (Some(a), Some(b)) => Some(if a > b { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// The earliest action, if it is before `end`.
    fn pop_before(&mut self, end: i64) -> Option<Item> {
        let from_sorted = match (self.sorted.last(), self.heap.peek()) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if from_sorted {
            if self.sorted.last().is_some_and(|i| i.t < end) {
                return self.sorted.pop();
            }
        } else if self.heap.peek().is_some_and(|i| i.t < end) {
            return self.heap.pop();
        }
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LiveState {
    Booked,
    Cancelled,
}

/// A booking the loop follows until its visit.
#[derive(Clone, Copy)]
struct Live {
    id: BookingId,
    req: Req,
    slot: SlotId,
    starts_at: Timestamp,
    created_at: Timestamp,
    state: LiveState,
}

#[derive(Clone, Copy, Default)]
struct SlotRec {
    /// Visit date, as a day index (0 = first measured day).
    day: i32,
    department: u32,
    /// The engine's resource id (a session is one resource-day).
    resource: u32,
    capacity: u16,
    booked: u16,
    attended: u16,
}

/// What the loop keeps of a resident, in one record: a request or a visit reads all of it, and
/// a city has millions of residents, so one cache line a resident rather than one per field.
#[derive(Clone, Copy)]
struct Resident {
    /// Engine id, registered on their first request (u32::MAX: not yet), so that a
    /// million-resident city costs the engine only the residents who book.
    patient: u32,
    /// Home district.
    home: u16,
    /// The days of their latest no-shows (`i32::MIN`: none), oldest first.
    no_show_days: [i32; NO_SHOW_HISTORY_MAX],
}

const _: () = assert!(std::mem::size_of::<Resident>() <= 24);

struct Sim<'a> {
    engine: Engine,
    region: Region,
    demand: &'a DemandSpec,
    policy: &'a SimPolicy,
    hooks: Option<&'a dyn SimHooks>,
    events: Subscription,
    /// Local midnight of day 0.
    t0: Timestamp,
    queue: Queue,
    seq: u64,
    channels: Vec<ChannelId>,
    channel_names: Vec<String>,
    /// Per resident, what the loop keeps of them (see `Resident`).
    residents: Vec<Resident>,
    community_all: Vec<u32>,
    live: Vec<Live>,
    free_live: Vec<u32>,
    slots: SlotTable,
    /// The measurement window's slot tallies, folded from `slots` as their dates pass.
    tally: Tally,
    tickets: HashMap<TicketId, (Req, Option<ReferralId>)>,
    waiting: HashMap<WaitlistId, (Req, Option<ReferralId>, u32)>,
    counts: Counts,
    suspensions: u64,
    districts: Vec<Access>,
    channel_access: Vec<Access>,
    release: [(u64, u64); 5],
    referrals: [(u64, u64, LeadAcc); 3],
    lead: LeadAcc,
    lead_tier: [LeadAcc; 3],
    notes: Vec<String>,
    /// Per department: the last date (day index) the engine reported full for public
    /// requesters, from the first open date on; cleared when a place there frees up.
    full_through: Vec<Option<i32>>,
    /// The current request's offers (a buffer kept between requests).
    offers: Vec<Offer>,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Where a run's requests come from.
enum Source {
    /// The demand's synthetic patients.
    Synthetic(Sampler),
    /// Recorded arrivals (see `recorded.rs`).
    Recorded(Days),
}

/// The channel table of a run: the engine's standard channels, then the demand's others.
fn channel_names(demand: &DemandSpec) -> Result<Vec<String>> {
    let mut channel_names: Vec<String> = STANDARD_CHANNELS.iter().map(|s| s.to_string()).collect();
    for name in demand.channel_mix.keys() {
        if !channel_names.contains(name) {
            channel_names.push(name.clone());
        }
    }
    if channel_names.len() > 250 {
        return Err(Error::invalid("at most 250 channels"));
    }
    Ok(channel_names)
}

/// The synthetic demand's sampler on `region`.
fn sampler(demand: &DemandSpec, region: &Region, channel_names: &[String]) -> Sampler {
    let referral_ok: Vec<bool> = (0..region.specialties.len())
        .map(|s| {
            !region.by_specialty_tier[s][1].is_empty() || !region.by_specialty_tier[s][2].is_empty()
        })
        .collect();
    let mut s = Sampler::new(demand, &region.specialties, referral_ok, channel_names);
    // Nobody asks for a specialty the region does not offer.
    for (i, w) in s.specialty_w.iter_mut().enumerate() {
        if region.by_specialty_tier[i].iter().all(|l| l.is_empty()) {
            *w = 0.0;
        }
    }
    s.channel_w[CLINIC as usize] = 0.0;
    s
}

pub(crate) fn run(
    spec: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    window: Window,
    seed: u64,
    hooks: Option<&dyn SimHooks>,
    progress: &dyn Fn(u64, u64) -> Result<()>,
) -> Result<SimResult> {
    run_with(spec, demand, policy, window, seed, hooks, None, progress)
}

/// [`run`] with the requests of `recorded` instead of the synthetic demand, if given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_with(
    spec: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    window: Window,
    seed: u64,
    hooks: Option<&dyn SimHooks>,
    recorded: Option<&Recorded>,
    progress: &dyn Fn(u64, u64) -> Result<()>,
) -> Result<SimResult> {
    let started = std::time::Instant::now();
    spec.validate()?;
    demand.validate()?;
    policy.validate()?;
    let start = spec.start()?;
    let days = window.days;
    let warm = window.warmup_for(spec, demand, policy) as i32;
    let mut config = EngineConfig { policy: policy.engine.clone(), ..EngineConfig::default() };
    let offset = config.utc_offset_s;
    let t0 = Timestamp::from_local(start, 0, offset);
    let begin = t0.plus_s(-(warm as i64) * DAY_S);
    config.policy.overbooking.targets.extend(policy.overbooking_targets.iter().cloned());
    let engine = Engine::with_manual_clock(config, begin)?;
    let region = build_region(&engine, spec, seed)?;
    // A misspelt name would change nothing, silently: every target must reach a department.
    resolve_overbooking_targets(&region, &policy.overbooking_targets)?;
    // The run reads its own events after every step, and a cut-off is an error rather than
    // silently wrong metrics. Only the types `Sim::drain` reads: the engine neither queues nor
    // builds the copies of the other thirty (bookings, check-ins, the clock's moves), which the
    // run would read only to drop. Of those six, one step brings at most a day's worth (a
    // release's lottery results, the holds expiring or the patients suspended at one clock
    // move), so the queue holds four busiest days of requests. Not the largest queue: its
    // slots are allocated and written when it is made (4 M events, ~0.4 GB, were a fifth of a
    // small study's time and a quarter of a city-year's memory).
    let busiest_day =
        demand.requests_per_day * demand.weekday_factor.iter().fold(0.0, |a, &b| f64::max(a, b));
    let capacity = ((4.0 * busiest_day) as usize)
        .next_power_of_two()
        .clamp(SUBSCRIPTION_CAPACITY_DEFAULT, SUBSCRIPTION_CAPACITY_MAX);
    let events = engine.subscribe_with(SubscribeOptions {
        capacity,
        overflow: Overflow::Disconnect,
        kinds: EventKinds::of(&DRAINED),
    })?;

    let channel_names = channel_names(demand)?;
    let channels =
        channel_names.iter().map(|n| engine.add_channel(n)).collect::<Result<Vec<_>>>()?;
    let home: Vec<u16> = (0..demand.population)
        .map(|i| (splitmix(seed ^ ((i as u64) << 20)) % region.districts as u64) as u16)
        .collect();
    let community_all: Vec<u32> = (0..region.institutions.len() as u32)
        .filter(|i| region.institutions[*i as usize].tier == Tier::Community)
        .collect();
    let districts = (0..region.districts)
        .map(|d| Access { name: format!("district {}", d + 1), ..Access::default() })
        .collect();
    let channel_access =
        channel_names.iter().map(|n| Access { name: n.clone(), ..Access::default() }).collect();
    let tally = Tally::new(region.institutions.len(), region.departments.len(), days);
    let mut sim = Sim {
        engine,
        region,
        demand,
        policy,
        hooks,
        events,
        t0,
        queue: Queue::new(-warm),
        seq: 0,
        channels,
        channel_names,
        residents: home
            .into_iter()
            .map(|home| Resident {
                patient: u32::MAX,
                home,
                no_show_days: [i32::MIN; NO_SHOW_HISTORY_MAX],
            })
            .collect(),
        community_all,
        live: Vec::new(),
        free_live: Vec::new(),
        slots: SlotTable::default(),
        tally,
        tickets: HashMap::default(),
        waiting: HashMap::default(),
        counts: Counts::default(),
        suspensions: 0,
        districts,
        channel_access,
        release: [(0, 0); 5],
        referrals: Default::default(),
        lead: LeadAcc::default(),
        lead_tier: Default::default(),
        notes: Vec::new(),
        full_through: Vec::new(),
        offers: Vec::new(),
    };
    sim.full_through = vec![None; sim.region.departments.len()];
    let release_s = policy.engine.window.release_at_min as i64 * 60;
    // Recordings are checked, all of them, before the first simulated day.
    let source = match recorded {
        None => Source::Synthetic(sampler(demand, &sim.region, &sim.channel_names)),
        Some(r) => Source::Recorded(Days::new(
            r,
            &sim.region,
            &sim.channel_names,
            demand.population,
            -warm,
            days + warm as u32,
            release_s,
        )?),
    };
    let total = (days as i32 + warm) as u64;
    for day in -warm..days as i32 {
        let day_start = day as i64 * DAY_S;
        sim.advance(day_start)?;
        // Every visit of the days before is done: their slots' records become tallies.
        sim.fold_past(day);
        if let Some(c) = &policy.no_show_overbooking {
            if (day + warm) % CALIBRATION_EVERY_DAYS == 0 {
                sim.engine.calibrate_overbooking(c)?;
            }
        }
        sim.publish(start, day, spec.horizon_days as i32)?;
        let weekday = start.plus_days(day).weekday();
        let reqs = match &source {
            Source::Synthetic(s) => s.day(demand, seed, day, weekday, release_s, CLINIC),
            Source::Recorded(r) => r.day(seed, day, demand.tolerance_days_max),
        };
        sim.queue.reserve(day, reqs.len() + 1);
        for req in reqs {
            sim.push(req.at_s, Action::Request(req, None, false));
        }
        if policy.engine.lottery.window_s > 0 {
            sim.push(day_start + release_s + policy.engine.lottery.window_s as i64, Action::Tick);
        }
        // After the day's requests are in its bucket: they are sorted with it, once.
        sim.queue.start_day(day);
        while let Some(item) = sim.queue.pop_before(day_start + DAY_S) {
            sim.prefetch_next();
            sim.advance(item.t)?;
            match item.action {
                Action::Request(req, referral, retry) => sim.request(req, referral, retry)?,
                Action::Cancel(i) => sim.cancel(i)?,
                Action::Visit(i) => sim.visit(i)?,
                Action::Tick => {}
            }
            sim.drain()?;
        }
        progress((day + warm + 1) as u64, total)?;
    }
    let mut warnings = Vec::new();
    if let Source::Recorded(r) = &source {
        warnings.extend(r.warnings());
    }
    let needed = default_warmup_days(spec, demand, policy);
    if (warm as u32) < needed {
        warnings.push(format!(
            "a warm-up of {warm} days is shorter than the {needed} days this policy's rules and \
             the no-show history need: the first measured days are not in steady state"
        ));
    }
    Ok(sim.finish(days, warm as u32, seed, warnings, started.elapsed().as_secs_f64()))
}

impl<'a> Sim<'a> {
    /// Ask for the record the next action starts from (its resident's, or its booking's)
    /// while this one runs: residents and bookings are read in no order the cache can guess,
    /// and a miss to memory for each was a tenth of the loop's time.
    fn prefetch_next(&self) {
        match self.queue.peek().map(|i| &i.action) {
            Some(Action::Request(req, ..)) => {
                if let Some(r) = self.residents.get(req.patient as usize) {
                    haoyuan::prefetch(r);
                }
            }
            Some(Action::Visit(i) | Action::Cancel(i)) => {
                // A record of about 100 bytes: both its ends, the lines it may span.
                if let Some(l) = self.live.get(*i as usize) {
                    haoyuan::prefetch(l);
                    let last = (l as *const Live).cast::<u8>().wrapping_add(size_of::<Live>() - 1);
                    haoyuan::prefetch(last);
                }
            }
            Some(Action::Tick) | None => {}
        }
    }

    fn push(&mut self, t: i64, action: Action) {
        self.seq += 1;
        self.queue.push(Item { t, seq: self.seq, action });
    }

    /// The current day index (0 = first measured day).
    fn today(&self) -> i32 {
        (self.engine.now().0 - self.t0.0).div_euclid(DAY_S) as i32
    }

    /// No-shows of resident `i` within the demand's history window.
    fn past_no_shows(&self, i: u32) -> u32 {
        let since = self.today() - self.demand.no_show.history_days as i32;
        self.residents[i as usize].no_show_days.iter().filter(|d| **d > since).count() as u32
    }

    fn patient(&mut self, i: u32) -> Result<PatientId> {
        let id = &mut self.residents[i as usize].patient;
        if *id == u32::MAX {
            *id = self.engine.register_patient()?.0;
        }
        Ok(PatientId(*id))
    }

    fn ts(&self, s: i64) -> Timestamp {
        self.t0.plus_s(s)
    }

    fn advance(&mut self, s: i64) -> Result<()> {
        let t = self.ts(s);
        if t > self.engine.now() {
            self.engine.advance_to(t)?;
            self.drain()?;
        }
        Ok(())
    }

    fn anomaly(&mut self, what: &str, e: &Error) {
        self.counts.anomalies += 1;
        if self.notes.len() < 10 {
            self.notes.push(format!("{what}: {e}"));
        }
    }

    /// Publish slots up to `horizon` days ahead — past the last measured day too, so that the
    /// window's last requests see as far ahead as the first — and note each new slot's date,
    /// department and capacity.
    fn publish(&mut self, start: Date, day: i32, horizon: i32) -> Result<()> {
        let until = day + horizon;
        let before = self.engine.slot_count();
        self.engine.publish_rosters_until(start.plus_days(until))?;
        let after = self.engine.slot_count();
        // Ids are dense from 1 in this engine: the slot table is indexed by id − 1.
        self.slots.resize(after);
        for id in before..after {
            let info = self.engine.slot(SlotId(id as u32 + 1))?;
            let department = self
                .region
                .department_index(info.department)
                .ok_or_else(|| Error::invalid("slot of an unknown department"))?
                as u32;
            let day = info.date.0 - start.0;
            *self.slots.get_mut(id).expect("just added") = SlotRec {
                day,
                department,
                resource: info.resource.0,
                capacity: info.capacity,
                booked: 0,
                attended: 0,
            };
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        while let Some(ev) = self.events.try_recv() {
            match ev.kind {
                EventKind::WaitlistOffered { entry, booking } => {
                    let Some((req, referral, dept)) = self.waiting.remove(&entry) else { continue };
                    // Counted for the window's requests only, as every request metric is.
                    let measured = req.day >= 0;
                    self.counts.waitlist_offers += measured as u64;
                    if (req.u_offer as f64) < self.demand.offer_accept_probability {
                        self.counts.engine_calls += 1;
                        match self.engine.confirm(booking) {
                            Ok(b) => {
                                self.counts.waitlist_offers_accepted += measured as u64;
                                let preferred = dept
                                    == self
                                        .region
                                        .department_index(b.department)
                                        .unwrap_or(usize::MAX)
                                        as u32;
                                self.took(req, referral, b, !preferred, false);
                            }
                            Err(e) => self.anomaly("confirm offer", &e),
                        }
                    }
                }
                EventKind::PatientSuspended { .. } => self.suspensions += (ev.at >= self.t0) as u64,
                EventKind::Expired { slot, .. } => {
                    self.counts.holds_expired += (ev.at >= self.t0) as u64;
                    self.freed(slot);
                }
                EventKind::Cancelled { slot, by, late, .. } => {
                    self.counts.late_cancellations +=
                        (by == CancelledBy::Patient && late && ev.at >= self.t0) as u64;
                    self.freed(slot);
                }
                EventKind::LotteryWon { ticket, booking } => {
                    let Some((req, referral)) = self.tickets.remove(&ticket) else { continue };
                    self.counts.lottery_won += (req.day >= 0) as u64;
                    match self.engine.booking(booking) {
                        Ok(b) => self.took(req, referral, b, false, true),
                        Err(e) => self.anomaly("lottery booking", &e),
                    }
                }
                EventKind::LotteryLost { ticket, .. } => {
                    // Lost the draw: try again at once, first come first served.
                    if let Some((req, referral)) = self.tickets.remove(&ticket) {
                        let t = (ev.at.0 - self.t0.0) + 1;
                        self.push(t, Action::Request(req, referral, true));
                    }
                }
                other => debug_assert!(
                    !DRAINED.contains(&other.event_type()),
                    "a type the run subscribed to is read"
                ),
            }
        }
        if self.events.is_cut_off() {
            return Err(Error::CapacityExceeded(
                "the simulation fell behind its own event stream".into(),
            ));
        }
        Ok(())
    }

    /// A place of `slot` came back: its department is no longer known to be full.
    fn freed(&mut self, slot: SlotId) {
        if let Some(rec) = self.slots.get((slot.0 as usize).wrapping_sub(1)) {
            self.full_through[rec.department as usize] = None;
        }
    }

    /// The last date (day index) open to the public at the current instant.
    fn last_open_day(&self) -> i32 {
        let now = self.engine.now().0 - self.t0.0;
        let today = now.div_euclid(DAY_S) as i32;
        let w = &self.policy.engine.window;
        let released_today = now.rem_euclid(DAY_S) >= w.release_at_min as i64 * 60;
        today + w.open_days_ahead as i32 - (!released_today) as i32
    }

    fn pick_department(&self, req: &Req, referral: bool) -> Option<u32> {
        let s = req.specialty as usize;
        let by_tier = self.region.by_specialty_tier.get(s)?;
        let mut available =
            [!by_tier[0].is_empty(), !by_tier[1].is_empty(), !by_tier[2].is_empty()];
        let mut pref = self.demand.tier_preference;
        if referral {
            // A referral goes up a tier.
            available[0] = false;
            pref[0] = 0.0;
        }
        let tier = pick_tier(&pref, available, req.u_tier)?;
        let ti = tier as usize - 1;
        let district = self.residents[req.patient as usize].home as usize;
        let local = &self.region.by_specialty_tier_district[s][ti][district];
        // Clinics and district hospitals are chosen near home; tertiary hospitals city-wide.
        let list = if tier != Tier::Tertiary && !local.is_empty() { local } else { &by_tier[ti] };
        let i =
            ((req.u_inst as f64 * list.len() as f64) as usize).min(list.len().saturating_sub(1));
        list.get(i).copied()
    }

    fn context(&self, req: &Req) -> ChoiceContext {
        ChoiceContext {
            patient: PatientId(self.residents[req.patient as usize].patient),
            day: req.day,
            district: self.residents[req.patient as usize].home as u32,
            specialty: self
                .region
                .specialties
                .get(req.specialty as usize)
                .cloned()
                .unwrap_or_default(),
            class: CLASSES[class_of(req.kind)].to_string(),
            channel: self.channel_names[req.channel as usize].clone(),
            tolerance_days: req.tolerance_days,
            past_no_shows: self.past_no_shows(req.patient),
        }
    }

    fn request(&mut self, req: Req, referral: Option<ReferralId>, retry: bool) -> Result<()> {
        // The offers' vector is the loop's, reused request after request.
        let mut offers = std::mem::take(&mut self.offers);
        offers.clear();
        let done = self.request_with(req, referral, retry, &mut offers);
        self.offers = offers;
        done
    }

    fn request_with(
        &mut self,
        req: Req,
        mut referral: Option<ReferralId>,
        retry: bool,
        offers: &mut Vec<Offer>,
    ) -> Result<()> {
        let measured = req.day >= 0;
        let class = class_of(req.kind);
        let district = self.residents[req.patient as usize].home as usize;
        let patient = self.patient(req.patient)?;
        if measured && !retry {
            self.counts.requests += 1;
            self.districts[district].requests += 1;
            self.channel_access[req.channel as usize].requests += 1;
            if req.spike {
                self.release[class].0 += 1;
            }
            if let Kind::Referral(u) = req.kind {
                self.referrals[u as usize].0 += 1;
            }
        }
        let is_referral = matches!(req.kind, Kind::Referral(_));
        if let (Kind::Referral(urgency), None) = (req.kind, referral) {
            // The family doctor at a clinic of the patient's district refers upwards.
            let clinics = if self.region.community_by_district[district].is_empty() {
                &self.community_all
            } else {
                &self.region.community_by_district[district]
            };
            if let Some(&c) = clinics.get(
                ((req.u_clinic as f64 * clinics.len() as f64) as usize)
                    .min(clinics.len().saturating_sub(1)),
            ) {
                let r = ReferralRequest {
                    patient,
                    from: self.region.institutions[c as usize].id,
                    specialty: self.region.specialties[req.specialty as usize].clone(),
                    institution: None,
                    urgency,
                    valid_days: 30,
                };
                self.counts.engine_calls += 1;
                match self.engine.issue_referral(&r) {
                    Ok(r) => {
                        self.counts.referrals_issued += measured as u64;
                        referral = Some(r.id);
                    }
                    Err(e) => self.anomaly("issue referral", &e),
                }
            }
        }
        let Some(dept) = self.pick_department(&req, is_referral) else {
            self.counts.found_nothing += measured as u64;
            return Ok(());
        };
        let pol = &self.policy.engine;
        let ahead = if referral.is_some() {
            pol.referral.open_days_ahead.max(pol.window.open_days_ahead)
        } else {
            pol.window.open_days_ahead
        } as i32;
        let (from, to) = if req.spike && !retry {
            (
                req.day + pol.window.open_days_ahead as i32,
                req.day + pol.window.open_days_ahead as i32,
            )
        } else {
            (req.day, req.day + ahead)
        };
        if from > to {
            self.counts.found_nothing += measured as u64;
            return Ok(());
        }
        // Warm-up requests book warm-up dates as any later request books its own days: the
        // engine has published them (see `publish`).
        let start = self.region.start;
        let (date_from, date_to) = (start.plus_days(from), start.plus_days(to));
        let department = self.region.departments[dept as usize].id;
        let q = AvailabilityQuery {
            department: Some(department),
            date_from,
            date_to,
            with_referral: referral.is_some(),
            limit: if req.spike && !retry { 64 } else { 1 },
            ..AvailabilityQuery::default()
        };
        self.counts.engine_calls += 1;
        // Public requests skip the days the engine already said were full (see `query_hints`).
        let hinted = self.policy.query_hints
            && referral.is_none()
            && self.policy.engine.channel_quotas.is_empty();
        let skip_to = if hinted {
            self.full_through[dept as usize].map_or(from, |x| from.max(x + 1))
        } else {
            from
        };
        let free = if skip_to > to {
            Vec::new()
        } else {
            let q = AvailabilityQuery { date_from: start.plus_days(skip_to), ..q };
            self.engine.find_free_slots(&q)?
        };
        // Only scans that start today extend the hint: it means "every day from today (or
        // earlier) through X is full", which release-time scans of one day cannot tell.
        if hinted && (!req.spike || retry) {
            // Everything scanned before the first free day (or the whole open range) was full.
            let open_end = to.min(self.last_open_day());
            let full = match free.first() {
                Some(f) => Some(f.date.0 - start.0 - 1),
                None => Some(open_end),
            };
            if let Some(x) = full.filter(|x| *x >= from && skip_to <= *x + 1) {
                self.full_through[dept as usize] =
                    Some(self.full_through[dept as usize].map_or(x, |y| y.max(x)));
            }
        }
        if !free.is_empty() {
            // At release everyone sees the same fresh day; each picks a segment they like.
            let i = if req.spike && !retry {
                ((req.u_slot as f64 * free.len() as f64) as usize).min(free.len() - 1)
            } else {
                0
            };
            let f = &free[i];
            let d = &self.region.departments[dept as usize];
            offers.push(Offer {
                slot: f.slot,
                department,
                institution: f.institution,
                tier: d.tier,
                district: d.district,
                days_ahead: f.date.0 - start.0 - req.day,
                start_min: f.start_min,
                free: f.free,
                preferred: true,
            });
        }
        let too_far = offers.first().is_none_or(|o| o.days_ahead > req.tolerance_days as i32);
        if self.policy.unified_pool && self.policy.alternatives > 0 && too_far {
            self.counts.engine_calls += 1;
            // Only as far as the most patient patient would wait: the suggestions are for
            // those who find the preferred place too far away. Computed for every patient who
            // needs them, as a platform answers each request: a list kept for a while would
            // change the answers with the speed (the setting that did so is gone).
            let alt_to = (from + self.demand.tolerance_days_max as i32).min(to);
            self.counts.suggestion_lists += 1;
            let list = self.engine.alternatives(
                department,
                date_from,
                start.plus_days(alt_to),
                self.policy.alternatives,
            )?;
            for a in &list {
                if is_referral && a.tier == Tier::Community {
                    continue;
                }
                let Some(di) = self.region.department_index(a.department) else { continue };
                offers.push(Offer {
                    slot: a.earliest.slot,
                    department: a.department,
                    institution: a.institution,
                    tier: a.tier,
                    district: self.region.departments[di].district,
                    days_ahead: a.earliest.date.0 - start.0 - req.day,
                    start_min: a.earliest.start_min,
                    free: a.earliest.free,
                    preferred: false,
                });
            }
        }
        let choice = if offers.is_empty() {
            None
        } else if let Some(h) = self.hooks {
            let ctx = self.context(&req);
            match h.choose(&ctx, offers)? {
                Some(i) if i < offers.len() => Some(i),
                Some(i) => {
                    return Err(Error::invalid(format!(
                        "choose hook returned {i} for {} offers",
                        offers.len()
                    )))
                }
                None => None,
            }
        } else {
            // The preferred place if it is soon enough, else the earliest alternative if it is
            // earlier (the engine ranks alternatives by earliest place, then load).
            let key = |o: &Offer| (o.days_ahead, o.start_min);
            match (offers.first().filter(|o| o.preferred), offers.iter().position(|o| !o.preferred))
            {
                (Some(p), Some(a))
                    if p.days_ahead > req.tolerance_days as i32 && key(&offers[a]) < key(p) =>
                {
                    Some(a)
                }
                (Some(_), _) => Some(0),
                (None, Some(a)) => Some(a),
                (None, None) => None,
            }
        };
        let Some(ci) = choice else {
            return self.found_nothing(req, referral, dept, date_from, date_to, measured);
        };
        // The chosen place first; if it is gone by the time the patient books (a lottery's
        // draw or a hook's choice may come between), the next ones they would take, at most
        // three tries.
        // Then the next two by (preferred first, days ahead, start), the earlier offer first
        // among equals (what a stable sort of the rest would put first).
        let mut order = [ci, usize::MAX, usize::MAX];
        if self.hooks.is_none() {
            let rank = |i: usize| (!offers[i].preferred, offers[i].days_ahead, offers[i].start_min);
            for k in 1..3 {
                order[k] = (0..offers.len())
                    .filter(|i| !order[..k].contains(i))
                    .min_by_key(|&i| rank(i))
                    .unwrap_or(usize::MAX);
            }
        }
        for oi in order.into_iter().take_while(|&i| i != usize::MAX) {
            let offer = offers[oi].clone();
            if let Some(h) = self.hooks {
                let info = self.engine.slot(offer.slot)?;
                let booked: u32 = info.pool_taken.total();
                if booked >= info.capacity as u32
                    && !h.overbook(&self.context(&req), &offer, booked, info.capacity as u32)?
                {
                    self.counts.overbooking_declined += measured as u64;
                    continue;
                }
            }
            let mut r = Request::new(patient, offer.slot, self.channels[req.channel as usize]);
            r.referral = referral;
            r.follow_up = req.kind == Kind::FollowUp;
            let alternative = !offer.preferred;
            self.counts.engine_calls += 1;
            let outcome = if req.spike && !retry {
                match self.engine.submit(&r) {
                    Ok(Submission::Booked { booking }) => Ok(Some(booking)),
                    Ok(Submission::Entered { ticket, .. }) => {
                        self.counts.lottery_entries += measured as u64;
                        self.tickets.insert(ticket, (req, referral));
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            } else {
                let held = match self.engine.hold(&r) {
                    // Inside a release lottery (a date released this minute): enter it instead.
                    Err(Error::LotteryWindow { .. }) => match self.engine.submit(&r) {
                        Ok(Submission::Booked { booking }) => Ok(booking),
                        Ok(Submission::Entered { ticket, .. }) => {
                            self.counts.lottery_entries += measured as u64;
                            self.tickets.insert(ticket, (req, referral));
                            return Ok(());
                        }
                        Err(e) => Err(e),
                    },
                    other => other,
                };
                match held {
                    Ok(hold) if hold.state == haoyuan::BookingState::Booked => Ok(Some(hold)),
                    Ok(hold) if (req.u_abandon as f64) < self.demand.hold_abandon_probability => {
                        // Walks away from payment: the hold expires and the place returns.
                        let _ = hold;
                        self.counts.holds_abandoned += measured as u64;
                        Ok(None)
                    }
                    Ok(hold) => {
                        self.counts.engine_calls += 1;
                        self.engine.confirm(hold.id).map(Some)
                    }
                    Err(e) => Err(e),
                }
            };
            match outcome {
                Ok(Some(b)) => self.took(req, referral, b, alternative, req.spike && !retry),
                Ok(None) => {}
                Err(Error::LimitReached { .. }) => self.counts.refused_limit += measured as u64,
                Err(Error::PatientSuspended { .. }) => {
                    self.counts.refused_suspended += measured as u64
                }
                // The same patient entered this slot's lottery twice: one entry counts.
                Err(Error::InvalidArgument(m)) if m.contains("already entered the lottery") => {}
                // A place offered may be gone or closed by the time it is taken: the patient
                // tries the next place they would take.
                Err(Error::SlotFull { .. } | Error::BookingClosed { .. }) => continue,
                Err(e) => self.anomaly("book", &e),
            }
            return Ok(());
        }
        self.found_nothing(req, referral, dept, date_from, date_to, measured)
    }

    fn found_nothing(
        &mut self,
        req: Req,
        referral: Option<ReferralId>,
        dept: u32,
        date_from: Date,
        date_to: Date,
        measured: bool,
    ) -> Result<()> {
        self.counts.found_nothing += measured as u64;
        if !self.policy.engine.waitlist.enabled
            || (req.u_waitlist as f64) >= self.demand.waitlist_probability
        {
            return Ok(());
        }
        let w = WaitlistRequest {
            patient: PatientId(self.residents[req.patient as usize].patient),
            department: self.region.departments[dept as usize].id,
            resource: None,
            date_from,
            date_to,
            time: None,
            channel: self.channels[req.channel as usize],
            referral,
            follow_up: req.kind == Kind::FollowUp,
        };
        self.counts.engine_calls += 1;
        match self.engine.join_waitlist(&w) {
            Ok(entry) => {
                self.counts.waitlist_joined += measured as u64;
                self.waiting.insert(entry.id, (req, referral, dept));
            }
            // Suspended or already on three waitlists: the patient gives up.
            Err(Error::PatientSuspended { .. } | Error::LimitReached { .. }) => {}
            Err(e) => self.anomaly("join waitlist", &e),
        }
        Ok(())
    }

    /// A request got a confirmed booking: follow it to its visit.
    fn took(
        &mut self,
        req: Req,
        _referral: Option<ReferralId>,
        b: Booking,
        alternative: bool,
        at_release: bool,
    ) {
        let measured = req.day >= 0;
        if measured {
            self.counts.served += 1;
            self.counts.took_alternative += alternative as u64;
            self.districts[self.residents[req.patient as usize].home as usize].served += 1;
            self.channel_access[req.channel as usize].served += 1;
            if at_release {
                self.release[class_of(req.kind)].1 += 1;
            }
            if let Kind::Referral(u) = req.kind {
                self.referrals[u as usize].1 += 1;
            }
        }
        if measured {
            // From asking to being seen, at the moment the patient has a confirmed place.
            let wait = b.starts_at.0 - self.t0.0 - req.at_s;
            self.lead.add(wait);
            if let Some(d) = self.region.department_index(b.department) {
                self.lead_tier[self.region.departments[d].tier as usize - 1].add(wait);
            }
            if let Kind::Referral(u) = req.kind {
                self.referrals[u as usize].2.add(wait);
            }
        }
        let now = self.engine.now();
        let live = Live {
            id: b.id,
            req,
            slot: b.slot,
            starts_at: b.starts_at,
            created_at: b.created_at,
            state: LiveState::Booked,
        };
        let i = match self.free_live.pop() {
            Some(i) => {
                self.live[i as usize] = live;
                i
            }
            None => {
                self.live.push(live);
                self.live.len() as u32 - 1
            }
        };
        let visit = b.starts_at.0 - self.t0.0;
        self.push(visit, Action::Visit(i));
        if (req.u_cancel as f64) < self.demand.cancel_probability {
            let span = (b.starts_at.0 - now.0).max(0) as f64;
            let at = now.0 - self.t0.0 + (req.u_cancel_at as f64 * span) as i64;
            if at < visit {
                self.push(at, Action::Cancel(i));
            }
        }
    }

    fn cancel(&mut self, i: u32) -> Result<()> {
        let l = self.live[i as usize];
        if l.state != LiveState::Booked {
            return Ok(());
        }
        self.counts.engine_calls += 1;
        match self.engine.cancel(l.id) {
            Ok(_) => {
                self.counts.cancellations += (l.req.day >= 0) as u64;
                self.live[i as usize].state = LiveState::Cancelled;
            }
            Err(e) => self.anomaly("cancel", &e),
        }
        Ok(())
    }

    /// Fold the records of slots dated before `day` at the front of the table into the
    /// window's tallies and drop them (ids are published in date order after the first
    /// publication, so the front is the past).
    fn fold_past(&mut self, day: i32) {
        let departments = &self.region.departments;
        while let Some(s) = self.slots.pop_front_if(|s| s.day < day) {
            self.tally.add(&s, departments[s.department as usize].tier, |d| {
                departments[d as usize].institution
            });
        }
    }

    fn visit(&mut self, i: u32) -> Result<()> {
        let l = self.live[i as usize];
        self.free_live.push(i);
        if l.state != LiveState::Booked {
            return Ok(());
        }
        let lead_s = l.starts_at.0 - l.created_at.0;
        let past = self.past_no_shows(l.req.patient);
        let p = self.demand.no_show.probability(lead_s as f64 / DAY_S as f64, past);
        let rec = self.slots.get_mut(l.slot.0 as usize - 1).expect("a visit today: not folded yet");
        rec.booked += 1;
        self.counts.engine_calls += 1;
        if (l.req.u_no_show as f64) < p {
            if let Err(e) = self.engine.mark_no_show(l.id) {
                self.anomaly("mark no-show", &e);
            }
            let today = self.today();
            let h = &mut self.residents[l.req.patient as usize].no_show_days;
            h.rotate_left(1);
            h[NO_SHOW_HISTORY_MAX - 1] = today;
        } else {
            rec.attended += 1;
            self.counts.engine_calls += 1;
            if let Err(e) = self.engine.check_in(l.id).and_then(|_| self.engine.fulfil(l.id)) {
                self.anomaly("check in", &e);
            }
        }
        Ok(())
    }

    fn finish(
        mut self,
        days: u32,
        warmup_days: u32,
        seed: u64,
        mut warnings: Vec<String>,
        elapsed_s: f64,
    ) -> SimResult {
        self.fold_past(i32::MAX);
        let region = &self.region;
        let Tally { mut total, tiers, inst, dept, mut by_day, slots, sessions, .. } = self.tally;
        total.finish();
        let sessions = Sessions::of_sums(sessions.into_values());
        for d in &mut by_day {
            d.usage.finish();
        }
        let by_tier = tiers
            .into_iter()
            .enumerate()
            .map(|(i, mut u)| {
                u.finish();
                (tier_of(i), u)
            })
            .collect();
        let unit = |id: u32, tier: Tier, district: u32, specialty: String, mut u: Usage| {
            u.finish();
            UnitUsage {
                id,
                tier,
                district,
                specialty,
                places: u.places,
                booked: u.booked,
                attended: u.attended,
                utilisation: u.utilisation,
            }
        };
        let by_institution = region
            .institutions
            .iter()
            .zip(inst)
            .map(|(i, u)| unit(i.id.0, i.tier, i.district, String::new(), u))
            .collect();
        let by_department = region
            .departments
            .iter()
            .zip(dept)
            .map(|(d, u)| {
                unit(
                    d.id.0,
                    d.tier,
                    d.district,
                    region.specialties[d.specialty as usize].clone(),
                    u,
                )
            })
            .collect();
        let won: u64 = self.release.iter().map(|r| r.1).sum();
        let asked: u64 = self.release.iter().map(|r| r.0).sum();
        if asked == 0 {
            warnings.push(
                "no request came at a daily release in the measurement window: the release \
                 shares are not measured (NaN)"
                    .into(),
            );
        } else if won == 0 {
            warnings.push(
                "nobody won a place at a daily release in the measurement window: the shares \
                 of places won are not measured (NaN)"
                    .into(),
            );
        }
        let release = CLASSES
            .iter()
            .zip(self.release)
            .map(|(c, (requests, w))| ReleaseClass {
                class: c.to_string(),
                requests,
                won: w,
                share_won: ratio(w as f64, won as f64),
                share_requests: ratio(requests as f64, asked as f64),
            })
            .collect();
        let referral_lead = CLASSES[..3]
            .iter()
            .zip(self.referrals.iter())
            .map(|(c, (requests, served, lead))| ReferralLead {
                urgency: c.to_string(),
                requests: *requests,
                served: *served,
                lead: lead.finish(),
            })
            .collect();
        let no_show_rate = ratio(total.no_shows as f64, total.booked as f64);
        if self.counts.served == 0 {
            warnings.push("no measured request was served: waiting times are not measured".into());
        }
        let mut counts = self.counts;
        if !self.notes.is_empty() {
            // Anomalies are counted; their first messages help whoever reads the result.
            counts.anomalies = counts.anomalies.max(self.notes.len() as u64);
        }
        SimResult {
            days,
            warmup_days,
            seed,
            slots,
            total,
            sessions,
            by_day,
            by_tier,
            by_institution,
            by_department,
            days_to_appointment: self.lead.finish(),
            days_to_appointment_by_tier: self
                .lead_tier
                .iter()
                .enumerate()
                .map(|(i, l)| (tier_of(i), l.finish()))
                .collect(),
            no_show_rate,
            referral_lead,
            fairness_districts: Fairness::of(self.districts),
            fairness_channels: Fairness::of(
                self.channel_access.into_iter().filter(|c| c.requests > 0).collect(),
            ),
            release,
            suspensions_issued: self.suspensions,
            counts,
            notes: self.notes,
            warnings,
            elapsed_s,
        }
    }
}

/// The arrivals the synthetic demand makes in a run of `window`, warm-up included: what
/// [`crate::synthetic_arrivals`] exports. They are the very requests [`run`] would make, bar
/// the dice (a recording's are drawn again, see `recorded.rs`).
pub(crate) fn synthetic_arrivals(
    spec: &RegionSpec,
    demand: &DemandSpec,
    policy: &SimPolicy,
    window: Window,
    seed: u64,
) -> Result<Recorded> {
    spec.validate()?;
    demand.validate()?;
    policy.validate()?;
    let start = spec.start()?;
    let warm = window.warmup_for(spec, demand, policy) as i32;
    // Only the region's structure matters here (its specialties and who offers them): an
    // engine that never publishes a slot. `seed` as in `run`, which builds the same region.
    let config = EngineConfig { policy: policy.engine.clone(), ..EngineConfig::default() };
    let t0 = Timestamp::from_local(start, 0, config.utc_offset_s);
    let engine = Engine::with_manual_clock(config, t0)?;
    let region = build_region(&engine, spec, seed)?;
    let channel_names = channel_names(demand)?;
    let sampler = sampler(demand, &region, &channel_names);
    let release_s = policy.engine.window.release_at_min as i64 * 60;
    let mut arrivals = Vec::new();
    for day in -warm..window.days as i32 {
        let weekday = start.plus_days(day).weekday();
        let reqs = sampler.day(demand, seed, day, weekday, release_s, CLINIC);
        if arrivals.len() + reqs.len() > super::ARRIVALS_MAX {
            return Err(Error::invalid(format!(
                "the synthetic demand makes more than {} arrivals in this window",
                super::ARRIVALS_MAX
            )));
        }
        arrivals.extend(reqs.into_iter().map(|r| Arrival {
            day,
            at_s: (r.at_s - day as i64 * DAY_S) as u32,
            patient: r.patient,
            specialty: region.specialties[r.specialty as usize].clone(),
            kind: kind_name(r.kind).to_string(),
            channel: channel_names[r.channel as usize].clone(),
            at_release: r.spike,
        }));
    }
    Ok(Recorded { arrivals })
}

/// The simulator's slot records by id (index = id − 1), from the oldest not yet folded: a
/// city-year's 15 M records would be 0.3 GB; a horizon's are a few MB.
#[derive(Default)]
struct SlotTable {
    /// The index of `recs[0]`.
    first: usize,
    recs: std::collections::VecDeque<SlotRec>,
}

impl SlotTable {
    fn get(&self, index: usize) -> Option<&SlotRec> {
        self.recs.get(index.checked_sub(self.first)?)
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut SlotRec> {
        self.recs.get_mut(index.checked_sub(self.first)?)
    }

    /// Room for ids up to `len` (new records default).
    fn resize(&mut self, len: usize) {
        self.recs.resize(len - self.first, SlotRec::default());
    }

    fn pop_front_if(&mut self, done: impl Fn(&SlotRec) -> bool) -> Option<SlotRec> {
        if !done(self.recs.front()?) {
            return None;
        }
        self.first += 1;
        self.recs.pop_front()
    }
}

/// What the measurement window's slots add up to: every sum is of integers, so folding slots in
/// any order gives the same figures as summing them at the end.
struct Tally {
    days: u32,
    total: Usage,
    tiers: [Usage; 3],
    inst: Vec<Usage>,
    dept: Vec<Usage>,
    by_day: Vec<DayUsage>,
    slots: u64,
    /// (resource, day) → places, booked, attended: the sessions.
    sessions: HashMap<(u32, i32), (u64, u64, u64)>,
}

impl Tally {
    fn new(institutions: usize, departments: usize, days: u32) -> Tally {
        Tally {
            days,
            total: Usage::default(),
            tiers: Default::default(),
            inst: vec![Usage::default(); institutions],
            dept: vec![Usage::default(); departments],
            by_day: (0..days).map(|day| DayUsage { day, usage: Usage::default() }).collect(),
            slots: 0,
            sessions: HashMap::default(),
        }
    }

    /// Count one slot, if its date is in the measurement window.
    fn add(&mut self, s: &SlotRec, tier: Tier, institution_of: impl Fn(u32) -> u32) {
        if !(0..self.days as i32).contains(&s.day) {
            return;
        }
        let (c, b, a) = (s.capacity, s.booked, s.attended);
        self.slots += 1;
        self.by_day[s.day as usize].usage.add_slot(c, b, a);
        self.total.add_slot(c, b, a);
        self.tiers[tier as usize - 1].add_slot(c, b, a);
        self.inst[institution_of(s.department) as usize].add_slot(c, b, a);
        self.dept[s.department as usize].add_slot(c, b, a);
        let e = self.sessions.entry((s.resource, s.day)).or_default();
        e.0 += c as u64;
        e.1 += b as u64;
        e.2 += a as u64;
    }
}
