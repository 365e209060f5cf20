//! Halts on several `cragate serve` nodes sharing one PostgreSQL ledger: a
//! notice posted to one node is in force on every node within a second
//! (each polls the shared halt state), its sequence is the issuer's last
//! everywhere (a replay to another node is refused), and a lift posted to
//! another node ends it on all of them.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::halt_util::{
    Algorithm, app_store_policy_with, halt_issuers, lift, notice, openssl_key, sign,
};
use crate::postgres_util::Postgres;
use crate::serve_util::{
    ADMIN_TOKEN, Gateway, Reply, accepted_listing, curl, post_file, send_json_with,
};
use crate::util::cragate;

const PRODUCT: &str = "vaultkey-desktop";

/// Starts `count` nodes on the database at `url`, each with its own data
/// folder, the same policy, key and admin token.
fn start_nodes(dir: &Path, count: usize, url: &str, policy: &Path) -> Vec<Gateway> {
    let key = dir.join("ledger-key.p8");
    let made = cragate()
        .args(["ledger", "key", "--ledger", url, "--ledger-key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let token = dir.join("admin-token");
    std::fs::write(&token, format!("{ADMIN_TOKEN}\n")).unwrap();
    (0..count)
        .map(|n| {
            let config = dir.join(format!("node{n}.toml"));
            std::fs::write(
                &config,
                format!(
                    "ledger = {url:?}\nledger_key = {:?}\n[admin]\nbearer_token_file = {:?}\n",
                    key.display().to_string(),
                    token.display().to_string()
                ),
            )
            .unwrap();
            Gateway::start(&[
                "--config",
                config.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
            ])
        })
        .collect()
}

fn post_halt(gateway: &Gateway, signed: &[u8]) -> Reply {
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}");
    send_json_with("POST", &gateway.url("/v1/halts"), signed, &["-H", &auth])
}

/// The (issuer, sequence) of the notices in force on `gateway`.
fn in_force(gateway: &Gateway) -> Vec<(String, u64)> {
    let reply = gateway.admin("/v1/halts");
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["halts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h: &Value| {
            (
                h["issuer"].as_str().unwrap().to_owned(),
                h["sequence"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Waits until every node shows `expected` in force; how long it took.
/// The budget is one second (DESIGN.md, "Scale"); the test allows more
/// on a loaded machine and the time is reported.
fn until_everywhere(nodes: &[Gateway], expected: &[(String, u64)]) -> Duration {
    let start = Instant::now();
    loop {
        if nodes.iter().all(|node| in_force(node) == expected) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not in force on every node after 10 s: {:?}",
            nodes.iter().map(in_force).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_halt_posted_to_one_node_is_in_force_on_every_node_and_a_lift_ends_it_everywhere() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let key = openssl_key(dir.path(), "psirt", Algorithm::Ed25519);
    let policy = app_store_policy_with(
        dir.path(),
        &halt_issuers(&[("keyguard-psirt", &key.public, &["vaultkey-*"])]),
    );
    let url = postgres.database();
    let nodes = start_nodes(dir.path(), 3, &url, &policy);
    // Each node's own catalog holds the product, accepted.
    for node in &nodes {
        let stored = post_file(&node.url("/v1/listings"), &accepted_listing());
        assert_eq!(stored.status, 201, "{stored:?}");
    }
    let read = |node: &Gateway| curl(&node.url(&format!("/v1/listings/{PRODUCT}")), &[]).status;

    let mut halt = notice("keyguard-psirt", 7, "halt", &[PRODUCT]);
    // Every version of the example product (3.x).
    halt["scope"]["versions"] = serde_json::json!("<4.0.0");
    let halt = sign(dir.path(), &key, &halt);
    let reply = post_halt(&nodes[0], &halt);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(
        in_force(&nodes[0]),
        [("keyguard-psirt".to_owned(), 7)],
        "in force on its own node before the 201"
    );
    let took = until_everywhere(&nodes, &[("keyguard-psirt".to_owned(), 7)]);
    eprintln!("halt in force on every node {took:?} after the 201");
    for node in &nodes {
        assert_eq!(read(node), 451, "the listing is halted on every node");
    }

    // The issuer's sequence is shared: the same notice sent to another
    // node is a replay, refused, and recorded nowhere.
    let replay = post_halt(&nodes[1], &halt);
    assert_eq!(replay.status, 409, "{replay:?}");

    let lifted = sign(
        dir.path(),
        &key,
        &lift("keyguard-psirt", 8, &[7], &[PRODUCT]),
    );
    let reply = post_halt(&nodes[2], &lifted);
    assert_eq!(reply.status, 201, "{reply:?}");
    let took = until_everywhere(&nodes, &[]);
    eprintln!("lift in effect on every node {took:?} after the 201");
    for node in &nodes {
        assert_eq!(
            read(node),
            200,
            "the lift restores the listing on every node"
        );
    }

    // One ledger entry per accepted notice, whichever node took it.
    let output = cragate()
        .args(["ledger", "query", "--ledger", &url, "--ledger-key"])
        .arg(dir.path().join("ledger-key.p8"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let notices = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.contains("\"halt_notice\""))
        .count();
    assert_eq!(notices, 2, "the halt and its lift, once each");
}
