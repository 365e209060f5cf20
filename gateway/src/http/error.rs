//! Errors of the request pipeline, and the one function that turns them
//! into HTTP responses.
//!
//! An error is what went wrong ([`ErrorKind`], with typed context) and who
//! caused it ([`ErrorSource`]): the client, the upstream or the gateway
//! itself. The source is set where the error is made, by the code that
//! knows whose bytes it was reading (pingora's `Error { etype, esource }`),
//! and is never guessed later from the kind: the same malformed listing is
//! the client's error in a submission (400) and the upstream's in a read
//! (502). Every error denies: none of them leads to a forwarded request or
//! a served product.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use cragate_verifier::Digest;
use cragate_verifier::evidence::EvidenceError;
use cragate_verifier::halt::{HaltError, Refusal as HaltRefusal};
use cragate_verifier::json::JsonLimitError;
use cragate_verifier::verdict::Verdict;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};

use super::auth::Refusal;
use super::body::{Body, full};
use super::path::PathError;

/// Any error, as the cause of another.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

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

/// Why a request was not served: see the module documentation.
#[derive(Debug)]
pub struct GatewayError {
    kind: ErrorKind,
    source: ErrorSource,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No route.
    #[error("no route for {method} {path}")]
    NoRoute {
        /// The request's method.
        method: Method,
        /// Its path.
        path: Excerpt,
    },
    /// A path that could name something else upstream than here.
    #[error("the path cannot be forwarded: {0}")]
    BadPath(PathError),
    /// An admin route without an administrator's credentials.
    #[error(transparent)]
    AdminRefused(Refusal),
    /// The listing cannot be parsed into checked evidence.
    #[error("the listing cannot be used: {0}")]
    MalformedListing(EvidenceError),
    /// The JSON document around a listing, or a catalog page, is unusable.
    #[error(transparent)]
    Document(DocumentError),
    /// A `product.id` the ledger or the catalog cannot hold.
    #[error("product.id {id} {problem}")]
    ProductId {
        /// The id as given, cut short.
        id: Excerpt,
        /// What is wrong with it.
        problem: IdProblem,
    },
    /// The path names one product, the listing another.
    #[error("the path names {path} but the listing is {listing}")]
    IdMismatch {
        /// The `{id}` of the path.
        path: Excerpt,
        /// The listing's `product.id`.
        listing: Excerpt,
    },
    /// The request is malformed in another way (query parameters, admin
    /// bodies).
    #[error("{0}")]
    BadRequest(String),
    /// A body over its route's limit.
    #[error("the body is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A body broke off before its end.
    #[error("the body broke off: {0}")]
    BrokenBody(Cause),
    /// Nothing came for longer than the budget allows.
    #[error("nothing came for too long")]
    Timeout,
    /// The listing bytes held across all connections are at their budget.
    #[error(
        "the listings being judged hold the gateway's budget of {limit} bytes; try again shortly"
    )]
    Busy {
        /// The budget (`max_listing_bytes_in_flight`).
        limit: u64,
        /// When to try again (`Retry-After`).
        retry_after: Duration,
    },
    /// The policy denies the listing.
    #[error("the listing is rejected by policy {}", .0.policy().name)]
    Rejected(Box<Verdict>),
    /// An OCI manifest the policy refuses (403 with the OCI error body).
    #[error("{}", super::oci_error::image_denial_message(.0))]
    ImageDenied(Box<cragate_verifier::cosign::ImageVerdict>),
    /// A blob that no allowed manifest of its repository names.
    #[error(
        "blob {digest} is not part of a manifest cragate allowed in this repository; pull the image by its tag or manifest digest first"
    )]
    BlobNotAllowed {
        /// The blob's digest as asked.
        digest: Excerpt,
    },
    /// An image under a halt notice: refused on the registry API with 403
    /// and the OCI error body, worded as the 451 a listing would get.
    #[error("unavailable for legal reasons (451): {0}")]
    ImageHalted(String),
    /// A request the OCI route does not serve.
    #[error("{0}")]
    OciUnsupported(&'static str),
    /// A manifest pushed that cannot be read, or that does not hash to the
    /// digest it was pushed under (OCI `MANIFEST_INVALID`).
    #[error("{0}")]
    ManifestInvalid(String),
    /// No accepted listing references this artifact.
    #[error("no accepted listing references {digest}")]
    NotReferenced {
        /// The artifact's digest.
        digest: Digest,
    },
    /// The bytes do not hash to the digest they were sent for.
    #[error("the body hashes to {actual}, not {expected}")]
    DigestMismatch {
        /// The digest the bytes were sent or accepted for.
        expected: Digest,
        /// The digest of the bytes.
        actual: Digest,
    },
    /// The bytes are not the size the accepted listing declares.
    #[error("the body is {actual} bytes; the accepted listing declares {expected}")]
    SizeMismatch {
        /// The declared size.
        expected: u64,
        /// The size of the bytes.
        actual: u64,
    },
    /// A range outside the artifact.
    #[error("the range is outside the {size} bytes of the artifact")]
    RangeNotSatisfiable {
        /// The artifact's size.
        size: u64,
    },
    /// Not in the catalog.
    #[error("not found")]
    NotFound,
    /// The upstream could not be reached, or the exchange broke off.
    #[error("{0}")]
    Unreachable(Cause),
    /// The upstream answered a status the route cannot use.
    #[error("status {status} for {what}")]
    Status {
        /// The status.
        status: StatusCode,
        /// What was asked for ("a listing", "an artifact").
        what: &'static str,
    },
    /// The gateway's storage failed.
    #[error("storage failed: {0}")]
    Storage(#[from] std::io::Error),
    /// The decision could not be recorded on the ledger, so nothing was
    /// accepted (503: try again).
    #[error("the ledger cannot record the decision: {0}")]
    Ledger(Cause),
    /// The ledger could not be read (admin API).
    #[error("the ledger cannot be read: {0}")]
    LedgerRead(String),
    /// A signed halt notice refused: malformed (400), bad signature (401),
    /// issuer not trusted for a product or the action (403).
    #[error("{0}")]
    HaltRefused(HaltError),
    /// A halt notice whose sequence is not newer than the issuer's last
    /// accepted one: a replay (the same sequence) or out of order (409).
    #[error(
        "halt notice sequence {sequence} of issuer {issuer} is {} the last accepted sequence {last}",
        if sequence == last { "a replay of" } else { "older than" }
    )]
    HaltSequence {
        /// The issuer.
        issuer: Excerpt,
        /// The notice's sequence.
        sequence: u64,
        /// The issuer's last accepted sequence.
        last: u64,
    },
    /// The product is in the scope of a halt, recall or withdrawal in
    /// force (451; CRA Art. 19(3), 20(3)).
    #[error(
        "{} is not available: {} by {} (notice {}): {}",
        .0.product, .0.action, .0.issuer, .0.sequence, .0.reason
    )]
    Halted(Box<HaltedBy>),
    /// Any other failure of the gateway.
    #[error("internal error: {0}")]
    Internal(String),
    /// A notification from a supplier, or a feed request, refused: the
    /// Standard Webhooks signature, the supplier, the feed token or the
    /// event's shape (CRA Art. 20(4): only a verified notice is acted on).
    #[error("{detail}")]
    NotificationRefused {
        /// `401` for credentials, `400` for the body.
        unauthorized: bool,
        /// The problem type.
        code: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// The notice that makes a product unavailable, as a 451 answer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaltedBy {
    /// The product asked for.
    pub product: String,
    /// The notice's issuer.
    pub issuer: String,
    /// Its sequence.
    pub sequence: u64,
    /// `halt`, `recall` or `withdraw`.
    pub action: &'static str,
    /// The reason it gives.
    pub reason: String,
    /// Its advisory reference.
    pub advisory: Option<String>,
    /// Its authority order reference.
    pub authority_order: Option<String>,
}

/// Why the JSON document around a listing (a body with the listing at a
/// pointer, a catalog page) cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Over the size or nesting budget.
    #[error(transparent)]
    Limits(JsonLimitError),
    /// Not JSON.
    #[error("the {what} is not JSON: {error}")]
    NotJson {
        /// "body", "catalog page".
        what: &'static str,
        /// The parser's message.
        error: serde_json::Error,
    },
    /// Nothing at the pointer.
    #[error("the {what} has no listing at {pointer:?}")]
    NoListing {
        /// "body", "catalog page entry".
        what: &'static str,
        /// The rule's `listing_pointer`.
        pointer: String,
    },
    /// What is at the pointer is not a JSON object.
    #[error("the listing at {pointer:?} is not a JSON object")]
    NotAnObject {
        /// The rule's `listing_pointer`.
        pointer: String,
    },
    /// A catalog page without its array of entries.
    #[error("the catalog page has no array at {pointer:?}")]
    NoEntries {
        /// The rule's `listings_pointer`.
        pointer: String,
    },
}

/// What is wrong with a `product.id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdProblem {
    /// Empty, over the ledger's length, or with control characters: the
    /// ledger cannot record it.
    #[error("must be 1 to {max} bytes without control characters")]
    Unrecordable {
        /// The ledger's longest identifier.
        max: usize,
    },
    /// Not a file name the embedded catalog can store.
    #[error("must be letters, digits, '.', '_' or '-', not starting with '.' (at most {max})")]
    NotAFileName {
        /// The catalog's longest id.
        max: usize,
    },
}

impl GatewayError {
    /// An error `source` caused.
    pub fn new(kind: ErrorKind, source: ErrorSource) -> Self {
        Self { kind, source }
    }

    /// An error the client caused.
    pub fn client(kind: ErrorKind) -> Self {
        Self::new(kind, ErrorSource::Client)
    }

    /// An error the upstream caused.
    pub fn upstream(kind: ErrorKind) -> Self {
        Self::new(kind, ErrorSource::Upstream)
    }

    /// An error of the gateway itself.
    pub fn gateway(kind: ErrorKind) -> Self {
        Self::new(kind, ErrorSource::Gateway)
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Who caused it.
    pub fn source(&self) -> ErrorSource {
        self.source
    }

    /// Whether it is worth a line in the log: the upstream's and the
    /// gateway's failures are; the client's errors, and a full listing
    /// budget (which a flood would turn into a flood of lines), are not.
    pub fn is_logged(&self) -> bool {
        self.source != ErrorSource::Client && !matches!(self.kind, ErrorKind::Busy { .. })
    }

    /// The HTTP status it maps to. Anything the upstream caused is `502`,
    /// or `504` when it did not answer in time.
    pub fn status(&self) -> StatusCode {
        if self.source == ErrorSource::Upstream {
            return match self.kind {
                ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
        }
        match &self.kind {
            ErrorKind::NoRoute { .. } | ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::AdminRefused(Refusal::CredentialsRequired) => StatusCode::UNAUTHORIZED,
            ErrorKind::AdminRefused(_) => StatusCode::FORBIDDEN,
            ErrorKind::BadPath(_)
            | ErrorKind::MalformedListing(_)
            | ErrorKind::Document(_)
            | ErrorKind::ProductId { .. }
            | ErrorKind::IdMismatch { .. }
            | ErrorKind::BadRequest(_)
            | ErrorKind::ManifestInvalid(_)
            | ErrorKind::BrokenBody(_) => StatusCode::BAD_REQUEST,
            ErrorKind::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Timeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::Rejected(_) | ErrorKind::NotReferenced { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorKind::DigestMismatch { .. } | ErrorKind::SizeMismatch { .. } => {
                StatusCode::CONFLICT
            }
            ErrorKind::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorKind::ImageDenied(_)
            | ErrorKind::ImageHalted(_)
            | ErrorKind::BlobNotAllowed { .. } => StatusCode::FORBIDDEN,
            ErrorKind::OciUnsupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Busy { .. } | ErrorKind::Ledger(_) => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unreachable(_) | ErrorKind::Status { .. } => StatusCode::BAD_GATEWAY,
            ErrorKind::Storage(_) | ErrorKind::LedgerRead(_) | ErrorKind::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ErrorKind::NotificationRefused { unauthorized, .. } => {
                if *unauthorized {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                }
            }
            ErrorKind::HaltRefused(error) => match error.refusal() {
                HaltRefusal::Malformed => StatusCode::BAD_REQUEST,
                HaltRefusal::BadSignature => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            },
            ErrorKind::HaltSequence { .. } => StatusCode::CONFLICT,
            ErrorKind::Halted(_) => StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
        }
    }

    /// A short stable name, used as the problem type and in metrics.
    pub fn code(&self) -> &'static str {
        if self.source == ErrorSource::Upstream {
            return match &self.kind {
                ErrorKind::Timeout => "upstream-timeout",
                ErrorKind::Unreachable(_) | ErrorKind::BrokenBody(_) => "upstream-unavailable",
                ErrorKind::Status { status, .. } if status.is_server_error() => {
                    "upstream-unavailable"
                }
                _ => "upstream-invalid",
            };
        }
        match &self.kind {
            ErrorKind::NoRoute { .. } => "no-route",
            ErrorKind::BadPath(_) => "bad-path",
            ErrorKind::AdminRefused(refusal) => match refusal {
                Refusal::NotConfigured => "admin-closed",
                Refusal::CertificateRequired => "client-certificate-required",
                Refusal::CredentialsRequired => "credentials-required",
                Refusal::TokenMismatch => "token-mismatch",
            },
            ErrorKind::MalformedListing(_)
            | ErrorKind::Document(DocumentError::NotAnObject { .. }) => "malformed-listing",
            ErrorKind::Document(_)
            | ErrorKind::ProductId { .. }
            | ErrorKind::IdMismatch { .. }
            | ErrorKind::BadRequest(_)
            | ErrorKind::BrokenBody(_) => "bad-request",
            ErrorKind::TooLarge { .. } => "too-large",
            ErrorKind::Timeout => "client-timeout",
            ErrorKind::Busy { .. } => "busy",
            ErrorKind::Rejected(_) => "listing-rejected",
            ErrorKind::NotReferenced { .. } => "artifact-not-referenced",
            ErrorKind::ImageDenied(_) => "image-denied",
            ErrorKind::ImageHalted(_) => "image-halted",
            ErrorKind::BlobNotAllowed { .. } => "blob-not-allowed",
            ErrorKind::OciUnsupported(_) => "oci-unsupported",
            ErrorKind::ManifestInvalid(_) => "manifest-invalid",
            ErrorKind::DigestMismatch { .. } => "digest-mismatch",
            ErrorKind::SizeMismatch { .. } => "size-mismatch",
            ErrorKind::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Unreachable(_) | ErrorKind::Status { .. } => "upstream-unavailable",
            ErrorKind::Storage(_) => "storage",
            ErrorKind::Ledger(_) => "ledger-unavailable",
            ErrorKind::LedgerRead(_) => "ledger-read",
            ErrorKind::Internal(_) => "internal",
            ErrorKind::NotificationRefused { code, .. } => code,
            ErrorKind::HaltRefused(error) => match error.refusal() {
                HaltRefusal::Malformed => "halt-malformed",
                HaltRefusal::BadSignature => "halt-bad-signature",
                _ => "halt-issuer-not-trusted",
            },
            ErrorKind::HaltSequence { sequence, last, .. } if sequence == last => "halt-replayed",
            ErrorKind::HaltSequence { .. } => "halt-out-of-order",
            ErrorKind::Halted(_) => "halted",
        }
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.source, &self.kind) {
            (ErrorSource::Client, ErrorKind::Timeout) => {
                f.write_str("the client sent nothing for too long")
            }
            (ErrorSource::Upstream, ErrorKind::Timeout) => {
                f.write_str("the upstream did not answer in time")
            }
            (ErrorSource::Upstream, kind) if self.code() == "upstream-unavailable" => {
                write!(f, "the upstream failed: {kind}")
            }
            (ErrorSource::Upstream, kind) => {
                write!(f, "the upstream answered something unusable: {kind}")
            }
            (_, kind) => kind.fmt(f),
        }
    }
}

impl std::error::Error for GatewayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// Storage failures are the gateway's.
impl From<std::io::Error> for GatewayError {
    fn from(error: std::io::Error) -> Self {
        Self::gateway(ErrorKind::Storage(error))
    }
}

/// Longest part of an untrusted text an error or a log line shows, in
/// characters: enough to recognise an id or a path, short enough that a
/// client cannot fill the log with one request.
pub const MAX_EXCERPT_CHARS: usize = 64;

/// Untrusted text as errors and logs show it: quoted and escaped, cut
/// after [`MAX_EXCERPT_CHARS`] characters with the whole length added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt(String);

impl Excerpt {
    /// An excerpt of `text`.
    pub fn new(text: &str) -> Self {
        let shown: String = text.chars().take(MAX_EXCERPT_CHARS).collect();
        if shown.len() == text.len() {
            return Self(format!("{shown:?}"));
        }
        Self(format!("{shown:?}... ({} bytes)", text.len()))
    }
}

impl fmt::Display for Excerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest log line an error writes, in characters: a message can carry
/// text from a client or an upstream (a parser's message quotes the value
/// it refused), which must not fill the log.
pub const MAX_LOG_CHARS: usize = 1000;

/// An error as one log line: control characters escaped (no forged lines),
/// cut after [`MAX_LOG_CHARS`] characters.
pub fn log_line(error: &impl fmt::Display) -> String {
    let text = error.to_string();
    let mut line = String::with_capacity(text.len().min(MAX_LOG_CHARS));
    for (n, c) in text.chars().enumerate() {
        if n == MAX_LOG_CHARS {
            line.push_str(&format!("... ({} bytes)", text.len()));
            break;
        }
        if c.is_control() {
            line.extend(c.escape_debug());
        } else {
            line.push(c);
        }
    }
    line
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
    if let (Value::Object(fields), ErrorKind::Rejected(verdict)) = (&mut problem, error.kind()) {
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
    if let (Value::Object(fields), ErrorKind::Halted(by)) = (&mut problem, error.kind()) {
        fields.insert(
            "notice".into(),
            json!({
                "issuer": by.issuer,
                "sequence": by.sequence,
                "action": by.action,
                "product": by.product,
                "reason": by.reason,
                "reference": {"advisory": by.advisory, "authority_order": by.authority_order},
            }),
        );
    }
    let body = serde_json::to_vec_pretty(&problem).unwrap_or_default();
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if error.source() == ErrorSource::Upstream {
        return response;
    }
    match error.kind() {
        // RFC 6750 §3: a 401 names the scheme that would be accepted.
        ErrorKind::AdminRefused(Refusal::CredentialsRequired) => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cragate-admin\""),
            );
        }
        ErrorKind::RangeNotSatisfiable { size } => {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                headers.insert(header::CONTENT_RANGE, value);
            }
        }
        // RFC 9110 §10.2.3: when to try again, in seconds.
        ErrorKind::Busy { retry_after, .. } => {
            let seconds = retry_after.as_secs().max(1);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        _ => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(error: &GatewayError) -> (u16, String, String) {
        let response = error_response(error);
        let status = response.status().as_u16();
        let source = match error.source() {
            ErrorSource::Client => "client",
            ErrorSource::Upstream => "upstream",
            ErrorSource::Gateway => "gateway",
        };
        (status, error.code().to_owned(), source.to_owned())
    }

    #[test]
    fn the_problem_fields_are_those_of_each_situation() {
        let digest = Digest::of(b"x");
        let cases: Vec<(GatewayError, u16, &str, &str)> = vec![
            (
                GatewayError::client(ErrorKind::NotFound),
                404,
                "not-found",
                "client",
            ),
            (
                GatewayError::client(ErrorKind::Timeout),
                408,
                "client-timeout",
                "client",
            ),
            (
                GatewayError::upstream(ErrorKind::Timeout),
                504,
                "upstream-timeout",
                "upstream",
            ),
            (
                GatewayError::client(ErrorKind::TooLarge { limit: 1 }),
                413,
                "too-large",
                "client",
            ),
            (
                GatewayError::upstream(ErrorKind::TooLarge { limit: 1 }),
                502,
                "upstream-invalid",
                "upstream",
            ),
            (
                GatewayError::upstream(ErrorKind::Unreachable("refused".into())),
                502,
                "upstream-unavailable",
                "upstream",
            ),
            (
                GatewayError::upstream(ErrorKind::Status {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    what: "a listing",
                }),
                502,
                "upstream-unavailable",
                "upstream",
            ),
            (
                GatewayError::upstream(ErrorKind::Status {
                    status: StatusCode::FORBIDDEN,
                    what: "a listing",
                }),
                502,
                "upstream-invalid",
                "upstream",
            ),
            (
                GatewayError::upstream(ErrorKind::SizeMismatch {
                    expected: 1,
                    actual: 2,
                }),
                502,
                "upstream-invalid",
                "upstream",
            ),
            (
                GatewayError::client(ErrorKind::SizeMismatch {
                    expected: 1,
                    actual: 2,
                }),
                409,
                "size-mismatch",
                "client",
            ),
            (
                GatewayError::client(ErrorKind::DigestMismatch {
                    expected: digest,
                    actual: digest,
                }),
                409,
                "digest-mismatch",
                "client",
            ),
            (
                GatewayError::client(ErrorKind::NotReferenced { digest }),
                422,
                "artifact-not-referenced",
                "client",
            ),
            (
                GatewayError::gateway(ErrorKind::Ledger("full".into())),
                503,
                "ledger-unavailable",
                "gateway",
            ),
            (
                GatewayError::gateway(ErrorKind::Busy {
                    limit: 1,
                    retry_after: Duration::from_secs(1),
                }),
                503,
                "busy",
                "gateway",
            ),
            (
                GatewayError::from(std::io::Error::other("disk")),
                500,
                "storage",
                "gateway",
            ),
            (
                GatewayError::client(ErrorKind::AdminRefused(Refusal::CredentialsRequired)),
                401,
                "credentials-required",
                "client",
            ),
            (
                GatewayError::client(ErrorKind::AdminRefused(Refusal::TokenMismatch)),
                403,
                "token-mismatch",
                "client",
            ),
        ];
        for (error, status, code, source) in cases {
            assert_eq!(
                problem(&error),
                (status, code.to_owned(), source.to_owned()),
                "{error:?}"
            );
        }
    }

    #[test]
    fn the_same_kind_reads_by_who_caused_it() {
        let shape = || {
            ErrorKind::Document(DocumentError::NoListing {
                what: "body",
                pointer: "/l".into(),
            })
        };
        let client = GatewayError::client(shape());
        assert_eq!(client.to_string(), "the body has no listing at \"/l\"");
        let upstream = GatewayError::upstream(shape());
        assert_eq!(
            upstream.to_string(),
            "the upstream answered something unusable: the body has no listing at \"/l\""
        );
        assert!(!client.is_logged() && upstream.is_logged());
    }

    #[test]
    fn headers_say_what_the_client_can_do_next() {
        let busy = error_response(&GatewayError::gateway(ErrorKind::Busy {
            limit: 1,
            retry_after: Duration::from_millis(200),
        }));
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        let range = error_response(&GatewayError::client(ErrorKind::RangeNotSatisfiable {
            size: 9,
        }));
        assert_eq!(range.headers()[header::CONTENT_RANGE], "bytes */9");
        let login = error_response(&GatewayError::client(ErrorKind::AdminRefused(
            Refusal::CredentialsRequired,
        )));
        assert!(login.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn log_lines_are_one_line_and_bounded() {
        let error = GatewayError::upstream(ErrorKind::BadRequest(format!(
            "a\nforged line {}",
            "x".repeat(5000)
        )));
        let line = log_line(&error);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("a\\nforged"), "{line}");
        assert!(line.chars().count() < MAX_LOG_CHARS + 30, "{}", line.len());
        assert!(line.ends_with(" bytes)"), "{line}");
    }

    #[test]
    fn excerpts_cut_long_and_escape_control_characters() {
        assert_eq!(Excerpt::new("cam-x").to_string(), "\"cam-x\"");
        assert_eq!(Excerpt::new("a\u{7}b").to_string(), "\"a\\u{7}b\"");
        let long = Excerpt::new(&"p".repeat(300)).to_string();
        assert!(long.ends_with("... (300 bytes)"), "{long}");
        assert!(long.len() < 100, "{long}");
    }
}
