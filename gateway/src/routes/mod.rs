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
//! under `/v1/admin/ledger/` (admin, see [`Access`]). Every route has its
//! [`Access`], which [`authorize`] checks before the route's handler runs.
//!
//! Product routes are matched on the normalised path
//! ([`crate::http::path::NormalPath`]), and the upstream receives that same
//! path: a path it could read as another is refused.

pub mod admin;
pub mod artifacts;
pub mod halts;
pub mod listings;
pub mod notifications;
pub mod oci;
pub mod ops;

use std::future::Future;
use std::sync::Arc;

use http::{HeaderValue, Method, Request, Response, Uri, header};
use hyper::body::{Body as _, Incoming};

use crate::http::body::{Body, empty};
use crate::http::error::{ErrorKind, Excerpt, GatewayError, error_response, log_line};
use crate::http::path::{NormalPath, PathError};
use crate::pipeline::{Connection, Gateway, authorize};

pub use crate::config::pattern::{Capture, Captures, PathPattern};
pub use crate::config::rules::{RouteKind, RouteRule, native_rules};
pub use crate::pipeline::Access;

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
    /// `GET /v1/notifications/feed?after=N`: a customer's notifications,
    /// opened by its own bearer token.
    NotificationFeed,
    /// `POST /v1/notifications`: a supplier's notification, authenticated
    /// by its Standard Webhooks signature.
    Notification,
    /// The halt API under `/v1/halts` (admin).
    Halts(halts::HaltRoute),
    /// A product route: its rule, what its path captured, and the path in
    /// the normal form it is forwarded in.
    Product {
        /// The rule.
        rule: &'a RouteRule,
        /// What the path captured.
        captures: Captures,
        /// The normalised path.
        path: NormalPath,
    },
    /// A path an upstream could read as another: refused with 400.
    BadPath(PathError),
    /// Nothing: denied with 404.
    Unknown,
}

impl Route<'_> {
    /// Who may use it.
    pub fn access(&self) -> Access {
        match self {
            Self::Ops(ops) => ops.access(),
            Self::Ledger(_) | Self::SupplyLink | Self::Halts(_) => Access::Admin,
            Self::Product { .. } | Self::BadPath(_) | Self::Unknown => Access::Open,
            // Each customer's feed token is checked by the route itself.
            // Suppliers authenticate by their webhook signature.
            Self::NotificationFeed | Self::Notification => Access::Open,
        }
    }

    /// Its name in metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ops(_) => "ops",
            Self::Ledger(_) | Self::SupplyLink => "admin-ledger",
            Self::NotificationFeed | Self::Notification => "notifications",
            Self::Halts(_) => "halts",
            Self::Product { rule, .. } => match rule.kind {
                RouteKind::ListingSubmission => "listing-submission",
                RouteKind::ListingRead => "listing-read",
                RouteKind::CatalogRead => "catalog-read",
                RouteKind::ArtifactUpload => "artifact-upload",
                RouteKind::Download => "download",
            },
            Self::BadPath(_) | Self::Unknown => "unknown",
        }
    }
}

/// Serves one request: every outcome is a response, every error denies.
/// A `HEAD` is served as the `GET` it names, and answered with that
/// response's head only. Every response says `X-Content-Type-Options:
/// nosniff`: its content type is the one the gateway set or judged.
pub async fn handle(
    gateway: Arc<Gateway>,
    connection: Connection,
    mut request: Request<Incoming>,
) -> Response<Body> {
    if let Some(gate) = &gateway.oci {
        let path = request.uri().path();
        if path == "/v2" || path.starts_with("/v2/") {
            let response = oci::serve(&gateway, gate, request, connection.peer).await;
            gateway.metrics.request("oci", response.status().as_u16());
            return response;
        }
    }
    let head = request.method() == Method::HEAD;
    let route = route(
        &gateway.config.routes,
        request.method(),
        request.uri().path(),
    );
    let name = route.name();
    if head {
        *request.method_mut() = Method::GET;
    }
    let mut response = dispatch(&gateway, connection, route, request)
        .await
        .unwrap_or_else(|error| {
            if error.is_logged() {
                eprintln!("cragate: {name}: {}", log_line(&error));
            }
            error_response(&error)
        });
    gateway.metrics.request(name, response.status().as_u16());
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if head {
        return without_body(response);
    }
    response
}

/// The head of `response`, its `Content-Length` kept (or taken from the
/// body's exact length), the body dropped unread.
fn without_body(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    if !parts.headers.contains_key(header::CONTENT_LENGTH)
        && let Some(length) = body.size_hint().exact()
    {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    Response::from_parts(parts, empty())
}

/// The authorization phase, then the route's handler.
async fn dispatch(
    gateway: &Arc<Gateway>,
    connection: Connection,
    route: Route<'_>,
    mut request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    authorize(gateway, connection, request.headers(), route.access())?;
    match route {
        Route::Ops(which) => ops::serve(gateway, which).await,
        Route::Ledger(read) => admin::serve(gateway, request.uri(), read).await,
        Route::SupplyLink => admin::record_supply(gateway, request).await,
        Route::NotificationFeed => notifications::feed(gateway, &request).await,
        Route::Notification => notifications::post(gateway, request).await,
        Route::Halts(which) => halts::serve(gateway, which, request).await,
        Route::Unknown => Err(GatewayError::client(ErrorKind::NoRoute {
            method: request.method().clone(),
            path: Excerpt::new(request.uri().path()),
        })),
        Route::BadPath(error) => Err(GatewayError::client(ErrorKind::BadPath(error))),
        Route::Product {
            rule,
            captures,
            path,
        } => {
            forward_as(&mut request, &path)?;
            let deadline = gateway.config.limits.request_timeout;
            let peer = connection.peer;
            match rule.kind {
                RouteKind::ListingSubmission => {
                    bounded(
                        deadline,
                        listings::submit(gateway, rule, captures, request, peer),
                    )
                    .await
                }
                RouteKind::ListingRead => {
                    bounded(
                        deadline,
                        listings::read(gateway, rule, captures, request, peer),
                    )
                    .await
                }
                RouteKind::CatalogRead => {
                    bounded(deadline, listings::catalog(gateway, rule, request, peer)).await
                }
                // Streaming routes: bounded by the idle budget per piece
                // and the size budget, not by a total time.
                RouteKind::ArtifactUpload => artifacts::upload(gateway, captures, request).await,
                RouteKind::Download => artifacts::download(gateway, captures, request).await,
            }
        }
    }
}

/// Puts the normalised path in the request, so that what is forwarded is
/// what was routed.
fn forward_as(request: &mut Request<Incoming>, path: &NormalPath) -> Result<(), GatewayError> {
    if request.uri().path() == path.as_str() {
        return Ok(());
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    *request.uri_mut() = Uri::from_parts(parts)
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
    Ok(())
}

/// Limits phase, in time: a buffered request that takes longer than the
/// request budget is answered 408.
async fn bounded(
    deadline: std::time::Duration,
    work: impl Future<Output = Result<Response<Body>, GatewayError>>,
) -> Result<Response<Body>, GatewayError> {
    tokio::time::timeout(deadline, work)
        .await
        .unwrap_or(Err(GatewayError::client(ErrorKind::Timeout)))
}

/// Finds the route of a request: the gateway's own routes on the path as
/// it came, product routes on its normal form.
pub fn route<'a>(rules: &'a [RouteRule], method: &Method, path: &str) -> Route<'a> {
    // HEAD is answered as GET without the body (RFC 9110, section 9.3.2).
    let read = method == Method::GET || method == Method::HEAD;
    if read {
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
        if path == notifications::FEED_PATH {
            return Route::NotificationFeed;
        }
    }
    if method == Method::POST && path == notifications::NOTIFICATIONS_PATH {
        return Route::Notification;
    }
    if method == Method::POST && path.strip_prefix(LEDGER_API) == Some("supply-links") {
        return Route::SupplyLink;
    }
    let as_get = if read { &Method::GET } else { method };
    if let Some(which) = halts::HaltRoute::parse(as_get, path) {
        return Route::Halts(which);
    }
    let path = match NormalPath::new(path) {
        Ok(path) => path,
        Err(error) => return Route::BadPath(error),
    };
    let matched = rules
        .iter()
        .filter(|rule| rule.method == method || rule.method == as_get)
        .find_map(|rule| rule.path.matches(&path).map(|captures| (rule, captures)));
    match matched {
        Some((rule, Ok(captures))) => Route::Product {
            rule,
            captures,
            path,
        },
        Some((_, Err(error))) => Route::BadPath(error),
        None => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_rules_route_the_v1_api() {
        let rules = native_rules();
        assert_eq!(rules.len(), 5);
        let kind = |method: &Method, path: &str| match route(&rules, method, path) {
            Route::Product { rule, .. } => Some(rule.kind),
            _ => None,
        };
        assert_eq!(
            kind(&Method::POST, "/v1/listings"),
            Some(RouteKind::ListingSubmission)
        );
        assert_eq!(kind(&Method::GET, "/v1/listings"), None);
        assert_eq!(
            kind(&Method::HEAD, "/v1/listings/x"),
            Some(RouteKind::ListingRead)
        );
        assert_eq!(kind(&Method::HEAD, "/v1/listings"), None);
        assert!(matches!(
            route(&rules, &Method::HEAD, "/v1/halts"),
            Route::Halts(halts::HaltRoute::List)
        ));
        assert!(matches!(
            route(&rules, &Method::HEAD, "/healthz"),
            Route::Ops(Ops::Health)
        ));
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

    #[test]
    fn every_route_has_its_access() {
        let rules = native_rules();
        let access = |method: &Method, path: &str| route(&rules, method, path).access();
        assert_eq!(access(&Method::GET, "/healthz"), Access::Open);
        assert_eq!(
            access(&Method::GET, "/metrics"),
            Access::AdminWhenConfigured
        );
        assert_eq!(access(&Method::GET, "/admin/config"), Access::Admin);
        assert_eq!(access(&Method::GET, "/v1/admin/ledger/key"), Access::Admin);
        assert_eq!(
            access(&Method::POST, "/v1/admin/ledger/supply-links"),
            Access::Admin
        );
        assert_eq!(access(&Method::POST, "/v1/halts"), Access::Admin);
        assert_eq!(access(&Method::GET, "/v1/halts"), Access::Admin);
        assert_eq!(access(&Method::GET, "/v1/halts/lumatek/7"), Access::Admin);
        assert_eq!(access(&Method::POST, "/v1/listings"), Access::Open);
        assert_eq!(access(&Method::GET, "/nowhere"), Access::Open);
    }

    #[test]
    fn product_routes_match_the_normalised_path() {
        let rules = native_rules();
        match route(&rules, &Method::GET, "/v1/listings/%76ault%2dkey") {
            Route::Product { captures, path, .. } => {
                assert_eq!(captures.id.as_deref(), Some("vault-key"));
                assert_eq!(path.as_str(), "/v1/listings/vault-key");
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            "/v1/listings/..%2Fcatalog",
            "/v1/listings/a%5Cb",
            "/v1/listings/%2e%2e",
            "/v1/../v1/catalog",
            "/v1//catalog",
        ] {
            assert!(
                matches!(route(&rules, &Method::GET, bad), Route::BadPath(_)),
                "{bad}"
            );
        }
        // The gateway's own routes are not product paths: an encoded slash
        // in a product id there is the id's own.
        assert!(matches!(
            route(
                &rules,
                &Method::GET,
                "/v1/admin/ledger/supply-chain/cam%2F1"
            ),
            Route::Ledger(_)
        ));
    }
}
