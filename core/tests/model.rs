//! Model-based property test: random operation sequences run against the engine and against a
//! deliberately simple, sequential reference model of DOMAIN.md's rules (capacity, pools,
//! channel quotas and referral roll-over, limits, hold expiry, the public booking window, the
//! lifecycle, late cancellation and the no-show suspension ladder). After every step the
//! outcome (success or error code) and the whole state must agree.
//!
//! Booking groups (several places all or nothing, counted once for the limits; cancelled and
//! moved as one) are in the mix, with repeated slots (refused), groups across both
//! departments, and moves onto places the booking already holds.
//!
//! The generator covers what once broke invariant 1 unseen: a referral share *and* a channel
//! quota on sessions of one-place slots at a tertiary hospital, published in one call or one
//! slot at a time, booked from a quota channel and an ordinary one. Pool sizes are read from
//! the engine but checked independently: each slot's pools sum to its capacity plus the
//! overbooking allowance, and each session reserves its shares.

mod common;
use common::*;
use haoyuan::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Hold {
        patient: usize,
        slot: usize,
        kiosk: bool,
    },
    Book {
        patient: usize,
        slot: usize,
        kiosk: bool,
    },
    Confirm(usize),
    Cancel(usize),
    CheckIn(usize),
    Fulfil(usize),
    NoShow(usize),
    Advance(i64),
    /// Where a public request finds a free place: department 0 or 1, over every date, the
    /// earliest only or all. Queries read through the scan hints that queries move and
    /// releases reset (`DayCounts::hint`), so they run between the operations that change them.
    Query {
        department: usize,
        earliest_only: bool,
        /// Asked for the department's doctor rather than the department (a resource-day's
        /// slots are read through its department-day's list).
        by_resource: bool,
    },
    /// A policy change on the running engine (`set_policy`): new limits and roll-over rule,
    /// applied from the next decision on; published pools stay as dealt.
    SetPolicy {
        limits: LimitPolicy,
        rollover: bool,
    },
    /// A booking group: several places all or nothing, counted once for the limits (a slot
    /// drawn twice makes an invalid request).
    BookGroup {
        patient: usize,
        slots: Vec<usize>,
        kiosk: bool,
    },
    /// Move a booking or its whole group to other places (shared slots keep their places).
    Reschedule {
        booking: usize,
        slots: Vec<usize>,
        kiosk: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, 0..SLOTS, any::<bool>()).prop_map(|(patient, slot, kiosk)| Op::Hold { patient, slot, kiosk }),
        6 => (0..4usize, 0..SLOTS, any::<bool>()).prop_map(|(patient, slot, kiosk)| Op::Book { patient, slot, kiosk }),
        2 => (0..64usize).prop_map(Op::Confirm),
        2 => (0..64usize).prop_map(Op::Cancel),
        1 => (0..64usize).prop_map(Op::CheckIn),
        1 => (0..64usize).prop_map(Op::Fulfil),
        1 => (0..64usize).prop_map(Op::NoShow),
        2 => (1..10 * 3600i64).prop_map(Op::Advance),
        3 => (0..2usize, any::<bool>(), any::<bool>()).prop_map(|(department, earliest_only, by_resource)| Op::Query { department, earliest_only, by_resource }),
        1 => prop_oneof![Just(599i64), Just(600), Just(601)].prop_map(Op::Advance),
        3 => (0..4usize, proptest::collection::vec(0..SLOTS, 1..5), any::<bool>())
            .prop_map(|(patient, slots, kiosk)| Op::BookGroup { patient, slots, kiosk }),
        2 => (0..64usize, proptest::collection::vec(0..SLOTS, 1..4), any::<bool>())
            .prop_map(|(booking, slots, kiosk)| Op::Reschedule { booking, slots, kiosk }),
        1 => ((1u32..3, 1u32..3, 1u32..4, 1u32..5), any::<bool>(), any::<bool>()).prop_map(
            |((per_department_day, per_visit_date, per_seven_days, total_active), rollover, every)| {
                let group_dates = if every { GroupDates::Every } else { GroupDates::First };
                Op::SetPolicy {
                    limits: LimitPolicy { per_department_day, per_visit_date, per_seven_days, total_active, group_dates },
                    rollover,
                }
            }
        ),
    ]
}

// ---------------------------------------------------------------- the reference model

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum St {
    Held,
    Booked,
    CheckedIn,
    Fulfilled,
    Expired,
    Cancelled,
    NoShow,
}

/// Two departments (a community clinic's and a tertiary hospital's) × six dates × a session of
/// `SEGMENTS` segments.
const SEGMENTS: usize = 4;
const DATES: [i32; 6] = [1, 2, 3, 9, 10, 11];
const SLOTS: usize = 2 * DATES.len() * SEGMENTS;

struct MSlot {
    capacity: usize,
    /// Pool sizes (general, referral, quota 0, quota 1) as the engine published them; checked
    /// against the policy in `check_pools`.
    sizes: [u16; 4],
    taken: [u16; 4],
    department: usize,
    date: Date,
    starts_at: Timestamp,
}

struct MBooking {
    patient: usize,
    slot: usize,
    pool: Pool,
    state: St,
    expires_at: Timestamp,
    /// Its booking group (an index into `Model::groups`), if any.
    group: Option<usize>,
}

/// The allocation rules the model applies (a subset of `Policy`, drawn by the generator).
#[derive(Clone, Debug)]
struct Rules {
    limits: LimitPolicy,
    /// Share kept for kiosk + phone, if any, and its cut-off before the segment starts.
    quota: Option<(f32, u32)>,
    rollover: bool,
    overbooking: f32,
    /// The ratio of an overbooking target naming the tertiary tier (`OverbookingPolicy::
    /// targets`), which the tertiary hospital's sessions then get instead of `overbooking`.
    tertiary_target: Option<f32>,
    /// Per slot or per session (the session spread gives one-place slots an allowance too).
    spread: OverbookingSpread,
    one_by_one: bool,
}

impl Rules {
    /// The overbooking ratio of a slot of the tertiary hospital or of the community clinic.
    fn ratio(&self, tertiary: bool) -> f32 {
        match self.tertiary_target {
            Some(r) if tertiary => r,
            _ => self.overbooking,
        }
    }
}

#[derive(Default, Clone)]
struct MPatient {
    no_shows: u32,
    suspended_until: Option<Timestamp>,
}

struct Model {
    rules: Rules,
    limits: LimitPolicy,
    now: Timestamp,
    slots: Vec<MSlot>,
    bookings: Vec<MBooking>,
    patients: Vec<MPatient>,
    /// Booking groups: the indices of their bookings, in order.
    groups: Vec<Vec<usize>>,
}

fn active(s: St) -> bool {
    matches!(s, St::Held | St::Booked | St::CheckedIn)
}

/// A place stays used once the visit happened or was missed; only cancel and expiry free it.
fn uses_place(s: St) -> bool {
    active(s) || matches!(s, St::Fulfilled | St::NoShow)
}

impl Model {
    /// Whether booking `j` counts for the limits: a single booking itself, a group once, through
    /// its first active booking; nothing of `excluded` (the booking or group being moved).
    fn counts(&self, j: usize, excluded: &[usize]) -> bool {
        let b = &self.bookings[j];
        active(b.state)
            && !excluded.contains(&j)
            && b.group.is_none_or(|g| {
                self.groups[g].iter().find(|&&m| active(self.bookings[m].state)) == Some(&j)
            })
    }

    /// The window, suspension and limit checks of a request for `slot` (a group's lead), in the
    /// engine's order, not counting `excluded`.
    fn check_limits(
        &self,
        patient: usize,
        slot: usize,
        excluded: &[usize],
    ) -> Result<(), ErrorCode> {
        let s = &self.slots[slot];
        let mine: Vec<&MBooking> = (0..self.bookings.len())
            .filter(|&j| self.bookings[j].patient == patient && self.counts(j, excluded))
            .map(|j| &self.bookings[j])
            .collect();
        let date_of = |b: &MBooking| self.slots[b.slot].date;
        let (same_date, same_dept_day) = self.day_counts(patient, slot, excluded);
        let within_week = (0..7).any(|k| {
            let first = s.date.0 - 6 + k;
            mine.iter().filter(|b| (first..first + 7).contains(&date_of(b).0)).count() as u32
                >= self.limits.per_seven_days
        });
        let l = &self.limits;
        if mine.len() as u32 >= l.total_active
            || same_date as u32 >= l.per_visit_date
            || same_dept_day as u32 >= l.per_department_day
            || within_week
        {
            return Err(ErrorCode::LimitReached);
        }
        Ok(())
    }

    /// Units counting on `slot`'s date (and on its department-date) for the per-date limits:
    /// a group on its first active place's date, or under `GroupDates::Every` once on every
    /// date (department-date) it has an active place on.
    fn day_counts(&self, patient: usize, slot: usize, excluded: &[usize]) -> (usize, usize) {
        let s = &self.slots[slot];
        let here = |b: &MBooking, dept: bool| {
            active(b.state)
                && self.slots[b.slot].date == s.date
                && (!dept || self.slots[b.slot].department == s.department)
        };
        let count = |dept: bool| {
            let mine = |j: usize| self.bookings[j].patient == patient && !excluded.contains(&j);
            if self.limits.group_dates == GroupDates::First {
                return (0..self.bookings.len())
                    .filter(|&j| {
                        mine(j) && self.counts(j, excluded) && here(&self.bookings[j], dept)
                    })
                    .count();
            }
            let singles = (0..self.bookings.len())
                .filter(|&j| mine(j) && self.bookings[j].group.is_none())
                .filter(|&j| here(&self.bookings[j], dept))
                .count();
            let groups = self
                .groups
                .iter()
                .filter(|g| mine(g[0]) && g.iter().any(|&m| here(&self.bookings[m], dept)))
                .count();
            singles + groups
        };
        (count(false), count(true))
    }

    /// The per-date limits alone, for a further place of a group under `GroupDates::Every`.
    fn check_day_limits(
        &self,
        patient: usize,
        slot: usize,
        excluded: &[usize],
    ) -> Result<(), ErrorCode> {
        let (same_date, same_dept_day) = self.day_counts(patient, slot, excluded);
        if same_date as u32 >= self.limits.per_visit_date
            || same_dept_day as u32 >= self.limits.per_department_day
        {
            return Err(ErrorCode::LimitReached);
        }
        Ok(())
    }

    /// The pool a public request takes in `slot` now, if one has room: its channel's quota, the
    /// general pool, the referral pool once the public window rolled it over, every quota past
    /// its cut-off.
    fn free_pool(&self, slot: usize, kiosk: bool) -> Option<Pool> {
        let s = &self.slots[slot];
        let mut order = Vec::new();
        if kiosk && self.rules.quota.is_some() {
            order.push(Pool::Quota0);
        }
        order.push(Pool::General);
        if self.rules.rollover {
            order.push(Pool::Referral);
        }
        if let Some((_, cutoff_h)) = self.rules.quota {
            if self.now >= s.starts_at.plus_s(-(cutoff_h as i64) * 3600) {
                order.push(Pool::Quota0);
            }
        }
        order.into_iter().find(|p| s.taken[*p as usize] < s.sizes[*p as usize])
    }

    /// Places a public app request could take in `slot` now, as `find_free_slots` counts them:
    /// 0 before the public window or once booking has closed.
    fn free_places(&self, slot: usize) -> u16 {
        let s = &self.slots[slot];
        if self.not_open(slot) || self.now >= s.starts_at {
            return 0;
        }
        let mut pools = vec![Pool::General];
        if self.rules.rollover {
            pools.push(Pool::Referral);
        }
        if let Some((_, cutoff_h)) = self.rules.quota {
            if self.now >= s.starts_at.plus_s(-(cutoff_h as i64) * 3600) {
                pools.push(Pool::Quota0);
            }
        }
        pools.iter().map(|&p| s.sizes[p as usize].saturating_sub(s.taken[p as usize])).sum()
    }

    fn not_open(&self, slot: usize) -> bool {
        self.now < at(self.slots[slot].date.plus_days(-7), 15, 0)
    }

    fn place(
        &mut self,
        patient: usize,
        slot: usize,
        held: bool,
        kiosk: bool,
    ) -> Result<usize, ErrorCode> {
        let s = &self.slots[slot];
        if self.now >= s.starts_at {
            return Err(ErrorCode::BookingClosed);
        }
        if self.patients[patient].suspended_until.is_some_and(|u| u > self.now) {
            return Err(ErrorCode::PatientSuspended);
        }
        if self.not_open(slot) {
            return Err(ErrorCode::NotOpenYet);
        }
        self.check_limits(patient, slot, &[])?;
        let pool = self.free_pool(slot, kiosk).ok_or(ErrorCode::SlotFull)?;
        self.slots[slot].taken[pool as usize] += 1;
        self.bookings.push(MBooking {
            patient,
            slot,
            pool,
            state: if held { St::Held } else { St::Booked },
            expires_at: self.now.plus_s(600),
            group: None,
        });
        Ok(self.bookings.len() - 1)
    }

    /// A booking group, or the move of booking `moving` (and its group) onto `slots`: every
    /// place or none, in the engine's order of checks. Returns the new bookings' indices.
    fn place_group(
        &mut self,
        patient: usize,
        slots: &[usize],
        kiosk: bool,
        moving: Option<usize>,
    ) -> Result<Vec<usize>, ErrorCode> {
        let mut distinct = slots.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if slots.is_empty() || distinct.len() != slots.len() {
            return Err(ErrorCode::InvalidArgument);
        }
        if slots.iter().any(|&k| self.now >= self.slots[k].starts_at) {
            return Err(ErrorCode::BookingClosed);
        }
        let patient = moving.map_or(patient, |i| self.bookings[i].patient);
        if self.patients[patient].suspended_until.is_some_and(|u| u > self.now) {
            return Err(ErrorCode::PatientSuspended);
        }
        // What moves: the unit's held or booked bookings; a checked-in one refuses the move.
        let (unit, moved): (Vec<usize>, Vec<usize>) = match moving {
            None => (vec![], vec![]),
            Some(i) => {
                let unit = self.bookings[i].group.map_or(vec![i], |g| self.groups[g].clone());
                let mut moved = Vec::new();
                for &m in &unit {
                    match self.bookings[m].state {
                        St::Held | St::Booked => moved.push(m),
                        St::CheckedIn => return Err(ErrorCode::WrongState),
                        _ => {}
                    }
                }
                if moved.is_empty() {
                    return Err(ErrorCode::WrongState);
                }
                (unit, moved)
            }
        };
        if slots.iter().any(|&k| self.not_open(k)) {
            return Err(ErrorCode::NotOpenYet);
        }
        self.check_limits(patient, slots[0], &unit)?;
        if self.limits.group_dates == GroupDates::Every {
            let key = |k: usize| (self.slots[k].date, self.slots[k].department);
            for (i, &k) in slots.iter().enumerate().skip(1) {
                if !slots[..i].iter().any(|&q| key(q) == key(k)) {
                    self.check_day_limits(patient, k, &unit)?;
                }
            }
        }
        let kept = |k: usize| moved.iter().copied().find(|&m| self.bookings[m].slot == k);
        let mut pools = Vec::new();
        for &k in slots {
            let pool = match kept(k) {
                Some(m) => self.bookings[m].pool,
                None => match self.free_pool(k, kiosk) {
                    Some(pool) => {
                        self.slots[k].taken[pool as usize] += 1;
                        pool
                    }
                    None => {
                        for (&k, pool) in slots.iter().zip(&pools) {
                            if kept(k).is_none() {
                                self.slots[k].taken[*pool as usize] -= 1;
                            }
                        }
                        return Err(ErrorCode::SlotFull);
                    }
                },
            };
            pools.push(pool);
        }
        for &m in &moved {
            self.bookings[m].state = St::Cancelled;
            if !slots.contains(&self.bookings[m].slot) {
                self.release(m);
            }
        }
        let group = self.groups.len();
        let first = self.bookings.len();
        for (&k, pool) in slots.iter().zip(pools) {
            self.bookings.push(MBooking {
                patient,
                slot: k,
                pool,
                state: St::Booked,
                expires_at: self.now,
                group: Some(group),
            });
        }
        self.groups.push((first..self.bookings.len()).collect());
        Ok((first..self.bookings.len()).collect())
    }

    /// Cancel booking `i`: a single one, or what is left of its group, as one.
    fn cancel(&mut self, i: usize) -> Result<(), ErrorCode> {
        let Some(g) = self.bookings[i].group else {
            let b = &self.bookings[i];
            let late = b.state == St::Booked
                && self.now >= at(self.slots[b.slot].date.plus_days(-1), 15, 0);
            let patient = b.patient;
            self.transition(i, &[St::Held, St::Booked], St::Cancelled)?;
            if late {
                self.add_no_show(patient);
            }
            return Ok(());
        };
        let ending: Vec<usize> = self.groups[g]
            .iter()
            .copied()
            .filter(|&m| matches!(self.bookings[m].state, St::Held | St::Booked))
            .collect();
        let Some(&first) = ending.first() else { return Err(ErrorCode::WrongState) };
        let b = &self.bookings[first];
        // Late once for the group, judged on its first place still to come.
        let late =
            b.state == St::Booked && self.now >= at(self.slots[b.slot].date.plus_days(-1), 15, 0);
        let patient = b.patient;
        for m in ending {
            self.bookings[m].state = St::Cancelled;
            self.release(m);
        }
        if late {
            self.add_no_show(patient);
        }
        Ok(())
    }

    /// A booking ends and its place goes back to its pool.
    fn release(&mut self, i: usize) {
        let b = &self.bookings[i];
        self.slots[b.slot].taken[b.pool as usize] -= 1;
    }

    fn add_no_show(&mut self, patient: usize) {
        let p = &mut self.patients[patient];
        p.no_shows += 1;
        let days = [30, 60, 90]
            .get(p.no_shows as usize - 1)
            .copied()
            .unwrap_or(90 + 30 * (p.no_shows as i64 - 3))
            .min(365);
        let until = self.now.plus_s(days * DAY_S);
        p.suspended_until = Some(p.suspended_until.map_or(until, |u| u.max(until)));
    }

    fn transition(&mut self, i: usize, from: &[St], to: St) -> Result<(), ErrorCode> {
        let b = self.bookings.get_mut(i).ok_or(ErrorCode::NotFound)?;
        if !from.contains(&b.state) {
            return Err(ErrorCode::WrongState);
        }
        b.state = to;
        if !uses_place(to) {
            self.release(i);
        }
        Ok(())
    }

    fn advance(&mut self, secs: i64) {
        self.now = self.now.plus_s(secs);
        for i in 0..self.bookings.len() {
            if self.bookings[i].state == St::Held && self.bookings[i].expires_at <= self.now {
                self.bookings[i].state = St::Expired;
                self.release(i);
            }
        }
    }
}

fn st(s: BookingState) -> St {
    match s {
        BookingState::Held => St::Held,
        BookingState::Booked => St::Booked,
        BookingState::CheckedIn => St::CheckedIn,
        BookingState::Fulfilled => St::Fulfilled,
        BookingState::Expired => St::Expired,
        BookingState::Cancelled => St::Cancelled,
        BookingState::NoShow => St::NoShow,
        BookingState::ProviderCancelled => unreachable!("no suspensions in this model"),
    }
}

// ---------------------------------------------------------------- the property

/// Invariant 1 at publication, checked against the policy rather than the engine's own rule:
/// every slot's pools sum to its capacity plus its allowance — ⌊capacity × overbooking⌋ per
/// slot, or with the session spread at most its capacity and ⌊overbooking × places⌋ over the
/// session — and each session (resource-day) reserves round(share × its places) in all, each
/// pool within one place of its own share.
fn check_pools(model: &Model, tertiary: &[bool]) -> Result<(), TestCaseError> {
    for (k, s) in model.slots.iter().enumerate() {
        let sum = s.sizes.iter().map(|&x| x as usize).sum::<usize>();
        match model.rules.spread {
            OverbookingSpread::Slot => {
                let over = (s.capacity as f32 * model.rules.ratio(tertiary[k])).floor() as usize;
                prop_assert_eq!(sum, s.capacity + over, "pools of slot {}", k);
            }
            OverbookingSpread::Session => {
                prop_assert!(
                    (s.capacity..=2 * s.capacity).contains(&sum),
                    "pools of slot {} sum to {}",
                    k,
                    sum
                );
            }
        }
    }
    for session in model.slots.chunks(SEGMENTS).zip(tertiary.chunks(SEGMENTS)) {
        let (slots, tertiary) = session;
        let places: usize = slots.iter().map(|s| s.capacity).sum();
        if model.rules.spread == OverbookingSpread::Session {
            let ppm = (model.rules.ratio(tertiary[0]) as f64 * 1e6).round() as usize;
            let over: usize = slots
                .iter()
                .map(|s| s.sizes.iter().map(|&x| x as usize).sum::<usize>() - s.capacity)
                .sum();
            prop_assert_eq!(over, ppm * places / 1_000_000, "the session's allowance");
        }
        // Shares in parts per million, rounded half up in integers: 30% + 35% of 10 is 7.
        let referral_ppm: usize = if tertiary[0] { 300_000 } else { 0 };
        let quota_ppm: usize = model.rules.quota.map_or(0, |q| (q.0 as f64 * 1e6).round() as usize);
        let (referral_share, quota_share) = (referral_ppm as f64 / 1e6, quota_ppm as f64 / 1e6);
        let total = |p: Pool| slots.iter().map(|s| s.sizes[p as usize] as usize).sum::<usize>();
        let reserved = total(Pool::Referral) + total(Pool::Quota0);
        prop_assert_eq!(
            reserved,
            ((referral_ppm + quota_ppm) * places + 500_000) / 1_000_000,
            "session reserves its shares"
        );
        prop_assert!((total(Pool::Referral) as f64 - referral_share * places as f64).abs() <= 1.0);
        prop_assert!((total(Pool::Quota0) as f64 - quota_share * places as f64).abs() <= 1.0);
    }
    Ok(())
}

fn run(ops: Vec<Op>, capacities: Vec<u16>, rules: Rules) -> Result<(), TestCaseError> {
    let mut policy = Policy::default();
    policy.limits = rules.limits.clone();
    policy.referral.rollover_at_public_open = rules.rollover;
    policy.overbooking.ratio = rules.overbooking;
    policy.overbooking.spread = rules.spread;
    if let Some(ratio) = rules.tertiary_target {
        policy.overbooking.targets = vec![OverbookingTarget {
            tier: Some(Tier::Tertiary),
            specialty: None,
            institution: None,
            ratio,
        }];
    }
    if let Some((share, cutoff_hours_before_start)) = rules.quota {
        policy.channel_quotas = vec![ChannelQuota {
            channels: vec!["kiosk".into(), "phone".into()],
            share,
            cutoff_hours_before_start,
        }];
    }
    let c = city_with(policy, at(day0(), 16, 0));
    let e = &c.engine;
    let mut model = Model {
        limits: rules.limits.clone(),
        rules: rules.clone(),
        now: e.now(),
        slots: Vec::new(),
        bookings: Vec::new(),
        patients: vec![MPatient::default(); 4],
        groups: Vec::new(),
    };
    let mut slot_ids = Vec::new();
    let mut tertiary = Vec::new();
    let mut departments = Vec::new();
    let doctors = [c.doctor[0], c.doctor[2]];
    // A community clinic's department (no referral pool) and a tertiary hospital's (30%).
    for (dept, doctor, is_tertiary) in [(0usize, c.doctor[0], false), (1, c.doctor[2], true)] {
        // Two weeks, so that both the 7-day and the total limit are reachable; the later dates
        // open to the public during the run.
        for day in DATES {
            let date = day0().plus_days(day);
            let specs: Vec<SlotSpec> = (0..SEGMENTS)
                .map(|seg| SlotSpec {
                    resource: doctor,
                    date,
                    start_min: 8 * 60 + seg as u16 * 15,
                    end_min: 8 * 60 + seg as u16 * 15 + 15,
                    capacity: capacities[slot_ids.len() + seg],
                })
                .collect();
            // One call for the session, or one call per slot in reverse order: the same totals.
            let ids: Vec<SlotId> = if rules.one_by_one {
                let mut ids: Vec<SlotId> = specs
                    .iter()
                    .rev()
                    .map(|s| e.publish_slots(std::slice::from_ref(s)).unwrap().start)
                    .collect();
                ids.reverse();
                ids
            } else {
                let r = e.publish_slots(&specs).unwrap();
                (r.start.0..r.end.0).map(SlotId).collect()
            };
            for (spec, id) in specs.iter().zip(ids) {
                let info = e.slot(id).unwrap();
                if departments.len() == dept {
                    departments.push(info.department);
                }
                slot_ids.push(id);
                tertiary.push(is_tertiary);
                model.slots.push(MSlot {
                    capacity: spec.capacity as usize,
                    sizes: info.pool_places.to_array(),
                    taken: [0; 4],
                    department: dept,
                    date,
                    starts_at: at(date, 8, spec.start_min - 8 * 60),
                });
            }
        }
    }
    check_pools(&model, &tertiary)?;
    let patients: Vec<PatientId> = (0..4).map(|_| c.patient()).collect();
    let mut ids: Vec<BookingId> = Vec::new();
    for op in ops {
        let code = |r: Result<Booking>| r.map(|_| ()).map_err(|e| e.code());
        let (got, want) = match op {
            Op::Hold { patient, slot, kiosk } | Op::Book { patient, slot, kiosk } => {
                let held = matches!(op, Op::Hold { .. });
                let req = Request::new(
                    patients[patient],
                    slot_ids[slot],
                    if kiosk { c.kiosk } else { c.app },
                );
                let got = if held { e.hold(&req) } else { e.book(&req) };
                let want = model.place(patient, slot, held, kiosk);
                if let Ok(b) = &got {
                    ids.push(b.id);
                }
                (got.map(|_| ()).map_err(|e| e.code()), want.map(|_| ()))
            }
            Op::Confirm(i) | Op::Cancel(i) | Op::CheckIn(i) | Op::Fulfil(i) | Op::NoShow(i) => {
                if ids.is_empty() {
                    continue;
                }
                let i = i % ids.len();
                let id = ids[i];
                match op {
                    // An expired hold answers HoldExpired to whoever asks about it.
                    Op::Confirm(_) | Op::Cancel(_) if model.bookings[i].state == St::Expired => {
                        let got =
                            if matches!(op, Op::Confirm(_)) { e.confirm(id) } else { e.cancel(id) };
                        (code(got), Err(ErrorCode::HoldExpired))
                    }
                    Op::Confirm(_) => {
                        (code(e.confirm(id)), model.transition(i, &[St::Held], St::Booked))
                    }
                    Op::Cancel(_) => (code(e.cancel(id)), model.cancel(i)),
                    Op::CheckIn(_) => {
                        let b = &model.bookings[i];
                        // Check-in opens at local midnight of the visit day.
                        let visit_day = model.slots[b.slot].starts_at.to_local(OFFSET).0;
                        let want =
                            if b.state == St::Booked && model.now.to_local(OFFSET).0 < visit_day {
                                Err(ErrorCode::InvalidArgument)
                            } else {
                                model.transition(i, &[St::Booked], St::CheckedIn)
                            };
                        (code(e.check_in(id)), want)
                    }
                    Op::Fulfil(_) => {
                        (code(e.fulfil(id)), model.transition(i, &[St::CheckedIn], St::Fulfilled))
                    }
                    _ => {
                        let b = &model.bookings[i];
                        let want = if b.state != St::Booked {
                            Err(ErrorCode::WrongState)
                        } else if model.now < model.slots[b.slot].starts_at {
                            Err(ErrorCode::InvalidArgument)
                        } else {
                            let patient = b.patient;
                            model.bookings[i].state = St::NoShow;
                            model.add_no_show(patient);
                            Ok(())
                        };
                        (code(e.mark_no_show(id)), want)
                    }
                }
            }
            Op::BookGroup { patient, ref slots, kiosk } => {
                let req = GroupRequest {
                    patient: patients[patient],
                    channel: if kiosk { c.kiosk } else { c.app },
                    slots: slots.iter().map(|&k| slot_ids[k]).collect(),
                    referral: None,
                };
                let got = e.book_group(&req);
                let want = model.place_group(patient, slots, kiosk, None);
                if let Ok(g) = &got {
                    ids.extend(g.bookings.iter().map(|b| b.id));
                }
                (got.map(|_| ()).map_err(|e| e.code()), want.map(|_| ()))
            }
            Op::Reschedule { booking, ref slots, kiosk } => {
                if ids.is_empty() {
                    continue;
                }
                let i = booking % ids.len();
                let req = RescheduleRequest {
                    booking: ids[i],
                    slots: slots.iter().map(|&k| slot_ids[k]).collect(),
                    channel: if kiosk { c.kiosk } else { c.app },
                };
                let got = e.reschedule(&req);
                let want = model.place_group(0, slots, kiosk, Some(i));
                if let Ok(g) = &got {
                    ids.extend(g.bookings.iter().map(|b| b.id));
                }
                (got.map(|_| ()).map_err(|e| e.code()), want.map(|_| ()))
            }
            Op::Query { department, earliest_only, by_resource } => {
                let q = AvailabilityQuery {
                    limit: if earliest_only { 1 } else { SLOTS as u32 },
                    resource: by_resource.then_some(doctors[department]),
                    ..AvailabilityQuery::department(
                        departments[department],
                        day0().plus_days(DATES[0]),
                        day0().plus_days(DATES[DATES.len() - 1]),
                    )
                };
                let got: Vec<(SlotId, u32)> =
                    e.find_free_slots(&q).unwrap().iter().map(|f| (f.slot, f.free)).collect();
                // The department's slots are in date and start order in `slot_ids`.
                let mut want: Vec<(SlotId, u32)> = (0..SLOTS)
                    .filter(|&k| model.slots[k].department == department)
                    .map(|k| (slot_ids[k], model.free_places(k) as u32))
                    .filter(|&(_, free)| free > 0)
                    .collect();
                want.truncate(q.limit as usize);
                prop_assert_eq!(got, want, "free slots of department {}", department);
                (Ok(()), Ok(()))
            }
            Op::Advance(s) => {
                e.advance_clock(s).unwrap();
                model.advance(s);
                (Ok(()), Ok(()))
            }
            Op::SetPolicy { ref limits, rollover } => {
                let mut policy = e.policy().clone();
                policy.limits = limits.clone();
                policy.referral.rollover_at_public_open = rollover;
                e.set_policy(policy).unwrap();
                model.limits = limits.clone();
                model.rules.rollover = rollover;
                (Ok(()), Ok(()))
            }
        };
        if std::env::var("MODEL_DEBUG").is_ok() {
            eprintln!("{op:?} -> engine {got:?} model {want:?}");
        }
        prop_assert_eq!(got, want, "outcome of {:?}", op);
        // The availability index agrees with a recount of the slots.
        if let Err(m) = e.check_availability_index() {
            prop_assert!(false, "availability index after {:?}: {}", op, m);
        }
        // The whole state agrees.
        prop_assert_eq!(ids.len(), model.bookings.len());
        for (id, b) in ids.iter().zip(&model.bookings) {
            prop_assert_eq!(st(e.booking(*id).unwrap().state), b.state, "state of {}", id);
            // Its group, member for member.
            match b.group {
                None => prop_assert!(e.booking_group(*id).is_err(), "{} is in no group", id),
                Some(g) => {
                    let got: Vec<BookingId> =
                        e.booking_group(*id).unwrap().bookings.iter().map(|x| x.id).collect();
                    let want: Vec<BookingId> = model.groups[g].iter().map(|&m| ids[m]).collect();
                    prop_assert_eq!(got, want, "group of {}", id);
                }
            }
        }
        for (k, s) in slot_ids.iter().enumerate() {
            let info = e.slot(*s).unwrap();
            prop_assert_eq!(
                info.pool_taken.to_array(),
                model.slots[k].taken,
                "places taken per pool in {}",
                s
            );
            // The allowance as the model checked it at publication (`check_pools`).
            let over = model.slots[k].sizes.iter().sum::<u16>() - info.capacity;
            prop_assert!(
                info.pool_taken.total() <= (info.capacity + over) as u32,
                "{} is oversold",
                s
            );
            let expect =
                model.bookings.iter().filter(|b| b.slot == k && uses_place(b.state)).count() as u16;
            prop_assert_eq!(info.pool_taken.total(), expect as u32, "places taken in {}", s);
        }
        for (k, p) in patients.iter().enumerate() {
            let rec = e.patient_record(*p).unwrap();
            prop_assert_eq!(rec.no_shows_in_window, model.patients[k].no_shows as f32);
            prop_assert_eq!(
                rec.suspended_until,
                model.patients[k].suspended_until.filter(|u| *u > model.now)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_reference_model(
        ops in proptest::collection::vec(op(), 1..120),
        // Mostly one-place slots: where shares collide.
        capacities in proptest::collection::vec(prop_oneof![3 => Just(1u16), 1 => 2u16..4], SLOTS),
        // Random limits, often tighter than the defaults, so that each one is reached.
        (per_department_day, per_visit_date, per_seven_days, total_active) in (1u32..3, 1u32..3, 1u32..4, 1u32..5),
        quota in proptest::option::of((prop_oneof![Just(0.1f32), Just(0.2), Just(0.35)], prop_oneof![Just(24u32), Just(72)])),
        rollover in any::<bool>(),
        overbooking in prop_oneof![3 => Just(0.0f32), 1 => Just(0.5), 1 => Just(0.25)],
        tertiary_target in proptest::option::of(prop_oneof![Just(0.0f32), Just(0.2), Just(1.0)]),
        spread in prop_oneof![Just(OverbookingSpread::Slot), Just(OverbookingSpread::Session)],
        one_by_one in any::<bool>(),
        every_date in any::<bool>(),
    ) {
        let group_dates = if every_date { GroupDates::Every } else { GroupDates::First };
        let limits = LimitPolicy { per_department_day, per_visit_date, per_seven_days, total_active, group_dates };
        run(ops, capacities, Rules { limits, quota, rollover, overbooking, tertiary_target, spread, one_by_one })?;
    }
}
