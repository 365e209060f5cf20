//! Legacy cosign layers (sigstore/cosign `specs/SIGNATURE_SPEC.md`,
//! `specs/ATTESTATION_SPEC.md`) rewritten as Sigstore bundles v0.1: the
//! annotation `dev.sigstore.cosign/bundle` carries the Rekor v1 entry's
//! body, log index, integrated time, log id and SET, which are exactly a
//! v0.1 bundle's transparency-log entry with an inclusion promise (the
//! legacy format has no inclusion proof, which v0.1 does not require).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::manifest::Descriptor;
use super::{
    ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_SIGNATURE, DSSE_MEDIA_TYPE,
    SIMPLESIGNING_MEDIA_TYPE, SIMPLESIGNING_TYPE,
};
use crate::digest::Digest;
use crate::json;
use crate::limits::{BUNDLE_JSON, MAX_BUNDLE_BYTES};
use crate::sigstore::{Bundle, BundleError};

/// `application/vnd.dev.sigstore.bundle+json;version=0.1`.
const BUNDLE_V0_1: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";

/// One layer of a `.sig` or `.att` manifest, with its blob.
#[derive(Debug, Clone, Copy)]
pub struct LegacyLayer<'a> {
    /// The layer's descriptor (media type, digest, annotations).
    pub descriptor: &'a Descriptor,
    /// The blob the registry returned for it.
    pub blob: &'a [u8],
}

/// A simplesigning payload: what a legacy signature signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleSigning {
    /// `critical.image.docker-manifest-digest`: the manifest signed.
    pub manifest_digest: Digest,
    /// `critical.identity.docker-reference`: the repository it was signed in.
    pub docker_reference: String,
}

/// Why a cosign layer could not be turned into a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    /// The blob does not hash to its descriptor's digest.
    #[error("layer blob hashes to {actual}, but its descriptor says {expected}")]
    BlobDigest {
        /// The descriptor's digest.
        expected: Digest,
        /// What the blob hashed to.
        actual: Digest,
    },
    /// A layer of a media type cosign does not write for this purpose.
    #[error("layer media type {media_type:?} is not {wanted}")]
    MediaType {
        /// As given.
        media_type: String,
        /// What was expected.
        wanted: &'static str,
    },
    /// A required annotation is absent.
    #[error("the layer has no {annotation} annotation{why}")]
    MissingAnnotation {
        /// Its key.
        annotation: &'static str,
        /// Why it is needed.
        why: &'static str,
    },
    /// An annotation or payload is not what the specification says.
    #[error("{what} is malformed: {detail}")]
    Malformed {
        /// Which part.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The rewritten bundle did not parse.
    #[error("the signature as a Sigstore bundle: {0}")]
    Bundle(#[from] BundleError),
}

#[derive(Deserialize)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorBody {
    api_version: String,
    kind: String,
}

#[derive(Deserialize)]
struct RawSimpleSigning {
    critical: RawCritical,
}

#[derive(Deserialize)]
struct RawCritical {
    identity: RawIdentity,
    image: RawImage,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct RawIdentity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
struct RawImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

impl SimpleSigning {
    /// Parses a simplesigning payload (`SIGNATURE_SPEC.md`, "Payload").
    pub fn from_json(bytes: &[u8]) -> Result<Self, CosignError> {
        let raw: RawSimpleSigning =
            json::read(bytes, &BUNDLE_JSON).map_err(|e| CosignError::Malformed {
                what: "the simplesigning payload",
                detail: e.to_string(),
            })?;
        if raw.critical.kind != SIMPLESIGNING_TYPE {
            return Err(CosignError::Malformed {
                what: "the simplesigning payload",
                detail: format!(
                    "critical.type is {:?}, not {SIMPLESIGNING_TYPE:?}",
                    raw.critical.kind
                ),
            });
        }
        let manifest_digest = raw
            .critical
            .image
            .docker_manifest_digest
            .parse()
            .map_err(|e| CosignError::Malformed {
                what: "critical.image.docker-manifest-digest",
                detail: format!("{e}"),
            })?;
        Ok(Self {
            manifest_digest,
            docker_reference: raw.critical.identity.docker_reference,
        })
    }
}

/// A legacy layer as a Sigstore bundle, with what it signed.
#[derive(Debug, Clone)]
pub struct LegacyBundle {
    /// The bundle to verify.
    pub bundle: Bundle,
    /// For a signature: its simplesigning payload, whose SHA-256 is the
    /// artifact the bundle is verified over.
    pub simple_signing: Option<(SimpleSigning, Digest)>,
}

/// Rewrites a `.sig` layer (simplesigning) or an `.att` layer (DSSE) as a
/// Sigstore bundle v0.1. The blob is checked against its descriptor first.
pub fn legacy_layer(layer: LegacyLayer<'_>) -> Result<LegacyBundle, CosignError> {
    let actual = Digest::of(layer.blob);
    if actual != layer.descriptor.digest {
        return Err(CosignError::BlobDigest {
            expected: layer.descriptor.digest,
            actual,
        });
    }
    let annotations = &layer.descriptor.annotations;
    let material = verification_material(annotations)?;
    let (content_key, content, simple_signing) = match layer.descriptor.media_type.as_str() {
        SIMPLESIGNING_MEDIA_TYPE => {
            let signature = annotations
                .get(ANNOTATION_SIGNATURE)
                .filter(|s| !s.is_empty())
                .ok_or(CosignError::MissingAnnotation {
                    annotation: ANNOTATION_SIGNATURE,
                    why: "",
                })?;
            let payload = SimpleSigning::from_json(layer.blob)?;
            let content = json!({
                "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(actual.as_bytes())},
                "signature": signature,
            });
            ("messageSignature", content, Some((payload, actual)))
        }
        DSSE_MEDIA_TYPE => ("dsseEnvelope", dsse_envelope(layer.blob)?, None),
        other => {
            return Err(CosignError::MediaType {
                media_type: other.to_owned(),
                wanted: "a simplesigning or DSSE layer",
            });
        }
    };
    let mut bundle = json!({
        "mediaType": BUNDLE_V0_1,
        "verificationMaterial": material,
    });
    if let Some(object) = bundle.as_object_mut() {
        object.insert(content_key.to_owned(), content);
    }
    let bytes = serde_json::to_vec(&bundle).map_err(|e| CosignError::Malformed {
        what: "the rewritten bundle",
        detail: e.to_string(),
    })?;
    Ok(LegacyBundle {
        bundle: Bundle::from_json(&bytes)?,
        simple_signing,
    })
}

/// A referrer's layer: a Sigstore bundle as a blob (`BUNDLE_SPEC.md`).
pub fn bundle_layer(layer: LegacyLayer<'_>) -> Result<Bundle, CosignError> {
    let actual = Digest::of(layer.blob);
    if actual != layer.descriptor.digest {
        return Err(CosignError::BlobDigest {
            expected: layer.descriptor.digest,
            actual,
        });
    }
    if !layer
        .descriptor
        .media_type
        .starts_with("application/vnd.dev.sigstore.bundle")
    {
        return Err(CosignError::MediaType {
            media_type: layer.descriptor.media_type.clone(),
            wanted: "a Sigstore bundle",
        });
    }
    Ok(Bundle::from_json(layer.blob)?)
}

/// The certificate (or, without one, a managed key's empty hint) and the
/// Rekor entry of the `bundle` annotation. The `chain` annotation is not
/// used: the intermediates and roots come from the trusted root only, as
/// for any Sigstore bundle.
fn verification_material(
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<Value, CosignError> {
    let rekor = annotations
        .get(ANNOTATION_BUNDLE)
        .ok_or(CosignError::MissingAnnotation {
            annotation: ANNOTATION_BUNDLE,
            why: " (the Rekor entry and SET that let a signature be verified offline)",
        })?;
    if rekor.len() > MAX_BUNDLE_BYTES {
        return Err(CosignError::Malformed {
            what: "the bundle annotation",
            detail: format!("over {MAX_BUNDLE_BYTES} bytes"),
        });
    }
    let rekor: RekorBundle =
        json::read(rekor.as_bytes(), &BUNDLE_JSON).map_err(|e| CosignError::Malformed {
            what: "the bundle annotation",
            detail: e.to_string(),
        })?;
    let body = STANDARD
        .decode(rekor.payload.body.as_bytes())
        .map_err(|e| CosignError::Malformed {
            what: "the bundle annotation's Payload.body",
            detail: e.to_string(),
        })?;
    let kind: RekorBody = serde_json::from_slice(&body).map_err(|e| CosignError::Malformed {
        what: "the Rekor entry body",
        detail: e.to_string(),
    })?;
    let log_id = hex::decode(&rekor.payload.log_id).map_err(|e| CosignError::Malformed {
        what: "the bundle annotation's Payload.logID",
        detail: e.to_string(),
    })?;
    let entry = json!({
        "logIndex": rekor.payload.log_index.to_string(),
        "logId": {"keyId": STANDARD.encode(log_id)},
        "kindVersion": {"kind": kind.kind, "version": kind.api_version},
        "integratedTime": rekor.payload.integrated_time.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": rekor.signed_entry_timestamp},
        "canonicalizedBody": rekor.payload.body,
    });
    let signer = match annotations.get(ANNOTATION_CERTIFICATE) {
        Some(pem) => {
            let der = pem_to_der(pem)?;
            json!({"x509CertificateChain": {"certificates": [{"rawBytes": STANDARD.encode(der)}]}})
        }
        None => json!({"publicKey": {"hint": ""}}),
    };
    let mut material = signer;
    if let Some(object) = material.as_object_mut() {
        object.insert("tlogEntries".to_owned(), Value::Array(vec![entry]));
    }
    Ok(material)
}

/// The DER of the first certificate of a PEM text.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, CosignError> {
    let malformed = |detail: &str| CosignError::Malformed {
        what: "the certificate annotation",
        detail: detail.to_owned(),
    };
    let start = pem
        .find("-----BEGIN CERTIFICATE-----")
        .ok_or_else(|| malformed("no BEGIN CERTIFICATE line"))?;
    let rest = pem
        .get(start.saturating_add("-----BEGIN CERTIFICATE-----".len())..)
        .unwrap_or_default();
    let end = rest
        .find("-----END CERTIFICATE-----")
        .ok_or_else(|| malformed("no END CERTIFICATE line"))?;
    let body: String = rest
        .get(..end)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body.as_bytes())
        .map_err(|e| malformed(&e.to_string()))
}

/// The DSSE envelope of an attestation layer, as the bundle carries it.
fn dsse_envelope(blob: &[u8]) -> Result<Value, CosignError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope {
        payload_type: String,
        payload: String,
        signatures: Vec<Signature>,
    }
    #[derive(Deserialize)]
    struct Signature {
        #[serde(default)]
        keyid: String,
        sig: String,
    }
    let envelope: Envelope =
        json::read(blob, &BUNDLE_JSON).map_err(|e| CosignError::Malformed {
            what: "the DSSE envelope",
            detail: e.to_string(),
        })?;
    let signatures: Vec<Value> = envelope
        .signatures
        .iter()
        .map(|s| {
            if s.keyid.is_empty() {
                json!({"sig": s.sig})
            } else {
                json!({"sig": s.sig, "keyid": s.keyid})
            }
        })
        .collect();
    Ok(json!({
        "payload": envelope.payload,
        "payloadType": envelope.payload_type,
        "signatures": signatures,
    }))
}
