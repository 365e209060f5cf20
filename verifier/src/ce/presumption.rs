//! What a manufacturer may rely on instead of a third party (Art. 27):
//! harmonised standards whose references are published in the Official
//! Journal under this Regulation (Art. 27(1)), common specifications adopted
//! by implementing act (Art. 27(2)), and European cybersecurity
//! certification schemes under Regulation (EU) 2019/881 specified by
//! delegated act (Art. 27(9), and Art. 8(1) for critical products).
//!
//! These are facts about the Official Journal that change over time, so the
//! policy carries them as data files (`policies/harmonised/`), each with the
//! date it was last checked. Format (`cragate.presumption-list/v1`):
//!
//! ```json
//! {"format": "cragate.presumption-list/v1", "kind": "harmonised-standards",
//!  "as_of": "2026-12-01", "source": "...",
//!  "entries": [{"reference": "EN ...", "title": "...", "published": "OJ ...",
//!               "covers": ["Annex I Part I", "Annex I Part II"]}]}
//! ```
//!
//! Certification-scheme entries also give `assurance_levels` (the levels of
//! Regulation (EU) 2019/881 Art. 52 the delegated act accepts), optionally
//! `regulation` (the act adopting the scheme) and `mandatory_for` (the
//! categories an Art. 8(1) delegated act requires it for).

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::Date;
use serde::Deserialize;

use crate::doc::normalise;
use crate::evidence::Category;
use crate::evidence::syntax::parse_day;
use crate::json::{JsonLimitError, check_limits};
use crate::limits::{MAX_JSON_DEPTH, MAX_PRESUMPTION_LIST_BYTES};

/// The format id of a presumption list.
pub const PRESUMPTION_LIST_FORMAT: &str = "cragate.presumption-list/v1";

/// Which list a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListKind {
    /// Harmonised standards published in the OJ under this Regulation (Art. 27(1)).
    HarmonisedStandards,
    /// Common specifications adopted under Art. 27(2).
    CommonSpecifications,
    /// Certification schemes specified under Art. 27(9) or required under Art. 8(1).
    CertificationSchemes,
}

impl ListKind {
    /// The `kind` value in the file.
    pub fn name(self) -> &'static str {
        match self {
            Self::HarmonisedStandards => "harmonised-standards",
            Self::CommonSpecifications => "common-specifications",
            Self::CertificationSchemes => "certification-schemes",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [
            Self::HarmonisedStandards,
            Self::CommonSpecifications,
            Self::CertificationSchemes,
        ]
        .into_iter()
        .find(|k| k.name() == value)
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A part of Annex I an entry gives presumption of conformity for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AnnexIPart {
    /// Annex I Part I: cybersecurity requirements on the product's properties.
    PartI,
    /// Annex I Part II: vulnerability handling requirements.
    PartII,
}

impl AnnexIPart {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "Annex I Part I" => Some(Self::PartI),
            "Annex I Part II" => Some(Self::PartII),
            _ => None,
        }
    }
}

impl fmt::Display for AnnexIPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PartI => "Annex I Part I",
            Self::PartII => "Annex I Part II",
        })
    }
}

/// Why a presumption list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresumptionListError {
    /// Over the size or depth budget.
    #[error(transparent)]
    Limits(#[from] JsonLimitError),
    /// Not the expected JSON shape.
    #[error("presumption list is not valid: {message}")]
    Shape {
        /// What was wrong.
        message: String,
    },
    /// Unknown format id.
    #[error(
        "presumption list format {found:?} is not supported (expected {PRESUMPTION_LIST_FORMAT:?})"
    )]
    UnsupportedFormat {
        /// The format found.
        found: String,
    },
    /// The file is another kind of list than the policy key names.
    #[error("this is a {found:?} list, where a {expected} list is expected")]
    WrongKind {
        /// The kind the file says.
        found: String,
        /// The kind the policy key expects.
        expected: ListKind,
    },
    /// A value that is not what its field allows.
    #[error("entries[{index}].{field}: {message}")]
    Entry {
        /// Index of the entry (or 0 for the file's own fields).
        index: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// `as_of` is not a date.
    #[error("as_of {found:?} must be the date the list was last checked, YYYY-MM-DD")]
    AsOf {
        /// The value found.
        found: String,
    },
}

/// One listed standard, specification or scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its reference as published (e.g. `EN 40000-1-2:2026`, or `EUCC`).
    pub reference: String,
    /// Where and when it was published or adopted.
    pub published: String,
    /// The parts of Annex I it gives presumption for.
    pub covers: BTreeSet<AnnexIPart>,
    /// For schemes: the act adopting it under Regulation (EU) 2019/881.
    pub regulation: Option<String>,
    /// For schemes: the assurance levels accepted (`basic`, `substantial`, `high`).
    pub assurance_levels: Vec<String>,
    /// For schemes: categories an Art. 8(1) delegated act requires it for.
    pub mandatory_for: Vec<Category>,
}

/// One list, with the date it was last checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresumptionList {
    kind: ListKind,
    as_of: Date,
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    format: String,
    kind: String,
    as_of: String,
    #[allow(dead_code, reason = "provenance for people reading the file")]
    source: Option<String>,
    #[allow(dead_code, reason = "provenance for people reading the file")]
    notes: Option<String>,
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    reference: String,
    #[allow(dead_code, reason = "for people reading the file")]
    title: Option<String>,
    published: String,
    covers: Vec<String>,
    regulation: Option<String>,
    #[serde(default)]
    assurance_levels: Vec<String>,
    #[serde(default)]
    mandatory_for: Vec<String>,
}

impl PresumptionList {
    /// Parses a list of kind `expected` from JSON bytes.
    pub fn from_json(bytes: &[u8], expected: ListKind) -> Result<Self, PresumptionListError> {
        check_limits(
            bytes,
            "presumption list",
            MAX_PRESUMPTION_LIST_BYTES,
            MAX_JSON_DEPTH,
        )?;
        let raw: RawList =
            serde_json::from_slice(bytes).map_err(|e| PresumptionListError::Shape {
                message: e.to_string(),
            })?;
        if raw.format != PRESUMPTION_LIST_FORMAT {
            return Err(PresumptionListError::UnsupportedFormat { found: raw.format });
        }
        if ListKind::parse(&raw.kind) != Some(expected) {
            return Err(PresumptionListError::WrongKind {
                found: raw.kind,
                expected,
            });
        }
        let as_of = parse_day(&raw.as_of).ok_or(PresumptionListError::AsOf { found: raw.as_of })?;
        let entries = raw
            .entries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| check_entry(index, entry, expected))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            kind: expected,
            as_of,
            entries,
        })
    }

    /// Which list this is.
    pub fn kind(&self) -> ListKind {
        self.kind
    }
    /// The date the list was last checked against the Official Journal.
    pub fn as_of(&self) -> Date {
        self.as_of
    }
    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry a DoC reference names: its reference, compared without
    /// case and runs of blanks, or (for schemes) a text naming the act that
    /// adopted it.
    pub fn find(&self, cited: &str) -> Option<&Entry> {
        let cited = normalise(cited);
        self.entries.iter().find(|e| {
            normalise(&e.reference) == cited
                || e.regulation
                    .as_deref()
                    .is_some_and(|r| cited.contains(&normalise(r)))
        })
    }
}

fn check_entry(index: usize, raw: RawEntry, kind: ListKind) -> Result<Entry, PresumptionListError> {
    let error = |field, message: String| PresumptionListError::Entry {
        index,
        field,
        message,
    };
    if raw.reference.trim().is_empty() {
        return Err(error("reference", "must not be empty".into()));
    }
    if raw.published.trim().is_empty() {
        return Err(error(
            "published",
            "say where and when the reference was published".into(),
        ));
    }
    let mut covers = BTreeSet::new();
    for part in &raw.covers {
        covers.insert(AnnexIPart::parse(part).ok_or_else(|| {
            error(
                "covers",
                format!("{part:?} must be \"Annex I Part I\" or \"Annex I Part II\""),
            )
        })?);
    }
    if covers.is_empty() {
        return Err(error(
            "covers",
            "name the parts of Annex I it covers".into(),
        ));
    }
    let scheme_only = !raw.assurance_levels.is_empty()
        || !raw.mandatory_for.is_empty()
        || raw.regulation.is_some();
    if kind != ListKind::CertificationSchemes && scheme_only {
        return Err(error(
            "assurance_levels",
            "regulation, assurance_levels and mandatory_for belong to certification schemes only"
                .into(),
        ));
    }
    if kind == ListKind::CertificationSchemes && raw.assurance_levels.is_empty() {
        return Err(error(
            "assurance_levels",
            "name the assurance levels the scheme is specified for".into(),
        ));
    }
    if let Some(level) = raw
        .assurance_levels
        .iter()
        .find(|l| !["basic", "substantial", "high"].contains(&l.as_str()))
    {
        return Err(error(
            "assurance_levels",
            format!(
                "{level:?} is not basic, substantial or high (Regulation (EU) 2019/881 Art. 52)"
            ),
        ));
    }
    let mandatory_for = raw
        .mandatory_for
        .iter()
        .map(|c| match Category::parse(c) {
            Some(category @ Category::Critical(_)) => Ok(category),
            _ => Err(error(
                "mandatory_for",
                format!("{c:?} must be a critical category such as \"critical:3\" (Art. 8(1))"),
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(Entry {
        reference: raw.reference,
        published: raw.published,
        covers,
        regulation: raw.regulation,
        assurance_levels: raw.assurance_levels,
        mandatory_for,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMES: &str = r#"{"format": "cragate.presumption-list/v1", "kind": "certification-schemes",
        "as_of": "2026-12-01", "entries": [{"reference": "EUCC", "published": "OJ L, example",
        "regulation": "Implementing Regulation (EU) 2024/482", "covers": ["Annex I Part I"],
        "assurance_levels": ["substantial", "high"]}]}"#;

    #[test]
    fn schemes_are_found_by_name_or_by_their_act() {
        let list =
            PresumptionList::from_json(SCHEMES.as_bytes(), ListKind::CertificationSchemes).unwrap();
        assert!(list.find("eucc").is_some());
        assert!(
            list.find("EUCC (Implementing Regulation (EU) 2024/482)")
                .is_some()
        );
        assert!(list.find("BSI IT-Sicherheitskennzeichen").is_none());
    }

    #[test]
    fn a_list_of_another_kind_or_with_unknown_parts_is_refused() {
        assert!(matches!(
            PresumptionList::from_json(SCHEMES.as_bytes(), ListKind::HarmonisedStandards),
            Err(PresumptionListError::WrongKind { .. })
        ));
        let bad = SCHEMES.replace("Annex I Part I", "Annex III");
        assert!(matches!(
            PresumptionList::from_json(bad.as_bytes(), ListKind::CertificationSchemes),
            Err(PresumptionListError::Entry {
                field: "covers",
                ..
            })
        ));
    }
}
