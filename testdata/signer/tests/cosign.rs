//! The signer's cosign signatures, attestations and bundle referrers verify
//! with cragate's verifier (`cragate_verifier::cosign`), and each broken
//! variant fails for the reason it was broken.

#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::collections::BTreeMap;

use cragate_test_signer::oci::{self, CosignRequest, Platform, Pushable};
use cragate_test_signer::{DEFAULT_SEED, Identity, Instance, San, cases};
use cragate_verifier::Digest;
use cragate_verifier::cosign::{
    self, ImageEvidence, ImageManifest, LegacyLayer, bundle_layer, evaluate_image, legacy_layer,
};
use cragate_verifier::policy::{Policy, PolicyDraft};
use cragate_verifier::verdict::Decision;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

const LINUX: Platform = Platform {
    os: "linux",
    architecture: "amd64",
};

fn instance() -> Instance {
    Instance::from_seed(DEFAULT_SEED, cases::instance_start().unwrap()).unwrap()
}

fn acme() -> CosignRequest {
    CosignRequest {
        identity: Identity::new(
            San::Email("release@acme.example".to_owned()),
            "https://accounts.acme.example",
        ),
        signed_at: cases::signing_time().unwrap(),
    }
}

fn mallory() -> CosignRequest {
    CosignRequest {
        identity: Identity::new(
            San::Email("mallory@evil.example".to_owned()),
            "https://accounts.acme.example",
        ),
        signed_at: cases::signing_time().unwrap(),
    }
}

fn policy(instance: &Instance, attestations: &[&str]) -> Policy {
    let text = format!(
        r#"format = "cragate.policy/v1"
name = "oci-test"
[trust]
sigstore_roots = ["root.json"]
[[manufacturers]]
name = "ACME Devices GmbH"
[[manufacturers.identities]]
san = "release@acme.example"
issuer = "https://accounts.acme.example"
[[oci.repositories]]
name = "acme/*"
manufacturer = "ACME Devices GmbH"
attestations = {attestations:?}
"#
    );
    let draft = PolicyDraft::parse("oci.toml", text.as_bytes()).unwrap();
    let files = BTreeMap::from([(
        "root.json".to_owned(),
        instance.trusted_root_json().unwrap(),
    )]);
    draft.compile(&files).unwrap()
}

fn at() -> Timestamp {
    cases::signing_time().unwrap() + SignedDuration::from_hours(1)
}

fn digest(pushable: &Pushable) -> Digest {
    pushable.manifest.digest.parse().unwrap()
}

/// The one layer of a cosign manifest, with its blob.
fn layers(pushable: &Pushable) -> Vec<(cosign::Descriptor, Vec<u8>)> {
    let manifest = ImageManifest::from_json(&pushable.manifest.bytes, None).unwrap();
    manifest
        .entries
        .into_iter()
        .map(|d| {
            let blob = pushable
                .blobs
                .iter()
                .find(|b| b.digest == d.digest.to_string())
                .unwrap()
                .bytes
                .clone();
            (d, blob)
        })
        .collect()
}

fn evidence(
    sig: Option<&Pushable>,
    att: Option<&Pushable>,
    referrers: &[&Pushable],
) -> ImageEvidence {
    let rewrite = |p: &Pushable| {
        layers(p)
            .iter()
            .map(|(d, blob)| {
                legacy_layer(LegacyLayer {
                    descriptor: d,
                    blob,
                })
            })
            .collect::<Vec<_>>()
    };
    ImageEvidence {
        signatures: sig.map(rewrite).unwrap_or_default(),
        attestations: att.map(rewrite).unwrap_or_default(),
        bundles: referrers
            .iter()
            .flat_map(|p| layers(p))
            .map(|(d, blob)| {
                bundle_layer(LegacyLayer {
                    descriptor: &d,
                    blob: &blob,
                })
            })
            .collect(),
    }
}

fn image() -> Pushable {
    oci::image(LINUX, &[b"layer one".to_vec(), b"layer two".to_vec()]).unwrap()
}

fn doc() -> serde_json::Value {
    json!({"format": "cragate.doc/v1"})
}

#[test]
fn a_legacy_signature_and_attestation_pass() {
    let instance = instance();
    let image = image();
    let payload = oci::simplesigning_payload("registry.example/acme/cam", &image.manifest.digest);
    let sig = instance
        .cosign_signature(&acme(), &payload, &image.manifest.digest)
        .unwrap();
    let att = instance
        .cosign_attestation(
            &acme(),
            &image.manifest.digest,
            cases::DOC_PREDICATE_TYPE,
            doc(),
        )
        .unwrap();
    assert_eq!(
        sig.tag.as_deref(),
        Some(cosign::legacy_tag(&digest(&image), ".sig").as_str())
    );
    let policy = policy(&instance, &[cases::DOC_PREDICATE_TYPE]);
    let verdict = evaluate_image(
        &policy,
        "acme/cam",
        digest(&image),
        &evidence(Some(&sig), Some(&att), &[]),
        at(),
    );
    assert_eq!(verdict.decision, Decision::Allow, "{:#?}", verdict.checks);
}

#[test]
fn a_bundle_referrer_passes_as_signature_and_attestation() {
    let instance = instance();
    let image = image();
    let referrer = instance
        .bundle_referrer(&acme(), &image, cases::DOC_PREDICATE_TYPE, doc())
        .unwrap();
    let signature = instance
        .bundle_referrer(
            &acme(),
            &image,
            "https://sigstore.dev/cosign/sign/v1",
            json!({}),
        )
        .unwrap();
    let manifest = ImageManifest::from_json(&referrer.manifest.bytes, None).unwrap();
    assert_eq!(
        manifest.effective_artifact_type(),
        Some(cosign::BUNDLE_ARTIFACT_TYPE)
    );
    assert_eq!(manifest.subject.unwrap().digest, digest(&image));
    let policy = policy(&instance, &[cases::DOC_PREDICATE_TYPE]);
    let verdict = evaluate_image(
        &policy,
        "acme/cam",
        digest(&image),
        &evidence(None, None, &[&referrer, &signature]),
        at(),
    );
    assert_eq!(verdict.decision, Decision::Allow, "{:#?}", verdict.checks);
}

#[test]
fn an_unsigned_image_is_denied() {
    let instance = instance();
    let image = image();
    let verdict = evaluate_image(
        &policy(&instance, &[]),
        "acme/cam",
        digest(&image),
        &ImageEvidence::default(),
        at(),
    );
    assert_eq!(verdict.decision, Decision::Deny);
    let failure = verdict.first_failure().unwrap();
    assert_eq!(failure.id, "oci.signature");
    assert!(failure.detail.contains("is unsigned"), "{}", failure.detail);
}

#[test]
fn a_signature_by_another_identity_is_denied() {
    let instance = instance();
    let image = image();
    let payload = oci::simplesigning_payload("acme/cam", &image.manifest.digest);
    let sig = instance
        .cosign_signature(&mallory(), &payload, &image.manifest.digest)
        .unwrap();
    let verdict = evaluate_image(
        &policy(&instance, &[]),
        "acme/cam",
        digest(&image),
        &evidence(Some(&sig), None, &[]),
        at(),
    );
    assert_eq!(verdict.decision, Decision::Deny);
    let failure = verdict.first_failure().unwrap();
    assert!(
        failure.detail.contains("mallory@evil.example"),
        "{}",
        failure.detail
    );
}

#[test]
fn a_signature_for_another_digest_is_denied() {
    let instance = instance();
    let image = image();
    let other = oci::image(LINUX, &[b"another image".to_vec()]).unwrap();
    let payload = oci::simplesigning_payload("acme/cam", &other.manifest.digest);
    // Pushed under this image's .sig tag, but signing the other one.
    let sig = instance
        .cosign_signature(&acme(), &payload, &image.manifest.digest)
        .unwrap();
    let verdict = evaluate_image(
        &policy(&instance, &[]),
        "acme/cam",
        digest(&image),
        &evidence(Some(&sig), None, &[]),
        at(),
    );
    assert_eq!(verdict.decision, Decision::Deny);
    let failure = verdict.first_failure().unwrap();
    assert!(
        failure
            .detail
            .contains(&format!("is for manifest {}", other.manifest.digest)),
        "{}",
        failure.detail
    );
}

#[test]
fn a_missing_attestation_is_denied_with_its_article() {
    let instance = instance();
    let image = image();
    let payload = oci::simplesigning_payload("acme/cam", &image.manifest.digest);
    let sig = instance
        .cosign_signature(&acme(), &payload, &image.manifest.digest)
        .unwrap();
    let verdict = evaluate_image(
        &policy(&instance, &[cases::DOC_PREDICATE_TYPE]),
        "acme/cam",
        digest(&image),
        &evidence(Some(&sig), None, &[]),
        at(),
    );
    assert_eq!(verdict.decision, Decision::Deny);
    let failure = verdict.first_failure().unwrap();
    assert_eq!(
        (failure.id, failure.article),
        ("oci.attestation", "Art. 28(4)")
    );
}

#[test]
fn a_repository_no_rule_names_is_refused() {
    let instance = instance();
    let verdict = evaluate_image(
        &policy(&instance, &[]),
        "other/cam",
        digest(&image()),
        &ImageEvidence::default(),
        at(),
    );
    assert_eq!(verdict.first_failure().unwrap().id, "oci.repository");
}

#[test]
fn a_layer_blob_that_does_not_match_its_digest_is_refused() {
    let instance = instance();
    let image = image();
    let payload = oci::simplesigning_payload("acme/cam", &image.manifest.digest);
    let sig = instance
        .cosign_signature(&acme(), &payload, &image.manifest.digest)
        .unwrap();
    let (descriptor, _) = layers(&sig).remove(0);
    let error = legacy_layer(LegacyLayer {
        descriptor: &descriptor,
        blob: b"not the payload",
    })
    .unwrap_err();
    assert!(
        matches!(error, cosign::CosignError::BlobDigest { .. }),
        "{error}"
    );
}
