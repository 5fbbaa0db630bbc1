//! The region the FHIR tests share: one tertiary hospital and one community clinic in
//! Guancheng, the clock at 16:00 the day before `day()` (after that day's public release).
#![allow(dead_code)]

use haoyuan::*;

pub const OFF: i32 = 8 * 3600;

pub fn day() -> Date {
    Date::from_ymd(2026, 11, 24).unwrap() // a Tuesday
}

pub struct Region {
    pub engine: Engine,
    pub hospital: InstitutionId,
    pub clinic: InstitutionId,
    pub cardiology: DepartmentId,
    pub paediatrics: DepartmentId,
    pub dr_li: ResourceId,
    pub dr_chen: ResourceId,
    pub ecg: ResourceId,
}

/// The registry only (same ids in every engine built this way).
pub fn region() -> Region {
    let engine = Engine::with_manual_clock(
        EngineConfig::default(),
        Timestamp::from_local(day().plus_days(-1), 16 * 60, OFF),
    )
    .unwrap();
    let hospital =
        engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng").unwrap();
    let clinic = engine
        .add_institution("Dongcheng Community Health Centre", Tier::Community, "Guancheng")
        .unwrap();
    let cardiology = engine.add_department(hospital, "cardiology", "Cardiology").unwrap();
    let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics").unwrap();
    let dr_li = engine.add_resource(cardiology, ResourceKind::Doctor, "Dr Li", false).unwrap();
    let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", true).unwrap();
    let ecg = engine.add_resource(cardiology, ResourceKind::Exam, "ECG room 2", false).unwrap();
    Region { engine, hospital, clinic, cardiology, paediatrics, dr_li, dr_chen, ecg }
}

/// The registry plus a week of rosters: Dr Li Mon–Fri 08:00–12:00 in 30-minute segments of 2
/// places, Dr Chen Tue/Thu 14:00–17:00 in 20-minute segments of 1, the ECG room daily
/// 08:00–10:00 in 15-minute segments of 4.
pub fn published_region() -> Region {
    let r = region();
    let roster = |resource, weekdays: Vec<u8>, start_min, end_min, segment_min, places| Roster {
        resource,
        weekdays,
        start_min,
        end_min,
        segment_min,
        places,
        valid_from: day(),
        valid_until: day().plus_days(6),
        closed_dates: vec![],
    };
    r.engine.add_roster(roster(r.dr_li, vec![0, 1, 2, 3, 4], 480, 720, 30, 2)).unwrap();
    r.engine.add_roster(roster(r.dr_chen, vec![1, 3], 840, 1020, 20, 1)).unwrap();
    r.engine.add_roster(roster(r.ecg, vec![0, 1, 2, 3, 4, 5, 6], 480, 600, 15, 4)).unwrap();
    r.engine.publish_rosters_until(day().plus_days(6)).unwrap();
    r
}

/// The CSV form of `published_region`'s rosters.
pub const ROSTER_CSV: &str = "\
resource,department,weekday,session_start,session_end,segment_minutes,places
Dr Li,Cardiology,mon,08:00,12:00,30,2
Dr Li,Cardiology,tue,08:00,12:00,30,2
Dr Li,Cardiology,wed,08:00,12:00,30,2
Dr Li,Cardiology,thu,08:00,12:00,30,2
Dr Li,Cardiology,fri,08:00,12:00,30,2
Dr Chen,paediatrics,Tuesday,14:00,17:00,20,1
Dr Chen,paediatrics,4,14:00,17:00,20,1
\"ECG room 2\",Cardiology,mon,08:00,10:00,15,4
ECG room 2,Cardiology,tue,08:00,10:00,15,4
ECG room 2,Cardiology,wed,08:00,10:00,15,4
ECG room 2,Cardiology,thu,08:00,10:00,15,4
ECG room 2,Cardiology,fri,08:00,10:00,15,4
ECG room 2,Cardiology,sat,08:00,10:00,15,4
ECG room 2,Cardiology,sun,08:00,10:00,15,4
";

/// Every slot as (resource, date, start, end, capacity), sorted: what "the same slots" means.
pub fn slot_set(engine: &Engine) -> Vec<(u32, i32, u16, u16, u16)> {
    let mut v: Vec<_> = (1..=engine.slot_count() as u32)
        .map(|i| engine.slot(SlotId(i)).unwrap())
        .map(|s| (s.resource.0, s.date.0, s.start_min, s.end_min, s.capacity))
        .collect();
    v.sort_unstable();
    v
}

pub fn patient(engine: &Engine) -> PatientId {
    engine.register_patient().unwrap()
}
