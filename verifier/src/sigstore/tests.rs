//! Tests of the wrapper's own rules, on the conformance vectors.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::json::JsonLimitError;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/sigstore-conformance"
);
const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{CASES}/{path}")).unwrap()
}

fn production_root() -> TrustRoot {
    TrustRoot::from_json(&read("extra/production_trusted_root.json")).unwrap()
}

fn beacon_policy() -> SignerPolicy {
    SignerPolicy::Certificate(IdentityPolicy::new(
        Matcher::Exact(BEACON.to_owned()),
        Matcher::Exact(GITHUB_ISSUER.to_owned()),
    ))
}

fn bundle_json(case: &str) -> Value {
    serde_json::from_slice(&read(&format!("bundle-verify/{case}/bundle.sigstore.json"))).unwrap()
}

fn verify_json(bundle: &Value, policy: &SignerPolicy) -> Result<VerifiedBundle, VerifyError> {
    let bundle = Bundle::from_json(&serde_json::to_vec(bundle).unwrap())?;
    let artifact = read("bundle-verify/a.txt");
    verify(
        &bundle,
        ArtifactInput::Bytes(&artifact),
        &production_root(),
        policy,
        Timestamp::now(),
    )
}

fn base64_chunks(text: &str, separator: &str) -> String {
    text.as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect::<Vec<_>>()
        .join(separator)
}

#[test]
fn happy_path_reports_signer_time_and_digests() {
    let verified = verify_json(&bundle_json("happy-path-v0.3"), &beacon_policy()).unwrap();
    let Signer::Certificate(signer) = verified.signer() else {
        panic!("expected a certificate signer");
    };
    assert_eq!(signer.identity, BEACON);
    assert_eq!(signer.issuer.as_deref(), Some(GITHUB_ISSUER));
    assert_eq!(
        signer
            .claims
            .get(&FulcioClaim::SourceRepositoryRef)
            .map(String::as_str),
        Some("refs/heads/main")
    );
    assert_eq!(
        verified.artifact_digest(),
        Digest::of(&read("bundle-verify/a.txt"))
    );
    assert_eq!(verified.signed_at().len(), 1);
    assert!(verified.statement().is_none());
}

#[test]
fn chain_with_the_self_signed_root_is_rejected() {
    let root: Value = serde_json::from_slice(&read("extra/production_trusted_root.json")).unwrap();
    let ca_chain = root["certificateAuthorities"][1]["certChain"]["certificates"].clone();
    let mut bundle = bundle_json("happy-path-v0.1");
    let chain = &mut bundle["verificationMaterial"]["x509CertificateChain"]["certificates"];
    let leaf = chain[0].clone();

    // Leaf and intermediate: a valid chain that still verifies.
    *chain = json!([leaf, ca_chain[0]]);
    verify_json(&bundle, &beacon_policy()).unwrap();

    // Leaf, intermediate and root: sigstore-verify alone accepts this; the
    // bundle specification forbids the root in the chain.
    bundle["verificationMaterial"]["x509CertificateChain"]["certificates"] =
        json!([leaf, ca_chain[0], ca_chain[1]]);
    let error = verify_json(&bundle, &beacon_policy()).unwrap_err();
    assert_eq!(
        error,
        VerifyError::Bundle(BundleError::RootInChain { position: 2 })
    );
}

#[test]
fn line_wrapped_base64_is_accepted_but_other_whitespace_is_not() {
    let original = bundle_json("happy-path-v0.3");
    let signature = original["messageSignature"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let certificate = original["verificationMaterial"]["certificate"]["rawBytes"]
        .as_str()
        .unwrap()
        .to_owned();

    for separator in ["\n", "\r\n"] {
        let mut wrapped = original.clone();
        wrapped["messageSignature"]["signature"] = json!(base64_chunks(&signature, separator));
        wrapped["verificationMaterial"]["certificate"]["rawBytes"] =
            json!(base64_chunks(&certificate, separator));
        verify_json(&wrapped, &beacon_policy()).unwrap();
    }

    let mut spaced = original.clone();
    spaced["messageSignature"]["signature"] = json!(base64_chunks(&signature, " "));
    let error = verify_json(&spaced, &beacon_policy()).unwrap_err();
    assert!(
        matches!(error, VerifyError::Bundle(BundleError::Shape { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("invalid base64"), "{error}");
}

#[test]
fn missing_media_type_is_rejected_instead_of_defaulting_to_v0_1() {
    let mut bundle = bundle_json("happy-path-v0.1");
    bundle.as_object_mut().unwrap().remove("mediaType");
    let error = verify_json(&bundle, &beacon_policy()).unwrap_err();
    assert_eq!(error, VerifyError::Bundle(BundleError::MissingMediaType));
}

#[test]
fn signing_after_the_evaluation_time_fails() {
    let bundle =
        Bundle::from_json(&read("bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap();
    let artifact = read("bundle-verify/a.txt");
    let at: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
    let error = verify(
        &bundle,
        ArtifactInput::Bytes(&artifact),
        &production_root(),
        &beacon_policy(),
        at,
    )
    .unwrap_err();
    assert!(
        matches!(error, VerifyError::SignedAfterEvaluation { at: reported, .. } if reported == at),
        "{error}"
    );
}

#[test]
fn identity_rules_apply_to_san_issuer_and_claims() {
    let bundle = bundle_json("happy-path-v0.3");
    let pattern = |p: &str| Matcher::pattern(p).unwrap();
    let repo = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon";

    let by_pattern = IdentityPolicy::new(
        pattern(r"https://github\.com/sigstore-conformance/.+@refs/heads/main"),
        pattern(r"https://token\.actions\.githubusercontent\.com"),
    )
    .require_claim(
        FulcioClaim::SourceRepositoryUri,
        Matcher::Exact(repo.to_owned()),
    );
    verify_json(&bundle, &SignerPolicy::Certificate(by_pattern)).unwrap();

    let wrong_ref = IdentityPolicy::new(pattern(".*"), pattern(".*"))
        .require_claim(FulcioClaim::SourceRepositoryRef, pattern("refs/tags/.*"));
    let error = verify_json(&bundle, &SignerPolicy::Certificate(wrong_ref)).unwrap_err();
    let VerifyError::Identity(mismatch) = error else {
        panic!("expected an identity failure, got {error}");
    };
    assert_eq!(
        mismatch.field,
        IdentityField::Claim(FulcioClaim::SourceRepositoryRef)
    );
    assert_eq!(mismatch.actual.as_deref(), Some("refs/heads/main"));

    let wrong_san = SignerPolicy::Certificate(IdentityPolicy::new(
        Matcher::Exact("someone@example.com".to_owned()),
        Matcher::Exact(GITHUB_ISSUER.to_owned()),
    ));
    assert!(matches!(
        verify_json(&bundle, &wrong_san),
        Err(VerifyError::Identity(IdentityMismatch {
            field: IdentityField::SubjectAlternativeName,
            ..
        }))
    ));
}

#[test]
fn dsse_bundle_yields_its_statement_and_binds_the_artifact() {
    let case = "bundle-verify/intoto-with-custom-trust-root";
    let root = TrustRoot::from_json(&read(&format!("{case}/trusted_root.json"))).unwrap();
    let bundle = Bundle::from_json(&read(&format!("{case}/bundle.sigstore.json"))).unwrap();
    let artifact = read(&format!("{case}/artifact"));
    let digest = Digest::of(&artifact);
    let verified = verify(
        &bundle,
        ArtifactInput::Digest(digest),
        &root,
        &beacon_policy(),
        Timestamp::now(),
    )
    .unwrap();
    let statement = verified.statement().unwrap();
    assert!(statement.has_subject(&digest));

    let other = Digest::of(b"another artifact");
    let error = verify(
        &bundle,
        ArtifactInput::Digest(other),
        &root,
        &beacon_policy(),
        Timestamp::now(),
    )
    .unwrap_err();
    assert!(
        matches!(error, VerifyError::ArtifactMismatch { .. }),
        "{error}"
    );
}

#[test]
fn reader_input_is_hashed_and_verified() {
    let bundle =
        Bundle::from_json(&read("bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap();
    let artifact = read("bundle-verify/a.txt");
    let mut reader = &artifact[..];
    let verified = verify(
        &bundle,
        ArtifactInput::Reader(&mut reader),
        &production_root(),
        &beacon_policy(),
        Timestamp::now(),
    )
    .unwrap();
    assert_eq!(verified.artifact_digest(), Digest::of(&artifact));
}

#[test]
fn oversized_and_deeply_nested_bundles_are_refused_before_parsing() {
    let huge = vec![b' '; crate::limits::MAX_BUNDLE_BYTES + 1];
    assert!(matches!(
        Bundle::from_json(&huge),
        Err(BundleError::Limit(JsonLimitError::TooLarge { .. }))
    ));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        Bundle::from_json(deep.as_bytes()),
        Err(BundleError::Limit(JsonLimitError::TooDeep { .. }))
    ));
}

#[test]
fn chains_over_the_budget_are_refused() {
    let mut bundle = bundle_json("happy-path-v0.1");
    let chain = &mut bundle["verificationMaterial"]["x509CertificateChain"]["certificates"];
    let leaf = chain[0].clone();
    *chain = Value::Array(vec![leaf; crate::limits::MAX_CERTIFICATE_CHAIN + 1]);
    assert!(matches!(
        verify_json(&bundle, &beacon_policy()),
        Err(VerifyError::Bundle(BundleError::ChainTooLong {
            count: 9,
            limit: 8
        }))
    ));
}

#[test]
fn signer_kind_must_match_the_bundle() {
    let case = "bundle-verify/managed-key-happy-path";
    let bundle = Bundle::from_json(&read(&format!("{case}/bundle.sigstore.json"))).unwrap();
    let artifact = read("bundle-verify/a.txt");
    let key = ManagedKey::from_pem(&read(&format!("{case}/key.pub"))).unwrap();
    let root = production_root();
    let at = Timestamp::now();
    verify(
        &bundle,
        ArtifactInput::Bytes(&artifact),
        &root,
        &SignerPolicy::Key(key.clone()),
        at,
    )
    .unwrap();
    let error = verify(
        &bundle,
        ArtifactInput::Bytes(&artifact),
        &root,
        &beacon_policy(),
        at,
    )
    .unwrap_err();
    assert!(matches!(error, VerifyError::SignerKind { .. }), "{error}");

    let keyless =
        Bundle::from_json(&read("bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap();
    let error = verify(
        &keyless,
        ArtifactInput::Bytes(&artifact),
        &root,
        &SignerPolicy::Key(key),
        at,
    )
    .unwrap_err();
    assert!(matches!(error, VerifyError::SignerKind { .. }), "{error}");
}

#[test]
fn dsse_logged_as_hashedrekord_v1_verifies_as_the_log_recorded_it() {
    let subject: Digest = "sha256:70ed0277251d0cf2eb5eda8b574ce012de485e39a3de1fb4b1e0717e14b02d6a"
        .parse()
        .unwrap();
    let upstream = |case: &str| {
        let path = format!("{CASES}/../sigstore-upstream/{case}/bundle.sigstore.json");
        Bundle::from_json(&std::fs::read(path).unwrap()).unwrap()
    };
    let root = production_root();
    let at = Timestamp::now();
    let check = |case: &str, digest: Digest| {
        verify(
            &upstream(case),
            ArtifactInput::Digest(digest),
            &root,
            &beacon_policy(),
            at,
        )
    };

    let verified = check("dsse-with-hashedrekord-happy-path", subject).unwrap();
    assert!(verified.statement().unwrap().has_subject(&subject));

    let error = check("dsse-with-hashedrekord-happy-path", Digest::of(b"other")).unwrap_err();
    assert!(
        matches!(error, VerifyError::ArtifactMismatch { .. }),
        "{error}"
    );
    let error = check("dsse-with-hashedrekord-invalid-sig_fail", subject).unwrap_err();
    assert!(matches!(error, VerifyError::Signature { .. }), "{error}");
    let error = check("dsse-with-hashedrekord-mismatch-envelope_fail", subject).unwrap_err();
    assert!(
        matches!(error, VerifyError::ArtifactMismatch { .. }),
        "{error}"
    );
}

/// Flipped bytes and truncations anywhere in real bundles must give an
/// error (or, for a harmless byte, a verification), never a panic.
#[test]
fn mutated_bundles_fail_without_panicking() {
    let root = production_root();
    let artifact = read("bundle-verify/a.txt");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % u64::try_from(bound).unwrap()).unwrap()
    };
    let mut verified = 0;
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.3",
        "managed-key-happy-path",
        "dsse-invalid-sig_fail",
    ] {
        let original = read(&format!("bundle-verify/{case}/bundle.sigstore.json"));
        for round in 0..60 {
            let mut bytes = original.clone();
            if round % 4 == 0 {
                bytes.truncate(next(bytes.len()));
            } else {
                let at = next(bytes.len());
                bytes[at] ^= 1 << next(8);
            }
            let Ok(bundle) = Bundle::from_json(&bytes) else {
                continue;
            };
            let policy = if bundle.is_managed_key() {
                let key = read("bundle-verify/managed-key-happy-path/key.pub");
                SignerPolicy::Key(ManagedKey::from_pem(&key).unwrap())
            } else {
                beacon_policy()
            };
            let result = verify(
                &bundle,
                ArtifactInput::Bytes(&artifact),
                &root,
                &policy,
                Timestamp::now(),
            );
            verified += usize::from(result.is_ok());
        }
    }
    // A flipped bit inside a signature, hash or certificate must not verify;
    // only flips that rename an optional field (so it is ignored, as protobuf
    // JSON parsers do) may.
    assert!(verified < 5, "{verified} mutated bundles verified");
}
