//! The OCI Distribution API under `/v2/` (distribution-spec v1.1), in
//! front of the `[oci]` registry:
//! - `GET /v2/`: the API version check, answered by cragate;
//! - `GET|HEAD /v2/<name>/manifests/<tag|digest>`: judged by the registry
//!   gate ([`crate::pipeline::oci`]); an allowed manifest is served as the
//!   registry returned it, a denied one is `403` with the OCI error body;
//! - `GET|HEAD /v2/<name>/blobs/<digest>`: only a blob an allowed manifest
//!   of `<name>` names, streamed and re-hashed on the way;
//! - `GET /v2/<name>/tags/list` and `GET /v2/<name>/referrers/<digest>`:
//!   passed through (they name manifests, which are judged when pulled).
//!
//! Pushes (`POST`, `PUT`, `PATCH`, `DELETE`) are not screened yet and are
//! answered `405` with an OCI `UNSUPPORTED` error, never passed on.

use std::net::SocketAddr;

use cragate_verifier::Digest;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::http::body::{Body, full};
use crate::http::error::{ErrorKind, Excerpt, GatewayError};
use crate::http::oci_error::oci_error_response;
use crate::pipeline::Gateway;
use crate::pipeline::oci::{ManifestOutcome, OciGate, halt_notice};
use crate::upstream::oci::MANIFEST_ACCEPT;
use crate::upstream::verified::VerifiedBody;

/// Longest repository name accepted (distribution-spec: 255 with the
/// registry's host name).
pub const MAX_NAME_BYTES: usize = 255;

/// What a `/v2/` path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OciPath {
    /// `/v2/`.
    Base,
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        /// Repository.
        name: String,
        /// Tag or digest.
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob {
        /// Repository.
        name: String,
        /// Digest.
        digest: Digest,
    },
    /// `/v2/<name>/tags/list`.
    Tags {
        /// Repository.
        name: String,
    },
    /// `/v2/<name>/referrers/<digest>`.
    Referrers {
        /// Repository.
        name: String,
        /// The subject.
        digest: Digest,
    },
}

impl OciPath {
    /// Parses a path below `/v2/`; `None` for anything else.
    pub fn parse(path: &str) -> Option<Self> {
        if path == "/v2" {
            return Some(Self::Base);
        }
        let rest = path.strip_prefix("/v2/")?;
        if rest.is_empty() {
            return Some(Self::Base);
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return valid_name(name).then(|| Self::Tags {
                name: name.to_owned(),
            });
        }
        for (marker, kind) in [("/manifests/", 0), ("/blobs/", 1), ("/referrers/", 2)] {
            if let Some(at) = rest.rfind(marker) {
                let name = rest.get(..at)?;
                let last = rest.get(at.checked_add(marker.len())?..)?;
                if !valid_name(name) {
                    return None;
                }
                let name = name.to_owned();
                return match kind {
                    0 => valid_reference(last).then(|| Self::Manifest {
                        name,
                        reference: last.to_owned(),
                    }),
                    1 => last.parse().ok().map(|digest| Self::Blob { name, digest }),
                    _ => last
                        .parse()
                        .ok()
                        .map(|digest| Self::Referrers { name, digest }),
                };
            }
        }
        None
    }
}

/// Serves one `/v2/` request; every error is an OCI error body.
pub async fn serve(
    gateway: &Gateway,
    gate: &OciGate,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Response<Body> {
    answer(gateway, gate, request, peer)
        .await
        .unwrap_or_else(|error| {
            if error.is_logged() {
                eprintln!("cragate: oci: {error}");
            }
            oci_error_response(&error)
        })
}

async fn answer(
    gateway: &Gateway,
    gate: &OciGate,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return Err(GatewayError::client(ErrorKind::OciUnsupported(
            "pushes through cragate are not screened yet: push to the registry directly",
        )));
    }
    let Some(path) = OciPath::parse(request.uri().path()) else {
        return Err(GatewayError::client(ErrorKind::BadRequest(format!(
            "{} is not an OCI distribution API path cragate serves",
            Excerpt::new(request.uri().path())
        ))));
    };
    match path {
        OciPath::Base => {
            let mut response = Response::new(full(&b"{}"[..]));
            response.headers_mut().insert(
                "docker-distribution-api-version",
                HeaderValue::from_static("registry/2.0"),
            );
            Ok(response)
        }
        OciPath::Manifest { name, reference } => {
            match gate.manifest(gateway, &name, &reference, peer).await? {
                ManifestOutcome::NotFound => Err(GatewayError::client(ErrorKind::NotFound)),
                ManifestOutcome::Allowed(document) => {
                    let length = document.bytes.len();
                    let body = if method == Method::HEAD {
                        full(bytes::Bytes::new())
                    } else {
                        full(document.bytes)
                    };
                    let mut response = Response::new(body);
                    let headers = response.headers_mut();
                    let content_type = document
                        .content_type
                        .as_deref()
                        .and_then(|v| HeaderValue::from_str(v).ok())
                        .unwrap_or(HeaderValue::from_static(
                            "application/vnd.oci.image.manifest.v1+json",
                        ));
                    headers.insert(header::CONTENT_TYPE, content_type);
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
                    if let Ok(value) = HeaderValue::from_str(&document.digest.to_string()) {
                        headers.insert("docker-content-digest", value);
                    }
                    Ok(response)
                }
            }
        }
        OciPath::Blob { name, digest } => blob(gateway, gate, &method, &name, digest).await,
        OciPath::Tags { name } => {
            let query = request
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            relay(gate, &format!("/v2/{name}/tags/list{query}"), None).await
        }
        OciPath::Referrers { name, digest } => {
            relay(
                gate,
                &format!("/v2/{name}/referrers/{digest}"),
                Some(MANIFEST_ACCEPT),
            )
            .await
        }
    }
}

/// A blob of an allowed manifest, streamed and re-hashed.
async fn blob(
    gateway: &Gateway,
    gate: &OciGate,
    method: &Method,
    name: &str,
    digest: Digest,
) -> Result<Response<Body>, GatewayError> {
    let Some(allowed) = gate.allowed_blob(name, &digest) else {
        return Err(GatewayError::client(ErrorKind::BlobNotAllowed {
            digest: Excerpt::new(&digest.to_string()),
        }));
    };
    // A blob of an image allowed before a halt is halted with it.
    if let Some(notice) = halt_notice(gateway, name, &[allowed.manifest, digest]) {
        return Err(GatewayError::client(ErrorKind::ImageHalted(notice)));
    }
    let size = allowed.size;
    let path = format!("/v2/{name}/blobs/{digest}");
    let body = if method == Method::HEAD {
        full(bytes::Bytes::new())
    } else {
        let answer = gate.upstream.send(Method::GET, &path, None).await?;
        match answer.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(GatewayError::client(ErrorKind::NotFound)),
            status => {
                return Err(GatewayError::upstream(ErrorKind::Status {
                    status,
                    what: "a blob",
                }));
            }
        }
        let idle = gateway.config.limits.upstream_timeout;
        VerifiedBody::new(answer.into_body(), digest, (size, 0, size), idle).boxed_unsync()
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(value) = HeaderValue::from_str(&digest.to_string()) {
        headers.insert("docker-content-digest", value);
    }
    Ok(response)
}

/// A registry answer passed through.
async fn relay(
    gate: &OciGate,
    path: &str,
    accept: Option<&str>,
) -> Result<Response<Body>, GatewayError> {
    let answer = gate.upstream.send(Method::GET, path, accept).await?;
    Ok(crate::upstream::relay(answer))
}

/// A repository name (distribution-spec): lower-case components of
/// letters and digits joined by `.`, `_`, `__` or `-`, separated by `/`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name.split('/').all(|component| {
            let bytes = component.as_bytes();
            matches!(bytes.first(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
                && matches!(bytes.last(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
                && !component.contains("..")
        })
}

/// A tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) or a digest.
fn valid_reference(reference: &str) -> bool {
    if reference.starts_with("sha256:") {
        return reference.parse::<Digest>().is_ok();
    }
    let bytes = reference.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_repository_and_reference() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(OciPath::parse("/v2/"), Some(OciPath::Base));
        assert_eq!(OciPath::parse("/v2"), Some(OciPath::Base));
        assert_eq!(
            OciPath::parse("/v2/acme/cam/manifests/v1.0"),
            Some(OciPath::Manifest {
                name: "acme/cam".into(),
                reference: "v1.0".into()
            })
        );
        assert!(matches!(
            OciPath::parse(&format!("/v2/acme/cam/blobs/{digest}")),
            Some(OciPath::Blob { .. })
        ));
        assert_eq!(
            OciPath::parse("/v2/acme/cam/tags/list"),
            Some(OciPath::Tags {
                name: "acme/cam".into()
            })
        );
        for bad in [
            "/v2/Acme/manifests/x",
            "/v2/acme/../x/manifests/x",
            "/v2/acme/manifests/-x",
            "/v2/acme/blobs/sha256:zz",
            "/v2//manifests/x",
        ] {
            assert_eq!(OciPath::parse(bad), None, "{bad}");
        }
    }
}
