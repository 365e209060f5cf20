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
    // Every size a current accepted listing declares for the digest; the
    // bytes must have one of them.
    let sizes = referenced(gateway, digest)?;
    let (parts, body) = request.into_parts();
    let limit = gateway.config.limits.max_artifact_bytes;
    let (Some(&smallest), Some(&largest)) = (sizes.first(), sizes.last()) else {
        return Err(GatewayError::client(ErrorKind::NotReferenced { digest }));
    };
    if smallest > limit {
        return Err(GatewayError::client(ErrorKind::TooLarge { limit }));
    }
    limits(&parts, limit)?;
    let temp = NamedTempFile::new_in(&gateway.temp_dir)?;
    let idle = gateway.config.limits.body_idle_timeout;
    // One byte over the largest declared size is enough to know it does
    // not match.
    let budget = largest.saturating_add(1).min(limit);
    let (actual, length) = stream_to_file(body, temp.reopen()?, budget, idle).await?;
    if !sizes.contains(&length) {
        return Err(GatewayError::client(ErrorKind::SizeMismatch {
            expected: closest(&sizes, length),
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
    let sizes = referenced(gateway, digest)?;
    let (body, size, range) = match &gateway.upstream {
        Upstream::File(catalog) => {
            let (file, length) = catalog
                .open_artifact(digest)
                .await?
                .ok_or(GatewayError::client(ErrorKind::NotFound))?;
            if !sizes.contains(&length) {
                return Err(GatewayError::gateway(ErrorKind::Internal(format!(
                    "stored artifact {digest} is {length} bytes, which no accepted listing declares"
                ))));
            }
            let range = parse_range(request.headers().get(header::RANGE), length)?;
            let (start, end) = range.unwrap_or((0, length));
            let body = file_range(file, start, end.saturating_sub(start)).await?;
            (body, length, range)
        }
        Upstream::Http(upstream) => {
            let (parts, _) = request.into_parts();
            let range_header = parts.headers.get(header::RANGE).cloned();
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
            let size = match (length, sizes.as_slice()) {
                (Some(length), _) if sizes.contains(&length) => length,
                (None, [only]) => *only,
                (actual, _) => {
                    return Err(GatewayError::upstream(ErrorKind::SizeMismatch {
                        expected: closest(&sizes, actual.unwrap_or(0)),
                        actual: actual.unwrap_or(0),
                    }));
                }
            };
            let range = parse_range(range_header.as_ref(), size)?;
            let (start, end) = range.unwrap_or((0, size));
            let idle = gateway.config.limits.upstream_timeout;
            let body = VerifiedBody::new(answer.into_body(), digest, (size, start, end), idle)
                .boxed_unsync();
            (body, size, range)
        }
    };
    let (start, end) = range.unwrap_or((0, size));
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

/// The sizes current accepted listings declare for `digest`; none is
/// `422` (not referenced).
fn referenced(gateway: &Gateway, digest: Digest) -> Result<Vec<u64>, GatewayError> {
    let sizes = gateway.accepted.sizes(&digest);
    if sizes.is_empty() {
        return Err(GatewayError::client(ErrorKind::NotReferenced { digest }));
    }
    Ok(sizes)
}

/// The declared size nearest to `actual`, to name in a mismatch.
fn closest(sizes: &[u64], actual: u64) -> u64 {
    sizes
        .iter()
        .copied()
        .min_by_key(|size| size.abs_diff(actual))
        .unwrap_or(0)
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
/// served, as RFC 9110 allows); a range outside the artifact is 416, and a
/// last position beyond the artifact (however many digits) is clamped to
/// its end.
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
    let range = match (position(first), position(last)) {
        (Some(first), Some(last)) if first <= last => (first, last.saturating_add(1).min(size)),
        (Some(first), None) if last.is_empty() => (first, size),
        (None, Some(suffix)) if first.is_empty() => {
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

/// A byte position of a range: digits only; one past `u64::MAX` is taken
/// as `u64::MAX`, which every artifact ends before (so a last position is
/// clamped to the end, a first one is unsatisfiable).
fn position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
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
        let beyond = "bytes=5-99999999999999999999";
        assert_eq!(range(beyond, 100).unwrap(), Some((5, 100)));
        assert_eq!(
            range("bytes=-99999999999999999999", 100).unwrap(),
            Some((0, 100))
        );
        assert!(range("bytes=99999999999999999999-", 100).is_err());
        assert_eq!(range("bytes=+5-9", 100).unwrap(), None);
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
