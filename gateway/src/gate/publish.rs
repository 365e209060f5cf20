//! `--publish`: accepted items go into the catalog once their decisions
//! are on the ledger: each artifact, copied from the shipment and hashed
//! again on the way so that a file changed since it was judged is not
//! published, then the stamped listing (so the importer's details go with
//! the product, Art. 19(4)); a reader never finds a listing whose
//! artifacts are missing.
//!
//! The catalog is the one `cragate serve` puts accepted products in: the
//! embedded file catalog, or an HTTP upstream, reached with the client
//! `serve` uses ([`HttpUpstream::forward`]) on the routes `serve` forwards
//! submissions to: its `listing-submission` and `artifact-upload` rules
//! (the native `POST /v1/listings` and `PUT /v1/artifacts/{digest}` when
//! the configuration has no `[[routes]]`).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use cragate_verifier::Hasher;
use http::header::{self, HeaderValue};
use http::{Request, StatusCode, Uri};
use tempfile::NamedTempFile;

use super::item::{ArtifactCheck, Judged};
use crate::config::rules::{RouteKind, RouteRule, native_rules};
use crate::config::{Config, UpstreamConfig};
use crate::http::body::{file_range, full};
use crate::upstream::{FileCatalog, HttpUpstream};

/// Where accepted items are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded file catalog at this folder (`dir:PATH`).
    Dir(PathBuf),
    /// An HTTP catalog, through its submission routes.
    Http(HttpTarget),
}

/// An HTTP catalog and how `serve` submits to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// Its base URI (scheme and authority).
    pub base: Uri,
    /// The route rules; the first `listing-submission` and `artifact-upload`
    /// ones are used.
    pub routes: Vec<RouteRule>,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Target {
    /// `dir:PATH`, or `http(s)://HOST:PORT` with the native routes.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("dir:") {
            return Ok(Self::Dir(PathBuf::from(path)));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            let base: Uri = text
                .parse()
                .map_err(|e| format!("publish target {text:?} is not a URL: {e}"))?;
            if base.path() != "/" && !base.path().is_empty() {
                return Err(format!(
                    "publish target {text:?} must be scheme and authority only: the routes give the paths"
                ));
            }
            return Ok(Self::Http(HttpTarget {
                base,
                routes: native_rules(),
                // As `serve` with no `[limits] upstream_timeout_ms`.
                timeout: crate::http::limits::Limits::default().upstream_timeout,
            }));
        }
        Err(format!(
            "publish target {text:?} must be dir:PATH or http(s)://HOST:PORT"
        ))
    }

    /// The catalog `serve` uses under `config`: its upstream, with its
    /// routes and upstream timeout.
    pub fn of(config: &Config) -> Self {
        match &config.upstream {
            UpstreamConfig::Dir(path) => Self::Dir(path.clone()),
            UpstreamConfig::Http(base) => Self::Http(HttpTarget {
                base: base.clone(),
                routes: config.routes.clone(),
                timeout: config.limits.upstream_timeout,
            }),
        }
    }

    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(path) => format!("file catalog {}", path.display()),
            Self::Http(target) => format!("HTTP catalog {}", target.base),
        }
    }
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The catalog could not be written.
    #[error("cannot publish {what} to the catalog {catalog}: {source}")]
    Io {
        /// What was being published.
        what: String,
        /// The catalog.
        catalog: String,
        /// The failure.
        source: io::Error,
    },
    /// An artifact changed after it was judged.
    #[error("{file} changed after it was judged: not published")]
    Changed {
        /// The file.
        file: String,
    },
    /// The HTTP catalog's routes cannot carry what is published.
    #[error("cannot publish to the HTTP catalog {catalog}: {message}")]
    Routes {
        /// The catalog.
        catalog: String,
        /// What is missing.
        message: String,
    },
    /// The HTTP catalog could not be reached or did not answer in time.
    #[error("cannot publish {what} to the HTTP catalog {catalog}: {message}")]
    Unreachable {
        /// What was being published.
        what: String,
        /// The catalog.
        catalog: String,
        /// Why.
        message: String,
    },
    /// The HTTP catalog answered with another status than a success.
    #[error("the HTTP catalog {catalog} refused {what}: {method} {path} answered {status}")]
    Refused {
        /// What was being published.
        what: String,
        /// The catalog.
        catalog: String,
        /// The request's method.
        method: http::Method,
        /// The request's path.
        path: String,
        /// The status.
        status: StatusCode,
    },
    /// The runtime for the catalog's writes could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),
}

/// An open catalog that accepted items are published to.
#[derive(Debug)]
pub struct Publisher {
    catalog: Catalog,
    /// Shipment files are copied here before they are stored or sent.
    temp_dir: PathBuf,
    runtime: tokio::runtime::Runtime,
    _temp: Option<tempfile::TempDir>,
}

#[derive(Debug)]
enum Catalog {
    File(FileCatalog),
    Http(Box<HttpCatalog>),
}

/// An HTTP catalog's client and the rules of its submissions.
#[derive(Debug)]
struct HttpCatalog {
    upstream: HttpUpstream,
    listing: RouteRule,
    artifact: RouteRule,
}

impl Publisher {
    /// Opens `target`: the file catalog's folders are made; an HTTP
    /// catalog must accept a connection, and its routes must include a `listing-submission` rule taking the
    /// listing as the whole body and an `artifact-upload` rule, whose
    /// paths name one path for an id and a digest.
    pub fn open(target: &Target) -> Result<Self, PublishError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PublishError::Runtime)?;
        match target {
            Target::Dir(root) => {
                let catalog = FileCatalog::open(root).map_err(|source| PublishError::Io {
                    what: "anything".to_owned(),
                    catalog: root.display().to_string(),
                    source,
                })?;
                Ok(Self {
                    temp_dir: catalog.temp_dir(),
                    catalog: Catalog::File(catalog),
                    runtime,
                    _temp: None,
                })
            }
            Target::Http(target) => {
                let routes_error = |message: String| PublishError::Routes {
                    catalog: target.base.to_string(),
                    message,
                };
                let rule = |kind: RouteKind, name: &str| {
                    target
                        .routes
                        .iter()
                        .find(|r| r.kind == kind)
                        .cloned()
                        .ok_or_else(|| routes_error(format!("its routes have no {name} rule")))
                };
                let listing = rule(RouteKind::ListingSubmission, "listing-submission")?;
                if !listing.listing_pointer.is_empty() {
                    return Err(routes_error(format!(
                        "its listing-submission rule {} {} takes the listing at {} inside a document of the store's own, which cragate gate does not have",
                        listing.method, listing.path, listing.listing_pointer
                    )));
                }
                let artifact = rule(RouteKind::ArtifactUpload, "artifact-upload")?;
                // Each path is filled with what it is sent with: the
                // listing's with an id, the artifact's with a digest.
                listing.path.fill(Some("x"), None).map_err(routes_error)?;
                let sample = cragate_verifier::Digest::of(b"");
                artifact
                    .path
                    .fill(None, Some(&sample))
                    .map_err(routes_error)?;
                let upstream = HttpUpstream::new(target.base.clone(), target.timeout)
                    .map_err(|e| routes_error(e.to_string()))?;
                // Before anything is judged or recorded: a catalog that
                // cannot be reached fails the gate at once.
                if !runtime.block_on(upstream.reachable()) {
                    return Err(PublishError::Unreachable {
                        what: "anything".to_owned(),
                        catalog: target.base.to_string(),
                        message: format!("no connection within {} ms", target.timeout.as_millis()),
                    });
                }
                let temp = tempfile::tempdir().map_err(|source| PublishError::Io {
                    what: "anything".to_owned(),
                    catalog: target.base.to_string(),
                    source,
                })?;
                Ok(Self {
                    temp_dir: temp.path().to_path_buf(),
                    catalog: Catalog::Http(Box::new(HttpCatalog {
                        upstream,
                        listing,
                        artifact,
                    })),
                    runtime,
                    _temp: Some(temp),
                })
            }
        }
    }

    /// Publishes one accepted item: each artifact, then the listing.
    pub fn publish(&self, judged: &Judged) -> Result<(), PublishError> {
        for artifact in &judged.artifacts {
            let temp =
                copy_checked(&artifact.file, &self.temp_dir, artifact).map_err(|e| match e {
                    Copy::Io(source) => self.io_error(&artifact.name, source),
                    Copy::Changed => PublishError::Changed {
                        file: artifact.file.display().to_string(),
                    },
                })?;
            self.runtime.block_on(self.store_artifact(temp, artifact))?;
        }
        self.runtime.block_on(self.store_listing(judged))
    }

    fn catalog_name(&self) -> String {
        match &self.catalog {
            Catalog::File(catalog) => catalog.root().display().to_string(),
            Catalog::Http(http) => http.upstream.base().to_string(),
        }
    }

    fn io_error(&self, what: &str, source: io::Error) -> PublishError {
        PublishError::Io {
            what: what.to_owned(),
            catalog: self.catalog_name(),
            source,
        }
    }

    async fn store_artifact(
        &self,
        temp: NamedTempFile,
        artifact: &ArtifactCheck,
    ) -> Result<(), PublishError> {
        let (upstream, rule) = match &self.catalog {
            Catalog::File(catalog) => {
                return catalog
                    .store_artifact(temp, artifact.digest)
                    .await
                    .map_err(|e| self.io_error(&artifact.name, e));
            }
            Catalog::Http(http) => (&http.upstream, &http.artifact),
        };
        let what = format!("artifact {}", artifact.name);
        let file = tokio::fs::File::open(temp.path())
            .await
            .map_err(|e| self.io_error(&what, e))?;
        let body = file_range(file, 0, artifact.size)
            .await
            .map_err(|e| self.unreachable(&what, &e))?;
        let path = rule
            .path
            .fill(None, Some(&artifact.digest))
            .map_err(|message| self.routes_error(message))?;
        let content = [
            (header::CONTENT_LENGTH, HeaderValue::from(artifact.size)),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
        ];
        self.send(upstream, rule, &path, body, &content, &what)
            .await
    }

    async fn store_listing(&self, judged: &Judged) -> Result<(), PublishError> {
        let id = judged.listing.product_id();
        let bytes = Bytes::from(judged.listing_bytes.clone());
        let (upstream, rule) = match &self.catalog {
            Catalog::File(catalog) => {
                return catalog
                    .store_listing(id, bytes)
                    .await
                    .map_err(|e| self.io_error(&format!("listing {id}"), e));
            }
            Catalog::Http(http) => (&http.upstream, &http.listing),
        };
        let what = format!("listing {id}");
        let path = rule
            .path
            .fill(Some(id.as_str()), None)
            .map_err(|message| self.routes_error(message))?;
        let content = [
            (header::CONTENT_LENGTH, HeaderValue::from(bytes.len())),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ];
        self.send(upstream, rule, &path, full(bytes), &content, &what)
            .await
    }

    /// Sends `body` with `rule`'s method to `path`, as `serve` forwards a
    /// submission; only a success status is publication.
    async fn send(
        &self,
        upstream: &HttpUpstream,
        rule: &RouteRule,
        path: &str,
        body: crate::http::body::Body,
        content: &[(header::HeaderName, HeaderValue)],
        what: &str,
    ) -> Result<(), PublishError> {
        let (parts, ()) = Request::builder()
            .method(rule.method.clone())
            .uri(path)
            .body(())
            .map_err(|e| self.routes_error(format!("{path}: {e}")))?
            .into_parts();
        let answer = upstream
            .forward(&parts, body, &[], content)
            .await
            .map_err(|e| self.unreachable(what, &e))?;
        let status = answer.status();
        // The answer's body is not needed; dropping it closes the exchange.
        drop(answer);
        if status.is_success() {
            return Ok(());
        }
        Err(PublishError::Refused {
            what: what.to_owned(),
            catalog: self.catalog_name(),
            method: rule.method.clone(),
            path: path.to_owned(),
            status,
        })
    }

    fn routes_error(&self, message: String) -> PublishError {
        PublishError::Routes {
            catalog: self.catalog_name(),
            message,
        }
    }

    fn unreachable(&self, what: &str, error: &dyn std::fmt::Display) -> PublishError {
        PublishError::Unreachable {
            what: what.to_owned(),
            catalog: self.catalog_name(),
            message: error.to_string(),
        }
    }
}

enum Copy {
    Io(io::Error),
    Changed,
}

/// Copies `file` into a synced temporary file in `temp_dir`, hashing it on
/// the way; refuses it when it is no longer the artifact judged.
fn copy_checked(
    file: &Path,
    temp_dir: &Path,
    artifact: &ArtifactCheck,
) -> Result<NamedTempFile, Copy> {
    let mut source = std::fs::File::open(file).map_err(Copy::Io)?;
    let mut temp = NamedTempFile::new_in(temp_dir).map_err(Copy::Io)?;
    let mut hasher = Hasher::new();
    let mut buffer = vec![0u8; super::hash::CHUNK_BYTES];
    let mut size = 0u64;
    loop {
        let read = match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(Copy::Io(error)),
        };
        let chunk = buffer.get(..read).unwrap_or_default();
        hasher.update(chunk);
        temp.write_all(chunk).map_err(Copy::Io)?;
        size = size.saturating_add(u64::try_from(read).unwrap_or(u64::MAX));
    }
    if hasher.finish() != artifact.listed_digest || size != artifact.listed_size {
        return Err(Copy::Changed);
    }
    temp.as_file().sync_all().map_err(Copy::Io)?;
    Ok(temp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_targets_are_a_folder_or_an_http_catalog_on_its_native_routes() {
        assert_eq!(
            Target::parse("dir:/srv/catalog").unwrap(),
            Target::Dir(PathBuf::from("/srv/catalog"))
        );
        let Target::Http(http) = Target::parse("http://127.0.0.1:8080").unwrap() else {
            panic!("not an HTTP target");
        };
        assert_eq!(http.routes, native_rules());
        assert!(Target::parse("http://127.0.0.1:8080/store").is_err());
        assert!(Target::parse("ftp://example").is_err());
    }

    #[test]
    fn an_http_catalog_that_accepts_no_connection_fails_at_open() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        let target = Target::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let error = Publisher::open(&target).unwrap_err();
        assert!(matches!(error, PublishError::Unreachable { .. }), "{error}");
    }
}
