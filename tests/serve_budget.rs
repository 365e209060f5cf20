//! What a flood of large listings can cost: the listing bytes held at once
//! across all connections are capped, and a refused listing is archived on
//! the ledger only up to a documented size.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::serve_util::*;

#[test]
fn listing_bytes_in_flight_across_connections_are_capped() {
    let gateway = Gateway::with_config(
        "[limits]\nmax_listing_bytes = 65536\nmax_listing_bytes_in_flight = 100000\n",
    );
    let address = gateway.base.strip_prefix("http://").unwrap().to_owned();
    // One client declares 60,000 bytes and sends them slowly.
    let mut held = TcpStream::connect(&address).unwrap();
    write!(
        held,
        "POST /v1/listings HTTP/1.1\r\nHost: cragate\r\ncontent-type: application/json\r\n\
         content-length: 60000\r\n\r\n{{\"format\": "
    )
    .unwrap();
    held.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // Another's 50,000 bytes would take the total over the budget.
    let other = pattern_file(gateway.dir.path(), "other.json", 50_000, 3);
    let busy = post_file(&gateway.url("/v1/listings"), &other);
    assert_eq!(busy.status, 503, "{busy:?}");
    assert_eq!(busy.header("retry-after").as_deref(), Some("1"), "{busy:?}");
    assert_eq!(busy.json()["type"], "urn:cragate:problem:busy");
    // A small listing still fits beside the held one.
    let small = post_file(&gateway.url("/v1/listings"), &accepted_listing());
    assert_eq!(small.status, 201, "{small:?}");

    // Once the held request is gone, its bytes are free again.
    drop(held);
    let started = Instant::now();
    loop {
        let reply = post_file(&gateway.url("/v1/listings"), &other);
        if reply.status != 503 {
            assert_eq!(reply.status, 400, "{reply:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the held bytes were never released"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn refused_large_listings_do_not_grow_the_ledger_by_their_size() {
    let gateway = Gateway::with_config("");
    let ledger = gateway.data().join("ledger.redb");
    let size = || std::fs::metadata(&ledger).unwrap().len();
    // Grow the file once, so that what follows measures entries, not the
    // file's first allocation.
    let refused = post_file(&gateway.url("/v1/listings"), &rejected_listing());
    assert_eq!(refused.status, 422, "{refused:?}");
    let before = size();
    let padding = 2 << 20;
    for n in 0..5u8 {
        let mut listing = rejected_json();
        let pad = char::from(b'a' + n).to_string().repeat(padding);
        listing["attestations"] = json!([{ "padding": pad }]);
        let body = serde_json::to_vec(&listing).unwrap();
        let reply = send_json("POST", &gateway.url("/v1/listings"), &body);
        assert_eq!(reply.status, 422, "{reply:?}");
    }
    let grown = size() - before;
    assert!(
        grown < padding as u64,
        "five refused listings of {padding} bytes grew the ledger by {grown} bytes"
    );
    // What was recorded of them: their digest and size.
    let documents: Vec<_> = gateway
        .ledger()
        .into_iter()
        .filter(|r| r["body"]["kind"] == "document" && r["body"]["document"] == "other")
        .collect();
    assert_eq!(documents.len(), 6, "{documents:?}");
    for document in &documents[1..] {
        assert!(
            document["body"]["size"].as_u64().unwrap() < 1024,
            "{document}"
        );
    }
}
