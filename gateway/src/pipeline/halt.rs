//! The halt-state phase: a product in the scope of a halt, recall or
//! withdrawal in force answers `451` (CRA Art. 19(3), 20(3): importers and
//! distributors stop making it available). It runs on every request, after
//! the verdict cache ([`super::judge`] calls it once the verdict is known,
//! cached or not), and reads only the halt view, never a cached verdict.

use cragate_verifier::Digest;
use cragate_verifier::evidence::Artifact;
use cragate_verifier::halt::Unit;
use cragate_verifier::verdict::ListingRef;

use super::Gateway;
use crate::http::error::GatewayError;

/// Refuses a listing (a submission, a listing read, a catalog entry) whose
/// product, version or artifacts a notice in force covers.
pub fn check_listing(
    gateway: &Gateway,
    listing: &ListingRef,
    artifacts: &[Artifact],
) -> Result<(), GatewayError> {
    let view = gateway.halts.view();
    if view.is_empty() {
        return Ok(());
    }
    let digests: Vec<Digest> = artifacts.iter().map(|a| a.digest).collect();
    let unit = Unit {
        product: listing.product_id.as_str(),
        version: Some(listing.version.as_str()),
        digests: &digests,
        batch: None,
    };
    match gateway.halts.blocking(&unit) {
        Some(halt) => Err(halt.refusal(listing.product_id.as_str())),
        None => Ok(()),
    }
}

/// Refuses an artifact (a download, an upload) of a product a notice in
/// force covers (the artifact's digest, the product's id and version).
pub fn check_artifact(gateway: &Gateway, digest: &Digest) -> Result<(), GatewayError> {
    let view = gateway.halts.view();
    if view.is_empty() {
        return Ok(());
    }
    let digests = [*digest];
    let owners = gateway.accepted.owners(digest);
    for owner in &owners {
        let unit = Unit {
            product: owner.product.as_str(),
            version: Some(owner.version.as_str()),
            digests: &digests,
            batch: None,
        };
        if let Some(halt) = gateway.halts.blocking(&unit) {
            return Err(halt.refusal(owner.product.as_str()));
        }
    }
    // An artifact no current listing references has no products to ask
    // about; the notices naming its digest still reach it.
    if !owners.is_empty() {
        return Ok(());
    }
    match view
        .iter()
        .find(|h| h.notice.scope.digests.contains(digest))
    {
        Some(halt) => Err(halt.refusal(&digest.to_string())),
        None => Ok(()),
    }
}
