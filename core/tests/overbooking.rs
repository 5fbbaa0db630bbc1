//! No-show-driven overbooking (`Engine::calibrate_overbooking`, core/src/overbooking.rs):
//! extra places only where measured no-shows justify them, within a target overflow risk,
//! applied by a journaled policy change to slots published afterwards.

use haoyuan::*;

const OFFSET: i32 = 8 * 3600;
const PLACES: u16 = 10;

fn day(n: i32) -> Date {
    Date::from_ymd(2026, 11, 2).unwrap().plus_days(n)
}

fn session_policy() -> Policy {
    let mut p = Policy::default();
    p.overbooking.spread = OverbookingSpread::Session;
    p
}

struct Clinic {
    /// 30% of its patients do not come.
    dr_a: ResourceId,
    /// Every patient comes.
    dr_b: ResourceId,
    /// Seen by no one yet.
    dr_new: ResourceId,
}

fn clinic(e: &Engine) -> Clinic {
    let h = e.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng").unwrap();
    let d = e.add_department(h, "internal", "Internal medicine").unwrap();
    Clinic {
        dr_a: e.add_resource(d, ResourceKind::Doctor, "Dr An", false).unwrap(),
        dr_b: e.add_resource(d, ResourceKind::Doctor, "Dr Bai", false).unwrap(),
        dr_new: e.add_resource(d, ResourceKind::Doctor, "Dr Niu", false).unwrap(),
    }
}

/// A morning of ten one-place segments (the shape on which per-slot overbooking adds nothing).
fn morning(resource: ResourceId, date: Date) -> Vec<SlotSpec> {
    (0..PLACES)
        .map(|i| SlotSpec {
            resource,
            date,
            start_min: 480 + 15 * i,
            end_min: 495 + 15 * i,
            capacity: 1,
        })
        .collect()
}

/// Places (pool sizes, overbooking included) of a resource-day.
fn day_places(e: &Engine, r: ResourceId, date: Date) -> u32 {
    e.resource_day_slots(r, date)
        .unwrap()
        .iter()
        .map(|id| e.slot(*id).unwrap().pool_places.total())
        .sum()
}

/// `days` days of full mornings for Dr A and Dr B: every place booked the evening before, then
/// at the end of the morning Dr A's patients 3, 6 and 9 of ten missed, everyone else seen.
fn run_days(e: &Engine, c: &Clinic, days: i32) {
    let app = e.channel_id("app").unwrap();
    for n in 0..days {
        e.advance_to(Timestamp::from_local(day(n - 1), 16 * 60, OFFSET)).unwrap();
        let mut booked = Vec::new();
        for r in [c.dr_a, c.dr_b] {
            e.publish_slots(&morning(r, day(n))).unwrap();
            for (i, s) in e.resource_day_slots(r, day(n)).unwrap().into_iter().enumerate() {
                let p = e.register_patient().unwrap();
                booked.push((r, i, e.book(&Request::new(p, s, app)).unwrap().id));
            }
        }
        e.advance_to(Timestamp::from_local(day(n), 13 * 60, OFFSET)).unwrap();
        for (r, i, id) in booked {
            if r == c.dr_a && i % 3 == 2 {
                e.mark_no_show(id).unwrap();
            } else {
                e.check_in(id).unwrap();
                e.fulfil(id).unwrap();
            }
        }
    }
}

fn engine() -> (Engine, Clinic) {
    let config =
        EngineConfig { policy: session_policy(), utc_offset_s: OFFSET, ..Default::default() };
    let e =
        Engine::with_manual_clock(config, Timestamp::from_local(day(-1), 9 * 60, OFFSET)).unwrap();
    let c = clinic(&e);
    (e, c)
}

#[test]
fn extra_places_go_where_no_shows_justify_them_within_the_risk() {
    let (e, c) = engine();
    e.publish_slots(&morning(c.dr_new, day(0))).unwrap();
    run_days(&e, &c, 6); // 60 outcomes each: Dr A 18 no-shows (30%), Dr B none
    let calibration =
        OverbookingCalibration { overflow_risk: 0.05, min_outcomes: 50, max_ratio: 0.5 };
    let sub = e.subscribe();
    let report = e.calibrate_overbooking(&calibration).unwrap();
    assert!(report.policy_changed);
    assert_eq!(report.skipped, 1, "Dr Niu has no outcome yet");
    let line = |r: ResourceId| report.resources.iter().find(|x| x.resource == r).unwrap().clone();
    let (a, b) = (line(c.dr_a), line(c.dr_b));
    assert_eq!((a.outcomes, a.places, b.places), (60, 10, 10));
    assert!((a.no_show_rate - 0.3).abs() < 1e-12 && b.no_show_rate == 0.0);
    // The allowance is the largest within the risk: one more would be over it.
    assert!(a.extra > 0 && a.overflow_risk <= 0.05, "{a:?}");
    assert!((a.overflow_risk - overflow_probability(10 + a.extra, 0.7, 10)).abs() < 1e-12);
    assert!(a.extra == 5 || overflow_probability(10 + a.extra + 1, 0.7, 10) > 0.05, "{a:?}");
    assert_eq!((b.extra, b.ratio), (0, 0.0), "everyone comes: no extra place");
    // One journaled policy change, holding the ratios.
    let changes: Vec<Event> =
        sub.try_iter().filter(|ev| matches!(ev.kind, EventKind::PolicyChanged { .. })).collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(e.policy().overbooking.by_resource.get(&c.dr_a.0), Some(&a.ratio));
    // Never retroactive: what was published keeps its places; the next mornings get the extra.
    assert_eq!(day_places(&e, c.dr_new, day(0)), 10);
    e.publish_slots(&morning(c.dr_a, day(7))).unwrap();
    e.publish_slots(&morning(c.dr_b, day(7))).unwrap();
    assert_eq!(day_places(&e, c.dr_a, day(7)), 10 + a.extra, "on one-place segments too");
    assert_eq!(day_places(&e, c.dr_b, day(7)), 10);
    // The same measurements again: nothing to change, no policy change.
    let again = e.calibrate_overbooking(&calibration).unwrap();
    assert_eq!((again.policy_changed, again.resources), (false, report.resources));
    // A stricter risk takes places away again.
    let strict = e
        .calibrate_overbooking(&OverbookingCalibration { overflow_risk: 0.001, ..calibration })
        .unwrap();
    assert!(strict.policy_changed);
    assert!(line_of(&strict, c.dr_a).extra < a.extra);
}

fn line_of(r: &OverbookingReport, id: ResourceId) -> ResourceOverbooking {
    r.resources.iter().find(|x| x.resource == id).unwrap().clone()
}

#[test]
fn bad_calibrations_are_typed_errors_and_change_nothing() {
    let (e, c) = engine();
    run_days(&e, &c, 5);
    let before = e.policy().clone();
    let seq = e.last_event_seq();
    let ok = OverbookingCalibration { min_outcomes: 10, ..Default::default() };
    for bad in [
        OverbookingCalibration { overflow_risk: 0.0, ..ok.clone() },
        OverbookingCalibration { overflow_risk: 1.0, ..ok.clone() },
        OverbookingCalibration { overflow_risk: f64::NAN, ..ok.clone() },
        OverbookingCalibration { max_ratio: 1.5, ..ok.clone() },
        OverbookingCalibration { max_ratio: -0.1, ..ok.clone() },
        OverbookingCalibration { max_ratio: f32::NAN, ..ok.clone() },
    ] {
        let err = e.calibrate_overbooking(&bad).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{bad:?}: {err}");
    }
    // Per-slot counting would give one-place segments nothing: refused, not silently useless.
    let mut slot_spread = e.policy().clone();
    slot_spread.overbooking.spread = OverbookingSpread::Slot;
    e.set_policy(slot_spread.clone()).unwrap();
    let err = e.calibrate_overbooking(&ok).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidPolicy, "{err}");
    assert_eq!(e.policy(), &slot_spread);
    assert_eq!(e.last_event_seq(), seq + 1, "only the test's own policy change");
    let _ = before;
}

#[test]
fn a_calibration_survives_the_journal_and_replays_to_the_same_pools() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("overbooking-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let open = || {
        DurableEngine::open(
            &dir,
            OpenOptions::new(Durability::Sync)
                .config(EngineConfig {
                    policy: session_policy(),
                    utc_offset_s: OFFSET,
                    card_key: Some(CardKey::from_bytes(&[5; 32]).unwrap()),
                })
                .clock(ClockKind::Manual(Timestamp::from_local(day(-1), 9 * 60, OFFSET))),
        )
        .unwrap()
    };
    let (state, policy, extra) = {
        let d = open();
        let c = clinic(&d);
        run_days(&d, &c, 6);
        let report = d.calibrate_overbooking(&OverbookingCalibration::default()).unwrap();
        d.publish_slots(&morning(c.dr_a, day(7))).unwrap();
        let extra = day_places(&d, c.dr_a, day(7)) - 10;
        assert_eq!(extra, line_of(&report, c.dr_a).extra);
        let out = (debug_state(&d), d.policy().clone(), extra);
        d.close().unwrap();
        out
    };
    assert!(extra > 0);
    let d = open();
    assert_eq!(d.policy(), &policy);
    assert_eq!(debug_state(&d), state);
    d.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Targets by tier, specialty and institution name: the engine resolves them at publication,
/// after `by_resource` and `by_department`, the last matching target winning.
#[test]
fn targets_by_names_reach_the_departments_they_name() {
    let mut policy = session_policy();
    policy.overbooking.ratio = 0.0;
    let target =
        |tier, specialty: Option<&str>, institution: Option<&str>, ratio| OverbookingTarget {
            tier,
            specialty: specialty.map(Into::into),
            institution: institution.map(Into::into),
            ratio,
        };
    policy.overbooking.targets = vec![
        target(Some(Tier::Tertiary), None, None, 0.2),
        target(None, Some("paediatrics"), Some("Dongguan People's Hospital"), 0.5),
        target(None, Some("astrology"), None, 1.0), // matches nothing: no effect
    ];
    let config = EngineConfig { policy, utc_offset_s: OFFSET, ..Default::default() };
    let e =
        Engine::with_manual_clock(config, Timestamp::from_local(day(-1), 9 * 60, OFFSET)).unwrap();
    let h = e.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng").unwrap();
    let c = e.add_institution("Nancheng Clinic", Tier::Community, "Nancheng").unwrap();
    let internal = e.add_department(h, "internal", "Internal medicine").unwrap();
    let paed = e.add_department(h, "paediatrics", "Paediatrics").unwrap();
    let clinic = e.add_department(c, "paediatrics", "Children's clinic").unwrap();
    let doctor = |d, name| e.add_resource(d, ResourceKind::Doctor, name, false).unwrap();
    let (dr_i, dr_p, dr_c) =
        (doctor(internal, "Dr I"), doctor(paed, "Dr P"), doctor(clinic, "Dr C"));
    for r in [dr_i, dr_p, dr_c] {
        e.publish_slots(&morning(r, day(0))).unwrap();
    }
    // Tertiary: 20%; the named hospital's paediatrics: 50% (the later target); the clinic: none.
    assert_eq!([dr_i, dr_p, dr_c].map(|r| day_places(&e, r, day(0))), [12, 15, 10]);
    // A by_department entry comes before every target.
    let mut p = e.policy().clone();
    p.overbooking.by_department.insert(paed.0, 0.1);
    e.set_policy(p).unwrap();
    e.publish_slots(&morning(dr_p, day(1))).unwrap();
    assert_eq!(day_places(&e, dr_p, day(1)), 11);
    // Out-of-range target ratios are refused as a policy.
    let mut bad = e.policy().clone();
    bad.overbooking.targets.push(target(None, None, None, 1.5));
    assert_eq!(e.set_policy(bad).unwrap_err().code(), ErrorCode::InvalidPolicy);
}
