//! Helpers for the halt tests: keys made by the real `openssl`, notices,
//! and envelopes signed by `cragate halt sign`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::util::{cragate, stderr};

/// A key pair written by `openssl`: the PKCS#8 private key and the SPKI
/// public key, both PEM.
pub struct KeyPair {
    pub private: PathBuf,
    pub public: PathBuf,
}

/// Which key `openssl genpkey` makes.
#[derive(Clone, Copy)]
pub enum Algorithm {
    Ed25519,
    P256,
}

/// Makes a key pair in `dir` named `name` with the real `openssl`.
pub fn openssl_key(dir: &Path, name: &str, algorithm: Algorithm) -> KeyPair {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    let mut genpkey = Command::new("openssl");
    genpkey.arg("genpkey");
    match algorithm {
        Algorithm::Ed25519 => genpkey.args(["-algorithm", "ed25519"]),
        Algorithm::P256 => {
            genpkey.args(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        }
    };
    let output = genpkey.arg("-out").arg(&private).output().unwrap();
    assert!(
        output.status.success(),
        "openssl genpkey: {}",
        stderr(&output)
    );
    let output = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .output()
        .unwrap();
    assert!(output.status.success(), "openssl pkey: {}", stderr(&output));
    KeyPair { private, public }
}

/// A `cragate.halt/v1` notice of `issuer` for `products`.
pub fn notice(issuer: &str, sequence: u64, action: &str, products: &[&str]) -> Value {
    json!({
        "format": "cragate.halt/v1",
        "issuer": issuer,
        "sequence": sequence,
        "issued_at": "2026-12-01T10:00:00Z",
        "action": action,
        "scope": {"products": products, "versions": "<2.9.0", "digests": [], "batches": []},
        "reason": "CVE-2026-1234 actively exploited; units must not be supplied",
        "reference": {
            "advisory": "https://lumatek.example/csaf/2026/ltk-2026-007.json",
            "authority_order": null
        }
    })
}

/// Signs `notice` with `key` through `cragate halt sign`; the envelope's bytes.
pub fn sign(dir: &Path, key: &KeyPair, notice: &Value) -> Vec<u8> {
    let file = dir.join(format!(
        "notice-{}-{}.json",
        notice["issuer"].as_str().unwrap(),
        notice["sequence"]
    ));
    std::fs::write(&file, serde_json::to_vec_pretty(notice).unwrap()).unwrap();
    let output = cragate()
        .args(["halt", "sign", "--key"])
        .arg(&key.private)
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "halt sign: {}", stderr(&output));
    output.stdout
}

/// `[[halt_issuers]]` entries, one per (id, public key, globs).
pub fn halt_issuers(issuers: &[(&str, &Path, &[&str])]) -> String {
    issuers
        .iter()
        .map(|(id, key, globs)| {
            format!(
                "[[halt_issuers]]\nid = {id:?}\nkey = {:?}\nproducts = {globs:?}\n",
                key.display().to_string()
            )
        })
        .collect()
}
/// A lift of `lifts` by `issuer`.
pub fn lift(issuer: &str, sequence: u64, lifts: &[u64], products: &[&str]) -> Value {
    let mut notice = notice(issuer, sequence, "lift", products);
    notice["lifts"] = json!(lifts);
    notice["reason"] = json!("fixed in 2.9.0; supply may resume");
    notice
}
