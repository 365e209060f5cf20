//! The request pipeline. Every product request goes through these phases,
//! each one function below:
//!
//! ```text
//! route → limits → evidence → verifier → policy → decision sink → forward or deny
//! ```
//!
//! - **route** ([`crate::routes::route`], dispatched by [`crate::routes::handle`]): method and path pick a rule; no
//!   rule, no service (404).
//! - **limits** ([`limits`]): the declared body size against the route's
//!   budget; while reading, the size and idle budgets again.
//! - **evidence** ([`evidence`]): the listing bytes, found in the body at the
//!   rule's JSON pointer.
//! - **verifier** and **policy** ([`evaluate`], [`cached_verdict`]): the
//!   listing is parsed into checked types and evaluated under the policy at
//!   the current time, on a blocking thread, by the same function as
//!   `cragate check`.
//! - **decision sink** ([`decide`]): the verdict is counted and handed to the
//!   [`DecisionSink`] before any response is sent; a denial ends here.
//! - **forward or deny**: the route handlers in [`crate::routes`] store or
//!   forward what was accepted; every error becomes a response in
//!   [`crate::http::error::error_response`], and no error path forwards anything.

pub mod cache;
pub mod index;
pub mod metrics;
pub mod record;
pub mod state;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use cragate_verifier::evidence::Listing;
use cragate_verifier::json::check_limits;
use cragate_verifier::limits::MAX_JSON_DEPTH;
use cragate_verifier::verdict::{Decision, Verdict};
use http::request::Parts;
use http::{HeaderValue, Response, header};
use jiff::Timestamp;

use crate::config::policies;
use crate::http::body::Body;
use crate::http::error::GatewayError;
use cache::VerdictKey;
use record::DecisionRecord;
pub use state::Gateway;

/// Where decisions are recorded, durably, before the response is sent.
///
/// The ledger implements it ([`record::LedgerSink`]); there is
/// deliberately no implementation that does nothing.
pub trait DecisionSink: Send + Sync + std::fmt::Debug {
    /// Records one decision durably; an error denies the request.
    fn record<'a>(
        &'a self,
        record: DecisionRecord<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>>;
}

/// Whether a decision still has to be recorded.
#[derive(Debug, Clone, Copy)]
pub enum Recording<'a> {
    /// A verdict just computed: record it before answering.
    New(DecisionRecord<'a>),
    /// A verdict from the cache, recorded when it was computed.
    AlreadyRecorded,
}

/// What the gateway knows about the connection a request came on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Connection {
    /// Whether the client presented a certificate that verified against
    /// the admin client CA.
    pub client_certificate: bool,
    /// The peer's address.
    pub peer: Option<std::net::SocketAddr>,
}

/// Limits phase: a body declared larger than `limit` is refused before a
/// byte of it is read.
pub fn limits(parts: &Parts, limit: u64) -> Result<(), GatewayError> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit => Err(GatewayError::TooLarge { limit }),
        _ => Ok(()),
    }
}

/// Evidence phase: the listing bytes, at `pointer` (RFC 6901) in a JSON
/// body, or the whole body when the pointer is empty. A listing found
/// inside a larger document is re-serialised, and its digest is that of
/// the re-serialised bytes.
pub fn evidence(body: &Bytes, pointer: &str, limit: u64) -> Result<Bytes, GatewayError> {
    if pointer.is_empty() {
        return Ok(body.clone());
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    check_limits(body, "request body", limit, MAX_JSON_DEPTH)
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let document: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::BadRequest(format!("the body is not JSON: {e}")))?;
    let listing = document.pointer(pointer).ok_or_else(|| {
        GatewayError::BadRequest(format!("the body has no listing at {pointer:?}"))
    })?;
    serde_json::to_vec(listing)
        .map(Bytes::from)
        .map_err(|e| GatewayError::Internal(e.to_string()))
}

/// Verifier and policy phases: parses the listing and evaluates it under
/// the policy now, on a blocking thread.
pub async fn evaluate(
    gateway: &Gateway,
    listing: Bytes,
) -> Result<(Listing, Arc<Verdict>), GatewayError> {
    let policy = Arc::clone(&gateway.policy);
    let started = Instant::now();
    let evaluated = tokio::task::spawn_blocking(move || {
        policies::evaluate(&policy, &listing, Timestamp::now())
    })
    .await
    .map_err(|e| GatewayError::Internal(format!("evaluation task failed: {e}")))?;
    gateway.metrics.verification(started.elapsed());
    let (listing, verdict) = evaluated?;
    Ok((listing, Arc::new(verdict)))
}

/// Verifier and policy phases through the verdict cache, for reads. The
/// listing comes back only when the verdict was computed now (and so still
/// has to be recorded).
pub async fn cached_verdict(
    gateway: &Gateway,
    listing: Bytes,
) -> Result<(Arc<Verdict>, Option<Listing>), GatewayError> {
    let key = VerdictKey::new(
        gateway.digests.digest(&listing),
        gateway.policy.digest(),
        Timestamp::now(),
    );
    if let Some(verdict) = gateway.cache.get(&key) {
        gateway.metrics.cache(true);
        return Ok((verdict, None));
    }
    gateway.metrics.cache(false);
    let (parsed, verdict) = evaluate(gateway, listing).await?;
    gateway.cache.put(key, Arc::clone(&verdict));
    Ok((verdict, Some(parsed)))
}

/// Decision phase: counts the verdict, hands it to the decision sink, and
/// turns a denial into the error that answers it.
pub async fn decide(
    gateway: &Gateway,
    verdict: &Arc<Verdict>,
    recording: Recording<'_>,
) -> Result<(), GatewayError> {
    gateway.metrics.decision(verdict);
    if let Recording::New(record) = recording {
        gateway.decisions.record(record).await?;
    }
    if verdict.decision().accepts() {
        return Ok(());
    }
    Err(GatewayError::Rejected(Box::new((**verdict).clone())))
}

/// Headers that tell the client what was decided: `Cragate-Decision`, and a
/// `Warning` when the listing passed with failed checks (audit mode or
/// checks set to warn).
pub fn decision_headers(response: &mut Response<Body>, verdict: &Verdict) {
    let headers = response.headers_mut();
    headers.insert(
        "cragate-decision",
        HeaderValue::from_static(verdict.decision().as_str()),
    );
    if verdict.decision() == Decision::Warn {
        let failed: Vec<&str> = verdict.failed().map(|c| c.id.id()).collect();
        let text = format!(
            "299 cragate \"passed with failed checks: {}\"",
            failed.join(", ")
        );
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.insert(header::WARNING, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_finds_the_listing_at_the_pointer() {
        let body = Bytes::from_static(br#"{"upload": {"listing": {"format": "x"}}}"#);
        let found = evidence(&body, "/upload/listing", 1000).unwrap();
        assert_eq!(found, Bytes::from_static(br#"{"format":"x"}"#));
        assert!(matches!(
            evidence(&body, "/nothing", 1000),
            Err(GatewayError::BadRequest(_))
        ));
        assert_eq!(evidence(&body, "", 1000).unwrap(), body);
    }

    #[test]
    fn a_deeply_nested_body_is_refused_before_parsing() {
        let body = Bytes::from(format!("{}{}", "[".repeat(100), "]".repeat(100)));
        assert!(matches!(
            evidence(&body, "/0", 10_000),
            Err(GatewayError::BadRequest(_))
        ));
    }
}
