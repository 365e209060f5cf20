//! Errors of the request pipeline, and the one function that turns them
//! into HTTP responses. Each error knows who caused it: the client, the
//! upstream or the gateway itself. Every error denies: none of them leads
//! to a forwarded request or a served product.

use bytes::Bytes;
use cragate_verifier::Digest;
use cragate_verifier::evidence::EvidenceError;
use cragate_verifier::verdict::Verdict;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use super::auth::Refusal;
use super::body::{Body, full};

/// Who caused an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The request was wrong or refused.
    Client,
    /// The upstream failed or answered something unusable.
    Upstream,
    /// The gateway itself failed.
    Gateway,
}

/// Why a request was not served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// No route.
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    /// An admin route without an administrator's credentials.
    #[error(transparent)]
    AdminRefused(Refusal),
    /// The body is not a usable listing.
    #[error("the listing cannot be used: {0}")]
    MalformedListing(#[from] EvidenceError),
    /// The request is malformed in another way.
    #[error("{0}")]
    BadRequest(String),
    /// A body over its route's limit.
    #[error("the body is over the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The client stopped sending.
    #[error("the client sent nothing for too long")]
    ClientTimeout,
    /// The policy denies the listing.
    #[error("the listing is rejected by policy {}", .0.policy().name)]
    Rejected(Box<Verdict>),
    /// No accepted listing references this artifact.
    #[error("no accepted listing references {digest}")]
    NotReferenced { digest: Digest },
    /// The bytes do not hash to the digest they were sent for.
    #[error("the body hashes to {actual}, not {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },
    /// The bytes are not the size the accepted listing declares.
    #[error("the body is {actual} bytes; the accepted listing declares {expected}")]
    SizeMismatch { expected: u64, actual: u64 },
    /// A range outside the artifact.
    #[error("the range is outside the {size} bytes of the artifact")]
    RangeNotSatisfiable { size: u64 },
    /// Not in the catalog.
    #[error("not found")]
    NotFound,
    /// The upstream could not be reached or broke off.
    #[error("the upstream failed: {0}")]
    UpstreamUnavailable(String),
    /// The upstream did not answer in time.
    #[error("the upstream did not answer in time")]
    UpstreamTimeout,
    /// The upstream answered something that cannot be checked.
    #[error("the upstream answered something unusable: {0}")]
    UpstreamInvalid(String),
    /// The gateway's storage failed.
    #[error("storage failed: {0}")]
    Storage(#[from] std::io::Error),
    /// The decision could not be recorded on the ledger, so nothing was
    /// accepted (503: try again).
    #[error("the ledger cannot record the decision: {0}")]
    Ledger(String),
    /// The ledger could not be read (admin API).
    #[error("the ledger cannot be read: {0}")]
    LedgerRead(String),
    /// Any other failure of the gateway.
    #[error("internal error: {0}")]
    Internal(String),
}

impl GatewayError {
    /// Who caused it.
    pub fn source(&self) -> ErrorSource {
        match self {
            Self::UpstreamUnavailable(_) | Self::UpstreamTimeout | Self::UpstreamInvalid(_) => {
                ErrorSource::Upstream
            }
            Self::Storage(_) | Self::Ledger(_) | Self::LedgerRead(_) | Self::Internal(_) => {
                ErrorSource::Gateway
            }
            _ => ErrorSource::Client,
        }
    }

    /// The HTTP status it maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute { .. } | Self::NotFound => StatusCode::NOT_FOUND,
            Self::AdminRefused(Refusal::CredentialsRequired) => StatusCode::UNAUTHORIZED,
            Self::AdminRefused(_) => StatusCode::FORBIDDEN,
            Self::MalformedListing(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ClientTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Rejected(_) | Self::NotReferenced { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::DigestMismatch { .. } | Self::SizeMismatch { .. } => StatusCode::CONFLICT,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::UpstreamUnavailable(_) | Self::UpstreamInvalid(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Ledger(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Storage(_) | Self::LedgerRead(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A short stable name, used as the problem type and in metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoRoute { .. } => "no-route",
            Self::AdminRefused(refusal) => match refusal {
                Refusal::NotConfigured => "admin-closed",
                Refusal::CertificateRequired => "client-certificate-required",
                Refusal::CredentialsRequired => "credentials-required",
                Refusal::TokenMismatch => "token-mismatch",
            },
            Self::MalformedListing(_) => "malformed-listing",
            Self::BadRequest(_) => "bad-request",
            Self::TooLarge { .. } => "too-large",
            Self::ClientTimeout => "client-timeout",
            Self::Rejected(_) => "listing-rejected",
            Self::NotReferenced { .. } => "artifact-not-referenced",
            Self::DigestMismatch { .. } => "digest-mismatch",
            Self::SizeMismatch { .. } => "size-mismatch",
            Self::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            Self::NotFound => "not-found",
            Self::UpstreamUnavailable(_) => "upstream-unavailable",
            Self::UpstreamTimeout => "upstream-timeout",
            Self::UpstreamInvalid(_) => "upstream-invalid",
            Self::Storage(_) => "storage",
            Self::Ledger(_) => "ledger-unavailable",
            Self::LedgerRead(_) => "ledger-read",
            Self::Internal(_) => "internal",
        }
    }
}

/// The response for an error: an RFC 9457 problem document. A rejected
/// listing carries the failed checks, each with the article it serves.
pub fn error_response(error: &GatewayError) -> Response<Body> {
    let status = error.status();
    let mut problem = json!({
        "type": format!("urn:cragate:problem:{}", error.code()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": error.to_string(),
        "source": match error.source() {
            ErrorSource::Client => "client",
            ErrorSource::Upstream => "upstream",
            ErrorSource::Gateway => "gateway",
        },
    });
    if let (Value::Object(fields), GatewayError::Rejected(verdict)) = (&mut problem, error) {
        fields.insert("decision".into(), json!(verdict.decision()));
        fields.insert("evaluated_at".into(), json!(verdict.evaluated_at()));
        fields.insert("policy".into(), json!(verdict.policy()));
        fields.insert("listing".into(), json!(verdict.listing()));
        let failed: Vec<Value> = verdict
            .failed()
            .map(|c| {
                json!({"id": c.id.id(), "article": c.article, "severity": c.severity, "detail": c.detail})
            })
            .collect();
        fields.insert("failed_checks".into(), Value::Array(failed));
    }
    let body = serde_json::to_vec_pretty(&problem).unwrap_or_default();
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let GatewayError::AdminRefused(Refusal::CredentialsRequired) = error {
        // RFC 6750 §3: a 401 names the scheme that would be accepted.
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"cragate-admin\""),
        );
    }
    if let GatewayError::RangeNotSatisfiable { size } = error
        && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
    {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}
