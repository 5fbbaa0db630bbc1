//! Referrals: a community or secondary institution refers a patient upwards (分级诊疗、有序转诊).
//! A referral opens the referral pool of higher-tier slots (see `booking.rs`), is consumed by
//! the booking it makes and given back if that booking is cancelled.

use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::*;
use crate::model::{Referral, ReferralRequest, Tier};
use crate::patients::REFERRALS_PER_PATIENT_MAX;

use crate::time::DAY_S;
use crate::Engine;
use std::sync::atomic::Ordering;

impl Engine {
    /// Issue a referral. The referring institution must be community or secondary, and a named
    /// target institution must be of a higher tier and have the specialty.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// # // 16:00 the day before the visit, after the 15:00 release.
    /// # let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # let slots = engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 510, capacity: 2 }])?;
    /// # let app = engine.channel_id("app")?;
    /// let clinic = engine.add_institution("Guancheng Community Clinic", Tier::Community, "Guancheng")?;
    /// let patient = engine.register_patient()?;
    /// let referral = engine.issue_referral(&ReferralRequest {
    ///     patient, from: clinic, specialty: "paediatrics".into(), institution: None,
    ///     urgency: Urgency::Routine, valid_days: 30,
    /// })?;
    /// // The referral opens the slot's referral pool and raises the request's priority.
    /// let booking = engine.book(&Request::new(patient, slots.start, app).with_referral(referral.id))?;
    /// assert_eq!(booking.referral, Some(referral.id));
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn issue_referral(&self, r: &ReferralRequest) -> Result<Referral> {
        let now = self.now();
        let from = self.registry.institution(r.from)?;
        if from.tier == Tier::Tertiary {
            return Err(Error::invalid("a tertiary institution cannot refer upwards"));
        }
        let specialty = self
            .registry
            .find_specialty(&r.specialty)
            .ok_or_else(|| Error::invalid(format!("unknown specialty {:?}", r.specialty)))?;
        if let Some(to) = r.institution {
            let to = self.registry.institution(to)?;
            if to.tier <= from.tier {
                return Err(Error::invalid(format!(
                    "{} is not of a higher tier than {}",
                    to.name, from.name
                )));
            }
        }
        if !(1..=366).contains(&r.valid_days) {
            return Err(Error::invalid(format!("valid_days {} must be 1 ..= 366", r.valid_days)));
        }
        let id = ReferralId(self.next_referral.fetch_add(1, Ordering::Relaxed));
        let (patient, mut state) = self.patients.lock(r.patient)?;
        if state.referrals().len() >= REFERRALS_PER_PATIENT_MAX {
            return Err(Error::CapacityExceeded(format!(
                "{patient} has {REFERRALS_PER_PATIENT_MAX} referrals"
            )));
        }
        let referral = Referral {
            id,
            patient,
            from: r.from,
            specialty,
            institution: r.institution,
            urgency: r.urgency,
            valid_from: now,
            valid_until: now.plus_s(r.valid_days as i64 * DAY_S),
            used_by: None,
        };
        state.add_referral(referral.clone());
        self.emit_at(
            now,
            EventKind::ReferralIssued {
                referral: id,
                patient,
                from: r.from,
                specialty,
                institution: r.institution,
                urgency: r.urgency,
                valid_until: referral.valid_until,
            },
        );
        drop(state);
        self.durable(referral)
    }
}
