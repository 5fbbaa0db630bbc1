//! Recommendations (Qingdao, issue 18 part 3): after entering symptoms, a patient is
//! recommended institutions and doctors. The engine does not diagnose: the complaint is looked
//! up in the host's complaint table (`complaints.rs`) to get specialties and an urgency; or the
//! patient asks for a specialty; a referral adds its own specialty. Every department of those
//! specialties in the region is then a candidate with its earliest free place (a `doctor`
//! resource's slot the patient could take now), and the candidates are ranked.
//!
//! **Ranking** (ties always broken by institution, department and resource id, so the answer is
//! deterministic), by these keys in order:
//! 1. *Referral first.* With a usable referral, departments where it is valid (its specialty, its
//!    institution if it names one, a tier above the referring institution) come first — orderly
//!    referral (有序转诊) sends the referred patient up, and there the referral pool counts as
//!    free for them.
//! 2. *Tier, by urgency.* `routine` (a routine complaint, a plain specialty): community clinics
//!    first, then secondary, then tertiary — tiered care's first contact at primary care
//!    (基层首诊), which the platform must serve (DOMAIN.md), and which spreads the crowd away
//!    from the big hospitals (Dongguan's 10% use). Tier comes before district: a district is an
//!    administrative line, a neighbouring district's clinic is often nearer than one's own
//!    district's hospital, and a central district may have hospitals but few clinics.
//!    `urgent`: tier does not count — the earliest place wins. `emergency` (chest pain, stroke
//!    signs …): tertiary first, then secondary — the engine books clinic places, not emergency
//!    care, so every row says to go to an emergency department now (reason `emergency`), and
//!    lists hospital places, best equipped first, for the visit afterwards.
//! 3. *Same district first*: nearer.
//! 4. *Earliest free place*: sooner care.
//! 5. *Expected wait* of that place's session (live load board), unknown after known.
//!
//! **What counts as free.** The same as `find_free_slots` for this requester now: the pools a
//! member of the public may take (with the referral pool at referral-valid departments), booking
//! not closed, the slot not closed, places left. With a patient, a department-day where the
//! patient already holds `limits.per_department_day` active bookings is passed over (the booking
//! would be refused). One row per department — its doctor with the earliest free place — so
//! that one large hospital's many doctors do not crowd out the other institutions.
//!
//! **Cost.** The walk reads the group-day sets (`store::GroupDay`): per specialty, district and
//! day, only departments with a free place are looked at, and each department is read up to its
//! first free doctor's slot on its first day with a place. Bounds: at most
//! [`RECOMMEND_DAYS_MAX`] days, [`RECOMMEND_LIMIT_MAX`] results, a complaint of at most
//! `COMPLAINT_LEN_MAX` bytes.

use crate::availability::PoolsMemo;
use crate::complaints::ComplaintTable;
use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::{
    Department, FreeSlot, HalfDay, RecommendQuery, RecommendReason, Recommendation, Referral,
    ResourceKind, Tier, Urgency,
};
use crate::time::Date;
use crate::Engine;
use std::sync::Arc;

/// Most recommendations one call returns.
pub const RECOMMEND_LIMIT_MAX: u32 = 100;
/// Longest date range one recommendation searches, in days (a month: past the booking horizon).
pub const RECOMMEND_DAYS_MAX: i32 = 31;

/// A department with a free place, before ranking.
struct Candidate {
    department: DepartmentId,
    institution: InstitutionId,
    tier: Tier,
    district: DistrictId,
    referral: bool,
    earliest: FreeSlot,
    wait: Option<u32>,
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Community => "community",
        Tier::Secondary => "secondary",
        Tier::Tertiary => "tertiary",
    }
}

fn urgency_name(u: Urgency) -> &'static str {
    match u {
        Urgency::Emergency => "emergency",
        Urgency::Urgent => "urgent",
        Urgency::Routine => "routine",
    }
}

fn reason_text(
    reason: RecommendReason,
    c: &Candidate,
    referral: Option<&Referral>,
    district: &str,
    home: bool,
) -> String {
    let base = match reason {
        RecommendReason::Referral => format!(
            "your {} referral is valid here ({} care)",
            referral.map_or("", |r| urgency_name(r.urgency)),
            tier_name(c.tier)
        ),
        RecommendReason::CommunityFirst => {
            "routine complaint: community clinic first (tiered care, primary care first)".into()
        }
        RecommendReason::HigherTier => format!(
            "routine care at a {} hospital: ranked after the community clinics with a place (tiered care)",
            tier_name(c.tier)
        ),
        RecommendReason::Urgent => "urgent complaint: the earliest place first, whatever the tier".into(),
        RecommendReason::Emergency => "possibly an emergency: go to an emergency department now or call 120; \
             hospital places for afterwards, highest tier first"
            .into(),
    };
    if home {
        format!("{base}; in your district")
    } else {
        format!("{base}; in {district}")
    }
}

impl Engine {
    /// The engine's complaint table (the bundled example until the host sets its own).
    pub fn complaint_table(&self) -> Arc<ComplaintTable> {
        self.complaints.read().clone()
    }

    /// Replace the complaint table that [`Engine::recommend`] looks complaints up in. It is
    /// host configuration, not booking state: it is neither journaled nor kept in snapshots, so
    /// a host sets it again after reopening a durable engine (as it sets its event sinks).
    pub fn set_complaint_table(&self, table: ComplaintTable) {
        *self.complaints.write() = Arc::new(table);
    }

    fn referral_valid_at(&self, r: &Referral, d: &Department, tier: Tier) -> bool {
        d.specialty == r.specialty
            && r.institution.is_none_or(|i| i == d.institution)
            && tier != Tier::Community
            && self.registry.institution(r.from).is_ok_and(|from| tier > from.tier)
    }

    /// Recommended departments and doctors for a complaint or a specialty, ranked (module
    /// `recommend.rs` has the rule and its reasons): with a referral, where it is valid first;
    /// then for a routine complaint community clinics first, for an urgent one the earliest
    /// place, for a possible emergency the highest tier (with the advice to go to an emergency
    /// department); within that the patient's district first, then the earliest free place,
    /// then the expected wait. At most `limit` rows, one per department; full departments are
    /// left out.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`]: both or neither of complaint and specialty (neither is
    /// allowed with a referral), a complaint no keyword of the table matches (the message never
    /// repeats the complaint), an unknown specialty or district, specialties no department
    /// offers, a referral without its patient, a date range longer than
    /// [`RECOMMEND_DAYS_MAX`], a limit outside 1 ..= [`RECOMMEND_LIMIT_MAX`].
    /// [`Error::NotFound`] for an unknown patient; [`Error::ReferralInvalid`] for a referral
    /// that is not the patient's, already used, or outside its validity.
    ///
    /// ```
    /// use haoyuan::*;
    /// let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// // 16:00 the day before the visit, after the 15:00 release.
    /// let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// let hospital = engine.add_institution("Qingdao Municipal Hospital", Tier::Tertiary, "Shinan")?;
    /// let clinic = engine.add_institution("Badaguan Community Clinic", Tier::Community, "Shinan")?;
    /// let respiratory = engine.add_department(hospital, "respiratory", "Respiratory medicine")?;
    /// let gp = engine.add_department(clinic, "general_practice", "General practice")?;
    /// let dr_wang = engine.add_resource(respiratory, ResourceKind::Doctor, "Dr Wang", false)?;
    /// let dr_sun = engine.add_resource(gp, ResourceKind::Doctor, "Dr Sun", false)?;
    /// engine.publish_slots(&[
    ///     SlotSpec { resource: dr_wang, date: day, start_min: 480, end_min: 510, capacity: 3 },
    ///     SlotSpec { resource: dr_sun, date: day, start_min: 600, end_min: 630, capacity: 3 },
    /// ])?;
    /// // A routine complaint (the bundled table: fever → general practice, respiratory): the
    /// // community clinic first, although the hospital's place is earlier.
    /// let rows = engine.recommend(&RecommendQuery::complaint("发烧两天", "Shinan", day, day))?;
    /// assert_eq!((rows[0].department, rows[0].reason), (gp, RecommendReason::CommunityFirst));
    /// assert_eq!((rows[1].department, rows[1].tier), (respiratory, Tier::Tertiary));
    /// // Shortness of breath may be an emergency: go now; the hospital ranks first.
    /// let rows = engine.recommend(&RecommendQuery::complaint("shortness of breath", "Shinan", day, day))?;
    /// assert_eq!((rows[0].department, rows[0].reason), (respiratory, RecommendReason::Emergency));
    /// assert!(engine.recommend(&RecommendQuery::complaint("fever", "Atlantis", day, day)).is_err());
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn recommend(&self, q: &RecommendQuery) -> Result<Vec<Recommendation>> {
        let pin = &crossbeam_epoch::pin();
        self.check_range(q.date_from, q.date_to)?;
        if q.date_to.0 - q.date_from.0 >= RECOMMEND_DAYS_MAX {
            return Err(Error::invalid(format!(
                "a recommendation searches at most {RECOMMEND_DAYS_MAX} days"
            )));
        }
        if q.limit == 0 || q.limit > RECOMMEND_LIMIT_MAX {
            return Err(Error::invalid(format!(
                "limit {} must be 1 ..= {RECOMMEND_LIMIT_MAX}",
                q.limit
            )));
        }
        let home = self
            .registry
            .find_district(&q.district)
            .ok_or_else(|| Error::invalid(format!("unknown district {:?}", q.district)))?;
        let now = self.now();

        // The patient: their referral, and their active bookings per department-day.
        let mut referral: Option<Referral> = None;
        let mut busy: Vec<(DepartmentId, Date)> = Vec::new();
        if let Some(p) = q.patient {
            let (_, state) = self.patients.lock(p)?;
            busy.extend(
                state
                    .bookings
                    .iter()
                    .filter(|b| b.state.is_active())
                    .map(|b| (b.department, b.date)),
            );
            if let Some(id) = q.referral {
                referral = Some(state.usable_referral(id, now)?.clone());
            }
        } else if q.referral.is_some() {
            return Err(Error::invalid("a referral needs its patient"));
        }

        // Specialties and urgency.
        let (names, mut urgency) = match (&q.complaint, &q.specialty) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid("give a complaint or a specialty, not both"))
            }
            (Some(c), None) => {
                let m = self.complaint_table().match_complaint(c)?.ok_or_else(|| {
                    Error::invalid(
                        "no keyword of the complaint table occurs in the complaint; ask for a specialty",
                    )
                })?;
                (m.specialties, m.urgency)
            }
            (None, Some(s)) => {
                if self.registry.find_specialty(s).is_none() {
                    return Err(Error::invalid(format!("unknown specialty {s:?}")));
                }
                (vec![s.clone()], Urgency::Routine)
            }
            (None, None) if referral.is_some() => (Vec::new(), Urgency::Routine),
            (None, None) => {
                return Err(Error::invalid("give a complaint, a specialty or a referral"))
            }
        };
        let mut specialties: Vec<SpecialtyId> =
            names.iter().filter_map(|n| self.registry.find_specialty(n)).collect();
        if let Some(r) = &referral {
            urgency = urgency.min(r.urgency);
            if !specialties.contains(&r.specialty) {
                specialties.push(r.specialty);
            }
        }
        if specialties.is_empty() {
            return Err(Error::invalid(format!(
                "no department of the region offers {}",
                names.join(", ")
            )));
        }

        // Candidates: per specialty and district, day by day over the group-day sets.
        let districts = self.registry.districts.count();
        let per_day = self.pol().limits.per_department_day as usize;
        let (mut memo, mut memo_referral) = (PoolsMemo::default(), PoolsMemo::default());
        let mut found: Vec<Candidate> = Vec::new();
        for &s in &specialties {
            for x in (0..districts).map(DistrictId::from_index) {
                let members = match self
                    .registry
                    .by_specialty_district
                    .get(&(s, x))
                    .map(|l| l.departments.clone())
                {
                    Some(m) if !m.is_empty() => m,
                    _ => continue,
                };
                // Per member: department, institution, tier, referral valid; None once found
                // (or a department the registry cannot name).
                let mut open: Vec<Option<(&Department, Tier, bool)>> = members
                    .iter()
                    .map(|&d| {
                        let dep = self.registry.department(d).ok()?;
                        let tier = self.registry.institution(dep.institution).ok()?.tier;
                        let valid =
                            referral.as_ref().is_some_and(|r| self.referral_valid_at(r, dep, tier));
                        Some((dep, tier, valid))
                    })
                    .collect();
                let mut date = q.date_from;
                while date <= q.date_to && open.iter().any(Option::is_some) {
                    let g = self.store.by_group_day.get(&(s, x, date)).map(|g| *g);
                    let Some(gd) = g.map(|g| self.store.group_day(g)) else {
                        date = date.plus_days(1);
                        continue;
                    };
                    for m in gd.free_members() {
                        let Some(Some((dep, tier, valid))) = open.get(m as usize).copied() else {
                            continue;
                        };
                        if per_day > 0
                            && busy.iter().filter(|&&(d, t)| d == dep.id && t == date).count()
                                >= per_day
                        {
                            continue;
                        }
                        let Some(list) = gd.counts(m).and_then(|c| self.store.day_list(c, pin))
                        else {
                            continue;
                        };
                        let memo = if valid { &mut memo_referral } else { &mut memo };
                        let day = self.day_free_memo(list, date, valid, now, memo);
                        if matches!(day, Some((0, _))) {
                            continue;
                        }
                        let earliest = list.slots.iter().find_map(|&id| {
                            let slot = self.store.get_in(id, pin)?;
                            let doctor = self
                                .registry
                                .resource(slot.resource)
                                .is_ok_and(|r| r.kind == ResourceKind::Doctor);
                            if !doctor {
                                return None;
                            }
                            let free = match day {
                                Some((_, pools)) => slot.free_in(pools.as_slice()),
                                None => self.free_now_memo(slot, valid, now, memo),
                            };
                            (free > 0).then(|| self.free_slot(id, slot, dep.id, free))
                        });
                        let Some(earliest) = earliest else { continue };
                        open[m as usize] = None;
                        let half = HalfDay::of_minute(earliest.start_min);
                        let wait = self.board.departments.get(&dep.id).and_then(|load| {
                            load.session(earliest.date, half)
                                .map(|_| load.figures(earliest.date, half).2)
                        });
                        found.push(Candidate {
                            department: dep.id,
                            institution: dep.institution,
                            tier,
                            district: x,
                            referral: valid,
                            earliest,
                            wait,
                        });
                    }
                    date = date.plus_days(1);
                }
            }
        }

        // Rank (see the module comment) and keep the first `limit`.
        let tier_key = |t: Tier| match urgency {
            Urgency::Routine => t as u8,
            Urgency::Urgent => 0,
            Urgency::Emergency => 4 - t as u8,
        };
        found.sort_by_key(|c| {
            (
                !c.referral,
                tier_key(c.tier),
                c.district != home,
                c.earliest.starts_at,
                c.wait.unwrap_or(u32::MAX),
                c.institution,
                c.department,
                c.earliest.resource,
            )
        });
        found.truncate(q.limit as usize);
        let mut out = Vec::with_capacity(found.len());
        for (i, c) in found.into_iter().enumerate() {
            let dep = self.registry.department(c.department)?;
            let inst = self.registry.institution(c.institution)?;
            let district = self.district_name(c.district)?;
            let reason = match urgency {
                _ if c.referral => RecommendReason::Referral,
                Urgency::Emergency => RecommendReason::Emergency,
                Urgency::Urgent => RecommendReason::Urgent,
                Urgency::Routine if c.tier == Tier::Community => RecommendReason::CommunityFirst,
                Urgency::Routine => RecommendReason::HigherTier,
            };
            let same_district = c.district == home;
            out.push(Recommendation {
                rank: i as u32 + 1,
                institution: c.institution,
                institution_name: inst.name.clone(),
                tier: c.tier,
                reason_text: reason_text(reason, &c, referral.as_ref(), &district, same_district),
                district,
                same_district,
                department: c.department,
                department_name: dep.name.clone(),
                specialty: self.specialty_name(dep.specialty)?,
                resource: c.earliest.resource,
                resource_name: self.registry.resource(c.earliest.resource)?.name.clone(),
                earliest: c.earliest,
                expected_wait_s: c.wait,
                urgency,
                reason,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AvailabilityQuery, ReferralRequest, Request, SlotSpec};
    use crate::time::Timestamp;
    use crate::EngineConfig;
    use rand::{Rng, SeedableRng};

    const OFFSET_S: i32 = 8 * 3600;

    fn day() -> Date {
        Date::from_ymd(2026, 11, 24).unwrap()
    }

    /// An engine at `at` (local, on `day() + days`).
    fn engine_at(days: i32, minute: u16) -> Engine {
        let t = Timestamp::from_local(day().plus_days(days), minute, OFFSET_S);
        Engine::with_manual_clock(EngineConfig::default(), t).unwrap()
    }

    /// A department with one doctor and one slot on `day()` at `start_min` with `places`.
    fn clinic(
        e: &Engine,
        name: &str,
        tier: Tier,
        district: &str,
        specialty: &str,
        start_min: u16,
        places: u16,
    ) -> (InstitutionId, DepartmentId, SlotId) {
        let i = e.add_institution(name, tier, district).unwrap();
        let d = e.add_department(i, specialty, specialty).unwrap();
        let r = e.add_resource(d, ResourceKind::Doctor, "Dr", false).unwrap();
        let s = e
            .publish_slots(&[SlotSpec {
                resource: r,
                date: day(),
                start_min,
                end_min: start_min + 30,
                capacity: places,
            }])
            .unwrap();
        (i, d, s.start)
    }

    fn departments(rows: &[Recommendation]) -> Vec<DepartmentId> {
        rows.iter().map(|r| r.department).collect()
    }

    #[test]
    fn routine_complaints_go_to_community_clinics_first_then_same_district_then_earliest() {
        let e = engine_at(-1, 16 * 60);
        let (_, tertiary, _) = clinic(&e, "T", Tier::Tertiary, "Shinan", "respiratory", 480, 3);
        let (_, secondary, _) = clinic(&e, "S", Tier::Secondary, "Shinan", "respiratory", 490, 3);
        let (_, far_gp, _) =
            clinic(&e, "C far", Tier::Community, "Laoshan", "general_practice", 420, 3);
        let (_, late_gp, _) =
            clinic(&e, "C late", Tier::Community, "Shinan", "general_practice", 600, 3);
        let (_, early_gp, _) =
            clinic(&e, "C early", Tier::Community, "Shinan", "general_practice", 540, 3);
        let rows =
            e.recommend(&RecommendQuery::complaint("cough", "Shinan", day(), day())).unwrap();
        assert_eq!(departments(&rows), [early_gp, late_gp, far_gp, secondary, tertiary]);
        assert_eq!(rows.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(rows[0].reason, RecommendReason::CommunityFirst);
        assert!(rows[0].same_district && rows[0].reason_text.contains("in your district"));
        assert!(!rows[2].same_district && rows[2].reason_text.contains("in Laoshan"));
        assert_eq!(
            (rows[3].reason, rows[3].urgency),
            (RecommendReason::HigherTier, Urgency::Routine)
        );
        assert_eq!((rows[0].earliest.start_min, rows[0].earliest.free), (540, 3));
        assert_eq!(rows[0].expected_wait_s, None, "nobody checked in: unknown");
        // The limit keeps the first rows.
        let mut q = RecommendQuery::complaint("cough", "Shinan", day(), day());
        q.limit = 2;
        assert_eq!(departments(&e.recommend(&q).unwrap()), [early_gp, late_gp]);
        // A specialty asked for by name is routine too.
        let rows = e
            .recommend(&RecommendQuery::specialty("respiratory", "Laoshan", day(), day()))
            .unwrap();
        assert_eq!(departments(&rows), [secondary, tertiary]);
    }

    #[test]
    fn full_clinics_are_skipped_and_expected_wait_comes_from_the_board() {
        let e = engine_at(-1, 16 * 60);
        let (_, gp1, s1) = clinic(&e, "C1", Tier::Community, "Shinan", "general_practice", 480, 2);
        let (_, gp2, s2) = clinic(&e, "C2", Tier::Community, "Shinan", "general_practice", 480, 3);
        let app = e.channel_id("app").unwrap();
        let q = RecommendQuery::complaint("fever", "Shinan", day(), day());
        assert_eq!(departments(&e.recommend(&q).unwrap()), [gp1, gp2], "ties broken by ids");
        for _ in 0..2 {
            e.book(&Request::new(e.register_patient().unwrap(), s1, app)).unwrap();
        }
        assert_eq!(departments(&e.recommend(&q).unwrap()), [gp2]);
        // Two patients checked in at C2's 08:00 session: 30 min / 3 places = 600 s each.
        let b: Vec<_> = (0..2)
            .map(|_| e.book(&Request::new(e.register_patient().unwrap(), s2, app)).unwrap())
            .collect();
        e.advance_to(Timestamp::from_local(day(), 7 * 60, OFFSET_S)).unwrap();
        for x in &b {
            e.check_in(x.id).unwrap();
        }
        let rows = e.recommend(&q).unwrap();
        assert_eq!(
            (rows[0].department, rows[0].earliest.free, rows[0].expected_wait_s),
            (gp2, 1, Some(1200))
        );
    }

    #[test]
    fn a_referral_ranks_its_higher_tier_first_and_opens_the_referral_pool() {
        // Ten days ahead: the public cannot book yet, a referral can (the referral pool).
        let e = engine_at(-10, 10 * 60);
        let (c, gp, _) = clinic(&e, "C", Tier::Community, "Shinan", "general_practice", 480, 4);
        let (_, card_s, _) = clinic(&e, "S", Tier::Secondary, "Shinan", "cardiology", 480, 10);
        let (t, card_t, _) = clinic(&e, "T", Tier::Tertiary, "Laoshan", "cardiology", 420, 10);
        let p = e.register_patient().unwrap();
        let q = RecommendQuery::specialty("cardiology", "Shinan", day(), day());
        assert!(e.recommend(&q).unwrap().is_empty(), "nothing open to the public yet");
        let r = e
            .issue_referral(&ReferralRequest {
                patient: p,
                from: c,
                specialty: "cardiology".into(),
                institution: None,
                urgency: Urgency::Routine,
                valid_days: 30,
            })
            .unwrap();
        let mut q = RecommendQuery { patient: Some(p), referral: Some(r.id), ..q };
        let rows = e.recommend(&q).unwrap();
        assert_eq!(departments(&rows), [card_s, card_t], "same district first, then earliest");
        assert!(rows.iter().all(|x| x.reason == RecommendReason::Referral && x.earliest.free == 3));
        assert!(rows[0].reason_text.contains("routine referral is valid here (secondary care)"));
        // Neither complaint nor specialty: the referral's specialty; a complaint adds its own.
        q.specialty = None;
        assert_eq!(departments(&e.recommend(&q).unwrap()), [card_s, card_t]);
        // A referral naming the tertiary hospital: only there is it valid.
        let named = e
            .issue_referral(&ReferralRequest {
                patient: p,
                from: c,
                specialty: "cardiology".into(),
                institution: Some(t),
                urgency: Urgency::Urgent,
                valid_days: 30,
            })
            .unwrap();
        q.referral = Some(named.id);
        let rows = e.recommend(&q).unwrap();
        assert_eq!(departments(&rows), [card_t]);
        assert_eq!((rows[0].urgency, rows[0].reason), (Urgency::Urgent, RecommendReason::Referral));
        // After the public release, the referral's hospital first; the rest by the urgency.
        e.advance_to(Timestamp::from_local(day().plus_days(-1), 16 * 60, OFFSET_S)).unwrap();
        q.complaint = Some("palpitations".into()); // general practice, cardiology; routine
        let rows = e.recommend(&q).unwrap();
        assert_eq!(departments(&rows), [card_t, gp, card_s]);
        assert_eq!(
            rows.iter().map(|r| r.reason).collect::<Vec<_>>(),
            [RecommendReason::Referral, RecommendReason::Urgent, RecommendReason::Urgent]
        );
    }

    #[test]
    fn urgent_complaints_take_the_earliest_place_and_emergencies_the_highest_tier() {
        let e = engine_at(-1, 16 * 60);
        let (_, gp, _) = clinic(&e, "C", Tier::Community, "Shinan", "general_practice", 420, 3);
        let (_, resp_s, _) = clinic(&e, "S", Tier::Secondary, "Shinan", "respiratory", 480, 3);
        let (_, resp_t, _) = clinic(&e, "T", Tier::Tertiary, "Shinan", "respiratory", 540, 3);
        let (_, card_t, _) = clinic(&e, "T2", Tier::Tertiary, "Shinan", "cardiology", 600, 3);
        let urgent =
            e.recommend(&RecommendQuery::complaint("high fever", "Shinan", day(), day())).unwrap();
        assert_eq!(departments(&urgent), [gp, resp_s, resp_t]);
        assert!(urgent
            .iter()
            .all(|r| r.reason == RecommendReason::Urgent && r.urgency == Urgency::Urgent));
        let emergency =
            e.recommend(&RecommendQuery::complaint("呼吸困难", "Shinan", day(), day())).unwrap();
        assert_eq!(departments(&emergency), [resp_t, card_t, resp_s]);
        assert!(emergency.iter().all(|r| r.reason == RecommendReason::Emergency));
        assert!(emergency[0].reason_text.contains("emergency department now"));
    }

    #[test]
    fn a_patient_is_not_recommended_a_department_day_a_limit_would_refuse() {
        let e = engine_at(-1, 16 * 60);
        let (_, gp1, s1) = clinic(&e, "C1", Tier::Community, "Shinan", "general_practice", 480, 3);
        let (_, gp2, _) = clinic(&e, "C2", Tier::Community, "Shinan", "general_practice", 540, 3);
        let p = e.register_patient().unwrap();
        e.book(&Request::new(p, s1, e.channel_id("app").unwrap())).unwrap();
        let q = RecommendQuery::complaint("cough", "Shinan", day(), day());
        assert_eq!(departments(&e.recommend(&q).unwrap()), [gp1, gp2]);
        let q = RecommendQuery { patient: Some(p), ..q };
        assert_eq!(departments(&e.recommend(&q).unwrap()), [gp2]);
    }

    #[test]
    fn bad_queries_are_typed_errors() {
        let e = engine_at(-1, 16 * 60);
        let (c, _, _) = clinic(&e, "C", Tier::Community, "Shinan", "general_practice", 480, 3);
        clinic(&e, "T", Tier::Tertiary, "Shinan", "dermatology", 480, 3);
        let (p, other) = (e.register_patient().unwrap(), e.register_patient().unwrap());
        let r = e
            .issue_referral(&ReferralRequest {
                patient: p,
                from: c,
                specialty: "dermatology".into(),
                institution: None,
                urgency: Urgency::Routine,
                valid_days: 1,
            })
            .unwrap();
        let ok = RecommendQuery::complaint("cough", "Shinan", day(), day());
        assert!(e.recommend(&ok).is_ok());
        let invalid = |q: RecommendQuery, what: &str| {
            let err = e.recommend(&q).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(ref m) if m.contains(what)), "{err}");
        };
        invalid(RecommendQuery { specialty: Some("x".into()), ..ok.clone() }, "not both");
        invalid(RecommendQuery { complaint: None, ..ok.clone() }, "a complaint, a specialty");
        invalid(RecommendQuery { district: "Atlantis".into(), ..ok.clone() }, "unknown district");
        invalid(
            RecommendQuery::specialty("astrology", "Shinan", day(), day()),
            "unknown specialty",
        );
        invalid(RecommendQuery::complaint("my secret", "Shinan", day(), day()), "no keyword");
        invalid(RecommendQuery::complaint("toothache", "Shinan", day(), day()), "stomatology");
        invalid(RecommendQuery::complaint(" ", "Shinan", day(), day()), "empty");
        invalid(RecommendQuery { limit: 0, ..ok.clone() }, "limit");
        invalid(RecommendQuery { limit: RECOMMEND_LIMIT_MAX + 1, ..ok.clone() }, "limit");
        invalid(
            RecommendQuery { date_to: day().plus_days(RECOMMEND_DAYS_MAX), ..ok.clone() },
            "days",
        );
        invalid(RecommendQuery { date_to: day().plus_days(-1), ..ok.clone() }, "ordered");
        invalid(RecommendQuery { referral: Some(r.id), ..ok.clone() }, "needs its patient");
        let err = e.recommend(&RecommendQuery { patient: Some(PatientId(999)), ..ok.clone() });
        assert!(matches!(err, Err(Error::NotFound { .. })), "{err:?}");
        let q = RecommendQuery { patient: Some(other), referral: Some(r.id), ..ok.clone() };
        assert!(matches!(e.recommend(&q), Err(Error::ReferralInvalid { .. })));
        e.advance_clock(2 * crate::time::DAY_S).unwrap();
        let q = RecommendQuery { patient: Some(p), referral: Some(r.id), ..ok.clone() };
        let err = e.recommend(&q).unwrap_err();
        assert!(
            matches!(err, Error::ReferralInvalid { ref reason, .. } if reason.contains("validity"))
        );
        // A host's own table replaces the bundled one.
        e.set_complaint_table(
            ComplaintTable::from_json(
                r#"{"complaints": [{"keywords": ["itchy"], "specialties": ["dermatology"], "urgency": "routine"}]}"#,
            )
            .unwrap(),
        );
        assert_eq!(e.complaint_table().entries().len(), 1);
        let err = e.recommend(&RecommendQuery::complaint("cough", "Shinan", day(), day()));
        assert!(err.is_err());
    }

    /// Random worlds: every recommended place is free now for this requester (`find_free_slots`
    /// lists it with the same count), it is its department's earliest free doctor's place, every
    /// department with a free doctor's place is recommended, and the rows are in rank order.
    #[test]
    fn every_recommended_place_is_really_free_and_the_earliest() {
        let mut total = 0;
        for seed in 0..12u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let e = engine_at(-1, 16 * 60);
            let app = e.channel_id("app").unwrap();
            let districts = ["Shinan", "Shibei", "Laoshan"];
            let specialties = ["general_practice", "respiratory"];
            let mut doctors = Vec::new();
            for i in 0..rng.random_range(3..12) {
                let tier =
                    [Tier::Community, Tier::Secondary, Tier::Tertiary][rng.random_range(0..3)];
                let inst = e
                    .add_institution(
                        &format!("I{i}"),
                        tier,
                        districts[if i == 0 { 0 } else { rng.random_range(0..3) }],
                    )
                    .unwrap();
                let dep = e.add_department(inst, specialties[rng.random_range(0..2)], "D").unwrap();
                for k in 0..rng.random_range(1..4) {
                    let kind = if k == 2 { ResourceKind::Bed } else { ResourceKind::Doctor };
                    doctors.push(e.add_resource(dep, kind, "R", false).unwrap());
                }
            }
            let mut specs = Vec::new();
            for &r in &doctors {
                for d in 0..3 {
                    for s in 0..rng.random_range(0..4u16) {
                        let start_min = 480 + s * 30;
                        let capacity = rng.random_range(1..4);
                        specs.push(SlotSpec {
                            resource: r,
                            date: day().plus_days(d),
                            start_min,
                            end_min: start_min + 30,
                            capacity,
                        });
                    }
                }
            }
            let range = e.publish_slots(&specs).unwrap();
            for id in range.iter() {
                while rng.random_bool(0.5) {
                    let p = e.register_patient().unwrap();
                    if e.book(&Request::new(p, id, app)).is_err() {
                        break;
                    }
                }
            }
            let (from, to) = (day(), day().plus_days(2));
            let mut q = RecommendQuery::complaint("cough", "Shinan", from, to);
            q.limit = RECOMMEND_LIMIT_MAX;
            let rows = e.recommend(&q).unwrap();
            let mut expected = Vec::new();
            for (_, dep) in e.registry.departments.iter() {
                let mut a = AvailabilityQuery::department(dep.id, from, to);
                a.limit = 1000;
                let free: Vec<_> = e
                    .find_free_slots(&a)
                    .unwrap()
                    .into_iter()
                    .filter(|f| e.resource(f.resource).unwrap().kind == ResourceKind::Doctor)
                    .collect();
                if let Some(first) = free.first() {
                    expected.push(dep.id);
                    let row = rows.iter().find(|r| r.department == dep.id);
                    let row = row.unwrap_or_else(|| panic!("seed {seed}: {} missing", dep.id));
                    assert!(
                        free.contains(&row.earliest),
                        "seed {seed}: {:?} not free",
                        row.earliest
                    );
                    assert_eq!(
                        row.earliest.starts_at, first.starts_at,
                        "seed {seed}: not the earliest"
                    );
                }
            }
            assert_eq!(rows.len(), expected.len(), "seed {seed}: only departments with a place");
            let key = |r: &Recommendation| {
                (r.tier, !r.same_district, r.earliest.starts_at, r.institution, r.department)
            };
            assert!(rows.windows(2).all(|w| key(&w[0]) < key(&w[1])), "seed {seed}: rank order");
            assert!(rows.iter().enumerate().all(|(i, r)| r.rank == i as u32 + 1));
            total += rows.len();
        }
        assert!(total >= 30, "the worlds recommend something: {total}");
    }
}
