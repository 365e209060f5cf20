//! Route rules: which method and path carry which kind of product request.
//!
//! The native API (`/v1/...`) is a fixed set of rules; an HTTP upstream can
//! replace it with rules naming its own paths, so that an existing store's
//! API is fronted without changing it. Dispatch by route lives in
//! [`crate::routes`].

use http::Method;

use super::pattern::PathPattern;

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
    /// Where the listing sits in a JSON body (RFC 6901); empty for the whole
    /// body. For a catalog read with `listings_pointer`, where it sits in
    /// each entry.
    pub listing_pointer: String,
    /// Catalog reads: where the page's array of entries sits (RFC 6901;
    /// empty when the page is the array). Each entry is judged and only
    /// accepted ones are passed on. `None`: the page is passed on as it
    /// comes, which suits pages of references only.
    pub listings_pointer: Option<String>,
}

/// The native API's rules.
pub fn native_rules() -> Vec<RouteRule> {
    let rule = |method: Method, path: &str, kind| {
        PathPattern::parse(path).map(|path| RouteRule {
            method,
            path,
            kind,
            listing_pointer: String::new(),
            listings_pointer: None,
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
