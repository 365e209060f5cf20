//! Budgets on everything that comes from outside.
//!
//! Each limit is named in the error that enforces it, so a rejected input says
//! which budget it broke and by how much.

use crate::json::JsonBudget;

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

/// Most items in one JSON array of any input.
///
/// The longest arrays of a real document are an SBOM's components and its
/// dependency relationships, about one or two per component: twice
/// [`MAX_SBOM_COMPONENTS`]. A listing's own arrays are far shorter
/// ([`MAX_LISTING_ARTIFACTS`], [`MAX_LISTING_ATTESTATIONS`]).
pub const MAX_JSON_ARRAY_ITEMS: usize = 2 * MAX_SBOM_COMPONENTS;

/// Memory the parsed tree of a JSON document may take, per byte of its
/// byte budget (estimated by [`crate::json::TREE_COST`]).
///
/// By that estimate the tree of a real SBOM is 4.5 to 9 times its size as
/// published (pretty-printed) and 5 to 14 times its compact size (measured
/// on the CycloneDX examples of OWASP Juice Shop, Proton Bridge, Laravel and
/// a CERN project, and on SPDX 2.2 and 3.0 examples). 8 holds the tree of any
/// real document of up to 55% of its byte budget however it is printed (a
/// listing of 8.8 MiB), and refuses one made of nothing but tiny values, such
/// as a listing of 8 million zeros (parsed, it took 570 MB, 36 times its size).
pub const JSON_TREE_BYTES_PER_BYTE: usize = 8;

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

/// The JSON budget of a listing.
pub const LISTING_JSON: JsonBudget = JsonBudget::new("listing", MAX_LISTING_BYTES);

/// The JSON budget of a Sigstore bundle.
pub const BUNDLE_JSON: JsonBudget = JsonBudget::new("bundle", MAX_BUNDLE_BYTES);

/// The JSON budget of an in-toto statement (a DSSE payload, with its DoC or
/// SBOM predicate). It arrives base64-encoded inside a bundle, so it is
/// never larger than [`MAX_BUNDLE_BYTES`].
pub const STATEMENT_JSON: JsonBudget = JsonBudget::new("in-toto statement", MAX_BUNDLE_BYTES);

/// The JSON budget of a trusted root.
pub const TRUSTED_ROOT_JSON: JsonBudget = JsonBudget::new("trusted root", MAX_TRUSTED_ROOT_BYTES);

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

/// The JSON budget of a notified-body list.
pub const NOTIFIED_BODY_LIST_JSON: JsonBudget =
    JsonBudget::new("notified-body list", MAX_NOTIFIED_BODY_LIST_BYTES);

/// Largest halt notice (`cragate.halt/v1`) accepted, in bytes.
///
/// A notice is a few hundred bytes: an issuer, a sequence, a scope of a few
/// product ids, digests and batches, a reason and two URLs. 64 KiB leaves
/// room for a scope listing hundreds of digests or batches.
pub const MAX_HALT_NOTICE_BYTES: usize = 64 * 1024;

/// The budget a halt notice is read under.
pub const HALT_NOTICE_JSON: JsonBudget = JsonBudget::new("halt notice", MAX_HALT_NOTICE_BYTES);

/// Largest signed halt notice (a DSSE envelope or a Sigstore bundle), in
/// bytes: the notice base64-encoded (4/3 of [`MAX_HALT_NOTICE_BYTES`]) plus
/// the signatures, or a keyless bundle's certificate chain and log entry
/// (about 5 KiB); 128 KiB holds either.
pub const MAX_SIGNED_HALT_BYTES: usize = 128 * 1024;

/// The budget a signed halt notice is read under.
pub const SIGNED_HALT_JSON: JsonBudget =
    JsonBudget::new("signed halt notice", MAX_SIGNED_HALT_BYTES);

/// Most signatures tried on one DSSE envelope (each costs a signature
/// check; a notice is signed once, a key rotation adds a second).
pub const MAX_DSSE_SIGNATURES: usize = 4;

/// Most entries in each list of a halt notice's scope (products, digests,
/// batches) and in `lifts`.
pub const MAX_HALT_SCOPE_ITEMS: usize = 1024;

/// Longest `reason` of a halt notice, in bytes: a sentence or a paragraph;
/// the advisory it references holds the detail.
pub const MAX_HALT_REASON_BYTES: usize = 4096;
/// Largest OCI manifest or image index accepted, in bytes: CNCF
/// distribution refuses manifests over 4 MiB, so no registry serves more.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// The budgets an OCI manifest or index is read under.
pub const MANIFEST_JSON: JsonBudget = JsonBudget::new("OCI manifest", MAX_MANIFEST_BYTES);

/// Most layers of a signature or attestation manifest that are verified:
/// cosign appends one layer per signature, and images signed by more than
/// a few parties are rare; every layer costs a full Sigstore verification.
pub const MAX_SIGNATURE_LAYERS: usize = 32;
