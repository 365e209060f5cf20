//! Upstreams: where accepted listings and artifacts go and where reads are
//! served from.
//!
//! The set is closed and known at start, so it is an enum rather than a
//! trait object: the embedded [`FileCatalog`] (the default) and an
//! [`HttpUpstream`] fronted through route rules. The OCI registry of `[oci]`
//! ([`oci::OciUpstream`]) sits beside it, serving `/v2/` only.

pub mod file;
pub mod http;
pub mod oci;
pub mod registry_token;
pub mod verified;

use ::http::Response;
use http_body_util::BodyExt;
use hyper::body::Incoming;

pub use file::FileCatalog;
pub use http::HttpUpstream;

use crate::http::body::{Body, BodyError};
use crate::http::error::IdProblem;

/// The upstream in use.
#[derive(Debug)]
pub enum Upstream {
    /// The embedded file catalog.
    File(FileCatalog),
    /// An HTTP(S) catalog.
    Http(Box<HttpUpstream>),
}

impl Upstream {
    /// Whether it can serve now.
    pub async fn ready(&self) -> bool {
        match self {
            Self::File(catalog) => tokio::fs::metadata(catalog.temp_dir()).await.is_ok(),
            Self::Http(upstream) => upstream.reachable().await,
        }
    }

    /// Whether the upstream can store a listing under `id`: the file
    /// catalog needs a file name (a [`cragate_verifier::evidence::ProductId`]); an HTTP upstream
    /// gets the id in the path the client chose, which the route checks.
    pub fn check_id(&self, id: &str) -> Result<(), IdProblem> {
        match self {
            Self::File(_) if id.parse::<cragate_verifier::evidence::ProductId>().is_err() => {
                Err(IdProblem::NotAFileName {
                    max: cragate_verifier::evidence::MAX_PRODUCT_ID_BYTES,
                })
            }
            _ => Ok(()),
        }
    }

    /// A short description for logs and the admin view.
    pub fn describe(&self) -> String {
        match self {
            Self::File(catalog) => format!("file catalog {}", catalog.root().display()),
            Self::Http(upstream) => format!("HTTP {}", upstream.base()),
        }
    }
}

/// An upstream response passed to the client: status and headers less the
/// hop-by-hop ones, the body streamed.
pub fn relay(response: Response<Incoming>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    parts.headers = http::forwarded_headers(&parts.headers, &[]);
    Response::from_parts(parts, body.map_err(BodyError::from).boxed_unsync())
}
