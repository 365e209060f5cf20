//! Halts on several `cragate serve` nodes sharing one PostgreSQL ledger: a
//! notice posted to one node is in force on every node within a second
//! (each polls the shared halt state), its sequence is the issuer's last
//! everywhere (a replay to another node is refused), and a lift posted to
//! another node ends it on all of them. The nodes run one outbox: a
//! customer's notification is delivered once, whichever node claims it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

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
    start_nodes_with(dir, count, url, policy, "")
}

/// The same, with `partners` (TOML: `[[customers]]`, `[[suppliers]]`) in
/// every node's configuration.
fn start_nodes_with(
    dir: &Path,
    count: usize,
    url: &str,
    policy: &Path,
    partners: &str,
) -> Vec<Gateway> {
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
                    "ledger = {url:?}\nledger_key = {:?}\n{partners}\n[admin]\nbearer_token_file = {:?}\n",
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

/// The kinds of the entries on the shared ledger at `url`.
fn ledger_kinds(url: &str, dir: &Path) -> Vec<String> {
    let output = cragate()
        .args(["ledger", "query", "--ledger", url, "--ledger-key"])
        .arg(dir.join("ledger-key.p8"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            record["body"]["kind"].as_str().unwrap().to_owned()
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
    let notices = ledger_kinds(&url, dir.path())
        .iter()
        .filter(|kind| *kind == "halt_notice")
        .count();
    assert_eq!(notices, 2, "the halt and its lift, once each");
}

/// A customer's webhook endpoint: answers each request `200` after
/// `delay` (so that a delivery is in flight a while) and keeps the
/// `webhook-id` of each request it was sent.
struct Receiver {
    url: String,
    ids: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/cragate", listener.local_addr().unwrap());
        let ids = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&ids);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || answer_hooks(stream, &seen, delay));
            }
        });
        Self { url, ids }
    }

    fn ids(&self) -> Vec<String> {
        self.ids.lock().unwrap().clone()
    }
}

/// Answers the requests of one keep-alive connection.
fn answer_hooks(stream: TcpStream, seen: &Mutex<Vec<String>>, delay: Duration) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        assert!(
            request_line.starts_with("POST /hooks/cragate "),
            "{request_line:?}"
        );
        let mut id = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "webhook-id" => value.trim().clone_into(&mut id),
                    "content-length" => length = value.trim().parse().unwrap(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let event: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(event["type"], "eu.cragate.halt.v1", "{event}");
        assert!(!id.is_empty(), "a webhook without its webhook-id");
        seen.lock().unwrap().push(id);
        std::thread::sleep(delay);
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

#[test]
fn a_notification_is_delivered_once_although_three_nodes_run_the_outbox() {
    use base64::Engine;
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let key = openssl_key(dir.path(), "psirt", Algorithm::Ed25519);
    let policy = app_store_policy_with(
        dir.path(),
        &halt_issuers(&[("keyguard-psirt", &key.public, &["vaultkey-*"])]),
    );
    let receiver = Receiver::start(Duration::from_millis(300));
    let secret = dir.path().join("distributor.whsec");
    let encoded = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    std::fs::write(&secret, format!("whsec_{encoded}\n")).unwrap();
    let customers = format!(
        "[[customers]]\nid = \"distributor\"\nwebhook = {:?}\nsecret_file = {:?}\n",
        receiver.url,
        secret.display().to_string()
    );
    let url = postgres.database();
    let nodes = start_nodes_with(dir.path(), 3, &url, &policy, &customers);

    // The product was supplied to the customer, recorded through node 2.
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let link = json!({
        "direction": "outbound", "product": PRODUCT, "release": "3.1.0", "quantity": 5,
        "counterparty": {"id": "distributor", "name": "Distributor", "postal_address": "Hafenstr. 1, Hamburg"},
        "supplied_on": "2026-11-20", "support_end": null
    });
    let reply = send_json_with(
        "POST",
        &nodes[1].url("/v1/admin/ledger/supply-links"),
        link.to_string().as_bytes(),
        &["-H", &auth],
    );
    assert_eq!(reply.status, 201, "{reply:?}");

    let mut halt = notice("keyguard-psirt", 7, "halt", &[PRODUCT]);
    halt["scope"]["versions"] = json!("<4.0.0");
    let reply = post_halt(&nodes[0], &sign(dir.path(), &key, &halt));
    assert_eq!(reply.status, 201, "{reply:?}");

    let started = Instant::now();
    while receiver.ids().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the customer was not notified within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("customer notified {:?} after the 201", started.elapsed());
    // Long enough for a second node to send it again, were it to.
    std::thread::sleep(Duration::from_secs(5));
    let ids = receiver.ids();
    assert_eq!(ids.len(), 1, "delivered more than once: {ids:?}");

    // Every node shows the one delivery done.
    for node in &nodes {
        let shown = node.admin("/v1/halts/keyguard-psirt/7").json();
        let deliveries = shown["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 1, "{shown}");
        assert_eq!(deliveries[0]["customer"], "distributor", "{shown}");
        assert_eq!(deliveries[0]["state"], "delivered", "{shown}");
    }
    let kinds = ledger_kinds(&url, dir.path());
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("notification_sent"), 1, "{kinds:?}");
    assert_eq!(count("notification_acknowledged"), 1, "{kinds:?}");
}
