//! Artifact storage and downloads under attack: a second process on the
//! same data folder, conflicting and withdrawn artifacts, hostile
//! upstreams, slow peers and odd requests. Each test is named after the
//! finding it closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

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
