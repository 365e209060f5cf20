//! Listings (`cragate.listing/v1`): parsed from bytes under budgets, then
//! checked into a [`Listing`].

mod checks;
mod operators;
mod product_id;
mod raw;
mod support;
pub(crate) mod syntax;

use std::fmt;

use crate::digest::{Digest, DigestError};
use crate::doc::{DOC_FORMAT, RawDoc};
use crate::json::{self, JsonLimitError, ReadError};
use crate::limits::{LISTING_JSON, MAX_LISTING_ARTIFACTS, MAX_LISTING_ATTESTATIONS};

pub(crate) use checks::{evaluate as content_findings, usable_identifiers};
pub(crate) use operators::steward_only;
pub use product_id::{MAX_PRODUCT_ID_BYTES, ProductId, ProductIdError};
pub use raw::{CePlacement, ProductKind, SbomFormatName};
pub(crate) use raw::{Identifiers, Operator, RawListing};

/// The format id of a listing.
pub const LISTING_FORMAT: &str = "cragate.listing/v1";

/// Why a listing could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Refused by the JSON reader: over a budget, a key given twice, or not
    /// an object ([`json::check`]).
    #[error(transparent)]
    Limits(#[from] JsonLimitError),
    /// Not JSON, or not the shape of a listing.
    #[error("listing is not a valid {LISTING_FORMAT} document: at {path}: {message}")]
    Shape {
        /// JSON path of the offending value (`.` for the root).
        path: String,
        /// What was wrong there.
        message: String,
    },
    /// The `format` is not one this version reads.
    #[error("listing format {found:?} is not supported (expected {LISTING_FORMAT:?})")]
    UnsupportedFormat {
        /// The format found.
        found: String,
    },
    /// The inline DoC's `format` is not one this version reads.
    #[error(
        "declaration of conformity format {found:?} is not supported (expected {DOC_FORMAT:?})"
    )]
    UnsupportedDocFormat {
        /// The format found.
        found: String,
    },
    /// `product.id` cannot name the product in a store, a URL or the ledger.
    #[error("product.id: {0}")]
    ProductId(#[source] ProductIdError),
    /// `product.category` is not a category of Annex III or IV.
    #[error(
        "product.category {value:?} must be \"default\", \"class-i:<1-19>\", \"class-ii:<1-4>\" or \"critical:<1-3>\" (Annex III, Annex IV)"
    )]
    Category {
        /// The category as given.
        value: String,
    },
    /// An artifact digest that is not `sha256:<64 hex>`.
    #[error("artifacts[{index}].digest: {source}")]
    ArtifactDigest {
        /// Index of the artifact.
        index: usize,
        /// Why the digest was refused.
        source: DigestError,
    },
    /// More items than the budget allows.
    #[error("listing has {count} {what}, over the limit of {limit}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many there were.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// The product category (Art. 7, Art. 8; Annex III and IV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Category {
    /// Not listed in Annex III or IV.
    Default,
    /// Important product, class I, with its Annex III point (1–19).
    ClassI(u8),
    /// Important product, class II, with its Annex III point (1–4).
    ClassII(u8),
    /// Critical product, with its Annex IV point (1–3).
    Critical(u8),
}

impl Category {
    /// Parses `default`, `class-i:<pt>`, `class-ii:<pt>` or `critical:<pt>`.
    pub fn parse(value: &str) -> Option<Self> {
        if value == "default" {
            return Some(Self::Default);
        }
        let (class, point) = value.split_once(':')?;
        if point.starts_with('0') || !point.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let point: u8 = point.parse().ok()?;
        let (category, max) = match class {
            "class-i" => (Self::ClassI(point), 19),
            "class-ii" => (Self::ClassII(point), 4),
            "critical" => (Self::Critical(point), 3),
            _ => return None,
        };
        (1..=max).contains(&point).then_some(category)
    }

    /// `default`, `class-i`, `class-ii` or `critical`: the key of per-class
    /// policy overrides.
    pub fn class_name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::ClassI(_) => "class-i",
            Self::ClassII(_) => "class-ii",
            Self::Critical(_) => "critical",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::ClassI(p) | Self::ClassII(p) | Self::Critical(p) => {
                write!(f, "{}:{p}", self.class_name())
            }
        }
    }
}

/// One artifact of a listing, its digest checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// File name.
    pub name: String,
    /// SHA-256 of its bytes.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Media type, if given.
    pub media_type: Option<String>,
}

/// A listing that parsed and has a supported format. Its content has not
/// been judged: that is what the checks do.
#[derive(Debug, Clone)]
pub struct Listing {
    pub(crate) raw: RawListing,
    product_id: ProductId,
    category: Category,
    artifacts: Vec<Artifact>,
    digest: Digest,
}

impl Listing {
    /// Parses a listing from its bytes through the JSON reader, under
    /// [`LISTING_JSON`]: a listing with a key given twice anywhere in it (its
    /// DoC, SBOM and bundles included) is unusable (RFC 8259 §4).
    pub fn from_json(bytes: &[u8]) -> Result<Self, EvidenceError> {
        let raw: RawListing = json::read(bytes, &LISTING_JSON).map_err(|error| match error {
            ReadError::Refused(refusal) => EvidenceError::Limits(refusal),
            ReadError::Shape { path, message } => EvidenceError::Shape { path, message },
        })?;
        let mut listing = Self::try_from(raw)?;
        listing.digest = Digest::of(bytes);
        Ok(listing)
    }

    /// `product.id`, checked.
    pub fn product_id(&self) -> &ProductId {
        &self.product_id
    }
    /// `product.name`.
    pub fn product_name(&self) -> &str {
        &self.raw.product.name
    }
    /// `product.version`.
    pub fn version(&self) -> &str {
        &self.raw.product.version
    }
    /// Hardware or software.
    pub fn kind(&self) -> ProductKind {
        self.raw.product.kind
    }
    /// The declared category.
    pub fn category(&self) -> Category {
        self.category
    }
    /// The artifacts, with checked digests.
    pub fn artifacts(&self) -> &[Artifact] {
        &self.artifacts
    }
    /// SHA-256 of the listing bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }
    /// The support period's end as given (`YYYY-MM` or `YYYY-MM-DD`), if any.
    pub fn support_end(&self) -> Option<&str> {
        self.raw
            .support_period
            .as_ref()
            .and_then(|s| s.end.as_deref())
    }
    /// The operator that supplied the product (Art. 23(1)): name and postal
    /// address, when the listing names both.
    pub fn supplier(&self) -> Option<(&str, &str)> {
        let supplier = self.raw.operators.supplier.as_ref()?;
        Some((
            supplier.name.as_deref()?,
            supplier.postal_address.as_deref()?,
        ))
    }
    pub(crate) fn full_doc(&self) -> Option<&RawDoc> {
        self.raw
            .declaration_of_conformity
            .as_ref()
            .and_then(|d| d.full.as_ref())
    }
}

impl TryFrom<RawListing> for Listing {
    type Error = EvidenceError;

    fn try_from(raw: RawListing) -> Result<Self, Self::Error> {
        if raw.format != LISTING_FORMAT {
            return Err(EvidenceError::UnsupportedFormat { found: raw.format });
        }
        if let Some(doc) = raw
            .declaration_of_conformity
            .as_ref()
            .and_then(|d| d.full.as_ref())
            && doc.format != DOC_FORMAT
        {
            return Err(EvidenceError::UnsupportedDocFormat {
                found: doc.format.clone(),
            });
        }
        let product_id =
            ProductId::try_from(raw.product.id.clone()).map_err(EvidenceError::ProductId)?;
        let category =
            Category::parse(&raw.product.category).ok_or_else(|| EvidenceError::Category {
                value: raw.product.category.clone(),
            })?;
        for (what, count, limit) in [
            ("artifacts", raw.artifacts.len(), MAX_LISTING_ARTIFACTS),
            (
                "attestations",
                raw.attestations.len(),
                MAX_LISTING_ATTESTATIONS,
            ),
        ] {
            if count > limit {
                return Err(EvidenceError::TooMany { what, count, limit });
            }
        }
        let artifacts = raw
            .artifacts
            .iter()
            .enumerate()
            .map(|(index, a)| {
                let digest = a
                    .digest
                    .parse()
                    .map_err(|source| EvidenceError::ArtifactDigest { index, source })?;
                Ok(Artifact {
                    name: a.name.clone(),
                    digest,
                    size: a.size,
                    media_type: a.media_type.clone(),
                })
            })
            .collect::<Result<_, EvidenceError>>()?;
        Ok(Self {
            raw,
            product_id,
            category,
            artifacts,
            digest: Digest::from_bytes([0; 32]),
        })
    }
}

#[cfg(test)]
mod tests;
