//! The ledger API of `cragate serve`, behind the admin bearer token: the
//! running gateway answers the queries and exports of `cragate ledger`, and
//! its exports verify with `cragate ledger verify-export` and the
//! independent Python verifier.

use serde_json::Value;

use crate::serve_util::*;
use crate::util::{cragate, python_verify_export, stderr, verify_export};

const TOKEN: &str = "3f1c0e5b9a7d4e2f8b6a1c3d5e7f9a0b2c4d6e8f";

/// A gateway whose admin routes open with [`TOKEN`], holding an accepted
/// and a rejected decision about `vaultkey-desktop`.
fn gateway_with_decisions() -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin-token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("cragate.toml");
    std::fs::write(
        &config,
        format!(
            "[admin]\nbearer_token_file = {:?}\n",
            token.display().to_string()
        ),
    )
    .unwrap();
    // The rejected listing, about the same product as the accepted one.
    let mut rejected: Value =
        serde_json::from_slice(&std::fs::read(rejected_listing()).unwrap()).unwrap();
    rejected["product"]["id"] = Value::String("vaultkey-desktop".into());
    let rejected_path = dir.path().join("rejected.json");
    std::fs::write(&rejected_path, serde_json::to_vec(&rejected).unwrap()).unwrap();

    let gateway = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    let accepted = post_file(&gateway.url("/v1/listings"), &accepted_listing());
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let refused = post_file(&gateway.url("/v1/listings"), &rejected_path);
    assert_eq!(refused.status, 422, "{refused:?}");
    gateway
}

fn admin(gateway: &Gateway, path: &str) -> Reply {
    let header = format!("Authorization: Bearer {TOKEN}");
    curl(&gateway.url(path), &["-H", &header])
}

#[test]
fn ledger_api_needs_the_token_and_answers_what_the_ledger_commands_do() {
    let gateway = gateway_with_decisions();
    let entries = "/v1/admin/ledger/entries?product=vaultkey-desktop";

    let anonymous = curl(&gateway.url(entries), &[]);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(
        anonymous.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"cragate-admin\"")
    );
    let wrong = curl(
        &gateway.url(entries),
        &["-H", &format!("Authorization: Bearer {TOKEN}0")],
    );
    assert_eq!(wrong.status, 403, "{wrong:?}");
    assert_eq!(wrong.json()["type"], "urn:cragate:problem:token-mismatch");
    for path in ["/admin/config", "/metrics", "/v1/admin/ledger/key"] {
        assert_eq!(curl(&gateway.url(path), &[]).status, 401, "{path}");
    }
    assert_eq!(curl(&gateway.url("/healthz"), &[]).status, 200);

    let reply = admin(&gateway, entries);
    assert_eq!(reply.status, 200, "{reply:?}");
    let found = reply.json();
    let verdicts: Vec<&str> = found["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["body"]["kind"] == "decision")
        .map(|e| e["body"]["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["allow", "deny"], "{found}");
    assert_eq!(found["truncated"], false);
    let limited = admin(&gateway, &format!("{entries}&limit=1")).json();
    assert_eq!(limited["entries"].as_array().unwrap().len(), 1);
    assert_eq!(limited["truncated"], true);

    let unknown = admin(&gateway, "/v1/admin/ledger/entries?product=nobody");
    assert_eq!(unknown.status, 200, "{unknown:?}");
    assert_eq!(unknown.json()["entries"], Value::Array(vec![]));
    let bad = admin(&gateway, "/v1/admin/ledger/entries?since=yesterday");
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(bad.json()["type"], "urn:cragate:problem:bad-request");

    let chain = admin(&gateway, "/v1/admin/ledger/supply-chain/vaultkey-desktop");
    assert_eq!(chain.status, 200, "{chain:?}");
    let chain = chain.json();
    let suppliers = chain["upstream"].as_array().unwrap();
    assert_eq!(suppliers.len(), 1, "{chain}");
    assert_eq!(
        suppliers[0]["body"]["counterparty"]["name"],
        "Vaultkey Software GmbH"
    );
    assert_eq!(chain["downstream"], Value::Array(vec![]));
    let nobody = admin(&gateway, "/v1/admin/ledger/supply-chain/nobody").json();
    assert_eq!(nobody["upstream"], Value::Array(vec![]));

    let checkpoint = admin(&gateway, "/v1/admin/ledger/checkpoint");
    assert_eq!(checkpoint.status, 200, "{checkpoint:?}");
    let note = String::from_utf8(checkpoint.body).unwrap();
    assert!(note.starts_with("cragate-ledger/"), "{note}");
    assert!(note.contains("\n\n\u{2014} cragate-ledger/"), "{note}");
}

#[test]
fn an_export_from_the_api_verifies_with_cragate_and_with_the_python_script() {
    let gateway = gateway_with_decisions();
    let key = admin(&gateway, "/v1/admin/ledger/key");
    assert_eq!(key.status, 200, "{key:?}");
    let key = String::from_utf8(key.body).unwrap().trim().to_owned();
    assert!(key.starts_with("cragate-ledger/"), "{key}");

    let export = admin(&gateway, "/v1/admin/ledger/export?product=vaultkey-desktop");
    assert_eq!(export.status, 200, "{export:?}");
    assert_eq!(
        export.header("content-type").as_deref(),
        Some("application/jsonl")
    );
    let file = gateway.dir.path().join("vaultkey-desktop.jsonl");
    std::fs::write(&file, &export.body).unwrap();
    let lines = export.body.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let entries = lines
        .filter(|l| serde_json::from_slice::<Value>(l).unwrap()["type"] == "entry")
        .count();
    // Two decisions, each with its listing and verdict documents, and the
    // supply link of the accepted one.
    assert_eq!(entries, 7);

    let verified = verify_export(&file, Some(&key));
    assert!(verified.status.success(), "{}", stderr(&verified));
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(
        stdout.starts_with("export verified: 7 entries and 4 documents"),
        "{stdout}"
    );
    let script = python_verify_export(&file, &key);
    assert!(script.status.success(), "{}", stderr(&script));

    // One changed byte in the served export fails both verifiers.
    let text = String::from_utf8(export.body).unwrap();
    let tampered = gateway.dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, text.replacen("\\\"allow\\\"", "\\\"deny\\\"", 1)).unwrap();
    assert_ne!(std::fs::read(&tampered).unwrap(), text.as_bytes());
    assert_eq!(verify_export(&tampered, Some(&key)).status.code(), Some(1));
    assert_eq!(python_verify_export(&tampered, &key).status.code(), Some(1));

    let unselected = admin(&gateway, "/v1/admin/ledger/export");
    assert_eq!(unselected.status, 400, "{unselected:?}");
}

#[test]
fn admin_routes_are_closed_when_no_authentication_is_configured() {
    let gateway = Gateway::start(&[]);
    let header = format!("Authorization: Bearer {TOKEN}");
    for path in ["/admin/config", "/v1/admin/ledger/key"] {
        let reply = curl(&gateway.url(path), &["-H", &header]);
        assert_eq!(reply.status, 403, "{path}: {reply:?}");
        assert_eq!(reply.json()["type"], "urn:cragate:problem:admin-closed");
    }
    // Metrics stay open until an administrator can be authenticated.
    assert_eq!(curl(&gateway.url("/metrics"), &[]).status, 200);
}

#[test]
fn a_short_bearer_token_is_refused_with_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin-token");
    std::fs::write(&token, "too-short\n").unwrap();
    let config = dir.path().join("cragate.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n\n[admin]\nbearer_token_file = {:?}\n",
            token.display().to_string()
        ),
    )
    .unwrap();
    let out = cragate()
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr(&out);
    assert!(stderr.contains("cragate.toml:4: "), "{stderr}");
    assert!(stderr.contains("9 bytes; at least 32"), "{stderr}");
}

#[test]
fn an_outbound_supply_recorded_through_the_api_is_in_the_supply_chain() {
    let gateway = gateway_with_decisions();
    let header = format!("Authorization: Bearer {TOKEN}");
    let shipment = r#"{"direction": "outbound", "product": "vaultkey-desktop",
        "release": "3.1.0", "quantity": 250,
        "counterparty": {"id": "nordhandel-ab", "name": "Nordhandel AB",
                         "postal_address": "Kungsgatan 7, 111 43 Stockholm, Sweden"},
        "supplied_on": "2026-11-20", "support_end": "2032-12-31"}"#;
    let url = gateway.url("/v1/admin/ledger/supply-links");
    let anonymous = curl(&url, &["-X", "POST", "--data-binary", shipment]);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    let recorded = curl(
        &url,
        &["-X", "POST", "-H", &header, "--data-binary", shipment],
    );
    assert_eq!(recorded.status, 201, "{recorded:?}");
    assert!(recorded.json()["index"].as_u64().is_some(), "{recorded:?}");

    let bad = curl(
        &url,
        &[
            "-X",
            "POST",
            "-H",
            &header,
            "--data-binary",
            r#"{"direction": "sideways"}"#,
        ],
    );
    assert_eq!(bad.status, 400, "{bad:?}");

    let chain = admin(&gateway, "/v1/admin/ledger/supply-chain/vaultkey-desktop").json();
    let customers: Vec<&str> = chain["downstream"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"]["counterparty"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(customers, ["Nordhandel AB"], "{chain}");
    assert_eq!(chain["upstream"].as_array().unwrap().len(), 1, "{chain}");
}
