//! Listing reads from an HTTP upstream that drops kept connections: the
//! gateway keeps upstream connections for reads, so one the upstream has
//! closed in between must be retried on a new connection, and an upstream
//! that answers nothing must be a 502, never a pass.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::serve_util::*;

/// How the upstream treats a GET.
#[derive(Clone, Copy)]
enum Upstream {
    /// Answers, then closes the connection without saying so.
    AnswerThenClose,
    /// Closes the connection without answering.
    CloseWithoutAnswer,
}

/// A minimal upstream holding one listing; accepts PUTs. Returns its port
/// and the count of connections it accepted.
fn upstream(listing: Vec<u8>, mode: Upstream) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            let listing = listing.clone();
            std::thread::spawn(move || serve(stream, &listing, mode));
        }
    });
    (port, connections)
}

/// Serves requests on one connection until a GET, which ends it.
fn serve(mut stream: TcpStream, listing: &[u8], mode: Upstream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let Some(request_line) = read_request(&mut reader) else {
            return;
        };
        if !request_line.starts_with("GET") {
            let _ = stream.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
            continue;
        }
        if let Upstream::AnswerThenClose = mode {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                listing.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(listing);
        }
        return;
    }
}

fn gateway_for(port: u16) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cragate.toml");
    let text = format!(
        r#"upstream = "http://127.0.0.1:{port}"
[[routes]]
method = "PUT"
path = "/store/listings/{{id}}.json"
kind = "listing-submission"
[[routes]]
method = "GET"
path = "/store/listings/{{id}}.json"
kind = "listing-read"
"#
    );
    std::fs::write(&config, text).unwrap();
    Gateway::start_in(dir, &["--config", config.to_str().unwrap()])
}

#[test]
fn a_kept_upstream_connection_closed_in_between_is_retried() {
    let listing = std::fs::read(accepted_listing()).unwrap();
    let (port, connections) = upstream(listing.clone(), Upstream::AnswerThenClose);
    let gateway = gateway_for(port);
    let url = gateway.url("/store/listings/vaultkey-desktop.json");
    for read in 0..5 {
        let reply = curl(&url, &[]);
        assert_eq!(reply.status, 200, "read {read}: {reply:?}");
        assert_eq!(reply.body, listing, "read {read}");
    }
    // Each read after the first found its kept connection closed.
    assert!(connections.load(Ordering::SeqCst) >= 5);
}

#[test]
fn an_upstream_that_answers_nothing_is_a_bad_gateway() {
    let listing = std::fs::read(accepted_listing()).unwrap();
    let (port, connections) = upstream(listing, Upstream::CloseWithoutAnswer);
    let gateway = gateway_for(port);
    let url = gateway.url("/store/listings/vaultkey-desktop.json");
    for _ in 0..3 {
        let reply = curl(&url, &[]);
        assert_eq!(reply.status, 502, "{reply:?}");
        assert_eq!(reply.header("cragate-decision"), None);
    }
    assert!(connections.load(Ordering::SeqCst) >= 3);
}
