//! Retention against a reference model (province-scale issue, item 5): random sequences of
//! publications (on any day, past ones included), bookings, cancellations, clock moves and
//! retention changes, with a model that knows only which day is the first kept — the latest
//! of (today − days) at any tick, never earlier again. After every step the engine must agree
//! with it: a slot is an unknown id exactly when its day is retired, a booking is forgotten
//! exactly then, a publication onto a retired day is refused, every kept slot holds the places
//! its kept bookings use, by-day availability counts exactly the kept slots, and the
//! availability index equals a recount.

mod common;
use common::*;
use haoyuan::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Publish { doctor: usize, day: i32, n: u16 },
    Book { patient: usize, pick: usize },
    Cancel { pick: usize },
    Advance { hours: i64 },
    Retention { days: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize, -4..5i32, 1..4u16).prop_map(|(doctor, day, n)| Op::Publish { doctor, day, n }),
        5 => (0..6usize, any::<usize>()).prop_map(|(patient, pick)| Op::Book { patient, pick }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        3 => (1..40i64).prop_map(|hours| Op::Advance { hours }),
        1 => (0..4u16).prop_map(|days| Op::Retention { days }),
    ]
}

struct MSlot {
    id: SlotId,
    department: DepartmentId,
    date: Date,
    capacity: u16,
    taken: u16,
}

struct MBooking {
    id: BookingId,
    slot: usize,
    active: bool,
}

fn today(e: &Engine) -> Date {
    e.now().to_local(OFFSET).0
}

fn run(ops: Vec<Op>, days: u16) -> Result<(), TestCaseError> {
    let mut policy = Policy::default();
    policy.retention.days = days;
    policy.window.open_days_ahead = 30;
    policy.limits = limits_out_of_the_way();
    policy.cancellation.late_cancel_weight = 0.0;
    let c = city_with(policy, at(day0(), 7, 0));
    let e = &c.engine;
    let patients = e.register_patients(6).unwrap();
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
                } else if let Ok(b) = got {
                    prop_assert!(slots[k].taken < slots[k].capacity, "oversold");
                    slots[k].taken += 1;
                    bookings.push(MBooking { id: b.id, slot: k, active: true });
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
                    prop_assert!(bookings[i].active, "a cancelled booking cancelled again");
                    bookings[i].active = false;
                    slots[k].taken -= 1;
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
        if let Err(m) = e.check_availability_index() {
            prop_assert!(false, "availability index: {m}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn retention_agrees_with_its_model(ops in proptest::collection::vec(op(), 1..60), days in 0..4u16) {
        run(ops, days)?;
    }
}
