//! `cragate verify-bundle` beyond the conformance protocol: defaults,
//! identity patterns, claims, evaluation time and error reporting.

use crate::util::{cragate, stderr, testdata};

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn happy_path() -> (String, String) {
    let case = testdata().join("sigstore-conformance/bundle-verify");
    (
        case.join("happy-path-v0.3/bundle.sigstore.json")
            .display()
            .to_string(),
        case.join("a.txt").display().to_string(),
    )
}

#[test]
fn pinned_production_root_is_the_default() {
    let (bundle, artifact) = happy_path();
    let output = cragate()
        .args(["verify-bundle", "--bundle", &bundle])
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .arg(&artifact)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("verified: sha256:a0cfc712"), "{stdout}");
}

#[test]
fn identity_patterns_and_claims_are_enforced() {
    let (bundle, artifact) = happy_path();
    let run = |extra: &[&str]| {
        cragate()
            .args(["verify-bundle", "--bundle", &bundle])
            .args(extra)
            .arg(&artifact)
            .output()
            .unwrap()
    };
    let ok = run(&[
        "--certificate-identity-regexp",
        r"https://github\.com/sigstore-conformance/.*",
        "--certificate-oidc-issuer",
        ISSUER,
        "--certificate-claim",
        "source-repository-ref=refs/heads/main",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));

    let wrong_claim = run(&[
        "--certificate-identity",
        BEACON,
        "--certificate-oidc-issuer",
        ISSUER,
        "--certificate-claim-regexp",
        "source-repository-ref=refs/tags/v.*",
    ]);
    assert_eq!(wrong_claim.status.code(), Some(1));
    assert_eq!(
        stderr(&wrong_claim).trim(),
        "cragate: identity: certificate claim source-repository-ref (1.3.6.1.4.1.57264.1.14) is \"refs/heads/main\", expected a match for /refs/tags/v.*/"
    );

    let unanchored = run(&[
        "--certificate-identity-regexp",
        "sigstore-conformance",
        "--certificate-oidc-issuer",
        ISSUER,
    ]);
    assert_eq!(
        unanchored.status.code(),
        Some(1),
        "patterns must match the whole identity"
    );
}

#[test]
fn evaluation_time_before_signing_fails() {
    let (bundle, artifact) = happy_path();
    let output = cragate()
        .args([
            "verify-bundle",
            "--bundle",
            &bundle,
            "--at",
            "2020-01-01T00:00:00Z",
        ])
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .arg(&artifact)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("cragate: signing time: signed at 20"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unusable_invocations_exit_2_with_the_reason() {
    let (bundle, artifact) = happy_path();
    let missing_issuer = cragate()
        .args([
            "verify-bundle",
            "--bundle",
            &bundle,
            "--certificate-identity",
            BEACON,
        ])
        .arg(&artifact)
        .output()
        .unwrap();
    assert_eq!(missing_issuer.status.code(), Some(2));
    assert!(
        stderr(&missing_issuer).contains("--certificate-oidc-issuer"),
        "{}",
        stderr(&missing_issuer)
    );

    let bad_digest = cragate()
        .args(["verify-bundle", "--bundle", &bundle])
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .arg("sha256:1234")
        .output()
        .unwrap();
    assert_eq!(bad_digest.status.code(), Some(2));
    assert!(
        stderr(&bad_digest).contains("64 lowercase hex digits"),
        "{}",
        stderr(&bad_digest)
    );

    let missing_bundle = cragate()
        .args(["verify-bundle", "--bundle", "no-such-bundle.json"])
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .arg(&artifact)
        .output()
        .unwrap();
    assert_eq!(missing_bundle.status.code(), Some(2));
    assert!(
        stderr(&missing_bundle).contains("no-such-bundle.json"),
        "{}",
        stderr(&missing_bundle)
    );
}

#[test]
fn bundles_over_the_depth_budget_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.json");
    std::fs::write(&deep, "[".repeat(10_000)).unwrap();
    let (_, artifact) = happy_path();
    let output = cragate()
        .args(["verify-bundle", "--bundle"])
        .arg(&deep)
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .arg(&artifact)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        "cragate: bundle: bundle nests deeper than the limit of 64 levels (at byte 64)"
    );
}
