//! The registry gate's benchmark: `skopeo copy` of an image with a 100 MiB
//! layer (signed, with its DoC attestation) straight from a CNCF
//! distribution registry, against the same copy through `cragate serve`:
//! cold (a fresh cragate process, so discovery, verification and the
//! ledger write are in the pull) and warm (the same process again, the
//! verdict cached). Each round runs direct, cold and warm in turn; the
//! medians of the rounds are printed with cragate's CPU time per pull
//! (user + system from `/proc/PID/stat`) and skopeo's.
//!
//! `cargo build --release -p cragate && cargo run --release -p cragate
//! --example bench_oci -- [--rounds N] [--mib N]` (needs `docker-registry`,
//! `skopeo` and `curl`, which `scripts/test` installs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cragate_test_signer::cases::{self, DOC_PREDICATE_TYPE};
use cragate_test_signer::oci::{self, CosignRequest, Platform, Pushable};
use cragate_test_signer::{DEFAULT_SEED, Identity, Instance, San};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().unwrap())
    };
    let rounds = value("--rounds", 5);
    let mib = value("--mib", 100);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cragate = root.join("target/release/cragate");
    assert!(
        cragate.exists(),
        "build it first: cargo build --release -p cragate"
    );
    let work = tempfile::tempdir().unwrap();
    let registry_port = free_port();
    let _registry = start_registry(work.path(), registry_port);
    let base = format!("http://127.0.0.1:{registry_port}");
    let instance = Instance::from_seed(DEFAULT_SEED, cases::instance_start().unwrap()).unwrap();
    let signer = CosignRequest {
        identity: Identity::new(
            San::Email("release@acme.example".to_owned()),
            "https://accounts.acme.example",
        ),
        signed_at: cases::signing_time().unwrap(),
    };
    let layer: Vec<u8> = (0..mib * 1024 * 1024)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let platform = Platform {
        os: "linux",
        architecture: "amd64",
    };
    let image = oci::image(platform, &[layer]).unwrap();
    push(&base, &image, Some("v1"), work.path());
    let digest = &image.manifest.digest;
    let payload = oci::simplesigning_payload("acme/cam", digest);
    push(
        &base,
        &instance
            .cosign_signature(&signer, &payload, digest)
            .unwrap(),
        None,
        work.path(),
    );
    let att = instance
        .cosign_attestation(
            &signer,
            digest,
            DOC_PREDICATE_TYPE,
            json!({"format": "cragate.doc/v1"}),
        )
        .unwrap();
    push(&base, &att, None, work.path());
    let config = write_config(work.path(), &instance, &base);

    let mut direct = Vec::new();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for round in 0..rounds {
        direct.push((
            pull(&format!("127.0.0.1:{registry_port}"), work.path()),
            0.0,
        ));
        let mut gateway = start_cragate(&cragate, &config, work.path(), round);
        let before = cpu_seconds(gateway.id());
        let first = pull(&gateway_address(&mut gateway), work.path());
        let after_cold = cpu_seconds(gateway.id());
        let second = pull(&gateway_address(&mut gateway), work.path());
        let after_warm = cpu_seconds(gateway.id());
        cold.push((first, after_cold - before));
        warm.push((second, after_warm - after_cold));
        let _ = gateway.kill();
        let _ = gateway.wait();
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let report = |name: &str, runs: &[(Pull, f64)], baseline: f64| {
        let mut wall: Vec<f64> = runs.iter().map(|(p, _)| p.wall).collect();
        let mut client: Vec<f64> = runs.iter().map(|(p, _)| p.client_cpu).collect();
        let mut gateway: Vec<f64> = runs.iter().map(|(_, c)| *c).collect();
        let wall = median(&mut wall);
        println!(
            "{name:>6}: wall {:.1} ms ({:.3}x direct, {:+.1} ms), skopeo CPU {:.1} ms, cragate CPU {:.1} ms per pull",
            wall * 1e3,
            wall / baseline,
            (wall - baseline) * 1e3,
            median(&mut client) * 1e3,
            median(&mut gateway) * 1e3,
        );
    };
    let mut direct_wall: Vec<f64> = direct.iter().map(|(p, _)| p.wall).collect();
    let baseline = median(&mut direct_wall);
    println!("skopeo copy of a {mib} MiB image, median of {rounds} rounds");
    report("direct", &direct, baseline);
    report("cold", &cold, baseline);
    report("warm", &warm, baseline);
}

struct Pull {
    wall: f64,
    client_cpu: f64,
}

/// `skopeo copy` of `acme/cam:v1` from `address` into a fresh folder,
/// timed; skopeo's CPU time is what the shell's `times` reports for its
/// children.
fn pull(address: &str, work: &Path) -> Pull {
    let target = tempfile::tempdir_in(work).unwrap();
    let started = Instant::now();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "skopeo --insecure-policy copy --src-tls-verify=false --retry-times=0 docker://{address}/acme/cam:v1 dir:{} >/dev/null && times",
            target.path().join("copy").display()
        ))
        .output()
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // `times` prints the shell's, then its children's user and system time.
    let text = String::from_utf8_lossy(&output.stdout);
    let children = text.lines().nth(1).unwrap_or_default();
    let client_cpu = children.split_whitespace().map(minutes_seconds).sum();
    Pull { wall, client_cpu }
}

/// `0m1.234s` as seconds.
fn minutes_seconds(text: &str) -> f64 {
    let (minutes, seconds) = text
        .trim_end_matches('s')
        .split_once('m')
        .unwrap_or(("0", "0"));
    minutes.parse::<f64>().unwrap_or(0.0) * 60.0 + seconds.parse::<f64>().unwrap_or(0.0)
}

/// User + system CPU seconds of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    ticks
        / String::from_utf8_lossy(&hz.stdout)
            .trim()
            .parse::<f64>()
            .unwrap()
}

fn start_registry(work: &Path, port: u16) -> ChildGuard {
    let config = work.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            work.join("registry").display()
        ),
    )
    .unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the registry did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    ChildGuard(child)
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_config(work: &Path, instance: &Instance, upstream: &str) -> PathBuf {
    std::fs::write(
        work.join("trusted_root.json"),
        instance.trusted_root_json().unwrap(),
    )
    .unwrap();
    std::fs::write(
        work.join("policy.toml"),
        r#"format = "cragate.policy/v1"
name = "registry"
[trust]
sigstore_roots = ["trusted_root.json"]
[[manufacturers]]
name = "ACME Devices GmbH"
[[manufacturers.identities]]
san = "release@acme.example"
issuer = "https://accounts.acme.example"
[[oci.repositories]]
name = "acme/*"
manufacturer = "ACME Devices GmbH"
attestations = ["https://cragate.dev/doc/v1"]
"#,
    )
    .unwrap();
    let config = work.join("cragate.toml");
    std::fs::write(
        &config,
        format!("policy = \"policy.toml\"\n[oci]\nupstream = \"{upstream}\"\n"),
    )
    .unwrap();
    config
}

fn start_cragate(binary: &Path, config: &Path, work: &Path, round: usize) -> Child {
    Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(work.join(format!("data-{round}")))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reads `listening on http://ADDR` from a started cragate, once.
fn gateway_address(child: &mut Child) -> String {
    static ADDRESS: std::sync::Mutex<Option<(u32, String)>> = std::sync::Mutex::new(None);
    let mut known = ADDRESS.lock().unwrap();
    if let Some((pid, address)) = known.as_ref()
        && *pid == child.id()
    {
        return address.clone();
    }
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("cragate did not start: {line:?}"))
        .to_owned();
    *known = Some((child.id(), address.clone()));
    address
}

/// Pushes blobs then the manifest with curl (plain HTTP).
fn push(base: &str, pushable: &Pushable, reference: Option<&str>, work: &Path) {
    for blob in &pushable.blobs {
        let file = work.join("blob");
        std::fs::write(&file, &blob.bytes).unwrap();
        let head = Command::new("curl")
            .args(["-s", "-D", "-", "-o", "/dev/null", "-X", "POST"])
            .arg(format!("{base}/v2/acme/cam/blobs/uploads/"))
            .output()
            .unwrap();
        let head = String::from_utf8_lossy(&head.stdout).into_owned();
        let location = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("Location: ")
                    .or_else(|| l.strip_prefix("location: "))
            })
            .unwrap()
            .trim()
            .to_owned();
        let location = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let status = Command::new("curl")
            .args([
                "-s",
                "-f",
                "-o",
                "/dev/null",
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
            ])
            .arg(format!("@{}", file.display()))
            .arg(format!("{location}{separator}digest={}", blob.digest))
            .status()
            .unwrap();
        assert!(status.success(), "blob upload failed");
    }
    let reference = reference
        .map(str::to_owned)
        .or_else(|| pushable.tag.clone())
        .unwrap_or_else(|| pushable.manifest.digest.clone());
    let file = work.join("manifest");
    std::fs::write(&file, &pushable.manifest.bytes).unwrap();
    let status = Command::new("curl")
        .args(["-s", "-f", "-o", "/dev/null", "-X", "PUT", "-H"])
        .arg(format!("Content-Type: {}", pushable.media_type))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{base}/v2/acme/cam/manifests/{reference}"))
        .status()
        .unwrap();
    assert!(status.success(), "manifest push failed");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
