//! Synthetic regions: institutions by tier and district, departments, doctors with weekly
//! rosters, beds and exam devices, built through the public [`Engine`] API only.

use haoyuan::*;
use haoyuan::{Error, Result};
use haoyuan::{ResourceKind, Roster, Tier};

use haoyuan::Date;
use haoyuan::Engine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Most institutions one synthetic region may have.
pub const REGION_INSTITUTIONS_MAX: u32 = 100_000;
/// Most districts.
pub const REGION_DISTRICTS_MAX: u32 = 10_000;
/// Most resources (doctors, devices, bed pools) one synthetic region may have.
pub const REGION_RESOURCES_MAX: u64 = 2_000_000;

/// Department name of an institution's beds (one slot a day whose capacity is the bed count).
pub const BEDS_SPECIALTY: &str = "inpatient";
/// Department name of an institution's exam devices (CT, ultrasound …).
pub const EXAMS_SPECIALTY: &str = "imaging";

/// How one tier of institutions is staffed and rostered.
///
/// Every institution of a tier is alike; the seed decides only which doctors are experts and
/// their day off. The default is an empty tier (0 institutions) with one department of one
/// doctor working weekday mornings in 30-minute one-place segments, so that a spec need only
/// name what differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierSpec {
    /// Institutions of this tier in the region (0 = none), spread over the districts in turn.
    pub institutions: u32,
    /// Clinical departments per institution: the first `departments` of [`RegionSpec::specialties`].
    pub departments: u32,
    /// Doctors in each clinical department (at most 1000); each has a roster per session.
    pub doctors_per_department: u32,
    /// Share of doctors who are experts (senior doctors; larger referral share).
    pub expert_share: f32,
    /// Clinic sessions of a working day, `(start_min, end_min)` local.
    pub sessions: Vec<(u16, u16)>,
    /// Length of one bookable segment (分时段), in minutes; a session is cut into as many whole
    /// segments as fit.
    pub segment_min: u16,
    /// Places (patients) per doctor segment: the slot's capacity (1 ..= 1000).
    pub places_per_slot: u16,
    /// Days of the week the doctors work (Monday = 0). Each doctor also takes one random day off
    /// from these when there are six or more.
    pub weekdays: Vec<u8>,
    /// Admission places a day per institution (0 = no beds).
    pub beds: u16,
    /// Exam devices per institution (0 = none); each runs 08:00–17:00 in 20-minute segments.
    pub exam_devices: u32,
}

impl Default for TierSpec {
    fn default() -> Self {
        TierSpec {
            institutions: 0,
            departments: 1,
            doctors_per_department: 1,
            expert_share: 0.0,
            sessions: vec![(8 * 60, 12 * 60)],
            segment_min: 30,
            places_per_slot: 1,
            weekdays: vec![0, 1, 2, 3, 4],
            beds: 0,
            exam_devices: 0,
        }
    }
}

/// A synthetic region. Every size is a parameter; [`RegionSpec::dongguan`] holds DOMAIN.md's.
///
/// The default is [`RegionSpec::small`]. [`build_region`] turns a spec into institutions,
/// departments, resources and rosters in an engine; the simulator does that itself.
///
/// ```
/// use haoyuan_sim::*;
/// // The small region with a busier tertiary tier: a spec is plain data.
/// let mut spec = RegionSpec::small();
/// spec.tertiary.doctors_per_department = 5;
/// spec.validate().unwrap();
/// assert_eq!(spec.tier(haoyuan::Tier::Tertiary).doctors_per_department, 5);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionSpec {
    /// The region's name: the prefix of its institution and district names in the engine
    /// (`"Dongguan Tertiary 3"`, `"Dongguan district 12"`).
    pub name: String,
    /// Number of districts (towns, streets) the institutions are spread over (1 ..= 10,000).
    pub districts: u32,
    /// Community clinics (基层/一级): the first tier of care.
    pub community: TierSpec,
    /// Secondary (二级) hospitals.
    pub secondary: TierSpec,
    /// Tertiary (三级) hospitals: the crowded big hospitals of the seeds.
    pub tertiary: TierSpec,
    /// Clinical specialties, most common first. Community clinics get the first ones, so lower
    /// tiers can absorb the commonest demand.
    pub specialties: Vec<String>,
    /// Days of slots live ahead of today (Huizhou and DOMAIN.md: 14).
    pub horizon_days: u16,
    /// First simulated visit date, `YYYY-MM-DD`.
    pub start_date: String,
}

impl Default for RegionSpec {
    fn default() -> Self {
        RegionSpec::small()
    }
}

fn standard_specialties() -> Vec<String> {
    [
        "internal_medicine",
        "paediatrics",
        "gynaecology",
        "surgery",
        "stomatology",
        "ophthalmology",
        "cardiology",
        "orthopaedics",
        "dermatology",
        "ent",
        "neurology",
        "obstetrics",
        "oncology",
        "endocrinology",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

impl RegionSpec {
    /// Dongguan (seed 000): 2,300 institutions, nearly all community clinics, in 33 towns and
    /// streets; 16 tertiary and 34 secondary hospitals; about 52,000 slots on a weekday and a
    /// 14-day horizon.
    pub fn dongguan() -> RegionSpec {
        RegionSpec {
            name: "Dongguan".into(),
            districts: 33,
            community: TierSpec {
                institutions: 2_250,
                departments: 1,
                doctors_per_department: 1,
                expert_share: 0.0,
                sessions: vec![(8 * 60, 12 * 60)],
                segment_min: 30,
                places_per_slot: 2,
                weekdays: vec![0, 1, 2, 3, 4],
                beds: 0,
                exam_devices: 0,
            },
            secondary: TierSpec {
                institutions: 34,
                departments: 8,
                doctors_per_department: 2,
                expert_share: 0.1,
                sessions: vec![(8 * 60, 12 * 60), (14 * 60 + 30, 17 * 60 + 30)],
                segment_min: 15,
                places_per_slot: 1,
                weekdays: vec![0, 1, 2, 3, 4, 5],
                beds: 10,
                exam_devices: 1,
            },
            tertiary: TierSpec {
                institutions: 16,
                departments: 14,
                doctors_per_department: 3,
                expert_share: 0.3,
                sessions: vec![(8 * 60, 12 * 60), (14 * 60 + 30, 17 * 60 + 30)],
                segment_min: 15,
                places_per_slot: 1,
                weekdays: vec![0, 1, 2, 3, 4, 5, 6],
                beds: 30,
                exam_devices: 3,
            },
            specialties: standard_specialties(),
            horizon_days: 14,
            start_date: "2026-01-05".into(),
        }
    }

    /// A small region for tests: 3 districts, 12 community clinics, 3 secondary and 2 tertiary
    /// hospitals.
    pub fn small() -> RegionSpec {
        let d = RegionSpec::dongguan();
        RegionSpec {
            name: "small".into(),
            districts: 3,
            community: TierSpec { institutions: 12, ..d.community },
            secondary: TierSpec { institutions: 3, departments: 4, beds: 4, ..d.secondary },
            tertiary: TierSpec {
                institutions: 2,
                departments: 6,
                beds: 6,
                exam_devices: 1,
                ..d.tertiary
            },
            specialties: d.specialties[..6].to_vec(),
            horizon_days: 14,
            start_date: d.start_date,
        }
    }

    /// The spec of `tier`'s institutions.
    pub fn tier(&self, tier: Tier) -> &TierSpec {
        match tier {
            Tier::Community => &self.community,
            Tier::Secondary => &self.secondary,
            Tier::Tertiary => &self.tertiary,
        }
    }

    /// [`RegionSpec::start_date`] as a date: day 0 of a run, the first measured visit date.
    /// `InvalidArgument` if it is not `YYYY-MM-DD`.
    pub fn start(&self) -> Result<Date> {
        Date::parse(&self.start_date).map_err(|_| {
            Error::invalid(format!("region start_date {:?} is not YYYY-MM-DD", self.start_date))
        })
    }

    /// Check every size against its bound: districts 1 ..= 10,000, 1 ..= 1000 specialties
    /// (none named [`BEDS_SPECIALTY`] or [`EXAMS_SPECIALTY`]), a horizon of 1 ..= 60 days, per
    /// tier at most 1000 doctors per department and exam devices, 1 ..= 8 sessions within the
    /// day, segments no longer than the shortest session, and 1 ..= 100,000 institutions and at
    /// most 2,000,000 resources in all. An `Err` (`InvalidArgument`) names the tier and field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("region: {m}")));
        self.start()?;
        if self.districts == 0 || self.districts > REGION_DISTRICTS_MAX {
            return bad(format!(
                "districts {} must be 1 ..= {REGION_DISTRICTS_MAX}",
                self.districts
            ));
        }
        if self.specialties.is_empty() || self.specialties.len() > 1000 {
            return bad("specialties must list 1 ..= 1000 names".into());
        }
        if self.specialties.iter().any(|s| s == BEDS_SPECIALTY || s == EXAMS_SPECIALTY) {
            return bad(format!(
                "{BEDS_SPECIALTY:?} and {EXAMS_SPECIALTY:?} are reserved for beds and exams"
            ));
        }
        if !(1..=60).contains(&self.horizon_days) {
            return bad(format!("horizon_days {} must be 1 ..= 60", self.horizon_days));
        }
        let mut institutions = 0u64;
        let mut resources = 0u64;
        for tier in [Tier::Community, Tier::Secondary, Tier::Tertiary] {
            let t = self.tier(tier);
            institutions += t.institutions as u64;
            if t.institutions > 0 && t.departments as usize > self.specialties.len() {
                return bad(format!(
                    "{tier:?}: {} departments but only {} specialties",
                    t.departments,
                    self.specialties.len()
                ));
            }
            if t.doctors_per_department > 1000 || t.exam_devices > 1000 {
                return bad(format!(
                    "{tier:?}: at most 1000 doctors per department and 1000 exam devices"
                ));
            }
            if !(t.expert_share.is_finite() && (0.0..=1.0).contains(&t.expert_share)) {
                return bad(format!("{tier:?}: expert_share must be within 0 ..= 1"));
            }
            if t.sessions.is_empty()
                || t.sessions.len() > 8
                || t.sessions.iter().any(|(s, e)| s >= e || *e > 1440)
            {
                return bad(format!("{tier:?}: 1 ..= 8 sessions, each start < end <= 1440"));
            }
            if t.segment_min == 0 || t.sessions.iter().any(|(s, e)| t.segment_min > e - s) {
                return bad(format!("{tier:?}: segment_min must be 1 ..= the shortest session"));
            }
            if t.places_per_slot == 0 || t.places_per_slot > 1000 || t.beds > 10_000 {
                return bad(format!("{tier:?}: places_per_slot 1 ..= 1000, beds ..= 10000"));
            }
            if t.weekdays.is_empty() || t.weekdays.iter().any(|d| *d > 6) {
                return bad(format!("{tier:?}: weekdays must be a non-empty list of 0 ..= 6"));
            }
            resources += t.institutions as u64
                * (t.departments as u64 * t.doctors_per_department as u64
                    + t.exam_devices as u64
                    + (t.beds > 0) as u64);
        }
        if institutions == 0 || institutions > REGION_INSTITUTIONS_MAX as u64 {
            return bad(format!(
                "{institutions} institutions; must be 1 ..= {REGION_INSTITUTIONS_MAX}"
            ));
        }
        if resources > REGION_RESOURCES_MAX {
            return bad(format!("{resources} resources; at most {REGION_RESOURCES_MAX}"));
        }
        Ok(())
    }
}

/// One institution of a built region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionInstitution {
    /// The engine's id of the institution (as in [`crate::UnitUsage::id`] of
    /// [`crate::SimResult::by_institution`]).
    pub id: InstitutionId,
    /// Its name in the engine (`"<region> <Tier> <n>"`): what policies target it by.
    pub name: String,
    /// Community, secondary or tertiary.
    pub tier: Tier,
    /// District index, `0 .. districts`.
    pub district: u32,
}

/// One department of a built region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionDepartment {
    /// The engine's id of the department (as in [`crate::UnitUsage::id`] of
    /// [`crate::SimResult::by_department`]).
    pub id: DepartmentId,
    /// Index into [`Region::institutions`].
    pub institution: u32,
    /// Index into [`Region::specialties`].
    pub specialty: u32,
    /// Its institution's tier.
    pub tier: Tier,
    /// Its institution's district index, `0 .. districts`.
    pub district: u32,
}

/// What [`build_region`] created: ids and indexes the simulator chooses from.
///
/// Indexes (`u32` positions in these vectors) are the simulator's; ids are the engine's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Number of districts, as in [`RegionSpec::districts`].
    pub districts: u32,
    /// Day 0: the first measured visit date ([`RegionSpec::start`]).
    pub start: Date,
    /// Days of slots live ahead of today, as in [`RegionSpec::horizon_days`].
    pub horizon_days: u16,
    /// Clinical specialties, then [`BEDS_SPECIALTY`] and [`EXAMS_SPECIALTY`] if any exist.
    pub specialties: Vec<String>,
    /// Every institution, tertiary first, then secondary, then community (creation order).
    pub institutions: Vec<RegionInstitution>,
    /// Every department (clinical, beds, exams), in creation order: their engine ids are
    /// consecutive, which [`Region::department_index`] relies on.
    pub departments: Vec<RegionDepartment>,
    /// `[specialty][tier - 1]` → department indexes (city-wide).
    pub by_specialty_tier: Vec<[Vec<u32>; 3]>,
    /// `[specialty][tier - 1][district]` → department indexes.
    pub by_specialty_tier_district: Vec<[Vec<Vec<u32>>; 3]>,
    /// Community institutions (indexes) of each district: where referrals come from.
    pub community_by_district: Vec<Vec<u32>>,
    /// Resources created (doctors, exam devices and one bed pool per institution with beds).
    pub resources: usize,
    /// Weekly rosters created (one per doctor and session, per exam device, per bed pool).
    pub rosters: usize,
}

impl Region {
    /// The department index of an engine department id (departments are created in order).
    pub fn department_index(&self, id: DepartmentId) -> Option<usize> {
        let first = self.departments.first()?.id.0;
        let i = id.0.checked_sub(first)? as usize;
        (i < self.departments.len() && self.departments[i].id == id).then_some(i)
    }
}

fn tier_index(t: Tier) -> usize {
    t as usize - 1
}

/// Create the region's institutions, departments, resources and weekly rosters in `engine`
/// (rosters run from the engine's today — before the region's start date when a run warms up
/// first — to ten years after the start date; publishing is up to the caller). `seed` decides
/// which doctors are experts and their days off.
///
/// The simulator calls this itself; call it to inspect a region, or to drive an engine of your
/// own with a synthetic city. Errors: the spec's [`RegionSpec::validate`], or the engine's
/// refusal of a registry call (its registry full, a region name that makes names too long).
/// Building twice into one engine adds a second, separate copy of the region.
///
/// ```
/// use haoyuan::{Engine, EngineConfig, Timestamp};
/// use haoyuan_sim::*;
/// let spec = RegionSpec::small();
/// let config = EngineConfig::default();
/// let now = Timestamp::from_local(spec.start()?, 0, config.utc_offset_s);
/// let engine = Engine::with_manual_clock(config, now)?;
/// let region = build_region(&engine, &spec, 1)?;
/// assert_eq!(region.institutions.len(), 12 + 3 + 2);
/// assert!(region.specialties.iter().any(|s| s == BEDS_SPECIALTY));
/// // Publishing is up to the caller: a week of slots.
/// engine.publish_rosters_until(region.start.plus_days(7))?;
/// assert!(engine.slot_count() > 0);
/// # Ok::<(), haoyuan::Error>(())
/// ```
pub fn build_region(engine: &Engine, spec: &RegionSpec, seed: u64) -> Result<Region> {
    spec.validate()?;
    let start = spec.start()?;
    let until = start.plus_days(3650);
    // A warm-up simulates days before day 0: the city's clinics ran then as they do after.
    // From today, not earlier: the first publication would create every past date's slots.
    let valid_from = engine.now().to_local(engine.utc_offset_s()).0.min(start);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7265_6769_6f6e);
    let mut specialties = spec.specialties.clone();
    let any_beds = [Tier::Community, Tier::Secondary, Tier::Tertiary]
        .iter()
        .any(|t| spec.tier(*t).beds > 0 && spec.tier(*t).institutions > 0);
    let any_exams = [Tier::Community, Tier::Secondary, Tier::Tertiary]
        .iter()
        .any(|t| spec.tier(*t).exam_devices > 0 && spec.tier(*t).institutions > 0);
    let beds_specialty = any_beds.then(|| {
        specialties.push(BEDS_SPECIALTY.into());
        specialties.len() as u32 - 1
    });
    let exams_specialty = any_exams.then(|| {
        specialties.push(EXAMS_SPECIALTY.into());
        specialties.len() as u32 - 1
    });
    let n_spec = specialties.len();
    let districts = spec.districts as usize;
    let mut region = Region {
        districts: spec.districts,
        start,
        horizon_days: spec.horizon_days,
        specialties,
        institutions: Vec::new(),
        departments: Vec::new(),
        by_specialty_tier: vec![Default::default(); n_spec],
        by_specialty_tier_district: (0..n_spec)
            .map(|_| std::array::from_fn(|_| vec![Vec::new(); districts]))
            .collect(),
        community_by_district: vec![Vec::new(); districts],
        resources: 0,
        rosters: 0,
    };
    let district_names: Vec<String> =
        (0..districts).map(|d| format!("{} district {}", spec.name, d + 1)).collect();
    for (ti, tier) in [Tier::Tertiary, Tier::Secondary, Tier::Community].into_iter().enumerate() {
        let t = spec.tier(tier);
        for i in 0..t.institutions {
            // Hospitals are spread over districts from the first one on, each tier starting
            // where the previous one stopped, so that districts get different mixes.
            let district = ((i as usize + ti * 7) % districts) as u32;
            let name = format!("{} {:?} {}", spec.name, tier, i + 1);
            let id = engine.add_institution(&name, tier, &district_names[district as usize])?;
            let inst = region.institutions.len() as u32;
            region.institutions.push(RegionInstitution { id, name, tier, district });
            if tier == Tier::Community {
                region.community_by_district[district as usize].push(inst);
            }
            let add_department =
                |engine: &Engine, region: &mut Region, s: u32| -> Result<DepartmentId> {
                    let name = &region.specialties[s as usize];
                    let id = engine.add_department(id, name, name)?;
                    let d = region.departments.len() as u32;
                    region.departments.push(RegionDepartment {
                        id,
                        institution: inst,
                        specialty: s,
                        tier,
                        district,
                    });
                    region.by_specialty_tier[s as usize][tier_index(tier)].push(d);
                    region.by_specialty_tier_district[s as usize][tier_index(tier)]
                        [district as usize]
                        .push(d);
                    Ok(id)
                };
            for s in 0..t.departments {
                let dept = add_department(engine, &mut region, s)?;
                for k in 0..t.doctors_per_department {
                    let expert = rng.random::<f32>() < t.expert_share;
                    let label = if expert { "expert" } else { "doctor" };
                    let resource = engine.add_resource(
                        dept,
                        ResourceKind::Doctor,
                        &format!("{label} {}", k + 1),
                        expert,
                    )?;
                    region.resources += 1;
                    let mut weekdays = t.weekdays.clone();
                    if weekdays.len() >= 6 {
                        weekdays.remove(rng.random_range(0..weekdays.len()));
                    }
                    for &(s0, e0) in &t.sessions {
                        engine.add_roster(Roster {
                            resource,
                            weekdays: weekdays.clone(),
                            start_min: s0,
                            end_min: e0,
                            segment_min: t.segment_min,
                            places: t.places_per_slot,
                            valid_from,
                            valid_until: until,
                            closed_dates: vec![],
                        })?;
                        region.rosters += 1;
                    }
                }
            }
            if let (Some(s), true) = (beds_specialty, t.beds > 0) {
                let dept = add_department(engine, &mut region, s)?;
                let resource = engine.add_resource(dept, ResourceKind::Bed, "beds", false)?;
                region.resources += 1;
                engine.add_roster(Roster {
                    resource,
                    weekdays: vec![0, 1, 2, 3, 4, 5, 6],
                    start_min: 10 * 60,
                    end_min: 11 * 60,
                    segment_min: 60,
                    places: t.beds,
                    valid_from,
                    valid_until: until,
                    closed_dates: vec![],
                })?;
                region.rosters += 1;
            }
            if let (Some(s), true) = (exams_specialty, t.exam_devices > 0) {
                let dept = add_department(engine, &mut region, s)?;
                for k in 0..t.exam_devices {
                    let resource = engine.add_resource(
                        dept,
                        ResourceKind::Exam,
                        &format!("device {}", k + 1),
                        false,
                    )?;
                    region.resources += 1;
                    engine.add_roster(Roster {
                        resource,
                        weekdays: vec![0, 1, 2, 3, 4, 5],
                        start_min: 8 * 60,
                        end_min: 17 * 60,
                        segment_min: 20,
                        places: 1,
                        valid_from,
                        valid_until: until,
                        closed_dates: vec![],
                    })?;
                    region.rosters += 1;
                }
            }
        }
    }
    Ok(region)
}
