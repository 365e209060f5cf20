//! Artifact storage and downloads under attack: a second process on the
//! same data folder, conflicting and withdrawn artifacts, hostile
//! upstreams, slow peers and odd requests. Each test is named after the
//! finding it closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve_util::*;

/// `host:port` of a gateway's base URL.
fn address(gateway: &Gateway) -> String {
    gateway.base.trim_start_matches("http://").to_owned()
}

/// Reads what the peer sends until it closes (or `limit` passes).
fn read_all(stream: &mut TcpStream, limit: Duration) -> String {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn finding_11_a_second_serve_on_the_same_data_folder_leaves_the_first_ones_upload_alone() {
    let gateway = Gateway::start(&[]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    let artifact = std::fs::read(accepted_artifact()).unwrap();
    let digest = sha256(&accepted_artifact());
    let mut upload = TcpStream::connect(address(&gateway)).unwrap();
    let head = format!(
        "PUT /v1/artifacts/{digest} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        artifact.len()
    );
    let half = artifact.len() / 2;
    upload.write_all(head.as_bytes()).unwrap();
    upload.write_all(&artifact[..half]).unwrap();
    upload.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The second process on the same folder is refused, having touched
    // nothing.
    let second = Command::new(env!("CARGO_BIN_EXE_cragate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(gateway.data())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success());
    upload.write_all(&artifact[half..]).unwrap();
    let answer = read_all(&mut upload, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("serve.lock"), "{stderr}");
    let download = curl(&gateway.url(&format!("/v1/artifacts/{digest}")), &[]);
    assert_eq!(download.status, 200, "{download:?}");
    assert_eq!(download.body, artifact);
}

#[test]
fn finding_4_a_listing_with_the_same_digest_and_another_size_breaks_no_download() {
    let gateway = Gateway::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let artifact = pattern_file(dir.path(), "fw.bin", 4096, 1);
    let owner = listing_with_artifacts(dir.path(), "owner-fw", &[&artifact]);
    assert_eq!(post_file(&gateway.url("/v1/listings"), &owner).status, 201);
    let digest = sha256(&artifact);
    let url = gateway.url(&format!("/v1/artifacts/{digest}"));
    assert_eq!(put_file(&url, &artifact, &[]).status, 201);
    // Another uploader lists the same digest with another size.
    let mut other = accepted_json();
    other["product"]["id"] = "attacker-fw".into();
    other["artifacts"] = serde_json::json!([{"name": "x", "digest": digest, "size": 4097}]);
    let reply = send_json(
        "POST",
        &gateway.url("/v1/listings"),
        &serde_json::to_vec(&other).unwrap(),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let download = curl(&url, &[]);
    assert_eq!(download.status, 200, "{download:?}");
    assert_eq!(download.body, std::fs::read(&artifact).unwrap());
}

#[test]
fn finding_5_an_artifact_no_accepted_listing_references_now_is_not_served() {
    let gateway = Gateway::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let old = pattern_file(dir.path(), "old.bin", 4096, 2);
    let new = pattern_file(dir.path(), "new.bin", 4096, 3);
    let first = listing_with_artifacts(dir.path(), "vaultkey-desktop", &[&old]);
    assert_eq!(post_file(&gateway.url("/v1/listings"), &first).status, 201);
    let old_url = gateway.url(&format!("/v1/artifacts/{}", sha256(&old)));
    assert_eq!(put_file(&old_url, &old, &[]).status, 201);
    assert_eq!(curl(&old_url, &[]).status, 200);
    // The product's listing now names another artifact.
    let second = listing_with_artifacts(dir.path(), "vaultkey-desktop", &[&new]);
    assert_eq!(post_file(&gateway.url("/v1/listings"), &second).status, 201);
    let stale = curl(&old_url, &[]);
    assert_eq!(stale.status, 422, "{stale:?}");
    let new_url = gateway.url(&format!("/v1/artifacts/{}", sha256(&new)));
    assert_eq!(put_file(&new_url, &new, &[]).status, 201);
    assert_eq!(curl(&new_url, &[]).status, 200);
}

/// A copy of the shipped policies whose app-store policy also requires
/// signed artifacts: stricter than the one the listings were accepted
/// under.
fn stricter_policy(dir: &std::path::Path) -> std::path::PathBuf {
    let root = crate::util::testdata().join("../policies");
    let copy = dir.join("policies");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&root)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let path = copy.join("app-store.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let stricter = text.replace(
        "[signatures]\nartifacts = false",
        "[signatures]\nartifacts = true",
    );
    assert_ne!(text, stricter, "the policy's [signatures] section changed");
    std::fs::write(&path, stricter).unwrap();
    path
}

#[test]
fn finding_5_a_restart_under_a_stricter_policy_withdraws_an_http_upstreams_artifacts() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let artifact = pattern_file(dir.path(), "fw.bin", 4096, 4);
    let listing = listing_with_artifacts(dir.path(), "plain-fw", &[&artifact]);
    let digest = sha256(&artifact);
    let policy = stricter_policy(dir.path());
    let mut gateway = Gateway::fronting(&nginx, "");
    let data = format!("@{}", listing.display());
    let put = curl(
        &gateway.url("/store/listings/plain-fw.json"),
        &["-X", "PUT", "--data-binary", &data],
    );
    assert_eq!(put.status, 201, "{put:?}");
    let url = gateway.url(&format!("/store/artifacts/{digest}"));
    assert_eq!(put_file(&url, &artifact, &[]).status, 201);
    assert_eq!(curl(&url, &[]).status, 200);
    gateway.sigterm();
    assert!(gateway.wait(Duration::from_secs(20)).success());
    // The same data folder, under a policy that denies the listing.
    let config = gateway.dir.path().join("cragate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("policy = {:?}\n{text}", policy.display().to_string()),
    )
    .unwrap();
    let dir = std::mem::replace(&mut gateway.dir, tempfile::tempdir().unwrap());
    drop(gateway);
    let again = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    let url = again.url(&format!("/store/artifacts/{digest}"));
    let stale = curl(&url, &[]);
    assert_eq!(stale.status, 422, "{stale:?}");
}

#[test]
fn finding_12_a_torn_last_line_of_the_accepted_index_does_not_stop_the_start() {
    let nginx = Nginx::start();
    let artifact = accepted_artifact();
    let digest = sha256(&artifact);
    let mut gateway = Gateway::fronting(&nginx, "");
    let put = curl(
        &gateway.url("/store/listings/vaultkey-desktop.json"),
        &[
            "-X",
            "PUT",
            "--data-binary",
            &format!("@{}", accepted_listing().display()),
        ],
    );
    assert_eq!(put.status, 201, "{put:?}");
    let url = gateway.url(&format!("/store/artifacts/{digest}"));
    assert_eq!(put_file(&url, &artifact, &[]).status, 201);
    gateway.sigterm();
    assert!(gateway.wait(Duration::from_secs(20)).success());
    // A crash in the middle of an append leaves part of a line.
    let index = gateway.data().join("accepted-artifacts");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&index)
        .unwrap();
    file.write_all(b"{\"product\":\"torn").unwrap();
    drop(file);
    let config = gateway.dir.path().join("cragate.toml");
    let dir = std::mem::replace(&mut gateway.dir, tempfile::tempdir().unwrap());
    drop(gateway);
    let again = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    let download = curl(&again.url(&format!("/store/artifacts/{digest}")), &[]);
    assert_eq!(download.status, 200, "{download:?}");
    assert_eq!(download.body, std::fs::read(&artifact).unwrap());
}

/// One request as a hand-written upstream saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a hand-written upstream answers the `n`th request (from 1): the
/// status line and headers, and the body.
type Answer = dyn Fn(&Seen, usize) -> (String, Vec<u8>) + Send + Sync;

/// A hand-written HTTP/1.1 upstream on 127.0.0.1: each request goes to
/// `answer`, which returns the status line and headers (without
/// `Content-Length`) and the body; every request is kept in `seen`. Ends
/// with the test process (its thread is detached).
struct Hostile {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

impl Hostile {
    fn start<F>(answer: F) -> Self
    where
        F: Fn(&Seen, usize) -> (String, Vec<u8>) + Send + Sync + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let answer = std::sync::Arc::new(answer);
        let kept = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let answer = std::sync::Arc::clone(&answer);
                let kept = std::sync::Arc::clone(&kept);
                std::thread::spawn(move || serve_hostile(stream, &*answer, &kept));
            }
        });
        Self { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_hostile(stream: TcpStream, answer: &Answer, kept: &std::sync::Mutex<Vec<Seen>>) {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.trim_end().split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let seen = Seen {
            line: line.trim_end().to_owned(),
            headers,
        };
        let number = {
            let mut all = kept.lock().unwrap();
            all.push(seen.clone());
            all.len()
        };
        let (head, body) = answer(&seen, number);
        let head = format!("{head}\r\nContent-Length: {}\r\n\r\n", body.len());
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        if seen.line.starts_with("HEAD ") {
            continue;
        }
        // In pieces, so that the gateway forwards the first ones before the
        // last has come.
        for piece in body.chunks(64 * 1024) {
            if writer.write_all(piece).is_err() {
                return;
            }
            let _ = writer.flush();
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Fronts a hand-written upstream with the store's routes.
fn fronting_port(port: u16, extra: &str) -> Gateway {
    Gateway::with_config(&format!(
        "upstream = \"http://127.0.0.1:{port}\"\n{extra}\n{STORE_ROUTES}"
    ))
}

#[test]
fn head_is_answered_as_get_without_a_body_on_every_read_route() {
    let gateway = Gateway::start(&[]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    let digest = sha256(&accepted_artifact());
    let artifact_url = gateway.url(&format!("/v1/artifacts/{digest}"));
    assert_eq!(
        put_file(&artifact_url, &accepted_artifact(), &[]).status,
        201
    );
    for path in [
        "/v1/listings/vaultkey-desktop".to_owned(),
        "/v1/catalog".to_owned(),
        format!("/v1/artifacts/{digest}"),
        "/healthz".to_owned(),
    ] {
        let get = curl(&gateway.url(&path), &[]);
        assert_eq!(get.status, 200, "{path}: {get:?}");
        // Raw, so that anything after the head would be seen.
        let mut stream = TcpStream::connect(address(&gateway)).unwrap();
        let request = format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let answer = read_all(&mut stream, Duration::from_secs(10));
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {answer}");
        assert!(body.is_empty(), "{path}: {answer}");
        let length = format!("content-length: {}", get.body.len());
        assert!(
            head.to_ascii_lowercase().contains(&length),
            "{path}: {answer}"
        );
        let content_type = format!(
            "content-type: {}",
            get.header("content-type").unwrap_or_default()
        );
        assert!(
            head.to_ascii_lowercase().contains(&content_type),
            "{path}: {answer}"
        );
    }
}

#[test]
fn a_range_end_beyond_u64_is_clamped_never_ignored() {
    let gateway = Gateway::start(&[]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    let digest = sha256(&accepted_artifact());
    let url = gateway.url(&format!("/v1/artifacts/{digest}"));
    assert_eq!(put_file(&url, &accepted_artifact(), &[]).status, 201);
    let bytes = std::fs::read(accepted_artifact()).unwrap();
    let reply = curl(&url, &["-H", "Range: bytes=2-99999999999999999999"]);
    assert_eq!(reply.status, 206, "{reply:?}");
    assert_eq!(reply.body, bytes[2..]);
    let beyond = curl(&url, &["-H", "Range: bytes=99999999999999999999-"]);
    assert_eq!(beyond.status, 416, "{beyond:?}");
}

#[test]
fn served_bodies_say_nosniff_and_the_type_the_gateway_judged() {
    // An upstream that labels a listing as a web page.
    let listing = std::fs::read(accepted_listing()).unwrap();
    let upstream = Hostile::start(move |seen, _| {
        if seen.line.starts_with("GET /store/listings/") {
            (
                "HTTP/1.1 200 OK\r\nContent-Type: text/html".into(),
                listing.clone(),
            )
        } else {
            ("HTTP/1.1 201 Created".into(), Vec::new())
        }
    });
    let gateway = fronting_port(upstream.port, "");
    let read = curl(&gateway.url("/store/listings/vaultkey-desktop.json"), &[]);
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(
        read.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        read.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let file = Gateway::start(&[]);
    assert_eq!(
        post_file(&file.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    let digest = sha256(&accepted_artifact());
    let url = file.url(&format!("/v1/artifacts/{digest}"));
    assert_eq!(put_file(&url, &accepted_artifact(), &[]).status, 201);
    let download = curl(&url, &[]);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        download.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let problem = curl(&file.url("/v1/listings/nothing-here"), &[]);
    assert_eq!(
        problem.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
}

#[test]
fn the_clients_authorization_header_never_reaches_the_upstream() {
    let upstream = Hostile::start(|_, _| ("HTTP/1.1 201 Created".into(), Vec::new()));
    let gateway = fronting_port(upstream.port, "");
    let header = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let put = curl(
        &gateway.url("/store/listings/vaultkey-desktop.json"),
        &[
            "-X",
            "PUT",
            "-H",
            &header,
            "--data-binary",
            &format!("@{}", accepted_listing().display()),
        ],
    );
    assert_eq!(put.status, 201, "{put:?}");
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].header("authorization"), None, "{seen:?}");
}

/// Resumes a download into `out` (as an earlier one left it) with
/// `curl -C -`; curl's exit code.
fn curl_resume(url: &str, out: &std::path::Path, extra: &[&str]) -> i32 {
    let mut command = Command::new("curl");
    command
        .args(["-s", "-S", "--max-time", "30", "-C", "-", "-o"])
        .arg(out)
        .args(extra)
        .arg(url);
    command.status().unwrap().code().unwrap_or(-1)
}

#[test]
fn finding_3_a_resumed_download_never_splices_unverified_bytes_onto_a_verified_tail() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = pattern_file(dir.path(), "fw.bin", 1 << 20, 9);
    let good = std::fs::read(&artifact).unwrap();
    let served = good.clone();
    // The first plain GET gets one flipped byte near the start; range
    // GETs and later GETs get the good bytes.
    let upstream = Hostile::start(move |seen, number| {
        if !seen.line.starts_with("GET /store/artifacts/") {
            return ("HTTP/1.1 201 Created".into(), Vec::new());
        }
        let mut body = served.clone();
        if let Some(range) = seen.header("range") {
            let from: usize = range
                .trim_start_matches("bytes=")
                .trim_end_matches('-')
                .parse()
                .unwrap_or(0);
            let part = body[from.min(body.len())..].to_vec();
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{}/{}",
                body.len() - 1,
                body.len()
            );
            return (head, part);
        }
        if number <= 2 {
            body[10] ^= 0xff;
        }
        ("HTTP/1.1 200 OK".into(), body)
    });
    let gateway = fronting_port(upstream.port, "");
    let listing = listing_with_artifacts(dir.path(), "hostile-fw", &[&artifact]);
    let data = format!("@{}", listing.display());
    let put = curl(
        &gateway.url("/store/listings/hostile-fw.json"),
        &["-X", "PUT", "--data-binary", &data],
    );
    assert_eq!(put.status, 201, "{put:?}");
    let digest = sha256(&artifact);
    let url = gateway.url(&format!("/store/artifacts/{digest}"));
    // The first download is aborted; its response promised nothing about
    // the bytes it carried.
    let first = curl(&url, &[]);
    assert_ne!(first.exit, 0, "{first:?}");
    assert!(first.body.len() < good.len(), "{first:?}");
    assert_eq!(first.header("etag"), None, "{first:?}");
    assert_eq!(first.header("accept-ranges").as_deref(), Some("none"));
    // The client resumes from what it has.
    let out = dir.path().join("downloaded");
    std::fs::write(&out, &first.body).unwrap();
    let _ = curl_resume(&url, &out, &[]);
    let resumed = std::fs::read(&out).unwrap();
    assert!(
        resumed.len() < good.len() || resumed == good,
        "a complete file of the wrong digest: {}",
        sha256_of(&resumed)
    );
    // A range asked with the digest as its validator is served from a
    // whole, verified copy.
    let if_range = format!("If-Range: \"{digest}\"");
    let range = curl(&url, &["-H", "Range: bytes=100-199", "-H", &if_range]);
    assert_eq!(range.status, 206, "{range:?}");
    assert_eq!(range.body, good[100..200]);
    assert_eq!(range.header("etag"), Some(format!("\"{digest}\"")));
    // Without the validator, the whole object.
    let whole = curl(&url, &["-H", "Range: bytes=100-199"]);
    assert_eq!(whole.status, 200, "{whole:?}");
    assert_eq!(whole.body, good);
}

/// Starts `count` raw connections that send `request` and then never read.
fn idle_readers(gateway: &Gateway, request: &str, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|_| {
            let mut stream = TcpStream::connect(address(gateway)).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            stream
        })
        .collect()
}

/// `/healthz` answers within `limit`.
fn healthy_within(gateway: &Gateway, limit: u64) -> Reply {
    curl(
        &gateway.url("/healthz"),
        &["--max-time", &limit.to_string()],
    )
}

const PACE: &str =
    "[limits]\nmax_connections = 4\nsend_timeout_ms = 1000\nmin_body_bytes_per_second = 65536\n";

#[test]
fn finding_2_clients_that_never_read_a_download_give_their_connections_back() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = pattern_file(dir.path(), "big.bin", 64 << 20, 7);
    let listing = listing_with_artifacts(dir.path(), "big-fw", &[&artifact]);
    let config = dir.path().join("cragate.toml");
    std::fs::write(&config, PACE).unwrap();
    let gateway = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &listing).status,
        201
    );
    let digest = sha256(&artifact);
    let url = gateway.url(&format!("/v1/artifacts/{digest}"));
    assert_eq!(put_file(&url, &artifact, &[]).status, 201);
    let request = format!("GET /v1/artifacts/{digest} HTTP/1.1\r\nHost: x\r\n\r\n");
    let _stuck = idle_readers(&gateway, &request, 4);
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let health = healthy_within(&gateway, 10);
    assert_eq!(health.status, 200, "{health:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn finding_2_uploads_slower_than_the_minimum_rate_give_their_connections_back() {
    let gateway = Gateway::with_config(PACE);
    let dir = tempfile::tempdir().unwrap();
    let artifact = pattern_file(dir.path(), "fw.bin", 1 << 20, 8);
    let listing = listing_with_artifacts(dir.path(), "slow-fw", &[&artifact]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &listing).status,
        201
    );
    let digest = sha256(&artifact);
    let request = format!(
        "PUT /v1/artifacts/{digest} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        1 << 20
    );
    let mut slow = idle_readers(&gateway, &request, 4);
    // One byte every 200 ms: never idle for long, far below the rate.
    let trickle = std::thread::spawn(move || {
        for _ in 0..60 {
            for stream in &mut slow {
                let _ = stream.write_all(b"x");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let health = healthy_within(&gateway, 10);
    assert_eq!(health.status, 200, "{health:?}");
    drop(trickle);
}
