//! Recommendations (issue 18 part 3, Qingdao) on a Dongguan-size city (2,300 institutions,
//! 52,000 slots a day, `add_city`), with the visit day and the next two published and booked
//! at `booking_time()` (three days before the first visit day):
//! - `routine_complaint`: "发烧咳嗽" (bundled table: general practice and respiratory) from a
//!   central district over 3 days — every one of the 2,260 community clinics' GP departments
//!   and the 40 hospitals' respiratory departments is a candidate (the widest common query).
//! - `specialty_referral`: "cardiology" with a patient's routine referral (referral pools
//!   counted at the 40 hospitals).
//! - `emergency_complaint`: "胸痛" (cardiology only: 40 departments).
//!
//! Run: `cargo bench -p haoyuan-benches --bench recommend` (add `-- --quick` for a short run).

use criterion::{criterion_group, criterion_main, Criterion};
use haoyuan::*;
use haoyuan_benches::*;
use std::hint::black_box;

fn recommend(c: &mut Criterion) {
    let (engine, city) = city_engine(Policy::default(), booking_time());
    for d in 0..3 {
        engine.publish_slots(&city_day_specs(&city, visit_day().plus_days(d))).expect("publish");
    }
    let (from, to) = (visit_day(), visit_day().plus_days(2));
    let district = "city0-district3";
    let routine = RecommendQuery::complaint("发烧咳嗽", district, from, to);
    let rows = engine.recommend(&routine).expect("recommend");
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0].reason, RecommendReason::CommunityFirst);
    let patient = engine.register_patient().expect("patient");
    let clinic = city.institutions[CITY_HOSPITALS]; // the first community clinic
    let referral = engine
        .issue_referral(&ReferralRequest {
            patient,
            from: clinic,
            specialty: "cardiology".into(),
            institution: None,
            urgency: Urgency::Routine,
            valid_days: 30,
        })
        .expect("referral");
    let mut with_referral = RecommendQuery::specialty("cardiology", district, from, to);
    (with_referral.patient, with_referral.referral) = (Some(patient), Some(referral.id));
    assert_eq!(
        engine.recommend(&with_referral).expect("recommend")[0].reason,
        RecommendReason::Referral
    );
    let emergency = RecommendQuery::complaint("胸痛", district, from, to);
    assert_eq!(engine.recommend(&emergency).expect("recommend")[0].tier, Tier::Tertiary);

    let mut g = c.benchmark_group("recommend");
    g.bench_function("routine_complaint", |b| {
        b.iter(|| black_box(engine.recommend(&routine).expect("recommend")))
    });
    g.bench_function("specialty_referral", |b| {
        b.iter(|| black_box(engine.recommend(&with_referral).expect("recommend")))
    });
    g.bench_function("emergency_complaint", |b| {
        b.iter(|| black_box(engine.recommend(&emergency).expect("recommend")))
    });
    g.finish();
}

criterion_group!(benches, recommend);
criterion_main!(benches);
