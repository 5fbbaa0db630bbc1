//! On-disk encodings: journal frames, segment headers, snapshot files.
//!
//! A frame is `len: u32 LE | crc: u32 LE | payload`, with `crc = crc32c(len bytes ‖ payload)`
//! so that a flipped length is caught as surely as a flipped payload byte. The payload is the
//! event: from format 3 in postcard with a fixed numeric tag per kind (`record.rs`, which says
//! why), in formats 1 and 2 in MessagePack (`rmp_serde::to_vec`, structs as arrays). Snapshots
//! are MessagePack in every format.
//!
//! # Format versions
//! Every segment and snapshot header starts with a 6-byte magic (`HYJRNL`, `HYSNAP`) and a
//! `u16` LE **format version**; a file is decoded by the rules of its own version, so a
//! directory may mix versions (old segments, then the ones written after an upgrade).
//!
//! | format | written by | card numbers |
//! |---|---|---|
//! | 1 | haoyuan before card numbers were hashed (read only) | plain text: hashed under the card key and masked as they are read (`format1.rs`) |
//! | 2 | haoyuan before format 3 (read only) | masked form and keyed digest only; headers hold the key check value |
//! | 3 | haoyuan before request keys (read only): journal records in postcard (`record.rs`); headers and snapshots as format 2 | as format 2 |
//! | 4 | haoyuan before booking groups (read only): as format 3, each record ending in the optional stamp of a keyed request, and snapshots holding the request keys after the state | as format 2 |
//! | 5 | this build: as format 4, with the group record (`EventKind::Group`, a new tag) and booking groups in snapshots (a trailing field per patient, absent when it has none). Bumped although format 4's reader would decode every record but the new one: a build that cannot apply a group must refuse the directory by its version, not halfway through replay | as format 2 |
//!
//! Format 1 headers have no binary version: their magic ends in the ASCII digits `01`
//! (`HYJRNL01`, `HYSNAP01`), which stand where later headers keep the version (`b"01"` read as
//! a u16 is 0x3130, never used as a version). Format 1 segment: magic (8) | first seq u64 |
//! CRC-32C of those 16 bytes (20 bytes). Format 1 snapshot: magic (8) | seq u64 | payload
//! length u64 | CRC-32C of those 24 bytes ‖ payload (28 bytes).
//!
//! Format 2 and later, all integers little-endian:
//!
//! ```text
//! segment  (40): magic "HYJRNL" | version u16 | header len u16 | 0 u16 | first seq u64
//!                | key check [16] | CRC-32C of the 36 bytes before
//! snapshot (52): magic "HYSNAP" | version u16 | header len u16 | 0 u16 | seq u64
//!                | payload len u64 | key check [16] | CRC-32C of the payload
//!                | CRC-32C of the 48 bytes before
//! ```
//!
//! Rule for every later format: bytes 8..10 hold the header length, and the header's last 4
//! bytes are the CRC-32C of the header bytes before them. A reader therefore tells a header of
//! a format it does not know (checksum right: refused, naming the version) from a damaged one
//! (checksum wrong: a torn tail or a damaged snapshot, as before) without knowing its layout.
//! The key check value is a keyed hash of a fixed label under the card key (`cards.rs`), never
//! the key: opening a directory under another key is refused before anything is read.

use crate::cards::{CardKey, KEY_CHECK_LEN};
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The format this build writes (6: retention's `Retired` record and snapshot trailer).
pub(crate) const FORMAT_CURRENT: u16 = 6;
/// The formats this build reads.
pub(crate) const FORMATS_READ: std::ops::RangeInclusive<u16> = 1..=FORMAT_CURRENT;
/// The version field of a format-1 header: the ASCII digits ending its magic.
const FORMAT_1_FIELD: [u8; 2] = *b"01";

pub(crate) const SEGMENT_MAGIC: &[u8; 6] = b"HYJRNL";
/// Header length of a format-1 segment.
pub(crate) const SEGMENT_HEADER_LEN_1: usize = 20;
pub(crate) const SEGMENT_HEADER_LEN: usize = 40;
pub(crate) const FRAME_HEADER_LEN: usize = 8;
/// Largest record accepted (a bulk publish of [`crate::PUBLISH_BATCH_MAX`] slots fits).
pub(crate) const RECORD_LEN_MAX: usize = 512 << 20;

pub(crate) const SNAPSHOT_MAGIC: &[u8; 6] = b"HYSNAP";
/// Header length of a format-1 snapshot.
pub(crate) const SNAPSHOT_HEADER_LEN_1: usize = 28;
pub(crate) const SNAPSHOT_HEADER_LEN: usize = 52;
/// Largest snapshot accepted (a province: 10 M slots, 100 M patients stays well below).
pub(crate) const SNAPSHOT_LEN_MAX: u64 = 64 << 30;
/// Longest header of any format (a bound on what a reader looks at before knowing the format).
pub(crate) const HEADER_LEN_MAX: usize = 4096;

pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::Durability(msg.into())
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec(value).map_err(|e| corrupt(format!("cannot encode: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    rmp_serde::from_slice(bytes).map_err(|e| corrupt(format!("cannot decode: {e}")))
}

/// What is at an offset of a segment.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame<'a> {
    /// A checksummed payload and the offset just after it.
    Ok(&'a [u8], usize),
    /// Clean end of the data.
    End,
    /// A frame that is cut short or fails its checksum.
    Bad(&'static str),
}

pub(crate) fn read_frame(buf: &[u8], pos: usize) -> Frame<'_> {
    let rest = buf.get(pos..).unwrap_or(&[]);
    if rest.is_empty() {
        return Frame::End;
    }
    if rest.len() < FRAME_HEADER_LEN {
        return Frame::Bad("a frame header is cut short");
    }
    let len_bytes: [u8; 4] = [rest[0], rest[1], rest[2], rest[3]];
    let len = u32::from_le_bytes(len_bytes) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len == 0 || len > RECORD_LEN_MAX {
        return Frame::Bad("a frame length is zero or beyond the record limit");
    }
    let Some(payload) = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
        return Frame::Bad("a frame runs past the end of the segment");
    };
    if crc32c::crc32c_append(crc32c::crc32c(&len_bytes), payload) != crc {
        return Frame::Bad("a frame fails its CRC-32C");
    }
    Frame::Ok(payload, pos + FRAME_HEADER_LEN + len)
}

/// Whether any checksummed frame starts after `pos`: decides whether damage is a torn tail
/// (nothing valid follows: cut it off) or corruption in the middle (valid records follow: an
/// error, never a silent skip).
pub(crate) fn valid_frame_after(buf: &[u8], pos: usize) -> Option<usize> {
    (pos + 1..buf.len().saturating_sub(FRAME_HEADER_LEN - 1))
        .find(|&q| matches!(read_frame(buf, q), Frame::Ok(..)))
}

/// Why a header cannot be used.
#[derive(Debug, PartialEq)]
pub(crate) enum HeaderProblem {
    /// Bad magic, cut short or failing its checksum: damage (or not ours).
    Damaged(String),
    /// A well-formed header of a format this build does not read.
    Unsupported(u16),
}

/// The error that refuses a file of a format this build does not read.
pub(crate) fn unsupported(what: &str, version: u16) -> Error {
    Error::Durability(format!(
        "{what} is in format {version}, which this build does not read (it reads formats {} to {}): open it with a newer haoyuan",
        FORMATS_READ.start(),
        FORMATS_READ.end()
    ))
}

/// The error that refuses a directory written under another card key.
pub(crate) fn key_mismatch() -> Error {
    Error::InvalidArgument(
        "the card key does not match the one this directory was written with".into(),
    )
}

/// Check a header's key check value against the key.
pub(crate) fn check_key(key_check: Option<[u8; KEY_CHECK_LEN]>, key: &CardKey) -> Result<()> {
    match key_check {
        Some(k) if k != key.check_value() => Err(key_mismatch()),
        _ => Ok(()),
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// The version and the header bytes of a file (see the module comment): format 1 by its magic,
/// later formats by their version field, checked by the header's own CRC.
fn versioned_header<'a>(
    buf: &'a [u8],
    magic: &[u8; 6],
    len_1: usize,
    kind: &str,
) -> Result<(u16, &'a [u8]), HeaderProblem> {
    let damaged = |why: &str| HeaderProblem::Damaged(format!("{kind} header {why}"));
    if buf.len() < 8 || &buf[..6] != magic {
        return Err(damaged("has a bad magic or is cut short"));
    }
    if buf[6..8] == FORMAT_1_FIELD {
        return buf.get(..len_1).map(|h| (1, h)).ok_or_else(|| damaged("is cut short"));
    }
    let version = u16_at(buf, 6);
    let len = buf.get(8..10).map_or(0, |b| u16_at(b, 0) as usize);
    if !(14..=HEADER_LEN_MAX).contains(&len) {
        return Err(damaged("has an impossible length"));
    }
    let h = buf.get(..len).ok_or_else(|| damaged("is cut short"))?;
    if crc32c::crc32c(&h[..len - 4]) != u32_at(h, len - 4) {
        return Err(damaged("fails its CRC-32C"));
    }
    if version == 1 {
        // Format 1 spells its version in ASCII; no writer ever put a binary 1 here.
        return Err(damaged("claims format 1 in a later layout"));
    }
    if !FORMATS_READ.contains(&version) {
        return Err(HeaderProblem::Unsupported(version));
    }
    Ok((version, h))
}

/// A segment's header, as read.
#[derive(Debug, PartialEq)]
pub(crate) struct SegmentHeader {
    pub version: u16,
    pub first_seq: u64,
    /// `None` in format 1 (written before card keys existed).
    pub key_check: Option<[u8; KEY_CHECK_LEN]>,
    /// Where the frames start.
    pub len: usize,
}

/// The header of a new segment (current format).
pub(crate) fn segment_header(
    first_seq: u64,
    key_check: &[u8; KEY_CHECK_LEN],
) -> [u8; SEGMENT_HEADER_LEN] {
    segment_header_of(FORMAT_CURRENT, first_seq, key_check)
}

/// A segment header of format `version` (2 or later: same layout). Tests and fuzzing write
/// earlier formats with it; the engine writes only `FORMAT_CURRENT`.
pub(crate) fn segment_header_of(
    version: u16,
    first_seq: u64,
    key_check: &[u8; KEY_CHECK_LEN],
) -> [u8; SEGMENT_HEADER_LEN] {
    debug_assert!(version >= 2 && FORMATS_READ.contains(&version));
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..6].copy_from_slice(SEGMENT_MAGIC);
    h[6..8].copy_from_slice(&version.to_le_bytes());
    h[8..10].copy_from_slice(&(SEGMENT_HEADER_LEN as u16).to_le_bytes());
    h[12..20].copy_from_slice(&first_seq.to_le_bytes());
    h[20..36].copy_from_slice(key_check);
    let crc = crc32c::crc32c(&h[..36]);
    h[36..].copy_from_slice(&crc.to_le_bytes());
    h
}

pub(crate) fn parse_segment_header(buf: &[u8]) -> Result<SegmentHeader, HeaderProblem> {
    let (version, h) = versioned_header(buf, SEGMENT_MAGIC, SEGMENT_HEADER_LEN_1, "segment")?;
    match version {
        1 => {
            if crc32c::crc32c(&h[..16]).to_le_bytes() != h[16..20] {
                return Err(HeaderProblem::Damaged("segment header fails its CRC-32C".into()));
            }
            Ok(SegmentHeader {
                version,
                first_seq: u64_at(h, 8),
                key_check: None,
                len: SEGMENT_HEADER_LEN_1,
            })
        }
        _ if h.len() != SEGMENT_HEADER_LEN => {
            Err(HeaderProblem::Damaged("segment header has the wrong length".into()))
        }
        _ => Ok(SegmentHeader {
            version,
            first_seq: u64_at(h, 12),
            key_check: Some(h[20..36].try_into().expect("16 bytes")),
            len: SEGMENT_HEADER_LEN,
        }),
    }
}

pub(crate) fn snapshot_bytes(seq: u64, key_check: &[u8; KEY_CHECK_LEN], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER_LEN + payload.len());
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&FORMAT_CURRENT.to_le_bytes());
    out.extend_from_slice(&(SNAPSHOT_HEADER_LEN as u16).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(key_check);
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(out.len(), SNAPSHOT_HEADER_LEN);
    out.extend_from_slice(payload);
    out
}

/// A snapshot file, as read: its header fields and its checked payload.
#[derive(Debug, PartialEq)]
pub(crate) struct ParsedSnapshot<'a> {
    pub version: u16,
    pub seq: u64,
    pub key_check: Option<[u8; KEY_CHECK_LEN]>,
    pub payload: &'a [u8],
}

/// A snapshot's header fields (its payload not yet checked).
#[derive(Debug, PartialEq)]
pub(crate) struct SnapshotHeader {
    pub version: u16,
    pub seq: u64,
    pub payload_len: u64,
    pub key_check: Option<[u8; KEY_CHECK_LEN]>,
    pub len: usize,
}

/// The header of a snapshot file, from its first bytes. Format 1's checksum covers the payload
/// too, so its header is only checked by [`parse_snapshot`].
pub(crate) fn parse_snapshot_header(buf: &[u8]) -> Result<SnapshotHeader, HeaderProblem> {
    let (version, h) = versioned_header(buf, SNAPSHOT_MAGIC, SNAPSHOT_HEADER_LEN_1, "snapshot")?;
    match version {
        1 => Ok(SnapshotHeader {
            version,
            seq: u64_at(h, 8),
            payload_len: u64_at(h, 16),
            key_check: None,
            len: SNAPSHOT_HEADER_LEN_1,
        }),
        _ if h.len() != SNAPSHOT_HEADER_LEN => {
            Err(HeaderProblem::Damaged("snapshot header has the wrong length".into()))
        }
        _ => Ok(SnapshotHeader {
            version,
            seq: u64_at(h, 12),
            payload_len: u64_at(h, 20),
            key_check: Some(h[28..44].try_into().expect("16 bytes")),
            len: SNAPSHOT_HEADER_LEN,
        }),
    }
}

/// The header fields and checked payload of a snapshot file.
pub(crate) fn parse_snapshot(buf: &[u8]) -> Result<ParsedSnapshot<'_>, HeaderProblem> {
    let h = parse_snapshot_header(buf)?;
    let payload = &buf[h.len..];
    if h.payload_len > SNAPSHOT_LEN_MAX || payload.len() as u64 != h.payload_len {
        return Err(HeaderProblem::Damaged(format!(
            "snapshot length {} does not match the file ({} bytes)",
            h.payload_len,
            buf.len()
        )));
    }
    let crc_ok = match h.version {
        1 => crc32c::crc32c_append(crc32c::crc32c(&buf[..24]), payload) == u32_at(buf, 24),
        _ => crc32c::crc32c(payload) == u32_at(buf, 44),
    };
    if !crc_ok {
        return Err(HeaderProblem::Damaged("snapshot fails its CRC-32C".into()));
    }
    Ok(ParsedSnapshot { version: h.version, seq: h.seq, key_check: h.key_check, payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;
    use crate::events::EventKind;
    use crate::ids::*;
    use crate::model::*;

    use crate::time::Timestamp;

    #[test]
    fn internally_tagged_events_round_trip() {
        let events = [
            EventKind::Held {
                booking: BookingId(7 << 32 | 3),
                slot: SlotId(9),
                patient: PatientId(7),
                channel: ChannelId(1),
                pool: Pool::Referral,
                expires_at: Timestamp(1_800_000_600),
                referral: Some(ReferralId(4)),
                offer: None,
            },
            EventKind::Cancelled {
                booking: BookingId(1),
                slot: SlotId(2),
                by: CancelledBy::Provider,
                late: true,
            },
            EventKind::PatientSuspended {
                patient: PatientId(1),
                until: Timestamp(5),
                no_shows: 1.5,
            },
            EventKind::LotteryLost { ticket: TicketId(3), reason: "slot full".into() },
            // A custom Deserialize (bytes or hex): postcard cannot describe itself.
            EventKind::CardLinked {
                patient: PatientId(2),
                card_type: "national_id".into(),
                masked: "4419**********1234".into(),
                digest: crate::cards::CardDigest::from_hex(&"a5".repeat(16)).unwrap(),
            },
        ];
        for (i, kind) in events.into_iter().enumerate() {
            // Format 2's records (still read): MessagePack of the internally tagged event.
            let e = Event { seq: i as u64 + 1, at: Timestamp(1_800_000_000), kind };
            assert_eq!(decode::<Event>(&rmp_serde::to_vec(&e).unwrap()).unwrap(), e);
            // Format 3's (written): postcard through the mirror of `record.rs`.
            let frame = super::super::record::encode_frame(&e, None).unwrap();
            let Frame::Ok(payload, _) = read_frame(&frame, 0) else { panic!("bad frame") };
            assert_eq!(super::super::record::decode(FORMAT_CURRENT, payload).unwrap(), (e, None));
        }
    }

    #[test]
    fn damaged_frames_are_bad_not_panics() {
        let e = Event {
            seq: 1,
            at: Timestamp(0),
            kind: EventKind::PatientRegistered { patient: PatientId(0) },
        };
        let frame = super::super::record::encode_frame(&e, None).unwrap();
        for cut in 1..frame.len() {
            assert!(matches!(read_frame(&frame[..cut], 0), Frame::Bad(_)), "cut at {cut}");
        }
        for i in 0..frame.len() {
            let mut f = frame.clone();
            f[i] ^= 0x40;
            assert!(matches!(read_frame(&f, 0), Frame::Bad(_)), "flip at {i}");
        }
        let kc = [7u8; KEY_CHECK_LEN];
        let h = parse_segment_header(&segment_header(42, &kc)).unwrap();
        assert_eq!(
            h,
            SegmentHeader {
                version: FORMAT_CURRENT,
                first_seq: 42,
                key_check: Some(kc),
                len: SEGMENT_HEADER_LEN
            }
        );
        let s = snapshot_bytes(5, &kc, b"abc");
        assert_eq!(
            parse_snapshot(&s).unwrap(),
            ParsedSnapshot {
                version: FORMAT_CURRENT,
                seq: 5,
                key_check: Some(kc),
                payload: &b"abc"[..]
            }
        );
        assert!(parse_snapshot(&s[..s.len() - 1]).is_err());
        // Every flipped header bit is damage, never another format or another key.
        for i in 0..SEGMENT_HEADER_LEN * 8 {
            let mut h = segment_header(42, &kc);
            h[i / 8] ^= 1 << (i % 8);
            assert!(matches!(parse_segment_header(&h), Err(HeaderProblem::Damaged(_))), "bit {i}");
        }
        for i in 0..SNAPSHOT_HEADER_LEN * 8 {
            let mut s = snapshot_bytes(5, &kc, b"abc");
            s[i / 8] ^= 1 << (i % 8);
            assert!(matches!(parse_snapshot(&s), Err(HeaderProblem::Damaged(_))), "bit {i}");
        }
    }

    /// A header of a later format (same rule: length at 8..10, CRC last) is refused by version.
    fn future_header(magic: &[u8; 6], version: u16, len: usize) -> Vec<u8> {
        let mut h = vec![0u8; len];
        h[..6].copy_from_slice(magic);
        h[6..8].copy_from_slice(&version.to_le_bytes());
        h[8..10].copy_from_slice(&(len as u16).to_le_bytes());
        let crc = crc32c::crc32c(&h[..len - 4]);
        h[len - 4..].copy_from_slice(&crc.to_le_bytes());
        h
    }

    #[test]
    fn versions_are_read_from_the_header() {
        let next = FORMAT_CURRENT + 1;
        assert_eq!(
            parse_segment_header(&future_header(SEGMENT_MAGIC, next, 64)),
            Err(HeaderProblem::Unsupported(next))
        );
        assert_eq!(
            parse_segment_header(&future_header(SEGMENT_MAGIC, 900, 20)),
            Err(HeaderProblem::Unsupported(900))
        );
        assert_eq!(
            parse_snapshot(&future_header(SNAPSHOT_MAGIC, next, 80)),
            Err(HeaderProblem::Unsupported(next))
        );
        assert!(matches!(
            parse_segment_header(&future_header(SEGMENT_MAGIC, 1, 40)),
            Err(HeaderProblem::Damaged(_))
        ));
        assert!(unsupported("seg-1.hyj", next).to_string().contains(&format!("format {next}")));
        // Format 1: "HYJRNL01" | first seq | CRC of the 16 bytes.
        let mut v1 = b"HYJRNL01".to_vec();
        v1.extend_from_slice(&9u64.to_le_bytes());
        let crc = crc32c::crc32c(&v1);
        v1.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            parse_segment_header(&v1).unwrap(),
            SegmentHeader { version: 1, first_seq: 9, key_check: None, len: 20 }
        );
        let mut s1 = b"HYSNAP01".to_vec();
        s1.extend_from_slice(&4u64.to_le_bytes());
        s1.extend_from_slice(&2u64.to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&s1), b"xy");
        s1.extend_from_slice(&crc.to_le_bytes());
        s1.extend_from_slice(b"xy");
        assert_eq!(
            parse_snapshot(&s1).unwrap(),
            ParsedSnapshot { version: 1, seq: 4, key_check: None, payload: &b"xy"[..] }
        );
    }
}
