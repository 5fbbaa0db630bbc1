//! Fixtures shared by the benches and the memory report: a Dongguan-size city (2,300
//! institutions, 52,000 slots a day), a province pool (14 such cities over a 14-day horizon,
//! about 10 M live slots) and a release-time flash crowd (100,000 requests for 2,000 slots).
//!
//! Everything is deterministic: the same shape always gives the same ids, so a regression in a
//! bench is a regression in the engine, not in the fixture.

use haoyuan::*;

pub mod measure;

/// Slots a Dongguan day publishes (DOMAIN.md: 30,000–52,000 doctor slots a day).
pub const CITY_DAY_SLOTS: usize = 52_000;
/// Days of a live horizon (Huizhou: slots over two weeks).
pub const HORIZON_DAYS: i32 = 14;
/// Institutions in Dongguan.
pub const CITY_INSTITUTIONS: usize = 2_300;
/// Big hospitals of a city (the rest are community clinics and township hospitals).
pub const CITY_HOSPITALS: usize = 40;
/// Districts (towns) of a city; hospitals sit in the first `CENTRAL_DISTRICTS` of them.
pub const CITY_DISTRICTS: usize = 33;
pub const CENTRAL_DISTRICTS: usize = 8;
pub const SPECIALTIES: [&str; 20] = [
    "cardiology",
    "paediatrics",
    "obstetrics",
    "gynaecology",
    "orthopaedics",
    "neurology",
    "dermatology",
    "ophthalmology",
    "ent",
    "gastroenterology",
    "respiratory",
    "endocrinology",
    "nephrology",
    "urology",
    "oncology",
    "psychiatry",
    "stomatology",
    "rehabilitation",
    "tcm",
    "general_surgery",
];
/// Doctors per hospital department; the first is an expert at tertiary hospitals.
pub const DOCTORS_PER_DEPARTMENT: usize = 2;
/// Hospital sessions: 08:00–12:00 in 15-minute segments (16 slots a doctor-day).
pub const HOSPITAL_SEGMENTS: u16 = 16;
/// Clinic sessions: 08:00–11:00 in 15-minute segments (12 slots a doctor-day).
pub const CLINIC_SEGMENTS: u16 = 12;
pub const SEGMENT_MIN: u16 = 15;

/// The first visit date of every fixture (a Tuesday).
pub fn visit_day() -> Date {
    Date::from_ymd(2026, 12, 1).expect("valid date")
}

/// Public release instant of `day`'s slots under the default policy: 15:00 seven days before.
pub fn release_of(day: Date) -> Timestamp {
    Timestamp::from_local(day.plus_days(-7), 15 * 60, 8 * 3600)
}

/// A time when `visit_day()` .. +3 are bookable and still freely cancellable: 10:00 three days
/// before the first visit day (after its public release, before the 15:00-day-before deadline).
pub fn booking_time() -> Timestamp {
    Timestamp::from_local(visit_day().plus_days(-3), 10 * 60, 8 * 3600)
}

/// One city's registry: who can be booked, in publishing order.
#[derive(Clone, Debug, Default)]
pub struct City {
    pub institutions: Vec<InstitutionId>,
    /// Hospital departments (specialists), `SPECIALTIES.len()` per hospital.
    pub hospital_departments: Vec<DepartmentId>,
    /// Community clinics' general-practice departments.
    pub clinic_departments: Vec<DepartmentId>,
    /// (resource, segments a day, places a segment), in publishing order.
    pub resources: Vec<(ResourceId, u16, u16)>,
}

/// Register a Dongguan-size city: 40 hospitals (10 tertiary, 30 secondary) in 8 central
/// districts with 20 departments of 2 doctors each, and 2,260 community clinics with one GP
/// each spread over all 33 districts. `city` prefixes the district names so that several
/// cities can share one engine.
pub fn add_city(engine: &Engine, city: usize) -> Result<City> {
    let mut out = City::default();
    for i in 0..CITY_INSTITUTIONS {
        let hospital = i < CITY_HOSPITALS;
        let district = if hospital { i % CENTRAL_DISTRICTS } else { i % CITY_DISTRICTS };
        let district = format!("city{city}-district{district}");
        let tier = match i {
            _ if !hospital => Tier::Community,
            i if i < 10 => Tier::Tertiary,
            _ => Tier::Secondary,
        };
        let inst =
            engine.add_institution(&format!("city{city}-institution{i}"), tier, &district)?;
        out.institutions.push(inst);
        if hospital {
            for specialty in SPECIALTIES {
                let dept = engine.add_department(inst, specialty, specialty)?;
                out.hospital_departments.push(dept);
                for d in 0..DOCTORS_PER_DEPARTMENT {
                    let expert = tier == Tier::Tertiary && d == 0;
                    let r = engine.add_resource(
                        dept,
                        ResourceKind::Doctor,
                        &format!("dr{d}"),
                        expert,
                    )?;
                    out.resources.push((r, HOSPITAL_SEGMENTS, if expert { 1 } else { 3 }));
                }
            }
        } else {
            let dept = engine.add_department(inst, "general_practice", "General practice")?;
            out.clinic_departments.push(dept);
            let r = engine.add_resource(dept, ResourceKind::Doctor, "gp", false)?;
            out.resources.push((r, CLINIC_SEGMENTS, 4));
        }
    }
    Ok(out)
}

/// The city's slots of one day: hospitals first, then clinics, cut at exactly
/// [`CITY_DAY_SLOTS`] (the last clinics' sessions are shorter).
pub fn city_day_specs(city: &City, date: Date) -> Vec<SlotSpec> {
    let mut specs = Vec::with_capacity(CITY_DAY_SLOTS);
    'all: for &(resource, segments, places) in &city.resources {
        for s in 0..segments {
            if specs.len() == CITY_DAY_SLOTS {
                break 'all;
            }
            let start_min = 8 * 60 + s * SEGMENT_MIN;
            specs.push(SlotSpec {
                resource,
                date,
                start_min,
                end_min: start_min + SEGMENT_MIN,
                capacity: places,
            });
        }
    }
    specs
}

/// An engine on a manual clock at `now` with one city registered.
pub fn city_engine(policy: Policy, now: Timestamp) -> (Engine, City) {
    let engine = Engine::with_manual_clock(EngineConfig { policy, ..EngineConfig::default() }, now)
        .expect("valid policy");
    let city = add_city(&engine, 0).expect("city registers");
    (engine, city)
}

/// Register `n` patients; they get ids `0..n` in a fresh engine.
pub fn register_patients(engine: &Engine, n: usize) -> Vec<PatientId> {
    (0..n).map(|_| engine.register_patient().expect("patient registers")).collect()
}

/// A city with one published day at `visit_day()` and `patients` patients, at `booking_time()`.
pub struct BookingFixture {
    pub engine: Engine,
    pub city: City,
    pub slots: SlotRange,
    pub patients: Vec<PatientId>,
    pub app: ChannelId,
}

pub fn booking_fixture(patients: usize) -> BookingFixture {
    let (engine, city) = city_engine(Policy::default(), booking_time());
    let slots = engine.publish_slots(&city_day_specs(&city, visit_day())).expect("publish");
    let patients = register_patients(&engine, patients);
    let app = engine.channel_id("app").expect("standard channel");
    BookingFixture { engine, city, slots, patients, app }
}

/// A city where booking is in full swing, for the availability queries: 7 days published from
/// `visit_day()`, the 4 open ones (released at `booking_time()`) booked to about 70% of each
/// slot's places, and every 10th department (the *asking* ones, hospital and clinic) booked
/// full — "where else is a place?" is asked when one's own department is full.
pub struct BusyCity {
    pub engine: Engine,
    pub city: City,
    /// Full departments: every 10th hospital department.
    pub full_hospital: Vec<DepartmentId>,
    /// Full departments: every 10th community clinic.
    pub full_clinic: Vec<DepartmentId>,
}

pub const BUSY_DAYS: i32 = 7;
pub const BUSY_OPEN_DAYS: i32 = 4;

pub fn busy_city() -> BusyCity {
    let (engine, city) = city_engine(Policy::default(), booking_time());
    let app = engine.channel_id("app").expect("standard channel");
    let full_hospital: Vec<DepartmentId> =
        city.hospital_departments.iter().copied().step_by(10).collect();
    let full_clinic: Vec<DepartmentId> =
        city.clinic_departments.iter().copied().step_by(10).collect();
    for d in 0..BUSY_DAYS {
        let slots = engine
            .publish_slots(&city_day_specs(&city, visit_day().plus_days(d)))
            .expect("publish");
        if d >= BUSY_OPEN_DAYS {
            continue;
        }
        for id in slots {
            let info = engine.slot(id).expect("published");
            let full =
                full_hospital.contains(&info.department) || full_clinic.contains(&info.department);
            let want = if full { u16::MAX } else { (info.capacity as u32 * 7).div_ceil(10) as u16 };
            for _ in 0..want {
                let patient = engine.register_patient().expect("patient");
                if engine.book(&Request::new(patient, id, app)).is_err() {
                    break; // the public's places are gone (the rest are reserved)
                }
            }
        }
    }
    BusyCity { engine, city, full_hospital, full_clinic }
}

/// A province-size pool: `cities` Dongguan-size cities, each with `days` days published, one
/// publish call per city-day. Returns the cities and the wall time of the build.
pub struct Province {
    pub engine: Engine,
    pub cities: Vec<City>,
    pub days: i32,
    pub build: std::time::Duration,
}

/// 14 cities × 52,000 slots × 14 days = 10,192,000 live slots.
pub const PROVINCE_CITIES: usize = 14;

pub fn build_province(cities: usize, days: i32, now: Timestamp) -> Province {
    let t0 = std::time::Instant::now();
    let engine = Engine::with_manual_clock(EngineConfig::default(), now).expect("default policy");
    let cities: Vec<City> =
        (0..cities).map(|c| add_city(&engine, c).expect("city registers")).collect();
    for d in 0..days {
        for city in &cities {
            engine.publish_slots(&city_day_specs(city, visit_day().plus_days(d))).expect("publish");
        }
    }
    Province { engine, cities, days, build: t0.elapsed() }
}

/// The number after `name` on the command line (`--cities 4`), or `default`. `cargo bench`
/// passes flags of its own (`--bench`); only the names asked for are read.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small, fast, seeded generator (SplitMix64) so fixtures need no RNG crate.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Release-time flash crowd: `slots` one-place expert slots of one tertiary hospital released
/// at one instant, and `requests` distinct patients each asking for one of them (seeded,
/// uniform). The clock stands at the release instant.
pub struct FlashCrowd {
    pub engine: Engine,
    pub slots: SlotRange,
    /// One request per patient.
    pub requests: Vec<Request>,
}

pub const FLASH_SLOTS: usize = 2_000;
pub const FLASH_REQUESTS: usize = 100_000;

/// `lottery_window_s` 0: first come, first served; > 0: requests in the window enter a draw.
pub fn flash_crowd(requests: usize, slots: usize, lottery_window_s: u32, seed: u64) -> FlashCrowd {
    let mut policy = Policy::default();
    policy.lottery.window_s = lottery_window_s;
    let engine = Engine::with_manual_clock(
        EngineConfig { policy, ..EngineConfig::default() },
        release_of(visit_day()),
    )
    .expect("valid policy");
    let (slots, requests) =
        add_flash_crowd(&engine, requests, slots, seed).expect("flash crowd fixture");
    FlashCrowd { engine, slots, requests }
}

/// Add the flash crowd's hospital, slots and patients to an existing engine (e.g. a durable
/// one) whose clock stands at `release_of(visit_day())`.
pub fn add_flash_crowd(
    engine: &Engine,
    requests: usize,
    slots: usize,
    seed: u64,
) -> Result<(SlotRange, Vec<Request>)> {
    let day = visit_day();
    let hospital =
        engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    let mut specs = Vec::with_capacity(slots);
    let mut doctor = 0;
    while specs.len() < slots {
        let dept =
            engine.add_department(hospital, SPECIALTIES[doctor % SPECIALTIES.len()], "dept")?;
        let r =
            engine.add_resource(dept, ResourceKind::Doctor, &format!("expert{doctor}"), true)?;
        for s in 0..HOSPITAL_SEGMENTS {
            if specs.len() == slots {
                break;
            }
            let start_min = 8 * 60 + s * SEGMENT_MIN;
            specs.push(SlotSpec {
                resource: r,
                date: day,
                start_min,
                end_min: start_min + SEGMENT_MIN,
                capacity: 1,
            });
        }
        doctor += 1;
    }
    let published = engine.publish_slots(&specs)?;
    let patients = (0..requests).map(|_| engine.register_patient()).collect::<Result<Vec<_>>>()?;
    let app = engine.channel_id("app")?;
    let mut rng = SplitMix(seed);
    let requests = patients
        .iter()
        .map(|&p| Request::new(p, SlotId(published.start.0 + rng.below(slots) as u32), app))
        .collect();
    Ok((published, requests))
}

/// Check invariant 1 over a range of slots: no slot holds more places than its pools allow.
/// Returns the places taken in total.
pub fn assert_not_oversold(engine: &Engine, slots: SlotRange) -> u32 {
    let mut taken_total = 0;
    for id in slots.start.0..slots.end.0 {
        let s = engine.slot(SlotId(id)).expect("published slot");
        let taken: u32 = s.pool_taken.total();
        let places: u32 = s.pool_places.total();
        assert!(
            taken <= places && taken <= s.capacity as u32,
            "slot {id} oversold: {taken} taken of {}",
            s.capacity
        );
        taken_total += taken;
    }
    taken_total
}

/// Median of a sample (sorts in place); 0 for an empty one.
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_day_is_exactly_52000_slots_and_bookable() {
        let f = booking_fixture(10);
        assert_eq!(f.slots.end.0 - f.slots.start.0, CITY_DAY_SLOTS as u32);
        let b = f.engine.book(&Request::new(f.patients[0], f.slots.start, f.app)).unwrap();
        f.engine.cancel(b.id).unwrap();
        assert_eq!(f.city.institutions.len(), CITY_INSTITUTIONS);
    }

    #[test]
    fn a_small_flash_crowd_never_oversells() {
        let crowd = flash_crowd(500, 20, 0, 1);
        let won = crowd.requests.iter().filter(|r| crowd.engine.book(r).is_ok()).count();
        assert_eq!(won, 20);
        assert_eq!(assert_not_oversold(&crowd.engine, crowd.slots), 20);
    }
}
