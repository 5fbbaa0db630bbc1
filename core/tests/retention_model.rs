//! Retention against a reference model (province-scale issue, item 5): random sequences of
//! publications (on any day, past ones included), bookings, cancellations (late ones count a
//! generated fraction of a no-show), no-shows, clock moves and retention changes, with a model
//! that knows only which day is the first kept — the latest of (today − days) at any tick,
//! never earlier again — and every patient's no-show marks. After every step the engine must
//! agree with it: a slot is an unknown id exactly when its day is retired, a booking is
//! forgotten exactly then, a publication onto a retired day is refused, every kept slot holds
//! the places its kept bookings use, by-day availability counts exactly the kept slots, the
//! availability index equals a recount, and each patient's no-shows in the counting window
//! and suspension are the model's: retirement forgets a booking's day, never a mark that still
//! counts (DOMAIN.md: a patient's no-show history is kept for its counting window). The
//! window is a generated rolling 1–3 days, shorter or longer than the retention, or the
//! calendar year, from a start that may cross New Year.

mod common;
use common::*;
use haoyuan::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Publish { doctor: usize, day: i32, n: u16 },
    Book { patient: usize, pick: usize },
    Cancel { pick: usize },
    NoShow { pick: usize },
    Advance { hours: i64 },
    Retention { days: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize, -4..5i32, 1..4u16).prop_map(|(doctor, day, n)| Op::Publish { doctor, day, n }),
        5 => (0..6usize, any::<usize>()).prop_map(|(patient, pick)| Op::Book { patient, pick }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        2 => any::<usize>().prop_map(|pick| Op::NoShow { pick }),
        3 => (1..40i64).prop_map(|hours| Op::Advance { hours }),
        // Whole days, so that a rolling window's end falls exactly on a mark.
        1 => (1..4i64).prop_map(|days| Op::Advance { hours: 24 * days }),
        1 => (0..4u16).prop_map(|days| Op::Retention { days }),
    ]
}

struct MSlot {
    id: SlotId,
    department: DepartmentId,
    date: Date,
    starts_at: Timestamp,
    capacity: u16,
    taken: u16,
}

struct MBooking {
    id: BookingId,
    slot: usize,
    patient: usize,
    active: bool,
}

/// A patient's no-show marks (time, weight), in the order made, and suspension end.
#[derive(Default)]
struct MPatient {
    marks: Vec<(Timestamp, f32)>,
    suspended_until: Option<Timestamp>,
}

/// Whether a mark made at `at` counts at `now`, written from DOMAIN.md's rules.
fn counts(window: NoShowWindow, at: Timestamp, now: Timestamp) -> bool {
    match window {
        NoShowWindow::CalendarYear => at.to_local(OFFSET).0.year() == now.to_local(OFFSET).0.year(),
        NoShowWindow::RollingDays(d) => now.0 - at.0 < d as i64 * 86_400,
    }
}

impl MPatient {
    fn in_window(&self, policy: &NoShowPolicy, now: Timestamp) -> f32 {
        self.marks.iter().filter(|m| counts(policy.window, m.0, now)).map(|m| m.1).sum()
    }

    /// A mark of `weight` at `now`: a suspension starts when the weighted count crosses a
    /// whole number (the ladder's days for that number), never shortening one running.
    fn mark(&mut self, policy: &NoShowPolicy, weight: f32, now: Timestamp) {
        if weight <= 0.0 {
            return;
        }
        let before = self.in_window(policy, now);
        self.marks.push((now, weight));
        let (n_before, n_after) =
            ((before + 1e-4).floor() as u32, (before + weight + 1e-4).floor() as u32);
        if n_after > n_before {
            let until = now.plus_s(policy.suspension_days(n_after) as i64 * 86_400);
            self.suspended_until = Some(self.suspended_until.map_or(until, |u| u.max(until)));
        }
    }

    fn suspended_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.suspended_until.filter(|u| *u > now)
    }
}

fn today(e: &Engine) -> Date {
    e.now().to_local(OFFSET).0
}

/// What a case draws besides its operations.
#[derive(Clone, Debug)]
struct Setting {
    days: u16,
    window: NoShowWindow,
    late_cancel_weight: f32,
    /// Days from `day0` to the first (36–38 cross New Year within a case's clock moves).
    start_day: i32,
}

fn setting() -> impl Strategy<Value = Setting> {
    let window = prop_oneof![
        (1..4u32).prop_map(NoShowWindow::RollingDays),
        Just(NoShowWindow::CalendarYear)
    ];
    (
        0..4u16,
        window,
        prop_oneof![Just(0.0f32), Just(0.5), Just(1.0)],
        prop_oneof![Just(0), 30..39i32],
    )
        .prop_map(|(days, window, late_cancel_weight, start_day)| Setting {
            days,
            window,
            late_cancel_weight,
            start_day,
        })
}

fn run(ops: Vec<Op>, setting: Setting) -> Result<(), TestCaseError> {
    let mut policy = Policy::default();
    policy.retention.days = setting.days;
    policy.window.open_days_ahead = 30;
    policy.limits = limits_out_of_the_way();
    policy.cancellation.late_cancel_weight = setting.late_cancel_weight;
    // Short suspensions (1, 2, then 3 days), so that patients book again within a case.
    policy.no_show = NoShowPolicy {
        window: setting.window,
        ladder_days: vec![1, 2],
        step_days: 1,
        max_suspension_days: 3,
    };
    let no_show = policy.no_show.clone();
    let free_until_min = policy.cancellation.free_until_day_before_at_min;
    let c = city_with(policy, at(day0().plus_days(setting.start_day), 7, 0));
    let e = &c.engine;
    let patients = e.register_patients(6).unwrap();
    let mut model: Vec<MPatient> = (0..patients.len()).map(|_| MPatient::default()).collect();
    let days = setting.days;
    let (mut slots, mut bookings): (Vec<MSlot>, Vec<MBooking>) = (Vec::new(), Vec::new());
    let (mut days, mut kept_from) = (days, Date(i32::MIN));
    let mut starts = 0u16;
    for op in ops {
        match op {
            Op::Publish { doctor, day, n } => {
                let date = today(e).plus_days(day);
                let specs: Vec<SlotSpec> = (0..n)
                    .map(|k| {
                        starts = (starts + 1) % 40;
                        let start_min = 6 * 60 + starts * 20 + k;
                        let end_min = start_min + 1;
                        SlotSpec {
                            resource: c.doctor[doctor],
                            date,
                            start_min,
                            end_min,
                            capacity: 2,
                        }
                    })
                    .collect();
                let got = e.publish_slots(&specs);
                if date < kept_from {
                    prop_assert!(matches!(got, Err(Error::InvalidArgument(_))), "{got:?}");
                } else if let Ok(range) = got {
                    for (id, spec) in range.iter().zip(&specs) {
                        let department = c.cardio[doctor];
                        slots.push(MSlot {
                            id,
                            department,
                            date: spec.date,
                            starts_at: Timestamp::from_local(spec.date, spec.start_min, OFFSET),
                            capacity: 2,
                            taken: 0,
                        });
                    }
                }
            }
            Op::Book { patient, pick } if !slots.is_empty() => {
                let k = pick % slots.len();
                let got = e.book(&Request::new(patients[patient], slots[k].id, c.app));
                if slots[k].date < kept_from {
                    prop_assert!(matches!(got, Err(Error::NotFound { .. })), "{got:?}");
                } else if let Some(until) = model[patient].suspended_at(e.now()) {
                    // Refused (a slot already started may be refused for that first).
                    prop_assert!(got.is_err(), "suspended until {until}: {got:?}");
                    if let Err(Error::PatientSuspended { until: u, .. }) = &got {
                        prop_assert_eq!(*u, until);
                    }
                } else if let Ok(b) = got {
                    prop_assert!(slots[k].taken < slots[k].capacity, "oversold");
                    slots[k].taken += 1;
                    bookings.push(MBooking { id: b.id, slot: k, patient, active: true });
                }
            }
            Op::Cancel { pick } if !bookings.is_empty() => {
                let i = pick % bookings.len();
                let got = e.cancel(bookings[i].id);
                let k = bookings[i].slot;
                if slots[k].date < kept_from {
                    prop_assert!(
                        matches!(&got, Err(Error::NotFound { kind, .. }) if kind == FORGOTTEN_BOOKING),
                        "{got:?}"
                    );
                } else if got.is_ok() {
                    prop_assert!(bookings[i].active, "an ended booking cancelled");
                    bookings[i].active = false;
                    slots[k].taken -= 1;
                    let free_until =
                        Timestamp::from_local(slots[k].date.plus_days(-1), free_until_min, OFFSET);
                    if e.now() >= free_until {
                        model[bookings[i].patient].mark(
                            &no_show,
                            setting.late_cancel_weight,
                            e.now(),
                        );
                    }
                } else {
                    prop_assert!(!bookings[i].active, "{}: {got:?}", bookings[i].id);
                }
            }
            Op::NoShow { pick } if !bookings.is_empty() => {
                let i = pick % bookings.len();
                let got = e.mark_no_show(bookings[i].id);
                let k = bookings[i].slot;
                if slots[k].date < kept_from {
                    prop_assert!(
                        matches!(&got, Err(Error::NotFound { kind, .. }) if kind == FORGOTTEN_BOOKING),
                        "{got:?}"
                    );
                } else if bookings[i].active && e.now() >= slots[k].starts_at {
                    prop_assert!(got.is_ok(), "{}: {got:?}", bookings[i].id);
                    // The place stays taken: its time has come.
                    bookings[i].active = false;
                    model[bookings[i].patient].mark(&no_show, 1.0, e.now());
                } else {
                    prop_assert!(got.is_err(), "{}: {got:?}", bookings[i].id);
                }
            }
            Op::Advance { hours } => {
                e.advance_clock(hours * 3600).unwrap();
                if days > 0 {
                    kept_from = kept_from.max(today(e).plus_days(-(days as i32)));
                }
            }
            Op::Retention { days: d } => {
                let mut p = e.policy().clone();
                p.retention.days = d;
                e.set_policy(p).unwrap();
                days = d;
            }
            _ => {}
        }
        // The engine agrees with the model.
        for s in &slots {
            match e.slot(s.id) {
                Err(Error::NotFound { .. }) => prop_assert!(s.date < kept_from, "{} lost", s.id),
                Ok(info) => {
                    prop_assert!(
                        s.date >= kept_from,
                        "{} of {} kept from {kept_from}",
                        s.id,
                        s.date
                    );
                    prop_assert_eq!(info.pool_taken.total(), s.taken as u32, "{}", s.id);
                }
                Err(err) => prop_assert!(false, "{}: {err}", s.id),
            }
        }
        for b in &bookings {
            let retired = slots[b.slot].date < kept_from;
            match e.booking(b.id) {
                Err(Error::NotFound { kind, .. }) => {
                    prop_assert!(retired && kind == FORGOTTEN_BOOKING, "{} lost: {kind}", b.id)
                }
                Ok(got) => {
                    prop_assert!(!retired, "{} of a retired day", b.id);
                    prop_assert_eq!(got.state.is_active(), b.active, "{}", b.id);
                }
                Err(err) => prop_assert!(false, "{}: {err}", b.id),
            }
        }
        let now = today(e);
        for &dept in &c.cardio {
            for d in e.free_places_by_day(dept, now.plus_days(-6), now.plus_days(6)).unwrap() {
                let places: u32 = slots
                    .iter()
                    .filter(|s| s.department == dept && s.date == d.date && s.date >= kept_from)
                    .map(|s| s.capacity as u32)
                    .sum();
                prop_assert_eq!(d.places, places, "{} on {}", dept, d.date);
            }
        }
        for (p, m) in patients.iter().zip(&model) {
            let record = e.patient_record(*p).unwrap();
            let want = m.in_window(&no_show, e.now());
            prop_assert!(
                (record.no_shows_in_window - want).abs() < 1e-4,
                "{p}: {} no-shows in the window, the model {want} ({:?}, now {})",
                record.no_shows_in_window,
                m.marks,
                e.now()
            );
            prop_assert_eq!(record.suspended_until, m.suspended_at(e.now()), "{}", p);
        }
        if let Err(m) = e.check_availability_index() {
            prop_assert!(false, "availability index: {m}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn retention_agrees_with_its_model(ops in proptest::collection::vec(op(), 1..60), setting in setting()) {
        run(ops, setting)?;
    }
}
