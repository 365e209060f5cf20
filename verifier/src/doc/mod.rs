//! EU declarations of conformity (`cragate.doc/v1`): Art. 28, Annex V (full)
//! and Annex VI (simplified).
//!
//! One field group per Annex V item (DESIGN.md, "Evidence format v1"). Like
//! the listing, every item is optional at parse time: a missing item is a
//! failed check that names the item, not an unusable document.

mod checks;
mod identity;

use serde::Deserialize;

use crate::evidence::Identifiers;

pub(crate) use checks::evaluate as doc_findings;

/// The format id of a DoC.
pub const DOC_FORMAT: &str = "cragate.doc/v1";

/// The act every CRA DoC cites (Art. 28(1)).
pub const CRA_ACT: &str = "Regulation (EU) 2024/2847";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoc {
    pub format: String,
    /// Annex V(1).
    pub product: Option<DocProduct>,
    /// Annex V(2).
    pub manufacturer: Option<DocParty>,
    /// Annex V(2).
    pub authorised_representative: Option<DocParty>,
    /// Annex V(3).
    pub sole_responsibility: Option<String>,
    /// Annex V(4).
    pub object: Option<DocObject>,
    /// Annex V(5); Art. 28(1) and 28(3).
    pub legislation: Option<Vec<Legislation>>,
    /// Annex V(6).
    pub standards: Option<Vec<String>>,
    /// Annex V(6).
    pub common_specifications: Option<Vec<String>>,
    /// Annex V(6).
    pub certifications: Option<Vec<Certification>>,
    /// Annex V(7).
    pub conformity_assessment: Option<ConformityAssessment>,
    /// Annex V(8); free text, carried for the record.
    #[allow(dead_code, reason = "free text with no rule to check")]
    pub additional_information: Option<String>,
    /// Annex V(8).
    pub signed: Option<Signed>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocProduct {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub version: Option<String>,
    #[serde(default)]
    pub identifiers: Identifiers,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocParty {
    pub name: Option<String>,
    pub postal_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocObject {
    pub description: Option<String>,
    #[serde(default)]
    pub identifiers: Identifiers,
    #[allow(
        dead_code,
        reason = "Annex V(4) asks for a photograph only where appropriate"
    )]
    pub photo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Legislation {
    pub act: String,
    pub reference: Option<String>,
}

/// A cybersecurity certification declared in Annex V(6), e.g. EUCC.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Certification {
    pub scheme: String,
    pub certificate: Option<String>,
    /// `basic`, `substantial` or `high` (Regulation (EU) 2019/881 Art. 52).
    pub assurance_level: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConformityAssessment {
    /// `A`, `B+C`, `H` or `EUCC`.
    pub procedure: Option<String>,
    pub notified_body: Option<NotifiedBodyRef>,
    /// The EU-type examination certificate (module B) or EUCC certificate.
    pub certificate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifiedBodyRef {
    pub name: Option<String>,
    pub number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Signed {
    #[serde(rename = "for")]
    pub for_: Option<String>,
    pub place: Option<String>,
    pub date: Option<String>,
    pub name: Option<String>,
    pub function: Option<String>,
}

/// Whether `act` names Regulation (EU) 2024/2847.
pub(crate) fn is_cra(act: &str) -> bool {
    act.contains("2024/2847")
}

/// Lower-cased with runs of blanks folded, for comparing names.
pub(crate) fn normalise(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
