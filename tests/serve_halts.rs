//! Halt notices on the real `cragate serve`: `POST /v1/halts`, the
//! refusals with nothing changed, the notices in force, their effect on
//! every product route, a lift, and a restart.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::halt_util::{Algorithm, KeyPair, halt_issuers, lift, notice, openssl_key, sign};
use crate::serve_util::{ADMIN_TOKEN, Gateway, Reply, kinds, send_json_with};
use crate::util::testdata;

/// The product of the accepted example listing, and its version.
const PRODUCT: &str = "vaultkey-desktop";

/// Keys and files a halting gateway runs with, kept across restarts.
struct Setup {
    dir: tempfile::TempDir,
    trusted: KeyPair,
    other: KeyPair,
    args: Vec<String>,
}

impl Setup {
    /// The shipped app-store policy (its files named by absolute paths)
    /// with `[[halt_issuers]]` trusting `trusted` for `vaultkey-*` as
    /// issuer `keyguard-psirt`, admin routes open with [`ADMIN_TOKEN`].
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let trusted = openssl_key(dir.path(), "trusted", Algorithm::Ed25519);
        let other = openssl_key(dir.path(), "other", Algorithm::Ed25519);
        let policies = testdata().join("../policies").canonicalize().unwrap();
        let shipped = std::fs::read_to_string(policies.join("app-store.toml")).unwrap();
        let mut text = String::new();
        for line in shipped.lines() {
            // Relative file references become absolute.
            let line = ["harmonised/", "notified-bodies/", "trust-roots/"]
                .iter()
                .fold(line.to_owned(), |l, folder| {
                    l.replace(
                        &format!("\"{folder}"),
                        &format!("\"{}/{folder}", policies.display()),
                    )
                });
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(&halt_issuers(&[(
            "keyguard-psirt",
            &trusted.public,
            &["vaultkey-*"],
        )]));
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, text).unwrap();
        let token = dir.path().join("admin-token");
        std::fs::write(&token, format!("{ADMIN_TOKEN}\n")).unwrap();
        let config = dir.path().join("cragate.toml");
        std::fs::write(
            &config,
            format!(
                "[admin]\nbearer_token_file = {:?}\n",
                token.display().to_string()
            ),
        )
        .unwrap();
        let data = dir.path().join("data");
        let args = vec![
            "--config".to_owned(),
            config.display().to_string(),
            "--policy".to_owned(),
            policy.display().to_string(),
            "--data-dir".to_owned(),
            data.display().to_string(),
        ];
        Self {
            dir,
            trusted,
            other,
            args,
        }
    }

    fn start(&self) -> Gateway {
        // The data folder is the setup's, so it outlives each process.
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Gateway::start_separate(&args)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A halt of [`PRODUCT`] (every version below 4) signed by `key`.
    fn halt(&self, key: &KeyPair, sequence: u64, product: &str) -> Vec<u8> {
        let mut halt = notice("keyguard-psirt", sequence, "halt", &[product]);
        halt["scope"]["versions"] = json!("<4.0.0");
        sign(self.path(), key, &halt)
    }
}

fn post_halt(gateway: &Gateway, signed: &[u8]) -> Reply {
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}");
    send_json_with("POST", &gateway.url("/v1/halts"), signed, &["-H", &auth])
}

fn in_force(gateway: &Gateway) -> Vec<Value> {
    let reply = gateway.admin("/v1/halts");
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["halts"].as_array().unwrap().clone()
}

/// The problem type of a refusal.
fn problem_type(reply: &Reply) -> String {
    reply.json()["type"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_signed_halt_is_on_the_ledger_and_in_force_before_its_201() {
    let setup = Setup::new();
    let gateway = setup.start();
    let signed = setup.halt(&setup.trusted, 7, PRODUCT);

    let anonymous = send_json_with("POST", &gateway.url("/v1/halts"), &signed, &[]);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(
        problem_type(&anonymous),
        "urn:cragate:problem:credentials-required"
    );
    gateway.assert_ledger_empty();

    let reply = post_halt(&gateway, &signed);
    assert_eq!(reply.status, 201, "{reply:?}");
    let created = reply.json();
    assert_eq!(created["issuer"], "keyguard-psirt");
    assert_eq!(created["sequence"], 7);
    assert_eq!(created["in_force"], true);
    assert_eq!(created["deliveries"], json!([]));
    assert_eq!(created["notice"]["scope"]["products"], json!([PRODUCT]));

    let records = gateway.ledger();
    assert_eq!(kinds(&records), ["halt_notice"]);
    let body = &records[0]["body"];
    assert_eq!(body["issuer"], "keyguard-psirt");
    assert_eq!(body["sequence"], 7);
    assert_eq!(body["action"], "halt");
    assert_eq!(body["products"], json!([PRODUCT]));
    assert_eq!(created["ledger_index"], records[0]["index"]);

    let listed = in_force(&gateway);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["sequence"], 7);
    let one = gateway.admin("/v1/halts/keyguard-psirt/7");
    assert_eq!(one.status, 200, "{one:?}");
    assert_eq!(
        one.json()["signed"]["payloadType"],
        "application/vnd.cragate.halt.v1+json"
    );
    assert_eq!(gateway.admin("/v1/halts/keyguard-psirt/8").status, 404);
    assert_eq!(gateway.admin("/v1/halts/keyguard-psirt/seven").status, 400);
}

#[test]
fn refused_halt_notices_change_nothing() {
    let setup = Setup::new();
    let gateway = setup.start();
    assert_eq!(
        post_halt(&gateway, &setup.halt(&setup.trusted, 7, PRODUCT)).status,
        201
    );
    let ledger_before = gateway.ledger();
    let in_force_before = in_force(&gateway);

    let mut altered: Value =
        serde_json::from_slice(&setup.halt(&setup.trusted, 9, PRODUCT)).unwrap();
    let mut changed = notice("keyguard-psirt", 9, "halt", &["vaultkey-server"]);
    changed["scope"]["versions"] = json!("<4.0.0");
    altered["payload"] = STANDARD
        .encode(serde_json::to_vec(&changed).unwrap())
        .into();

    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "untrusted key",
            setup.halt(&setup.other, 8, PRODUCT),
            401,
            "halt-bad-signature",
        ),
        (
            "altered payload",
            serde_json::to_vec(&altered).unwrap(),
            401,
            "halt-bad-signature",
        ),
        (
            "replay",
            setup.halt(&setup.trusted, 7, PRODUCT),
            409,
            "halt-replayed",
        ),
        (
            "older sequence",
            setup.halt(&setup.trusted, 6, PRODUCT),
            409,
            "halt-out-of-order",
        ),
        (
            "product outside the issuer's globs",
            setup.halt(&setup.trusted, 10, "othercam-1"),
            403,
            "halt-issuer-not-trusted",
        ),
        (
            "malformed",
            b"{\"payloadType\": 7}".to_vec(),
            400,
            "halt-malformed",
        ),
    ];
    for (what, signed, status, code) in cases {
        let reply = post_halt(&gateway, &signed);
        assert_eq!(reply.status, status, "{what}: {reply:?}");
        assert_eq!(
            reply.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{what}"
        );
        assert_eq!(
            problem_type(&reply),
            format!("urn:cragate:problem:{code}"),
            "{what}"
        );
        assert_eq!(
            gateway.ledger(),
            ledger_before,
            "{what}: the ledger changed"
        );
        assert_eq!(
            in_force(&gateway),
            in_force_before,
            "{what}: the halts changed"
        );
    }
    let reply = post_halt(&gateway, &setup.halt(&setup.other, 8, PRODUCT));
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("bad signature"), "{detail}");
}

#[test]
fn halts_and_their_sequences_survive_a_restart() {
    let setup = Setup::new();
    let mut gateway = setup.start();
    assert_eq!(
        post_halt(&gateway, &setup.halt(&setup.trusted, 7, PRODUCT)).status,
        201
    );
    gateway.sigterm();
    assert!(gateway.wait(Duration::from_secs(20)).success());
    drop(gateway);
    let gateway = setup.start();
    let listed = in_force(&gateway);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let replay = post_halt(&gateway, &setup.halt(&setup.trusted, 7, PRODUCT));
    assert_eq!(replay.status, 409, "{replay:?}");
}

#[test]
fn a_lift_ends_the_halt_it_names() {
    let setup = Setup::new();
    let gateway = setup.start();
    assert_eq!(
        post_halt(&gateway, &setup.halt(&setup.trusted, 7, PRODUCT)).status,
        201
    );
    let signed = sign(
        setup.path(),
        &setup.trusted,
        &lift("keyguard-psirt", 8, &[7], &[PRODUCT]),
    );
    let reply = post_halt(&gateway, &signed);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["action"], "lift");
    assert_eq!(in_force(&gateway), Vec::<Value>::new());
    let halt = gateway.admin("/v1/halts/keyguard-psirt/7").json();
    assert_eq!(halt["in_force"], false);
    assert_eq!(halt["lifted_by"], 8);
    assert_eq!(kinds(&gateway.ledger()), ["halt_notice", "halt_notice"]);
    assert_eq!(gateway.ledger()[1]["body"]["action"], "lift");
}
