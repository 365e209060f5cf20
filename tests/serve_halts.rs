//! Halt notices on the real `cragate serve`: `POST /v1/halts`, the
//! refusals with nothing changed, the notices in force, their effect on
//! every product route, a lift, and a restart.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::halt_util::{
    Algorithm, KeyPair, app_store_policy_with, halt_issuers, lift, notice, openssl_key, sign,
};
use crate::serve_util::{
    ADMIN_TOKEN, Gateway, Nginx, PAGES_ROUTE, Reply, accepted_artifact, accepted_listing, curl,
    kinds, post_file, put_file, send_json_with, sha256,
};

/// The product of the accepted example listing, and its version.
const PRODUCT: &str = "vaultkey-desktop";

/// Keys and files a halting gateway runs with, kept across restarts.
struct Setup {
    dir: tempfile::TempDir,
    trusted: KeyPair,
    other: KeyPair,
    policy: std::path::PathBuf,
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
        let policy = app_store_policy_with(
            dir.path(),
            &halt_issuers(&[("keyguard-psirt", &trusted.public, &["vaultkey-*"])]),
        );
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
            policy,
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

/// The accepted example listing and its artifact, stored through the gateway.
fn stock(gateway: &Gateway) -> String {
    let reply = post_file(&gateway.url("/v1/listings"), &accepted_listing());
    assert_eq!(reply.status, 201, "{reply:?}");
    let digest = sha256(&accepted_artifact());
    let reply = put_file(
        &gateway.url(&format!("/v1/artifacts/{digest}")),
        &accepted_artifact(),
        &[],
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    digest
}

/// Asserts a 451 problem carrying the notice's reason and reference.
fn assert_halted(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 451, "{what}: {reply:?}");
    let problem = reply.json();
    assert_eq!(problem["type"], "urn:cragate:problem:halted", "{what}");
    assert_eq!(problem["notice"]["issuer"], "keyguard-psirt", "{what}");
    assert_eq!(
        problem["notice"]["reason"], "CVE-2026-1234 actively exploited; units must not be supplied",
        "{what}"
    );
    assert_eq!(
        problem["notice"]["reference"]["advisory"],
        "https://lumatek.example/csaf/2026/ltk-2026-007.json",
        "{what}"
    );
}

#[test]
fn a_halted_product_answers_451_on_every_route_until_lifted() {
    let setup = Setup::new();
    let gateway = setup.start();
    let digest = stock(&gateway);
    let listing = gateway.url(&format!("/v1/listings/{PRODUCT}"));
    let artifact = gateway.url(&format!("/v1/artifacts/{digest}"));
    assert_eq!(curl(&listing, &[]).status, 200);
    assert_eq!(curl(&artifact, &[]).status, 200);

    // Read once more so the verdict is cached: the halt still applies.
    assert_eq!(curl(&listing, &[]).status, 200);
    assert_eq!(
        post_halt(&gateway, &setup.halt(&setup.trusted, 7, PRODUCT)).status,
        201
    );
    let decisions_before = gateway.ledger().len();
    assert_halted(&curl(&listing, &[]), "listing read");
    assert_halted(&curl(&artifact, &[]), "download");
    assert_halted(
        &curl(&artifact, &["-H", "Range: bytes=0-3"]),
        "ranged download",
    );
    assert_halted(
        &post_file(&gateway.url("/v1/listings"), &accepted_listing()),
        "submission",
    );
    assert_halted(&put_file(&artifact, &accepted_artifact(), &[]), "upload");
    assert_eq!(
        gateway.ledger().len(),
        decisions_before,
        "a refused request recorded a decision"
    );

    let signed = sign(
        setup.path(),
        &setup.trusted,
        &lift("keyguard-psirt", 8, &[7], &[PRODUCT]),
    );
    assert_eq!(post_halt(&gateway, &signed).status, 201);
    assert_eq!(curl(&listing, &[]).status, 200);
    assert_eq!(curl(&artifact, &[]).status, 200);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &accepted_listing()).status,
        201
    );
}

#[test]
fn a_halt_outside_the_products_version_leaves_it_available() {
    let setup = Setup::new();
    let gateway = setup.start();
    let digest = stock(&gateway);
    // The example is version 3.1.0.
    let mut halt = notice("keyguard-psirt", 7, "recall", &[PRODUCT]);
    halt["scope"]["versions"] = json!("<3.0.0");
    assert_eq!(
        post_halt(&gateway, &sign(setup.path(), &setup.trusted, &halt)).status,
        201
    );
    assert_eq!(
        curl(&gateway.url(&format!("/v1/listings/{PRODUCT}")), &[]).status,
        200
    );
    assert_eq!(
        curl(&gateway.url(&format!("/v1/artifacts/{digest}")), &[]).status,
        200
    );
    // Another version range, the same product: withdrawn.
    let mut halt = notice("keyguard-psirt", 8, "withdraw", &[PRODUCT]);
    halt["scope"]["versions"] = json!(">=3.0.0, <3.2.0");
    assert_eq!(
        post_halt(&gateway, &sign(setup.path(), &setup.trusted, &halt)).status,
        201
    );
    assert_halted(
        &curl(&gateway.url(&format!("/v1/listings/{PRODUCT}")), &[]),
        "listing read",
    );
}

#[test]
fn a_halt_in_force_still_blocks_after_a_restart() {
    let setup = Setup::new();
    let mut gateway = setup.start();
    let digest = stock(&gateway);
    assert_eq!(
        post_halt(&gateway, &setup.halt(&setup.trusted, 7, PRODUCT)).status,
        201
    );
    gateway.sigkill();
    drop(gateway);
    let gateway = setup.start();
    assert_halted(
        &curl(&gateway.url(&format!("/v1/listings/{PRODUCT}")), &[]),
        "listing read",
    );
    assert_halted(
        &curl(&gateway.url(&format!("/v1/artifacts/{digest}")), &[]),
        "download",
    );
}

#[test]
fn a_halted_product_is_withheld_from_judged_catalog_pages() {
    let setup = Setup::new();
    let nginx = Nginx::start();
    let gateway = Gateway::fronting(
        &nginx,
        &format!(
            "policy = {:?}\n{PAGES_ROUTE}",
            setup.policy.display().to_string()
        ),
    );
    let accepted = std::fs::read_to_string(accepted_listing()).unwrap();
    let pages = nginx.root.join("store/pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(
        pages.join("1.json"),
        format!("{{\"items\": [{{\"listing\": {accepted}}}]}}"),
    )
    .unwrap();
    let page = gateway.url("/store/pages/1.json");
    let reply = curl(&page, &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cragate-withheld").as_deref(), Some("0"));

    assert_eq!(
        post_halt(&gateway, &setup.halt(&setup.trusted, 7, PRODUCT)).status,
        201
    );
    let reply = curl(&page, &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cragate-withheld").as_deref(), Some("1"));
    assert_eq!(reply.json()["items"], json!([]));
    let listing = gateway.url(&format!("/store/listings/{PRODUCT}.json"));
    std::fs::create_dir_all(nginx.root.join("store/listings")).unwrap();
    std::fs::write(
        nginx.root.join(format!("store/listings/{PRODUCT}.json")),
        &accepted,
    )
    .unwrap();
    assert_halted(
        &curl(&listing, &[]),
        "listing read through the HTTP upstream",
    );
}
