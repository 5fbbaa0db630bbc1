//! The retention tests' host (`retention.rs`, `retention_durable.rs`): a small city run day
//! by day — about 1,000 slots a day published a week ahead, 1,200 booking attempts, visits
//! (fulfilled, or every eighth a no-show), the clock to the next morning.
#![allow(dead_code)]

use haoyuan::*;

pub const OFFSET: i32 = 8 * 3600;
/// Slots are published this many days ahead of their date.
const AHEAD: i32 = 7;

/// A small city's host: 5 institutions × 4 departments × 2 doctors, 25 slots of 2 places each
/// per doctor per day (1,000 slots a day), 30,000 residents (each books a few times a year,
/// as a city's do, so that no-show suspensions stay a steady trickle).
pub struct Host<E: std::ops::Deref<Target = Engine> = Box<Engine>> {
    pub engine: E,
    pub doctors: Vec<ResourceId>,
    pub patients: Vec<PatientId>,
    app: ChannelId,
    today: Date,
    /// The slots published for each coming day.
    published: std::collections::VecDeque<(Date, SlotRange)>,
    rng: u64,
    /// Bookings made, visits fulfilled, no-shows marked: what the days did.
    pub done: [usize; 3],
}

pub fn first_day() -> Date {
    Date::from_ymd(2026, 1, 5).unwrap()
}

pub fn config(policy: Policy) -> EngineConfig {
    let key = CardKey::from_bytes(&[7; 32]).unwrap();
    EngineConfig { policy, utc_offset_s: OFFSET, ..EngineConfig::default() }.with_card_key(key)
}

impl Host {
    pub fn new(policy: Policy) -> Host {
        let start = Timestamp::from_local(first_day(), 7 * 60, OFFSET);
        Host::on(Box::new(Engine::with_manual_clock(config(policy), start).unwrap()))
    }
}

impl<E: std::ops::Deref<Target = Engine>> Host<E> {
    pub fn on(engine: E) -> Host<E> {
        let today = first_day();
        let mut doctors = Vec::new();
        for i in 0..5 {
            let tier = if i == 0 { Tier::Tertiary } else { Tier::Community };
            let inst =
                engine.add_institution(&format!("Institution {i}"), tier, "Nancheng").unwrap();
            for s in ["cardiology", "pediatrics", "dermatology", "internal"] {
                let dept = engine.add_department(inst, s, s).unwrap();
                for d in 0..2 {
                    doctors.push(
                        engine
                            .add_resource(dept, ResourceKind::Doctor, &format!("Dr {d}"), false)
                            .unwrap(),
                    );
                }
            }
        }
        let patients = engine.register_patients(30_000).unwrap();
        let app = engine.channel_id("app").unwrap();
        let mut host = Host {
            engine,
            doctors,
            patients,
            app,
            today,
            published: Default::default(),
            rng: 0x9E37_79B9_7F4A_7C15,
            done: [0; 3],
        };
        for ahead in 0..AHEAD {
            host.publish(today.plus_days(ahead));
        }
        host
    }

    fn next(&mut self, n: usize) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % n as u64) as usize
    }

    fn publish(&mut self, date: Date) {
        let specs: Vec<SlotSpec> = self
            .doctors
            .iter()
            .flat_map(|&resource| {
                (0..25u16).map(move |k| SlotSpec {
                    resource,
                    date,
                    start_min: 8 * 60 + k * 20,
                    end_min: 8 * 60 + k * 20 + 20,
                    capacity: 2,
                })
            })
            .collect();
        let range = self.engine.publish_slots(&specs).unwrap();
        self.published.push_back((date, range));
    }

    /// One day: visits of yesterday's bookings, 1,200 booking attempts on the coming days, the
    /// next day's publication, and the clock to tomorrow morning.
    pub fn day(&mut self, bookings: &mut Vec<(Date, BookingId)>) {
        let today = self.today;
        let engine = &self.engine;
        let done = &mut self.done;
        // Yesterday's visits are settled this morning, after their segments: a no-show can
        // only be marked once the visit has started.
        let yesterday = today.plus_days(-1);
        bookings.retain(|&(date, id)| {
            if date != yesterday {
                return true;
            }
            // Every eighth visit is missed; the rest are seen.
            if id.0 % 8 == 0 {
                done[2] += engine.mark_no_show(id).is_ok() as usize;
            } else {
                done[1] += engine.check_in(id).and_then(|_| engine.fulfil(id)).is_ok() as usize;
            }
            false
        });
        for _ in 0..1_200 {
            let ahead = 1 + self.next(AHEAD as usize - 1);
            let (date, range) = self.published[ahead];
            let k = self.next((range.end.0 - range.start.0) as usize) as u32;
            let slot = SlotId(range.start.0 + k);
            let p = self.next(self.patients.len());
            let patient = self.patients[p];
            if let Ok(b) = self.engine.book(&Request::new(patient, slot, self.app)) {
                self.done[0] += 1;
                if self.next(10) == 0 {
                    let _ = self.engine.cancel(b.id);
                } else {
                    bookings.push((date, b.id));
                }
            }
        }
        self.published.pop_front();
        self.publish(today.plus_days(AHEAD));
        self.today = today.plus_days(1);
        self.engine.advance_to(Timestamp::from_local(self.today, 7 * 60, OFFSET)).unwrap();
    }
}
