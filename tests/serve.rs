//! `cragate serve` on its embedded file catalog, driven with curl.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::serve_util::*;

#[test]
fn accepted_upload_returns_the_verdict_cragate_check_computes() {
    let gateway = Gateway::start(&[]);
    let reply = post_file(&gateway.url("/v1/listings"), &accepted_listing());
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.header("cragate-decision").as_deref(), Some("allow"));
    assert_eq!(
        reply.header("location").as_deref(),
        Some("/v1/listings/vaultkey-desktop")
    );
    let verdict = reply.json();
    let at = verdict["evaluated_at"].as_str().unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_cragate"))
        .args([
            "check",
            accepted_listing().to_str().unwrap(),
            "--at",
            at,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let expected: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(verdict, expected);
}

#[test]
fn rejected_upload_is_a_problem_with_the_failed_checks_and_articles() {
    let gateway = Gateway::start(&[]);
    let reply = post_file(&gateway.url("/v1/listings"), &rejected_listing());
    assert_eq!(reply.status, 422, "{reply:?}");
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let problem = reply.json();
    assert_eq!(problem["status"], 422);
    assert_eq!(problem["decision"], "deny");
    let failed = problem["failed_checks"].as_array().unwrap();
    let sbom = failed.iter().find(|c| c["id"] == "sbom.present").unwrap();
    assert_eq!(sbom["article"], "Annex I Part II(1)");
    assert!(failed.iter().any(|c| c["id"] == "signature.artifacts"));
    // Nothing was stored.
    let read = curl(&gateway.url("/v1/listings/bastion-fw-9000"), &[]);
    assert_eq!(read.status, 404);
}

#[test]
fn malformed_and_oversized_listings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cragate.toml");
    std::fs::write(&config, "[limits]\nmax_listing_bytes = 4096\n").unwrap();
    let gateway = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    let url = gateway.url("/v1/listings");
    let malformed = curl(&url, &["-X", "POST", "--data-binary", "{\"format\": 3"]);
    assert_eq!(malformed.status, 400, "{malformed:?}");
    assert_eq!(
        malformed.json()["type"],
        "urn:cragate:problem:malformed-listing"
    );
    let big = pattern_file(gateway.dir.path(), "big.json", 5000, 1);
    let oversized = post_file(&url, &big);
    assert_eq!(oversized.status, 413, "{oversized:?}");
    // Streamed without a length: refused while reading.
    let chunked = curl(
        &url,
        &[
            "-X",
            "POST",
            "-H",
            "transfer-encoding: chunked",
            "--data-binary",
            &format!("@{}", big.display()),
        ],
    );
    assert_eq!(chunked.status, 413, "{chunked:?}");
}

#[test]
fn artifact_is_stored_only_when_referenced_and_matching() {
    let gateway = Gateway::start(&[]);
    let artifact = accepted_artifact();
    let url = gateway.url(&format!("/v1/artifacts/{}", sha256(&artifact)));
    // No accepted listing references it yet.
    let early = put_file(&url, &artifact, &[]);
    assert_eq!(early.status, 422, "{early:?}");
    assert_eq!(
        early.json()["type"],
        "urn:cragate:problem:artifact-not-referenced"
    );
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    // Same size, one byte changed: the digest does not match.
    let mut wrong = std::fs::read(&artifact).unwrap();
    wrong[100] ^= 1;
    let wrong_path = gateway.dir.path().join("wrong.bin");
    std::fs::write(&wrong_path, &wrong).unwrap();
    let mismatch = put_file(&url, &wrong_path, &[]);
    assert_eq!(mismatch.status, 409, "{mismatch:?}");
    assert_eq!(
        mismatch.json()["type"],
        "urn:cragate:problem:digest-mismatch"
    );
    assert_eq!(
        curl(&url, &[]).status,
        404,
        "nothing stored after a mismatch"
    );
    let stored = put_file(&url, &artifact, &[]);
    assert_eq!(stored.status, 201, "{stored:?}");
    let download = curl(&url, &[]);
    assert_eq!(download.status, 200);
    assert_eq!(download.body, std::fs::read(&artifact).unwrap());
    let range = curl(&url, &["-H", "Range: bytes=10-19"]);
    assert_eq!(range.status, 206);
    assert_eq!(range.body, std::fs::read(&artifact).unwrap()[10..20]);
    let outside = curl(&url, &["-H", "Range: bytes=99999999-"]);
    assert_eq!(outside.status, 416);
}

#[test]
fn catalog_read_lists_and_serves_accepted_listings() {
    let gateway = Gateway::start(&[]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    let page = curl(&gateway.url("/v1/catalog?limit=10"), &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["listings"][0]["id"], "vaultkey-desktop");
    let listing = curl(&gateway.url("/v1/listings/vaultkey-desktop"), &[]);
    assert_eq!(listing.status, 200);
    assert_eq!(listing.body, std::fs::read(accepted_listing()).unwrap());
    assert_eq!(listing.header("cragate-decision").as_deref(), Some("allow"));
    // The second read is served from the verdict cache.
    assert_eq!(
        curl(&gateway.url("/v1/listings/vaultkey-desktop"), &[]).status,
        200
    );
    let metrics = String::from_utf8(curl(&gateway.url("/metrics"), &[]).body).unwrap();
    assert!(
        metrics.contains("cragate_verdict_cache_total{result=\"hit\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cragate_decisions_total{decision=\"allow\"} 3"),
        "{metrics}"
    );
}

#[test]
fn unknown_routes_and_a_bad_configuration_are_refused() {
    let gateway = Gateway::start(&[]);
    assert_eq!(curl(&gateway.url("/v1/anything"), &[]).status, 404);
    assert_eq!(curl(&gateway.url("/healthz"), &[]).status, 200);
    assert_eq!(curl(&gateway.url("/readyz"), &[]).status, 200);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "listen = \"x\"\n[limits]\nmax_connections = 0\nspeed = 1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cragate"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml:4: unknown field `speed`"),
        "{stderr}"
    );
}

#[test]
fn sigterm_during_uploads_finishes_in_flight_work_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let fast = pattern_file(dir.path(), "fast.bin", 4 << 20, 3);
    let slow = pattern_file(dir.path(), "slow.bin", 4 << 20, 4);
    let listing = listing_with_artifacts(dir.path(), "vaultkey-desktop", &[&fast, &slow]);
    let config = dir.path().join("cragate.toml");
    std::fs::write(&config, "[limits]\nshutdown_grace_ms = 3000\n").unwrap();
    let mut gateway = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &listing).status,
        201
    );
    let upload = |path: std::path::PathBuf, rate: &'static str| {
        let url = gateway.url(&format!("/v1/artifacts/{}", sha256(&path)));
        std::thread::spawn(move || put_file(&url, &path, &["--limit-rate", rate]))
    };
    // 4 MiB at 2 MiB/s ends within the grace period; at 256 KiB/s it cannot.
    let fast_upload = upload(fast.clone(), "2M");
    let slow_upload = upload(slow.clone(), "256K");
    std::thread::sleep(Duration::from_millis(600));
    gateway.sigterm();
    let status = gateway.wait(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let fast_reply = fast_upload.join().unwrap();
    assert_eq!(fast_reply.status, 201, "{fast_reply:?}");
    let slow_reply = slow_upload.join().unwrap();
    assert_ne!(slow_reply.status, 201, "{slow_reply:?}");
    let artifacts = gateway.data().join("catalog/artifacts/sha256");
    let stored = |path: &std::path::Path| artifacts.join(&sha256(path)["sha256:".len()..]);
    assert_eq!(
        std::fs::read(stored(&fast)).unwrap(),
        std::fs::read(&fast).unwrap()
    );
    assert!(!stored(&slow).exists(), "a cut-off upload was stored");
    let leftovers: Vec<_> = std::fs::read_dir(gateway.data().join("catalog/.tmp"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn several_workers_share_one_gateway_and_stop_together() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cragate.toml");
    std::fs::write(&config, "workers = 4\n").unwrap();
    let mut gateway = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(
        post_file(&gateway.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    let url = gateway.url("/v1/listings/vaultkey-desktop");
    assert_eq!(curl(&url, &[]).status, 200);
    // 8 clients at once, 5 connections each: whichever worker accepts a
    // connection, it reads the same catalog and the same verdict cache.
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || (0..5).map(|_| curl(&url, &[]).status).collect::<Vec<_>>())
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), vec![200; 5]);
    }
    let metrics = String::from_utf8(curl(&gateway.url("/metrics"), &[]).body).unwrap();
    assert!(
        metrics.contains("cragate_verdict_cache_total{result=\"hit\"} 40"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cragate_verdict_cache_total{result=\"miss\"} 1"),
        "{metrics}"
    );
    gateway.sigterm();
    assert!(gateway.wait(Duration::from_secs(20)).success());
}

/// Issue 9, findings 9 and 10: a listing whose product id the catalog cannot
/// store was recorded as `allow` before it was refused, and an empty, long
/// or control-character id answered 503 "ledger cannot record". The id is the
/// listing's fault: 400, and nothing reaches the ledger.
#[test]
fn unusable_product_ids_are_the_clients_error_and_never_recorded() {
    let mut gateway = Gateway::start(&[]);
    let url = gateway.url("/v1/listings");
    let long = "x".repeat(300);
    for id in ["../../x", "a/b", "", &long, "a\u{1}b", ".."] {
        let mut listing: Value =
            serde_json::from_slice(&std::fs::read(accepted_listing()).unwrap()).unwrap();
        listing["product"]["id"] = Value::String(id.to_owned());
        let path = gateway.dir.path().join("listing.json");
        std::fs::write(&path, serde_json::to_vec(&listing).unwrap()).unwrap();
        let reply = post_file(&url, &path);
        assert_eq!(reply.status, 400, "{id:?}: {reply:?}");
        assert_eq!(
            reply.json()["type"],
            "urn:cragate:problem:malformed-listing",
            "{id:?}"
        );
    }
    gateway.sigterm();
    assert!(gateway.wait(Duration::from_secs(30)).success());
    let query = crate::util::cragate()
        .args(["ledger", "query", "--data-dir"])
        .arg(gateway.data())
        .output()
        .unwrap();
    assert!(query.status.success(), "{query:?}");
    assert_eq!(String::from_utf8_lossy(&query.stdout), "", "recorded");
}
