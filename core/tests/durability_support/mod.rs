//! A small region and a seeded random operation mix, shared by the durability tests.
#![allow(dead_code)]

use haoyuan::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

pub fn day0() -> Date {
    Date::from_ymd(2026, 11, 23).unwrap()
}

/// 16:00 local on day 0: after the 15:00 release of day 7.
pub fn start() -> Timestamp {
    Timestamp::from_local(day0(), 16 * 60, 8 * 3600)
}

/// The card key of the test directories (a durable engine needs one).
pub fn test_key() -> CardKey {
    CardKey::from_bytes(&[7; 32]).unwrap()
}

/// With the test card key, so in-memory and durable engines hash cards alike.
pub fn config() -> EngineConfig {
    let mut c = EngineConfig::default().with_card_key(test_key());
    c.policy.lottery.window_s = 60;
    // Retention within the days these tests' clocks cover (a few days): retirements — slots,
    // bookings and day logs freed, chunks of slot ids left empty in snapshots — happen amid
    // the random operations, and replay and snapshots must rebuild them exactly.
    c.policy.retention.days = 1;
    c
}

/// A fresh, empty directory under the target dir.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("durability-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct World {
    pub community: InstitutionId,
    pub patients: Vec<PatientId>,
    pub resources: Vec<ResourceId>,
    pub departments: Vec<DepartmentId>,
}

pub fn build_world(e: &Engine) -> World {
    let community =
        e.add_institution("Nancheng Community Clinic", Tier::Community, "Nancheng").unwrap();
    let hospital =
        e.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Nancheng").unwrap();
    let cardio = e.add_department(hospital, "cardiology", "Cardiology").unwrap();
    let paed = e.add_department(hospital, "paediatrics", "Paediatrics").unwrap();
    e.add_department(community, "general", "General practice").unwrap();
    let mut resources = Vec::new();
    for (d, name, expert) in
        [(cardio, "Dr Li", false), (cardio, "Prof Wang", true), (paed, "Dr Chen", false)]
    {
        let r = e.add_resource(d, ResourceKind::Doctor, name, expert).unwrap();
        e.add_roster(Roster {
            resource: r,
            weekdays: vec![0, 1, 2, 3, 4, 5, 6],
            start_min: 8 * 60,
            end_min: 12 * 60,
            segment_min: 30,
            places: 3,
            valid_from: day0(),
            valid_until: day0().plus_days(60),
            closed_dates: vec![],
        })
        .unwrap();
        resources.push(r);
    }
    e.publish_rosters_until(day0().plus_days(10)).unwrap();
    let mut patients = Vec::new();
    for i in 0..40 {
        let p = e.register_patient().unwrap();
        e.link_card(p, "social_security", &format!("4419{i:08}")).unwrap();
        patients.push(p);
    }
    World { community, patients, resources, departments: vec![cardio, paed] }
}

/// Seeded operations; every result is ignored except the ids it yields. Deterministic on a
/// manual clock: the same seed on two engines gives the same state.
pub struct Ops {
    rng: ChaCha8Rng,
    pub bookings: Vec<BookingId>,
    pub waitlist: Vec<WaitlistId>,
    pub referrals: Vec<(PatientId, ReferralId)>,
    pub ok: usize,
}

impl Ops {
    pub fn new(seed: u64) -> Ops {
        Ops {
            rng: ChaCha8Rng::seed_from_u64(seed),
            bookings: Vec::new(),
            waitlist: Vec::new(),
            referrals: Vec::new(),
            ok: 0,
        }
    }

    fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        if v.is_empty() {
            None
        } else {
            Some(v[self.rng.random_range(0..v.len())])
        }
    }

    /// The booking to check in: `picked`, or the first of the 8 bookings after it that could
    /// be checked in now (booked, its visit day come): check-in opens on the visit day, and
    /// without the look the checked-in and fulfilled states would be rare. Draws nothing from
    /// the generator.
    fn due_for_check_in(&self, e: &Engine, picked: BookingId) -> BookingId {
        let today = e.now().to_local(e.utc_offset_s()).0;
        let at = self.bookings.iter().position(|&b| b == picked).unwrap_or(0);
        self.bookings
            .iter()
            .cycle()
            .skip(at)
            .take(8.min(self.bookings.len()))
            .copied()
            .find(|&b| {
                e.booking(b).is_ok_and(|x| {
                    x.state == BookingState::Booked
                        && x.starts_at.to_local(e.utc_offset_s()).0 <= today
                })
            })
            .unwrap_or(picked)
    }

    pub fn step(&mut self, e: &Engine, w: &mut World) {
        let slots = e.slot_count() as u32;
        let p = self.pick(&w.patients).unwrap();
        let slot = SlotId(self.rng.random_range(1..=slots));
        let channel = ChannelId(self.rng.random_range(1..=6));
        let req = Request::new(p, slot, channel);
        let op = self.rng.random_range(0..106);
        let ok = match op {
            0..=14 => e.hold(&req).map(|b| self.bookings.push(b.id)).is_ok(),
            15..=27 => e.book(&req).map(|b| self.bookings.push(b.id)).is_ok(),
            28..=35 => e
                .submit(&req)
                .map(|s| {
                    if let Submission::Booked { booking } = s {
                        self.bookings.push(booking.id)
                    }
                })
                .is_ok(),
            36..=43 => {
                // Recent holds: older ones have mostly expired.
                let recent = self.bookings[self.bookings.len().saturating_sub(3)..].to_vec();
                self.pick(&recent).is_some_and(|b| e.confirm(b).is_ok())
            }
            44..=51 => self.pick(&self.bookings.clone()).is_some_and(|b| e.cancel(b).is_ok()),
            52..=55 => self
                .pick(&self.bookings.clone())
                .is_some_and(|b| e.check_in(self.due_for_check_in(e, b)).is_ok()),
            56..=58 => self.pick(&self.bookings.clone()).is_some_and(|b| e.fulfil(b).is_ok()),
            59..=61 => self.pick(&self.bookings.clone()).is_some_and(|b| e.mark_no_show(b).is_ok()),
            62..=69 => {
                let s = self.rng.random_range(0..2 * 3600);
                e.advance_clock(s).is_ok()
            }
            70..=75 => {
                let d = self.pick(&w.departments).unwrap();
                let from = day0().plus_days(self.rng.random_range(0..8));
                let wr = WaitlistRequest {
                    patient: p,
                    department: d,
                    resource: None,
                    date_from: from,
                    date_to: from.plus_days(3),
                    time: None,
                    channel,
                    referral: None,
                    follow_up: self.rng.random_bool(0.3),
                };
                e.join_waitlist(&wr).map(|x| self.waitlist.push(x.id)).is_ok()
            }
            76..=78 => {
                self.pick(&self.waitlist.clone()).is_some_and(|x| e.leave_waitlist(x).is_ok())
            }
            79..=83 => {
                let urgency = [Urgency::Emergency, Urgency::Urgent, Urgency::Routine]
                    [self.rng.random_range(0..3)];
                let r = ReferralRequest {
                    patient: p,
                    from: w.community,
                    specialty: "cardiology".into(),
                    institution: None,
                    urgency,
                    valid_days: 30,
                };
                e.issue_referral(&r).map(|r| self.referrals.push((p, r.id))).is_ok()
            }
            84..=88 => match self.pick(&self.referrals.clone()) {
                Some((rp, r)) => e
                    .book(&Request::new(rp, slot, channel).with_referral(r))
                    .map(|b| self.bookings.push(b.id))
                    .is_ok(),
                None => false,
            },
            89 => {
                let r = self.pick(&w.resources).unwrap();
                let date = day0().plus_days(self.rng.random_range(1..10));
                let time = self
                    .rng
                    .random_bool(0.5)
                    .then_some(TimeOfDay { start_min: 9 * 60, end_min: 10 * 60 });
                e.suspend_session(r, date, time).is_ok()
            }
            90..=91 => {
                e.link_card(p, "e_health", &format!("EH{}", self.rng.random_range(0..60))).is_ok()
            }
            92 => {
                let q = self.pick(&w.patients).unwrap();
                e.merge_patients(p, q).is_ok()
            }
            93..=94 => e.register_patient().map(|x| w.patients.push(x)).is_ok(),
            95..=96 => {
                let r = self.pick(&w.resources).unwrap();
                let date = day0().plus_days(self.rng.random_range(1..12));
                let start = 13 * 60 + 15 * self.rng.random_range(0..8u16);
                e.publish_slots(&[SlotSpec {
                    resource: r,
                    date,
                    start_min: start,
                    end_min: start + 15,
                    capacity: self.rng.random_range(1..4),
                }])
                .is_ok()
            }
            97 => e.publish_rosters_until(day0().plus_days(self.rng.random_range(10..40))).is_ok(),
            98..=99 => e.tick() > 0,
            101 => {
                // A policy change on the running engine: what replay derives from the policy
                // (pools of later publications, late-cancel and no-show weights, suspensions,
                // the lottery's bound) must follow it at the same point of the journal.
                let mut policy = e.policy().clone();
                policy.referral.share = [0.0, 0.3, 0.5][self.rng.random_range(0..3)];
                policy.overbooking.ratio = [0.0, 0.25][self.rng.random_range(0..2)];
                policy.cancellation.late_cancel_weight = [0.5, 1.0][self.rng.random_range(0..2)];
                policy.no_show.ladder_days = vec![self.rng.random_range(1..40)];
                policy.limits.per_visit_date = self.rng.random_range(1..4);
                policy.lottery.max_entries = self.rng.random_range(3..100_000);
                // Retention turned off and on again, and no-show windows of a day or two, so
                // that marks stop counting within the test's few days: while retention is off
                // no mark is queued for it, and turning it on queues the records' marks
                // (`MarkQueue`) — replay must forget exactly the marks the live engine forgot.
                policy.retention.days = [0, 1, 1, 3][self.rng.random_range(0..4)];
                policy.no_show.window = [
                    NoShowWindow::CalendarYear,
                    NoShowWindow::RollingDays(1),
                    NoShowWindow::RollingDays(2),
                ][self.rng.random_range(0..3)];
                e.set_policy(policy).is_ok()
            }
            102..=103 => {
                // A booking group of 2–4 places, all or nothing: neighbouring slot ids (mostly
                // one resource-day, like a stay's nights) or scattered ones (a visit and its
                // exam elsewhere), sometimes with a referral (its urgency opens pools).
                let n = self.rng.random_range(2..=4u32);
                let slots: Vec<SlotId> = if self.rng.random_bool(0.5) {
                    (0..n).map(|i| SlotId((slot.0 + i - 1) % slots + 1)).collect()
                } else {
                    (0..n).map(|_| SlotId(self.rng.random_range(1..=slots))).collect()
                };
                let referral = match self.pick(&self.referrals.clone()) {
                    Some((rp, r)) if rp == p && self.rng.random_bool(0.5) => Some(r),
                    _ => None,
                };
                let g = GroupRequest { patient: p, channel, slots, referral };
                e.book_group(&g)
                    .map(|g| self.bookings.extend(g.bookings.iter().map(|b| b.id)))
                    .is_ok()
            }
            104 => {
                // Move a booking or group (rescheduling), sometimes onto places it holds.
                let Some(b) = self.pick(&self.bookings.clone()) else { return };
                let n = self.rng.random_range(1..=3u32);
                let mut slots: Vec<SlotId> =
                    (0..n).map(|i| SlotId((slot.0 + i - 1) % slots + 1)).collect();
                if let (true, Ok(old)) = (self.rng.random_bool(0.3), e.booking(b)) {
                    slots[0] = old.slot;
                    slots.dedup();
                }
                let r = RescheduleRequest { booking: b, slots, channel };
                e.reschedule(&r)
                    .map(|g| self.bookings.extend(g.bookings.iter().map(|b| b.id)))
                    .is_ok()
            }
            _ => {
                // A release-time lottery: jump to the next 15:00 release, submit a burst of
                // requests for the slots it opens, then let the window close and the draw run.
                let (today, minute) = e.now().to_local(8 * 3600);
                let release_day = if minute < 15 * 60 { today } else { today.plus_days(1) };
                e.advance_to(Timestamp::from_local(release_day, 15 * 60, 8 * 3600)).unwrap();
                let date = release_day.plus_days(7);
                let d = self.pick(&w.departments).unwrap();
                let free: Vec<SlotId> = e
                    .find_free_slots(&AvailabilityQuery::department(d, date, date))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|f| f.slot)
                    .collect();
                let mut entered = 0;
                let mut last = None;
                for _ in 0..6 {
                    let (Some(s), Some(p)) = (self.pick(&free), self.pick(&w.patients)) else {
                        break;
                    };
                    match e.submit(&Request::new(p, s, channel)) {
                        Ok(Submission::Entered { .. }) => {
                            entered += 1;
                            last = Some((p, s));
                        }
                        Ok(_) => entered += 1,
                        Err(_) => {}
                    }
                }
                // The same entry again, refused: a refused entry must change nothing, its
                // ticket number included (a gap it left stood between the live engine and its
                // journal whenever it was the last entry). Another thread may have moved the
                // clock past the draw meanwhile: then the request is an ordinary booking, which
                // may succeed; it must never be a second entry.
                if let Some((p, s)) = last {
                    let again = e.submit(&Request::new(p, s, channel));
                    assert!(!matches!(again, Ok(Submission::Entered { .. })), "entered twice");
                }
                e.advance_clock(61).unwrap();
                entered > 0
            }
        };
        self.ok += ok as usize;
    }
}

/// Every slot's places taken within its pools' sizes, and the availability index (rebuilt by
/// replay and snapshot restore through the same counted operations) equal to a recount.
pub fn assert_no_slot_over_capacity(e: &Engine) {
    if let Err(m) = e.check_availability_index() {
        panic!("availability index after recovery: {m}");
    }
    for i in 0..e.slot_count() {
        // A day past the policy's retention is retired: its slots are unknown ids.
        let s = match e.slot(SlotId(i as u32 + 1)) {
            Err(Error::NotFound { .. }) => continue,
            s => s.unwrap(),
        };
        for p in Pool::ALL {
            assert!(
                s.pool_taken[p] <= s.pool_places[p],
                "slot {i} pool {p:?}: {} taken of {}",
                s.pool_taken[p],
                s.pool_places[p]
            );
        }
    }
}

// ------------------------------------------------------------------ the crash tests' world

/// Patients of the crash tests' region.
pub const CRASH_PATIENTS: u32 = 1000;

/// The crash tests' options: the per-patient limits out of the way (the children book at
/// random), a manual clock at `start()`.
pub fn crash_options(durability: Durability) -> OpenOptions {
    let mut c = config();
    c.policy.limits = limits_out_of_the_way();
    OpenOptions::new(durability).config(c).clock(ClockKind::Manual(start()))
}

// Per-patient limits no crash-test load reaches: these tests are about durability, not
// anti-scalping, and their children book at random.
// A test binary may include both shared modules, and so this file twice: the same function
// in two modules, harmless.
#[allow(clippy::duplicate_mod)]
#[path = "../common/limits.rs"]
mod limits;
#[allow(unused_imports)] // not every test binary uses it
pub use limits::limits_out_of_the_way;

/// A hospital of 3 departments × 4 doctors with 5 days published, and `CRASH_PATIENTS`
/// patients, written to `dir` and closed: the crash tests' children open it.
pub fn crash_setup(dir: &std::path::Path) {
    let e = DurableEngine::open(dir, crash_options(Durability::Sync)).unwrap();
    add_crash_hospital(&e, 3, 4);
    e.register_patients(CRASH_PATIENTS as usize).unwrap();
    e.close().unwrap();
}

/// One hospital of `departments` × `doctors` doctors (every day 08:00–12:00, 30-minute
/// segments of 12 places), published for the 5 days after day 0.
pub fn add_crash_hospital(e: &Engine, departments: usize, doctors: usize) {
    let day = day0().plus_days(1);
    add_rostered_hospital(e, departments, doctors, 12, (day, day.plus_days(5)));
    e.publish_rosters_until(day.plus_days(5)).unwrap();
}

/// One hospital of `departments` × `doctors` doctors, each on a roster of every day
/// 08:00–12:00 in 30-minute segments of `places`, valid over `valid` (first, last day);
/// nothing published yet.
pub fn add_rostered_hospital(
    e: &Engine,
    departments: usize,
    doctors: usize,
    places: u16,
    valid: (Date, Date),
) {
    let hospital =
        e.add_institution("Songshan Lake Hospital", Tier::Secondary, "Songshan Lake").unwrap();
    for d in 0..departments {
        let dept = e
            .add_department(hospital, &format!("specialty-{d}"), &format!("Department {d}"))
            .unwrap();
        for r in 0..doctors {
            let res = e
                .add_resource(dept, ResourceKind::Doctor, &format!("Doctor {d}-{r}"), false)
                .unwrap();
            e.add_roster(Roster {
                resource: res,
                weekdays: vec![0, 1, 2, 3, 4, 5, 6],
                start_min: 8 * 60,
                end_min: 12 * 60,
                segment_min: 30,
                places,
                valid_from: valid.0,
                valid_until: valid.1,
                closed_dates: vec![],
            })
            .unwrap();
        }
    }
}

/// The load of a crash test's child, until it is killed: three threads book, cancel and
/// register at random (seeded by `seed`), each printing an operation (`B id`, `C id`, `P id`)
/// only once its call returned — acknowledged — while this thread snapshots every
/// `snapshot_every`.
pub fn crash_load(
    e: std::sync::Arc<DurableEngine>,
    out: std::sync::Arc<parking_lot::Mutex<std::io::Stdout>>,
    seed: u64,
    snapshot_every: std::time::Duration,
) -> ! {
    use std::io::Write;
    let slots = e.slot_count() as u32;
    let channel = e.channel_id("app").unwrap();
    for t in 0..3u64 {
        let (e, out) = (e.clone(), out.clone());
        std::thread::spawn(move || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed * 16 + t);
            let mut mine: Vec<BookingId> = Vec::new();
            loop {
                let roll = rng.random_range(0..10);
                let line = if roll < 2 && !mine.is_empty() {
                    let b = mine.swap_remove(rng.random_range(0..mine.len()));
                    e.cancel(b).ok().map(|_| format!("C {}", b.0))
                } else if roll < 3 {
                    e.register_patient().ok().map(|p| format!("P {}", p.0))
                } else {
                    let req = Request::new(
                        PatientId(rng.random_range(1..=CRASH_PATIENTS)),
                        SlotId(rng.random_range(1..=slots)),
                        channel,
                    );
                    e.book(&req).ok().map(|b| {
                        mine.push(b.id);
                        format!("B {}", b.id.0)
                    })
                };
                if let Some(line) = line {
                    writeln!(out.lock(), "{line}").unwrap();
                }
            }
        });
    }
    loop {
        std::thread::sleep(snapshot_every);
        e.snapshot().unwrap();
    }
}

/// What a crash test's child reported acknowledged (the lines of `crash_load`).
#[derive(Default)]
pub struct Acknowledged {
    pub booked: std::collections::HashSet<u64>,
    pub cancelled: std::collections::HashSet<u64>,
    pub patients: std::collections::HashSet<u64>,
}

impl Acknowledged {
    /// Add a child's lines; a line cut by the kill is skipped.
    pub fn add(&mut self, lines: &[String]) {
        for l in lines {
            let Some((kind, id)) = l.split_once(' ') else { continue };
            let Ok(id) = id.parse::<u64>() else { continue };
            match kind {
                "B" => self.booked.insert(id),
                "C" => self.cancelled.insert(id),
                "P" => self.patients.insert(id),
                _ => continue,
            };
        }
    }

    /// Every acknowledged operation `e` does not hold, one line each (a booking lost with its
    /// cancellation counts twice).
    pub fn missing(&self, e: &Engine) -> Vec<String> {
        let mut lost = Vec::new();
        for &id in &self.booked {
            let cancelled = self.cancelled.contains(&id);
            match e.booking(BookingId(id)) {
                Ok(b) if cancelled && b.state != BookingState::Cancelled => {
                    lost.push(format!("the cancellation of booking {id}"))
                }
                Ok(_) => {}
                Err(err) => {
                    lost.push(format!("booking {id} ({err})"));
                    if cancelled {
                        lost.push(format!("the cancellation of booking {id}"));
                    }
                }
            }
        }
        for &p in &self.patients {
            if e.patient_record(PatientId(p as u32)).is_err() {
                lost.push(format!("patient {p}"));
            }
        }
        lost
    }
}

/// A crash test's child: this test binary run again as a separate process, with only its
/// ignored test `test` (`--exact … --ignored --nocapture --test-threads 1`) and the
/// environment `env`, so that it can be killed with SIGKILL mid-write. Its stdout is read line
/// by line on a thread as it comes (a child that fills its pipe would stall); stderr is
/// dropped. The children print each operation once it is acknowledged, so the lines are what
/// the parent may demand after recovery — the last one possibly cut short by the kill:
/// callers parse strictly and count only whole lines.
pub struct CrashChild {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<()>,
}

impl CrashChild {
    pub fn spawn(test: &str, env: &[(&str, String)]) -> CrashChild {
        use std::io::BufRead;
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", test, "--ignored", "--nocapture", "--test-threads", "1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        CrashChild { child, lines, reader }
    }

    /// The first line `matches` accepts; the lines before it are dropped. Panics if the child
    /// ends first.
    pub fn wait_for(&mut self, matches: impl Fn(&str) -> bool) -> String {
        loop {
            let line = self.lines.recv().expect("the child ended before the line waited for");
            if matches(&line) {
                return line;
            }
        }
    }

    /// Kill it (SIGKILL) and wait for it; the lines it printed that no `wait_for` took.
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The pipe's writer is gone: the reader reaches its end and stops.
        self.reader.join().unwrap();
        self.lines.try_iter().collect()
    }
}
