//! Two `cragate serve` nodes on one PostgreSQL ledger in front of one nginx
//! HTTP upstream: an artifact accepted through one node is served by the
//! other within a second (the accepted listings are shared through the
//! database), a node whose policy denies the listing keeps refusing it,
//! and a resubmission through the other takes the old artifact's backing
//! away on both.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cluster::shared_key;
use crate::gate::importer_policy;
use crate::postgres_util::Postgres;
use crate::serve_util::{
    Gateway, Nginx, Reply, STORE_ROUTES, accepted_artifact, accepted_listing, curl,
    listing_with_artifacts, pattern_file, put_file, sha256,
};

const PRODUCT: &str = "vaultkey-desktop";

/// A node on the database at `url` with `key`, fronting `nginx` with
/// [`STORE_ROUTES`], in a data folder of its own, under the shipped
/// app-store policy.
fn node(nginx: &Nginx, url: &str, key: &Path) -> Gateway {
    node_with(nginx, url, key, &[])
}

/// The same, with more arguments (`--policy`).
fn node_with(nginx: &Nginx, url: &str, key: &Path, args: &[&str]) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cragate.toml");
    let text = format!(
        "upstream = \"http://127.0.0.1:{}\"\nledger = {url:?}\nledger_key = {:?}\n{STORE_ROUTES}",
        nginx.port,
        key.display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    Gateway::start_in(dir, &all)
}

fn artifact_url(gateway: &Gateway, digest: &str) -> String {
    gateway.url(&format!("/store/artifacts/{digest}"))
}

fn submit(gateway: &Gateway, listing: &Path) -> Reply {
    put_file(
        &gateway.url(&format!("/store/listings/{PRODUCT}.json")),
        listing,
        &[],
    )
}

/// Asks `url` until it answers `status`; the last reply and how long it
/// took. Gives up after 10 s (the test then fails on the status).
fn until_status(url: &str, status: u16) -> (Reply, Duration) {
    let start = Instant::now();
    loop {
        let reply = curl(url, &[]);
        if reply.status == status || start.elapsed() > Duration::from_secs(10) {
            return (reply, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_artifact_accepted_through_one_node_is_downloadable_through_another_within_a_second() {
    let postgres = Postgres::start();
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let key = shared_key(dir.path(), &url);
    let one = node(&nginx, &url, &key);
    let two = node(&nginx, &url, &key);
    // Its policy denies the listing (the DoC is not available in German).
    let importer = importer_policy();
    let strict = node_with(
        &nginx,
        &url,
        &key,
        &["--policy", importer.to_str().unwrap()],
    );
    let artifact = accepted_artifact();
    let bytes = std::fs::read(&artifact).unwrap();
    let digest = sha256(&artifact);

    // Nothing names it yet: both nodes refuse it.
    for gateway in [&one, &two, &strict] {
        let refused = curl(&artifact_url(gateway, &digest), &[]);
        assert_eq!(refused.status, 422, "{refused:?}");
    }

    let accepted = submit(&one, &accepted_listing());
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let uploaded = put_file(&artifact_url(&one, &digest), &artifact, &[]);
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let (download, took) = until_status(&artifact_url(&two, &digest), 200);
    assert_eq!(download.status, 200, "{download:?}");
    assert_eq!(download.exit, 0);
    assert!(download.body == bytes, "node two served other bytes");
    eprintln!("served through node two {took:?} after the upload through node one");
    assert!(
        took < Duration::from_secs(1),
        "served through node two only {took:?} after the upload"
    );
    // The node whose policy denies the listing applies it too, and it
    // backs nothing there: past several of its polls, still refused both
    // ways.
    std::thread::sleep(Duration::from_millis(600));
    let refused = curl(&artifact_url(&strict, &digest), &[]);
    assert_eq!(refused.status, 422, "{refused:?}");
    let refused = put_file(&artifact_url(&strict, &digest), &artifact, &[]);
    assert_eq!(refused.status, 422, "{refused:?}");

    // A resubmission through node two naming another artifact takes the
    // first one's backing away on node one too.
    let other = pattern_file(dir.path(), "other.bin", 4096, 3);
    let resubmitted = listing_with_artifacts(dir.path(), PRODUCT, &[&other]);
    let accepted = submit(&two, &resubmitted);
    // nginx answers 204 when a PUT replaces a file.
    assert_eq!(accepted.status, 204, "{accepted:?}");
    let (refused, took) = until_status(&artifact_url(&one, &digest), 422);
    assert_eq!(refused.status, 422, "{refused:?}");
    eprintln!("refused through node one {took:?} after the resubmission through node two");
    assert!(
        took < Duration::from_secs(1),
        "still served through node one {took:?} after the resubmission"
    );
    let other_digest = sha256(&other);
    let uploaded = put_file(&artifact_url(&one, &other_digest), &other, &[]);
    assert_eq!(uploaded.status, 201, "{uploaded:?}");

    // A node started now reads the product's last listing.
    let three = node(&nginx, &url, &key);
    assert_eq!(curl(&artifact_url(&three, &digest), &[]).status, 422);
    let download = curl(&artifact_url(&three, &other_digest), &[]);
    assert_eq!(download.status, 200, "{download:?}");
    assert!(download.body == std::fs::read(&other).unwrap());
}

#[test]
fn nodes_on_one_catalog_folder_serve_what_another_accepted_within_a_second() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let key = shared_key(dir.path(), &url);
    let catalog = dir.path().join("catalog");
    let node = || {
        let data = tempfile::tempdir().unwrap();
        let config = data.path().join("cragate.toml");
        let text = format!(
            "upstream = {:?}\nledger = {url:?}\nledger_key = {:?}\n",
            format!("dir:{}", catalog.display()),
            key.display().to_string()
        );
        std::fs::write(&config, text).unwrap();
        Gateway::start_in(data, &["--config", config.to_str().unwrap()])
    };
    let one = node();
    let two = node();
    let artifact = accepted_artifact();
    let digest = sha256(&artifact);
    let at = |gateway: &Gateway| gateway.url(&format!("/v1/artifacts/{digest}"));
    assert_eq!(curl(&at(&two), &[]).status, 422, "nothing names it yet");

    let accepted = crate::serve_util::post_file(&one.url("/v1/listings"), &accepted_listing());
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let uploaded = put_file(&at(&one), &artifact, &[]);
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let (download, took) = until_status(&at(&two), 200);
    assert_eq!(download.status, 200, "{download:?}");
    assert!(download.body == std::fs::read(&artifact).unwrap());
    assert!(
        took < Duration::from_secs(1),
        "served through node two only {took:?} after the upload through node one"
    );
}
