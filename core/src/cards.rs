//! Card numbers (national ID, social security, e-health card …) are sensitive personal
//! information under China's Personal Information Protection Law: the engine never writes,
//! emits or prints them. It keeps two things of a card instead:
//!
//! - its **digest**, the index key: the first 16 bytes of BLAKE3 in keyed mode, under the
//!   deployment's secret [`CardKey`], of `card_type ‖ 0x00 ‖ number`. The card type is part of
//!   the input, so equal numbers of different types differ; neither field may contain NUL, so
//!   the split is unambiguous. A keyed hash, not a plain one: national ID numbers are so
//!   structured (region, birth date, sequence) that an unkeyed hash would be reversed by
//!   enumeration. 16 bytes: a collision among 10⁸ cards has a probability near 10⁻²³. Lookups
//!   hash the number they are given ([`Engine::find_patient_by_card`](crate::Engine::find_patient_by_card)).
//! - its **masked** form for display ([`mask_card_number`]).
//!
//! The key is the host's, per deployment: [`EngineConfig::card_key`](crate::EngineConfig::card_key),
//! [`OpenOptions::card_key`](crate::OpenOptions::card_key), or the environment
//! (`HAOYUAN_CARD_KEY` = 64 hex characters, or `HAOYUAN_CARD_KEY_FILE` = a file holding them).
//! It is never written anywhere nor printed; a durable directory keeps only a key check value
//! (a keyed hash of a fixed label), so that opening it under another key is refused.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ffi::OsString;
use std::fmt;
use std::path::Path;

/// The environment variable holding the card key as 64 hexadecimal characters.
pub const CARD_KEY_ENV: &str = "HAOYUAN_CARD_KEY";
/// The environment variable naming a file that holds the card key as 64 hexadecimal characters.
pub const CARD_KEY_FILE_ENV: &str = "HAOYUAN_CARD_KEY_FILE";
/// Bytes of a card key.
pub const CARD_KEY_LEN: usize = 32;
/// Bytes of a card digest (the index key of a card).
pub const CARD_DIGEST_LEN: usize = 16;
/// Bytes of a key check value.
pub(crate) const KEY_CHECK_LEN: usize = 16;
/// Longest card key file read (64 hex characters and some whitespace; a bound on the read).
const KEY_FILE_LEN_MAX: u64 = 4096;
/// Input of the key check value. It holds no NUL, so it is never the input of a card digest.
const KEY_CHECK_LABEL: &[u8] = b"haoyuan card key check value";
/// Longest card type and number, in bytes.
pub const CARD_FIELD_LEN_MAX: usize = 64;

/// The per-deployment secret under which card numbers are hashed: 32 bytes.
///
/// Its `Debug` never prints it, it has no `Serialize`, and the engine writes it nowhere. Its
/// bytes are overwritten when it is dropped (best effort: copies the compiler made may remain).
#[derive(Clone)]
pub struct CardKey {
    bytes: [u8; CARD_KEY_LEN],
}

impl fmt::Debug for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardKey(<secret>)")
    }
}

impl Drop for CardKey {
    fn drop(&mut self) {
        self.bytes = [0; CARD_KEY_LEN];
        std::hint::black_box(&self.bytes);
    }
}

fn key_error(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

impl CardKey {
    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<CardKey> {
        let bytes: [u8; CARD_KEY_LEN] = bytes.try_into().map_err(|_| {
            key_error(format!("a card key is {CARD_KEY_LEN} bytes; this one has {}", bytes.len()))
        })?;
        Ok(CardKey { bytes })
    }

    /// A key from 64 hexadecimal characters (either case; surrounding whitespace is ignored).
    /// The error never repeats the text.
    pub fn from_hex(hex: &str) -> Result<CardKey> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 2 * CARD_KEY_LEN {
            return Err(key_error(format!(
                "a card key is {} hexadecimal characters; this one has {}",
                2 * CARD_KEY_LEN,
                hex.len()
            )));
        }
        let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut bytes = [0u8; CARD_KEY_LEN];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            match (nibble(pair[0]), nibble(pair[1])) {
                (Some(hi), Some(lo)) => bytes[i] = hi << 4 | lo,
                _ => {
                    return Err(key_error(
                        "a card key holds only hexadecimal characters (0-9, a-f)",
                    ))
                }
            }
        }
        Ok(CardKey { bytes })
    }

    /// A key from a file holding its 64 hexadecimal characters (a trailing newline is fine).
    pub fn from_file(path: impl AsRef<Path>) -> Result<CardKey> {
        let path = path.as_ref();
        let what = |e: String| key_error(format!("card key file {}: {e}", path.display()));
        let len = std::fs::metadata(path).map_err(|e| what(e.to_string()))?.len();
        if len > KEY_FILE_LEN_MAX {
            return Err(what(format!("{len} bytes; a key file holds 64 hexadecimal characters")));
        }
        let text = std::fs::read(path).map_err(|e| what(e.to_string()))?;
        let text = std::str::from_utf8(&text).map_err(|_| what("not text".into()))?;
        CardKey::from_hex(text).map_err(|e| match e {
            Error::InvalidArgument(m) => what(m),
            e => e,
        })
    }

    /// The key the environment supplies: `HAOYUAN_CARD_KEY` (64 hex characters) or
    /// `HAOYUAN_CARD_KEY_FILE` (a path to a file holding them); `None` if neither is set (or
    /// both are empty). Both set, or a malformed value, is an error.
    pub fn from_env() -> Result<Option<CardKey>> {
        CardKey::from_lookup(|name| std::env::var_os(name))
    }

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Result<Option<CardKey>> {
        let hex = get(CARD_KEY_ENV).filter(|v| !v.is_empty());
        let file = get(CARD_KEY_FILE_ENV).filter(|v| !v.is_empty());
        match (hex, file) {
            (Some(_), Some(_)) => {
                Err(key_error(format!("set {CARD_KEY_ENV} or {CARD_KEY_FILE_ENV}, not both")))
            }
            (Some(hex), None) => {
                let hex =
                    hex.to_str().ok_or_else(|| key_error(format!("{CARD_KEY_ENV} is not text")))?;
                CardKey::from_hex(hex).map(Some).map_err(|e| match e {
                    Error::InvalidArgument(m) => key_error(format!("{CARD_KEY_ENV}: {m}")),
                    e => e,
                })
            }
            (None, Some(path)) => CardKey::from_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// A new random key from the operating system (an in-memory engine without a key uses one;
    /// a durable directory needs the same key on every open, so it needs a kept one).
    pub fn generate() -> Result<CardKey> {
        let mut bytes = [0u8; CARD_KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| {
            key_error(format!("cannot draw a random card key from the operating system: {e}"))
        })?;
        Ok(CardKey { bytes })
    }

    /// The digest of a card (see the module documentation). The fields must have passed
    /// [`check_card_fields`].
    pub(crate) fn digest(&self, card_type: &str, number: &str) -> CardDigest {
        let mut h = blake3::Hasher::new_keyed(&self.bytes);
        h.update(card_type.as_bytes());
        h.update(&[0]);
        h.update(number.as_bytes());
        let mut d = [0u8; CARD_DIGEST_LEN];
        d.copy_from_slice(&h.finalize().as_bytes()[..CARD_DIGEST_LEN]);
        CardDigest(d)
    }

    /// What a durable directory keeps of the key: a keyed hash of a fixed label, from which
    /// the key cannot be recovered, equal for equal keys.
    pub(crate) fn check_value(&self) -> [u8; KEY_CHECK_LEN] {
        let mut v = [0u8; KEY_CHECK_LEN];
        v.copy_from_slice(
            &blake3::keyed_hash(&self.bytes, KEY_CHECK_LABEL).as_bytes()[..KEY_CHECK_LEN],
        );
        v
    }

    /// Whether two keys are the same key.
    pub(crate) fn same_as(&self, other: &CardKey) -> bool {
        self.check_value() == other.check_value()
    }
}

/// The index key of a card: 16 bytes of a keyed hash of its type and number, pseudonymous
/// (without the deployment's key it cannot be linked to a number). Shown and serialised as 32
/// hex characters in text formats (JSON), as 16 raw bytes in binary ones (the journal).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardDigest([u8; CARD_DIGEST_LEN]);

impl CardDigest {
    /// The 16 digest bytes, as the journal stores them.
    pub fn as_bytes(&self) -> &[u8; CARD_DIGEST_LEN] {
        &self.0
    }

    /// The digest of 16 bytes read back (from a journal or a host's own store). Any bytes are
    /// a digest: whether one names a patient is only known by looking it up.
    pub fn from_bytes(bytes: [u8; CARD_DIGEST_LEN]) -> CardDigest {
        CardDigest(bytes)
    }

    /// The 32 lowercase hex characters of the digest, as JSON and other text formats show it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn from_hex(hex: &str) -> Option<CardDigest> {
        if hex.len() != 2 * CARD_DIGEST_LEN || !hex.is_ascii() {
            return None;
        }
        let mut d = [0u8; CARD_DIGEST_LEN];
        for (i, b) in d.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(CardDigest(d))
    }
}

impl fmt::Display for CardDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CardDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardDigest({})", self.to_hex())
    }
}

impl Serialize for CardDigest {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for CardDigest {
    /// Either form, whatever the format says of itself (serde's buffering of internally tagged
    /// enums does not pass `is_human_readable` on) — except in a format that cannot describe
    /// itself (postcard, the journal's from format 3), which is never human-readable and is
    /// asked for the bytes it holds.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<CardDigest, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CardDigest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a card digest: {CARD_DIGEST_LEN} bytes or {} hex characters",
                    2 * CARD_DIGEST_LEN
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<CardDigest, E> {
                CardDigest::from_hex(v)
                    .ok_or_else(|| E::custom("a card digest is 32 hex characters"))
            }
            fn visit_bytes<E: serde::de::Error>(
                self,
                v: &[u8],
            ) -> std::result::Result<CardDigest, E> {
                v.try_into().map(CardDigest).map_err(|_| E::invalid_length(v.len(), &self))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<CardDigest, A::Error> {
                let mut d = [0u8; CARD_DIGEST_LEN];
                for (i, b) in d.iter_mut().enumerate() {
                    *b = seq
                        .next_element()?
                        .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
                }
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(serde::de::Error::invalid_length(CARD_DIGEST_LEN + 1, &self));
                }
                Ok(CardDigest(d))
            }
        }
        if d.is_human_readable() {
            d.deserialize_any(V)
        } else {
            d.deserialize_bytes(V)
        }
    }
}

/// The masked form of a card number, for display: the first and last `k` characters stay,
/// every other one becomes `*`, with `k = min(4, n / 4)` for a number of `n` characters. So
/// at most half of the characters are ever visible, never more than 4 at either end:
///
/// | characters | visible | example |
/// |---|---|---|
/// | 16 and more | first 4, last 4 | `441900199001011234` → `4419**********1234` |
/// | 12 – 15 | first 3, last 3 | `DG0012345678` → `DG0******678` |
/// | 8 – 11 | first 2, last 2 | `EH123456` → `EH****56` |
/// | 4 – 7 | first 1, last 1 | `E-77` → `E**7` |
/// | 1 – 3 | none | `H-9` → `***` |
///
/// The length stays visible (it tells the card kinds apart, not the card).
pub fn mask_card_number(number: &str) -> String {
    let n = number.chars().count();
    let keep = (n / 4).min(4);
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if i < keep || i + keep >= n { c } else { '*' })
        .collect()
}

/// A card type and number are each 1 ..= 64 bytes, not blank, without NUL. The error never
/// repeats the number.
pub(crate) fn check_card_fields(card_type: &str, number: &str) -> Result<()> {
    for (what, v) in [("card type", card_type), ("card number", number)] {
        if v.trim().is_empty() || v.len() > CARD_FIELD_LEN_MAX {
            return Err(Error::invalid(format!("{what} must be 1 ..= {CARD_FIELD_LEN_MAX} bytes")));
        }
        if v.contains('\0') {
            return Err(Error::invalid(format!("{what} must not contain NUL")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATIONAL_ID: &str = "441900199001011234";

    #[test]
    fn mask_rule_keeps_at_most_half_and_at_most_four_per_end() {
        assert_eq!(mask_card_number(NATIONAL_ID), "4419**********1234");
        assert_eq!(mask_card_number("4419001234567890"), "4419********7890");
        assert_eq!(mask_card_number("DG0012345678"), "DG0******678");
        assert_eq!(mask_card_number("EH123456"), "EH****56");
        assert_eq!(mask_card_number("E-77"), "E**7");
        assert_eq!(mask_card_number("H-9"), "***");
        assert_eq!(mask_card_number("7"), "*");
        assert_eq!(mask_card_number("粤B12345678"), "粤B******78");
        for n in 1..=64 {
            let number: String = (0..n).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
            let masked = mask_card_number(&number);
            let visible = masked.chars().filter(|&c| c != '*').count();
            assert_eq!(masked.chars().count(), n);
            assert!(2 * visible <= n, "{n}: {masked}");
            assert!(visible <= 8);
            // No run of more than 4 characters of the number is shown.
            assert!(masked.split('*').all(|run| run.chars().count() <= 4), "{masked}");
        }
    }

    #[test]
    fn digests_bind_the_type_and_the_key() {
        let k1 = CardKey::from_bytes(&[1; 32]).unwrap();
        let k2 = CardKey::from_bytes(&[2; 32]).unwrap();
        assert_eq!(k1.digest("national_id", NATIONAL_ID), k1.digest("national_id", NATIONAL_ID));
        assert_ne!(
            k1.digest("national_id", NATIONAL_ID),
            k1.digest("social_security", NATIONAL_ID)
        );
        assert_ne!(k1.digest("national_id", NATIONAL_ID), k2.digest("national_id", NATIONAL_ID));
        // The separator: "ab" + "c" differs from "a" + "bc".
        assert_ne!(k1.digest("ab", "c"), k1.digest("a", "bc"));
        // The definition, spelled out: keyed BLAKE3 of type ‖ 0 ‖ number, first 16 bytes.
        let full = blake3::keyed_hash(&[1; 32], b"national_id\x00441900199001011234");
        assert_eq!(k1.digest("national_id", NATIONAL_ID).as_bytes(), &full.as_bytes()[..16]);
        assert_ne!(k1.check_value(), k2.check_value());
        assert!(k1.same_as(&k1.clone()) && !k1.same_as(&k2));
    }

    #[test]
    fn keys_parse_and_never_print() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let k = CardKey::from_hex(&format!("  {hex}\n")).unwrap();
        assert!(k.same_as(
            &CardKey::from_bytes(&[
                0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                0xcc, 0xdd, 0xee, 0xff
            ])
            .unwrap()
        ));
        assert_eq!(format!("{k:?}"), "CardKey(<secret>)");
        for bad in [hex[..63].to_string(), format!("{}g", &hex[..63])] {
            let e = CardKey::from_hex(&bad).unwrap_err().to_string();
            assert!(!e.contains(&bad[..16]), "{e}");
        }
        assert!(CardKey::from_hex("").is_err());
        assert!(CardKey::from_bytes(&[0; 31]).is_err());
        let a = CardKey::generate().unwrap();
        let b = CardKey::generate().unwrap();
        assert!(!a.same_as(&b));
    }

    #[test]
    fn keys_from_the_environment() {
        let hex = "ab".repeat(32);
        let none = CardKey::from_lookup(|_| None).unwrap();
        assert!(none.is_none());
        let empty = CardKey::from_lookup(|_| Some(OsString::new())).unwrap();
        assert!(empty.is_none());
        let k = CardKey::from_lookup(|n| (n == CARD_KEY_ENV).then(|| hex.clone().into()))
            .unwrap()
            .unwrap();
        assert!(k.same_as(&CardKey::from_bytes(&[0xab; 32]).unwrap()));
        let dir = std::env::temp_dir().join(format!("haoyuan-cardkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, format!("{hex}\n")).unwrap();
        let k = CardKey::from_lookup(|n| (n == CARD_KEY_FILE_ENV).then(|| file.clone().into()))
            .unwrap()
            .unwrap();
        assert!(k.same_as(&CardKey::from_bytes(&[0xab; 32]).unwrap()));
        let both = CardKey::from_lookup(|n| {
            Some(if n == CARD_KEY_ENV { hex.clone().into() } else { file.clone().into() })
        });
        assert!(matches!(both, Err(Error::InvalidArgument(_))));
        std::fs::write(&file, "not a key").unwrap();
        let e = CardKey::from_lookup(|n| (n == CARD_KEY_FILE_ENV).then(|| file.clone().into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("card key file") && !e.contains("not a key"), "{e}");
        let e = CardKey::from_lookup(|n| (n == CARD_KEY_ENV).then(|| "12345678".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(CARD_KEY_ENV) && !e.contains("12345678"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn digests_serialise_as_hex_in_json_and_bytes_in_messagepack() {
        let d = CardKey::from_bytes(&[9; 32]).unwrap().digest("t", "n");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", d.to_hex()));
        assert_eq!(serde_json::from_str::<CardDigest>(&json).unwrap(), d);
        let mp = rmp_serde::to_vec(&d).unwrap();
        assert_eq!(mp.len(), 2 + CARD_DIGEST_LEN);
        assert_eq!(rmp_serde::from_slice::<CardDigest>(&mp).unwrap(), d);
        assert!(serde_json::from_str::<CardDigest>("\"abc\"").is_err());
    }

    #[test]
    fn card_fields_are_checked_without_echoing_the_number() {
        assert!(check_card_fields("national_id", NATIONAL_ID).is_ok());
        for (t, n) in
            [("", "1"), (" ", "1"), ("x", ""), ("a\0b", "1"), ("x", "12\0"), ("x", &"9".repeat(65))]
        {
            let e = check_card_fields(t, n).unwrap_err().to_string();
            assert!(n.len() < 3 || !e.contains(n), "{e}");
        }
    }
}
