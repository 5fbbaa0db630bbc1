//! A small scripted morning that produces one exported resource of every kind and status, so
//! that an independent FHIR implementation can validate them (`examples/fhir_export.rs` writes
//! them to files; `python/tests/test_fhir_validation.py` parses each with `fhir.resources`).

use super::*;
use haoyuan::{
    EngineConfig, ReferralRequest, Request, ResourceKind, SlotSpec, Tier, Urgency, WaitlistRequest,
};

/// `(name, resource)` pairs: Schedule, Slots (free, busy, busy-tentative, busy-unavailable),
/// Appointments (pending, booked, checked-in, fulfilled, noshow, cancelled ×3, referral,
/// waitlist), searchset and collection Bundles, and OperationOutcomes.
#[doc(hidden)]
pub fn sample_exports() -> FhirResult<Vec<(String, Value)>> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let day = Date::from_ymd(2026, 11, 24).map_err(|_| FhirError::invalid(None, "date"))?;
    let off = 8 * 3600;
    let engine = Engine::with_manual_clock(
        EngineConfig::default(),
        Timestamp::from_local(day.plus_days(-1), 16 * 60, off),
    )?;
    let hospital =
        engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    let clinic = engine.add_institution(
        "Dongcheng Community Health Centre",
        Tier::Community,
        "Guancheng",
    )?;
    let cardiology = engine.add_department(hospital, "cardiology", "Cardiology")?;
    let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    let dr_li = engine.add_resource(cardiology, ResourceKind::Doctor, "Dr Li", false)?;
    let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", true)?;
    let ecg = engine.add_resource(cardiology, ResourceKind::Exam, "ECG room 2", false)?;
    let bed = engine.add_resource(paediatrics, ResourceKind::Bed, "Ward 5 bed 12", false)?;
    let seg = |resource, date, start_min: u16, capacity| SlotSpec {
        resource,
        date,
        start_min,
        end_min: start_min + 30,
        capacity,
    };
    let ids = engine.publish_slots(&[
        seg(dr_li, day, 480, 2),              // a: one hold of two → free
        seg(dr_li, day, 510, 1),              // b: held → busy-tentative
        seg(dr_li, day, 540, 1),              // c: booked → busy
        seg(dr_li, day, 570, 2),              // d
        seg(dr_chen, day, 480, 1),            // e: suspended → busy-unavailable
        seg(ecg, day.plus_days(1), 480, 4),   // f
        seg(dr_li, day.plus_days(1), 480, 3), // g: referral booking
        seg(bed, day.plus_days(1), 0, 1),
    ])?;
    let slot = |i: u32| SlotId(ids.start.0 + i);
    let p: Vec<PatientId> =
        (0..10).map(|_| engine.register_patient()).collect::<haoyuan::Result<_>>()?;
    let app = engine.channel_id("app")?;
    let wechat = engine.channel_id("wechat")?;
    let clinic_channel = engine.channel_id("clinic")?;

    let hold_a = engine.hold(&Request::new(p[1], slot(0), wechat))?;
    let hold_b = engine.hold(&Request::new(p[2], slot(1), app))?;
    let booked_c = engine.book(&Request::new(p[3], slot(2), app))?;
    let booked_d = engine.book(&Request::new(p[4], slot(3), wechat))?;
    engine.hold(&Request::new(p[5], slot(3), app))?;
    let chen = engine.book(&Request::new(p[6], slot(4), app))?;
    engine.suspend_session(dr_chen, day, None)?;
    let cancelled = engine.book(&Request::new(p[7], slot(5), wechat))?;
    engine.cancel(cancelled.id)?;
    let referral = engine.issue_referral(&ReferralRequest {
        patient: p[8],
        from: clinic,
        specialty: "cardiology".into(),
        institution: None,
        urgency: Urgency::Urgent,
        valid_days: 30,
    })?;
    let referred =
        engine.book(&Request::new(p[8], slot(6), clinic_channel).with_referral(referral.id))?;
    let entry = engine.join_waitlist(&WaitlistRequest {
        patient: p[9],
        department: cardiology,
        resource: None,
        date_from: day,
        date_to: day.plus_days(6),
        time: None,
        channel: wechat,
        referral: None,
        follow_up: false,
    })?;

    out.push(("schedule-doctor".into(), export::schedule(&engine, dr_li)?));
    out.push(("schedule-exam".into(), export::schedule(&engine, ecg)?));
    out.push(("schedule-bed".into(), export::schedule(&engine, bed)?));
    for (name, i) in [
        ("slot-free", 0),
        ("slot-busy-tentative", 1),
        ("slot-busy", 2),
        ("slot-busy-tentative-mixed", 3),
        ("slot-busy-unavailable", 4),
    ] {
        out.push((name.into(), export::slot(&engine, slot(i))?));
    }
    out.push(("appointment-pending".into(), export::appointment(&engine, hold_a.id)?));
    out.push(("appointment-pending-last-place".into(), export::appointment(&engine, hold_b.id)?));
    out.push(("appointment-booked".into(), export::appointment(&engine, booked_d.id)?));
    out.push(("appointment-cancelled-provider".into(), export::appointment(&engine, chen.id)?));
    out.push(("appointment-cancelled-patient".into(), export::appointment(&engine, cancelled.id)?));
    out.push(("appointment-referral".into(), export::appointment(&engine, referred.id)?));
    out.push(("appointment-waitlist".into(), export::waitlist_appointment(&engine, &entry)?));
    let find = json!({
        "resourceType": "Parameters",
        "parameter": [
            { "name": "start", "valueDateTime": "2026-11-24T00:00:00+08:00" },
            { "name": "end", "valueDate": "2026-11-25" },
            { "name": "specialty", "valueCode": "cardiology" },
            { "name": "organization", "valueReference": { "reference": format!("Organization/institution-{}", hospital.0) } },
        ],
    });
    out.push(("bundle-searchset".into(), ops::find(&engine, &find)?));
    let scope = ExportScope {
        date_from: day,
        date_to: day.plus_days(1),
        institution: Some(hospital),
        resource: None,
        appointments: true,
    };
    out.push(("bundle-collection".into(), export::bundle(&engine, &scope)?));

    // Refusals, as OperationOutcomes.
    // Each names the engine code it must carry: a refusal for another reason (a patient id
    // that does not exist, say) would still be an OperationOutcome, but not the sample meant.
    let patient_ref = |i: usize| format!("Patient/patient-{}", p[i].0);
    let refusals: Vec<(&str, Option<ErrorCode>, FhirResult<Value>)> = vec![
        ("outcome-slot-full", Some(ErrorCode::SlotFull), ops::hold(&engine, &json!({ "slot": format!("Slot/slot-{}", slot(1).0), "patient": patient_ref(0), "channel": "app" }))),
        ("outcome-limit", Some(ErrorCode::LimitReached), ops::book(&engine, &json!({ "slot": format!("Slot/slot-{}", slot(0).0), "patient": format!("Patient/patient-{}", p[3].0), "channel": "app" }))),
        ("outcome-suspended-session", Some(ErrorCode::SlotClosed), ops::book(&engine, &json!({ "slot": format!("Slot/slot-{}", slot(4).0), "patient": patient_ref(0), "channel": "app" }))),
        ("outcome-not-found", Some(ErrorCode::NotFound), ops::cancel(&engine, &json!({ "appointment": "Appointment/booking-999999" }))),
        ("outcome-invalid", None, ops::find(&engine, &json!({ "start": "tomorrow", "end": "2026-11-25" }))),
        (
            "outcome-import",
            None,
            import::import_bundle(
                &engine,
                &json!({ "resourceType": "Bundle", "type": "collection", "entry": [
                    { "resource": { "resourceType": "Slot", "status": "open", "start": "2026-11-24 08:00", "schedule": { "reference": "Schedule/x" } } },
                ] }),
                &ImportOptions::default(),
            )
            .map(|r| r.to_json()),
        ),
        (
            "outcome-csv",
            None,
            import::import_csv(
                &engine,
                "resource,department,weekday,session_start,session_end,segment_minutes,places\nDr Li,Cardiology,Funday,08:00,12:00,30,0\n",
                &CsvImport { institution: hospital, valid_from: day, valid_until: day.plus_days(6) },
            )
            .map(|r| r.to_json()),
        ),
    ];
    for (name, expected, r) in refusals {
        match r {
            Err(e) if e.issues.iter().find_map(|i| i.engine_code) == expected => {
                out.push((name.into(), e.to_operation_outcome()))
            }
            Err(e) => {
                return Err(FhirError::invalid(
                    None,
                    format!("sample {name} was refused for another reason: {}", e.outcome_json()),
                ))
            }
            Ok(v) => {
                return Err(FhirError::invalid(
                    None,
                    format!("sample {name} was expected to be refused but gave {v}"),
                ))
            }
        }
    }

    // Later that morning: the hold on slot a expires, the 09:00 patient comes, the 09:30 one does not.
    engine.advance_to(Timestamp::from_local(day, 9 * 60 + 5, off))?;
    engine.check_in(booked_c.id)?;
    out.push(("appointment-checked-in".into(), export::appointment(&engine, booked_c.id)?));
    engine.fulfil(booked_c.id)?;
    out.push(("appointment-fulfilled".into(), export::appointment(&engine, booked_c.id)?));
    out.push(("appointment-cancelled-expired".into(), export::appointment(&engine, hold_a.id)?));
    engine.advance_to(Timestamp::from_local(day, 9 * 60 + 45, off))?;
    engine.mark_no_show(booked_d.id)?;
    out.push(("appointment-noshow".into(), export::appointment(&engine, booked_d.id)?));
    Ok(out)
}
