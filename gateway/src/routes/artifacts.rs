//! Artifact uploads and downloads, streamed: memory use does not depend on
//! the artifact's size.

use std::sync::Arc;

use cragate_verifier::Digest;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use super::Captures;
use crate::http::body::{Body, BodyLimits, file_range, full, stream_to_file};
use crate::http::error::{ErrorKind, ErrorSource, GatewayError};
use crate::http::pace::Pace;
use crate::pipeline::Gateway;
use crate::pipeline::limits;
use crate::upstream::{HttpUpstream, Upstream, relay};

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
    let limits = BodyLimits {
        limit: budget,
        idle,
        from: ErrorSource::Client,
    };
    let pace = Pace::of(&gateway.config.limits);
    let (actual, length) = stream_to_file(body, temp.reopen()?, limits, pace).await?;
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
/// an accepted listing references now, with a size it declares.
///
/// From the file catalog, whose bytes were verified when they were
/// uploaded: with the digest as `ETag` and single byte ranges. From an HTTP
/// upstream see [`download_http`].
pub async fn download(
    gateway: &Arc<Gateway>,
    captures: Captures,
    request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    let digest = path_digest(&captures)?;
    let sizes = referenced(gateway, digest)?;
    let catalog = match &gateway.upstream {
        Upstream::File(catalog) => catalog,
        Upstream::Http(upstream) => {
            return download_http(gateway, upstream, digest, &sizes, request).await;
        }
    };
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
    Ok(answer(body, digest, length, range, Verified::Yes))
}

/// Whether the bytes of a response were verified before it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verified {
    /// The whole object matched its digest and size before a byte was
    /// sent: the digest is its `ETag`, and ranges of it are offered.
    Yes,
    /// Verified while streamed (the last piece held back until it
    /// matched): no `ETag` and `Accept-Ranges: none`, so that no client
    /// resumes or caches a prefix of bytes that were never verified.
    WhileStreamed,
}

/// A download from an HTTP upstream (CRA Art. 20(1): a distributor makes
/// available only what conforms, so a client never completes a download of
/// bytes that do not match the accepted listing).
///
/// - Without a `Range` (or without an `If-Range` naming the digest, or for
///   an object over `max_spool_bytes`): the whole object, `200`, re-hashed
///   while streamed ([`VerifiedBody`]), without `ETag` and with
///   `Accept-Ranges: none`.
/// - A range with `If-Range: "sha256:<hex>"` of this digest: the whole
///   object is spooled to a temporary file and verified first; the range
///   is served from that copy (`206`, with the `ETag`).
///
/// The upstream is always asked for the whole object: a range of it could
/// not be verified.
async fn download_http(
    gateway: &Gateway,
    upstream: &HttpUpstream,
    digest: Digest,
    sizes: &[u64],
    request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, _) = request.into_parts();
    let etag = format!("\"{digest}\"");
    let wants_range = parts.headers.get(header::RANGE).cloned().filter(|_| {
        parts
            .headers
            .get(header::IF_RANGE)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    });
    let limits = &gateway.config.limits;
    let mut body = upstream
        .download(&parts, digest, sizes, Pace::of(limits))
        .await?;
    let size = body.size();
    let range = match &wants_range {
        Some(header) if size <= limits.max_spool_bytes => parse_range(Some(header), size)?,
        _ => None,
    };
    let Some((start, end)) = range else {
        let body = body.boxed_unsync();
        return Ok(answer(body, digest, size, None, Verified::WhileStreamed));
    };
    // Spooled whole before a byte of the range is sent: the body ends
    // without error only once the whole object matched.
    let temp = NamedTempFile::new_in(&gateway.temp_dir)?;
    let mut spool = tokio::fs::File::from_std(temp.reopen()?);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| GatewayError::upstream(ErrorKind::BrokenBody(e)))?;
        if let Ok(data) = frame.into_data() {
            spool.write_all(&data).await?;
        }
    }
    spool.flush().await?;
    drop(spool);
    // The open file outlives the temporary name, removed when this returns.
    let file = tokio::fs::File::open(temp.path()).await?;
    let body = file_range(file, start, end.saturating_sub(start)).await?;
    Ok(answer(body, digest, size, range, Verified::Yes))
}

/// The response for `body`: bytes `range` (or all) of an artifact of
/// `size` bytes, with the headers its verification allows.
fn answer(
    body: Body,
    digest: Digest,
    size: u64,
    range: Option<(u64, u64)>,
    verified: Verified,
) -> Response<Body> {
    let (start, end) = range.unwrap_or((0, size));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(end.saturating_sub(start)),
    );
    match verified {
        Verified::Yes => {
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{digest}\"")) {
                headers.insert(header::ETAG, etag);
            }
        }
        Verified::WhileStreamed => {
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
        }
    }
    if range.is_some() {
        let last = end.saturating_sub(1);
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{last}/{size}")) {
            headers.insert(header::CONTENT_RANGE, value);
        }
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    response
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
