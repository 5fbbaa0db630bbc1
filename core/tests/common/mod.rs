//! A small region shared by the integration tests: two districts, one institution per tier,
//! a cardiology department at each, one doctor each.
#![allow(dead_code)]

use haoyuan::*;

pub const OFFSET: i32 = 8 * 3600;

pub fn day0() -> Date {
    Date::from_ymd(2026, 11, 23).unwrap()
}

/// Local instant on `date` at `hh:mm`.
pub fn at(date: Date, hh: u16, mm: u16) -> Timestamp {
    Timestamp::from_local(date, hh * 60 + mm, OFFSET)
}

pub struct City {
    pub engine: Engine,
    pub community: InstitutionId,
    pub secondary: InstitutionId,
    pub tertiary: InstitutionId,
    pub other_tertiary: InstitutionId,
    pub cardio: [DepartmentId; 4],
    pub doctor: [ResourceId; 4],
    pub app: ChannelId,
    pub kiosk: ChannelId,
}

pub fn city_with(policy: Policy, now: Timestamp) -> City {
    let engine = Engine::with_manual_clock(
        EngineConfig { policy, utc_offset_s: OFFSET, ..EngineConfig::default() },
        now,
    )
    .unwrap();
    let community =
        engine.add_institution("Nancheng Community Clinic", Tier::Community, "Nancheng").unwrap();
    let secondary =
        engine.add_institution("Nancheng District Hospital", Tier::Secondary, "Nancheng").unwrap();
    let tertiary =
        engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Nancheng").unwrap();
    let other_tertiary =
        engine.add_institution("Dongguan Tertiary No. 2", Tier::Tertiary, "Nancheng").unwrap();
    let mut cardio = [DepartmentId(0); 4];
    let mut doctor = [ResourceId(0); 4];
    for (i, inst) in [community, secondary, tertiary, other_tertiary].into_iter().enumerate() {
        cardio[i] = engine.add_department(inst, "cardiology", "Cardiology").unwrap();
        doctor[i] = engine
            .add_resource(cardio[i], ResourceKind::Doctor, &format!("Dr {i}"), false)
            .unwrap();
    }
    let app = engine.channel_id("app").unwrap();
    let kiosk = engine.channel_id("kiosk").unwrap();
    City { engine, community, secondary, tertiary, other_tertiary, cardio, doctor, app, kiosk }
}

// A test binary may include both shared modules, and so this file twice: the same function
// in two modules, harmless.
#[allow(clippy::duplicate_mod)]
mod limits;
#[allow(unused_imports)] // not every test binary uses it
pub use limits::limits_out_of_the_way;

pub fn city() -> City {
    city_with(Policy::default(), at(day0(), 16, 0))
}

impl City {
    pub fn slots(
        &self,
        resource: ResourceId,
        date: Date,
        starts: &[u16],
        capacity: u16,
    ) -> Vec<SlotId> {
        let specs: Vec<SlotSpec> = starts
            .iter()
            .map(|&s| SlotSpec { resource, date, start_min: s, end_min: s + 15, capacity })
            .collect();
        let r = self.engine.publish_slots(&specs).unwrap();
        (r.start.0..r.end.0).map(SlotId).collect()
    }

    pub fn slot(&self, resource: ResourceId, date: Date, start_min: u16, capacity: u16) -> SlotId {
        self.slots(resource, date, &[start_min], capacity)[0]
    }

    pub fn patient(&self) -> PatientId {
        self.engine.register_patient().unwrap()
    }

    pub fn req(&self, patient: PatientId, slot: SlotId) -> Request {
        Request::new(patient, slot, self.app)
    }
}
