//! Routes: which requests are the gateway's own (health, metrics, admin)
//! and which carry products (listing submissions, artifact uploads, listing
//! and catalog reads, downloads), by method and path.
//!
//! The native API (`/v1/...`) is a fixed set of rules; an HTTP upstream can
//! replace it with rules naming its own paths, so that an existing store's
//! API is fronted without changing it. A request no rule names is denied.

pub mod artifacts;
pub mod listings;
pub mod ops;
pub mod pattern;

use http::Method;

pub use pattern::{Capture, Captures, PathPattern};

/// What a route carries, and so which checks it goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// A body holding a listing: verified and evaluated before it is stored.
    ListingSubmission,
    /// Artifact bytes at a `{digest}` path: hashed, and stored only when an
    /// accepted listing references the digest.
    ArtifactUpload,
    /// A response holding a listing: served only when the policy accepts it.
    ListingRead,
    /// A catalog page (names and digests, no product): served as it comes.
    CatalogRead,
    /// Artifact bytes at a `{digest}` path: served only when an accepted
    /// listing references the digest, and re-hashed while streamed.
    Download,
}

impl RouteKind {
    /// Parses the `kind` of a `[[routes]]` rule.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "listing-submission" => Self::ListingSubmission,
            "artifact-upload" => Self::ArtifactUpload,
            "listing-read" => Self::ListingRead,
            "catalog-read" => Self::CatalogRead,
            "download" => Self::Download,
            _ => return None,
        })
    }
}

/// One rule: a method and path pattern, and what the route carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// The method it applies to.
    pub method: Method,
    /// The path pattern.
    pub path: PathPattern,
    /// What it carries.
    pub kind: RouteKind,
    /// Where the listing sits in a JSON body (RFC 6901); empty for the whole body.
    pub listing_pointer: String,
}

/// The native API's rules.
pub fn native_rules() -> Vec<RouteRule> {
    let rule = |method: Method, path: &str, kind| {
        PathPattern::parse(path).map(|path| RouteRule {
            method,
            path,
            kind,
            listing_pointer: String::new(),
        })
    };
    [
        rule(Method::POST, "/v1/listings", RouteKind::ListingSubmission),
        rule(Method::GET, "/v1/listings/{id}", RouteKind::ListingRead),
        rule(Method::GET, "/v1/catalog", RouteKind::CatalogRead),
        rule(
            Method::PUT,
            "/v1/artifacts/{digest}",
            RouteKind::ArtifactUpload,
        ),
        rule(Method::GET, "/v1/artifacts/{digest}", RouteKind::Download),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The gateway's own routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ops {
    /// `GET /healthz`: the process runs.
    Health,
    /// `GET /readyz`: it can serve (upstream reachable).
    Ready,
    /// `GET /metrics`: Prometheus text (admin).
    Metrics,
    /// `GET /admin/config`: the configuration in force (admin).
    Config,
}

impl Ops {
    /// Whether the route needs a client certificate when the listener asks
    /// for one.
    pub fn is_admin(self) -> bool {
        matches!(self, Self::Metrics | Self::Config)
    }
}

/// Where a request goes.
#[derive(Debug)]
pub enum Route<'a> {
    /// One of the gateway's own routes.
    Ops(Ops),
    /// A product route, with what its path captured.
    Product(&'a RouteRule, Captures),
    /// Nothing: denied with 404.
    Unknown,
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
}
