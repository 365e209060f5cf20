//! `cragate serve` over TLS, with client certificates for the admin routes.
//! Certificates are made with the openssl command-line tool.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve_util::{Gateway, accepted_listing, curl, rejected_listing};

const MAKE_CERTIFICATES: &str = r#"set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -subj /CN=test-ca -days 2
for who in server client; do
  key $who.key
  openssl req -new -key $who.key -out $who.csr -subj /CN=$who
done
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > server.ext
printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' > client.ext
for who in server client; do
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out $who.pem -days 2 -extfile $who.ext 2>/dev/null
done
"#;

fn certificates(dir: &Path) {
    let status = Command::new("sh")
        .args(["-c", MAKE_CERTIFICATES])
        .current_dir(dir)
        .status()
        .expect("openssl runs (scripts/test installs it)");
    assert!(status.success());
}

#[test]
fn tls_listener_with_client_certificates_for_admin_routes() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (ca, client, client_key) = (path("ca.pem"), path("client.pem"), path("client.key"));
    let config = dir.path().join("cragate.toml");
    let text = format!(
        "[tls]\ncertificate = {:?}\nprivate_key = {:?}\nadmin_client_ca = {ca:?}\n",
        path("server.pem"),
        path("server.key")
    );
    std::fs::write(&config, text).unwrap();
    let gateway = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    assert!(gateway.base.starts_with("https://"), "{}", gateway.base);
    let health = curl(&gateway.url("/healthz"), &["--cacert", &ca]);
    assert_eq!(health.status, 200, "{health:?}");
    let anonymous = curl(&gateway.url("/metrics"), &["--cacert", &ca]);
    assert_eq!(anonymous.status, 403, "{anonymous:?}");
    let admin = curl(
        &gateway.url("/metrics"),
        &["--cacert", &ca, "--cert", &client, "--key", &client_key],
    );
    assert_eq!(admin.status, 200, "{admin:?}");
    // The ledger API opens with the same certificate; no bearer token is set.
    let key = |extra: &[&str]| {
        let mut args = vec!["--cacert", ca.as_str()];
        args.extend_from_slice(extra);
        curl(&gateway.url("/v1/admin/ledger/key"), &args)
    };
    assert_eq!(key(&[]).status, 403);
    let with_certificate = key(&["--cert", &client, "--key", &client_key]);
    assert_eq!(with_certificate.status, 200, "{with_certificate:?}");
    assert!(String::from_utf8_lossy(&with_certificate.body).starts_with("cragate-ledger/"));
    let tls12 = curl(
        &gateway.url("/healthz"),
        &["--cacert", &ca, "--tlsv1.2", "--tls-max", "1.2"],
    );
    assert_eq!(tls12.status, 200, "TLS 1.2: {tls12:?}");
    let plain = curl(&gateway.url("/healthz").replace("https://", "http://"), &[]);
    assert_ne!(plain.status, 200);
}

#[test]
fn http2_by_alpn_serves_the_same_pipeline_and_closes_idle_connections() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let ca = path("ca.pem");
    let config = dir.path().join("cragate.toml");
    let text = format!(
        "[tls]\ncertificate = {:?}\nprivate_key = {:?}\n[limits]\nheader_timeout_ms = 1000\n",
        path("server.pem"),
        path("server.key")
    );
    std::fs::write(&config, text).unwrap();
    let gateway = Gateway::start_in(dir, &["--config", config.to_str().unwrap()]);
    let tls = ["--cacert", ca.as_str()];

    // A listing submitted and read over HTTP/2, rejected and accepted alike.
    let upload = |listing: &Path, version: &str| {
        let data = format!("@{}", listing.display());
        let mut args = tls.to_vec();
        args.extend([version, "-H", "content-type: application/json"]);
        args.extend(["--data-binary", data.as_str()]);
        curl(&gateway.url("/v1/listings"), &args)
    };
    let accepted = upload(&accepted_listing(), "--http2");
    assert!(accepted.head.starts_with("HTTP/2 201"), "{accepted:?}");
    let rejected = upload(&rejected_listing(), "--http2");
    assert!(rejected.head.starts_with("HTTP/2 422"), "{rejected:?}");
    assert_eq!(rejected.json()["decision"], "deny");
    let read = curl(&gateway.url("/v1/listings/vaultkey-desktop"), &tls);
    assert!(read.head.starts_with("HTTP/2 200"), "{read:?}");
    assert_eq!(read.body, std::fs::read(accepted_listing()).unwrap());
    // HTTP/1.1 over TLS still works.
    let mut args = tls.to_vec();
    args.push("--http1.1");
    let old = curl(&gateway.url("/v1/listings/vaultkey-desktop"), &args);
    assert!(old.head.starts_with("HTTP/1.1 200"), "{old:?}");

    // A client that chooses HTTP/2 and then sends nothing is disconnected
    // after the idle budget (1 s here), like an idle HTTP/1.1 connection.
    let address = gateway.base.trim_start_matches("https://").to_owned();
    let started = Instant::now();
    let mut silent = Command::new("openssl")
        .args([
            "s_client", "-quiet", "-alpn", "h2", "-CAfile", &ca, "-connect",
        ])
        .arg(&address)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let closed = loop {
        if let Some(status) = silent.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(15) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = silent.kill();
    assert!(closed.is_some(), "an idle HTTP/2 connection stayed open");
    assert!(started.elapsed() >= Duration::from_millis(900));
}
