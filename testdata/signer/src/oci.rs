//! OCI images and cosign's three ways of signing them, byte for byte as
//! cosign writes them (sigstore/cosign `specs/SIGNATURE_SPEC.md`,
//! `specs/ATTESTATION_SPEC.md`, `specs/BUNDLE_SPEC.md`):
//! - a legacy signature: a manifest for tag `sha256-<hex>.sig`, one
//!   simplesigning layer per signature, with the signature, certificate,
//!   chain and Rekor bundle as annotations;
//! - a legacy attestation: a manifest for tag `sha256-<hex>.att`, one DSSE
//!   envelope layer per attestation, annotated the same way plus
//!   `predicateType`;
//! - an OCI 1.1 referrer: a manifest with `artifactType`
//!   `application/vnd.dev.sigstore.bundle.v0.3+json`, the empty config, the
//!   bundle as its one layer and the image as `subject`; for registries
//!   without the referrers API, the `sha256-<hex>` tag-schema index lists it.
//!
//! Legacy annotations are a projection of the v0.3 bundle the instance
//! makes: the same certificate, signature and Rekor entry, without the
//! inclusion proof (the legacy format has none).

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::bundle::{BUNDLE_V0_3, certificate_pem};
use crate::error::SignerError;
use crate::identity::Identity;
use crate::instance::{Instance, Payload, SigningRequest, Statement, Subject};

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// An uncompressed layer.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// The empty descriptor's media type and content (`{}`).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Cosign's simplesigning layer.
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Cosign's attestation layer.
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";

/// A blob to upload: its bytes and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The content.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>`.
    pub digest: String,
}

impl Blob {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        let digest = digest_of(&bytes);
        Self { bytes, digest }
    }
}

/// A manifest (image, index or artifact) with the blobs it needs.
#[derive(Debug, Clone)]
pub struct Pushable {
    /// The manifest's bytes.
    pub manifest: Blob,
    /// Its media type (the Content-Type to push it with).
    pub media_type: &'static str,
    /// Blobs to upload before it.
    pub blobs: Vec<Blob>,
    /// The tag cosign pushes it under, if any.
    pub tag: Option<String>,
}

/// The platform of one index entry.
#[derive(Debug, Clone, Copy)]
pub struct Platform {
    /// e.g. `linux`.
    pub os: &'static str,
    /// e.g. `amd64`.
    pub architecture: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<Value>,
}

impl Descriptor {
    fn of(media_type: &str, blob: &Blob) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest: blob.digest.clone(),
            size: blob.bytes.len(),
            annotations: None,
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An image with one layer per entry of `layers` (uncompressed, as given).
pub fn image(platform: Platform, layers: &[Vec<u8>]) -> Result<Pushable, SignerError> {
    let layer_blobs: Vec<Blob> = layers.iter().cloned().map(Blob::new).collect();
    let config = json!({
        "architecture": platform.architecture,
        "os": platform.os,
        "rootfs": {
            "type": "layers",
            "diff_ids": layer_blobs.iter().map(|b| b.digest.clone()).collect::<Vec<_>>(),
        },
        "config": {},
    });
    let config = Blob::new(serde_json::to_vec(&config)?);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": Descriptor::of(OCI_CONFIG, &config),
        "layers": layer_blobs.iter().map(|b| Descriptor::of(OCI_LAYER, b)).collect::<Vec<_>>(),
    });
    let mut blobs = vec![config];
    blobs.extend(layer_blobs);
    Ok(Pushable {
        manifest: Blob::new(serde_json::to_vec(&manifest)?),
        media_type: OCI_MANIFEST,
        blobs,
        tag: None,
    })
}

/// An image index over `images` (their blobs are pushed with it).
pub fn index(images: &[(Platform, &Pushable)]) -> Result<Pushable, SignerError> {
    let manifests: Vec<Value> = images
        .iter()
        .map(|(platform, image)| {
            json!({
                "mediaType": image.media_type,
                "digest": image.manifest.digest,
                "size": image.manifest.bytes.len(),
                "platform": {"architecture": platform.architecture, "os": platform.os},
            })
        })
        .collect();
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    Ok(Pushable {
        manifest: Blob::new(serde_json::to_vec(&manifest)?),
        media_type: OCI_INDEX,
        blobs: Vec::new(),
        tag: None,
    })
}

/// The simplesigning payload cosign signs (`SIGNATURE_SPEC.md`, "Payload").
pub fn simplesigning_payload(docker_reference: &str, manifest_digest: &str) -> Vec<u8> {
    let payload = json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    });
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// The legacy tag for `digest`: `sha256-<hex>` and `suffix`.
pub fn legacy_tag(digest: &str, suffix: &str) -> String {
    format!("{}{suffix}", digest.replacen(':', "-", 1))
}

/// Cosign's `RekorBundle` (`pkg/cosign/bundle`), in Go's field order.
#[derive(Serialize)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Serialize)]
struct RekorPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// What a signature is made over, and by whom.
#[derive(Debug, Clone)]
pub struct CosignRequest {
    /// Who signs.
    pub identity: Identity,
    /// When (see [`SigningRequest::signed_at`]).
    pub signed_at: jiff::Timestamp,
}

impl Instance {
    /// A `.sig` manifest with one simplesigning layer over `payload` (make
    /// it with [`simplesigning_payload`]); tagged for `manifest_digest`.
    pub fn cosign_signature(
        &self,
        request: &CosignRequest,
        payload: &[u8],
        manifest_digest: &str,
    ) -> Result<Pushable, SignerError> {
        let bundle = self.bundle_value(request, Payload::Message(payload.to_vec()))?;
        let signature = text(&bundle, &["messageSignature", "signature"])?;
        let mut annotations = self.legacy_annotations(&bundle)?;
        if let Some(map) = annotations.as_object_mut() {
            map.insert(
                "dev.cosignproject.cosign/signature".into(),
                Value::String(signature),
            );
        }
        legacy_manifest(
            Blob::new(payload.to_vec()),
            SIMPLESIGNING,
            annotations,
            legacy_tag(manifest_digest, ".sig"),
        )
    }

    /// A `.att` manifest with one DSSE layer: an in-toto statement of
    /// `predicate_type` about `manifest_digest`.
    pub fn cosign_attestation(
        &self,
        request: &CosignRequest,
        manifest_digest: &str,
        predicate_type: &str,
        predicate: Value,
    ) -> Result<Pushable, SignerError> {
        let statement = statement_about(manifest_digest, predicate_type, predicate)?;
        let bundle = self.bundle_value(request, Payload::Statement(statement))?;
        let envelope = bundle
            .get("dsseEnvelope")
            .ok_or_else(|| SignerError::invalid("the bundle has no DSSE envelope"))?;
        let layer = json!({
            "payloadType": envelope.get("payloadType"),
            "payload": envelope.get("payload"),
            "signatures": envelope.get("signatures"),
        });
        let mut annotations = self.legacy_annotations(&bundle)?;
        if let Some(map) = annotations.as_object_mut() {
            map.insert(
                "dev.cosignproject.cosign/signature".into(),
                Value::String(String::new()),
            );
            map.insert("predicateType".into(), Value::String(predicate_type.into()));
        }
        legacy_manifest(
            Blob::new(serde_json::to_vec(&layer)?),
            DSSE_ENVELOPE,
            annotations,
            legacy_tag(manifest_digest, ".att"),
        )
    }

    /// An OCI 1.1 referrer carrying a v0.3 bundle: a DSSE in-toto
    /// statement of `predicate_type` about the subject manifest.
    pub fn bundle_referrer(
        &self,
        request: &CosignRequest,
        subject: &Pushable,
        predicate_type: &str,
        predicate: Value,
    ) -> Result<Pushable, SignerError> {
        let statement = statement_about(&subject.manifest.digest, predicate_type, predicate)?;
        let signing = SigningRequest {
            identity: request.identity.clone(),
            payload: Payload::Statement(statement),
            signed_at: request.signed_at,
            fault: None,
        };
        let bundle = Blob::new(self.sign_bundle(&signing)?);
        let empty = Blob::new(b"{}".to_vec());
        let mut layer = Descriptor::of(BUNDLE_V0_3, &bundle);
        layer.annotations = Some(json!({
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": predicate_type,
        }));
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": BUNDLE_V0_3,
            "config": Descriptor::of(OCI_EMPTY, &empty),
            "layers": [layer],
            "subject": {
                "mediaType": subject.media_type,
                "digest": subject.manifest.digest,
                "size": subject.manifest.bytes.len(),
            },
        });
        Ok(Pushable {
            manifest: Blob::new(serde_json::to_vec(&manifest)?),
            media_type: OCI_MANIFEST,
            blobs: vec![empty, bundle],
            tag: None,
        })
    }

    fn bundle_value(
        &self,
        request: &CosignRequest,
        payload: Payload,
    ) -> Result<Value, SignerError> {
        let signing = SigningRequest {
            identity: request.identity.clone(),
            payload,
            signed_at: request.signed_at,
            fault: None,
        };
        Ok(serde_json::from_slice(&self.sign_bundle(&signing)?)?)
    }

    /// Certificate, chain and Rekor bundle annotations from a v0.3 bundle.
    fn legacy_annotations(&self, bundle: &Value) -> Result<Value, SignerError> {
        let certificate = decode(&text(
            bundle,
            &["verificationMaterial", "certificate", "rawBytes"],
        )?)?;
        let entry = bundle
            .pointer("/verificationMaterial/tlogEntries/0")
            .ok_or_else(|| SignerError::invalid("the bundle has no log entry"))?;
        let number = |key: &str| -> Result<i64, SignerError> {
            text(entry, &[key])?
                .parse()
                .map_err(|_| SignerError::invalid(format!("{key} is not a number")))
        };
        let rekor = RekorBundle {
            signed_entry_timestamp: text(entry, &["inclusionPromise", "signedEntryTimestamp"])?,
            payload: RekorPayload {
                body: text(entry, &["canonicalizedBody"])?,
                integrated_time: number("integratedTime")?,
                log_index: number("logIndex")?,
                log_id: hex::encode(decode(&text(entry, &["logId", "keyId"])?)?),
            },
        };
        let chain = format!(
            "{}{}",
            certificate_pem(self.ca().intermediate_der()),
            certificate_pem(self.ca().root_der())
        );
        Ok(json!({
            "dev.sigstore.cosign/bundle": String::from_utf8_lossy(&serde_json::to_vec(&rekor)?),
            "dev.sigstore.cosign/certificate": certificate_pem(&certificate),
            "dev.sigstore.cosign/chain": chain,
        }))
    }
}

/// A statement about one manifest digest.
fn statement_about(
    manifest_digest: &str,
    predicate_type: &str,
    predicate: Value,
) -> Result<Statement, SignerError> {
    let hex = manifest_digest
        .strip_prefix("sha256:")
        .ok_or_else(|| SignerError::invalid("a manifest digest is sha256:<hex>"))?;
    Ok(Statement::new(
        vec![Subject::with_sha256("image", hex)],
        predicate_type,
        predicate,
    ))
}

/// A cosign signature or attestation manifest with one layer.
fn legacy_manifest(
    layer: Blob,
    media_type: &str,
    annotations: Value,
    tag: String,
) -> Result<Pushable, SignerError> {
    // Cosign's config for a signature image (`pkg/oci/static`): empty
    // platform, one diff id per layer.
    let config = json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "config": {},
    });
    let config = Blob::new(serde_json::to_vec(&config)?);
    let mut descriptor = Descriptor::of(media_type, &layer);
    descriptor.annotations = Some(annotations);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": Descriptor::of(OCI_CONFIG, &config),
        "layers": [descriptor],
    });
    Ok(Pushable {
        manifest: Blob::new(serde_json::to_vec(&manifest)?),
        media_type: OCI_MANIFEST,
        blobs: vec![config, layer],
        tag: Some(tag),
    })
}

/// The tag-schema referrers index (OCI distribution-spec v1.1, "Referrers
/// Tag Schema") listing `referrers`, to push as tag `sha256-<hex>` of the
/// subject.
pub fn referrers_index(referrers: &[&Pushable]) -> Result<Pushable, SignerError> {
    let manifests: Vec<Value> = referrers
        .iter()
        .map(|r| {
            let artifact_type = serde_json::from_slice::<Value>(&r.manifest.bytes)
                .ok()
                .and_then(|m| m.get("artifactType").cloned());
            json!({
                "mediaType": r.media_type,
                "digest": r.manifest.digest,
                "size": r.manifest.bytes.len(),
                "artifactType": artifact_type,
            })
        })
        .collect();
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    Ok(Pushable {
        manifest: Blob::new(serde_json::to_vec(&manifest)?),
        media_type: OCI_INDEX,
        blobs: Vec::new(),
        tag: None,
    })
}

fn text(value: &Value, path: &[&str]) -> Result<String, SignerError> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SignerError::invalid(format!("the bundle has no {}", path.join("."))))
}

fn decode(text: &str) -> Result<Vec<u8>, SignerError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| SignerError::invalid(format!("base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_tag_replaces_the_colon() {
        assert_eq!(legacy_tag("sha256:ab", ".sig"), "sha256-ab.sig");
    }
}
