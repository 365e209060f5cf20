//! `cragate serve` fronting a real nginx (WebDAV PUT under `/store/`)
//! through route rules, driven with curl.

use std::path::Path;

use crate::serve_util::*;

fn front(nginx: &Nginx, extra: &str) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cragate.toml");
    let text = format!(
        "upstream = \"http://127.0.0.1:{}\"\n{extra}\n{STORE_ROUTES}",
        nginx.port
    );
    std::fs::write(&config, text).unwrap();
    Gateway::start_in(dir, &["--config", config.to_str().unwrap()])
}

fn upload_listing(gateway: &Gateway, id: &str, listing: &Path) -> Reply {
    put_file(
        &gateway.url(&format!("/store/listings/{id}.json")),
        listing,
        &[],
    )
}

#[test]
fn accepted_and_rejected_uploads_through_an_http_upstream() {
    let nginx = Nginx::start();
    let gateway = front(&nginx, "");
    let accepted = upload_listing(&gateway, "vaultkey-desktop", &accepted_listing());
    assert_eq!(accepted.status, 201, "nginx's own answer: {accepted:?}");
    assert_eq!(
        accepted.header("cragate-decision").as_deref(),
        Some("allow")
    );
    let stored = nginx.root.join("store/listings/vaultkey-desktop.json");
    assert_eq!(
        std::fs::read(stored).unwrap(),
        std::fs::read(accepted_listing()).unwrap()
    );

    let rejected = upload_listing(&gateway, "bastion-fw-9000", &rejected_listing());
    assert_eq!(rejected.status, 422, "{rejected:?}");
    let problem = rejected.json();
    let failed = problem["failed_checks"].as_array().unwrap();
    assert!(
        failed
            .iter()
            .any(|c| c["id"] == "sbom.present" && c["article"] == "Annex I Part II(1)")
    );
    assert!(
        !nginx
            .root
            .join("store/listings/bastion-fw-9000.json")
            .exists()
    );

    // The path names one product, the body another: refused, not forwarded.
    let mismatch = upload_listing(&gateway, "someone-else", &accepted_listing());
    assert_eq!(mismatch.status, 400, "{mismatch:?}");
    assert!(!nginx.root.join("store/listings/someone-else.json").exists());
}

#[test]
fn artifacts_through_an_http_upstream_are_checked_both_ways() {
    let nginx = Nginx::start();
    let gateway = front(&nginx, "");
    let artifact = accepted_artifact();
    let digest = sha256(&artifact);
    let url = gateway.url(&format!("/store/artifacts/{digest}"));
    assert_eq!(
        put_file(&url, &artifact, &[]).status,
        422,
        "not referenced yet"
    );
    assert_eq!(
        upload_listing(&gateway, "vaultkey-desktop", &accepted_listing()).status,
        201
    );

    let mut wrong = std::fs::read(&artifact).unwrap();
    wrong[7] ^= 0x20;
    let wrong_path = gateway.dir.path().join("wrong.bin");
    std::fs::write(&wrong_path, &wrong).unwrap();
    let mismatch = put_file(&url, &wrong_path, &[]);
    assert_eq!(mismatch.status, 409, "{mismatch:?}");
    let upstream_file = nginx.root.join(format!("store/artifacts/{digest}"));
    assert!(
        !upstream_file.exists(),
        "a mismatching artifact reached the upstream"
    );

    assert_eq!(put_file(&url, &artifact, &[]).status, 201);
    assert_eq!(
        std::fs::read(&upstream_file).unwrap(),
        std::fs::read(&artifact).unwrap()
    );
    let download = curl(&url, &[]);
    assert_eq!((download.status, download.exit), (200, 0));
    assert_eq!(download.body, std::fs::read(&artifact).unwrap());
    // A range is served from a whole, verified copy, when asked with the
    // digest as validator; without it, the whole object.
    let if_range = format!("If-Range: \"{digest}\"");
    let range = curl(&url, &["-H", "Range: bytes=5-9", "-H", &if_range]);
    assert_eq!(range.status, 206);
    assert_eq!(range.body, std::fs::read(&artifact).unwrap()[5..10]);
    let whole = curl(&url, &["-H", "Range: bytes=5-9"]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, std::fs::read(&artifact).unwrap());

    // The upstream's copy is altered behind the gateway's back: the
    // download is aborted before its last bytes, and never completes.
    std::fs::write(&upstream_file, &wrong).unwrap();
    let tampered = curl(&url, &[]);
    assert_ne!(tampered.exit, 0, "{tampered:?}");
    assert!(tampered.body.len() < wrong.len());
}

#[test]
fn large_downloads_are_hashed_whole_and_aborted_on_any_altered_byte() {
    // Larger than the gateway's hash batches, so that hashing runs
    // alongside forwarding over many batches.
    let nginx = Nginx::start();
    let gateway = front(&nginx, "");
    let artifact = pattern_file(gateway.dir.path(), "fw.bin", (5 << 20) + 123, 5);
    let listing = listing_with_artifacts(gateway.dir.path(), "big-fw", &[&artifact]);
    assert_eq!(upload_listing(&gateway, "big-fw", &listing).status, 201);
    let digest = sha256(&artifact);
    let url = gateway.url(&format!("/store/artifacts/{digest}"));
    assert_eq!(put_file(&url, &artifact, &[]).status, 201);
    let bytes = std::fs::read(&artifact).unwrap();

    let download = curl(&url, &[]);
    assert_eq!((download.status, download.exit), (200, 0));
    assert!(download.body == bytes, "the download differs");
    let if_range = format!("If-Range: \"{digest}\"");
    let range = curl(
        &url,
        &["-H", "Range: bytes=4000000-4000099", "-H", &if_range],
    );
    assert_eq!((range.status, range.exit), (206, 0));
    assert_eq!(range.body, bytes[4_000_000..4_000_100]);

    // One byte altered upstream, early, in the middle or last: the client
    // never receives a complete body.
    let upstream_file = nginx.root.join(format!("store/artifacts/{digest}"));
    for at in [10, bytes.len() / 2, bytes.len() - 1] {
        let mut altered = bytes.clone();
        altered[at] ^= 1;
        std::fs::write(&upstream_file, &altered).unwrap();
        let tampered = curl(&url, &[]);
        assert_ne!(tampered.exit, 0, "byte {at}: {:?}", tampered.status);
        assert!(tampered.body.len() < bytes.len(), "byte {at}");
        let range = curl(&url, &["-H", "Range: bytes=0-99"]);
        assert_ne!(range.exit, 0, "byte {at}: a range of an altered object");
        // Spooled and verified first: refused before a byte is sent.
        let range = curl(&url, &["-H", "Range: bytes=0-99", "-H", &if_range]);
        assert_eq!(range.status, 502, "byte {at}: {range:?}");
    }
}

#[test]
fn catalog_reads_through_an_http_upstream_pass_only_accepted_listings() {
    let nginx = Nginx::start();
    let gateway = front(&nginx, "");
    assert_eq!(
        upload_listing(&gateway, "vaultkey-desktop", &accepted_listing()).status,
        201
    );
    let page = curl(&gateway.url("/store/listings/"), &[]);
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.json()[0]["name"], "vaultkey-desktop.json");
    let read = curl(&gateway.url("/store/listings/vaultkey-desktop.json"), &[]);
    assert_eq!(read.status, 200);
    assert_eq!(read.body, std::fs::read(accepted_listing()).unwrap());
    // A listing put into the store without going through the gateway is
    // judged when read.
    std::fs::copy(
        rejected_listing(),
        nginx.root.join("store/listings/bastion-fw-9000.json"),
    )
    .unwrap();
    let denied = curl(&gateway.url("/store/listings/bastion-fw-9000.json"), &[]);
    assert_eq!(denied.status, 422, "{denied:?}");
    // Paths no rule names are not forwarded.
    assert_eq!(curl(&gateway.url("/store/other"), &[]).status, 404);
}

#[test]
fn catalog_pages_with_listings_pass_only_accepted_entries() {
    let nginx = Nginx::start();
    let gateway = front(&nginx, PAGES_ROUTE);
    let json = |path: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let accepted = serde_json::json!({"rank": 1, "listing": json(&accepted_listing())});
    let page = serde_json::json!({
        "items": [
            accepted,
            {"rank": 2, "listing": json(&rejected_listing())},
            {"rank": 3},
            {"rank": 4, "listing": {"format": "something else"}},
        ],
        "next": "/store/pages/2.json",
    });
    let pages = nginx.root.join("store/pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(pages.join("1.json"), page.to_string()).unwrap();
    std::fs::write(pages.join("2.json"), r#"{"entries": []}"#).unwrap();

    let reply = curl(&gateway.url("/store/pages/1.json"), &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cragate-withheld").as_deref(), Some("3"));
    let served = reply.json();
    assert_eq!(served["items"], serde_json::json!([accepted]));
    assert_eq!(served["next"], "/store/pages/2.json");
    // The same page again: both verdicts come from the cache.
    assert_eq!(curl(&gateway.url("/store/pages/1.json"), &[]).status, 200);
    let metrics = String::from_utf8(curl(&gateway.url("/metrics"), &[]).body).unwrap();
    assert!(
        metrics.contains("cragate_verdict_cache_total{result=\"hit\"} 2"),
        "{metrics}"
    );
    // A page without the array is the upstream's failure, not a pass.
    let broken = curl(&gateway.url("/store/pages/2.json"), &[]);
    assert_eq!(broken.status, 502, "{broken:?}");
    assert_eq!(curl(&gateway.url("/store/pages/3.json"), &[]).status, 404);
}

#[test]
fn oversized_bodies_are_refused_before_the_upstream() {
    let nginx = Nginx::start();
    let gateway = front(&nginx, "[limits]\nmax_listing_bytes = 4096\n");
    let big = pattern_file(gateway.dir.path(), "big.json", 10_000, 9);
    let reply = upload_listing(&gateway, "big", &big);
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(!nginx.root.join("store/listings/big.json").exists());
}

#[test]
fn upstream_down_is_a_bad_gateway_never_a_pass() {
    let mut nginx = Nginx::start();
    let gateway = front(&nginx, "");
    assert_eq!(
        upload_listing(&gateway, "vaultkey-desktop", &accepted_listing()).status,
        201
    );
    nginx.stop();
    let read = curl(&gateway.url("/store/listings/vaultkey-desktop.json"), &[]);
    assert_eq!(read.status, 502, "{read:?}");
    assert_eq!(read.json()["source"], "upstream");
    let upload = upload_listing(&gateway, "vaultkey-desktop", &accepted_listing());
    assert_eq!(upload.status, 502, "{upload:?}");
    let digest = sha256(&accepted_artifact());
    let download = curl(&gateway.url(&format!("/store/artifacts/{digest}")), &[]);
    assert_eq!(download.status, 502, "{download:?}");
    assert_eq!(curl(&gateway.url("/readyz"), &[]).status, 503);
}
