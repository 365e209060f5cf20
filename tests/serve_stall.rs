//! A download from an HTTP upstream that stops sending in the middle of the
//! body: cragate gives up after its upstream idle budget and aborts the
//! client's connection instead of holding it open, and the client never
//! receives the whole (unchecked) artifact.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::serve_util::*;

/// A minimal upstream: accepts every PUT, and answers every GET with the
/// artifact's headers and its first half, then stalls.
fn stalling_upstream(artifact: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let artifact = artifact.clone();
            std::thread::spawn(move || serve_one(stream, &artifact));
        }
    });
    port
}

fn serve_one(mut stream: TcpStream, artifact: &[u8]) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Some(request_line) = read_request(&mut reader) else {
        return;
    };
    if request_line.starts_with("GET") {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            artifact.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&artifact[..artifact.len() / 2]);
        std::thread::sleep(Duration::from_secs(30));
    } else {
        let _ = stream.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    }
}

#[test]
fn a_stalled_upstream_download_is_aborted_after_the_idle_budget() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = pattern_file(dir.path(), "fw.bin", 512 * 1024, 7);
    let listing = listing_with_artifacts(dir.path(), "stall-demo", &[&artifact]);
    let port = stalling_upstream(std::fs::read(&artifact).unwrap());
    let config = dir.path().join("cragate.toml");
    std::fs::write(
        &config,
        format!(
            "upstream = \"http://127.0.0.1:{port}\"\n[limits]\nupstream_timeout_ms = 1000\n\n\
             [[routes]]\nmethod = \"PUT\"\npath = \"/store/listings/{{id}}.json\"\nkind = \"listing-submission\"\n\n\
             [[routes]]\nmethod = \"GET\"\npath = \"/store/artifacts/{{digest}}\"\nkind = \"download\"\n"
        ),
    )
    .unwrap();
    let gateway = Gateway::start(&["--config", config.to_str().unwrap()]);
    let put = put_file(
        &gateway.url("/store/listings/stall-demo.json"),
        &listing,
        &[],
    );
    assert_eq!(put.status, 201, "{put:?}");

    let started = Instant::now();
    let url = gateway.url(&format!("/store/artifacts/{}", sha256(&artifact)));
    let output = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            "--max-time",
            "20",
        ])
        .arg(&url)
        .output()
        .unwrap();
    let took = started.elapsed();
    let received: u64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(!output.status.success(), "curl must see a broken transfer");
    assert!(
        received < 512 * 1024,
        "received the whole artifact: {received}"
    );
    assert!(
        took < Duration::from_secs(10),
        "the gateway held the connection for {took:?}"
    );
}
