//! The JSON shapes of the Sigstore bundle v0.3 (`protobuf-specs`,
//! `sigstore_bundle.proto`, proto3 JSON mapping: camelCase names, `bytes` as
//! standard base64, `int64` as strings), and the Rekor v1 entry bodies.
//!
//! Fields are declared in the order real bundles carry them; serialising
//! structs (not maps) keeps the output byte-stable.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

/// `application/vnd.dev.sigstore.bundle.v0.3+json`.
pub const BUNDLE_V0_3: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A Sigstore bundle with a single leaf `certificate` (v0.3).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// Always [`BUNDLE_V0_3`].
    pub media_type: &'static str,
    /// Certificate and log entries.
    pub verification_material: VerificationMaterial,
    /// For a message signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    /// For a DSSE envelope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
}

/// `VerificationMaterial`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// The leaf certificate.
    pub certificate: RawBytes,
    /// Rekor entries.
    pub tlog_entries: Vec<TlogEntry>,
}

/// A `bytes` field wrapped in `{"rawBytes": ...}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    /// Base64.
    pub raw_bytes: String,
}

impl RawBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        Self {
            raw_bytes: base64(bytes),
        }
    }
}

/// `TransparencyLogEntry` (Rekor v1 shape).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlogEntry {
    /// Global log index.
    pub log_index: String,
    /// SHA-256 of the log's public key.
    pub log_id: LogId,
    /// Entry type.
    pub kind_version: KindVersion,
    /// Seconds since the epoch.
    pub integrated_time: String,
    /// The signed entry timestamp.
    pub inclusion_promise: InclusionPromise,
    /// Merkle inclusion proof with a signed checkpoint.
    pub inclusion_proof: InclusionProof,
    /// The canonical JSON body, base64.
    pub canonicalized_body: String,
}

/// `LogId`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// Base64 of the 32-byte key ID.
    pub key_id: String,
}

/// `KindVersion`.
#[derive(Debug, Clone, Serialize)]
pub struct KindVersion {
    /// `hashedrekord` or `dsse`.
    pub kind: &'static str,
    /// `0.0.1`.
    pub version: &'static str,
}

/// `InclusionPromise`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    /// Base64 DER ECDSA signature.
    pub signed_entry_timestamp: String,
}

/// `InclusionProof`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Index in the tree.
    pub log_index: String,
    /// Base64 root hash.
    pub root_hash: String,
    /// Tree size.
    pub tree_size: String,
    /// Base64 audit path.
    pub hashes: Vec<String>,
    /// The signed checkpoint.
    pub checkpoint: Checkpoint,
}

/// `Checkpoint`.
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    /// The signed note text.
    pub envelope: String,
}

/// `MessageSignature`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    /// The artifact's digest.
    pub message_digest: MessageDigest,
    /// Base64 DER ECDSA signature.
    pub signature: String,
}

/// `HashOutput`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageDigest {
    /// `SHA2_256`.
    pub algorithm: &'static str,
    /// Base64 digest.
    pub digest: String,
}

/// A DSSE envelope with one signature.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 payload.
    pub payload: String,
    /// Payload type.
    pub payload_type: String,
    /// Signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, Serialize)]
pub struct EnvelopeSignature {
    /// Base64 DER ECDSA signature over the PAE.
    pub sig: String,
}

/// DSSE v1 pre-authentication encoding (DSSE `protocol.md`).
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// PEM exactly as OpenSSL and Python's `cryptography` write it: 64-column
/// lines and a final newline. Rekor v1 bodies carry the signing certificate
/// as base64 of this text, and verifiers compare it byte for byte.
pub fn certificate_pem(der: &[u8]) -> String {
    let encoded = base64(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        pem.push_str(line);
        pem.push('\n');
        rest = tail;
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Rekor `hashedrekord` 0.0.1 body (Rekor `pkg/types/hashedrekord`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HashedRekordBody {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub spec: HashedRekordSpec,
}

#[derive(Debug, Serialize)]
pub(crate) struct HashedRekordSpec {
    pub data: HashedRekordData,
    pub signature: HashedRekordSignature,
}

#[derive(Debug, Serialize)]
pub(crate) struct HashedRekordData {
    pub hash: AlgorithmValue,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HashedRekordSignature {
    pub content: String,
    pub public_key: Content,
}

#[derive(Debug, Serialize)]
pub(crate) struct Content {
    pub content: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct AlgorithmValue {
    pub algorithm: &'static str,
    pub value: String,
}

/// Rekor `dsse` 0.0.1 body (Rekor `pkg/types/dsse`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DsseBody {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub spec: DsseSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DsseSpec {
    pub envelope_hash: AlgorithmValue,
    pub payload_hash: AlgorithmValue,
    pub signatures: Vec<DsseSignature>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DsseSignature {
    pub signature: String,
    pub verifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn pem_wraps_at_64_columns_and_ends_with_a_newline() {
        let pem = certificate_pem(&[0u8; 60]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 16);
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
    }
}
