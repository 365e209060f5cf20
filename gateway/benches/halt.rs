//! Halt benchmark: the time from `POST /v1/halts` to the product answering
//! `451` on the same node (DESIGN.md budget: blocked before the response to
//! the notice), through the real `cragate serve` on loopback, with the
//! gateway's CPU time per operation.
//!
//! Baselines in the same run, on the same node and connection: a cached
//! listing read (`GET /v1/listings/{id}`), and `POST
//! /v1/admin/ledger/supply-links`, one durable ledger append through the
//! same admin authorization (a halt adds verification, the halt store's own
//! durable commit and the 451 read to that).
//!
//! Then the third-hop figure (budget: under 1 s on loopback): three
//! gateways chained by loopback webhooks, each halt posted at the first,
//! timed until it is in force at the third and until the third's
//! acknowledgement is recorded by the second.
//!
//! `cargo bench -p cragate --bench halt`; `HALT_BENCH_ROUNDS` sets the
//! operations per phase (default 200), `HALT_BENCH_CHAIN_ROUNDS` the halts
//! through the chain (default 50). Files go under the target directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cragate_verifier::halt::{Envelope, EnvelopeSignature, HALT_PAYLOAD_TYPE, pae};
use serde_json::{Value, json};

use common::{Http, cpu_seconds};

const TOKEN: &str = "0f3c5e7a9b1d2f4a6c8e0b2d4f6a8c0e1b3d5f7a";

fn main() {
    let rounds = std::env::var("HALT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200usize);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let key = Ed25519KeyPair::generate().unwrap();
    let (mut server, base) = start(dir.path(), &key);
    let pid = server.id();
    let mut http = Http::connect(&base);
    let listing = std::fs::read(root().join("testdata/examples/accepted-listing.json")).unwrap();
    let mut listing: Value = serde_json::from_slice(&listing).unwrap();
    for i in 0..rounds {
        listing["product"]["id"] = json!(format!("vaultkey-bench-{i}"));
        let (status, body) = http.send(
            "POST",
            "/v1/listings",
            &[],
            &serde_json::to_vec(&listing).unwrap(),
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    }
    println!(
        "halt benchmark on {} cores, {rounds} operations per phase",
        cores()
    );

    let read = phase(pid, rounds, |i| {
        let started = Instant::now();
        let (status, _) = http.send("GET", &format!("/v1/listings/vaultkey-bench-{i}"), &[], b"");
        assert_eq!(status, 200);
        started.elapsed()
    });
    read.print("cached listing read (baseline)");

    let auth = format!("Bearer {TOKEN}");
    let supply = phase(pid, rounds, |i| {
        let body = json!({
            "direction": "outbound", "product": format!("vaultkey-bench-{i}"),
            "release": "3.1.0", "quantity": 1,
            "counterparty": {"id": "reseller-nord", "name": "Reseller Nord", "postal_address": "1 Harbour Road"},
            "supplied_on": "2026-12-01", "support_end": null
        });
        let started = Instant::now();
        let (status, body) = http.send(
            "POST",
            "/v1/admin/ledger/supply-links",
            &[("authorization", &auth)],
            &serde_json::to_vec(&body).unwrap(),
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        started.elapsed()
    });
    supply.print("POST supply link, one durable ledger append (baseline)");

    let signed: Vec<Vec<u8>> = (0..rounds).map(|i| sign(&key, i)).collect();
    let mut until_201 = Vec::with_capacity(rounds);
    let halt = phase(pid, rounds, |i| {
        let started = Instant::now();
        let (status, body) =
            http.send("POST", "/v1/halts", &[("authorization", &auth)], &signed[i]);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        until_201.push(started.elapsed());
        let (status, _) = http.send("GET", &format!("/v1/listings/vaultkey-bench-{i}"), &[], b"");
        assert_eq!(status, 451);
        started.elapsed()
    });
    halt.print("POST /v1/halts until the product answers 451");
    until_201.sort_unstable();
    println!(
        "  of which POST /v1/halts until its 201: p50 {:?}, p99 {:?}",
        until_201[rounds / 2],
        until_201[rounds * 99 / 100]
    );
    println!(
        "  ratios (p50 wall): halt-to-451 / supply link = {:.2}x, halt-to-451 / cached read = {:.1}x; \
         CPU per op: halt {:.0} µs, supply link {:.0} µs, read {:.0} µs",
        halt.p50().as_secs_f64() / supply.p50().as_secs_f64(),
        halt.p50().as_secs_f64() / read.p50().as_secs_f64(),
        halt.cpu_per_op_us(),
        supply.cpu_per_op_us(),
        read.cpu_per_op_us()
    );
    let _ = server.kill();
    let _ = server.wait();

    let chain_rounds = std::env::var("HALT_BENCH_CHAIN_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50usize);
    chain(dir.path(), chain_rounds, halt.p50());
}

/// Three gateways, importer -> distributor -> reseller, each the next
/// one's supplier over a loopback webhook: the time from `POST /v1/halts`
/// at the importer to the notice in force at the reseller (the third hop)
/// and to the reseller's acknowledgement recorded by the distributor
/// (budget: under 1 s), against the one-node halt-to-451 time measured
/// above.
fn chain(dir: &Path, rounds: usize, one_node: Duration) {
    let key = Ed25519KeyPair::generate().unwrap();
    let secret = |name: &str, byte: u8| {
        let path = dir.join(format!("{name}.whsec"));
        std::fs::write(&path, format!("whsec_{}\n", STANDARD.encode([byte; 32]))).unwrap();
        path.display().to_string()
    };
    let (imp_dist, dist_res) = (secret("imp-dist", 1), secret("dist-res", 2));
    let supplier =
        |id: &str, file: &str| format!("[[suppliers]]\nid = {id:?}\nsecret_file = {file:?}\n");
    let customer = |id: &str, base: &str, file: &str| {
        format!(
            "[[customers]]\nid = {id:?}\nwebhook = \"http://{base}/v1/notifications\"\nsecret_file = {file:?}\n"
        )
    };
    let (mut reseller, reseller_at) = start_with(
        &dir.join("reseller"),
        &key,
        &supplier("distributor", &dist_res),
    );
    let (mut distributor, distributor_at) = start_with(
        &dir.join("distributor"),
        &key,
        &format!(
            "{}{}",
            supplier("importer", &imp_dist),
            customer("reseller", &reseller_at, &dist_res)
        ),
    );
    let (mut importer, importer_at) = start_with(
        &dir.join("importer"),
        &key,
        &customer("distributor", &distributor_at, &imp_dist),
    );
    let pids = [importer.id(), distributor.id(), reseller.id()];
    let auth = format!("Bearer {TOKEN}");
    let mut at_importer = Http::connect(&importer_at);
    let mut at_distributor = Http::connect(&distributor_at);
    let mut at_reseller = Http::connect(&reseller_at);
    for i in 0..rounds {
        for (http, to) in [
            (&mut at_importer, "distributor"),
            (&mut at_distributor, "reseller"),
        ] {
            let link = json!({
                "direction": "outbound", "product": format!("vaultkey-bench-{i}"),
                "release": "3.1.0", "quantity": 1,
                "counterparty": {"id": to, "name": to, "postal_address": "1 Harbour Road"},
                "supplied_on": "2026-12-01", "support_end": null
            });
            let (status, body) = http.send(
                "POST",
                "/v1/admin/ledger/supply-links",
                &[("authorization", &auth)],
                &serde_json::to_vec(&link).unwrap(),
            );
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        }
    }
    let cpu_before: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum();
    let (mut in_force, mut acked) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let signed = sign(&key, i);
        let path = format!("/v1/halts/keyguard-psirt/{}", i + 1);
        let started = Instant::now();
        let (status, body) =
            at_importer.send("POST", "/v1/halts", &[("authorization", &auth)], &signed);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        let deadline = started + Duration::from_secs(10);
        loop {
            let (status, _) = at_reseller.send("GET", &path, &[("authorization", &auth)], b"");
            if status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "halt {} never reached the reseller",
                i + 1
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        in_force.push(started.elapsed());
        loop {
            let (status, body) =
                at_distributor.send("GET", &path, &[("authorization", &auth)], b"");
            let shown: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if status == 200 && shown["deliveries"][0]["state"] == "delivered" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "halt {} never acknowledged by the reseller",
                i + 1
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        acked.push(started.elapsed());
    }
    let cpu: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - cpu_before;
    in_force.sort_unstable();
    acked.sort_unstable();
    let pct = |v: &[Duration], p: usize| v[(v.len() * p / 100).min(v.len() - 1)];
    println!(
        "chain of three gateways, {rounds} halts: in force at the third hop p50 {:?}, p99 {:?}; \
         its acknowledgement recorded by the second p50 {:?}, p99 {:?}, max {:?} (budget 1 s); \
         {:.1}x the one-node halt-to-451 p50; CPU of the three gateways {:.0} µs per halt",
        pct(&in_force, 50),
        pct(&in_force, 99),
        pct(&acked, 50),
        pct(&acked, 99),
        acked[acked.len() - 1],
        pct(&acked, 50).as_secs_f64() / one_node.as_secs_f64(),
        cpu * 1e6 / rounds as f64,
    );
    for child in [&mut importer, &mut distributor, &mut reseller] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// One phase: wall time of each operation and the gateway's CPU time.
struct Phase {
    wall: Vec<Duration>,
    cpu_seconds: f64,
}

fn phase(pid: u32, rounds: usize, mut op: impl FnMut(usize) -> Duration) -> Phase {
    let cpu_before = cpu_seconds(pid);
    let mut wall: Vec<Duration> = (0..rounds).map(&mut op).collect();
    let cpu_seconds = cpu_seconds(pid) - cpu_before;
    wall.sort_unstable();
    Phase { wall, cpu_seconds }
}

impl Phase {
    fn p50(&self) -> Duration {
        self.wall[self.wall.len() / 2]
    }
    fn cpu_per_op_us(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.wall.len() as f64
    }
    fn print(&self, label: &str) {
        let n = self.wall.len();
        println!(
            "{label}: p50 {:?}, p99 {:?}, max {:?}; gateway CPU {:.0} µs per op",
            self.p50(),
            self.wall[n * 99 / 100],
            self.wall[n - 1],
            self.cpu_per_op_us()
        );
    }
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

/// Starts `cragate serve` with the shipped app-store policy and one halt
/// issuer whose key is `key`; the process and its base URL.
fn start(dir: &Path, key: &Ed25519KeyPair) -> (Child, String) {
    start_with(dir, key, "")
}

/// [`start`] with `partners` (`[[customers]]`, `[[suppliers]]`) in the
/// configuration.
fn start_with(dir: &Path, key: &Ed25519KeyPair, partners: &str) -> (Child, String) {
    std::fs::create_dir_all(dir).unwrap();
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
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(
        dir.join("cragate.toml"),
        format!(
            "{partners}\n[admin]\nbearer_token_file = {:?}\n",
            dir.join("token").display().to_string()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cragate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(dir.join("cragate.toml"))
        .arg("--policy")
        .arg(dir.join("policy.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
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
    (child, base)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
