//! The signer must not drift from the real format: every bundle it makes
//! verifies with cragate's verifier (which runs `sigstore-verify` with SCT,
//! SET, inclusion proof and checkpoint checks), and the committed vectors are
//! exactly what the generator writes today.

#![allow(clippy::unwrap_used, reason = "test helpers may unwrap, as tests do")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cragate_test_signer::cases::{self, DOC_PREDICATE_TYPE};
use cragate_test_signer::{Claim, DEFAULT_SEED, Identity, Instance, Payload, San, SigningRequest};
use cragate_verifier::Digest;
use cragate_verifier::sigstore::{
    ArtifactInput, Bundle, FulcioClaim, IdentityPolicy, Matcher, Signer, SignerPolicy, TrustRoot,
    VerifyError, verify,
};
use jiff::{SignedDuration, Timestamp};

fn committed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../signed")
}

fn exact_policy(identity: &str, issuer: &str) -> SignerPolicy {
    SignerPolicy::Certificate(IdentityPolicy::new(
        Matcher::Exact(identity.to_owned()),
        Matcher::Exact(issuer.to_owned()),
    ))
}

fn an_hour_after_signing() -> Timestamp {
    cases::signing_time().unwrap() + SignedDuration::from_hours(1)
}

#[test]
fn every_generated_case_verifies_with_cragate() {
    let files = cases::render().unwrap();
    let trust_root = TrustRoot::from_json(&files["trusted_root.json"]).unwrap();
    for case in cases::cases().unwrap() {
        if case.fails_because.is_some() {
            continue;
        }
        let bundle =
            Bundle::from_json(&files[&format!("{}/bundle.sigstore.json", case.name)]).unwrap();
        let identity = &case.request.identity;
        let policy = exact_policy(identity.san.as_str(), &identity.issuer);
        let verified = verify(
            &bundle,
            ArtifactInput::Bytes(&case.artifact),
            &trust_root,
            &policy,
            an_hour_after_signing(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(verified.artifact_digest(), Digest::of(&case.artifact));
        assert_eq!(
            verified.signed_at(),
            &[case.request.signed_at + SignedDuration::from_secs(2)],
            "{}: the SET-authenticated integrated time",
            case.name
        );
    }
}

#[test]
fn dsse_case_carries_the_doc_statement_about_the_artifact() {
    let files = cases::render().unwrap();
    let trust_root = TrustRoot::from_json(&files["trusted_root.json"]).unwrap();
    let artifact = &files["firmware-doc-dsse_pass/artifact"];
    let bundle = Bundle::from_json(&files["firmware-doc-dsse_pass/bundle.sigstore.json"]).unwrap();
    let verified = verify(
        &bundle,
        ArtifactInput::Digest(Digest::of(artifact)),
        &trust_root,
        &exact_policy("release@acme.example", "https://accounts.acme.example"),
        an_hour_after_signing(),
    )
    .unwrap();
    let statement = verified.statement().unwrap();
    assert_eq!(statement.predicate_type, DOC_PREDICATE_TYPE);
    assert!(statement.has_subject(&Digest::of(artifact)));
    assert_eq!(statement.predicate["format"], "cragate.doc/v1");
}

#[test]
fn ci_claims_are_read_back_from_the_certificate() {
    let files = cases::render().unwrap();
    let trust_root = TrustRoot::from_json(&files["trusted_root.json"]).unwrap();
    let artifact = &files["firmware-ci-claims_pass/artifact"];
    let bundle = Bundle::from_json(&files["firmware-ci-claims_pass/bundle.sigstore.json"]).unwrap();
    let identity = std::str::from_utf8(&files["firmware-ci-claims_pass/identity"]).unwrap();
    let policy = SignerPolicy::Certificate(
        IdentityPolicy::new(
            Matcher::Exact(identity.to_owned()),
            Matcher::Exact("https://ci.acme.example".to_owned()),
        )
        .require_claim(
            FulcioClaim::SourceRepositoryUri,
            Matcher::Exact("https://git.acme.example/acme/cam-firmware".to_owned()),
        )
        .require_claim(
            FulcioClaim::SourceRepositoryRef,
            Matcher::pattern("refs/tags/v.*").unwrap(),
        )
        .require_claim(FulcioClaim::BuildTrigger, Matcher::Exact("push".to_owned())),
    );
    let verified = verify(
        &bundle,
        ArtifactInput::Bytes(artifact),
        &trust_root,
        &policy,
        an_hour_after_signing(),
    )
    .unwrap();
    let Signer::Certificate(signer) = verified.signer() else {
        panic!("expected a certificate signer");
    };
    assert_eq!(
        signer.claims[&FulcioClaim::RunnerEnvironment],
        "self-hosted"
    );
    assert_eq!(signer.claims.len(), 8);
}

#[test]
fn a_bundle_signed_on_the_fly_verifies_and_binds_its_artifact() {
    let instance =
        Instance::from_seed(b"an on-the-fly seed", cases::instance_start().unwrap()).unwrap();
    let identity = Identity::new(
        San::Email("dev@example.test".to_owned()),
        "https://idp.test",
    )
    .with_claim(Claim::new(Claim::BUILD_TRIGGER, "manual").unwrap());
    let request = SigningRequest {
        identity,
        payload: Payload::Message(b"hello, CRA".to_vec()),
        signed_at: cases::signing_time().unwrap(),
        fault: None,
    };
    let bundle = Bundle::from_json(&instance.sign_bundle(&request).unwrap()).unwrap();
    let trust_root = TrustRoot::from_json(&instance.trusted_root_json().unwrap()).unwrap();
    let policy = exact_policy("dev@example.test", "https://idp.test");
    let at = an_hour_after_signing();
    verify(
        &bundle,
        ArtifactInput::Bytes(b"hello, CRA"),
        &trust_root,
        &policy,
        at,
    )
    .unwrap();

    let other = verify(
        &bundle,
        ArtifactInput::Bytes(b"hello, CRB"),
        &trust_root,
        &policy,
        at,
    );
    assert!(other.is_err(), "another artifact must not verify");

    let foreign_root =
        TrustRoot::from_json(&cases::render().unwrap()["trusted_root.json"]).unwrap();
    let foreign = verify(
        &bundle,
        ArtifactInput::Bytes(b"hello, CRA"),
        &foreign_root,
        &policy,
        at,
    );
    assert!(
        foreign.is_err(),
        "another instance's trusted root must not verify it"
    );
}

fn verify_committed_case(files: &BTreeMap<String, Vec<u8>>, name: &str) -> Result<(), VerifyError> {
    let trust_root = TrustRoot::from_json(&files["trusted_root.json"]).unwrap();
    let bundle = Bundle::from_json(&files[&format!("{name}/bundle.sigstore.json")]).unwrap();
    let text = |file: &str| String::from_utf8(files[&format!("{name}/{file}")].clone()).unwrap();
    verify(
        &bundle,
        ArtifactInput::Bytes(&files[&format!("{name}/artifact")]),
        &trust_root,
        &exact_policy(&text("identity"), &text("issuer")),
        an_hour_after_signing(),
    )
    .map(|_| ())
}

#[test]
fn an_sct_from_an_unknown_ct_log_is_refused() {
    let result = verify_committed_case(&cases::render().unwrap(), "sct-from-unknown-log_fail");
    assert!(matches!(result, Err(VerifyError::Sct { .. })), "{result:?}");
}

#[test]
fn an_entry_integrated_after_the_certificate_expired_is_refused() {
    let result = verify_committed_case(&cases::render().unwrap(), "integrated-after-expiry_fail");
    assert!(
        matches!(
            &result,
            Err(VerifyError::CertificateChain { detail }) if detail.contains("CertExpired")
        ),
        "{result:?}"
    );
}

#[test]
fn every_case_is_named_for_its_outcome() {
    for case in cases::cases().unwrap() {
        let fails = case.name.ends_with("_fail");
        assert!(fails || case.name.ends_with("_pass"), "{}", case.name);
        assert_eq!(fails, case.fails_because.is_some(), "{}", case.name);
        assert_eq!(fails, case.request.fault.is_some(), "{}", case.name);
    }
}

#[test]
fn evaluation_before_the_signing_time_is_refused() {
    let files = cases::render().unwrap();
    let trust_root = TrustRoot::from_json(&files["trusted_root.json"]).unwrap();
    let bundle = Bundle::from_json(&files["firmware-message_pass/bundle.sigstore.json"]).unwrap();
    let result = verify(
        &bundle,
        ArtifactInput::Bytes(&files["firmware-message_pass/artifact"]),
        &trust_root,
        &exact_policy("release@acme.example", "https://accounts.acme.example"),
        cases::signing_time().unwrap(),
    );
    assert!(
        matches!(result, Err(VerifyError::SignedAfterEvaluation { .. })),
        "{result:?}"
    );
}

#[test]
fn generating_twice_gives_the_same_bytes() {
    assert_eq!(cases::render().unwrap(), cases::render().unwrap());
    let seed = Instance::from_seed(DEFAULT_SEED, cases::instance_start().unwrap()).unwrap();
    assert_eq!(
        seed.trusted_root_json().unwrap(),
        cases::render().unwrap()["trusted_root.json"]
    );
}

/// Every file of `fresh` is committed under `dir` with the same bytes.
fn assert_committed(dir: &Path, fresh: BTreeMap<String, Vec<u8>>) {
    let problems: Vec<String> = fresh
        .into_iter()
        .filter_map(|(relative, expected)| {
            let path = dir.join(&relative);
            match std::fs::read(&path) {
                Ok(bytes) if bytes == expected => None,
                Ok(_) => Some(format!(
                    "{} differs from a fresh generation",
                    path.display()
                )),
                Err(error) => Some(format!("{}: {error}", path.display())),
            }
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{}; run `cargo run -p cragate-test-signer`",
        problems.join("; ")
    );
}

#[test]
fn committed_vectors_equal_a_fresh_generation() {
    assert_committed(&committed_dir(), cases::render().unwrap());
}

#[test]
fn committed_signed_listings_equal_a_fresh_generation() {
    let testdata = committed_dir().join("..");
    let base: serde_json::Value = serde_json::from_slice(
        &std::fs::read(testdata.join(cragate_test_signer::cra::BASE_LISTING)).unwrap(),
    )
    .unwrap();
    let fresh = cragate_test_signer::cra::render(&base).unwrap();
    assert_eq!(fresh, cragate_test_signer::cra::render(&base).unwrap());
    assert_committed(&testdata.join("cra-signed"), fresh);
}
