//! `cragate gate` with the catalog and the ledger of a `cragate serve`
//! configuration: accepted items published to a real nginx through the
//! HTTP upstream's submission routes (the upstream of `serve_http`), and
//! the decisions recorded in a real PostgreSQL ledger.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::gate::{AT, REFERENCE, SUPPLIER, example, importer_policy, report_json};
use crate::postgres_util::Postgres;
use crate::serve_util::{Nginx, STORE_ROUTES, sha256, sha256_of};
use crate::util::{cragate, stderr};

/// The refused items of the example shipment.
const REFUSED: [&str; 5] = [
    "lumatek-n9-nvr",
    "lumatek-c7-pan-tilt",
    "ksd-l4-lte-modem",
    "redwood-s3-sensor",
    "redwood-g1-garage",
];

/// `cragate gate` of the example with the importer's policy at [`AT`],
/// two workers, and `extra` arguments.
fn gate(dir: &Path, extra: &[&str]) -> Output {
    cragate()
        .arg("gate")
        .arg(example().join("shipment.json"))
        .arg("--policy")
        .arg(importer_policy())
        .arg("--report-dir")
        .arg(dir.join("report"))
        .args(["--at", AT, "--jobs", "2"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn publish_goes_through_the_http_upstreams_submission_routes() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cragate.toml");
    std::fs::write(
        &config,
        format!(
            "upstream = \"http://127.0.0.1:{}\"\n{STORE_ROUTES}",
            nginx.port
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let output = gate(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--publish",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let store = nginx.root.join("store");
    let report = report_json(&dir.path().join("report"));
    let mut published = 0;
    for item in report["items"].as_array().unwrap() {
        let product = item["product_id"].as_str().unwrap();
        let stored = store.join(format!("listings/{product}.json"));
        if item["decision"] != "accepted" {
            assert!(REFUSED.contains(&product), "{product}");
            assert!(!stored.exists(), "refused {product} was published");
            continue;
        }
        let bytes = std::fs::read(&stored).unwrap_or_else(|e| panic!("{}: {e}", stored.display()));
        // The listing as judged: stamped with the importer (Art. 19(4)),
        // its digest the first evidence digest of the report.
        assert_eq!(
            sha256_of(&bytes),
            item["evidence"][0].as_str().unwrap(),
            "{product}"
        );
        let listing: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            listing["operators"]["importer"]["name"],
            "Hafenblick Import GmbH"
        );
        for artifact in listing["artifacts"].as_array().unwrap() {
            let digest = artifact["digest"].as_str().unwrap();
            let file = store.join(format!("artifacts/{digest}"));
            assert_eq!(sha256(&file), digest, "{product}: {}", file.display());
        }
        published += 1;
    }
    assert_eq!(published, 15);
    let listings = std::fs::read_dir(store.join("listings")).unwrap().count();
    assert_eq!(listings, 15, "nothing else was stored");

    // The native routes (POST /v1/listings, PUT /v1/artifacts/{digest})
    // are not this store's: nginx refuses, the gate says so and exits 2,
    // and what was judged is still recorded and reported.
    let other = tempfile::tempdir().unwrap();
    let data = other.path().join("data");
    let output = gate(
        other.path(),
        &[
            "--data-dir",
            data.to_str().unwrap(),
            &format!("--publish=http://127.0.0.1:{}", nginx.port),
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("refused artifact") && message.contains("PUT /v1/artifacts/sha256:"),
        "{message}"
    );
    assert_eq!(
        report_json(&other.path().join("report"))["totals"]["accepted"],
        15
    );
    assert!(data.join("ledger.redb").exists());
    assert_eq!(
        std::fs::read_dir(store.join("listings")).unwrap().count(),
        15
    );
}

#[test]
fn gate_records_in_a_postgresql_ledger() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let key = dir.path().join("ledger-key.p8");
    let data = dir.path().join("data");
    let ledger = [
        "--ledger",
        &url,
        "--ledger-key",
        key.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let output = gate(dir.path(), &ledger);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        !data.join("ledger.redb").exists(),
        "nothing went to the data directory's file"
    );
    let supply_chain = |product: &str| -> Value {
        let output = cragate()
            .args(["ledger", "supply-chain", product, "--json"])
            .args(ledger)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let chain = supply_chain("lumatek-c3pro");
    let upstream = chain["upstream"].as_array().unwrap();
    assert_eq!(upstream.len(), 1, "{chain}");
    assert_eq!(upstream[0]["body"]["counterparty"]["id"], SUPPLIER);
    assert_eq!(upstream[0]["body"]["shipment"], REFERENCE);
    for refused in REFUSED {
        let chain = supply_chain(refused);
        assert!(
            chain["upstream"].as_array().unwrap().is_empty(),
            "{refused}: {chain}"
        );
    }
    let verify = cragate()
        .args(["ledger", "verify"])
        .args(ledger)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        stderr(&verify)
    );
}
