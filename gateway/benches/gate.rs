//! `cragate gate` benchmark: a shipment of 1,000 items with a 10 MiB
//! artifact each, gated with one worker and with one per core: items per
//! second, MB/s of artifacts, against single-core SHA-256 speed measured in
//! the same run (in memory, and over one artifact file read as the gate
//! reads it), CPU time per item, and peak memory (VmHWM, reset before each
//! run) for the whole shipment and for a tenth of it, to show that memory
//! is bounded by `--jobs`, not by the shipment's size.
//!
//! `cargo bench -p cragate --bench gate`; `GATE_BENCH_ITEMS` (default
//! 1000) and `GATE_BENCH_MIB` (default 10) change the shipment. Files go
//! under the target directory; after they are written they are in the page
//! cache, so the figures are hashing and judging, not the disk.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Instant;

use cragate::gate::progress::Progress;
use cragate::gate::report::ItemReport;
use cragate::gate::{self, Options};
use cragate::ledger::Location;
use cragate_verifier::Digest;
use serde_json::{Value, json};

const AT: &str = "2026-12-01T09:00:00Z";

struct Quiet;

impl Progress for Quiet {
    fn hashed(&self, _: u64) {}
    fn item(&self, _: &ItemReport) {}
    fn finish(&self) {}
}

fn main() {
    let items = env_number("GATE_BENCH_ITEMS", 1000);
    let mib = env_number("GATE_BENCH_MIB", 10);
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let artifact_bytes = mib * 1024 * 1024;
    println!("gate benchmark: {items} items of {mib} MiB on {cores} cores");
    let started = Instant::now();
    let manifest = write_shipment(&root, dir.path(), items, artifact_bytes);
    let tenth = write_manifest_prefix(dir.path(), &manifest, items / 10);
    println!(
        "  shipment written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let memory_sha = sha256_in_memory();
    let file_sha = sha256_file(&dir.path().join("items/0/fw.bin"), artifact_bytes);
    println!("  baseline, single-core SHA-256 in memory: {memory_sha:.0} MB/s");
    println!("  baseline, single-core SHA-256 of one artifact file: {file_sha:.0} MB/s");

    let policy = cragate::config::policies::load(Some(&root.join("policies/importer.toml")))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let total_mb = (items * artifact_bytes) as f64 / 1e6;
    // The tenth first: the allocator keeps what a run freed, so a peak
    // measured after a larger run could not be lower than that run's.
    let small = run(dir.path(), &tenth, &policy, cores, "tenth");
    for jobs in [1, cores] {
        let run = run(dir.path(), &manifest, &policy, jobs, &format!("all-{jobs}"));
        let mb_s = total_mb / run.wall;
        println!(
            "  --jobs {jobs}: {:.1} items/s, {mb_s:.0} MB/s = {:.2}x single-core SHA-256 (memory), {:.2}x (file); \
             CPU {:.1} ms/item ({:.2} cores busy), wall {:.1} s, peak RSS {} MiB",
            items as f64 / run.wall,
            mb_s / memory_sha,
            mb_s / file_sha,
            run.cpu * 1e3 / items as f64,
            run.cpu / run.wall,
            run.wall,
            run.peak_kib / 1024
        );
    }
    println!(
        "  --jobs {cores}, {} items: peak RSS {} MiB (memory bounded by --jobs, not by the shipment)",
        items / 10,
        small.peak_kib / 1024
    );
}

struct Run {
    wall: f64,
    cpu: f64,
    peak_kib: u64,
}

fn run(
    dir: &Path,
    manifest: &Path,
    policy: &cragate_verifier::policy::Policy,
    jobs: usize,
    name: &str,
) -> Run {
    let data = dir.join(format!("data-{name}"));
    reset_peak();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let shipment = gate::read_manifest(manifest).unwrap();
    let options = Options {
        manifest,
        policy,
        ledger: Location::new(&data, None, None),
        report_dir: Some(dir.join(format!("report-{name}"))),
        at: AT.parse().unwrap(),
        jobs: NonZeroUsize::new(jobs).unwrap(),
        publish: None,
    };
    let report = gate::gate(&shipment, &options, &Quiet).unwrap();
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(
        report.totals.accepted, report.totals.items,
        "{:?}",
        report.totals
    );
    Run {
        wall,
        cpu: cpu_seconds() - cpu_before,
        peak_kib: peak_kib(),
    }
}

/// Items cloned from the example shipment's smart plug, each with its own
/// product id and a `bytes`-byte artifact.
fn write_shipment(root: &Path, dir: &Path, items: usize, bytes: usize) -> std::path::PathBuf {
    let template: Value = serde_json::from_slice(
        &std::fs::read(root.join("testdata/shipments/SHP-2026-1187/items/p2/listing.json"))
            .unwrap(),
    )
    .unwrap();
    let data: Vec<u8> = (0..bytes)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let digest = Digest::of(&data);
    let mut entries = Vec::new();
    for i in 0..items {
        let folder = dir.join(format!("items/{i}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("fw.bin"), &data).unwrap();
        let mut listing = template.clone();
        listing["product"]["id"] = json!(format!("bench-plug-{i}"));
        listing["artifacts"] = json!([{"name": "fw.bin", "digest": digest.to_string(),
            "size": bytes, "media_type": "application/octet-stream"}]);
        std::fs::write(
            folder.join("listing.json"),
            serde_json::to_vec(&listing).unwrap(),
        )
        .unwrap();
        entries.push(json!({"listing": format!("items/{i}/listing.json"),
            "artifacts": {"fw.bin": format!("items/{i}/fw.bin")}, "quantity": 10, "batch": "B1"}));
    }
    let manifest = json!({"format": "cragate.shipment/v1", "reference": "BENCH-1", "arrived_on": "2026-11-30",
        "supplier": {"id": "bench-supplier", "name": "Bench Supplier Ltd", "postal_address": "1 Road, Hong Kong"},
        "items": entries});
    let path = dir.join("shipment.json");
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    path
}

fn write_manifest_prefix(dir: &Path, manifest: &Path, items: usize) -> std::path::PathBuf {
    let mut value: Value = serde_json::from_slice(&std::fs::read(manifest).unwrap()).unwrap();
    let all = value["items"].as_array().unwrap().clone();
    value["items"] = Value::Array(all[..items.max(1)].to_vec());
    let path = dir.join("shipment-tenth.json");
    std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
    path
}

/// MB/s of SHA-256 over a 64 MiB buffer on one core, best of three.
fn sha256_in_memory() -> f64 {
    let data = vec![0x5au8; 64 * 1024 * 1024];
    (0..3)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(Digest::of(&data));
            data.len() as f64 / 1e6 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// MB/s of hashing one artifact file as the gate does, best of three.
fn sha256_file(path: &Path, bytes: usize) -> f64 {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(cragate::gate::hash::file(path, &|_| {}).unwrap());
            bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// User plus system CPU seconds of this process (/proc/self/stat, in
/// USER_HZ = 100 ticks per second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// Resets VmHWM to the current RSS.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
