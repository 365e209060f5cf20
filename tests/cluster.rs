//! Several `cragate serve` nodes on one PostgreSQL ledger: every decision
//! any node acknowledged is on the one ledger exactly once, in one dense
//! order; a node killed under load loses none; a database outage refuses
//! submissions (503, nothing accepted) and service resumes when it is back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::postgres_util::Postgres;
use crate::serve_util::{Gateway, accepted_listing, post_file};
use crate::util::cragate;

/// A node's configuration file: the shared database and key.
fn node_config(dir: &Path, n: usize, url: &str, key: &Path) -> PathBuf {
    let path = dir.join(format!("node{n}.toml"));
    let text = format!("ledger = \"{url}\"\nledger_key = \"{}\"\n", key.display());
    std::fs::write(&path, text).unwrap();
    path
}

/// The shared key, made once before the nodes start.
pub(crate) fn shared_key(dir: &Path, url: &str) -> PathBuf {
    let key = dir.join("ledger-key.p8");
    let output = cragate()
        .args(["ledger", "key", "--ledger", url, "--ledger-key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    key
}

fn start_nodes(dir: &Path, count: usize, url: &str, key: &Path) -> Vec<Gateway> {
    (0..count)
        .map(|n| {
            let config = node_config(dir, n, url, key);
            Gateway::start(&["--config", config.to_str().unwrap()])
        })
        .collect()
}

/// The accepted example listing under another product id.
fn listing(dir: &Path, id: &str) -> PathBuf {
    let mut listing: Value =
        serde_json::from_slice(&std::fs::read(accepted_listing()).unwrap()).unwrap();
    listing["product"]["id"] = Value::String(id.to_owned());
    let path = dir.join(format!("{id}.json"));
    std::fs::write(&path, serde_json::to_vec(&listing).unwrap()).unwrap();
    path
}

/// Every record of the ledger, by `cragate ledger query`.
fn records(url: &str, key: &Path) -> Vec<Value> {
    let output = cragate()
        .args(["ledger", "query", "--ledger", url, "--ledger-key"])
        .arg(key)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Decisions per product id, and whether the indexes are 0..n.
fn decisions(records: &[Value]) -> (BTreeMap<String, usize>, bool) {
    let mut per_product = BTreeMap::new();
    for record in records {
        if record["body"]["kind"] == "decision" {
            let product = record["body"]["product"].as_str().unwrap().to_owned();
            *per_product.entry(product).or_insert(0) += 1;
        }
    }
    let dense = records
        .iter()
        .enumerate()
        .all(|(n, record)| record["index"].as_u64() == Some(n as u64));
    (per_product, dense)
}

fn verify(url: &str, key: &Path) {
    let output = cragate()
        .args(["ledger", "verify", "--ledger", url, "--ledger-key"])
        .arg(key)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn three_nodes_on_one_database_record_every_acknowledged_decision_once() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let key = shared_key(dir.path(), &url);
    let nodes = start_nodes(dir.path(), 3, &url, &key);
    let clients: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let submit = node.url("/v1/listings");
            let dir = dir.path().to_owned();
            std::thread::spawn(move || {
                (0..12)
                    .map(|i| {
                        let id = format!("cam-node{n}-{i}");
                        let reply = post_file(&submit, &listing(&dir, &id));
                        assert_eq!(reply.status, 201, "{id}: {reply:?}");
                        id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acknowledged: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert_eq!(acknowledged.len(), 36);
    verify(&url, &key);
    let records = records(&url, &key);
    let (per_product, dense) = decisions(&records);
    assert!(dense, "leaf indexes are 0..{}", records.len());
    for id in &acknowledged {
        assert_eq!(per_product.get(id), Some(&1), "{id} is on the ledger once");
    }
    assert_eq!(per_product.len(), acknowledged.len());
}

#[test]
fn a_node_killed_under_load_loses_no_acknowledged_decision() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let key = shared_key(dir.path(), &url);
    let mut nodes = start_nodes(dir.path(), 2, &url, &key);
    let mut victim = nodes.pop().unwrap();
    let submit = victim.url("/v1/listings");
    let survivor = nodes[0].url("/v1/listings");
    let load_dir = dir.path().to_owned();
    let load = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for i in 0..200 {
            let id = format!("cam-load-{i}");
            let reply = post_file(&submit, &listing(&load_dir, &id));
            match reply.status {
                201 => acknowledged.push(id),
                // The node is gone: nothing more is acknowledged.
                0 => break,
                other => panic!("{id}: {other} {reply:?}"),
            }
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(1500));
    victim.sigkill();
    let acknowledged = load.join().unwrap();
    assert!(!acknowledged.is_empty(), "the load ran before the kill");
    assert!(acknowledged.len() < 200, "the kill came while the load ran");
    // The other node still records.
    let reply = post_file(&survivor, &listing(dir.path(), "cam-after"));
    assert_eq!(reply.status, 201, "{reply:?}");
    verify(&url, &key);
    let records = records(&url, &key);
    let (per_product, dense) = decisions(&records);
    assert!(dense, "leaf indexes are 0..{}", records.len());
    for id in acknowledged.iter().chain(["cam-after".to_owned()].iter()) {
        assert_eq!(per_product.get(id), Some(&1), "{id} is on the ledger once");
    }
    assert!(per_product.values().all(|&n| n == 1));
}

#[test]
fn a_database_outage_refuses_submissions_and_service_resumes_after_it() {
    let mut postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let key = shared_key(dir.path(), &url);
    let nodes = start_nodes(dir.path(), 1, &url, &key);
    let submit = nodes[0].url("/v1/listings");
    let before = post_file(&submit, &listing(dir.path(), "cam-before"));
    assert_eq!(before.status, 201, "{before:?}");

    postgres.stop();
    let during = post_file(&submit, &listing(dir.path(), "cam-during"));
    assert_eq!(during.status, 503, "{during:?}");
    assert_eq!(
        during.json()["type"],
        "urn:cragate:problem:ledger-unavailable"
    );
    let read = crate::serve_util::curl(&nodes[0].url("/v1/listings/cam-during"), &[]);
    assert_eq!(read.status, 404, "nothing was accepted: {read:?}");

    postgres.resume();
    let after = post_file(&submit, &listing(dir.path(), "cam-after"));
    assert_eq!(after.status, 201, "{after:?}");
    let (per_product, dense) = decisions(&records(&url, &key));
    assert!(dense);
    assert_eq!(per_product.get("cam-before"), Some(&1));
    assert_eq!(per_product.get("cam-during"), None);
    assert_eq!(per_product.get("cam-after"), Some(&1));
}
