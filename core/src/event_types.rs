//! Event types without their payload, and sets of them: what a subscription asks for
//! ([`crate::SubscribeOptions::kinds`]).
//!
//! A host that audits every change subscribes to every kind; a consumer that reacts to a few
//! (a waitlist notifier, a simulator counting cancellations) names those, and the engine does
//! not queue, and the consumer does not read and drop, the rest. The names are the `type` tags
//! of the events' JSON (`"booked"`, `"cancelled"` …), the same in Rust, C and Python.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One table makes the payload-free enum and its names; a test checks the names against
/// serde's tags (`tests` below). The mapping from an event (`EventKind::event_type`) is in
/// `events.rs`, beside the events: this module is below it and names nothing of it.
macro_rules! event_types {
    ($($variant:ident = $name:literal,)*) => {
        /// The type of an event without its payload: [`EventKind`](crate::EventKind)'s
        /// variants, named by its JSON `type` tag.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[repr(u8)]
        pub enum EventType {
            $(
                #[doc = concat!("[`EventKind::", stringify!($variant), "`](crate::EventKind::", stringify!($variant), ") (`\"", $name, "\"`).")]
                $variant,
            )*
        }

        impl EventType {
            /// Every type, in [`EventKind`](crate::EventKind)'s order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// Its name: the `type` tag of the event's JSON.
            pub fn name(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }
        }

    };
}

event_types! {
    InstitutionAdded = "institution_added",
    DepartmentAdded = "department_added",
    ResourceAdded = "resource_added",
    ChannelAdded = "channel_added",
    PatientRegistered = "patient_registered",
    CardLinked = "card_linked",
    PatientsMerged = "patients_merged",
    SlotsPublished = "slots_published",
    RosterAdded = "roster_added",
    RostersPublished = "rosters_published",
    Held = "held",
    Booked = "booked",
    Confirmed = "confirmed",
    Cancelled = "cancelled",
    Expired = "expired",
    CheckedIn = "checked_in",
    Fulfilled = "fulfilled",
    NoShow = "no_show",
    PatientSuspended = "patient_suspended",
    SessionSuspended = "session_suspended",
    ReferralIssued = "referral_issued",
    ReferralConsumed = "referral_consumed",
    ReferralReturned = "referral_returned",
    WaitlistJoined = "waitlist_joined",
    WaitlistOffered = "waitlist_offered",
    WaitlistLeft = "waitlist_left",
    LotteryEntered = "lottery_entered",
    LotteryDrawn = "lottery_drawn",
    LotteryWon = "lottery_won",
    LotteryLost = "lottery_lost",
    ClockSet = "clock_set",
    LoadChanged = "load_changed",
    FreeChanged = "free_changed",
    PolicyChanged = "policy_changed",
    Group = "group",
    Retired = "retired",
}

// A set is one word: a bit per type.
const _: () = assert!(EventType::ALL.len() <= 64);

impl EventType {
    /// The type named `name` (its JSON `type` tag); `InvalidArgument` naming the known ones
    /// if there is none.
    pub fn from_name(name: &str) -> Result<EventType> {
        EventType::ALL.iter().copied().find(|t| t.name() == name).ok_or_else(|| {
            Error::invalid(format!(
                "{name:?} is not an event type (one of: {})",
                EventType::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Its bit in an [`EventKinds`].
    pub(crate) fn bit(self) -> u64 {
        1 << self as u8
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of event types: those a subscription receives. Serialised as the list of their names.
///
/// A [`Group`](crate::EventKind::Group) event holds other events (a booking group's bookings and
/// cancellations, applied as one); it is delivered whole to a subscription that asks for
/// `group` or for any type it holds — a subscription to `cancelled` also sees the
/// cancellations of a group, with the rest of the group beside them.
///
/// ```
/// use haoyuan::{EventKinds, EventType};
/// let kinds = EventKinds::from_names(["cancelled", "expired"])?;
/// assert!(kinds.contains(EventType::Cancelled) && !kinds.contains(EventType::Booked));
/// assert_eq!(kinds, EventKinds::of(&[EventType::Expired, EventType::Cancelled]));
/// assert_eq!(serde_json::to_string(&kinds).unwrap(), r#"["cancelled","expired"]"#);
/// assert!(EventKinds::from_names(["canceled"]).is_err());
/// # Ok::<(), haoyuan::Error>(())
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct EventKinds(u64);

impl EventKinds {
    /// Every type (a subscription's default).
    pub const ALL: EventKinds = EventKinds(u64::MAX >> (64 - EventType::ALL.len()));

    /// The set of `types`.
    pub fn of(types: &[EventType]) -> EventKinds {
        EventKinds(types.iter().fold(0, |m, t| m | t.bit()))
    }

    /// The set of the types named (their JSON `type` tags); `InvalidArgument` on an unknown
    /// name, or on more names than [`EVENT_KIND_NAMES_MAX`] (a bound on the input; a name
    /// may repeat).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<EventKinds> {
        let mut mask = 0;
        for (i, name) in names.into_iter().enumerate() {
            if i >= EVENT_KIND_NAMES_MAX {
                return Err(Error::invalid(format!(
                    "at most {EVENT_KIND_NAMES_MAX} event type names"
                )));
            }
            mask |= EventType::from_name(name)?.bit();
        }
        Ok(EventKinds(mask))
    }

    /// Whether `t` is in the set.
    pub fn contains(self, t: EventType) -> bool {
        self.0 & t.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The types in the set, in [`EventType::ALL`]'s order.
    pub fn types(self) -> impl Iterator<Item = EventType> {
        EventType::ALL.iter().copied().filter(move |t| self.contains(*t))
    }

    /// The set as bits (bit `t as u8` for type `t`).
    pub(crate) fn bits(self) -> u64 {
        self.0
    }
}

/// Most names [`EventKinds::from_names`] takes (every type twice over: a host may repeat one).
pub const EVENT_KIND_NAMES_MAX: usize = 128;

impl Default for EventKinds {
    fn default() -> Self {
        EventKinds::ALL
    }
}

impl std::fmt::Debug for EventKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.types().map(|t| t.name())).finish()
    }
}

impl Serialize for EventKinds {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.types())
    }
}

impl<'de> Deserialize<'de> for EventKinds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let types = Vec::<EventType>::deserialize(d)?;
        Ok(EventKinds::of(&types))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_serdes_tags_and_round_trip() {
        for &t in EventType::ALL {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.name()));
            assert_eq!(EventType::from_name(t.name()).unwrap(), t);
            // An event of this type without its fields is refused for the missing fields, not
            // for an unknown tag: the name is one of `EventKind`'s tags. (Whether each tag maps
            // to its own variant is checked on real events by `core/tests/events.rs`.)
            let err =
                serde_json::from_str::<crate::EventKind>(&format!("{{\"type\":\"{}\"}}", t.name()))
                    .unwrap_err()
                    .to_string();
            assert!(!err.contains("unknown variant"), "{t:?}: {err}");
        }
        assert!(EventType::from_name("Booked").is_err(), "names are the snake_case tags only");
        assert!(EventKinds::from_names(std::iter::repeat_n("booked", 129)).is_err());
        assert_eq!(EventKinds::ALL.types().count(), EventType::ALL.len());
        assert!(EventKinds::from_names([]).unwrap().is_empty());
        let json = serde_json::to_string(&EventKinds::ALL).unwrap();
        assert_eq!(serde_json::from_str::<EventKinds>(&json).unwrap(), EventKinds::ALL);
    }
}
