//! `cragate halt sign` and `cragate halt verify` with keys made by `openssl`.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::halt_util::{Algorithm, halt_issuers, notice, openssl_key, sign};
use crate::util::{cragate, stderr};

fn write_policy(dir: &Path, issuers: &str) -> std::path::PathBuf {
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        format!("format = \"cragate.policy/v1\"\nname = \"halts\"\n{issuers}"),
    )
    .unwrap();
    path
}

fn verify(policy: &Path, signed: &[u8], dir: &Path) -> std::process::Output {
    let file = dir.join("signed.json");
    std::fs::write(&file, signed).unwrap();
    cragate()
        .args(["halt", "verify", "--policy"])
        .arg(policy)
        .arg(&file)
        .output()
        .unwrap()
}

#[test]
fn halt_sign_and_verify_with_openssl_ed25519_and_p256_keys() {
    let dir = tempfile::tempdir().unwrap();
    for (name, algorithm) in [("ed", Algorithm::Ed25519), ("p256", Algorithm::P256)] {
        let key = openssl_key(dir.path(), name, algorithm);
        let policy = write_policy(
            dir.path(),
            &halt_issuers(&[("lumatek-psirt", &key.public, &["lumacam-*"])]),
        );
        let signed = sign(
            dir.path(),
            &key,
            &notice("lumatek-psirt", 7, "halt", &["lumacam-c3-pro"]),
        );
        let envelope: Value = serde_json::from_slice(&signed).unwrap();
        assert_eq!(
            envelope["payloadType"],
            "application/vnd.cragate.halt.v1+json"
        );
        let output = verify(&policy, &signed, dir.path());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{name}: {stdout} {}",
            stderr(&output)
        );
        assert!(
            stdout.starts_with("accepted: lumatek-psirt sequence 7 halt of lumacam-c3-pro"),
            "{stdout}"
        );
    }
}

#[test]
fn halt_verify_says_exactly_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = openssl_key(dir.path(), "trusted", Algorithm::Ed25519);
    let other = openssl_key(dir.path(), "other", Algorithm::Ed25519);
    let policy = write_policy(
        dir.path(),
        &halt_issuers(&[("lumatek-psirt", &trusted.public, &["lumacam-*"])]),
    );
    let halt = notice("lumatek-psirt", 7, "halt", &["lumacam-c3-pro"]);

    let untrusted_key = sign(dir.path(), &other, &halt);
    let mut altered: Value = serde_json::from_slice(&sign(dir.path(), &trusted, &halt)).unwrap();
    let mut changed = halt.clone();
    changed["scope"]["products"] = serde_json::json!(["lumacam-c2"]);
    altered["payload"] = STANDARD
        .encode(serde_json::to_vec(&changed).unwrap())
        .into();
    let outside = sign(
        dir.path(),
        &trusted,
        &notice("lumatek-psirt", 8, "halt", &["othercam-1"]),
    );
    let unknown = sign(
        dir.path(),
        &trusted,
        &notice("someone", 1, "halt", &["lumacam-c3-pro"]),
    );
    let cases: [(&[u8], &str); 4] = [
        (&untrusted_key, "refused (401 bad signature)"),
        (
            &serde_json::to_vec(&altered).unwrap(),
            "refused (401 bad signature)",
        ),
        (
            &outside,
            "refused (403 not trusted): issuer \"lumatek-psirt\" is not trusted for product \"othercam-1\"",
        ),
        (
            &unknown,
            "refused (403 not trusted): issuer \"someone\" is not trusted",
        ),
    ];
    for (signed, expected) in cases {
        let output = verify(&policy, signed, dir.path());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{expected}: {stdout}");
        assert!(stdout.starts_with(expected), "{expected}: {stdout}");
    }
    let output = verify(&policy, b"{\"payloadType\": 1}", dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("malformed halt notice"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn halt_sign_refuses_a_malformed_notice_and_a_non_pkcs8_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = openssl_key(dir.path(), "k", Algorithm::Ed25519);
    let file = dir.path().join("bad.json");
    std::fs::write(&file, br#"{"format": "cragate.halt/v1"}"#).unwrap();
    let output = cragate()
        .args(["halt", "sign", "--key"])
        .arg(&key.private)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("malformed halt notice"),
        "{}",
        stderr(&output)
    );
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        serde_json::to_vec(&notice("a", 1, "halt", &["p"])).unwrap(),
    )
    .unwrap();
    let output = cragate()
        .args(["halt", "sign", "--key"])
        .arg(&key.public)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("PRIVATE KEY"),
        "{}",
        stderr(&output)
    );
}
