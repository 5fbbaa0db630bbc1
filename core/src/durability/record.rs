//! Format 3 journal records: the event in postcard, its kind under a fixed numeric tag.
//!
//! Formats 1 and 2 stored the MessagePack of the public `Event`, whose `EventKind` is
//! internally tagged (`{"type": "booked", …}`, the JSON subscribers and FHIR see). Decoding an
//! internally tagged enum makes serde buffer every record into an intermediate tree before it
//! can look at the tag: 40% of recovery's time went there (perf, `make bench-durability`,
//! 1 M records). A journal record needs neither the names nor the self-description, so format 3
//! encodes a mirror of the event with an **externally tagged** kind (the variant's index, a
//! varint) in postcard (<https://docs.rs/postcard>: compact, no schema on the wire, a stable
//! specified encoding), and decodes straight into the engine's types.
//!
//! The mirror (`KindDef`) is serde's "remote derive" of `EventKind`: the compiler checks that
//! each of its variants has exactly `EventKind`'s fields and types, and its `match` fails to
//! compile when `EventKind` gains a variant — the mirror cannot drift. **Append new variants at
//! the end only**: a variant's position is its tag on disk.

use super::codec::{corrupt, FRAME_HEADER_LEN, RECORD_LEN_MAX};
use crate::cards::CardDigest;
use crate::error::Result;
use crate::events::{Event, EventKind, RequestStamp};
use crate::ids::*;
use crate::model::{
    CancelledBy, GroupAction, HalfDay, Pool, Request, ResourceKind, Roster, SlotSpec, Tier,
    Urgency, WaitlistEntry,
};
use crate::time::{Date, TimeOfDay, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `EventKind`, externally tagged by position (see the module comment: append only).
#[derive(Serialize, Deserialize)]
#[serde(remote = "EventKind")]
enum KindDef {
    InstitutionAdded {
        institution: InstitutionId,
        name: String,
        tier: Tier,
        district: String,
    },
    DepartmentAdded {
        department: DepartmentId,
        institution: InstitutionId,
        specialty: String,
        name: String,
    },
    ResourceAdded {
        resource: ResourceId,
        department: DepartmentId,
        kind: ResourceKind,
        name: String,
        expert: bool,
    },
    ChannelAdded {
        channel: ChannelId,
        name: String,
    },
    PatientRegistered {
        patient: PatientId,
    },
    CardLinked {
        patient: PatientId,
        card_type: String,
        masked: String,
        digest: CardDigest,
    },
    PatientsMerged {
        survivor: PatientId,
        merged: PatientId,
    },
    SlotsPublished {
        first: SlotId,
        specs: Vec<SlotSpec>,
    },
    RosterAdded {
        roster: RosterId,
        template: Roster,
    },
    RostersPublished {
        until: Date,
    },
    Held {
        booking: BookingId,
        slot: SlotId,
        patient: PatientId,
        channel: ChannelId,
        pool: Pool,
        expires_at: Timestamp,
        referral: Option<ReferralId>,
        offer: Option<WaitlistId>,
    },
    Booked {
        booking: BookingId,
        slot: SlotId,
        patient: PatientId,
        channel: ChannelId,
        pool: Pool,
        referral: Option<ReferralId>,
    },
    Confirmed {
        booking: BookingId,
    },
    Cancelled {
        booking: BookingId,
        slot: SlotId,
        by: CancelledBy,
        late: bool,
    },
    Expired {
        booking: BookingId,
        slot: SlotId,
    },
    CheckedIn {
        booking: BookingId,
    },
    Fulfilled {
        booking: BookingId,
    },
    NoShow {
        booking: BookingId,
        slot: SlotId,
    },
    PatientSuspended {
        patient: PatientId,
        until: Timestamp,
        no_shows: f32,
    },
    SessionSuspended {
        resource: ResourceId,
        date: Date,
        time: Option<TimeOfDay>,
        slots: u32,
        cancelled: u32,
    },
    ReferralIssued {
        referral: ReferralId,
        patient: PatientId,
        from: InstitutionId,
        specialty: SpecialtyId,
        institution: Option<InstitutionId>,
        urgency: Urgency,
        valid_until: Timestamp,
    },
    ReferralConsumed {
        referral: ReferralId,
        booking: BookingId,
    },
    ReferralReturned {
        referral: ReferralId,
    },
    WaitlistJoined {
        entry: WaitlistEntry,
    },
    WaitlistOffered {
        entry: WaitlistId,
        booking: BookingId,
    },
    WaitlistLeft {
        entry: WaitlistId,
        patient: PatientId,
    },
    LotteryEntered {
        ticket: TicketId,
        request: Request,
        weight: f64,
        release_at: Timestamp,
        draws_at: Timestamp,
    },
    LotteryDrawn {
        release_at: Timestamp,
        seed: u64,
        order: Vec<TicketId>,
    },
    LotteryWon {
        ticket: TicketId,
        booking: BookingId,
    },
    LotteryLost {
        ticket: TicketId,
        reason: String,
    },
    ClockSet {
        to: Timestamp,
    },
    LoadChanged {
        department: DepartmentId,
        date: Date,
        half_day: HalfDay,
        queue: u32,
        expected_wait_s: u32,
    },
    PolicyChanged {
        #[serde(with = "policy_as_json")]
        policy: Box<crate::policy::Policy>,
    },
    Group {
        group: BookingId,
        action: GroupAction,
        replaces: Option<BookingId>,
        #[serde(with = "kinds_via_mirror")]
        events: Vec<EventKind>,
    },
    FreeChanged {
        department: DepartmentId,
        date: Date,
        free_today: u32,
        free_beds_tonight: u32,
    },
    Retired {
        before: Date,
    },
}

/// The events inside a group record, each through the mirror (the same tags as a record's).
mod kinds_via_mirror {
    use super::{EventKind, KindOwned, KindRef};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(events: &[EventKind], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(events.len()))?;
        for e in events {
            seq.serialize_element(&KindRef(e))?;
        }
        seq.end()
    }

    thread_local! {
        /// Whether a group's events are being decoded on this thread: groups never nest, and a
        /// crafted record nesting them a million deep must not overflow the decoder's stack.
        static INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EventKind>, D::Error> {
        if INSIDE.with(|i| i.replace(true)) {
            return Err(serde::de::Error::custom("a group inside a group"));
        }
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                INSIDE.with(|i| i.set(false));
            }
        }
        let _leave = Leave;
        Ok(Vec::<KindOwned>::deserialize(d)?.into_iter().map(|k| k.0).collect())
    }
}

/// A policy inside a journal record, as JSON text: `Policy` leaves default parts out when it
/// is serialised (`skip_serializing_if`), which only a self-describing format can read back.
/// A policy change is rare, so the text costs nothing that matters.
mod policy_as_json {
    use crate::policy::Policy;
    use serde::{de::Error as _, ser::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Policy, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&serde_json::to_string(p).map_err(S::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<Policy>, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(D::Error::custom)
    }
}

/// The kind, written through the mirror.
struct KindRef<'a>(&'a EventKind);

impl Serialize for KindRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        KindDef::serialize(self.0, s)
    }
}

/// The kind, read through the mirror.
struct KindOwned(EventKind);

impl<'de> Deserialize<'de> for KindOwned {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        KindDef::deserialize(d).map(KindOwned)
    }
}

/// A record as written from format 4 on: (seq, at, kind, stamp) — a tuple, so no names and no
/// lengths on the wire. `stamp` is the request key's record of the last event of a keyed
/// request (`idempotency.rs`), one 0 byte otherwise.
#[derive(Serialize)]
struct RecordRef<'a>(u64, Timestamp, KindRef<'a>, Option<&'a RequestStamp>);

/// A format-3 record: (seq, at, kind).
#[derive(Deserialize)]
struct RecordOwned3(u64, Timestamp, KindOwned);

#[derive(Deserialize)]
struct RecordOwned(u64, Timestamp, KindOwned, Option<RequestStamp>);

/// One event (and the stamp of its keyed request, if it ends one) as a complete frame of the
/// current format (`codec.rs` has the frame layout), ready to append.
pub(crate) fn encode_frame(event: &Event, stamp: Option<&RequestStamp>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    let record = RecordRef(event.seq, event.at, KindRef(&event.kind), stamp);
    let mut out = postcard::to_extend(&record, out)
        .map_err(|e| corrupt(format!("cannot encode event {}: {e}", event.seq)))?;
    let len = out.len() - FRAME_HEADER_LEN;
    if len > RECORD_LEN_MAX {
        return Err(corrupt(format!(
            "event {} encodes to {len} bytes, above the {RECORD_LEN_MAX} record limit",
            event.seq
        )));
    }
    let len_bytes = (len as u32).to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), &out[FRAME_HEADER_LEN..]);
    out[0..4].copy_from_slice(&len_bytes);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// The event (and stamp) of a payload of format 3 or 4. Every byte must belong to it:
/// trailing bytes in a checksummed record mean it was not written by this format, and are
/// corruption.
pub(crate) fn decode(version: u16, payload: &[u8]) -> Result<(Event, Option<RequestStamp>)> {
    let bad = |e: postcard::Error| corrupt(format!("cannot decode: {e}"));
    let ((seq, at, kind, stamp), rest) = if version == 3 {
        let (RecordOwned3(seq, at, KindOwned(kind)), rest) =
            postcard::take_from_bytes::<RecordOwned3>(payload).map_err(bad)?;
        ((seq, at, kind, None), rest)
    } else {
        let (RecordOwned(seq, at, KindOwned(kind), stamp), rest) =
            postcard::take_from_bytes::<RecordOwned>(payload).map_err(bad)?;
        ((seq, at, kind, stamp), rest)
    };
    if !rest.is_empty() {
        return Err(corrupt(format!("{} bytes after the end of the record", rest.len())));
    }
    Ok((Event { seq, at, kind }, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durability::codec::{read_frame, Frame};

    #[test]
    fn events_round_trip_and_are_smaller_than_format_2() {
        let events = [
            EventKind::PatientRegistered { patient: PatientId(7) },
            EventKind::Booked {
                booking: BookingId(7 << 32 | 1),
                slot: SlotId(123_456),
                patient: PatientId(7),
                channel: ChannelId(3),
                pool: Pool::Referral,
                referral: Some(ReferralId(9)),
            },
            EventKind::LotteryDrawn {
                release_at: Timestamp(1_795_392_000),
                seed: u64::MAX,
                order: vec![TicketId(1), TicketId(u64::MAX)],
            },
            EventKind::PatientSuspended {
                patient: PatientId(1),
                until: Timestamp(-5),
                no_shows: 2.5,
            },
        ];
        for (i, kind) in events.into_iter().enumerate() {
            let event = Event { seq: 1000 + i as u64, at: Timestamp(1_795_392_000), kind };
            let frame = encode_frame(&event, None).unwrap();
            let Frame::Ok(payload, end) = read_frame(&frame, 0) else { panic!("bad frame") };
            assert_eq!(end, frame.len());
            assert_eq!(decode(4, payload).unwrap(), (event.clone(), None));
            // With a request key's stamp (format 4), and format 3's layout without one.
            let stamp = RequestStamp {
                key: crate::RequestKey::new("retry-7").unwrap(),
                fingerprint: [9; 16],
                outcome: "{\"outcome\":\"done\"}".into(),
            };
            let frame = encode_frame(&event, Some(&stamp)).unwrap();
            let Frame::Ok(stamped, _) = read_frame(&frame, 0) else { panic!("bad frame") };
            assert_eq!(decode(4, stamped).unwrap(), (event.clone(), Some(stamp)));
            assert_eq!(decode(3, &payload[..payload.len() - 1]).unwrap(), (event.clone(), None));
            let format2 = rmp_serde::to_vec(&event).unwrap();
            assert!(payload.len() < format2.len(), "{} ≥ {} bytes", payload.len(), format2.len());
        }
    }

    #[test]
    fn a_group_round_trips_and_a_group_inside_a_group_is_refused() {
        let booked = |n: u64| EventKind::Booked {
            booking: BookingId(7 << 32 | n),
            slot: SlotId(n as u32 + 1),
            patient: PatientId(7),
            channel: ChannelId(1),
            pool: Pool::General,
            referral: None,
        };
        let group = |events| EventKind::Group {
            group: BookingId(7 << 32),
            action: GroupAction::Booked,
            replaces: None,
            events,
        };
        let event =
            Event { seq: 9, at: Timestamp(1_795_392_000), kind: group(vec![booked(0), booked(1)]) };
        let frame = encode_frame(&event, None).unwrap();
        let Frame::Ok(payload, _) = read_frame(&frame, 0) else { panic!("bad frame") };
        assert_eq!(decode(5, payload).unwrap(), (event, None));
        // Nested (never written by the engine; a crafted record): refused at the first level,
        // however deep it goes. Crafted by repeating a one-level group's prefix.
        let inner = postcard::to_stdvec(&KindRef(&booked(0))).unwrap();
        let one = postcard::to_stdvec(&KindRef(&group(vec![booked(0)]))).unwrap();
        let prefix = &one[..one.len() - inner.len()];
        let mut payload = postcard::to_stdvec(&(10u64, Timestamp(0))).unwrap();
        for _ in 0..1_000_000 {
            payload.extend_from_slice(prefix);
        }
        payload.extend_from_slice(&inner);
        payload.push(0); // no stamp
                         // (postcard reports a custom error without its text: that it is an error, not a stack
                         // overflow that aborts the process, is the point).
        assert!(decode(5, &payload).is_err());
        // One level of nesting, as small as it gets, is refused too; and the decoder is usable
        // afterwards.
        let two = [&payload[..2], prefix, prefix, &inner, &[0]].concat();
        assert!(decode(5, &two).is_err());
        assert!(decode(5, &[&payload[..2], prefix, &inner, &[0]].concat()).is_ok());
        let again = Event { seq: 11, at: Timestamp(0), kind: group(vec![booked(2)]) };
        let frame = encode_frame(&again, None).unwrap();
        let Frame::Ok(payload, _) = read_frame(&frame, 0) else { panic!("bad frame") };
        assert_eq!(decode(5, payload).unwrap(), (again, None));
    }

    #[test]
    fn trailing_bytes_and_unknown_tags_are_corruption() {
        let event = Event {
            seq: 1,
            at: Timestamp(0),
            kind: EventKind::PatientRegistered { patient: PatientId(1) },
        };
        let mut payload =
            postcard::to_stdvec(&RecordRef(1, Timestamp(0), KindRef(&event.kind), None)).unwrap();
        assert_eq!(decode(4, &payload).unwrap(), (event, None));
        payload.push(0);
        assert!(decode(4, &payload).unwrap_err().to_string().contains("after the end"));
        // Format 3 has no stamp: the 0 byte of "none" is a byte too many there.
        assert!(decode(3, &payload[..payload.len() - 1])
            .unwrap_err()
            .to_string()
            .contains("after the end"));
        // seq 1, at 0 (zigzag), then a tag past the last variant.
        assert!(decode(4, &[1, 0, 0x7f]).is_err());
        assert!(decode(4, &[]).is_err());
    }
}
