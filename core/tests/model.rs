//! Model-based property test: random operation sequences run against the engine and against a
//! deliberately simple, sequential reference model of DOMAIN.md's rules (capacity, limits, hold
//! expiry, the public booking window, the lifecycle, late cancellation and the no-show suspension ladder). After every
//! step the outcome (success or error code) and the whole state must agree.

mod common;
use common::*;
use haoyuan::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Hold { patient: usize, slot: usize },
    Book { patient: usize, slot: usize },
    Confirm(usize),
    Cancel(usize),
    CheckIn(usize),
    Fulfil(usize),
    NoShow(usize),
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..12usize).prop_map(|(patient, slot)| Op::Hold { patient, slot }),
        4 => (0..3usize, 0..12usize).prop_map(|(patient, slot)| Op::Book { patient, slot }),
        2 => (0..64usize).prop_map(Op::Confirm),
        2 => (0..64usize).prop_map(Op::Cancel),
        1 => (0..64usize).prop_map(Op::CheckIn),
        1 => (0..64usize).prop_map(Op::Fulfil),
        1 => (0..64usize).prop_map(Op::NoShow),
        2 => (1..10 * 3600i64).prop_map(Op::Advance),
        1 => prop_oneof![Just(599i64), Just(600), Just(601)].prop_map(Op::Advance),
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

struct MSlot {
    capacity: usize,
    department: usize,
    date: Date,
    starts_at: Timestamp,
}

struct MBooking {
    patient: usize,
    slot: usize,
    state: St,
    expires_at: Timestamp,
}

#[derive(Default, Clone)]
struct MPatient {
    no_shows: u32,
    suspended_until: Option<Timestamp>,
}

struct Model {
    limits: LimitPolicy,
    now: Timestamp,
    slots: Vec<MSlot>,
    bookings: Vec<MBooking>,
    patients: Vec<MPatient>,
}

fn active(s: St) -> bool {
    matches!(s, St::Held | St::Booked | St::CheckedIn)
}

/// A place stays used once the visit happened or was missed; only cancel and expiry free it.
fn uses_place(s: St) -> bool {
    active(s) || matches!(s, St::Fulfilled | St::NoShow)
}

impl Model {
    fn place(&mut self, patient: usize, slot: usize, held: bool) -> Result<usize, ErrorCode> {
        let s = &self.slots[slot];
        if self.now >= s.starts_at {
            return Err(ErrorCode::BookingClosed);
        }
        if self.patients[patient].suspended_until.is_some_and(|u| u > self.now) {
            return Err(ErrorCode::PatientSuspended);
        }
        if self.now < at(s.date.plus_days(-7), 15, 0) {
            return Err(ErrorCode::NotOpenYet);
        }
        let mine: Vec<&MBooking> = self.bookings.iter().filter(|b| b.patient == patient && active(b.state)).collect();
        let date_of = |b: &MBooking| self.slots[b.slot].date;
        let same_date = mine.iter().filter(|b| date_of(b) == s.date).count();
        let same_dept_day = mine.iter().filter(|b| date_of(b) == s.date && self.slots[b.slot].department == s.department).count();
        let within_week = (0..7).any(|k| {
            let first = s.date.0 - 6 + k;
            mine.iter().filter(|b| (first..first + 7).contains(&date_of(b).0)).count() as u32 >= self.limits.per_seven_days
        });
        let l = &self.limits;
        if mine.len() as u32 >= l.total_active || same_date as u32 >= l.per_visit_date || same_dept_day as u32 >= l.per_department_day || within_week {
            return Err(ErrorCode::LimitReached);
        }
        let taken = self.bookings.iter().filter(|b| b.slot == slot && uses_place(b.state)).count();
        if taken >= s.capacity {
            return Err(ErrorCode::SlotFull);
        }
        self.bookings.push(MBooking { patient, slot, state: if held { St::Held } else { St::Booked }, expires_at: self.now.plus_s(600) });
        Ok(self.bookings.len() - 1)
    }

    fn add_no_show(&mut self, patient: usize) {
        let p = &mut self.patients[patient];
        p.no_shows += 1;
        let days = [30, 60, 90].get(p.no_shows as usize - 1).copied().unwrap_or(90 + 30 * (p.no_shows as i64 - 3)).min(365);
        let until = self.now.plus_s(days * DAY_S);
        p.suspended_until = Some(p.suspended_until.map_or(until, |u| u.max(until)));
    }

    fn transition(&mut self, i: usize, from: &[St], to: St) -> Result<(), ErrorCode> {
        let b = self.bookings.get_mut(i).ok_or(ErrorCode::NotFound)?;
        if !from.contains(&b.state) {
            return Err(ErrorCode::WrongState);
        }
        b.state = to;
        Ok(())
    }

    fn advance(&mut self, secs: i64) {
        self.now = self.now.plus_s(secs);
        for b in &mut self.bookings {
            if b.state == St::Held && b.expires_at <= self.now {
                b.state = St::Expired;
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

fn run(ops: Vec<Op>, capacities: Vec<u16>, limits: LimitPolicy) -> Result<(), TestCaseError> {
    let mut policy = Policy::default();
    policy.limits = limits.clone();
    let c = city_with(policy, at(day0(), 16, 0));
    let e = &c.engine;
    // Two community departments (no referral pool), six dates, one segment each.
    let second_dept = e.add_department(c.community, "paediatrics", "Paediatrics").unwrap();
    let second_doc = e.add_resource(second_dept, ResourceKind::Doctor, "Dr P", false).unwrap();
    let mut model = Model { limits, now: e.now(), slots: Vec::new(), bookings: Vec::new(), patients: vec![MPatient::default(); 4] };
    let mut slot_ids = Vec::new();
    for (dept, doctor) in [(0usize, c.doctor[0]), (1, second_doc)] {
        // Two weeks, so that both the 7-day and the total limit are reachable; the later dates
        // open to the public during the run.
        for day in [1, 2, 3, 9, 10, 11] {
            for seg in 0..1u16 {
                let date = day0().plus_days(day);
                let capacity = capacities[slot_ids.len()];
                let start_min = 8 * 60 + seg * 30;
                slot_ids.push(c.slot(doctor, date, start_min, capacity));
                model.slots.push(MSlot { capacity: capacity as usize, department: dept, date, starts_at: at(date, 8, seg * 30) });
            }
        }
    }
    let patients: Vec<PatientId> = (0..4).map(|_| c.patient()).collect();
    let mut ids: Vec<BookingId> = Vec::new();
    for op in ops {
        let code = |r: Result<Booking>| r.map(|_| ()).map_err(|e| e.code());
        let (got, want) = match op {
            Op::Hold { patient, slot } | Op::Book { patient, slot } => {
                let held = matches!(op, Op::Hold { .. });
                let req = c.req(patients[patient], slot_ids[slot]);
                let got = if held { e.hold(&req) } else { e.book(&req) };
                let want = model.place(patient, slot, held);
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
                        let got = if matches!(op, Op::Confirm(_)) { e.confirm(id) } else { e.cancel(id) };
                        (code(got), Err(ErrorCode::HoldExpired))
                    }
                    Op::Confirm(_) => (code(e.confirm(id)), model.transition(i, &[St::Held], St::Booked)),
                    Op::Cancel(_) => {
                        let b = &model.bookings[i];
                        let late = b.state == St::Booked && model.now >= at(model.slots[b.slot].date.plus_days(-1), 15, 0);
                        let patient = b.patient;
                        let want = model.transition(i, &[St::Held, St::Booked], St::Cancelled);
                        if want.is_ok() && late {
                            model.add_no_show(patient);
                        }
                        (code(e.cancel(id)), want)
                    }
                    Op::CheckIn(_) => (code(e.check_in(id)), model.transition(i, &[St::Booked], St::CheckedIn)),
                    Op::Fulfil(_) => (code(e.fulfil(id)), model.transition(i, &[St::CheckedIn], St::Fulfilled)),
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
            Op::Advance(s) => {
                e.advance_clock(s).unwrap();
                model.advance(s);
                (Ok(()), Ok(()))
            }
        };
        if std::env::var("MODEL_DEBUG").is_ok() { eprintln!("{op:?} -> engine {got:?} model {want:?}"); }
        prop_assert_eq!(got, want, "outcome of {:?}", op);
        // The whole state agrees.
        prop_assert_eq!(ids.len(), model.bookings.len());
        for (id, b) in ids.iter().zip(&model.bookings) {
            prop_assert_eq!(st(e.booking(*id).unwrap().state), b.state, "state of {}", id);
        }
        for (k, s) in slot_ids.iter().enumerate() {
            let taken: u16 = e.slot(*s).unwrap().pool_taken.iter().sum();
            let expect = model.bookings.iter().filter(|b| b.slot == k && uses_place(b.state)).count() as u16;
            prop_assert_eq!(taken, expect, "places taken in {}", s);
        }
        for (k, p) in patients.iter().enumerate() {
            let rec = e.patient_record(*p).unwrap();
            prop_assert_eq!(rec.no_shows_in_window, model.patients[k].no_shows as f32);
            prop_assert_eq!(rec.suspended_until, model.patients[k].suspended_until.filter(|u| *u > model.now));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_reference_model(
        ops in proptest::collection::vec(op(), 1..90),
        capacities in proptest::collection::vec(1u16..3, 12),
        // Random limits, often tighter than the defaults, so that each one is reached.
        (per_department_day, per_visit_date, per_seven_days, total_active) in (1u32..3, 1u32..3, 1u32..4, 1u32..5),
    ) {
        run(ops, capacities, LimitPolicy { per_department_day, per_visit_date, per_seven_days, total_active })?;
    }
}
