//! Routes: which requests are the gateway's own (health, metrics, admin)
//! and which carry products (listing submissions, artifact uploads, listing
//! and catalog reads, downloads), by method and path.
//!
//! The native API (`/v1/...`) is a fixed set of rules; an HTTP upstream can
//! replace it with rules naming its own paths, so that an existing store's
//! API is fronted without changing it. A request no rule names is denied.
//!
//! The gateway's own routes come first, whatever the rules say: health and
//! readiness (open), metrics, the configuration view and the ledger API
//! under `/v1/admin/ledger/` (admin, see [`Access`]).

pub mod admin;
pub mod artifacts;
pub mod listings;
pub mod ops;

use std::future::Future;
use std::sync::Arc;

use http::{Method, Request, Response};
use hyper::body::Incoming;

use crate::http::body::Body;
use crate::http::error::{ErrorSource, GatewayError, error_response};
use crate::pipeline::{Connection, Gateway};

pub use crate::config::pattern::{Capture, Captures, PathPattern};
pub use crate::config::rules::{RouteKind, RouteRule, native_rules};

/// The gateway's own routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ops {
    /// `GET /healthz`: the process runs.
    Health,
    /// `GET /readyz`: it can serve (upstream reachable).
    Ready,
    /// `GET /metrics`: Prometheus text.
    Metrics,
    /// `GET /admin/config`: the configuration in force.
    Config,
}

impl Ops {
    /// Who may use the route.
    pub fn access(self) -> Access {
        match self {
            Self::Health | Self::Ready => Access::Open,
            Self::Metrics => Access::AdminWhenConfigured,
            Self::Config => Access::Admin,
        }
    }
}

/// Who may use one of the gateway's own routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health and readiness probes).
    Open,
    /// Administrators once a way to authenticate them is configured, anyone
    /// before: metrics, so that a scraper works on the default setup and
    /// needs the admin's certificate or token once either exists.
    AdminWhenConfigured,
    /// Administrators only; with no way to authenticate them, nobody.
    Admin,
}

/// A read of the ledger through the admin API (`/v1/admin/ledger/...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerRead {
    /// `entries?product=&digest=&operator=&since=&until=&limit=`.
    Entries,
    /// `export?product=&since=&until=`: JSON Lines with proofs.
    Export,
    /// `supply-chain/{id}`, the id as it appears in the path (still
    /// percent-encoded).
    SupplyChain(String),
    /// `checkpoint`: the latest signed checkpoint.
    Checkpoint,
    /// `key`: the checkpoint verifier key.
    Key,
}

/// Where the ledger API lives.
pub const LEDGER_API: &str = "/v1/admin/ledger/";

impl LedgerRead {
    /// The read a path below [`LEDGER_API`] names.
    fn parse(rest: &str) -> Option<Self> {
        Some(match rest {
            "entries" => Self::Entries,
            "export" => Self::Export,
            "checkpoint" => Self::Checkpoint,
            "key" => Self::Key,
            _ => {
                let id = rest.strip_prefix("supply-chain/")?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                Self::SupplyChain(id.to_owned())
            }
        })
    }
}

/// Where a request goes.
#[derive(Debug)]
pub enum Route<'a> {
    /// One of the gateway's own routes.
    Ops(Ops),
    /// A read of the ledger (admin).
    Ledger(LedgerRead),
    /// `POST /v1/admin/ledger/supply-links`: a supply recorded (admin).
    SupplyLink,
    /// A product route, with what its path captured.
    Product(&'a RouteRule, Captures),
    /// Nothing: denied with 404.
    Unknown,
}

/// Serves one request: every outcome is a response, every error denies.
pub async fn handle(
    gateway: Arc<Gateway>,
    connection: Connection,
    request: Request<Incoming>,
) -> Response<Body> {
    let (route, result) = dispatch(&gateway, connection, request).await;
    let response = result.unwrap_or_else(|error| {
        if error.source() != ErrorSource::Client {
            eprintln!("cragate: {route}: {error}");
        }
        error_response(&error)
    });
    gateway.metrics.request(route, response.status().as_u16());
    response
}

async fn dispatch(
    gateway: &Arc<Gateway>,
    connection: Connection,
    request: Request<Incoming>,
) -> (&'static str, Result<Response<Body>, GatewayError>) {
    let path = request.uri().path().to_owned();
    match route(&gateway.config.routes, request.method(), &path) {
        Route::Ops(which) => (
            "ops",
            ops::serve(gateway, connection, request.headers(), which).await,
        ),
        Route::Ledger(read) => (
            "admin-ledger",
            admin::serve(gateway, connection, request.headers(), request.uri(), read).await,
        ),
        Route::SupplyLink => (
            "admin-ledger",
            admin::record_supply(gateway, connection, request).await,
        ),
        Route::Unknown => (
            "unknown",
            Err(GatewayError::NoRoute {
                method: request.method().to_string(),
                path,
            }),
        ),
        Route::Product(rule, captures) => {
            let rule = rule.clone();
            let deadline = gateway.config.limits.request_timeout;
            match rule.kind {
                RouteKind::ListingSubmission => (
                    "listing-submission",
                    bounded(
                        deadline,
                        listings::submit(gateway, &rule, captures, request, connection.peer),
                    )
                    .await,
                ),
                RouteKind::ListingRead => (
                    "listing-read",
                    bounded(
                        deadline,
                        listings::read(gateway, &rule, captures, request, connection.peer),
                    )
                    .await,
                ),
                RouteKind::CatalogRead => (
                    "catalog-read",
                    bounded(
                        deadline,
                        listings::catalog(gateway, &rule, request, connection.peer),
                    )
                    .await,
                ),
                // Streaming routes: bounded by the idle budget per piece
                // and the size budget, not by a total time.
                RouteKind::ArtifactUpload => (
                    "artifact-upload",
                    artifacts::upload(gateway, captures, request).await,
                ),
                RouteKind::Download => (
                    "download",
                    artifacts::download(gateway, captures, request).await,
                ),
            }
        }
    }
}

/// Limits phase, in time: a buffered request that takes longer than the
/// request budget is answered 408.
async fn bounded(
    deadline: std::time::Duration,
    work: impl Future<Output = Result<Response<Body>, GatewayError>>,
) -> Result<Response<Body>, GatewayError> {
    tokio::time::timeout(deadline, work)
        .await
        .unwrap_or(Err(GatewayError::ClientTimeout))
}

/// Finds the route of a request.
pub fn route<'a>(rules: &'a [RouteRule], method: &Method, path: &str) -> Route<'a> {
    if method == Method::GET {
        let ops = match path {
            "/healthz" => Some(Ops::Health),
            "/readyz" => Some(Ops::Ready),
            "/metrics" => Some(Ops::Metrics),
            "/admin/config" => Some(Ops::Config),
            _ => None,
        };
        if let Some(ops) = ops {
            return Route::Ops(ops);
        }
        if let Some(read) = path.strip_prefix(LEDGER_API).and_then(LedgerRead::parse) {
            return Route::Ledger(read);
        }
    }
    if method == Method::POST && path.strip_prefix(LEDGER_API) == Some("supply-links") {
        return Route::SupplyLink;
    }
    rules
        .iter()
        .filter(|rule| rule.method == method)
        .find_map(|rule| rule.path.matches(path).map(|c| Route::Product(rule, c)))
        .unwrap_or(Route::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_rules_route_the_v1_api() {
        let rules = native_rules();
        assert_eq!(rules.len(), 5);
        let kind = |method: &Method, path: &str| match route(&rules, method, path) {
            Route::Product(rule, _) => Some(rule.kind),
            _ => None,
        };
        assert_eq!(
            kind(&Method::POST, "/v1/listings"),
            Some(RouteKind::ListingSubmission)
        );
        assert_eq!(kind(&Method::GET, "/v1/listings"), None);
        assert_eq!(kind(&Method::DELETE, "/v1/listings/x"), None);
        assert!(matches!(
            route(&rules, &Method::GET, "/metrics"),
            Route::Ops(Ops::Metrics)
        ));
    }

    #[test]
    fn ledger_reads_are_routed_below_the_admin_prefix() {
        let rules = native_rules();
        let read = |method: &Method, path: &str| match route(&rules, method, path) {
            Route::Ledger(read) => Some(read),
            _ => None,
        };
        assert_eq!(
            read(&Method::GET, "/v1/admin/ledger/entries"),
            Some(LedgerRead::Entries)
        );
        assert_eq!(
            read(&Method::GET, "/v1/admin/ledger/supply-chain/cam%2F1"),
            Some(LedgerRead::SupplyChain("cam%2F1".into()))
        );
        for path in [
            "/v1/admin/ledger/supply-chain/",
            "/v1/admin/ledger/supply-chain/a/b",
            "/v1/admin/ledger/",
            "/v1/admin/ledger/entries/",
        ] {
            assert_eq!(read(&Method::GET, path), None, "{path}");
        }
        assert_eq!(read(&Method::POST, "/v1/admin/ledger/entries"), None);
        assert_eq!(Ops::Health.access(), Access::Open);
        assert_eq!(Ops::Config.access(), Access::Admin);
    }
}
