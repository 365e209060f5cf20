//! Cosign's OCI signatures and attestations, turned into Sigstore bundles
//! and judged for one image under the policy's `[[oci.repositories]]`.
//!
//! Three forms are read, as cosign writes them (sigstore/cosign
//! `specs/SIGNATURE_SPEC.md`, `specs/ATTESTATION_SPEC.md`,
//! `specs/BUNDLE_SPEC.md`):
//! - a legacy signature: a manifest tagged `sha256-<hex>.sig` whose layers
//!   are simplesigning payloads ([`SIMPLESIGNING_MEDIA_TYPE`]) with the
//!   signature, certificate, chain and Rekor bundle as annotations;
//! - a legacy attestation: a manifest tagged `sha256-<hex>.att` whose layers
//!   are DSSE envelopes ([`DSSE_MEDIA_TYPE`]) with the same annotations;
//! - an OCI 1.1 referrer whose `artifactType` is [`BUNDLE_ARTIFACT_TYPE`]
//!   and whose one layer is a Sigstore bundle.
//!
//! Everything here is pure: the gateway fetches the manifests and blobs and
//! passes their bytes; each blob is checked against its descriptor's digest
//! before it is read.

mod image;
mod legacy;
mod manifest;

pub use image::{ImageCheck, ImageEvidence, ImageVerdict, evaluate_image};
pub use legacy::{
    CosignError, LegacyBundle, LegacyLayer, SimpleSigning, bundle_layer, legacy_layer,
};
pub use manifest::{Descriptor, ImageManifest, ManifestError, ManifestKind};

/// The layer media type of a legacy cosign signature.
pub const SIMPLESIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer media type of a legacy cosign attestation.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The `artifactType` of an OCI 1.1 Sigstore bundle referrer.
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Annotation: the base64 signature of a legacy layer.
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Annotation: the PEM signing certificate.
pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Annotation: the PEM chain up to (and possibly including) the root.
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Annotation: the Rekor bundle (SET and the entry it covers), JSON.
pub const ANNOTATION_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// Annotation: the predicate type of a legacy attestation layer.
pub const ANNOTATION_PREDICATE_TYPE: &str = "predicateType";
/// The `critical.type` of a simplesigning payload.
pub const SIMPLESIGNING_TYPE: &str = "cosign container image signature";
/// The predicate type of a CRA listing carried as an attestation.
pub const LISTING_PREDICATE_TYPE: &str = "https://cragate.dev/listing/v1";

/// The legacy tag of a signature, attestation or tag-schema referrers index
/// for `digest`: `sha256-<hex>` followed by `suffix` (`.sig`, `.att` or
/// nothing).
pub fn legacy_tag(digest: &crate::Digest, suffix: &str) -> String {
    format!("sha256-{}{suffix}", digest.hex())
}
