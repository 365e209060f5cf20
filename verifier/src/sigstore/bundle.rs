//! Sigstore bundles, parsed into a checked form.
//!
//! Accepts the media types of the Sigstore bundle specification
//! (`protobuf-specs`, `sigstore_bundle.proto`): v0.1, v0.2 and v0.3, the last
//! in both spellings. On top of `sigstore-verify`'s own parser this enforces
//! cragate's input budgets and two rules of the specification that the
//! library leaves out (see `DESIGN.md`, "Known gaps"):
//! - the certificate chain must not contain a self-signed root;
//! - `mediaType` is required (the library defaults a missing one to v0.1).
//!
//! Base64 fields follow the proto3 JSON mapping as Go's `protojson` and
//! Python's clients read it: line breaks (`\r`, `\n`) inside a base64 value
//! are ignored, so a MIME-wrapped value is accepted; any other character
//! outside the base64 alphabet is an error.

use serde_json::Value;
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Bundle as LibraryBundle, MediaType, SignatureContent};

use super::statement::Statement;
use crate::digest::Digest;
use crate::json::{self, JsonLimitError};
use crate::limits::{BUNDLE_JSON, MAX_CERTIFICATE_CHAIN, MAX_RFC3161_TIMESTAMPS, MAX_TLOG_ENTRIES};

/// A bundle that parsed and passed cragate's structural rules. It has not
/// been verified: see [`super::verify`].
#[derive(Debug, Clone)]
pub struct Bundle {
    pub(crate) inner: LibraryBundle,
    digest: Digest,
}

/// The bundle format version, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleVersion {
    /// `application/vnd.dev.sigstore.bundle+json;version=0.1`
    V0_1,
    /// `application/vnd.dev.sigstore.bundle+json;version=0.2`
    V0_2,
    /// `application/vnd.dev.sigstore.bundle.v0.3+json` (or `+json;version=0.3`)
    V0_3,
}

/// Why a bundle could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Refused by the JSON reader: over a budget, a key given twice, or not
    /// an object.
    #[error(transparent)]
    Limit(JsonLimitError),
    /// Not JSON at all.
    #[error("not valid JSON: {detail}")]
    Syntax {
        /// The parser's message, with line and column.
        detail: String,
    },
    /// `mediaType` is absent or not a string.
    #[error("mediaType is missing")]
    MissingMediaType,
    /// A media type this verifier does not know.
    #[error("unsupported mediaType {media_type:?} (supported: bundle v0.1, v0.2, v0.3)")]
    UnknownMediaType {
        /// The media type as given.
        media_type: String,
    },
    /// JSON that does not have the bundle's shape.
    #[error("{}{detail}", if path == "." { String::new() } else { format!("invalid field {path}: ") })]
    Shape {
        /// Where in the document, e.g. `verificationMaterial.tlogEntries[0].logIndex`.
        path: String,
        /// What is wrong there.
        detail: String,
    },
    /// Rejected by the bundle rules of the Sigstore client specification
    /// (for example a v0.2+ bundle without an inclusion proof).
    #[error("{detail}")]
    Invalid {
        /// The rule that was broken.
        detail: String,
    },
    /// The certificate chain is empty.
    #[error("certificate chain is empty")]
    EmptyChain,
    /// More certificates than the budget.
    #[error("certificate chain has {count} certificates, over the limit of {limit}")]
    ChainTooLong {
        /// Certificates in the chain.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A certificate in the chain could not be parsed.
    #[error("certificate {position} of the chain is not valid DER X.509: {detail}")]
    MalformedCertificate {
        /// Zero-based position in the chain.
        position: usize,
        /// What the parser said.
        detail: String,
    },
    /// The chain contains a self-signed (root) certificate, which the
    /// bundle specification forbids: roots come only from the trusted root.
    #[error(
        "certificate chain contains a self-signed root certificate at position {position}; roots must come from the trusted root, not the bundle"
    )]
    RootInChain {
        /// Zero-based position in the chain.
        position: usize,
    },
    /// More transparency-log entries than the budget.
    #[error("bundle has {count} transparency log entries, over the limit of {limit}")]
    TooManyTlogEntries {
        /// Entries in the bundle.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More RFC 3161 timestamps than the budget.
    #[error("bundle has {count} RFC 3161 timestamps, over the limit of {limit}")]
    TooManyTimestamps {
        /// Timestamps in the bundle.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

impl Bundle {
    /// Parses a bundle's JSON bytes, checked first by the JSON reader under
    /// [`BUNDLE_JSON`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        json::check(bytes, &BUNDLE_JSON)?;
        let inner = match parse_direct(bytes) {
            Some(inner) => inner,
            None => parse_with_diagnostics(bytes)?,
        };
        check_structure(&inner)?;
        Ok(Self {
            inner,
            digest: Digest::of(bytes),
        })
    }

    /// SHA-256 of the bundle exactly as received.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The format version.
    pub fn version(&self) -> BundleVersion {
        match self.inner.media_type {
            MediaType::Bundle0_1 => BundleVersion::V0_1,
            MediaType::Bundle0_2 => BundleVersion::V0_2,
            _ => BundleVersion::V0_3,
        }
    }

    /// The in-toto statement its DSSE envelope carries, read before any
    /// verification: for choosing which signers to verify an attestation
    /// against, never for trusting what it says (use
    /// [`super::VerifiedBundle::statement`] for that).
    pub fn claimed_statement(&self) -> Option<Statement> {
        let SignatureContent::DsseEnvelope(envelope) = &self.inner.content else {
            return None;
        };
        Statement::parse(&envelope.payload_type, envelope.payload.as_bytes()).ok()
    }

    /// The payload type and payload bytes of its DSSE envelope, read before
    /// any verification: for choosing which signers to try, never for
    /// trusting what it says.
    pub fn claimed_dsse_payload(&self) -> Option<(&str, &[u8])> {
        let SignatureContent::DsseEnvelope(envelope) = &self.inner.content else {
            return None;
        };
        Some((envelope.payload_type.as_str(), envelope.payload.as_bytes()))
    }

    /// Whether the bundle is signed with a managed key rather than a certificate.
    pub fn is_managed_key(&self) -> bool {
        matches!(
            self.inner.verification_material.content,
            VerificationMaterialContent::PublicKey(_)
        )
    }
}

/// The fast path: a well-formed bundle with a known `mediaType` and no
/// line-wrapped base64 parses straight from the bytes. `None` sends the
/// input down [`parse_with_diagnostics`], which accepts wrapped base64 and
/// explains what is wrong with anything else.
impl From<JsonLimitError> for BundleError {
    fn from(error: JsonLimitError) -> Self {
        match error {
            JsonLimitError::NotJson { detail, .. } => Self::Syntax { detail },
            other => Self::Limit(other),
        }
    }
}

fn parse_direct(bytes: &[u8]) -> Option<LibraryBundle> {
    #[derive(serde::Deserialize)]
    struct MediaTypeProbe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    let probe: MediaTypeProbe = serde_json::from_slice(bytes).ok()?;
    probe.media_type?.parse::<MediaType>().ok()?;
    serde_json::from_slice(bytes).ok()
}

fn parse_with_diagnostics(bytes: &[u8]) -> Result<LibraryBundle, BundleError> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| BundleError::Syntax {
        detail: e.to_string(),
    })?;
    let Some(Value::String(media_type)) = value.get("mediaType") else {
        return Err(BundleError::MissingMediaType);
    };
    if media_type.parse::<MediaType>().is_err() {
        return Err(BundleError::UnknownMediaType {
            media_type: media_type.clone(),
        });
    }
    unwrap_base64_lines(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| BundleError::Shape {
        path: e.path().to_string(),
        detail: e.inner().to_string(),
    })
}

fn check_structure(bundle: &LibraryBundle) -> Result<(), BundleError> {
    let material = &bundle.verification_material;
    if let VerificationMaterialContent::X509CertificateChain { certificates } = &material.content {
        if certificates.is_empty() {
            return Err(BundleError::EmptyChain);
        }
        if certificates.len() > MAX_CERTIFICATE_CHAIN {
            return Err(BundleError::ChainTooLong {
                count: certificates.len(),
                limit: MAX_CERTIFICATE_CHAIN,
            });
        }
        for (position, certificate) in certificates.iter().enumerate() {
            check_not_root(position, certificate.raw_bytes.as_bytes())?;
        }
    }
    if material.tlog_entries.len() > MAX_TLOG_ENTRIES {
        return Err(BundleError::TooManyTlogEntries {
            count: material.tlog_entries.len(),
            limit: MAX_TLOG_ENTRIES,
        });
    }
    let timestamps = material
        .timestamp_verification_data
        .rfc3161_timestamps
        .len();
    if timestamps > MAX_RFC3161_TIMESTAMPS {
        return Err(BundleError::TooManyTimestamps {
            count: timestamps,
            limit: MAX_RFC3161_TIMESTAMPS,
        });
    }
    Ok(())
}

/// A certificate whose subject equals its issuer is self-issued (RFC 5280
/// §3.3); in a Sigstore chain that can only be the root.
fn check_not_root(position: usize, der: &[u8]) -> Result<(), BundleError> {
    use x509_cert::der::Decode;
    let certificate =
        x509_cert::Certificate::from_der(der).map_err(|e| BundleError::MalformedCertificate {
            position,
            detail: e.to_string(),
        })?;
    let tbs = &certificate.tbs_certificate;
    if tbs.subject == tbs.issuer {
        return Err(BundleError::RootInChain { position });
    }
    Ok(())
}

/// The base64 (`bytes`) fields of a bundle, as paths of object keys, where
/// `[]` steps into every element of an array.
const BASE64_FIELDS: &[&[&str]] = &[
    &["verificationMaterial", "certificate", "rawBytes"],
    &[
        "verificationMaterial",
        "x509CertificateChain",
        "certificates",
        "[]",
        "rawBytes",
    ],
    &[
        "verificationMaterial",
        "tlogEntries",
        "[]",
        "logId",
        "keyId",
    ],
    &[
        "verificationMaterial",
        "tlogEntries",
        "[]",
        "canonicalizedBody",
    ],
    &[
        "verificationMaterial",
        "tlogEntries",
        "[]",
        "inclusionPromise",
        "signedEntryTimestamp",
    ],
    &[
        "verificationMaterial",
        "tlogEntries",
        "[]",
        "inclusionProof",
        "rootHash",
    ],
    &[
        "verificationMaterial",
        "tlogEntries",
        "[]",
        "inclusionProof",
        "hashes",
        "[]",
    ],
    &[
        "verificationMaterial",
        "timestampVerificationData",
        "rfc3161Timestamps",
        "[]",
        "signedTimestamp",
    ],
    &["messageSignature", "messageDigest", "digest"],
    &["messageSignature", "signature"],
    &["dsseEnvelope", "payload"],
    &["dsseEnvelope", "signatures", "[]", "sig"],
];

fn unwrap_base64_lines(value: &mut Value) {
    for path in BASE64_FIELDS {
        strip_line_breaks(value, path);
    }
}

fn strip_line_breaks(value: &mut Value, path: &[&str]) {
    match (path.split_first(), value) {
        (None, Value::String(text)) if text.contains(['\r', '\n']) => {
            text.retain(|c| c != '\r' && c != '\n');
        }
        (Some((&"[]", rest)), Value::Array(items)) => {
            for item in items {
                strip_line_breaks(item, rest);
            }
        }
        (Some((key, rest)), Value::Object(map)) => {
            if let Some(child) = map.get_mut(*key) {
                strip_line_breaks(child, rest);
            }
        }
        _ => {}
    }
}
