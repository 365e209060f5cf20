//! Errors on the registry API: the OCI distribution-spec error body, with
//! the status [`GatewayError::status`] gives each error.

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use serde_json::json;

use super::body::{Body, full};
use super::error::{ErrorKind, ErrorSource, GatewayError};

/// The one-line message of a denied image: the first failed check and its
/// article (what skopeo and docker print of an OCI error).
pub(crate) fn image_denial_message(verdict: &cragate_verifier::cosign::ImageVerdict) -> String {
    match verdict.first_failure() {
        Some(check) => format!(
            "denied by policy {}: {} failed ({}): {}",
            verdict.policy, check.id, check.article, check.detail
        ),
        None => format!("denied by policy {}", verdict.policy),
    }
}

/// The OCI distribution-spec error body (`{"errors": [{"code", "message",
/// "detail"}]}`) for an error on the registry API, with the status
/// [`GatewayError::status`] gives it. A denied image's detail carries every
/// failed check.
pub fn oci_error_response(error: &GatewayError) -> Response<Body> {
    let status = error.status();
    let code = match (error.source(), error.kind()) {
        (ErrorSource::Upstream, _) => "UNKNOWN",
        (
            _,
            ErrorKind::ImageDenied(_)
            | ErrorKind::ImageHalted(_)
            | ErrorKind::BlobNotAllowed { .. },
        ) => "DENIED",
        (_, ErrorKind::OciUnsupported(_)) => "UNSUPPORTED",
        (_, ErrorKind::ManifestInvalid(_)) => "MANIFEST_INVALID",
        (_, ErrorKind::NotFound) => "NAME_UNKNOWN",
        (_, ErrorKind::BadPath(_) | ErrorKind::BadRequest(_)) => "NAME_INVALID",
        _ => "UNKNOWN",
    };
    let detail = match error.kind() {
        ErrorKind::ImageDenied(verdict) => json!({
            "repository": verdict.repository,
            "manifest": verdict.manifest_digest,
            "policy": {"name": verdict.policy, "digest": verdict.policy_digest},
            "evaluated_at": verdict.evaluated_at,
            "failed_checks": verdict.failures().map(|c| json!({
                "id": c.id, "article": c.article, "detail": c.detail,
            })).collect::<Vec<_>>(),
        }),
        _ => json!({"source": match error.source() {
            ErrorSource::Client => "client",
            ErrorSource::Upstream => "upstream",
            ErrorSource::Gateway => "gateway",
        }}),
    };
    let body = json!({"errors": [{"code": code, "message": error.to_string(), "detail": detail}]});
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
