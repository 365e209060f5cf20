//! Several nodes on one PostgreSQL ledger (DESIGN.md, "Scale"), against a
//! throwaway cluster the benchmark starts itself, as the tests do:
//!
//! 1. durable decisions per second through the group-commit appenders of
//!    one, two and three nodes on one database (64 writers in all), beside
//!    the redb file of one node in the same run (the baseline), with the
//!    CPU time per decision of the nodes and of PostgreSQL's processes;
//! 2. halt-to-451 on the other nodes: three `cragate serve` nodes, a halt
//!    posted to node 1, the time from its `201` until nodes 2 and 3 answer
//!    `451` for the product (p50, p99), beside the time to the `201`;
//! 3. a cached-verdict read (`GET /v1/listings/{id}`) through a node on
//!    PostgreSQL against one on redb (the baseline), with the gateway's CPU
//!    time per read.
//!
//! `cargo bench -p cragate --bench nodes`. `NODES_BENCH_DECISIONS` sets the
//! decisions per throughput run (default 20,000), `NODES_BENCH_HALTS` the
//! halts timed (default 50), `NODES_BENCH_READS` the reads per store
//! (default 2,000); `NODES_BENCH_CRAGATE` names another `cragate` binary
//! to run as the nodes (to compare two builds). Files go under the target
//! directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../tests/postgres_util.rs"]
mod postgres_util;

mod common;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cragate::ledger::entry::{Client, Entry, EntryBody};
use cragate::ledger::{Appender, LedgerStore, Location, StoreOptions, Submission};
use cragate_verifier::Digest;
use cragate_verifier::halt::{Envelope, EnvelopeSignature, HALT_PAYLOAD_TYPE, pae};
use cragate_verifier::verdict::Decision;
use serde_json::{Value, json};

use common::{Http, cpu_of, cpu_seconds};

use postgres_util::Postgres;

const TOKEN: &str = "0f3c5e7a9b1d2f4a6c8e0b2d4f6a8c0e1b3d5f7a";
/// Concurrent writers in every throughput run, spread over the nodes.
const WRITERS: u64 = 64;

fn main() {
    let decisions = env_number("NODES_BENCH_DECISIONS", 20_000);
    let halts = env_number("NODES_BENCH_HALTS", 50) as usize;
    let reads = env_number("NODES_BENCH_READS", 2_000) as usize;
    println!("nodes benchmark on {} cores", cores());
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let postgres = Postgres::start();

    decisions_per_second(dir.path(), &postgres, decisions);
    let key = Ed25519KeyPair::generate().unwrap();
    let policy = policy(dir.path(), &key);
    let url = postgres.database();
    let nodes: Vec<Node> = (0..3)
        .map(|n| Node::start(dir.path(), &format!("node{n}"), Some(&url), &policy))
        .collect();
    halt_to_451(&nodes, &key, halts);
    let redb = Node::start(dir.path(), "redb", None, &policy);
    cached_reads(&nodes[0], &redb, reads);
}

/// Part 1: the appenders of one, two and three nodes on one database.
fn decisions_per_second(dir: &Path, postgres: &Postgres, decisions: u64) {
    let key = dir.join("ledger-key.p8");
    let redb = Location::new(&dir.join("redb-ledger"), None, None)
        .open(StoreOptions::default())
        .unwrap();
    let baseline = throughput("redb, one node", vec![redb], decisions, || 0.0);
    for count in 1..=3usize {
        let url = postgres.database();
        let stores: Vec<Arc<dyn LedgerStore>> = (0..count)
            .map(|n| {
                Location::new(&dir.join(format!("pg{count}-{n}")), Some(&url), Some(&key))
                    .open(StoreOptions::default())
                    .unwrap()
            })
            .collect();
        let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
        let label = format!(
            "PostgreSQL, {count} node{}",
            if count > 1 { "s" } else { "" }
        );
        let rate = throughput(&label, stores, decisions, || postgres_cpu(port));
        println!("  {label} / redb = {:.2}x", rate / baseline);
    }
}

/// Durable decisions per second through `stores` (one appender each, as
/// one node has), [`WRITERS`] writers spread over them; prints the run and
/// returns the rate. `server_cpu` is the database's CPU time so far.
fn throughput(
    label: &str,
    stores: Vec<Arc<dyn LedgerStore>>,
    decisions: u64,
    server_cpu: impl Fn() -> f64,
) -> f64 {
    let first = Arc::clone(&stores[0]);
    let size_before = first.size().unwrap();
    let appenders: Vec<Arc<Appender>> = stores
        .into_iter()
        .map(|store| Arc::new(Appender::start(store).unwrap()))
        .collect();
    let per_writer = decisions / WRITERS;
    let (own_before, server_before) = (cpu_seconds(std::process::id()), server_cpu());
    let started = Instant::now();
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let appender = Arc::clone(&appenders[w as usize % appenders.len()]);
            std::thread::spawn(move || {
                for i in 0..per_writer {
                    appender
                        .append_blocking(decision(w * per_writer + i))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let elapsed = started.elapsed();
    let own = cpu_seconds(std::process::id()) - own_before;
    let server = server_cpu() - server_before;
    drop(appenders);
    let total = per_writer * WRITERS;
    // Every acknowledged decision is on the ledger, once: the tree grew by
    // exactly as many leaves.
    assert_eq!(first.size().unwrap() - size_before, total, "{label}");
    let rate = total as f64 / elapsed.as_secs_f64();
    println!(
        "durable decisions/s, {label}, {WRITERS} writers: {rate:>7.0} ({total} in {:.2} s; CPU per decision: nodes {:.0} µs, PostgreSQL {:.0} µs)",
        elapsed.as_secs_f64(),
        own * 1e6 / total as f64,
        server * 1e6 / total as f64,
    );
    rate
}

/// A decision as the gateway records it: one artifact and one DoC digest.
fn decision(n: u64) -> Submission {
    Submission::new(Entry {
        time: jiff::Timestamp::now(),
        body: EntryBody::Decision {
            product: format!("product-{:05}", n % 10_000).parse().unwrap(),
            release: Some("4.2.1".into()),
            verdict: Decision::Allow,
            policy: Digest::of(b"policies/importer.toml"),
            evidence: vec![Digest::of(&n.to_be_bytes()), Digest::of(&n.to_le_bytes())],
            client: Client {
                identity: Some("importer-portal".parse().unwrap()),
                address: "198.51.100.23:52114".into(),
            },
            support_end: Some("2031-12-31".parse().unwrap()),
        },
    })
    .unwrap()
}

/// Part 2: halts posted to node 1, timed until the other nodes answer 451.
fn halt_to_451(nodes: &[Node], key: &Ed25519KeyPair, halts: usize) {
    let listing = std::fs::read(root().join("testdata/examples/accepted-listing.json")).unwrap();
    let mut listing: Value = serde_json::from_slice(&listing).unwrap();
    let mut http: Vec<Http> = nodes.iter().map(|n| Http::connect(&n.base)).collect();
    // Each node's own catalog holds the products, accepted.
    for i in 0..halts {
        listing["product"]["id"] = json!(format!("vaultkey-bench-{i}"));
        let body = serde_json::to_vec(&listing).unwrap();
        for node in &mut http {
            let (status, answer) = node.send("POST", "/v1/listings", &[], &body);
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
        }
    }
    let auth = format!("Bearer {TOKEN}");
    let mut until_201 = Vec::with_capacity(halts);
    let mut elsewhere = Vec::with_capacity(halts * (nodes.len() - 1));
    for i in 0..halts {
        // Halts come at no fixed phase of the other nodes' polls.
        std::thread::sleep(Duration::from_millis(100 + (i as u64 * 37) % 250));
        let product = format!("/v1/listings/vaultkey-bench-{i}");
        let signed = sign(key, i);
        let started = Instant::now();
        let (status, answer) =
            http[0].send("POST", "/v1/halts", &[("authorization", &auth)], &signed);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
        let accepted = Instant::now();
        until_201.push(accepted - started);
        let mut waiting: Vec<usize> = (1..nodes.len()).collect();
        while !waiting.is_empty() {
            assert!(
                accepted.elapsed() < Duration::from_secs(10),
                "halt {i} not in force on nodes {waiting:?} after 10 s"
            );
            waiting.retain(|&n| {
                let (status, _) = http[n].send("GET", &product, &[], b"");
                if status == 451 {
                    elsewhere.push(accepted.elapsed());
                    return false;
                }
                assert_eq!(status, 200);
                true
            });
        }
    }
    until_201.sort_unstable();
    elsewhere.sort_unstable();
    println!(
        "halt posted to node 1 until its 201: p50 {:?}, p99 {:?} ({halts} halts)",
        percentile(&until_201, 50),
        percentile(&until_201, 99),
    );
    println!(
        "from that 201 until 451 on nodes 2 and 3: p50 {:?}, p99 {:?}, max {:?} ({} readings; the poll alone would give about 125 ms and 250 ms)",
        percentile(&elsewhere, 50),
        percentile(&elsewhere, 99),
        elsewhere[elsewhere.len() - 1],
        elsewhere.len(),
    );
}

/// Part 3: the same cached read through a PostgreSQL node and a redb one.
fn cached_reads(pg: &Node, redb: &Node, reads: usize) {
    let listing = std::fs::read(root().join("testdata/examples/accepted-listing.json")).unwrap();
    let mut listing: Value = serde_json::from_slice(&listing).unwrap();
    listing["product"]["id"] = json!("vaultkey-read");
    let body = serde_json::to_vec(&listing).unwrap();
    let mut timed = Vec::new();
    for node in [redb, pg] {
        let mut http = Http::connect(&node.base);
        let (status, answer) = http.send("POST", "/v1/listings", &[], &body);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
        // Warm: the verdict is cached, the connection open.
        for _ in 0..reads / 10 {
            assert_eq!(
                http.send("GET", "/v1/listings/vaultkey-read", &[], b"").0,
                200
            );
        }
        let cpu_before = cpu_seconds(node.pid());
        let mut wall: Vec<Duration> = (0..reads)
            .map(|_| {
                let started = Instant::now();
                let (status, _) = http.send("GET", "/v1/listings/vaultkey-read", &[], b"");
                assert_eq!(status, 200);
                started.elapsed()
            })
            .collect();
        let cpu = cpu_seconds(node.pid()) - cpu_before;
        wall.sort_unstable();
        timed.push((wall, cpu * 1e6 / reads as f64));
    }
    for ((wall, cpu), label) in timed.iter().zip(["redb (baseline)", "PostgreSQL"]) {
        println!(
            "cached listing read through a node on {label}: p50 {:?}, p99 {:?}; gateway CPU {cpu:.0} µs per read",
            percentile(wall, 50),
            percentile(wall, 99),
        );
    }
    let ratio =
        |p| percentile(&timed[1].0, p).as_secs_f64() / percentile(&timed[0].0, p).as_secs_f64();
    println!(
        "  PostgreSQL / redb: p50 {:.2}x, p99 {:.2}x, CPU {:.2}x",
        ratio(50),
        ratio(99),
        timed[1].1 / timed[0].1
    );
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// A running `cragate serve`.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    /// Starts node `name` with its own data folder, on the database at
    /// `url` (or its own redb file), with `policy` and the admin token.
    fn start(dir: &Path, name: &str, url: Option<&str>, policy: &Path) -> Self {
        let own = dir.join(name);
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("token"), format!("{TOKEN}\n")).unwrap();
        let ledger = url.map_or_else(String::new, |url| {
            format!(
                "ledger = {url:?}\nledger_key = {:?}\n",
                dir.join("nodes-key.p8").display().to_string()
            )
        });
        std::fs::write(
            own.join("cragate.toml"),
            format!(
                "{ledger}[admin]\nbearer_token_file = {:?}\n",
                own.join("token").display().to_string()
            ),
        )
        .unwrap();
        let binary = std::env::var_os("NODES_BENCH_CRAGATE")
            .unwrap_or_else(|| OsString::from(env!("CARGO_BIN_EXE_cragate")));
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(own.join("cragate.toml"))
            .arg("--policy")
            .arg(policy)
            .arg("--data-dir")
            .arg(own.join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("cragate serve did not start: {line:?}"))
            .to_owned();
        Self { child, base }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped app-store policy with one halt issuer whose key is `key`.
fn policy(dir: &Path, key: &Ed25519KeyPair) -> PathBuf {
    let public = key.public_key().as_der().unwrap();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(public.as_ref())
    );
    std::fs::write(dir.join("issuer.pub"), pem).unwrap();
    let policies = root().join("policies").canonicalize().unwrap();
    let shipped = std::fs::read_to_string(policies.join("app-store.toml")).unwrap();
    let mut policy = String::new();
    for line in shipped.lines() {
        let line = ["harmonised/", "notified-bodies/", "trust-roots/"]
            .iter()
            .fold(line.to_owned(), |l, folder| {
                l.replace(
                    &format!("\"{folder}"),
                    &format!("\"{}/{folder}", policies.display()),
                )
            });
        policy.push_str(&line);
        policy.push('\n');
    }
    policy.push_str(&format!(
        "[[halt_issuers]]\nid = \"keyguard-psirt\"\nkey = {:?}\nproducts = [\"vaultkey-*\"]\n",
        dir.join("issuer.pub").display().to_string()
    ));
    let path = dir.join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    path
}

/// The notice halting `vaultkey-bench-{i}`, sequence `i + 1`, signed.
fn sign(key: &Ed25519KeyPair, i: usize) -> Vec<u8> {
    let notice = json!({
        "format": "cragate.halt/v1", "issuer": "keyguard-psirt", "sequence": i + 1,
        "issued_at": "2026-12-01T10:00:00Z", "action": "halt",
        "scope": {"products": [format!("vaultkey-bench-{i}")], "versions": "<4.0.0", "digests": [], "batches": []},
        "reason": "benchmark halt", "reference": {"advisory": null, "authority_order": null}
    });
    let payload = serde_json::to_vec(&notice).unwrap();
    let signature = key.sign(&pae(HALT_PAYLOAD_TYPE, &payload));
    serde_json::to_vec(&Envelope {
        payload: STANDARD.encode(&payload),
        payload_type: HALT_PAYLOAD_TYPE.into(),
        signatures: vec![EnvelopeSignature {
            keyid: String::new(),
            sig: STANDARD.encode(signature.as_ref()),
        }],
    })
    .unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// CPU time so far of the PostgreSQL server on `port`: the postmaster,
/// its backends and helpers, and those that ended.
fn postgres_cpu(port: &str) -> f64 {
    let processes: Vec<(u32, u32, String)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let parent: u32 = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let command = std::fs::read(entry.path().join("cmdline")).ok()?;
            Some((
                pid,
                parent,
                String::from_utf8_lossy(&command).replace('\0', " "),
            ))
        })
        .collect();
    let Some(postmaster) = processes
        .iter()
        .find(|(_, _, command)| {
            command.contains(&format!("-p {port} ")) && command.contains("postgres")
        })
        .map(|(pid, _, _)| *pid)
    else {
        return 0.0;
    };
    cpu_of(postmaster, true)
        + processes
            .iter()
            .filter(|(_, parent, _)| *parent == postmaster)
            .map(|(pid, _, _)| cpu_seconds(*pid))
            .sum::<f64>()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
