//! No-show-driven overbooking: each resource's allowance from its measured no-show rate and a
//! target risk of overflow, so that extra places go only where no-shows justify them
//! (LaGanga & Lawrence's argument, per resource). The data types are in `model.rs`
//! (`OverbookingCalibration`, `OverbookingReport`, `ResourceOverbooking`).
//!
//! **The rule.** A session of `n` places booked to `n + k` overflows when more than `n` of the
//! booked patients come. With each patient coming with probability `q` = 1 − the resource's
//! measured no-show rate, independently, the number who come is Binomial(n + k, q); the
//! allowance is the largest `k` (up to `max_ratio × n`) whose overflow probability is at most
//! the target. A resource whose patients all come gets nothing; one measured on fewer outcomes
//! than `min_outcomes` keeps what it had.
//!
//! **Why an explicit call, journaled as a policy change, and not a rule applied at each
//! publication.** Pool sizes are computed at publication and replay recomputes them from the
//! policy in force. The no-show counters move under racing lifecycle calls, so a publication
//! reading them could see a count the journal's order does not give replay. A calibration
//! instead writes its ratios into `overbooking.by_resource` through [`Engine::set_policy`]'s
//! journaled change: replay applies the same ratios at the same point, and — as for every
//! policy change — slots published earlier keep their allowances. A host calls it on its own
//! schedule (nightly, say); the simulator does so once a simulated day when its policy asks.
//!
//! **Why per session.** The allowance is counted per resource-day (`spread = "session"`):
//! per slot, ⌊capacity × ratio⌋ gives nothing on the one-place segments most clinics publish,
//! so a calibration under `spread = "slot"` is refused rather than silently doing nothing.

use crate::error::{Error, Result};
use crate::ids::ResourceId;
use crate::model::{OverbookingCalibration, OverbookingReport, ResourceOverbooking};
use crate::policy::OverbookingSpread;
use crate::sync::atomic::Ordering;
use crate::time::Date;
use crate::Engine;

/// The chance that more than `places` of `booked` patients come, each independently with
/// probability `show`: P(X > places) for X ~ Binomial(booked, show). Summed in log space from
/// the top term down, so that sessions of thousands of places neither underflow nor lose the
/// tail.
///
/// ```
/// use haoyuan::overflow_probability;
/// // Eleven booked on ten places, each coming with probability 0.9: overflow iff all come.
/// assert!((overflow_probability(11, 0.9, 10) - 0.9f64.powi(11)).abs() < 1e-12);
/// assert_eq!(overflow_probability(10, 0.9, 10), 0.0);
/// ```
pub fn overflow_probability(booked: u32, show: f64, places: u32) -> f64 {
    if booked <= places || show <= 0.0 {
        return 0.0;
    }
    if show >= 1.0 {
        return 1.0;
    }
    let (ln_q, ln_odds) = (show.ln(), ((1.0 - show) / show).ln());
    // ln P(X = booked), then P(X = x − 1) = P(X = x) · x / (booked − x + 1) · (1 − q) / q.
    let mut term = booked as f64 * ln_q;
    let mut total = term;
    for x in ((places + 2)..=booked).rev() {
        term += (x as f64).ln() - ((booked - x + 1) as f64).ln() + ln_odds;
        // log(e^total + e^term), without overflow or underflow.
        let (hi, lo) = if total > term { (total, term) } else { (term, total) };
        total = hi + (lo - hi).exp().ln_1p();
    }
    total.exp().min(1.0)
}

/// The largest `extra` ≤ `most` whose session (`places` + `extra` booked) overflows with
/// probability ≤ `risk`, and that probability. The probability grows with `extra`, so the
/// search stops at the first one over; each step adds one term to the last (O(`most`), not a
/// fresh tail per candidate): with m = places + extra,
/// P(Bin(m, q) > n) = P(Bin(m − 1, q) > n) + q · P(Bin(m − 1, q) = n), and
/// P(Bin(m, q) = n) = P(Bin(m − 1, q) = n) · m / (m − n) · (1 − q).
fn allowance(places: u32, show: f64, risk: f64, most: u32) -> (u32, f64) {
    if show <= 0.0 {
        return (most, 0.0);
    }
    if show >= 1.0 {
        return (0, 0.0);
    }
    let (ln_q, ln_miss) = (show.ln(), (1.0 - show).ln());
    let mut ln_exactly = places as f64 * ln_q; // ln P(Bin(places, q) = places)
    let (mut tail, mut best) = (0.0, (0, 0.0));
    for extra in 1..=most {
        tail += (ln_q + ln_exactly).exp();
        if tail > risk {
            break;
        }
        best = (extra, tail);
        ln_exactly += ((places + extra) as f64).ln() - (extra as f64).ln() + ln_miss;
    }
    best
}

impl OverbookingCalibration {
    /// [`Error::InvalidArgument`] unless 0 < `overflow_risk` < 1 and 0 ≤ `max_ratio` ≤ 1 (NaN
    /// fails both).
    pub fn validate(&self) -> Result<()> {
        if !(self.overflow_risk > 0.0 && self.overflow_risk < 1.0) {
            return Err(Error::invalid(format!(
                "overflow_risk must be between 0 and 1 (exclusive), got {}",
                self.overflow_risk
            )));
        }
        if !(0.0..=1.0).contains(&self.max_ratio) {
            return Err(Error::invalid(format!(
                "max_ratio must be within 0 ..= 1, got {}",
                self.max_ratio
            )));
        }
        Ok(())
    }
}

/// The days around today whose sessions make a resource's typical session: the last two
/// weeks and the next two (a roster's weekly pattern twice over, past and published).
const TYPICAL_DAYS: i32 = 14;

impl Engine {
    /// The mean places of `resource`'s published days within [`TYPICAL_DAYS`] of `today`,
    /// rounded; 0 without any. At most 2 × 14 lookups: the cost does not grow with the
    /// engine's history.
    fn typical_places(&self, resource: ResourceId, today: Date) -> u32 {
        let (mut places, mut days) = (0u64, 0u64);
        for d in -TYPICAL_DAYS..TYPICAL_DAYS {
            if let Some(counts) = self.store.resource_day_counts(resource, today.plus_days(d)) {
                let p = self.store.day_counts(counts).places.load(Ordering::Acquire);
                if p > 0 {
                    places += p as u64;
                    days += 1;
                }
            }
        }
        (places + days / 2).checked_div(days).map_or(0, |mean| mean as u32)
    }

    /// Set each resource's overbooking ratio from its measured no-show rate (see the module
    /// comment): for every resource with at least `min_outcomes` outcomes and published places,
    /// the most extra places per session whose overflow probability is within `overflow_risk`,
    /// written to `overbooking.by_resource` by one journaled policy change (none if nothing
    /// changed). Never retroactive: slots published from now on get the new allowances.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// let mut policy = Policy::default();
    /// policy.overbooking.spread = OverbookingSpread::Session;
    /// let config = EngineConfig { policy, ..EngineConfig::default() };
    /// # let engine = Engine::with_manual_clock(config, Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600))?;
    /// # let hospital = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
    /// # let paediatrics = engine.add_department(hospital, "paediatrics", "Paediatrics")?;
    /// # let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", false)?;
    /// # engine.publish_slots(&[SlotSpec { resource: dr_chen, date: day, start_min: 480, end_min: 720, capacity: 20 }])?;
    /// // Dr Chen has not been measured yet: nothing changes.
    /// let report = engine.calibrate_overbooking(&OverbookingCalibration::default())?;
    /// assert_eq!((report.resources.len(), report.skipped, report.policy_changed), (0, 1, false));
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a risk outside (0, 1), a `max_ratio` outside 0 ..= 1 or
    /// not a number; [`Error::InvalidPolicy`] when the policy counts allowances per slot
    /// (`spread = "slot"`), where a ratio gives one-place segments nothing. Nothing changes
    /// then.
    pub fn calibrate_overbooking(&self, c: &OverbookingCalibration) -> Result<OverbookingReport> {
        c.validate()?;
        if self.pol().overbooking.spread != OverbookingSpread::Session {
            return Err(Error::InvalidPolicy(
                "no-show calibration counts allowances per session: set overbooking.spread = \"session\" first".into(),
            ));
        }
        let (today, _) = self.local_session(self.now());
        let mut report = OverbookingReport::default();
        for r in self.registry.resources.iter().map(|(_, r)| r) {
            let outcomes = r.outcomes.load(Ordering::Relaxed);
            let no_shows = r.no_shows.load(Ordering::Relaxed).min(outcomes);
            // The counter first: an unmeasured resource costs no lookup.
            let places =
                if outcomes < c.min_outcomes.max(1) { 0 } else { self.typical_places(r.id, today) };
            if places == 0 {
                report.skipped += 1;
                continue;
            }
            let no_show_rate = no_shows as f64 / outcomes as f64;
            let most = (c.max_ratio as f64 * places as f64).floor() as u32;
            let (extra, risk) = allowance(places, 1.0 - no_show_rate, c.overflow_risk, most);
            // Half a place above extra ÷ places, so that ⌊ratio × places⌋ = extra despite
            // rounding; never above max_ratio (whose floor is ≥ extra already).
            let ratio = if extra == 0 {
                0.0
            } else {
                (((extra as f64 + 0.5) / places as f64) as f32).min(c.max_ratio)
            };
            report.resources.push(ResourceOverbooking {
                resource: r.id,
                outcomes,
                no_show_rate,
                places,
                extra,
                overflow_risk: risk,
                ratio,
            });
        }
        let ratios: Vec<(u32, f32)> =
            report.resources.iter().map(|r| (r.resource.0, r.ratio)).collect();
        report.policy_changed = self.change_policy(|current| {
            if ratios.iter().all(|(id, x)| current.overbooking.by_resource.get(id) == Some(x)) {
                return Ok(None);
            }
            let mut next = current.clone();
            next.overbooking.by_resource.extend(ratios.iter().copied());
            Ok(Some(next))
        })?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct sum of the binomial terms, for small sessions.
    fn direct(booked: u32, show: f64, places: u32) -> f64 {
        let choose =
            |n: u32, k: u32| (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64);
        ((places + 1)..=booked)
            .map(|x| {
                choose(booked, x) * show.powi(x as i32) * (1.0 - show).powi((booked - x) as i32)
            })
            .sum()
    }

    #[test]
    fn the_overflow_probability_is_the_binomial_tail() {
        for (booked, show, places) in [(12, 0.8, 10), (30, 0.7, 20), (5, 0.5, 2), (40, 0.95, 39)] {
            let (a, b) = (overflow_probability(booked, show, places), direct(booked, show, places));
            assert!(
                (a - b).abs() < 1e-12 * b.max(1e-300).max(1.0),
                "{booked} {show} {places}: {a} vs {b}"
            );
        }
        // Thousands of places: no underflow to 0, no NaN; more extra places, more risk.
        let big: Vec<f64> =
            (0..5).map(|k| overflow_probability(5000 + 480 + k * 10, 0.9, 5000)).collect();
        assert!(big.iter().all(|p| p.is_finite() && *p > 0.0 && *p < 1.0), "{big:?}");
        assert!(big.windows(2).all(|w| w[0] < w[1]), "{big:?}");
    }

    #[test]
    fn the_stepwise_tail_is_the_direct_one() {
        for (places, show) in [(10u32, 0.7), (1, 0.5), (40, 0.95), (300, 0.85)] {
            let most = places;
            let (k, p) = allowance(places, show, 0.999_999, most);
            assert!(k > 0, "{places} {show}");
            let direct = overflow_probability(places + k, show, places);
            assert!(
                (p - direct).abs() <= 1e-9 * direct.max(1e-12),
                "{places} {show}: {p} vs {direct}"
            );
        }
    }

    #[test]
    fn the_allowance_is_the_largest_within_the_risk() {
        // 20 places, 20% no-shows, 5% risk: the largest k with P(Bin(20 + k, 0.8) > 20) ≤ 5%.
        let (k, p) = allowance(20, 0.8, 0.05, 20);
        assert!(p <= 0.05 && k > 0);
        assert!(overflow_probability(20 + k + 1, 0.8, 20) > 0.05);
        // Everyone comes: nothing; the cap holds.
        assert_eq!(allowance(20, 1.0, 0.05, 20).0, 0);
        assert_eq!(allowance(20, 0.3, 0.05, 4).0, 4);
    }
}
