//! Runs from data (issue 15, item 8): the simulator driven by recorded arrivals. A replay of
//! the synthetic demand's own arrivals makes exactly its requests and agrees with it
//! statistically (its dice are drawn anew: the synthetic sampler interleaves them with the
//! arrivals' own draws, so no recording can reproduce them); a replay is deterministic for a
//! seed whatever the order of its rows; two policies on one recorded month differ; every bad
//! row is a typed error naming it, never a panic.

use haoyuan::*;
use haoyuan_sim::*;

fn quiet(_: u64, _: u64) -> Result<()> {
    Ok(())
}

fn demand() -> DemandSpec {
    DemandSpec { requests_per_day: 700.0, population: 5_000, ..DemandSpec::default() }
}

fn json(r: &SimResult) -> String {
    // Serialised, so that every f64 is compared bit for bit (NaN included).
    serde_json::to_string(&r.without_timing()).unwrap()
}

fn measured(rec: &Recorded) -> u64 {
    rec.arrivals.iter().filter(|a| a.day >= 0).count() as u64
}

#[test]
fn a_replay_of_the_synthetic_arrivals_makes_the_same_requests() {
    let (region, d) = (RegionSpec::small(), demand());
    let mut policy = SimPolicy::default();
    policy.engine.lottery.window_s = 60;
    let window = Window::days(14);
    let rec = synthetic_arrivals(&region, &d, &policy, window, 5).unwrap();
    let warm = window.warmup_for(&region, &d, &policy) as i32;
    assert!(rec.arrivals.iter().any(|a| a.day == -warm), "the warm-up's arrivals are exported");
    assert!(rec.arrivals.iter().all(|a| (-warm..14).contains(&a.day)));
    let syn = simulate(&region, &d, &policy, window, 5, &quiet).unwrap();
    let rep = simulate_recorded(&region, &d, &policy, window, 5, &rec, &quiet).unwrap();
    // What depends on the arrivals alone is equal: requests by district (homes come from the
    // seed), by channel, at the release by class, referrals by urgency.
    assert_eq!(rep.counts.requests, measured(&rec));
    assert_eq!(rep.counts.requests, syn.counts.requests);
    let requests = |f: &Fairness| f.groups.iter().map(|g| g.requests).collect::<Vec<_>>();
    assert_eq!(requests(&rep.fairness_districts), requests(&syn.fairness_districts));
    assert_eq!(requests(&rep.fairness_channels), requests(&syn.fairness_channels));
    let release = |r: &SimResult| r.release.iter().map(|c| c.requests).collect::<Vec<_>>();
    assert_eq!(release(&rep), release(&syn));
    let referrals = |r: &SimResult| r.referral_lead.iter().map(|c| c.requests).collect::<Vec<_>>();
    assert_eq!(referrals(&rep), referrals(&syn));
    assert_eq!(rep.counts.anomalies, 0, "{:?}", rep.notes);
    assert!(rep.warnings.iter().all(|w| !w.contains("recorded")), "{:?}", rep.warnings);
    // The rest agrees as two replications would: about 9,000 measured requests, shares that
    // moved by at most 0.01 between replay and synthetic run on seeds 5 ..= 8; three times that.
    let close = |what: &str, a: f64, b: f64, tol: f64| {
        assert!((a - b).abs() <= tol, "{what}: replay {a} vs synthetic {b}");
    };
    close("utilisation", rep.total.utilisation, syn.total.utilisation, 0.03);
    close("booking rate", rep.total.booking_rate, syn.total.booking_rate, 0.03);
    close("no-show rate", rep.no_show_rate, syn.no_show_rate, 0.02);
    let served = |r: &SimResult| r.counts.served as f64 / r.counts.requests as f64;
    close("served share", served(&rep), served(&syn), 0.03);
    assert_ne!(json(&rep), json(&syn), "the dice are drawn anew");
}

#[test]
fn a_replay_is_deterministic_whatever_the_row_order() {
    let (region, d, policy) = (RegionSpec::small(), demand(), SimPolicy::default());
    let window = Window::days(7).warmup(14);
    let rec = synthetic_arrivals(&region, &d, &policy, window, 3).unwrap();
    let a = simulate_recorded(&region, &d, &policy, window, 3, &rec, &quiet).unwrap();
    let b = simulate_recorded(&region, &d, &policy, window, 3, &rec, &quiet).unwrap();
    assert_eq!(json(&a), json(&b));
    // The same rows backwards and interleaved: ranks come from the rows, not their order.
    let mut shuffled = rec.clone();
    shuffled.arrivals.reverse();
    let n = shuffled.arrivals.len();
    for i in (0..n).step_by(7) {
        shuffled.arrivals.swap(i, (i * 31 + 5) % n);
    }
    let c = simulate_recorded(&region, &d, &policy, window, 3, &shuffled, &quiet).unwrap();
    assert_eq!(json(&a), json(&c));
    let other_seed = simulate_recorded(&region, &d, &policy, window, 4, &rec, &quiet).unwrap();
    assert_ne!(json(&a), json(&other_seed), "another seed must give other dice");
    assert_eq!(other_seed.counts.requests, a.counts.requests);
}

#[test]
fn two_policies_on_one_recorded_month_differ() {
    let (region, d) = (RegionSpec::small(), DemandSpec { requests_per_day: 1200.0, ..demand() });
    let window = Window::days(14);
    let month = synthetic_arrivals(&region, &d, &SimPolicy::default(), window, 11).unwrap();
    let policies = vec![
        ("unified".to_string(), SimPolicy::default()),
        ("islands".into(), SimPolicy::islands()),
    ];
    let runs = compare_recorded(&region, &d, &policies, window, 2, 11, &month, &quiet).unwrap();
    assert_eq!(runs.len(), 4);
    let order: Vec<(&str, u32)> = runs.iter().map(|r| (r.policy.as_str(), r.replication)).collect();
    assert_eq!(order, [("unified", 0), ("unified", 1), ("islands", 0), ("islands", 1)]);
    for r in &runs {
        assert_eq!(r.result.counts.requests, measured(&month), "{}", r.policy);
        assert_eq!(r.result.counts.anomalies, 0, "{:?}", r.result.notes);
    }
    let (unified, islands) = (&runs[0].result, &runs[2].result);
    assert!(unified.counts.took_alternative > 0);
    assert_eq!(islands.counts.took_alternative, 0, "islands show no alternatives");
    assert!(
        unified.counts.served > islands.counts.served,
        "a shared pool serves more of the same demand: {} vs {}",
        unified.counts.served,
        islands.counts.served
    );
    // A comparison's run is the run alone with the replication's seed (common random numbers).
    let alone = simulate_recorded(
        &region,
        &d,
        &SimPolicy::islands(),
        window,
        replication_seed(11, 1),
        &month,
        &quiet,
    )
    .unwrap();
    assert_eq!(json(&alone), json(&runs[3].result));
}

#[test]
fn a_warm_up_without_recorded_demand_is_said() {
    let (region, d, policy) = (RegionSpec::small(), demand(), SimPolicy::default());
    let window = Window::days(5).warmup(10);
    let full = synthetic_arrivals(&region, &d, &policy, window, 2).unwrap();
    let only = |from: i32| Recorded {
        arrivals: full.arrivals.iter().filter(|a| a.day >= from).cloned().collect(),
    };
    let none = simulate_recorded(&region, &d, &policy, window, 2, &only(0), &quiet).unwrap();
    assert!(none.warnings.iter().any(|w| w.contains("warm-up had no recorded demand")));
    let part = simulate_recorded(&region, &d, &policy, window, 2, &only(-4), &quiet).unwrap();
    assert!(
        part.warnings.iter().any(|w| w.contains("starts on day -4, 6 days into the 10-day")),
        "{:?}",
        part.warnings
    );
    let all = simulate_recorded(&region, &d, &policy, window, 2, &full, &quiet).unwrap();
    assert!(all.warnings.iter().all(|w| !w.contains("recorded")), "{:?}", all.warnings);
    // An empty recording runs (nothing happens) and says so.
    let empty =
        simulate_recorded(&region, &d, &policy, window, 2, &Recorded::default(), &quiet).unwrap();
    assert_eq!(empty.counts.requests, 0);
    assert!(empty.warnings.iter().any(|w| w.contains("no measured request was served")));
}

#[test]
fn arrivals_before_a_later_release_wait_for_it() {
    let (region, d) = (RegionSpec::small(), demand());
    let mut policy = SimPolicy::default();
    policy.engine.window.release_at_min = 20 * 60;
    let window = Window::days(2).warmup(0);
    let at = |at_s: u32| Arrival {
        day: 0,
        at_s,
        patient: 1,
        specialty: "internal_medicine".into(),
        kind: "general".into(),
        channel: "app".into(),
        at_release: true,
    };
    let rec = Recorded { arrivals: vec![at(15 * 3600 + 5), at(20 * 3600 + 5)] };
    let r = simulate_recorded(&region, &d, &policy, window, 1, &rec, &quiet).unwrap();
    assert_eq!(r.counts.requests, 2);
    assert_eq!(r.release.iter().map(|c| c.requests).sum::<u64>(), 2);
    assert!(r.warnings.iter().any(|w| w.starts_with("1 arrivals at_release")), "{:?}", r.warnings);
    assert_eq!(r.counts.anomalies, 0, "{:?}", r.notes);
}

#[test]
fn every_bad_row_is_an_error_naming_it() {
    let (region, d, policy) = (RegionSpec::small(), demand(), SimPolicy::default());
    let window = Window::days(3).warmup(5);
    let good = Arrival {
        day: 0,
        at_s: 9 * 3600,
        patient: 7,
        specialty: "paediatrics".into(),
        kind: "referral_urgent".into(),
        channel: "clinic".into(),
        at_release: false,
    };
    let run = |bad: Arrival| {
        let rec = Recorded { arrivals: vec![good.clone(), good.clone(), bad] };
        simulate_recorded(&region, &d, &policy, window, 1, &rec, &quiet)
    };
    assert!(run(good.clone()).is_ok());
    let cases: Vec<(Arrival, &str)> = vec![
        (
            Arrival { specialty: "astrology".into(), ..good.clone() },
            "specialty \"astrology\" is not one of the region's",
        ),
        (
            Arrival { kind: "walk_in".into(), ..good.clone() },
            "kind \"walk_in\" is not one of general, follow_up",
        ),
        (
            Arrival { channel: "fax".into(), ..good.clone() },
            "channel \"fax\" is not one of the run's",
        ),
        (
            Arrival { patient: 5_000, ..good.clone() },
            "patient 5000 is not below the demand's population 5000",
        ),
        (
            Arrival { day: -6, ..good.clone() },
            "day -6 is outside the run: warm-up days -5 ..= -1, measured days 0 ..= 2",
        ),
        (Arrival { day: 3, ..good.clone() }, "day 3 is outside the run"),
        (Arrival { day: i32::MIN, ..good.clone() }, "is outside the run"),
        (Arrival { at_s: 86_400, ..good.clone() }, "at_s 86400 is not a second of the day"),
        (Arrival { at_s: u32::MAX, ..good.clone() }, "is not a second of the day"),
    ];
    for (bad, expected) in cases {
        let what = format!("{bad:?}");
        match run(bad) {
            Err(Error::InvalidArgument(m)) => {
                assert!(m.starts_with("recorded arrival 2 ("), "{what}: {m}");
                assert!(m.contains(expected), "{what}: {m}");
            }
            other => panic!("{what}: expected InvalidArgument, got {other:?}"),
        }
    }
    // A region whose clinics offer a 7th specialty no hospital has, and an 8th nobody offers:
    // the model does not match the city that recorded the demand.
    let mut odd = RegionSpec::small();
    odd.specialties.extend(["dermatology".to_string(), "ent".to_string()]);
    odd.community.departments = 7;
    let on_odd = |a: Arrival| {
        let rec = Recorded { arrivals: vec![a] };
        simulate_recorded(&odd, &d, &policy, window, 1, &rec, &quiet).unwrap_err().to_string()
    };
    let derm = Arrival { specialty: "dermatology".into(), ..good.clone() };
    assert!(on_odd(derm.clone()).contains("which no secondary or tertiary institution"));
    let derm_general = Arrival { kind: "general".into(), channel: "app".into(), ..derm };
    let rec = Recorded { arrivals: vec![derm_general] };
    let r = simulate_recorded(&odd, &d, &policy, window, 1, &rec, &quiet).unwrap();
    assert_eq!(r.counts.requests, 1);
    let ent = Arrival { specialty: "ent".into(), kind: "general".into(), ..good.clone() };
    assert!(on_odd(ent).contains("specialty \"ent\" is offered by no department"));
    // The whole recording is checked before anything runs: a bad last row fails at once.
    let mut rec = synthetic_arrivals(&region, &d, &policy, window, 1).unwrap();
    rec.arrivals.push(Arrival { patient: u32::MAX, ..good.clone() });
    let n = rec.arrivals.len() - 1;
    let started = std::time::Instant::now();
    let calls = std::sync::atomic::AtomicU64::new(0);
    let e = simulate_recorded(&region, &d, &policy, window, 1, &rec, &|_, _| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    })
    .unwrap_err();
    assert!(e.to_string().contains(&format!("recorded arrival {n} (")), "{e}");
    assert_eq!(calls.into_inner(), 0, "no day ran");
    assert!(started.elapsed().as_secs_f64() < 10.0);
}

#[test]
fn recordings_read_from_json_reject_unknown_fields() {
    let ok: Recorded = serde_json::from_str(
        r#"{"arrivals": [{"day": 0, "at_s": 3600, "patient": 1, "specialty": "surgery",
            "kind": "general", "channel": "app"}]}"#,
    )
    .unwrap();
    assert!(!ok.arrivals[0].at_release, "at_release defaults to false");
    assert!(serde_json::from_str::<Recorded>(
        r#"{"arrivals": [{"day": 0, "at_s": 3600, "patient": 1, "specialty": "surgery",
            "kind": "general", "channel": "app", "hospital": 3}]}"#,
    )
    .is_err());
    assert!(serde_json::from_str::<Recorded>(r#"{"arrivals": [{"day": 0}]}"#).is_err());
    assert_eq!(ARRIVAL_KINDS.len(), 5);
}
