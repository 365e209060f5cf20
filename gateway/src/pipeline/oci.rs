//! The registry gate's phases for one manifest: fetch it, find its
//! signatures, verify and evaluate (on a blocking thread), record the
//! verdict on the ledger, and remember which blobs an allowed manifest
//! names, so that blobs are served only as part of an allowed image.
//!
//! Verdicts are cached by manifest digest and policy digest (which covers
//! the trust roots the policy names). Each request still asks the registry
//! where signatures could be (HEADs of `sha256-<hex>.sig` and `.att`, the
//! referrers list): when that changed, a new signature may have appeared,
//! and discovery and verification run again; otherwise the cached verdict
//! is served without verification work and is not recorded again.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use cragate_verifier::Digest;
use cragate_verifier::cosign::{ImageManifest, ImageVerdict, ManifestKind, evaluate_image};
use cragate_verifier::policy::Policy;
use jiff::Timestamp;
use lru::LruCache;

use super::state::Gateway;
use crate::http::error::{ErrorKind, ErrorSource, GatewayError};
use crate::upstream::oci::{Document, OciUpstream};

/// Verdicts kept (one per manifest and policy).
pub const OCI_VERDICT_CACHE_ENTRIES: usize = 4096;
/// Allowed blobs remembered, by repository and digest.
pub const OCI_ALLOWED_BLOBS: usize = 65_536;
/// Platforms of an index judged at most: an index names one manifest per
/// platform, and real multi-platform images have under twenty.
pub const MAX_INDEX_PLATFORMS: usize = 64;
/// Levels of indexes judged at most (an index of indexes is one level
/// more): multi-platform images nest at most once.
pub const MAX_INDEX_DEPTH: usize = 2;

/// A cached verdict and where its evidence was found.
#[derive(Debug, Clone)]
struct Cached {
    fingerprint: Digest,
    verdict: Arc<ImageVerdict>,
}

/// The registry side of the gateway.
#[derive(Debug)]
pub struct OciGate {
    /// The registry.
    pub upstream: OciUpstream,
    verdicts: Mutex<LruCache<(Digest, Digest), Cached>>,
    blobs: Mutex<LruCache<(String, Digest), AllowedBlob>>,
}

/// What a manifest push comes to, when it is not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// An image (or index) the policy allows.
    Allowed,
    /// A signature or attestation, passed on unjudged.
    Evidence,
}

/// What a manifest request comes to.
#[derive(Debug)]
pub enum ManifestOutcome {
    /// The registry has no such manifest.
    NotFound,
    /// Allowed: the manifest as the registry returned it.
    Allowed(Document),
}

impl OciGate {
    /// A gate in front of `upstream`.
    pub fn new(upstream: OciUpstream) -> Self {
        let cap = |n: usize| NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        Self {
            upstream,
            verdicts: Mutex::new(LruCache::new(cap(OCI_VERDICT_CACHE_ENTRIES))),
            blobs: Mutex::new(LruCache::new(cap(OCI_ALLOWED_BLOBS))),
        }
    }

    /// Blob `digest` of `name` if an allowed manifest names it.
    pub fn allowed_blob(&self, name: &str, digest: &Digest) -> Option<AllowedBlob> {
        self.blobs
            .lock()
            .ok()?
            .get(&(name.to_owned(), *digest))
            .copied()
    }

    /// Judges manifest `reference` (tag or digest) of `name`; an error
    /// (`ImageDenied` among them) denies.
    pub async fn manifest(
        &self,
        gateway: &Gateway,
        name: &str,
        reference: &str,
        peer: Option<SocketAddr>,
    ) -> Result<ManifestOutcome, GatewayError> {
        let Some(document) = self.upstream.manifest(name, reference).await? else {
            return Ok(ManifestOutcome::NotFound);
        };
        check_reference(reference, &document)?;
        let manifest = parse(&document, ErrorSource::Upstream)?;
        self.admit(gateway, name, &document, &manifest, peer)
            .await?;
        Ok(ManifestOutcome::Allowed(document))
    }

    /// Judges manifest `document` pushed to `name` under `reference` (tag
    /// or digest): allowed as a pull of it would be (the signatures and
    /// attestations must already be in the registry), or an error that
    /// refuses the push. A signature or attestation itself (a manifest
    /// with a `subject`, or one pushed under cosign's `sha256-<hex>`,
    /// `.sig` or `.att` tags) is evidence, not a product: it passes
    /// unjudged and counts only when the image it names is judged.
    pub async fn push(
        &self,
        gateway: &Gateway,
        name: &str,
        reference: &str,
        document: &Document,
        peer: Option<SocketAddr>,
    ) -> Result<PushOutcome, GatewayError> {
        if let Ok(expected) = reference.parse::<Digest>()
            && expected != document.digest
        {
            return Err(GatewayError::client(ErrorKind::ManifestInvalid(format!(
                "the manifest hashes to {}, not {expected}, the digest it was pushed under",
                document.digest
            ))));
        }
        let manifest = parse(document, ErrorSource::Client)?;
        if manifest.subject.is_some() || is_signature_tag(reference) {
            return Ok(PushOutcome::Evidence);
        }
        self.admit(gateway, name, document, &manifest, peer).await?;
        Ok(PushOutcome::Allowed)
    }

    /// The halt state, then the verdict of `document` (an image, or an
    /// index with every platform's); an error denies.
    async fn admit(
        &self,
        gateway: &Gateway,
        name: &str,
        document: &Document,
        manifest: &ImageManifest,
        peer: Option<SocketAddr>,
    ) -> Result<(), GatewayError> {
        if let Some(notice) = halt_notice(gateway, name, &[document.digest]) {
            return Err(GatewayError::client(ErrorKind::ImageHalted(notice)));
        }
        let verdict = match manifest.kind {
            ManifestKind::Image => {
                self.judge(gateway, name, document.digest, manifest, peer)
                    .await?
            }
            _ => {
                self.judge_index(gateway, name, document, manifest, peer, 1)
                    .await?
            }
        };
        if !verdict.decision.accepts() {
            return Err(GatewayError::client(ErrorKind::ImageDenied(Box::new(
                (*verdict).clone(),
            ))));
        }
        Ok(())
    }

    /// An index: its own checks, then every platform's (an index it names
    /// is judged the same way, [`MAX_INDEX_DEPTH`] levels at most). Build
    /// attestations of a platform it lists ([`is_build_attestation`]) are
    /// not platforms and are not judged as such.
    async fn judge_index(
        &self,
        gateway: &Gateway,
        name: &str,
        document: &Document,
        index: &ImageManifest,
        peer: Option<SocketAddr>,
        depth: usize,
    ) -> Result<Arc<ImageVerdict>, GatewayError> {
        let own = self
            .judge(gateway, name, document.digest, index, peer)
            .await?;
        let mut platforms = Vec::new();
        let mut attestations = Vec::new();
        for entry in index.entries.iter().take(MAX_INDEX_PLATFORMS) {
            if is_build_attestation(entry) {
                attestations.push(entry.digest);
                continue;
            }
            let reference = entry.digest.to_string();
            let Some(child) = self.upstream.manifest(name, &reference).await? else {
                return Err(GatewayError::upstream(ErrorKind::Status {
                    status: http::StatusCode::NOT_FOUND,
                    what: "a platform manifest of the index",
                }));
            };
            check_reference(&reference, &child)?;
            let manifest = parse(&child, ErrorSource::Upstream)?;
            let verdict = match manifest.kind {
                ManifestKind::Image => {
                    self.judge(gateway, name, child.digest, &manifest, peer)
                        .await?
                }
                _ if depth < MAX_INDEX_DEPTH => {
                    Box::pin(self.judge_index(gateway, name, &child, &manifest, peer, depth + 1))
                        .await?
                }
                _ => {
                    return Err(GatewayError::upstream(ErrorKind::Internal(format!(
                        "indexes nested more than {MAX_INDEX_DEPTH} deep are not judged"
                    ))));
                }
            };
            platforms.push((child.digest, verdict));
        }
        let views: Vec<(Digest, &ImageVerdict)> =
            platforms.iter().map(|(d, v)| (*d, v.as_ref())).collect();
        let combined = (*own)
            .clone()
            .with_entries(&views, &attestations, gateway.policy.mode());
        Ok(Arc::new(combined))
    }

    /// One manifest's verdict: cached while its signatures' places are
    /// unchanged, else discovered, verified, evaluated and recorded.
    async fn judge(
        &self,
        gateway: &Gateway,
        name: &str,
        digest: Digest,
        manifest: &ImageManifest,
        peer: Option<SocketAddr>,
    ) -> Result<Arc<ImageVerdict>, GatewayError> {
        let key = (digest, gateway.policy.digest());
        let cached = self
            .verdicts
            .lock()
            .ok()
            .and_then(|mut c| c.get(&key).cloned());
        if let Some(cached) = cached {
            let fingerprint = self.upstream.fingerprint(name, &digest).await?;
            if fingerprint == cached.fingerprint {
                self.allow_blobs(name, digest, manifest, &cached.verdict);
                return Ok(cached.verdict);
            }
        }
        let discovered = self.upstream.discover(name, &digest).await?;
        let policy: Arc<Policy> = Arc::clone(&gateway.policy);
        let repository = name.to_owned();
        let evidence = discovered.evidence;
        let verdict = tokio::task::spawn_blocking(move || {
            evaluate_image(&policy, &repository, digest, &evidence, Timestamp::now())
        })
        .await
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
        gateway.decisions.image(&verdict, peer).await?;
        let verdict = Arc::new(verdict);
        self.allow_blobs(name, digest, manifest, &verdict);
        if let Ok(mut cache) = self.verdicts.lock() {
            cache.put(
                key,
                Cached {
                    fingerprint: discovered.fingerprint,
                    verdict: Arc::clone(&verdict),
                },
            );
        }
        Ok(verdict)
    }

    /// Remembers the config and layers of allowed image manifest `digest`.
    fn allow_blobs(
        &self,
        name: &str,
        digest: Digest,
        manifest: &ImageManifest,
        verdict: &ImageVerdict,
    ) {
        if !verdict.decision.accepts() || manifest.kind != ManifestKind::Image {
            return;
        }
        if let Ok(mut blobs) = self.blobs.lock() {
            for descriptor in manifest.config.iter().chain(&manifest.entries) {
                let allowed = AllowedBlob {
                    size: descriptor.size,
                    manifest: digest,
                };
                blobs.put((name.to_owned(), descriptor.digest), allowed);
            }
        }
    }
}

/// A blob an allowed manifest names.
#[derive(Debug, Clone, Copy)]
pub struct AllowedBlob {
    /// Its size, from the manifest.
    pub size: u64,
    /// The manifest that allowed it (the last one, when several name it).
    pub manifest: Digest,
}

/// The halt-sale state (CRA Art. 19(3), 20(3)): the notice in force that
/// blocks an image of repository `name` with one of `digests` (its
/// manifest's, and a blob's when a blob is asked for), worded for the
/// client, if any. An image is the product its ledger entries are recorded
/// under (`oci.` and the repository, [`super::record::image_product_id`]);
/// a notice naming that product or one of the digests blocks it, whatever
/// its version range (an image has no version the notice could be
/// compared with: fail closed). Checked on every manifest and blob
/// request, before the verdict cache.
pub fn halt_notice(gateway: &Gateway, name: &str, digests: &[Digest]) -> Option<String> {
    // A repository whose name makes no product id is still matched by the
    // notices naming its manifest digest (fail closed).
    let product = super::record::image_product_id(name)
        .map_or_else(|_| format!("oci.{name}"), |id| id.as_str().to_owned());
    let unit = cragate_verifier::halt::Unit {
        product: &product,
        version: None,
        digests,
        batch: None,
    };
    let halt = gateway.halts.blocking(&unit)?;
    Some(format!(
        "unavailable for legal reasons: {} notice {}/{} of the issuer is in force for {}: {}",
        halt.notice.action.as_str(),
        halt.notice.issuer,
        halt.notice.sequence,
        product,
        halt.notice.reason
    ))
}

/// A manifest asked for by digest must hash to that digest.
fn check_reference(reference: &str, document: &Document) -> Result<(), GatewayError> {
    if let Ok(expected) = reference.parse::<Digest>()
        && expected != document.digest
    {
        return Err(GatewayError::upstream(ErrorKind::DigestMismatch {
            expected,
            actual: document.digest,
        }));
    }
    Ok(())
}

/// The manifest of `document`; unreadable, it is `from`'s error (the
/// registry's answer, or the client's push).
fn parse(document: &Document, from: ErrorSource) -> Result<ImageManifest, GatewayError> {
    ImageManifest::from_json(&document.bytes, document.content_type.as_deref()).map_err(|e| {
        match from {
            ErrorSource::Client => GatewayError::client(ErrorKind::ManifestInvalid(e.to_string())),
            _ => GatewayError::upstream(ErrorKind::Internal(e.to_string())),
        }
    })
}

/// An entry of an index that is a build attestation of one of its
/// platforms, as BuildKit writes provenance and SBOMs
/// (`vnd.docker.reference.type: attestation-manifest`, the platform's
/// digest in `vnd.docker.reference.digest`), not a platform.
fn is_build_attestation(entry: &cragate_verifier::cosign::Descriptor) -> bool {
    entry
        .annotations
        .get("vnd.docker.reference.type")
        .is_some_and(|kind| kind == "attestation-manifest")
}

/// A tag cosign writes signatures and attestations under:
/// `sha256-<64 hex>` (the tag-schema referrers index), with `.sig` or
/// `.att` for the legacy forms.
fn is_signature_tag(reference: &str) -> bool {
    let Some(rest) = reference.strip_prefix("sha256-") else {
        return false;
    };
    let hex = rest
        .strip_suffix(".sig")
        .or_else(|| rest.strip_suffix(".att"))
        .unwrap_or(rest);
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_tags_are_cosigns_three_forms_of_a_sha256_digest() {
        let hex = "ab".repeat(32);
        for tag in [
            format!("sha256-{hex}"),
            format!("sha256-{hex}.sig"),
            format!("sha256-{hex}.att"),
        ] {
            assert!(is_signature_tag(&tag), "{tag}");
        }
        for tag in [
            "v1".to_owned(),
            format!("sha256-{hex}.sbom"),
            format!("sha256-{}", "ab".repeat(31)),
            format!("sha256-{}", "AB".repeat(32)),
            format!("sha512-{hex}.sig"),
        ] {
            assert!(!is_signature_tag(&tag), "{tag}");
        }
    }
}
