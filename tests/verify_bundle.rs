//! `cragate verify-bundle` beyond the conformance protocol: defaults,
//! identity patterns, claims, evaluation time and error reporting.

use std::ffi::OsStr;
use std::process::Output;

use crate::util::{cragate, stderr, testdata};

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The conformance beacon's identity and issuer, as exact rules.
const BEACON_SIGNER: [&str; 4] = [
    "--certificate-identity",
    BEACON,
    "--certificate-oidc-issuer",
    ISSUER,
];

fn happy_path() -> (String, String) {
    let case = testdata().join("sigstore-conformance/bundle-verify");
    (
        case.join("happy-path-v0.3/bundle.sigstore.json")
            .display()
            .to_string(),
        case.join("a.txt").display().to_string(),
    )
}

/// `cragate verify-bundle --bundle BUNDLE ARGS... ARTIFACT`.
fn verify_bundle(bundle: impl AsRef<OsStr>, args: &[&str], artifact: &str) -> Output {
    cragate()
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(bundle)
        .args(args)
        .arg(artifact)
        .output()
        .unwrap()
}

#[test]
fn pinned_production_root_is_the_default() {
    let (bundle, artifact) = happy_path();
    let output = verify_bundle(&bundle, &BEACON_SIGNER, &artifact);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("verified: sha256:a0cfc712"), "{stdout}");
}

#[test]
fn identity_patterns_and_claims_are_enforced() {
    let (bundle, artifact) = happy_path();
    let ok = verify_bundle(
        &bundle,
        &[
            "--certificate-identity-regexp",
            r"https://github\.com/sigstore-conformance/.*",
            "--certificate-oidc-issuer",
            ISSUER,
            "--certificate-claim",
            "source-repository-ref=refs/heads/main",
        ],
        &artifact,
    );
    assert!(ok.status.success(), "{}", stderr(&ok));

    let mut wrong_claim = BEACON_SIGNER.to_vec();
    wrong_claim.extend([
        "--certificate-claim-regexp",
        "source-repository-ref=refs/tags/v.*",
    ]);
    let wrong_claim = verify_bundle(&bundle, &wrong_claim, &artifact);
    assert_eq!(wrong_claim.status.code(), Some(1));
    assert_eq!(
        stderr(&wrong_claim).trim(),
        "cragate: identity: certificate claim source-repository-ref (1.3.6.1.4.1.57264.1.14) is \"refs/heads/main\", expected a match for /refs/tags/v.*/"
    );

    let unanchored = verify_bundle(
        &bundle,
        &[
            "--certificate-identity-regexp",
            "sigstore-conformance",
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        &artifact,
    );
    assert_eq!(
        unanchored.status.code(),
        Some(1),
        "patterns must match the whole identity"
    );
}

#[test]
fn evaluation_time_before_signing_fails() {
    let (bundle, artifact) = happy_path();
    let mut args = BEACON_SIGNER.to_vec();
    args.extend(["--at", "2020-01-01T00:00:00Z"]);
    let output = verify_bundle(&bundle, &args, &artifact);
    assert_eq!(output.status.code(), Some(1));
    let error = stderr(&output);
    assert!(
        error.starts_with("cragate: signing time: signed at 20"),
        "{error}"
    );
}

#[test]
fn unusable_invocations_exit_2_with_the_reason() {
    let (bundle, artifact) = happy_path();
    let cases: [(&str, &[&str], &str, &str); 3] = [
        (
            &bundle,
            &["--certificate-identity", BEACON],
            &artifact,
            "--certificate-oidc-issuer",
        ),
        (
            &bundle,
            &BEACON_SIGNER,
            "sha256:1234",
            "64 lowercase hex digits",
        ),
        (
            "no-such-bundle.json",
            &BEACON_SIGNER,
            &artifact,
            "no-such-bundle.json",
        ),
    ];
    for (bundle, args, artifact, reason) in cases {
        let output = verify_bundle(bundle, args, artifact);
        assert_eq!(output.status.code(), Some(2), "{reason}");
        assert!(stderr(&output).contains(reason), "{}", stderr(&output));
    }
}

#[test]
fn bundles_over_the_depth_budget_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.json");
    std::fs::write(&deep, "[".repeat(10_000)).unwrap();
    let (_, artifact) = happy_path();
    let output = verify_bundle(&deep, &BEACON_SIGNER, &artifact);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        "cragate: bundle: bundle nests deeper than the limit of 64 levels (at byte 64)"
    );
}
