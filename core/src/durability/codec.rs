//! On-disk encodings: journal frames, segment headers, snapshot files.
//!
//! A frame is `len: u32 LE | crc: u32 LE | payload`, with `crc = crc32c(len bytes ‖ payload)`
//! so that a flipped length is caught as surely as a flipped payload byte. The payload is the
//! event in MessagePack (`rmp_serde::to_vec`, structs as arrays: compact, no field names).
//! MessagePack rather than postcard/bincode because it is self-describing, which the core's
//! internally tagged serde enums (`EventKind` is `#[serde(tag = "type")]`) need to deserialize;
//! a non-self-describing format would force a hand-kept mirror of every event type.

use crate::error::{Error, Result};
use crate::events::Event;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Journal segment header: magic, then the first sequence number the segment holds, then the
/// CRC-32C of those 16 bytes.
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"HYJRNL01";
pub(crate) const SEGMENT_HEADER_LEN: usize = 20;
pub(crate) const FRAME_HEADER_LEN: usize = 8;
/// Largest record accepted (a bulk publish of [`crate::PUBLISH_BATCH_MAX`] slots fits).
pub(crate) const RECORD_LEN_MAX: usize = 512 << 20;

/// Snapshot file header: magic, the sequence number it is consistent at, payload length, then
/// the CRC-32C of the 24 header bytes so far followed by the payload.
pub(crate) const SNAPSHOT_MAGIC: &[u8; 8] = b"HYSNAP01";
pub(crate) const SNAPSHOT_HEADER_LEN: usize = 28;
/// Largest snapshot accepted (a province: 10 M slots, 100 M patients stays well below).
pub(crate) const SNAPSHOT_LEN_MAX: u64 = 64 << 30;

pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::Durability(msg.into())
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec(value).map_err(|e| corrupt(format!("cannot encode: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    rmp_serde::from_slice(bytes).map_err(|e| corrupt(format!("cannot decode: {e}")))
}

/// One event as a complete frame, ready to append.
pub(crate) fn encode_frame(event: &Event) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    rmp_serde::encode::write(&mut out, event).map_err(|e| corrupt(format!("cannot encode event {}: {e}", event.seq)))?;
    let len = out.len() - FRAME_HEADER_LEN;
    if len > RECORD_LEN_MAX {
        return Err(corrupt(format!("event {} encodes to {len} bytes, above the {RECORD_LEN_MAX} record limit", event.seq)));
    }
    let len_bytes = (len as u32).to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), &out[FRAME_HEADER_LEN..]);
    out[0..4].copy_from_slice(&len_bytes);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
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
    (pos + 1..buf.len().saturating_sub(FRAME_HEADER_LEN - 1)).find(|&q| matches!(read_frame(buf, q), Frame::Ok(..)))
}

pub(crate) fn segment_header(first_seq: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..16].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..16]);
    h[16..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The first sequence number of a segment, if its header is intact.
pub(crate) fn parse_segment_header(buf: &[u8]) -> Option<u64> {
    let h = buf.get(..SEGMENT_HEADER_LEN)?;
    if &h[..8] != SEGMENT_MAGIC || crc32c::crc32c(&h[..16]).to_le_bytes() != h[16..20] {
        return None;
    }
    Some(u64::from_le_bytes(h[8..16].try_into().ok()?))
}

pub(crate) fn snapshot_bytes(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER_LEN + payload.len());
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), payload);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The sequence number and checked payload of a snapshot file.
pub(crate) fn parse_snapshot(buf: &[u8]) -> Result<(u64, &[u8])> {
    if buf.len() < SNAPSHOT_HEADER_LEN || &buf[..8] != SNAPSHOT_MAGIC {
        return Err(corrupt("not a haoyuan snapshot (bad magic or cut short)"));
    }
    let seq = u64::from_le_bytes(buf[8..16].try_into().map_err(|_| corrupt("snapshot header"))?);
    let len = u64::from_le_bytes(buf[16..24].try_into().map_err(|_| corrupt("snapshot header"))?);
    let crc = u32::from_le_bytes(buf[24..28].try_into().map_err(|_| corrupt("snapshot header"))?);
    if len > SNAPSHOT_LEN_MAX || (buf.len() - SNAPSHOT_HEADER_LEN) as u64 != len {
        return Err(corrupt(format!("snapshot length {len} does not match the file ({} bytes)", buf.len())));
    }
    let payload = &buf[SNAPSHOT_HEADER_LEN..];
    if crc32c::crc32c_append(crc32c::crc32c(&buf[..24]), payload) != crc {
        return Err(corrupt("snapshot fails its CRC-32C"));
    }
    Ok((seq, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{CancelledBy, EventKind};
    use crate::ids::*;
    use crate::slot::Pool;
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
            EventKind::Cancelled { booking: BookingId(1), slot: SlotId(2), by: CancelledBy::Provider, late: true },
            EventKind::PatientSuspended { patient: PatientId(1), until: Timestamp(5), no_shows: 1.5 },
            EventKind::LotteryLost { ticket: TicketId(3), reason: "slot full".into() },
        ];
        for (i, kind) in events.into_iter().enumerate() {
            let e = Event { seq: i as u64 + 1, at: Timestamp(1_800_000_000), kind };
            let frame = encode_frame(&e).unwrap();
            match read_frame(&frame, 0) {
                Frame::Ok(payload, end) => {
                    assert_eq!(end, frame.len());
                    assert_eq!(decode::<Event>(payload).unwrap(), e);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn damaged_frames_are_bad_not_panics() {
        let e = Event { seq: 1, at: Timestamp(0), kind: EventKind::PatientRegistered { patient: PatientId(0) } };
        let frame = encode_frame(&e).unwrap();
        for cut in 1..frame.len() {
            assert!(matches!(read_frame(&frame[..cut], 0), Frame::Bad(_)), "cut at {cut}");
        }
        for i in 0..frame.len() {
            let mut f = frame.clone();
            f[i] ^= 0x40;
            assert!(matches!(read_frame(&f, 0), Frame::Bad(_)), "flip at {i}");
        }
        assert_eq!(parse_segment_header(&segment_header(42)), Some(42));
        let s = snapshot_bytes(5, b"abc");
        assert_eq!(parse_snapshot(&s).unwrap(), (5, &b"abc"[..]));
        assert!(parse_snapshot(&s[..s.len() - 1]).is_err());
    }
}
