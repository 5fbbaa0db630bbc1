//! The records the engine returns, as immutable Python classes with readable reprs, equality
//! and `to_dict()`. Ids are plain ints (DOMAIN.md's names as field names), dates are
//! `datetime.date`, instants int seconds since the epoch, enums their snake_case names.

use crate::convert::{date_to_py, enum_str};
use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A frozen pyclass with every field readable, `==`, `repr()` and `to_dict()`.
macro_rules! record {
    ($(#[$meta:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[pyclass(module = "haoyuan._native", frozen, get_all, eq)]
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name { $(pub $field: $ty),* }

        #[pymethods]
        impl $name {
            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                $(
                    let v = self.$field.clone().into_pyobject(py)?;
                    parts.push(format!(concat!(stringify!($field), "={}"), v.repr()?));
                )*
                Ok(format!(concat!(stringify!($name), "({})"), parts.join(", ")))
            }

            /// The fields as a dict (nested records stay records).
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                $( d.set_item(stringify!($field), self.$field.clone())?; )*
                Ok(d)
            }
        }
    };
}

record!(
    /// A hospital or clinic.
    Institution { id: u32, name: String, tier: String, district: String }
);
record!(
    /// A specialty at one institution.
    Department { id: u32, institution: u32, specialty: String, name: String }
);
record!(
    /// What is booked: a doctor, bed, exam device, nursing, pharmacy or service desk.
    Resource { id: u32, department: u32, kind: String, name: String, expert: bool }
);
record!(
    /// A booking channel.
    Channel { id: u16, name: String }
);
record!(
    /// The measured no-show rate of a resource.
    ResourceStats { resource: u32, outcomes: u64, no_shows: u64, no_show_rate: f64 }
);
record!(
    /// Counters for a quick look at the engine.
    EngineStats { institutions: u64, departments: u64, resources: u64, patients: u64, slots: u64, last_event_seq: u64 }
);
record!(
    /// An external identifier linked to a patient: its type and masked number
    /// (`4419**********1234`); the number itself is never kept.
    Card { card_type: String, masked: String }
);
record!(
    /// A hold or booking. `state` is one of held, booked, checked_in, fulfilled, expired,
    /// cancelled, provider_cancelled, no_show; `pool` the share it was charged to.
    Booking {
        id: u64,
        patient: u32,
        slot: u32,
        department: u32,
        date: NaiveDate,
        channel: u16,
        state: String,
        pool: String,
        referral: Option<u64>,
        offer: Option<u64>,
        created_at: i64,
        expires_at: i64,
        starts_at: i64,
    }
);
record!(
    /// A published slot: its places per pool (general, referral, quota_0, quota_1) and the
    /// places taken from each. (`Slot` is its former name, kept as a deprecated alias.)
    SlotInfo {
        id: u32,
        resource: u32,
        department: u32,
        institution: u32,
        date: NaiveDate,
        start_min: u16,
        end_min: u16,
        capacity: u16,
        pool_places: (u16, u16, u16, u16),
        pool_taken: (u16, u16, u16, u16),
        closed: bool,
        starts_at: i64,
        ends_at: i64,
    }
);
record!(
    /// A slot with places free to this kind of requester now.
    FreeSlot {
        slot: u32,
        resource: u32,
        department: u32,
        institution: u32,
        date: NaiveDate,
        start_min: u16,
        end_min: u16,
        free: u32,
        starts_at: i64,
    }
);
record!(
    /// Free and total places of one department-day.
    DayAvailability { date: NaiveDate, free: u32, places: u32 }
);
record!(
    /// Another institution's department of the same specialty and district, with free places.
    Alternative { department: u32, institution: u32, tier: String, earliest: FreeSlot, load: f32 }
);
record!(
    /// One department's line of the live load board (`Engine.load_board`): the queue of the
    /// current session (today, `half_day` "am" | "pm"), the mean interval between patients
    /// seen and the expected wait of someone checking in now (seconds), free places today and
    /// free beds tonight.
    BoardRow {
        institution: u32,
        institution_name: String,
        department: u32,
        department_name: String,
        tier: String,
        date: NaiveDate,
        half_day: String,
        queue: u32,
        mean_service_interval_s: f64,
        expected_wait_s: u32,
        free_today: u32,
        free_beds_tonight: u32,
    }
);
record!(
    /// One recommended department and doctor (`Engine.recommend`), best first: `earliest` is a
    /// place the patient could take now; `expected_wait_s` the live board's wait of its session
    /// (None: nobody checked in yet, unknown); `urgency` "routine" | "urgent" | "emergency";
    /// `reason` "referral" | "community_first" | "higher_tier" | "urgent" | "emergency", and
    /// `reason_text` in words.
    Recommendation {
        rank: u32,
        institution: u32,
        institution_name: String,
        tier: String,
        district: String,
        same_district: bool,
        department: u32,
        department_name: String,
        specialty: String,
        resource: u32,
        resource_name: String,
        earliest: FreeSlot,
        expected_wait_s: Option<u32>,
        urgency: String,
        reason: String,
        reason_text: String,
    }
);
record!(
    /// A referral from a lower-tier institution (`from_`: the referring institution).
    Referral {
        id: u64,
        patient: u32,
        from_: u32,
        specialty: String,
        institution: Option<u32>,
        urgency: String,
        valid_from: i64,
        valid_until: i64,
        used_by: Option<u64>,
    }
);
record!(
    /// A patient's record: cards, weighted no-shows in the counting window, suspension, active
    /// bookings, referrals and waitlist entries.
    PatientRecord {
        patient: u32,
        cards: Vec<Card>,
        no_shows_in_window: f32,
        suspended_until: Option<i64>,
        active_bookings: Vec<Booking>,
        referrals: Vec<Referral>,
        waitlist_entries: u32,
    }
);
record!(
    /// An entry on a department's waitlist.
    WaitlistEntry {
        id: u64,
        patient: u32,
        department: u32,
        resource: Option<u32>,
        date_from: NaiveDate,
        date_to: NaiveDate,
        time: Option<(u16, u16)>,
        channel: u16,
        referral: Option<u64>,
        follow_up: bool,
        priority: String,
        joined_at: i64,
    }
);
record!(
    /// A weekly roster template.
    Roster {
        resource: u32,
        weekdays: Vec<u8>,
        start_min: u16,
        end_min: u16,
        segment_min: u16,
        places: u16,
        valid_from: NaiveDate,
        valid_until: NaiveDate,
        closed_dates: Vec<NaiveDate>,
    }
);
record!(
    /// What a session suspension (停诊) did: the slots closed and the bookings cancelled.
    SuspensionReport { slots: Vec<u32>, cancelled: Vec<Booking> }
);
record!(
    /// The outcome of `submit`: `outcome == "booked"` with `booking`, or `"entered"` into the
    /// release lottery with `ticket` and `draws_at`.
    Submission { outcome: String, booking: Option<Booking>, ticket: Option<u64>, draws_at: Option<i64> }
);

fn quad(a: [u16; 4]) -> (u16, u16, u16, u16) {
    (a[0], a[1], a[2], a[3])
}

impl From<haoyuan::Booking> for Booking {
    fn from(b: haoyuan::Booking) -> Self {
        Booking {
            id: b.id.0,
            patient: b.patient.0,
            slot: b.slot.0,
            department: b.department.0,
            date: date_to_py(b.date),
            channel: b.channel.0,
            state: b.state.name().to_string(),
            pool: enum_str(&b.pool),
            referral: b.referral.map(|r| r.0),
            offer: b.offer.map(|o| o.0),
            created_at: b.created_at.0,
            expires_at: b.expires_at.0,
            starts_at: b.starts_at.0,
        }
    }
}

impl From<haoyuan::SlotInfo> for SlotInfo {
    fn from(s: haoyuan::SlotInfo) -> Self {
        SlotInfo {
            id: s.id.0,
            resource: s.resource.0,
            department: s.department.0,
            institution: s.institution.0,
            date: date_to_py(s.date),
            start_min: s.start_min,
            end_min: s.end_min,
            capacity: s.capacity,
            pool_places: quad(s.pool_places.to_array()),
            pool_taken: quad(s.pool_taken.to_array()),
            closed: s.closed,
            starts_at: s.starts_at.0,
            ends_at: s.ends_at.0,
        }
    }
}

impl From<haoyuan::FreeSlot> for FreeSlot {
    fn from(f: haoyuan::FreeSlot) -> Self {
        FreeSlot {
            slot: f.slot.0,
            resource: f.resource.0,
            department: f.department.0,
            institution: f.institution.0,
            date: date_to_py(f.date),
            start_min: f.start_min,
            end_min: f.end_min,
            free: f.free,
            starts_at: f.starts_at.0,
        }
    }
}

impl From<haoyuan::DayAvailability> for DayAvailability {
    fn from(d: haoyuan::DayAvailability) -> Self {
        DayAvailability { date: date_to_py(d.date), free: d.free, places: d.places }
    }
}

impl From<haoyuan::Alternative> for Alternative {
    fn from(a: haoyuan::Alternative) -> Self {
        Alternative {
            department: a.department.0,
            institution: a.institution.0,
            tier: enum_str(&a.tier),
            earliest: a.earliest.into(),
            load: a.load,
        }
    }
}

impl From<haoyuan::BoardRow> for BoardRow {
    fn from(r: haoyuan::BoardRow) -> Self {
        BoardRow {
            institution: r.institution.0,
            institution_name: r.institution_name,
            department: r.department.0,
            department_name: r.department_name,
            tier: enum_str(&r.tier),
            date: date_to_py(r.date),
            half_day: r.half_day.name().into(),
            queue: r.queue,
            mean_service_interval_s: r.mean_service_interval_s,
            expected_wait_s: r.expected_wait_s,
            free_today: r.free_today,
            free_beds_tonight: r.free_beds_tonight,
        }
    }
}

impl From<haoyuan::Recommendation> for Recommendation {
    fn from(r: haoyuan::Recommendation) -> Self {
        Recommendation {
            rank: r.rank,
            institution: r.institution.0,
            institution_name: r.institution_name,
            tier: enum_str(&r.tier),
            district: r.district,
            same_district: r.same_district,
            department: r.department.0,
            department_name: r.department_name,
            specialty: r.specialty,
            resource: r.resource.0,
            resource_name: r.resource_name,
            earliest: r.earliest.into(),
            expected_wait_s: r.expected_wait_s,
            urgency: enum_str(&r.urgency),
            reason: r.reason.name().into(),
            reason_text: r.reason_text,
        }
    }
}

impl From<haoyuan::Card> for Card {
    fn from(c: haoyuan::Card) -> Self {
        Card { card_type: c.card_type, masked: c.masked }
    }
}

impl From<haoyuan::ResourceStats> for ResourceStats {
    fn from(s: haoyuan::ResourceStats) -> Self {
        ResourceStats {
            resource: s.resource.0,
            outcomes: s.outcomes,
            no_shows: s.no_shows,
            no_show_rate: s.no_show_rate,
        }
    }
}

impl From<haoyuan::EngineStats> for EngineStats {
    fn from(s: haoyuan::EngineStats) -> Self {
        EngineStats {
            institutions: s.institutions as u64,
            departments: s.departments as u64,
            resources: s.resources as u64,
            patients: s.patients as u64,
            slots: s.slots as u64,
            last_event_seq: s.last_event_seq,
        }
    }
}

impl From<haoyuan::Roster> for Roster {
    fn from(r: haoyuan::Roster) -> Self {
        Roster {
            resource: r.resource.0,
            weekdays: r.weekdays,
            start_min: r.start_min,
            end_min: r.end_min,
            segment_min: r.segment_min,
            places: r.places,
            valid_from: date_to_py(r.valid_from),
            valid_until: date_to_py(r.valid_until),
            closed_dates: r.closed_dates.into_iter().map(date_to_py).collect(),
        }
    }
}

impl From<haoyuan::WaitlistEntry> for WaitlistEntry {
    fn from(e: haoyuan::WaitlistEntry) -> Self {
        let r = e.request;
        WaitlistEntry {
            id: e.id.0,
            patient: r.patient.0,
            department: r.department.0,
            resource: r.resource.map(|x| x.0),
            date_from: date_to_py(r.date_from),
            date_to: date_to_py(r.date_to),
            time: r.time.map(|t| (t.start_min, t.end_min)),
            channel: r.channel.0,
            referral: r.referral.map(|x| x.0),
            follow_up: r.follow_up,
            priority: enum_str(&e.priority),
            joined_at: e.joined_at.0,
        }
    }
}

impl From<haoyuan::SuspensionReport> for SuspensionReport {
    fn from(r: haoyuan::SuspensionReport) -> Self {
        SuspensionReport {
            slots: r.slots.into_iter().map(|s| s.0).collect(),
            cancelled: r.cancelled.into_iter().map(Booking::from).collect(),
        }
    }
}

impl From<haoyuan::Submission> for Submission {
    fn from(s: haoyuan::Submission) -> Self {
        match s {
            haoyuan::Submission::Booked { booking } => Submission {
                outcome: "booked".into(),
                booking: Some(booking.into()),
                ticket: None,
                draws_at: None,
            },
            haoyuan::Submission::Entered { ticket, draws_at } => Submission {
                outcome: "entered".into(),
                booking: None,
                ticket: Some(ticket.0),
                draws_at: Some(draws_at.0),
            },
        }
    }
}

/// Register the record classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Institution>()?;
    m.add_class::<Department>()?;
    m.add_class::<Resource>()?;
    m.add_class::<Channel>()?;
    m.add_class::<ResourceStats>()?;
    m.add_class::<EngineStats>()?;
    m.add_class::<Card>()?;
    m.add_class::<Booking>()?;
    m.add_class::<SlotInfo>()?;
    // The former name, for code written against it (`haoyuan.Slot` warns; see __init__.py).
    m.add("Slot", m.getattr("SlotInfo")?)?;
    m.add_class::<FreeSlot>()?;
    m.add_class::<DayAvailability>()?;
    m.add_class::<Alternative>()?;
    m.add_class::<BoardRow>()?;
    m.add_class::<Recommendation>()?;
    m.add_class::<Referral>()?;
    m.add_class::<PatientRecord>()?;
    m.add_class::<WaitlistEntry>()?;
    m.add_class::<Roster>()?;
    m.add_class::<SuspensionReport>()?;
    m.add_class::<Submission>()?;
    Ok(())
}
