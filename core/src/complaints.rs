//! The complaint table (Qingdao, issue 18 part 3): complaint keywords → specialties, with how
//! urgent a complaint with that keyword is. The engine does not diagnose: the host supplies the
//! table (a JSON file it owns, [`ComplaintTable::from_json`]), and the engine only looks the
//! patient's words up in it to know which specialties to recommend. An example table for common
//! complaints, in English and Chinese, is bundled ([`ComplaintTable::bundled`],
//! `core/data/complaints.json`) and is every engine's table until the host sets its own.
//!
//! **Format.** One JSON object: `{"complaints": [{"keywords": [..], "specialties": [..],
//! "urgency": "routine" | "urgent" | "emergency"}, ..]}` and an optional `"about"` text; any
//! other key is an error (a typo must not silently drop a rule). Keywords are matched without
//! regard to case. A keyword of ASCII letters and digits matches only at the start of a word
//! ("ear" matches "earache" but not "heart" or "year"); any other keyword (Chinese has no spaces
//! between words) matches anywhere in the text.
//!
//! **Matching.** Every entry with a keyword in the complaint contributes its specialties (in
//! table order, each once), and the complaint is as urgent as the most urgent of them.
//!
//! **Bounds.** The text at most [`COMPLAINT_TABLE_BYTES_MAX`], at most
//! [`COMPLAINT_ENTRIES_MAX`] entries, each with 1 ..= [`KEYWORDS_PER_ENTRY_MAX`] keywords of
//! 1 ..= [`KEYWORD_LEN_MAX`] bytes and 1 ..= [`SPECIALTIES_PER_ENTRY_MAX`] specialty names; a
//! complaint at most [`COMPLAINT_LEN_MAX`] bytes. Matching is therefore bounded by
//! entries × keywords × complaint length. Anything out of bounds is
//! [`Error::InvalidArgument`], never a panic.

use crate::error::{Error, Result};
use crate::model::Urgency;
use crate::registry::NAME_LEN_MAX;
use serde::{Deserialize, Serialize};

/// Largest complaint table text, in bytes.
pub const COMPLAINT_TABLE_BYTES_MAX: usize = 1 << 20;
/// Most entries in a complaint table.
pub const COMPLAINT_ENTRIES_MAX: usize = 1_000;
/// Most keywords of one entry.
pub const KEYWORDS_PER_ENTRY_MAX: usize = 64;
/// Longest keyword, in bytes (UTF-8).
pub const KEYWORD_LEN_MAX: usize = 64;
/// Most specialties one entry names.
pub const SPECIALTIES_PER_ENTRY_MAX: usize = 8;
/// Longest complaint text, in bytes (UTF-8).
pub const COMPLAINT_LEN_MAX: usize = 1_000;

/// The example table bundled with the engine (`core/data/complaints.json`).
const BUNDLED: &str = include_str!("../data/complaints.json");

/// One rule of a complaint table: a complaint with any of these keywords is seen by these
/// specialties, with this urgency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintEntry {
    /// Words or phrases of the complaint (English, Chinese …), matched without regard to case.
    pub keywords: Vec<String>,
    /// Specialty names, as the region's departments are registered.
    pub specialties: Vec<String>,
    /// How urgent such a complaint is: `routine` (tiered care: community clinics first),
    /// `urgent` (the earliest place, any tier) or `emergency` (go to an emergency department;
    /// hospital places, highest tier first).
    pub urgency: Urgency,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableText {
    #[serde(default)]
    #[allow(dead_code)]
    about: Option<String>,
    complaints: Vec<ComplaintEntry>,
}

/// A host's table from complaint keywords to specialties (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComplaintTable {
    /// Its entries, keywords lower-cased.
    entries: Vec<ComplaintEntry>,
}

/// What a complaint matched in a [`ComplaintTable`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintMatch {
    /// The specialties of every matching entry, in table order, each once.
    pub specialties: Vec<String>,
    /// The most urgent urgency of the matching entries.
    pub urgency: Urgency,
    /// The keywords found, in table order (lower-cased).
    pub keywords: Vec<String>,
}

fn bad(msg: String) -> Error {
    Error::invalid(format!("complaint table: {msg}"))
}

/// Whether `keyword` (lower-case) occurs in `text` (lower-case) by the table's rule.
fn occurs(text: &str, keyword: &str) -> bool {
    let word = keyword.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'\'');
    if !word {
        return text.contains(keyword);
    }
    text.match_indices(keyword).any(|(i, _)| {
        i == 0 || !text[..i].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

impl ComplaintTable {
    /// The example table bundled with the engine: 23 common complaints (fever, cough, a child,
    /// chest pain, headache, stomach ache, rash …) in English and Chinese, mapped to the
    /// specialty names of the benchmarks' Dongguan preset (`general_practice` at community
    /// clinics, `respiratory`, `cardiology`, `paediatrics` … at hospitals).
    pub fn bundled() -> ComplaintTable {
        // The bundled text is a constant checked by a unit test; were it ever broken, an empty
        // table (every complaint unmatched, a typed error) is safer than a panic in a host.
        ComplaintTable::from_json(BUNDLED).unwrap_or(ComplaintTable { entries: Vec::new() })
    }

    /// The bundled example table's JSON text, as a starting point for a host's own.
    pub fn bundled_json() -> &'static str {
        BUNDLED
    }

    /// Parse a table from its JSON text (see the module documentation for the format and the
    /// bounds). [`Error::InvalidArgument`] names what is wrong: a syntax error, an unknown
    /// key, an urgency that is not `routine`, `urgent` or `emergency`, an empty or too long
    /// keyword, an entry without keywords or specialties, too many entries.
    ///
    /// ```
    /// use haoyuan::*;
    /// let table = ComplaintTable::from_json(r#"{"complaints": [
    ///     {"keywords": ["toothache", "牙疼"], "specialties": ["stomatology"], "urgency": "routine"}
    /// ]}"#)?;
    /// let m = table.match_complaint("Toothache since Monday")?.unwrap();
    /// assert_eq!((m.specialties, m.urgency), (vec!["stomatology".to_string()], Urgency::Routine));
    /// assert!(table.match_complaint("我牙疼")?.is_some());
    /// assert!(ComplaintTable::from_json(r#"{"complaints": [{"keywords": [], "specialties": ["x"], "urgency": "routine"}]}"#).is_err());
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<ComplaintTable> {
        if text.len() > COMPLAINT_TABLE_BYTES_MAX {
            return Err(bad(format!("longer than {COMPLAINT_TABLE_BYTES_MAX} bytes")));
        }
        let parsed: TableText = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        ComplaintTable::new(parsed.complaints)
    }

    /// A table from entries, checked as [`ComplaintTable::from_json`] checks its text.
    pub fn new(entries: Vec<ComplaintEntry>) -> Result<ComplaintTable> {
        if entries.is_empty() || entries.len() > COMPLAINT_ENTRIES_MAX {
            return Err(bad(format!(
                "{} entries; a table has 1 ..= {COMPLAINT_ENTRIES_MAX}",
                entries.len()
            )));
        }
        let mut out = Vec::with_capacity(entries.len());
        for (i, mut e) in entries.into_iter().enumerate() {
            if e.keywords.is_empty() || e.keywords.len() > KEYWORDS_PER_ENTRY_MAX {
                return Err(bad(format!(
                    "entry {i} has {} keywords; 1 ..= {KEYWORDS_PER_ENTRY_MAX}",
                    e.keywords.len()
                )));
            }
            if e.specialties.is_empty() || e.specialties.len() > SPECIALTIES_PER_ENTRY_MAX {
                return Err(bad(format!(
                    "entry {i} names {} specialties; 1 ..= {SPECIALTIES_PER_ENTRY_MAX}",
                    e.specialties.len()
                )));
            }
            for k in &mut e.keywords {
                *k = k.trim().to_lowercase();
                if k.is_empty() || k.len() > KEYWORD_LEN_MAX {
                    return Err(bad(format!(
                        "entry {i} has an empty keyword or one longer than {KEYWORD_LEN_MAX} bytes"
                    )));
                }
            }
            for s in &e.specialties {
                if s.trim().is_empty() || s.len() > NAME_LEN_MAX {
                    return Err(bad(format!(
                        "entry {i} has an empty specialty name or one longer than {NAME_LEN_MAX} bytes"
                    )));
                }
            }
            out.push(e);
        }
        Ok(ComplaintTable { entries: out })
    }

    /// Its entries (keywords lower-cased), in table order.
    pub fn entries(&self) -> &[ComplaintEntry] {
        &self.entries
    }

    /// The specialties and urgency of a complaint, or `None` if no keyword of the table occurs
    /// in it. A blank complaint, or one longer than [`COMPLAINT_LEN_MAX`] bytes, is
    /// [`Error::InvalidArgument`]; the message never repeats the complaint (health information
    /// is personal information).
    pub fn match_complaint(&self, complaint: &str) -> Result<Option<ComplaintMatch>> {
        if complaint.trim().is_empty() {
            return Err(Error::invalid("the complaint is empty"));
        }
        if complaint.len() > COMPLAINT_LEN_MAX {
            return Err(Error::invalid(format!(
                "the complaint is longer than {COMPLAINT_LEN_MAX} bytes"
            )));
        }
        let text = complaint.to_lowercase();
        let mut found: Option<ComplaintMatch> = None;
        for e in &self.entries {
            let Some(k) = e.keywords.iter().find(|k| occurs(&text, k)) else { continue };
            let m = found.get_or_insert_with(|| ComplaintMatch {
                specialties: Vec::new(),
                urgency: e.urgency,
                keywords: Vec::new(),
            });
            m.urgency = m.urgency.min(e.urgency); // Emergency < Urgent < Routine
            m.keywords.push(k.clone());
            for s in &e.specialties {
                if !m.specialties.contains(s) {
                    m.specialties.push(s.clone());
                }
            }
        }
        Ok(found)
    }
}

impl Default for ComplaintTable {
    /// The bundled example table.
    fn default() -> Self {
        ComplaintTable::bundled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_matches_english_and_chinese() {
        let t = ComplaintTable::from_json(BUNDLED).expect("bundled table parses");
        assert_eq!(t, ComplaintTable::bundled());
        assert!(t.entries().len() >= 20);
        let m = t.match_complaint("Fever and a dry cough for two days").unwrap().unwrap();
        assert_eq!(m.specialties, ["general_practice", "respiratory"]);
        assert_eq!(m.urgency, Urgency::Routine);
        let m = t.match_complaint("孩子发烧咳嗽").unwrap().unwrap();
        assert_eq!(m.specialties, ["general_practice", "respiratory", "paediatrics"]);
        let m = t.match_complaint("胸痛，出汗").unwrap().unwrap();
        assert_eq!(
            (m.specialties.as_slice(), m.urgency),
            (&["cardiology".to_string()][..], Urgency::Emergency)
        );
        // The most urgent entry decides: "high fever" is urgent, "fever" routine.
        assert_eq!(t.match_complaint("HIGH FEVER").unwrap().unwrap().urgency, Urgency::Urgent);
        assert_eq!(t.match_complaint("nothing we know about").unwrap(), None);
    }

    #[test]
    fn ascii_keywords_match_at_the_start_of_a_word_only() {
        let t = ComplaintTable::from_json(
            r#"{"complaints": [{"keywords": ["ear"], "specialties": ["ent"], "urgency": "routine"}]}"#,
        )
        .unwrap();
        assert!(t.match_complaint("my heart, this year").unwrap().is_none());
        assert!(t.match_complaint("earache").unwrap().is_some());
        assert!(t.match_complaint("left EAR hurts").unwrap().is_some());
        assert!(t.match_complaint("(ear)").unwrap().is_some());
    }

    #[test]
    fn bad_tables_and_complaints_are_typed_errors() {
        let entry = |k: &str, s: &str, u: &str| {
            format!(
                r#"{{"complaints": [{{"keywords": {k}, "specialties": {s}, "urgency": "{u}"}}]}}"#
            )
        };
        let long = format!("[\"{}\"]", "x".repeat(KEYWORD_LEN_MAX + 1));
        let many = format!("[{}]", ["\"s\""; SPECIALTIES_PER_ENTRY_MAX + 1].join(","));
        for text in [
            String::new(),
            "not json".into(),
            "[]".into(),
            r#"{"complaints": []}"#.into(),
            r#"{"complaints": [], "extra": 1}"#.into(),
            entry("[]", r#"["ent"]"#, "routine"),
            entry(r#"["  "]"#, r#"["ent"]"#, "routine"),
            entry(&long, r#"["ent"]"#, "routine"),
            entry(r#"["ear"]"#, "[]", "routine"),
            entry(r#"["ear"]"#, r#"[""]"#, "routine"),
            entry(r#"["ear"]"#, &many, "routine"),
            entry(r#"["ear"]"#, r#"["ent"]"#, "sometimes"),
            r#"{"complaints": [{"keywords": ["ear"], "specialties": ["ent"], "urgency": "routine", "typo": 1}]}"#.into(),
            " ".repeat(COMPLAINT_TABLE_BYTES_MAX + 1),
        ] {
            let e = ComplaintTable::from_json(&text).expect_err(&text[..text.len().min(80)]);
            assert!(matches!(e, Error::InvalidArgument(ref m) if m.starts_with("complaint table")), "{e}");
        }
        let too_many = format!(
            r#"{{"complaints": [{}]}}"#,
            vec![
                r#"{"keywords": ["a"], "specialties": ["b"], "urgency": "routine"}"#;
                COMPLAINT_ENTRIES_MAX + 1
            ]
            .join(",")
        );
        assert!(ComplaintTable::from_json(&too_many).is_err());
        let t = ComplaintTable::bundled();
        for c in ["", "   ", &"咳".repeat(COMPLAINT_LEN_MAX)] {
            let e = t.match_complaint(c).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(ref m) if !m.contains('咳')), "{e}");
        }
    }
}
