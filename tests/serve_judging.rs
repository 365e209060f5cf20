//! Every listing is judged once, by one function, before anything is
//! recorded, stored or forwarded: what the ledger records is what happened,
//! and what is forwarded is exactly what was judged.

use serde_json::{Value, json};

use crate::serve_util::*;

/// The accepted listing as a JSON array of its members' values, in the
/// order the listing format declares them (a struct reader that also takes
/// sequences would read it as the listing).
fn accepted_as_array() -> Vec<u8> {
    let listing = accepted_json();
    let fields = [
        "format",
        "product",
        "operators",
        "placed_on_market",
        "support_period",
        "security",
        "ce_marking",
        "user_information",
        "declaration_of_conformity",
        "artifacts",
        "attestations",
        "sbom",
    ];
    let values: Vec<Value> = fields
        .iter()
        .map(|f| listing.get(*f).cloned().unwrap_or(Value::Null))
        .collect();
    serde_json::to_vec(&values).unwrap()
}

#[test]
fn unsafe_catalog_ids_leave_no_decision_and_no_supply_link_on_the_ledger() {
    let gateway = Gateway::with_config("");
    for id in ["../../x", "a/b"] {
        let reply = send_json("POST", &gateway.url("/v1/listings"), &accepted_with_id(id));
        assert_eq!(reply.status, 400, "{id}: {reply:?}");
        assert_eq!(reply.json()["source"], "client", "{reply:?}");
    }
    gateway.assert_ledger_empty();
}

#[test]
fn unusable_product_ids_are_the_clients_error_and_are_not_echoed_whole() {
    let gateway = Gateway::with_config("");
    let long = "p".repeat(300);
    for id in ["", long.as_str(), "cam\u{7}era", "line\nbreak"] {
        let reply = send_json("POST", &gateway.url("/v1/listings"), &accepted_with_id(id));
        assert_eq!(reply.status, 400, "{id:?}: {reply:?}");
        let problem = reply.json();
        assert_eq!(problem["source"], "client", "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(!detail.contains(&long), "the whole id is echoed: {detail}");
        assert!(detail.len() < 300, "{detail}");
    }
    gateway.assert_ledger_empty();
}

#[test]
fn a_store_the_upstream_refuses_records_the_decision_but_no_supply_link() {
    let nginx = Nginx::start();
    // nginx has no location for /readonly/: it answers a PUT there 405.
    let rule = r#"
[[routes]]
method = "PUT"
path = "/readonly/{id}.json"
kind = "listing-submission"
"#;
    let gateway = Gateway::fronting(&nginx, rule);
    let reply = put_file(
        &gateway.url("/readonly/vaultkey-desktop.json"),
        &accepted_listing(),
        &[],
    );
    assert!(reply.status >= 400 && reply.status < 500, "{reply:?}");
    let records = gateway.ledger();
    let kinds = kinds(&records);
    assert!(kinds.contains(&"decision".to_owned()), "{kinds:?}");
    assert!(
        !kinds.contains(&"supply_link".to_owned()),
        "a supply was recorded for a listing the upstream did not store: {kinds:?}"
    );
    // Stored, it is recorded.
    let stored = put_file(
        &gateway.url("/store/listings/vaultkey-desktop.json"),
        &accepted_listing(),
        &[],
    );
    assert_eq!(stored.status, 201, "{stored:?}");
    let links = gateway
        .ledger()
        .into_iter()
        .filter(|r| r["body"]["kind"] == "supply_link")
        .count();
    assert_eq!(links, 1);
}

#[test]
fn a_json_array_is_not_a_listing_on_any_route() {
    let gateway = Gateway::with_config("");
    let array = accepted_as_array();
    let reply = send_json("POST", &gateway.url("/v1/listings"), &array);
    assert_eq!(reply.status, 400, "{reply:?}");
    gateway.assert_ledger_empty();

    let nginx = Nginx::start();
    let front = Gateway::fronting(&nginx, "");
    let url = front.url("/store/listings/vaultkey-desktop.json");
    let reply = send_json("PUT", &url, &array);
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(
        !nginx
            .root
            .join("store/listings/vaultkey-desktop.json")
            .exists()
    );
    // Put into the store behind the gateway's back: not served.
    std::fs::write(
        nginx.root.join("store/listings/vaultkey-desktop.json"),
        &array,
    )
    .unwrap();
    let read = curl(&url, &[]);
    assert_eq!(read.status, 502, "{read:?}");
    assert_eq!(read.json()["source"], "upstream");
}

/// Rules for listings sent and stored inside an envelope, at `/listing`.
const ENVELOPES: &str = r#"
[[routes]]
method = "PUT"
path = "/store/envelopes/{id}.json"
kind = "listing-submission"
listing_pointer = "/listing"

[[routes]]
method = "GET"
path = "/store/envelopes/{id}.json"
kind = "listing-read"
listing_pointer = "/listing"
"#;

#[test]
fn the_listing_forwarded_inside_an_envelope_is_the_listing_judged() {
    let nginx = Nginx::start();
    let gateway = Gateway::fronting(&nginx, ENVELOPES);
    // The listing as its author wrote it, not as a JSON library would.
    let listing = std::fs::read_to_string(accepted_listing())
        .unwrap()
        .replace('\n', "\n\t ");
    let body = format!("{{\"note\": \"from the build\",\n \"listing\" :\n{listing}\n}}");
    let url = gateway.url("/store/envelopes/vaultkey-desktop.json");
    let reply = send_json("PUT", &url, body.as_bytes());
    assert_eq!(reply.status, 201, "{reply:?}");
    let stored = nginx.root.join("store/envelopes/vaultkey-desktop.json");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), body);
    let judged = sha256_of(listing.trim().as_bytes());
    let records = gateway.ledger();
    let decision = records
        .iter()
        .find(|r| r["body"]["kind"] == "decision")
        .unwrap();
    assert_eq!(
        decision["body"]["evidence"][0], judged,
        "the ledger names another listing than the one forwarded"
    );
    let read = curl(&url, &[]);
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.body, body.as_bytes());
}

#[test]
fn duplicate_keys_are_refused_on_every_route() {
    let nginx = Nginx::start();
    let gateway = Gateway::fronting(&nginx, &format!("{ENVELOPES}{PAGES_ROUTE}"));
    let accepted = std::fs::read_to_string(accepted_listing()).unwrap();
    let rejected = std::fs::read_to_string(rejected_listing()).unwrap();
    // A store that keeps the first of two equal keys would see the
    // rejected listing; a reader that keeps the last, the accepted one.
    let twice = format!("{{\"listing\": {rejected}, \"listing\": {accepted}}}");
    let url = gateway.url("/store/envelopes/vaultkey-desktop.json");
    let reply = send_json("PUT", &url, twice.as_bytes());
    assert_eq!(reply.status, 400, "{reply:?}");
    let envelope = nginx.root.join("store/envelopes/vaultkey-desktop.json");
    assert!(!envelope.exists(), "an ambiguous body was forwarded");

    std::fs::create_dir_all(envelope.parent().unwrap()).unwrap();
    std::fs::write(&envelope, &twice).unwrap();
    let read = curl(&url, &[]);
    assert_eq!(read.status, 502, "{read:?}");

    let pages = nginx.root.join("store/pages");
    std::fs::create_dir_all(&pages).unwrap();
    let page = format!("{{\"items\": [{{\"listing\": {rejected}, \"listing\": {accepted}}}]}}");
    std::fs::write(pages.join("1.json"), page).unwrap();
    let reply = curl(&gateway.url("/store/pages/1.json"), &[]);
    assert!(
        reply.status == 502 || reply.header("cragate-withheld").as_deref() == Some("1"),
        "{reply:?}"
    );
    if reply.status == 200 {
        assert_eq!(reply.json()["items"], json!([]));
    }
}
