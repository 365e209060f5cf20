//! Judging one shipment item: its listing read (from its file or inline),
//! the importer's details stamped where missing (Art. 19(4)), the listing
//! evaluated by the same path as `cragate check` (Art. 19(2): the importer
//! makes sure of the conformity assessment, CE marking, DoC, user
//! information, identifiers, contacts and support period), and every
//! artifact's bytes hashed from disk and compared with the digest and size
//! the listing gives for it: the product shipped must be the one the
//! paperwork describes.

use std::path::PathBuf;

use cragate_verifier::Digest;
use cragate_verifier::evidence::Listing;
use cragate_verifier::limits::MAX_LISTING_BYTES;
use cragate_verifier::policy::Policy;
use cragate_verifier::verdict::Verdict;
use jiff::Timestamp;

use super::hash;
use super::manifest::{Item, ItemError, ListingSource};
use super::stamp::{Stamped, stamp};
use crate::config::policies;
use crate::http::files::read_file_limited;

/// The article an artifact's bytes are checked under: the importer makes
/// sure the product placed is the one the manufacturer assessed and
/// declared (Art. 19(1), (2)).
pub const ARTIFACT_ARTICLE: &str = "Art. 19(2)";

/// The check id of the comparison of an artifact's bytes with its listing.
pub const ARTIFACT_CHECK: &str = "shipment.artifact_digest";

/// What became of one item.
#[derive(Debug)]
pub enum Judgement {
    /// It could not be judged.
    Unusable(Box<Unusable>),
    /// It was judged.
    Judged(Box<Judged>),
}

/// An item that could not be judged.
#[derive(Debug)]
pub struct Unusable {
    /// The reason, with the field at fault.
    pub error: ItemError,
    /// The listing as supplied, when it could be read: the item names a
    /// product, which the ledger records as refused unchecked.
    pub supplied: Option<Supplied>,
}

/// A listing as the manufacturer supplied it.
#[derive(Debug)]
pub struct Supplied {
    /// The listing.
    pub listing: Listing,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// An item that was judged.
#[derive(Debug)]
pub struct Judged {
    /// The listing as judged (stamped where it was).
    pub listing: Listing,
    /// Its bytes as judged.
    pub listing_bytes: Vec<u8>,
    /// SHA-256 of the listing as the manufacturer supplied it.
    pub supplied_digest: Digest,
    /// Whether the importer's details were stamped on it (Art. 19(4)).
    pub stamped: bool,
    /// The verifier's verdict.
    pub verdict: Verdict,
    /// Each artifact's bytes against the listing.
    pub artifacts: Vec<ArtifactCheck>,
}

impl Judged {
    /// Accepted: the verdict accepts and every artifact is the one listed.
    pub fn accepted(&self) -> bool {
        self.verdict.decision().accepts() && self.artifacts.iter().all(ArtifactCheck::matches)
    }
}

/// One artifact's file against the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactCheck {
    /// The artifact's name in the listing.
    pub name: String,
    /// The file hashed.
    pub file: PathBuf,
    /// The digest the listing gives.
    pub listed_digest: Digest,
    /// The size the listing gives.
    pub listed_size: u64,
    /// The digest of the file.
    pub digest: Digest,
    /// The file's size.
    pub size: u64,
}

impl ArtifactCheck {
    /// Whether the file is the artifact listed.
    pub fn matches(&self) -> bool {
        self.digest == self.listed_digest && self.size == self.listed_size
    }

    /// A sentence a person can act on.
    pub fn detail(&self) -> String {
        if self.matches() {
            format!("{} is the artifact listed ({})", self.name, self.digest)
        } else {
            format!(
                "{} in the shipment ({}, {} bytes) is not the artifact the listing and its DoC cover ({}, {} bytes): ask the manufacturer which build was shipped",
                self.name, self.digest, self.size, self.listed_digest, self.listed_size
            )
        }
    }
}

/// Judges `item` under `policy` at `at`; `hashed` is told of every chunk
/// of artifact bytes hashed.
pub fn judge(item: &Item, policy: &Policy, at: Timestamp, hashed: &dyn Fn(u64)) -> Judgement {
    let unusable = |error, supplied| Judgement::Unusable(Box::new(Unusable { error, supplied }));
    let supplied = match read_supplied(item) {
        Ok(supplied) => supplied,
        Err(error) => return unusable(error, None),
    };
    match judged(item, &supplied, policy, at, hashed) {
        Ok(judged) => Judgement::Judged(Box::new(judged)),
        Err(error) => unusable(error, Some(supplied)),
    }
}

/// The item's listing as supplied, read and parsed (as `cragate check`
/// parses it).
fn read_supplied(item: &Item) -> Result<Supplied, ItemError> {
    let index = item.index;
    let bytes = match &item.listing {
        ListingSource::File(path) => read_file_limited(path, MAX_LISTING_BYTES, "listing")
            .map_err(|e| ItemError::new(index, ".listing", format!("{e:#}")))?,
        ListingSource::Inline(bytes) => bytes.clone(),
    };
    let listing =
        Listing::from_json(&bytes).map_err(|e| ItemError::new(index, ".listing", e.to_string()))?;
    Ok(Supplied { listing, bytes })
}

fn judged(
    item: &Item,
    supplied: &Supplied,
    policy: &Policy,
    at: Timestamp,
    hashed: &dyn Fn(u64),
) -> Result<Judged, ItemError> {
    let index = item.index;
    let unusable_listing =
        |e: &dyn std::fmt::Display| ItemError::new(index, ".listing", format!("{e}"));
    // The listing was read as supplied first, so that stamping never turns
    // an unusable listing into a usable one.
    let (stamped, listing_bytes) =
        match stamp(&supplied.bytes, policy).map_err(|e| unusable_listing(&e))? {
            Stamped::Yes(bytes) => (true, bytes),
            Stamped::No => (false, supplied.bytes.clone()),
        };
    let (listing, verdict) =
        policies::evaluate(policy, &listing_bytes, at).map_err(|e| unusable_listing(&e))?;
    for name in item.artifacts.keys() {
        if !listing.artifacts().iter().any(|a| &a.name == name) {
            return Err(ItemError::new(
                index,
                format!(".artifacts[{name:?}]"),
                format!(
                    "the listing of {} lists no artifact of that name",
                    listing.product_id()
                ),
            ));
        }
    }
    let mut artifacts = Vec::new();
    for artifact in listing.artifacts() {
        let field = format!(".artifacts[{:?}]", artifact.name);
        let Some(file) = item.artifacts.get(&artifact.name) else {
            return Err(ItemError::new(
                index,
                field,
                "the listing lists this artifact but the item gives no file for it",
            ));
        };
        let (digest, size) = hash::file(file, hashed).map_err(|e| {
            ItemError::new(
                index,
                field.clone(),
                format!("cannot read {}: {e}", file.display()),
            )
        })?;
        artifacts.push(ArtifactCheck {
            name: artifact.name.clone(),
            file: file.clone(),
            listed_digest: artifact.digest,
            listed_size: artifact.size,
            digest,
            size,
        });
    }
    Ok(Judged {
        listing,
        listing_bytes,
        supplied_digest: supplied.listing.digest(),
        stamped,
        verdict,
        artifacts,
    })
}
