//! Files named on the command line: `check`, `verify-bundle` and
//! `ledger verify-export` read only regular files. A FIFO would block the
//! open forever; a directory or a device is refused by name.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cragate, stderr, testdata};

/// Runs the command, failing the test (and killing the child) if it has
/// not ended within `limit`.
fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{command:?} still running after {limit:?}: it blocked on its input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Any identity: the refusal comes before the signature is looked at.
const IDENTITY: [&str; 4] = [
    "--certificate-identity-regexp",
    ".*",
    "--certificate-oidc-issuer",
    "https://token.actions.githubusercontent.com",
];

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn assert_refused(output: &Output, kind: &str) {
    assert!(!output.status.success(), "accepted: {}", stderr(output));
    let message = stderr(output);
    assert!(
        message.contains(kind) && message.contains("not a regular file"),
        "the refusal should name {kind}: {message}"
    );
}

#[test]
fn check_verify_bundle_and_verify_export_refuse_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("input");
    mkfifo(&fifo);
    let limit = Duration::from_secs(20);

    let check = output_within(cragate().arg("check").arg(&fifo), limit);
    assert_refused(&check, "a FIFO");
    assert_eq!(check.status.code(), Some(2), "an unusable input exits 2");

    let case = testdata().join("sigstore-conformance/bundle-verify/happy-path-v0.3");
    let bundle = output_within(
        cragate()
            .arg("verify-bundle")
            .args(IDENTITY)
            .arg("--bundle")
            .arg(&fifo)
            .arg(case.join("a.txt")),
        limit,
    );
    assert_refused(&bundle, "a FIFO");

    let artifact = output_within(
        cragate()
            .arg("verify-bundle")
            .args(IDENTITY)
            .arg("--bundle")
            .arg(case.join("bundle.sigstore.json"))
            .arg(&fifo),
        limit,
    );
    assert_refused(&artifact, "a FIFO");

    let export = output_within(
        cragate().args(["ledger", "verify-export"]).arg(&fifo),
        limit,
    );
    assert_refused(&export, "a FIFO");
}

#[test]
fn check_refuses_a_directory_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = output_within(
        cragate().arg("check").arg(dir.path()),
        Duration::from_secs(20),
    );
    assert_refused(&output, "a directory");
}
