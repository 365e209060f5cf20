//! The request pipeline. Every request goes through these phases, each one
//! function:
//!
//! ```text
//! route → authorize → limits → evidence → verifier → policy → validation → decision sink → forward or deny
//! ```
//!
//! - **route** ([`crate::routes::route`], dispatched by
//!   [`crate::routes::handle`]): method and normalised path pick a rule; a
//!   path an upstream could read as another is refused (400), no rule is no
//!   service (404).
//! - **authorize** ([`access::authorize`]): the route's [`Access`], checked
//!   once for every route before its handler runs.
//! - **limits** ([`hold_listing`], [`limits`]): the declared body size
//!   against the route's budget, and the listing bytes in flight across all
//!   connections against theirs (`503` with `Retry-After`); while reading,
//!   the size, idle and in-flight budgets again.
//! - **evidence**, **verifier**, **policy**, **validation** and **decision
//!   sink**: [`judge::judge`], the one function that judges a listing, for
//!   submissions, listing reads and the entries of catalog pages alike. It
//!   returns an [`Accepted`], which only it builds; the verdict is counted
//!   and handed to the [`DecisionSink`] before any response is sent, and a
//!   denial ends there.
//! - **forward or deny**: the route handlers in [`crate::routes`] store,
//!   forward or serve what they hold as an [`Accepted`]; an accepted
//!   submission's supply is recorded once it is stored ([`judge::stored`]).
//!   Every error becomes a response in
//!   [`crate::http::error::error_response`], and no error path forwards
//!   anything.

pub mod access;
pub mod cache;
pub mod evidence;
pub mod halt;
pub mod index;
pub mod judge;
pub mod metrics;
pub mod oci;
pub mod pg_accepted;
pub mod record;
pub mod state;

use std::future::Future;
use std::pin::Pin;

use cragate_verifier::verdict::{Decision, Verdict};
use http::request::Parts;
use http::{HeaderValue, Response, header};

use crate::http::body::Body;
use crate::http::budget::Reservation;
use crate::http::error::{ErrorKind, GatewayError};
use record::{DecisionRecord, SupplyLink};

pub use access::{Access, authorize};
pub use judge::{Accepted, Candidate, Purpose, judge, stored};
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

    /// Records the verdict on one OCI manifest durably; an error denies.
    fn image<'a>(
        &'a self,
        verdict: &'a cragate_verifier::cosign::ImageVerdict,
        peer: Option<std::net::SocketAddr>,
    ) -> Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>>;

    /// Records the inbound supply of a listing that was stored.
    fn supplied<'a>(
        &'a self,
        link: &'a SupplyLink,
    ) -> Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>>;
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
/// byte of it is read. Returns the declared length.
pub fn limits(parts: &Parts, limit: u64) -> Result<Option<u64>, GatewayError> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit => Err(GatewayError::client(ErrorKind::TooLarge { limit })),
        _ => Ok(declared),
    }
}

/// Limits phase for a listing body: [`limits`] under `max_listing_bytes`,
/// and the declared length held at once of the listing bytes in flight.
/// The reservation grows as the body is read and is given back when the
/// request is answered.
pub fn hold_listing(gateway: &Gateway, parts: &Parts) -> Result<Reservation, GatewayError> {
    let declared = limits(parts, gateway.config.limits.max_listing_bytes)?;
    let mut held = gateway.listing_budget.reservation();
    if let Some(length) = declared {
        held.hold(length)?;
    }
    Ok(held)
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
