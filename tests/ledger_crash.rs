//! Crash safety of the decision ledger through the real `cragate serve`:
//! clients submit a few thousand listings while the gateway is killed with
//! SIGKILL at pseudo-random moments and restarted on the same data
//! directory. Every submission that received `201 Created` must be in the
//! ledger as an `allow` decision, and `cragate ledger verify` must pass.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{cragate, testdata};

/// Submissions that must succeed in all, across every run of the gateway.
const SUCCESSES: usize = 2_000;
/// How many times the gateway is killed.
const KILLS: usize = 5;
/// Concurrent clients.
const CLIENTS: usize = 4;

fn start(data: &Path) -> (Child, String) {
    let mut child = cragate()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().strip_prefix("listening on http://").unwrap();
    (child, base.to_owned())
}

/// One listing per submission: the accepted example under a unique id.
fn listing(template: &Value, n: usize) -> Vec<u8> {
    let mut listing = template.clone();
    listing["product"]["id"] = Value::String(format!("crash-{n}"));
    serde_json::to_vec(&listing).unwrap()
}

/// POSTs one listing with a plain HTTP/1.1 exchange; the status code, or
/// `None` when the connection failed or broke off before a whole answer.
fn submit(address: &str, body: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let head = format!(
        "POST /v1/listings HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let declared: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })?
        .parse()
        .ok()?;
    if body.len() < declared {
        return None;
    }
    head.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn every_acknowledged_decision_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let template: Value = serde_json::from_slice(
        &std::fs::read(testdata().join("examples/accepted-listing.json")).unwrap(),
    )
    .unwrap();
    let (mut child, base) = start(&data);
    let address = Arc::new(RwLock::new(base));
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let interrupted = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (address, next, done, acknowledged, interrupted, template) = (
                Arc::clone(&address),
                Arc::clone(&next),
                Arc::clone(&done),
                Arc::clone(&acknowledged),
                Arc::clone(&interrupted),
                template.clone(),
            );
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let target = address.read().unwrap().clone();
                    match submit(&target, &listing(&template, n)) {
                        Some(201) => {
                            acknowledged.lock().unwrap().insert(format!("crash-{n}"));
                        }
                        Some(status) => panic!("crash-{n}: unexpected status {status}"),
                        None => {
                            interrupted.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            })
        })
        .collect();

    // Kill at pseudo-random moments (a fixed xorshift sequence).
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let started = Instant::now();
    for _ in 0..KILLS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::thread::sleep(Duration::from_millis(300 + state % 1200));
        child.kill().unwrap();
        child.wait().unwrap();
        let (restarted, base) = start(&data);
        child = restarted;
        *address.write().unwrap() = base;
    }
    while acknowledged.lock().unwrap().len() < SUCCESSES {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {} submissions succeeded in ten minutes",
            acknowledged.lock().unwrap().len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    done.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(
        interrupted.load(Ordering::SeqCst) > 0,
        "no submission was interrupted: the kills proved nothing"
    );

    let verify = cragate()
        .args(["ledger", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "ledger verify failed: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    let query = cragate()
        .args(["ledger", "query", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(query.status.success());
    let allowed: BTreeSet<String> = String::from_utf8_lossy(&query.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| {
            record["body"]["kind"] == "decision" && record["body"]["verdict"] == "allow"
        })
        .map(|record| record["body"]["product"].as_str().unwrap().to_owned())
        .collect();
    let acknowledged = acknowledged.lock().unwrap();
    let lost: Vec<&String> = acknowledged.difference(&allowed).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged decisions are not in the ledger, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    // Lookup rows that waited in memory at a kill were rebuilt on the next
    // start: a query by product finds every acknowledged decision too.
    for product in acknowledged.iter().step_by(97) {
        let by_product = cragate()
            .args(["ledger", "query", "--product", product, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        let found = String::from_utf8_lossy(&by_product.stdout);
        assert!(
            found
                .lines()
                .any(|line| line.contains("\"kind\":\"decision\"")),
            "a query by product does not find {product}"
        );
    }
}
