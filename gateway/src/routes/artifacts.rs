//! Artifact uploads and downloads, streamed: memory use does not depend on
//! the artifact's size.

use std::sync::Arc;

use cragate_verifier::Digest;
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;
use tempfile::NamedTempFile;

use super::Captures;
use crate::http::body::{Body, empty, file_range, full, stream_to_file};
use crate::http::error::{ErrorKind, GatewayError};
use crate::pipeline::Gateway;
use crate::pipeline::halt::check_artifact;
use crate::pipeline::limits;
use crate::upstream::verified::VerifiedBody;
use crate::upstream::{Upstream, relay};

/// `PUT /v1/artifacts/sha256:<hex>` (or an `artifact-upload` rule): the
/// bytes go to a temporary file while hashed; they are stored or forwarded
/// only when an accepted listing references the digest and the bytes match
/// its digest and declared size.
pub async fn upload(
    gateway: &Arc<Gateway>,
    captures: Captures,
    request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    let digest = path_digest(&captures)?;
    let declared = gateway
        .accepted
        .size(&digest)
        .ok_or(GatewayError::client(ErrorKind::NotReferenced { digest }))?;
    // No new uploads of a halted product (CRA Art. 20(3)).
    check_artifact(gateway, &digest)?;
    let (parts, body) = request.into_parts();
    let limit = gateway.config.limits.max_artifact_bytes;
    if declared > limit {
        return Err(GatewayError::client(ErrorKind::TooLarge { limit }));
    }
    limits(&parts, limit)?;
    let temp = NamedTempFile::new_in(&gateway.temp_dir)?;
    let idle = gateway.config.limits.body_idle_timeout;
    // One byte over the declared size is enough to know it does not match.
    let budget = declared.saturating_add(1).min(limit);
    let (actual, length) = stream_to_file(body, temp.reopen()?, budget, idle).await?;
    if length != declared {
        return Err(GatewayError::client(ErrorKind::SizeMismatch {
            expected: declared,
            actual: length,
        }));
    }
    if actual != digest {
        return Err(GatewayError::client(ErrorKind::DigestMismatch {
            expected: digest,
            actual,
        }));
    }
    match &gateway.upstream {
        Upstream::File(catalog) => {
            catalog.store_artifact(temp, digest).await?;
            let body = json!({"digest": digest.to_string(), "size": length}).to_string();
            let mut response = Response::new(full(body));
            *response.status_mut() = StatusCode::CREATED;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Ok(location) = HeaderValue::from_str(&format!("/v1/artifacts/{digest}")) {
                headers.insert(header::LOCATION, location);
            }
            Ok(response)
        }
        Upstream::Http(upstream) => {
            let file = tokio::fs::File::open(temp.path()).await?;
            let body = file_range(file, 0, length).await?;
            let length_header = (header::CONTENT_LENGTH, HeaderValue::from(length));
            let answer = upstream
                .forward(&parts, body, &[header::CONTENT_LENGTH], &[length_header])
                .await?;
            if answer.status().is_server_error() {
                return Err(GatewayError::upstream(ErrorKind::Status {
                    status: answer.status(),
                    what: "an artifact",
                }));
            }
            Ok(relay(answer))
        }
    }
}

/// `GET /v1/artifacts/sha256:<hex>` (or a `download` rule): only artifacts
/// an accepted listing references; single byte ranges supported. Bytes
/// from an HTTP upstream are re-hashed while streamed.
pub async fn download(
    gateway: &Arc<Gateway>,
    captures: Captures,
    request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    let digest = path_digest(&captures)?;
    let size = gateway
        .accepted
        .size(&digest)
        .ok_or(GatewayError::client(ErrorKind::NotReferenced { digest }))?;
    // Halt state on every download, never cached (CRA Art. 19(3), 20(3)).
    check_artifact(gateway, &digest)?;
    let range = parse_range(request.headers().get(header::RANGE), size)?;
    let (start, end) = range.unwrap_or((0, size));
    let body = match &gateway.upstream {
        Upstream::File(catalog) => {
            let (file, length) = catalog
                .open_artifact(digest)
                .await?
                .ok_or(GatewayError::client(ErrorKind::NotFound))?;
            if length != size {
                return Err(GatewayError::gateway(ErrorKind::Internal(format!(
                    "stored artifact {digest} is {length} bytes, not {size}"
                ))));
            }
            file_range(file, start, end.saturating_sub(start)).await?
        }
        Upstream::Http(upstream) => {
            let (parts, _) = request.into_parts();
            let drop: [HeaderName; 7] = [
                header::RANGE,
                header::IF_RANGE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                header::IF_MODIFIED_SINCE,
                header::IF_UNMODIFIED_SINCE,
                header::ACCEPT_ENCODING,
            ];
            let answer = upstream.forward(&parts, empty(), &drop, &[]).await?;
            match answer.status() {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND => return Err(GatewayError::client(ErrorKind::NotFound)),
                status => {
                    return Err(GatewayError::upstream(ErrorKind::Status {
                        status,
                        what: "an artifact",
                    }));
                }
            }
            let length = answer
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if let Some(actual) = length.filter(|length| *length != size) {
                return Err(GatewayError::upstream(ErrorKind::SizeMismatch {
                    expected: size,
                    actual,
                }));
            }
            let idle = gateway.config.limits.upstream_timeout;
            VerifiedBody::new(answer.into_body(), digest, (size, start, end), idle).boxed_unsync()
        }
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(end.saturating_sub(start)),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{digest}\"")) {
        headers.insert(header::ETAG, etag);
    }
    if range.is_some() {
        let last = end.saturating_sub(1);
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{last}/{size}")) {
            headers.insert(header::CONTENT_RANGE, value);
        }
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response)
}

fn path_digest(captures: &Captures) -> Result<Digest, GatewayError> {
    captures.digest.ok_or_else(|| {
        GatewayError::client(ErrorKind::BadRequest(
            "the path holds no sha256 digest".into(),
        ))
    })
}

/// One byte range (RFC 9110, section 14.1.2) as `start..end`. A header
/// that is not a single `bytes=` range is ignored (the whole artifact is
/// served, as RFC 9110 allows); a range outside the artifact is 416.
pub fn parse_range(
    header: Option<&HeaderValue>,
    size: u64,
) -> Result<Option<(u64, u64)>, GatewayError> {
    let Some(spec) = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let unsatisfiable = GatewayError::client(ErrorKind::RangeNotSatisfiable { size });
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(first), Ok(last)) if first <= last => (first, last.saturating_add(1).min(size)),
        (Ok(first), Err(_)) if last.is_empty() => (first, size),
        (Err(_), Ok(suffix)) if first.is_empty() => {
            if suffix == 0 {
                return Err(unsatisfiable);
            }
            (size.saturating_sub(suffix), size)
        }
        _ => return Ok(None),
    };
    if range.0 >= size {
        return Err(unsatisfiable);
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Result<Option<(u64, u64)>, GatewayError> {
        parse_range(Some(&HeaderValue::from_str(value).unwrap()), size)
    }

    #[test]
    fn single_ranges_are_understood() {
        assert_eq!(range("bytes=0-9", 100).unwrap(), Some((0, 10)));
        assert_eq!(range("bytes=90-", 100).unwrap(), Some((90, 100)));
        assert_eq!(range("bytes=-5", 100).unwrap(), Some((95, 100)));
        assert_eq!(range("bytes=50-500", 100).unwrap(), Some((50, 100)));
        assert_eq!(range("bytes=-500", 100).unwrap(), Some((0, 100)));
    }

    #[test]
    fn other_range_headers_are_ignored_or_refused() {
        assert_eq!(range("bytes=0-1,5-6", 100).unwrap(), None);
        assert_eq!(range("items=0-1", 100).unwrap(), None);
        assert_eq!(range("bytes=9-1", 100).unwrap(), None);
        assert!(matches!(
            range("bytes=100-", 100).map_err(|e| e.code()),
            Err("range-not-satisfiable")
        ));
        assert!(range("bytes=-0", 100).is_err());
    }
}
