//! The halt notice, `cragate.halt/v1`, as a checked type: read through the
//! one JSON reader ([`crate::json::read`]) into a raw structure, then
//! turned into a [`HaltNotice`] whose every field holds (DESIGN.md, "halt
//! notice"; the JSON Schema is `verifier/schema/halt-v1.schema.json`).

use std::fmt;

use jiff::Timestamp;
use semver::VersionReq;
use serde::Deserialize;

use super::error::HaltError;
use crate::digest::Digest;
use crate::evidence::ProductId;
use crate::json;
use crate::limits::{HALT_NOTICE_JSON, MAX_HALT_REASON_BYTES, MAX_HALT_SCOPE_ITEMS};

/// The format id of a halt notice.
pub const HALT_FORMAT: &str = "cragate.halt/v1";

/// What a notice tells every economic operator downstream to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Action {
    /// Stop supplying (CRA Art. 19(3), 20(3)).
    Halt,
    /// Stop supplying and get units back from end users (Art. 19(5),
    /// 20(4), 54(4)).
    Recall,
    /// Stop supplying and remove the product from the supply chain
    /// (Art. 19(5), 20(4), 54(4)).
    Withdraw,
    /// End earlier halts, recalls or withdrawals named in `lifts`.
    Lift,
}

impl Action {
    /// Every action, in the order the notice format lists them.
    pub const ALL: [Self; 4] = [Self::Halt, Self::Recall, Self::Withdraw, Self::Lift];

    /// The name used in notices and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Halt => "halt",
            Self::Recall => "recall",
            Self::Withdraw => "withdraw",
            Self::Lift => "lift",
        }
    }

    /// Reads an action name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether the action blocks supply (every action but `lift`).
    pub fn blocks(self) -> bool {
        self != Self::Lift
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which units a notice is about.
///
/// `products` names product ids exactly (no patterns: a notice says what
/// it stops). `versions`, `digests` and `batches` narrow the scope; an
/// empty list or an absent range does not narrow.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// The products, by `product.id`.
    pub products: Vec<ProductId>,
    /// The versions, as the semver range written in the notice.
    pub versions: Option<VersionRange>,
    /// Artifact digests.
    pub digests: Vec<Digest>,
    /// Batch or lot numbers.
    pub batches: Vec<String>,
}

/// A semver range of versions, read by the `semver` crate's `VersionReq`
/// (Cargo's rules): `"<2.9.0"` is every version lower than 2.9.0, so 2.8.4
/// and 1.0.0 are in it and 2.9.0 and 2.9.1 are not; comparators joined by
/// commas must all hold (`">=2.0.0, <2.9.0"`); a bare `"2.9.0"` means
/// `"^2.9.0"` (2.9.0 up to, not including, 3.0.0); a pre-release such as
/// 2.9.0-rc.1 is in a range only when a comparator of the same
/// major.minor.patch names a pre-release. A unit version that is not
/// semver is treated as in range (see [`Unit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    text: String,
    requirement: VersionReq,
}

impl VersionRange {
    /// Parses a range.
    pub fn parse(text: &str) -> Result<Self, semver::Error> {
        Ok(Self {
            text: text.to_owned(),
            requirement: VersionReq::parse(text)?,
        })
    }
    /// The range as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// Whether `version` is in the range; a version that is not semver is
    /// (fail closed: a halt is never escaped by an odd version string).
    pub fn contains(&self, version: &str) -> bool {
        match semver::Version::parse(version.trim().trim_start_matches('v')) {
            Ok(version) => self.requirement.matches(&version),
            Err(_) => true,
        }
    }
}

/// What the notice refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// An advisory, e.g. a CSAF document URL.
    pub advisory: Option<String>,
    /// The market surveillance authority's order (Art. 54(1)), when there is one.
    pub authority_order: Option<String>,
}

/// A halt notice whose fields hold. Its signature has not been checked:
/// see [`super::verify`], which gives a [`super::VerifiedNotice`].
#[derive(Debug, Clone, PartialEq)]
pub struct HaltNotice {
    /// Who issued it: a manufacturer's PSIRT, an importer, an authority.
    pub issuer: String,
    /// The issuer's sequence number: each notice of an issuer has a higher
    /// one than the last.
    pub sequence: u64,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// What to do.
    pub action: Action,
    /// For a lift: the sequences it ends; empty otherwise.
    pub lifts: Vec<u64>,
    /// Which units.
    pub scope: Scope,
    /// Why, in words a person can act on.
    pub reason: String,
    /// Advisory and authority order.
    pub reference: Reference,
}

/// One unit a request is about, to match against a notice's scope.
///
/// A narrowing the request gives nothing to check against does not narrow
/// (fail closed): a listing read with no known version is in a
/// version-narrowed scope, an artifact whose batch is unknown is in a
/// batch-narrowed one. Supply stops too widely rather than too narrowly
/// (Art. 20(3)).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unit<'a> {
    /// The product id.
    pub product: &'a str,
    /// Its version, when known.
    pub version: Option<&'a str>,
    /// The digests of the artifacts involved (one for a download, every
    /// artifact of a listing for a listing read); empty when unknown.
    pub digests: &'a [Digest],
    /// Its batch, when known.
    pub batch: Option<&'a str>,
}

impl Scope {
    /// Whether `unit` is in this scope.
    pub fn covers(&self, unit: &Unit<'_>) -> bool {
        if !self.products.iter().any(|p| p.as_str() == unit.product) {
            return false;
        }
        let version = match (&self.versions, unit.version) {
            (Some(range), Some(version)) => range.contains(version),
            _ => true,
        };
        let digest = self.digests.is_empty()
            || unit.digests.is_empty()
            || unit.digests.iter().any(|d| self.digests.contains(d));
        let batch = match unit.batch {
            Some(batch) if !self.batches.is_empty() => self.batches.iter().any(|b| b == batch),
            _ => true,
        };
        version && digest && batch
    }
}

impl HaltNotice {
    /// Reads a notice from its JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, HaltError> {
        let raw: RawNotice =
            json::read(bytes, &HALT_NOTICE_JSON).map_err(|e| malformed(e.to_string()))?;
        Self::try_from(raw)
    }

    /// Whether the notice is in force against `unit` (a blocking action
    /// whose scope covers it).
    pub fn blocks(&self, unit: &Unit<'_>) -> bool {
        self.action.blocks() && self.scope.covers(unit)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotice {
    format: String,
    issuer: String,
    sequence: u64,
    issued_at: String,
    action: String,
    #[serde(default)]
    lifts: Option<Lifts>,
    scope: RawScope,
    reason: String,
    reference: RawReference,
}

/// `lifts`: one sequence or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lifts {
    One(u64),
    Many(Vec<u64>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    products: Vec<String>,
    #[serde(default)]
    versions: Option<String>,
    #[serde(default)]
    digests: Vec<String>,
    #[serde(default)]
    batches: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    #[serde(default)]
    advisory: Option<String>,
    #[serde(default)]
    authority_order: Option<String>,
}

impl TryFrom<RawNotice> for HaltNotice {
    type Error = HaltError;

    fn try_from(raw: RawNotice) -> Result<Self, HaltError> {
        if raw.format != HALT_FORMAT {
            return Err(malformed(format!(
                "format is {:?}, expected {HALT_FORMAT:?}",
                raw.format
            )));
        }
        if raw.issuer.trim().is_empty() {
            return Err(malformed("issuer is empty"));
        }
        let issued_at: Timestamp = raw.issued_at.parse().map_err(|e| {
            malformed(format!(
                "issued_at {:?} is not an RFC 3339 time: {e}",
                raw.issued_at
            ))
        })?;
        let action = Action::parse(&raw.action).ok_or_else(|| {
            malformed(format!(
                "action {:?} must be \"halt\", \"recall\", \"withdraw\" or \"lift\"",
                raw.action
            ))
        })?;
        let lifts = match raw.lifts {
            None => Vec::new(),
            Some(Lifts::One(sequence)) => vec![sequence],
            Some(Lifts::Many(sequences)) => sequences,
        };
        check_lifts(action, raw.sequence, &lifts)?;
        let scope = scope(raw.scope)?;
        if raw.reason.trim().is_empty() {
            return Err(malformed("reason is empty: say why supply must stop"));
        }
        if raw.reason.len() > MAX_HALT_REASON_BYTES {
            return Err(malformed(format!(
                "reason is {} bytes, over the limit of {MAX_HALT_REASON_BYTES}",
                raw.reason.len()
            )));
        }
        Ok(Self {
            issuer: raw.issuer,
            sequence: raw.sequence,
            issued_at,
            action,
            lifts,
            scope,
            reason: raw.reason,
            reference: Reference {
                advisory: raw.reference.advisory,
                authority_order: raw.reference.authority_order,
            },
        })
    }
}

fn check_lifts(action: Action, sequence: u64, lifts: &[u64]) -> Result<(), HaltError> {
    if action != Action::Lift {
        if !lifts.is_empty() {
            return Err(malformed(format!(
                "lifts is only for action \"lift\", not {action:?}"
            )));
        }
        return Ok(());
    }
    if lifts.is_empty() {
        return Err(malformed(
            "a lift must name the sequence(s) it ends in lifts",
        ));
    }
    if lifts.len() > MAX_HALT_SCOPE_ITEMS {
        return Err(malformed(format!(
            "lifts names {} sequences, over the limit of {MAX_HALT_SCOPE_ITEMS}",
            lifts.len()
        )));
    }
    if let Some(later) = lifts.iter().find(|&&lifted| lifted >= sequence) {
        return Err(malformed(format!(
            "lifts names sequence {later}, which is not earlier than the lift's own {sequence}"
        )));
    }
    Ok(())
}

fn scope(raw: RawScope) -> Result<Scope, HaltError> {
    for (name, length) in [
        ("products", raw.products.len()),
        ("digests", raw.digests.len()),
        ("batches", raw.batches.len()),
    ] {
        if length > MAX_HALT_SCOPE_ITEMS {
            return Err(malformed(format!(
                "scope.{name} has {length} entries, over the limit of {MAX_HALT_SCOPE_ITEMS}"
            )));
        }
    }
    if raw.products.is_empty() {
        return Err(malformed("scope.products is empty: name the product ids"));
    }
    let products = raw
        .products
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.parse::<ProductId>()
                .map_err(|e| malformed(format!("scope.products[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let versions = raw
        .versions
        .as_deref()
        .map(|text| {
            VersionRange::parse(text).map_err(|e| {
                malformed(format!(
                    "scope.versions {text:?} is not a semver range: {e}"
                ))
            })
        })
        .transpose()?;
    let digests = raw
        .digests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.parse::<Digest>()
                .map_err(|e| malformed(format!("scope.digests[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(i) = raw.batches.iter().position(|b| b.trim().is_empty()) {
        return Err(malformed(format!("scope.batches[{i}] is empty")));
    }
    Ok(Scope {
        products,
        versions,
        digests,
        batches: raw.batches,
    })
}

fn malformed(detail: impl Into<String>) -> HaltError {
    HaltError::Malformed {
        detail: detail.into(),
    }
}
