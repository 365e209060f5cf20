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
//! Pushes, to a repository whose `[[oci.repositories]]` rule says
//! `push = true` (any other is answered `405` with an OCI `UNSUPPORTED`
//! error and nothing is passed on):
//! - blob uploads (`POST /v2/<name>/blobs/uploads/`, then `PATCH`, `PUT`,
//!   `GET` or `DELETE` of the upload's location) are passed on as they
//!   come, within `[limits] max_artifact_bytes`, the registry's `Location`
//!   rewritten to cragate's; a cross-repository mount (`mount`, `from`) is
//!   asked as a plain upload. A blob is inert: cragate serves it only once
//!   an allowed manifest names it, so `HEAD` of any other blob in such a
//!   repository answers `404` and the client uploads it;
//! - `PUT /v2/<name>/manifests/<reference>`: an image or index is judged as
//!   its pull would be, with the signatures and attestations already in
//!   the registry (push them first), the verdict recorded on the ledger,
//!   and passed on only when allowed; a denied one is `403` with the same
//!   OCI error body a pull gets. Signatures and attestations themselves (a
//!   manifest with a `subject`, or under cosign's `sha256-<hex>`, `.sig`
//!   and `.att` tags) pass unjudged: they are what an image is judged by.
//!
//! `DELETE` of manifests and blobs is not served (`405`).

use std::net::SocketAddr;

use cragate_verifier::Digest;
use cragate_verifier::limits::MAX_MANIFEST_BYTES;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::http::body::{Body, BodyLimits, full, relayed_upload};
use crate::http::error::{ErrorKind, ErrorSource, Excerpt, GatewayError};
use crate::http::oci_error::oci_error_response;
use crate::http::pace::Pace;
use crate::pipeline::Gateway;
use crate::pipeline::oci::{ManifestOutcome, OciGate, halt_notice};
use crate::upstream::oci::{Document, MANIFEST_ACCEPT};
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
    /// `/v2/<name>/blobs/uploads/`: starts a blob upload.
    UploadStart {
        /// Repository.
        name: String,
    },
    /// `/v2/<name>/blobs/uploads/<id>`: an upload under way, at the
    /// location the registry gave.
    Upload {
        /// Repository.
        name: String,
        /// The registry's upload id.
        id: String,
    },
}

/// Longest upload id accepted (distribution uses a UUID).
pub const MAX_UPLOAD_ID_BYTES: usize = 256;

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
        if let Some(at) = rest.rfind("/blobs/uploads") {
            let name = rest.get(..at)?;
            let tail = rest.get(at.checked_add("/blobs/uploads".len())?..)?;
            let id = tail.strip_prefix('/').unwrap_or(tail);
            if valid_name(name) && !id.contains('/') {
                let name = name.to_owned();
                return match id {
                    "" => Some(Self::UploadStart { name }),
                    id if tail.starts_with('/') && valid_upload_id(id) => Some(Self::Upload {
                        name,
                        id: id.to_owned(),
                    }),
                    _ => None,
                };
            }
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
    let Some(path) = OciPath::parse(request.uri().path()) else {
        return Err(GatewayError::client(ErrorKind::BadRequest(format!(
            "{} is not an OCI distribution API path cragate serves",
            Excerpt::new(request.uri().path())
        ))));
    };
    let read = method == Method::GET || method == Method::HEAD;
    match path {
        OciPath::UploadStart { name } if method == Method::POST => {
            pushes_enabled(gateway, &name)?;
            // A mount would read a blob of another repository, whose rule
            // may not enable pushes: asked as a plain upload instead.
            let query = query_without(request.uri().query(), &["mount", "from"]);
            let path = format!("/v2/{name}/blobs/uploads/{query}");
            upload(gateway, gate, request, &path).await
        }
        OciPath::Upload { name, id }
            if [Method::GET, Method::PATCH, Method::PUT, Method::DELETE].contains(&method) =>
        {
            pushes_enabled(gateway, &name)?;
            let query = query_without(request.uri().query(), &[]);
            let path = format!("/v2/{name}/blobs/uploads/{id}{query}");
            upload(gateway, gate, request, &path).await
        }
        OciPath::Manifest { name, reference } if method == Method::PUT => {
            pushes_enabled(gateway, &name)?;
            push_manifest(gateway, gate, request, &name, &reference, peer).await
        }
        path if read => read_path(gateway, gate, &request, &method, path, peer).await,
        OciPath::Manifest { .. } | OciPath::Blob { .. } if method == Method::DELETE => {
            Err(GatewayError::client(ErrorKind::OciUnsupported(
                "deleting through cragate is not served: delete in the registry itself",
            )))
        }
        _ => Err(GatewayError::client(ErrorKind::OciUnsupported(
            "cragate does not serve this method on this path of the registry API",
        ))),
    }
}

/// A `GET` or `HEAD`.
async fn read_path(
    gateway: &Gateway,
    gate: &OciGate,
    request: &Request<Incoming>,
    method: &Method,
    path: OciPath,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    let method = method.clone();
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
        OciPath::UploadStart { .. } | OciPath::Upload { .. } => Err(GatewayError::client(
            ErrorKind::OciUnsupported("an upload is started with POST"),
        )),
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
        // A pushing client asks whether the registry has a blob before it
        // uploads it: in a repository open to pushes, a blob cragate would
        // not serve is one the client must upload.
        if method == Method::HEAD && pushes_enabled(gateway, name).is_ok() {
            return Err(GatewayError::client(ErrorKind::NotFound));
        }
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

/// Refuses a push to `name` unless its `[[oci.repositories]]` rule says
/// `push = true`.
fn pushes_enabled(gateway: &Gateway, name: &str) -> Result<(), GatewayError> {
    if gateway
        .policy
        .oci_repository(name)
        .is_some_and(|rule| rule.push)
    {
        return Ok(());
    }
    Err(GatewayError::client(ErrorKind::OciUnsupported(
        "pushes to this repository through cragate are not enabled: no [[oci.repositories]] rule naming it says push = true",
    )))
}

/// A blob upload request passed on to `path` with its body as it comes
/// (at most `[limits] max_artifact_bytes`, each piece within
/// `body_idle_timeout`, keeping `min_body_bytes_per_second`; the registry
/// has `upstream_timeout` to answer once it ended), the answer relayed with
/// the registry's `Location` made cragate's.
async fn upload(
    gateway: &Gateway,
    gate: &OciGate,
    request: Request<Incoming>,
    path: &str,
) -> Result<Response<Body>, GatewayError> {
    let limit = gateway.config.limits.max_artifact_bytes;
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(GatewayError::client(ErrorKind::TooLarge { limit }));
    }
    let limits = &gateway.config.limits;
    let done = std::sync::Arc::new(tokio::sync::Notify::new());
    let body = relayed_upload(
        body,
        limit,
        limits.body_idle_timeout,
        Pace::of(limits),
        std::sync::Arc::clone(&done),
    );
    let answer = gate
        .upstream
        .push(
            parts.method.clone(),
            path,
            &parts.headers,
            body,
            Some(&done),
        )
        .await?;
    Ok(local_location(gate, crate::upstream::relay(answer)))
}

/// A manifest pushed: read whole, judged ([`OciGate::push`]), and passed
/// on to the registry only when allowed (or a signature or attestation).
async fn push_manifest(
    gateway: &Gateway,
    gate: &OciGate,
    request: Request<Incoming>,
    name: &str,
    reference: &str,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = request.into_parts();
    let limits = BodyLimits {
        limit: MAX_MANIFEST_BYTES as u64,
        idle: gateway.config.limits.body_idle_timeout,
        from: ErrorSource::Client,
    };
    let document = Document::read(body, &parts.headers, limits).await?;
    gate.push(gateway, name, reference, &document, peer).await?;
    let path = format!("/v2/{name}/manifests/{reference}");
    let answer = gate
        .upstream
        .push(
            Method::PUT,
            &path,
            &parts.headers,
            full(document.bytes),
            None,
        )
        .await?;
    Ok(local_location(gate, crate::upstream::relay(answer)))
}

/// `?query` without the parameters named `drop` (kept as they came,
/// undecoded), or nothing when none is left.
fn query_without(query: Option<&str>, drop: &[&str]) -> String {
    let kept: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            !drop.contains(&key)
        })
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

/// A `Location` on the registry itself made a path on cragate, so that
/// the client sends the rest of an upload through the gate too.
fn local_location(gate: &OciGate, mut response: Response<Body>) -> Response<Body> {
    let base = gate.upstream.base();
    let local = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<http::Uri>().ok())
        .filter(|uri| uri.scheme().is_some() && uri.authority() == base.authority())
        .and_then(|uri| uri.path_and_query().map(|p| p.as_str().to_owned()))
        .and_then(|path| HeaderValue::from_str(&path).ok());
    if let Some(local) = local {
        response.headers_mut().insert(header::LOCATION, local);
    }
    response
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

/// An upload id as a registry gives it: letters, digits, `-`, `_`, `.`
/// and `=`.
fn valid_upload_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_UPLOAD_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=".contains(&b))
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
