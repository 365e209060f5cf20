//! The listing as it arrives (`cragate.listing/v1`): serde structs that
//! refuse unknown fields. Field names are the contract in DESIGN.md
//! ("Evidence format v1"); [`super::Listing`] is the checked form.
//!
//! Almost every field is optional here: a missing field is a failed check
//! with an article, not a parse error. Only the shape (types, unknown
//! fields, enumerations) is enforced at parse time.

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::doc::RawDoc;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListing {
    pub format: String,
    pub product: RawProduct,
    #[serde(default)]
    pub operators: RawOperators,
    pub placed_on_market: Option<String>,
    /// The date of the latest substantial modification (Art. 3(30)), if
    /// any: from 11 December 2027 it brings an earlier unit under the
    /// Regulation (Art. 69(2)).
    pub substantially_modified: Option<String>,
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
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperators {
    pub manufacturer: Option<Operator>,
    pub authorised_representative: Option<Operator>,
    pub importer: Option<Operator>,
    pub supplier: Option<Operator>,
    /// An open-source software steward (Art. 3(14), Art. 24).
    pub steward: Option<Operator>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Operator {
    pub name: Option<String>,
    pub postal_address: Option<String>,
    pub email: Option<String>,
    /// Other digital contact details than e-mail (Art. 13(16), 19(4)):
    /// an https contact form or a `mailto:` address.
    pub digital_contact: Option<String>,
    pub website: Option<String>,
    /// ISO 3166-1 alpha-2 code of the country of establishment.
    pub country: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSupportPeriod {
    pub end: Option<String>,
    /// The time the product is expected to be in use, in years, when it is
    /// under five (Art. 13(8), second subparagraph).
    pub expected_use_years: Option<f64>,
    /// Why the product is expected to be in use for that time (Art. 13(8);
    /// the reasons belong in the technical documentation, Annex VII(4)).
    pub reason: Option<String>,
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
    /// Where the full DoC can be read (Annex II(6)); carried for the record.
    #[allow(
        dead_code,
        reason = "no rule reads it: the simplified DoC gives its own address"
    )]
    pub url: Option<String>,
    pub simplified: Option<RawSimplifiedDoc>,
    /// The languages the DoC is available in (Art. 28(2)).
    #[serde(default)]
    pub languages: Vec<String>,
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
    #[serde(deserialize_with = "integer")]
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
    /// SPDX (JSON 2.2 and 2.3, or JSON-LD 3.0).
    Spdx,
}

impl SbomFormatName {
    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cyclonedx => "CycloneDX",
            Self::Spdx => "SPDX",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSbom {
    pub format: SbomFormatName,
    /// The SBOM document: a JSON object (CycloneDX or SPDX).
    pub document: Option<Map<String, Value>>,
    /// Index into `attestations` of the bundle carrying the SBOM.
    #[serde(default, deserialize_with = "optional_index")]
    pub attestation: Option<usize>,
}

/// A non-negative integer, written `3` or `3.0`: JSON has one number type
/// (RFC 8259 s.6) and JSON Schema's `integer` is any number without a
/// fraction, so the parser accepts what the published schema does.
fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(IntegerVisitor)
}

fn optional_index<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    Option::<Integer>::deserialize(deserializer)?
        .map(|Integer(n)| {
            usize::try_from(n)
                .map_err(|_| de::Error::invalid_value(Unexpected::Unsigned(n), &"an index"))
        })
        .transpose()
}

struct Integer(u64);

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        integer(deserializer).map(Integer)
    }
}

struct IntegerVisitor;

impl Visitor<'_> for IntegerVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a non-negative integer")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
        // 2^64 as f64; every integral f64 below it converts exactly.
        const LIMIT: f64 = 18_446_744_073_709_551_616.0;
        if value.fract() == 0.0 && (0.0..LIMIT).contains(&value) {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked integral and in range just above"
            )]
            Ok(value as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(value), &self))
        }
    }
}
