//! The registry gate in front of a registry that speaks TLS with a private
//! CA and asks for tokens (distribution's token authentication, as Docker
//! Hub, GHCR and Harbor do): the real CNCF distribution registry with
//! `http.tls` and `auth.token`, and a small token service in the test that
//! issues the JWTs the registry verifies (ES256, signed by a key whose
//! certificate chains to the registry's `rootcertbundle`). Certificates
//! are made with the openssl command-line tool.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::oci::{evidence, image};
use crate::oci_util::{ACME, Registry, copied_files, push, skopeo_copy, stderr_of, write_policy};
use crate::serve_util::Gateway;

const ISSUER: &str = "cragate-test-issuer";
const SERVICE: &str = "cragate-test-registry";
const USER: &str = "alice";
const PASSWORD: &str = "s3cret";

const MAKE_CERTIFICATES: &str = r#"set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -subj /CN=registry-test-ca -days 2
for who in registry token; do
  key $who.key
  openssl req -new -key $who.key -out $who.csr -subj /CN=$who
done
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > registry.ext
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n' > token.ext
for who in registry token; do
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out $who.pem -days 2 -extfile $who.ext 2>/dev/null
done
openssl pkcs8 -topk8 -nocrypt -in token.key -outform DER -out token.p8
openssl x509 -in token.pem -outform DER -out token.der
"#;

/// What the token service was asked: the scope, and whether the request
/// carried the right basic credentials.
type Asked = Arc<Mutex<Vec<(String, bool)>>>;

/// A token service over TLS: `GET /token?service=&scope=` with basic credentials
/// answers a JWT granting what the scope asks; wrong credentials get 401.
struct TokenService {
    port: u16,
    asked: Asked,
}

impl TokenService {
    fn start(dir: &Path) -> Self {
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &std::fs::read(dir.join("token.p8")).unwrap(),
        )
        .unwrap();
        let chain = STANDARD.encode(std::fs::read(dir.join("token.der")).unwrap());
        let tls = Arc::new(tls_config(dir));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let asked: Asked = Arc::default();
        let seen = Arc::clone(&asked);
        std::thread::spawn(move || {
            let expected = format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")));
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let connection = rustls::ServerConnection::new(Arc::clone(&tls)).unwrap();
                let mut stream = rustls::StreamOwned::new(connection, stream);
                let mut reader = BufReader::new(&mut stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line.split(' ').nth(1).unwrap_or_default().to_owned();
                let mut authorized = false;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        authorized = value.trim() == expected;
                    }
                }
                drop(reader);
                let scope = query_value(&target, "scope").unwrap_or_default();
                seen.lock().unwrap().push((scope.clone(), authorized));
                let (status, body) = if authorized {
                    let token = jwt(&key, &chain, &scope, n);
                    (
                        "200 OK",
                        json!({"token": token, "expires_in": 300}).to_string(),
                    )
                } else {
                    ("401 Unauthorized", "{}".to_owned())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.conn.send_close_notify();
                let _ = stream.flush();
            }
        });
        Self { port, asked }
    }

    fn asked(&self) -> Vec<(String, bool)> {
        self.asked.lock().unwrap().clone()
    }
}

/// The token service's TLS: the registry's certificate (127.0.0.1, from
/// the test CA) serves it too.
fn tls_config(dir: &Path) -> rustls::ServerConfig {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(dir.join("registry.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("registry.key")).unwrap();
    rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap()
}

/// `name`'s value in the query of `target`, percent-decoded.
fn query_value(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))?;
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8(out).unwrap())
}

/// A registry token (JWT, ES256, the signing certificate in `x5c`)
/// granting what `scope` (`repository:NAME:ACTIONS`, space-separated
/// scopes) asks.
fn jwt(key: &EcdsaKeyPair, chain: &str, scope: &str, n: usize) -> String {
    let now = jiff::Timestamp::now().as_second();
    let access: Vec<serde_json::Value> = scope
        .split(' ')
        .filter_map(|one| {
            let mut parts = one.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [chain]});
    let claims = json!({
        "iss": ISSUER, "sub": USER, "aud": SERVICE,
        "exp": now + 300, "nbf": now - 60, "iat": now - 60, "jti": format!("token-{n}"),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .unwrap();
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

/// The registry over TLS (its certificate from the test CA) asking for
/// tokens of `tokens`.
fn registry(dir: &Path, tokens: &TokenService) -> Registry {
    let path = |name: &str| dir.join(name).display().to_string();
    let tls = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        path("registry.pem"),
        path("registry.key")
    );
    let auth = format!(
        "auth:\n  token:\n    realm: https://127.0.0.1:{}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
        tokens.port,
        path("ca.pem")
    );
    Registry::start_with(&tls, &auth)
}

/// A gateway fronting `registry` over TLS, trusting the test CA, with
/// `password` as the registry password.
fn fronting(dir: &Path, registry: &Registry, password: &str) -> Gateway {
    let policy = write_policy(dir);
    let credentials = dir.join(format!("credentials-{password}"));
    std::fs::write(&credentials, format!("basic {USER}:{password}\n")).unwrap();
    Gateway::with_config(&format!(
        "policy = {:?}\n[oci]\nupstream = \"https://127.0.0.1:{}\"\ncredentials_file = {:?}\nca_file = {:?}\n",
        policy.display().to_string(),
        registry.port,
        credentials.display().to_string(),
        dir.join("ca.pem").display().to_string(),
    ))
}

#[test]
fn a_registry_over_tls_asking_for_tokens_is_fronted_with_its_private_ca_and_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("sh")
        .args(["-c", MAKE_CERTIFICATES])
        .current_dir(dir.path())
        .status()
        .expect("openssl runs (scripts/test installs it)");
    assert!(status.success());
    let tokens = TokenService::start(dir.path());
    let registry = registry(dir.path(), &tokens);
    // The registry refuses a request without a token.
    let anonymous = crate::serve_util::curl(
        &format!("https://127.0.0.1:{}/v2/", registry.port),
        &["--cacert", dir.path().join("ca.pem").to_str().unwrap()],
    );
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert!(
        anonymous
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer ")
    );

    let gateway = fronting(dir.path(), &registry, PASSWORD);
    let through = gateway.base.trim_start_matches("http://").to_owned();
    // Pushed through cragate (the repository's rule enables pushes): the
    // signature and attestation first, then the image.
    let signed = image("behind a token service");
    for evidence in evidence(
        &format!("{through}/push/cam"),
        &signed,
        Some(ACME),
        None,
        true,
    ) {
        push(&gateway.base, "push/cam", &evidence, None);
    }
    push(&gateway.base, "push/cam", &signed, Some("v1"));
    // Pulled back through cragate by skopeo.
    let target = tempfile::tempdir().unwrap();
    let copied = skopeo_copy(
        &format!("{through}/push/cam:v1"),
        &target.path().join("copy"),
    );
    assert!(copied.status.success(), "{}", stderr_of(&copied));
    let files = copied_files(&target.path().join("copy"));
    assert!(
        files
            .iter()
            .any(|(_, bytes)| *bytes == signed.manifest.bytes),
        "the manifest as pushed: {:?}",
        files.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    let asked = tokens.asked();
    assert!(
        asked.iter().all(|(_, authorized)| *authorized),
        "every token was asked with the configured credentials: {asked:?}"
    );
    let scopes: Vec<&str> = asked.iter().map(|(scope, _)| scope.as_str()).collect();
    assert!(
        scopes.contains(&"repository:push/cam:pull,push"),
        "{scopes:?}"
    );
    assert!(scopes.contains(&"repository:push/cam:pull"), "{scopes:?}");
    let decisions = gateway
        .ledger()
        .iter()
        .filter(|r| r["body"]["kind"] == "decision")
        .count();
    assert!(decisions >= 1, "the verdicts are on the ledger");

    // Wrong credentials: the token service refuses them, and the pull fails
    // closed as the registry's failure (502, the reason in the OCI error
    // body; no registry challenge is passed on to the client).
    let wrong = fronting(dir.path(), &registry, "wrong");
    let through = wrong.base.trim_start_matches("http://").to_owned();
    let refused = skopeo_copy(
        &format!("{through}/push/cam:v1"),
        &target.path().join("refused"),
    );
    assert!(!refused.status.success(), "pulled with wrong credentials");
    assert!(
        stderr_of(&refused).contains("502"),
        "{}",
        stderr_of(&refused)
    );
    let reply = crate::serve_util::curl(&wrong.url("/v2/push/cam/manifests/v1"), &[]);
    assert_eq!(reply.status, 502, "{reply:?}");
    assert!(reply.header("www-authenticate").is_none(), "{reply:?}");
    let message = reply.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("401 Unauthorized for a token from the registry's token service"),
        "{message}"
    );
}
