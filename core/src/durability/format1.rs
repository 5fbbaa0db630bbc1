//! Format 1, read only: what haoyuan wrote before card numbers were hashed. Its `CardLinked`
//! events and snapshot cards hold the number in plain text; they are hashed under the card key
//! and masked as they are read, and the number goes no further (not even into an error: decode
//! errors of this format carry no serde detail, which could quote a payload string).
//!
//! Every other event and snapshot field is as in format 2, so everything but the cards is
//! decoded with the current types.

use super::codec::{self, corrupt};
use super::snapshot::State;
use crate::cards::CardKey;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::ids::PatientId;
use crate::patients::LinkedCard;
use crate::time::Timestamp;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// A card as format 1 kept it. Deliberately without `Debug`: it holds a number.
#[derive(Deserialize)]
pub(crate) struct PlainCard {
    card_type: String,
    number: String,
}

impl PlainCard {
    fn hash(self, key: &CardKey) -> Result<LinkedCard> {
        LinkedCard::new(key, &self.card_type, &self.number)
            .map_err(|e| corrupt(format!("a format-1 card is invalid: {e}")))
    }
}

/// The format-1 `CardLinked` event (the only one that differs from format 2).
#[derive(Deserialize)]
struct CardEvent {
    seq: u64,
    at: Timestamp,
    kind: CardKind,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum CardKind {
    CardLinked { patient: PatientId, card_type: String, number: String },
}

/// An event's type tag, the rest skipped: which shape to decode a record as is decided before
/// decoding it (a record is never tried as one shape, then another).
#[derive(Deserialize)]
struct Peek {
    #[allow(dead_code)]
    seq: u64,
    #[allow(dead_code)]
    at: Timestamp,
    kind: Tag,
}

struct Tag(String);

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Tag, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Tag;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an internally tagged event kind")
            }
            /// MessagePack, structs as arrays: the tag comes first.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Tag, A::Error> {
                let tag: String = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(0, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Tag(tag))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Tag, A::Error> {
                let mut tag = None;
                while let Some(k) = map.next_key::<String>()? {
                    if k == "type" {
                        tag = Some(map.next_value::<String>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                tag.map(Tag).ok_or_else(|| serde::de::Error::missing_field("type"))
            }
        }
        d.deserialize_any(V)
    }
}

fn no_key() -> Error {
    Error::InvalidArgument(format!(
        "a format-1 journal holds card numbers in plain text; reading it needs the card key ({} or {})",
        crate::cards::CARD_KEY_ENV,
        crate::cards::CARD_KEY_FILE_ENV
    ))
}

/// One format-1 event, its card number (if any) hashed and masked.
pub(crate) fn decode_event(payload: &[u8], key: Option<&CardKey>) -> Result<Event> {
    let undecodable = || corrupt("a record does not decode as a format-1 event");
    let peek: Peek = rmp_serde::from_slice(payload).map_err(|_| undecodable())?;
    if peek.kind.0 != "card_linked" {
        return codec::decode(payload);
    }
    let e: CardEvent = rmp_serde::from_slice(payload).map_err(|_| undecodable())?;
    let CardKind::CardLinked { patient, card_type, number } = e.kind;
    let card = PlainCard { card_type, number }.hash(key.ok_or_else(no_key)?)?;
    let kind = EventKind::CardLinked {
        patient,
        card_type: card.card_type.into(),
        masked: card.masked.into(),
        digest: card.digest,
    };
    Ok(Event { seq: e.seq, at: e.at, kind })
}

/// A format-1 snapshot payload as the current state, its cards hashed and masked.
pub(crate) fn decode_state(payload: &[u8], key: &CardKey) -> Result<State> {
    let old: State<PlainCard, PlainCard> = rmp_serde::from_slice(payload)
        .map_err(|_| corrupt("the snapshot does not decode as format 1"))?;
    old.map_cards(|c| c.hash(key), |c| Ok(c.hash(key)?.digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use serde::Serialize;

    /// Format 1's event types, as they were (the parts that differ).
    #[derive(Serialize)]
    struct OldEvent {
        seq: u64,
        at: Timestamp,
        kind: OldKind,
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum OldKind {
        CardLinked { patient: PatientId, card_type: String, number: String },
    }

    #[test]
    fn card_numbers_are_hashed_and_other_events_pass_through() {
        let key = CardKey::from_bytes(&[3; 32]).unwrap();
        let old = OldEvent {
            seq: 4,
            at: Timestamp(1_800_000_000),
            kind: OldKind::CardLinked {
                patient: PatientId(2),
                card_type: "national_id".into(),
                number: "441900199001011234".into(),
            },
        };
        let payload = rmp_serde::to_vec(&old).unwrap();
        let e = decode_event(&payload, Some(&key)).unwrap();
        let expected = EventKind::CardLinked {
            patient: PatientId(2),
            card_type: "national_id".into(),
            masked: "4419**********1234".into(),
            digest: key.digest("national_id", "441900199001011234"),
        };
        assert_eq!((e.seq, e.at, e.kind), (4, Timestamp(1_800_000_000), expected));
        let err = decode_event(&payload, None).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)) && !err.to_string().contains("441900"),
            "{err}"
        );
        let other = Event {
            seq: 5,
            at: Timestamp(1),
            kind: EventKind::CheckedIn { booking: BookingId(1 << 32 | 1) },
        };
        assert_eq!(decode_event(&rmp_serde::to_vec(&other).unwrap(), Some(&key)).unwrap(), other);
        let held = Event {
            seq: 6,
            at: Timestamp(1),
            kind: EventKind::Held {
                booking: BookingId(1 << 32 | 1),
                slot: SlotId(3),
                patient: PatientId(1),
                channel: ChannelId(1),
                pool: crate::model::Pool::General,
                expires_at: Timestamp(600),
                referral: None,
                offer: Some(WaitlistId(2)),
            },
        };
        assert_eq!(decode_event(&rmp_serde::to_vec(&held).unwrap(), None).unwrap(), held);
        // A damaged card event says nothing of its content.
        let mut bad = payload.clone();
        let n = bad.len();
        bad.truncate(n - 3);
        let err = decode_event(&bad, Some(&key)).unwrap_err().to_string();
        assert!(!err.contains("4419001990"), "{err}");
    }
}
