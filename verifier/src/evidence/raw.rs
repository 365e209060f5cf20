//! The listing as it arrives (`cragate.listing/v1`): serde structs that
//! refuse unknown fields. Field names are the contract in DESIGN.md
//! ("Evidence format v1"); [`super::Listing`] is the checked form.
//!
//! Almost every field is optional here: a missing field is a failed check
//! with an article, not a parse error. Only the shape (types, unknown
//! fields, enumerations) is enforced at parse time.

use serde::Deserialize;
use serde_json::Value;

use crate::doc::RawDoc;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListing {
    pub format: String,
    pub product: RawProduct,
    #[serde(default)]
    pub operators: RawOperators,
    pub placed_on_market: Option<String>,
    pub support_period: Option<RawSupportPeriod>,
    pub security: Option<RawSecurity>,
    pub ce_marking: Option<RawCeMarking>,
    pub user_information: Option<RawUserInformation>,
    pub declaration_of_conformity: Option<RawDocBlock>,
    #[serde(default)]
    pub artifacts: Vec<RawArtifact>,
    #[serde(default)]
    pub attestations: Vec<Value>,
    pub sbom: Option<RawSbom>,
}

/// What kind of product the listing is for; decides where the CE marking may
/// go (Art. 30(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProductKind {
    /// A physical product (with its firmware and remote data processing).
    Hardware,
    /// Software placed on the market on its own.
    Software,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProduct {
    pub id: String,
    pub name: String,
    pub version: String,
    pub kind: ProductKind,
    pub category: String,
    #[serde(default)]
    pub identifiers: Identifiers,
    /// Free and open-source software (Art. 3(48)); relevant to Art. 32(5).
    #[serde(default)]
    pub free_open_source: bool,
    /// Public address of the technical documentation (Art. 32(5)).
    pub technical_documentation: Option<String>,
}

/// Identifiers of a product (Art. 13(15); Annex V(1) and (4)). The named
/// ones have syntax rules; Art. 13(15) allows "other elements allowing
/// identification", so any further string-valued key is kept as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct Identifiers {
    pub purl: Option<String>,
    pub gtin: Option<String>,
    pub model: Option<String>,
    pub batch: Option<String>,
    pub serial: Option<String>,
    pub cpe: Option<String>,
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, String>,
}

impl Identifiers {
    /// `(name, value)` for every identifier given, in a fixed order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        [
            ("purl", &self.purl),
            ("gtin", &self.gtin),
            ("model", &self.model),
            ("batch", &self.batch),
            ("serial", &self.serial),
            ("cpe", &self.cpe),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .chain(self.other.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.entries().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperators {
    pub manufacturer: Option<Operator>,
    pub authorised_representative: Option<Operator>,
    pub importer: Option<Operator>,
    pub supplier: Option<Operator>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Operator {
    pub name: Option<String>,
    pub postal_address: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    /// ISO 3166-1 alpha-2 code of the country of establishment.
    pub country: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSupportPeriod {
    pub end: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecurity {
    pub contact: Option<String>,
    pub cvd_policy: Option<String>,
    pub security_txt: Option<String>,
}

/// Where the CE marking is affixed (Art. 30(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CePlacement {
    /// On the product itself.
    Product,
    /// On the packaging (and the accompanying DoC).
    Packaging,
    /// On the EU declaration of conformity.
    Doc,
    /// On the website accompanying a software product.
    Website,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCeMarking {
    pub affixed: bool,
    pub placement: Option<CePlacement>,
    pub website: Option<String>,
    pub notified_body: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUserInformation {
    pub url: Option<String>,
    #[serde(default)]
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDocBlock {
    pub full: Option<RawDoc>,
    pub url: Option<String>,
    pub simplified: Option<RawSimplifiedDoc>,
}

/// The Annex VI simplified declaration: its sentence and the address of the
/// full declaration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSimplifiedDoc {
    pub text: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArtifact {
    pub name: String,
    pub digest: String,
    pub size: u64,
    pub media_type: Option<String>,
    pub signature: Option<Value>,
}

/// The SBOM format a listing claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SbomFormatName {
    /// CycloneDX (JSON).
    Cyclonedx,
    /// SPDX (JSON 2.3 or JSON-LD 3.0).
    Spdx,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSbom {
    pub format: SbomFormatName,
    pub document: Option<Value>,
    /// Index into `attestations` of the bundle carrying the SBOM.
    pub attestation: Option<usize>,
}
