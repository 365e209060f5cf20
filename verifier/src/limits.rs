//! Budgets on everything that comes from outside.
//!
//! Each limit is named in the error that enforces it, so a rejected input says
//! which budget it broke and by how much.

/// Largest Sigstore bundle accepted, in bytes.
///
/// A keyless message-signature bundle is about 5 KiB and a DSSE attestation
/// carrying an SBOM predicate can reach a few MiB; 32 MiB leaves room for
/// large SBOM attestations while keeping one bundle's parse cheap.
pub const MAX_BUNDLE_BYTES: usize = 32 * 1024 * 1024;

/// Largest trusted root (`trusted_root.json`) accepted, in bytes.
///
/// The Sigstore public-good root is about 8 KiB; a root with many rotated
/// keys and authorities stays far below 4 MiB.
pub const MAX_TRUSTED_ROOT_BYTES: usize = 4 * 1024 * 1024;

/// Largest PEM public key file accepted, in bytes (an RSA-4096 key is under 1 KiB).
pub const MAX_PUBLIC_KEY_BYTES: usize = 64 * 1024;

/// Deepest JSON nesting accepted in any input.
///
/// A Sigstore bundle nests 6 levels and a CycloneDX document with nested
/// components rarely goes past 20; 64 stops stack-depth attacks long before
/// serde_json's own recursion limit of 128.
pub const MAX_JSON_DEPTH: usize = 64;

/// Most certificates in a bundle's `x509CertificateChain`.
///
/// Fulcio chains are leaf + one or two intermediates; the bundle must not
/// carry the root. 8 matches the path-length budgets of common X.509 verifiers.
pub const MAX_CERTIFICATE_CHAIN: usize = 8;

/// Most transparency-log entries in one bundle.
///
/// Each entry costs an inclusion proof, a checkpoint signature and possibly a
/// SET signature; Sigstore clients produce exactly one.
pub const MAX_TLOG_ENTRIES: usize = 4;

/// Most RFC 3161 timestamps in one bundle (each costs a CMS signature check).
pub const MAX_RFC3161_TIMESTAMPS: usize = 4;

/// Most signature lines read from one checkpoint (log signature plus witness
/// cosignatures, which are ignored but still parsed).
pub const MAX_CHECKPOINT_SIGNATURES: usize = 32;

/// Largest listing (`cragate.listing/v1`) accepted, in bytes.
///
/// A listing with an inline DoC is a few KiB; an inline CycloneDX SBOM of a
/// large firmware image (a few thousand components) stays under 8 MiB.
/// 16 MiB leaves room for that and refuses anything near the size of an
/// artifact body, which never belongs in a listing.
pub const MAX_LISTING_BYTES: usize = 16 * 1024 * 1024;

/// Most artifacts in one listing (a firmware image set or an app with its
/// per-architecture builds stays in the tens).
pub const MAX_LISTING_ARTIFACTS: usize = 256;

/// Most attestations in one listing (DoC, SBOM, provenance, VEX per artifact).
pub const MAX_LISTING_ATTESTATIONS: usize = 1024;

/// Most SBOM components examined.
///
/// A Linux-based router image lists one to three thousand packages; 100,000
/// covers monorepo-scale SBOMs while bounding the work of a check.
pub const MAX_SBOM_COMPONENTS: usize = 100_000;

/// Largest policy file accepted, in bytes (the shipped ones are under 8 KiB).
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// Largest notified-body list accepted, in bytes. The whole NANDO database
/// lists a few thousand bodies; 8 MiB holds it in JSON many times over.
pub const MAX_NOTIFIED_BODY_LIST_BYTES: usize = 8 * 1024 * 1024;

/// Largest list of harmonised standards, common specifications or
/// certification schemes accepted, in bytes. The standardisation request for
/// the CRA (M/606) asks for a few dozen standards; even a few hundred entries
/// with titles and references stay far below 1 MiB.
pub const MAX_PRESUMPTION_LIST_BYTES: usize = 1024 * 1024;
