//! The live load board (Xiamen's paediatric platform): per department-session, who has checked
//! in and not yet been seen; per resource, a moving estimate of the interval between two
//! patients seen; and from these the expected wait of someone checking in now. The board read
//! adds free places today and free beds tonight from the availability index. The data types
//! are in `model.rs` (`LoadBoard`, `BoardRow`, `HalfDay`); this module holds the state and the
//! operations.
//!
//! **Session.** The engine has no session entity (a roster's hours and `suspend_session`'s
//! `TimeOfDay` are free ranges), so a department-session is (department, date, half-day of the
//! slot's start, `HalfDay`): the morning and afternoon clinics of DOMAIN.md's cities.
//!
//! **What moves the board.** `check_in` adds a patient to the queue of its slot's session;
//! `fulfil` takes one off and measures the resource's pace; a provider suspension that cancels
//! a checked-in booking takes it off (and, with its last patient, its doctor off the session's
//! pace). `cancel` and `mark_no_show` apply to `booked` only
//! (DOMAIN.md's lifecycle), never to a patient in a queue, so they do not touch the board.
//!
//! **Pace.** A resource's service interval is an exponentially weighted moving average of the
//! seconds between its successive fulfilments, weight [`SERVICE_EWMA_ALPHA`] = 0.2 for the
//! newest: the last ~5 patients carry two thirds of the weight (half-life ≈ 3 patients), so the
//! estimate follows a doctor who slows down within a quarter of an hour of a typical 3–5 minute
//! outpatient pace, while one long or short consultation moves it by a fifth only. An interval
//! is measured only when the resource was busy throughout it: its previous fulfilment left a
//! patient of its own waiting, and both fulfilments fall in the same local half-day (a lunch
//! break, a night or an idle doctor is not a consultation). Before its first measurement a
//! resource runs at its slots' planned pace (segment length ÷ places of the slot last checked
//! into). A department-session serves its queue with every resource that has had a patient
//! checked in to it, in parallel: its mean interval is 1 ÷ Σ (1 ÷ interval of each).
//!
//! **Locks.** One small lock per department (a dashmap entry): a check-in or fulfilment takes
//! its department's, never a global one, inside the patient lock of the booking (order:
//! patient → department board → events, nothing takes them the other way). The lifecycle event
//! is numbered *inside* the department lock, so the journal's order of a department's
//! lifecycle events is the order the board applied them, and replay — which applies the same
//! updates in journal order with each record's own time, never the wall clock — rebuilds the
//! board exactly. A board read takes each department's read lock in turn.
//!
//! **Events.** With a threshold in `Policy::board`, a change that moves a session's queue or
//! expected wait past its last reported figures emits `LoadChanged` right after the lifecycle
//! event, under the same locks, through the ordinary (bounded) subscriber queues and the
//! journal. Replay skips it except to restore the last reported figures (the next event's
//! baseline): journals without board events are what they were, and a journal with them
//! gains one appended variant (record.rs). Likewise `FreeChanged`, per department and day,
//! when its free places today or free beds tonight move past `free_delta` / `beds_delta`:
//! checked after every change of a place of today (claim, release, publication, closing),
//! never for other days (their figures are not on the board), and at a cost of one policy
//! read when off. Beds are recounted only when a bed's place changed.
//!
//! **Bounds.** At most [`SESSIONS_PER_DEPARTMENT_MAX`] sessions per department (checking in to
//! a new one forgets the oldest, whose patients are from an earlier half-day); a session lists
//! at most the department's resources, and so does its pace table. The board's memory is
//! therefore O(departments × (sessions + resources)), whatever the traffic.

use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::*;
use crate::load::{Change, FreeReported};
use crate::model::{BoardRow, HalfDay, LoadBoard, ResourceKind, SlotSpec};
use crate::slot::Slot;
use crate::time::{Date, Timestamp};
use crate::Engine;

impl Engine {
    pub(crate) fn local_session(&self, at: Timestamp) -> (Date, HalfDay) {
        let (date, minute) = at.to_local(self.utc_offset_s);
        (date, HalfDay::of_minute(minute))
    }

    /// Apply a lifecycle change of a booking on `slot` to the board: live (`emit` numbers the
    /// lifecycle event inside the department lock, and a threshold may add `LoadChanged`) or
    /// in replay (`live` false: nothing is emitted). `at` is the event's time.
    pub(crate) fn board_change(
        &self,
        slot: &Slot,
        change: Change,
        at: Timestamp,
        live: bool,
        emit: impl FnOnce(),
    ) {
        let mut load = self.board.departments.entry(self.store.department_of(slot)).or_default();
        emit();
        let local = self.local_session(at);
        load.apply(slot, change, at, |last| self.local_session(last) == local);
        if !live || !self.pol().board.emits() {
            return;
        }
        let (date, half_day) = (slot.date(), HalfDay::of_minute(slot.start_min));
        let (queue, _, wait) = load.figures(date, half_day);
        let Some(session) = load.session_mut(date, half_day) else { return };
        let (q0, w0) = session.reported;
        let over = |t: Option<u32>, a: u32, b: u32| t.is_some_and(|t| a.abs_diff(b) > t);
        if over(self.pol().board.queue_delta, queue, q0)
            || over(self.pol().board.wait_delta_s, wait, w0)
        {
            session.reported = (queue, wait);
            self.emit_at(
                at,
                EventKind::LoadChanged {
                    department: self.store.department_of(slot),
                    date,
                    half_day,
                    queue,
                    expected_wait_s: wait,
                },
            );
        }
    }

    /// Expected wait, in seconds, of someone checking in at `now` for a place at `start_min`
    /// on `date` in `department`: its session's figure today, 0 on other days (no queue yet).
    /// `now` is the caller's, so that one call judges "today" once (`alternatives` relies on
    /// the wait being 0 on every other date).
    pub(crate) fn expected_wait_for(
        &self,
        department: DepartmentId,
        date: Date,
        start_min: u16,
        now: Timestamp,
    ) -> u32 {
        let (today, _) = self.local_session(now);
        if date != today {
            return 0;
        }
        self.board
            .departments
            .get(&department)
            .map_or(0, |load| load.figures(date, HalfDay::of_minute(start_min)).2)
    }

    /// Replay of a `LoadChanged`: the figures last reported (the baseline of the next event).
    pub(crate) fn board_reported(
        &self,
        department: DepartmentId,
        date: Date,
        half_day: HalfDay,
        figures: (u32, u32),
    ) {
        if let Some(mut load) = self.board.departments.get_mut(&department) {
            if let Some(s) = load.session_mut(date, half_day) {
                s.reported = figures;
            }
        }
    }

    /// After a change of free places in `slot` (a claim, a release, a publication, a closing):
    /// a `FreeChanged` if the policy asks for it, the slot is today's and its department's
    /// free places today or free beds tonight moved past a threshold from its last report.
    /// Live only (replay restores the baseline from the event). Called right after the
    /// change's own event, in the same thread and under the same patient lock if any; the
    /// figures are read and the event numbered under the department's board lock, so the
    /// journal's order of a department's reports is the order their baselines were set.
    ///
    /// The figures move with the clock too (a place's booking deadline passes, a pool rolls
    /// over to the public): those changes are seen at the department's next claim or release,
    /// never by a timer.
    #[inline]
    pub(crate) fn board_free_change(&self, slot: &Slot, at: Timestamp) {
        if self.pol().board.emits_free() {
            self.board_free_report(self.store.department_of(slot), slot.resource, slot.date(), at);
        }
    }

    #[cold]
    #[inline(never)]
    fn board_free_report(
        &self,
        department: DepartmentId,
        resource: ResourceId,
        date: Date,
        at: Timestamp,
    ) {
        let (today, _) = self.local_session(at);
        if date != today {
            return;
        }
        let policy = &self.pol().board;
        let bed = self.registry.resource(resource).is_ok_and(|r| r.kind == ResourceKind::Bed);
        let mut load = self.board.departments.entry(department).or_default();
        let last = load.free_reported.filter(|f| f.date == today);
        let base =
            last.unwrap_or(FreeReported { date: today, free_today: 0, free_beds_tonight: 0 });
        let free_today = self.department_day_free(department, today, at).0;
        // Beds change only when a bed slot does: otherwise the last report still holds.
        let free_beds_tonight = match last {
            Some(l) if !bed => l.free_beds_tonight,
            _ => self.free_beds_tonight(department, today, at),
        };
        let over = |t: Option<u32>, a: u32, b: u32| t.is_some_and(|t| a.abs_diff(b) > t);
        if over(policy.free_delta, free_today, base.free_today)
            || over(policy.beds_delta, free_beds_tonight, base.free_beds_tonight)
        {
            load.free_reported = Some(FreeReported { date: today, free_today, free_beds_tonight });
            self.emit_at(
                at,
                EventKind::FreeChanged { department, date: today, free_today, free_beds_tonight },
            );
        }
    }

    /// After a publication: [`Engine::board_free_change`] once per department with places
    /// today (with a bed resource of it if any, so that its beds are recounted).
    pub(crate) fn board_free_published(&self, specs: &[SlotSpec], at: Timestamp) {
        if !self.pol().board.emits_free() {
            return;
        }
        let (today, _) = self.local_session(at);
        // department → (a resource of it published today, whether that one is a bed)
        let mut departments: rustc_hash::FxHashMap<DepartmentId, (ResourceId, bool)> =
            Default::default();
        for spec in specs.iter().filter(|s| s.date == today) {
            let Ok(r) = self.registry.resource(spec.resource) else { continue };
            let bed = r.kind == ResourceKind::Bed;
            let d = departments.entry(r.department).or_insert((spec.resource, bed));
            if bed && !d.1 {
                *d = (spec.resource, true);
            }
        }
        let mut departments: Vec<_> = departments.into_iter().collect();
        departments.sort_unstable_by_key(|(d, _)| *d); // a deterministic order of events
        for (department, (resource, _)) in departments {
            self.board_free_report(department, resource, today, at);
        }
    }

    /// Replay of a `FreeChanged`: the figures last reported (the baseline of the next event).
    pub(crate) fn board_free_reported(&self, department: DepartmentId, figures: FreeReported) {
        self.board.departments.entry(department).or_default().free_reported = Some(figures);
    }

    /// Free places tonight in a department's `bed` resources: today's bed slots, the places a
    /// member of the public may take (without the booking deadline: a night's bed slot that
    /// started at midnight is still tonight's bed).
    fn free_beds_tonight(&self, department: DepartmentId, today: Date, now: Timestamp) -> u32 {
        let Some(resources) = self.registry.by_department.get(&department).map(|l| l.clone())
        else {
            return 0;
        };
        let mut free = 0;
        for r in resources {
            if !self.registry.resource(r).is_ok_and(|x| x.kind == ResourceKind::Bed) {
                continue;
            }
            for id in self.store.resource_day(r, today) {
                let Some(slot) = self.store.get(id) else { continue };
                let window = self.window(&slot);
                if let Ok(order) = self.pool_order(&slot, &window, ChannelId(0), None, now) {
                    free += slot.free_in(order.as_slice());
                }
            }
        }
        free
    }

    /// The live load board of a specialty in a district (names as in `AvailabilityQuery`): one
    /// row per department of that specialty at an institution of that district, for the
    /// current session (today, this half-day, local time), least expected wait first. An
    /// unknown specialty or district is [`Error::InvalidArgument`].
    ///
    /// ```
    /// use haoyuan::*;
    /// let day = Date::from_ymd(2026, 11, 24).unwrap();
    /// let engine = Engine::with_manual_clock(EngineConfig::default(), Timestamp::from_local(day, 9 * 60, 8 * 3600)).unwrap();
    /// let h = engine.add_institution("Xiamen Children's Hospital", Tier::Tertiary, "Siming").unwrap();
    /// engine.add_department(h, "paediatrics", "Paediatrics").unwrap();
    /// let board = engine.load_board("paediatrics", "Siming").unwrap();
    /// assert_eq!(board.rows.len(), 1);
    /// assert_eq!((board.rows[0].queue, board.rows[0].half_day), (0, HalfDay::Am));
    /// assert!(engine.load_board("paediatrics", "Atlantis").is_err());
    /// ```
    pub fn load_board(&self, specialty: &str, district: &str) -> Result<LoadBoard> {
        let s = self
            .registry
            .find_specialty(specialty)
            .ok_or_else(|| Error::invalid(format!("unknown specialty {specialty:?}")))?;
        let x = self
            .registry
            .find_district(district)
            .ok_or_else(|| Error::invalid(format!("unknown district {district:?}")))?;
        let departments = self
            .registry
            .by_specialty_district
            .get(&(s, x))
            .map(|l| l.departments.clone())
            .unwrap_or_default();
        let now = self.now();
        let (today, half_day) = self.local_session(now);
        let mut rows = Vec::with_capacity(departments.len());
        for d in departments {
            let dep = self.registry.department(d)?;
            let inst = self.registry.institution(dep.institution)?;
            let (queue, mean, wait) = match self.board.departments.get(&d) {
                Some(load) => load.figures(today, half_day),
                None => (0, 0.0, 0),
            };
            let free_today =
                self.free_places_by_day(d, today, today)?.first().map_or(0, |a| a.free);
            rows.push(BoardRow {
                institution: inst.id,
                institution_name: inst.name.clone(),
                department: d,
                department_name: dep.name.clone(),
                tier: inst.tier,
                date: today,
                half_day,
                queue,
                mean_service_interval_s: mean,
                expected_wait_s: wait,
                free_today,
                free_beds_tonight: self.free_beds_tonight(d, today, now),
            });
        }
        rows.sort_by_key(|r| (r.expected_wait_s, r.queue, r.department));
        Ok(LoadBoard { specialty: specialty.into(), district: district.into(), at: now, rows })
    }
}
