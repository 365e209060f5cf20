//! The OCI registry upstream (OCI distribution-spec v1.1): documents read
//! whole (manifests, referrers lists, signature layers) and blobs streamed,
//! with the configured credentials, and the discovery of an image's
//! signatures and attestations in both forms cosign writes.
//!
//! Discovery asks, for manifest `sha256:<hex>` of repository `name`:
//! - `GET /v2/<name>/referrers/sha256:<hex>` with no `artifactType`
//!   filter, following `Link: <...>; rel="next"` pages; cragate filters the
//!   descriptors itself, so an `OCI-Filters-Applied` answer is never needed
//!   (and a registry that filters anyway only returns fewer). On 404 (a
//!   registry without the referrers API, such as CNCF distribution 2.8),
//!   the tag-schema index `sha256-<hex>`;
//! - the legacy tags `sha256-<hex>.sig` and `sha256-<hex>.att`.
//!
//! It is built on the gateway's own hyper client ([`HttpUpstream`]) rather
//! than `oci-client`: blobs stream through the same connection pool and
//! the same offloaded re-hashing as every other download, and the gateway
//! keeps a single HTTP stack and TLS configuration. `oci-client` 0.17 also
//! sends the `artifactType` filter unencoded (`+json` arrives as a space);
//! passing no filter sidesteps that.

use std::time::Duration;

use bytes::Bytes;
use cragate_verifier::Digest;
use cragate_verifier::cosign::{
    self, BUNDLE_ARTIFACT_TYPE, ImageEvidence, ImageManifest, LegacyLayer, ManifestKind,
};
use cragate_verifier::limits::{MAX_MANIFEST_BYTES, MAX_SIGNATURE_LAYERS};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use hyper::body::Incoming;

use super::HttpUpstream;
use super::registry_token::{Challenge, Tokens, refused, scope_of};
use crate::config::OciConfig;
use crate::http::body::{BodyLimits, empty, read_limited};
use crate::http::error::{ErrorKind, ErrorSource, GatewayError};

/// Every manifest media type cragate reads, for `Accept`.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// Referrers pages followed at most: each costs a round trip, and a
/// manifest with more than a few dozen referrers is an attack, not a
/// release (cosign adds one per signature or attestation).
pub const MAX_REFERRER_PAGES: usize = 8;

/// Referrers (bundles) verified at most per manifest, for the same reason.
pub const MAX_REFERRERS: usize = 32;

/// Largest signature layer or bundle blob read, in bytes (a bundle's
/// budget: an attestation with a large SBOM predicate).
pub const MAX_SIGNATURE_BLOB_BYTES: u64 = cragate_verifier::limits::MAX_BUNDLE_BYTES as u64;

/// The registry answered `401` to cragate's own credentials or token.
fn credentials_refused() -> GatewayError {
    refused(
        "the registry refused cragate's credentials ([oci] credentials_file): it answered 401 Unauthorized",
    )
}

/// A document read whole.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its bytes.
    pub bytes: Bytes,
    /// Their SHA-256.
    pub digest: Digest,
    /// The registry's `Content-Type`.
    pub content_type: Option<String>,
}

impl Document {
    /// `body` read whole under `limits`, with the `Content-Type` of
    /// `headers`.
    pub async fn read(
        body: Incoming,
        headers: &http::HeaderMap,
        limits: BodyLimits,
    ) -> Result<Self, GatewayError> {
        let bytes = read_limited(body, limits, None).await?;
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            digest: Digest::of(&bytes),
            bytes,
            content_type,
        })
    }
}

/// The `Authorization` header of a request to the registry, if any.
fn authorization_header(value: Option<HeaderValue>) -> Vec<(HeaderName, HeaderValue)> {
    value
        .into_iter()
        .map(|value| (header::AUTHORIZATION, value))
        .collect()
}

/// What discovery found, and a digest of where it looked (the `.sig`,
/// `.att` and referrers documents): when that changes, a new signature may
/// have appeared.
#[derive(Debug)]
pub struct Discovered {
    /// What to verify.
    pub evidence: ImageEvidence,
    /// SHA-256 over the digests of the documents looked at.
    pub fingerprint: Digest,
}

/// The registry.
#[derive(Debug)]
pub struct OciUpstream {
    http: HttpUpstream,
    /// The configured credentials, sent unless a token for the request's
    /// scope is at hand.
    authorization: Option<HeaderValue>,
    tokens: Tokens,
    idle: Duration,
}

impl OciUpstream {
    /// A client for the configured registry.
    pub fn new(config: &OciConfig, timeout: Duration) -> Result<Self, GatewayError> {
        let authorization = match &config.credentials {
            None => None,
            Some(credentials) => Some(
                HeaderValue::from_str(credentials.header_value())
                    .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?,
            ),
        };
        Ok(Self {
            http: HttpUpstream::with_roots(
                config.upstream.clone(),
                timeout,
                &config.ca_certificates,
            )?,
            authorization,
            tokens: Tokens::new(
                config.credentials.as_ref(),
                &config.upstream,
                &config.ca_certificates,
                timeout,
            ),
            idle: timeout,
        })
    }

    /// The base URI.
    pub fn base(&self) -> &http::Uri {
        self.http.base()
    }

    /// Sends `method path` with `accept`, streaming the answer. A `401`
    /// with a `Bearer` challenge is answered with a token from the
    /// registry's token service and the request sent again; a second
    /// `401` (or one without a challenge) is the registry refusing
    /// cragate's credentials, an error, never passed on to the client.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let scope = scope_of(path, false);
        let authorization = self.tokens.cached(&scope).or(self.authorization.clone());
        let response = self
            .send_once(method.clone(), path, accept, authorization)
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(challenge) = Challenge::from_headers(response.headers()) else {
            return Err(credentials_refused());
        };
        self.tokens.learn(Some(&challenge));
        let asked = challenge.scope.clone().unwrap_or_else(|| scope.clone());
        let token = self.tokens.token(&challenge, &asked, &scope).await?;
        let response = self.send_once(method, path, accept, Some(token)).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(credentials_refused());
        }
        Ok(response)
    }

    /// One request without a body.
    async fn send_once(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        authorization: Option<HeaderValue>,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let (parts, ()) = request
            .body(())
            .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?
            .into_parts();
        let extra = authorization_header(authorization);
        self.http.forward(&parts, empty(), &[], &extra).await
    }

    /// The `Authorization` of a push to `path`: a token for pulling and
    /// pushing its repository when the registry has a token service (learned
    /// once, by the first `401` or by asking `GET /v2/`), else the
    /// configured credentials. A push streams its body, so it is never sent
    /// twice: its token is fetched before.
    async fn push_authorization(&self, path: &str) -> Result<Option<HeaderValue>, GatewayError> {
        let scope = scope_of(path, true);
        if let Some(token) = self.tokens.cached(&scope) {
            return Ok(Some(token));
        }
        let service = match self.tokens.service() {
            Some(service) => service,
            None => {
                let probe = self
                    .send_once(Method::GET, "/v2/", None, self.authorization.clone())
                    .await?;
                let challenge = (probe.status() == StatusCode::UNAUTHORIZED)
                    .then(|| Challenge::from_headers(probe.headers()))
                    .flatten();
                self.tokens.learn(challenge.as_ref());
                challenge
            }
        };
        match service {
            Some(challenge) => Ok(Some(self.tokens.token(&challenge, &scope, &scope).await?)),
            None => Ok(self.authorization.clone()),
        }
    }

    /// Sends a push request (`method path`, `path` with its query) with
    /// `body` and the client's `Content-Type`, `Content-Length` and
    /// `Content-Range` (no other header of the client crosses), streaming
    /// the answer. A body still streaming from the client comes with its
    /// `done` ([`crate::http::body::relayed_upload`]): the registry's
    /// answer is then awaited from the body's end. A `401` is the registry
    /// refusing cragate's credentials.
    pub async fn push(
        &self,
        method: Method,
        path: &str,
        client: &http::HeaderMap,
        body: crate::http::body::Body,
        done: Option<&tokio::sync::Notify>,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let authorization = self.push_authorization(path).await?;
        let mut request = Request::builder().method(method).uri(path);
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
        ] {
            if let Some(value) = client.get(&name) {
                request = request.header(name, value.clone());
            }
        }
        let (parts, ()) = request
            .body(())
            .map_err(|e| GatewayError::client(ErrorKind::BadRequest(e.to_string())))?
            .into_parts();
        let extra = authorization_header(authorization);
        let response = match done {
            Some(done) => self.http.forward_upload(&parts, body, &extra, done).await?,
            None => self.http.forward(&parts, body, &[], &extra).await?,
        };
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(credentials_refused());
        }
        Ok(response)
    }

    /// `GET path`, read whole under `limit`; `None` on 404.
    pub async fn document(
        &self,
        path: &str,
        accept: Option<&str>,
        limit: u64,
    ) -> Result<Option<(Document, http::HeaderMap)>, GatewayError> {
        let response = self.send(Method::GET, path, accept).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(GatewayError::upstream(ErrorKind::Status {
                status,
                what: "a registry document",
            }));
        }
        let (head, body) = response.into_parts();
        let limits = BodyLimits {
            limit,
            idle: self.idle,
            from: ErrorSource::Upstream,
        };
        let document = Document::read(body, &head.headers, limits).await?;
        Ok(Some((document, head.headers)))
    }

    /// The manifest `reference` (tag or digest) of `name`; `None` on 404.
    pub async fn manifest(
        &self,
        name: &str,
        reference: &str,
    ) -> Result<Option<Document>, GatewayError> {
        let path = format!("/v2/{name}/manifests/{reference}");
        Ok(self
            .document(&path, Some(MANIFEST_ACCEPT), MAX_MANIFEST_BYTES as u64)
            .await?
            .map(|(document, _)| document))
    }

    /// The digest of manifest `reference` from a HEAD (its
    /// `Docker-Content-Digest`), or by reading it when the registry gives
    /// none; `None` on 404.
    pub async fn manifest_digest(
        &self,
        name: &str,
        reference: &str,
    ) -> Result<Option<Digest>, GatewayError> {
        let path = format!("/v2/{name}/manifests/{reference}");
        let response = self
            .send(Method::HEAD, &path, Some(MANIFEST_ACCEPT))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                let given = response
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                match given {
                    Some(digest) => Ok(Some(digest)),
                    None => Ok(self.manifest(name, reference).await?.map(|d| d.digest)),
                }
            }
            status => Err(GatewayError::upstream(ErrorKind::Status {
                status,
                what: "a manifest",
            })),
        }
    }

    /// A blob read whole under `limit`; `None` on 404.
    pub async fn blob(
        &self,
        name: &str,
        digest: &Digest,
        limit: u64,
    ) -> Result<Option<Bytes>, GatewayError> {
        let path = format!("/v2/{name}/blobs/{digest}");
        Ok(self
            .document(&path, None, limit)
            .await?
            .map(|(document, _)| document.bytes))
    }

    /// Where signatures could be, as digests, cheaply: HEADs of the legacy
    /// tags and the referrers list (or its tag-schema index).
    pub async fn fingerprint(&self, name: &str, digest: &Digest) -> Result<Digest, GatewayError> {
        let mut seen = Vec::new();
        for suffix in [".sig", ".att"] {
            let tag = cosign::legacy_tag(digest, suffix);
            seen.push(self.manifest_digest(name, &tag).await?);
        }
        let (_, referrers_digest) = self.referrers(name, digest).await?;
        seen.push(referrers_digest);
        Ok(fingerprint_of(&seen))
    }

    /// Finds every signature and attestation of manifest `digest`.
    pub async fn discover(&self, name: &str, digest: &Digest) -> Result<Discovered, GatewayError> {
        let mut discovered = Discovered {
            evidence: ImageEvidence::default(),
            fingerprint: Digest::from_bytes([0; 32]),
        };
        let mut seen = Vec::new();
        for suffix in [".sig", ".att"] {
            let tag = cosign::legacy_tag(digest, suffix);
            let Some(document) = self.manifest(name, &tag).await? else {
                seen.push(None);
                continue;
            };
            seen.push(Some(document.digest));
            let layers = self.legacy_layers(name, &document).await?;
            if suffix == ".sig" {
                discovered.evidence.signatures = layers;
            } else {
                discovered.evidence.attestations = layers;
            }
        }
        let (referrers, referrers_digest) = self.referrers(name, digest).await?;
        seen.push(referrers_digest);
        for descriptor in referrers.iter().take(MAX_REFERRERS) {
            let Some(document) = self.manifest(name, &descriptor.digest.to_string()).await? else {
                continue;
            };
            let manifest =
                match ImageManifest::from_json(&document.bytes, document.content_type.as_deref()) {
                    Ok(manifest) => manifest,
                    Err(error) => {
                        discovered
                            .evidence
                            .bundles
                            .push(Err(cosign::CosignError::Malformed {
                                what: "a referrer manifest",
                                detail: error.to_string(),
                            }));
                        continue;
                    }
                };
            for layer in manifest.entries.iter().take(1) {
                let blob = self
                    .blob(name, &layer.digest, MAX_SIGNATURE_BLOB_BYTES)
                    .await?
                    .unwrap_or_default();
                discovered
                    .evidence
                    .bundles
                    .push(cosign::bundle_layer(LegacyLayer {
                        descriptor: layer,
                        blob: &blob,
                    }));
            }
        }
        discovered.fingerprint = fingerprint_of(&seen);
        Ok(discovered)
    }

    /// The referrers of `digest` whose artifact type is a Sigstore bundle,
    /// and the digest of what listed them (`None`: nothing lists any).
    async fn referrers(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<(Vec<cosign::Descriptor>, Option<Digest>), GatewayError> {
        let mut path = format!("/v2/{name}/referrers/{digest}");
        let mut found = Vec::new();
        let mut pages = Vec::new();
        for _ in 0..MAX_REFERRER_PAGES {
            let answer = self
                .document(&path, Some(cosign_index()), MAX_MANIFEST_BYTES as u64)
                .await;
            let (document, headers) = match answer {
                Ok(Some(found)) => found,
                // No referrers API: the tag-schema index.
                Ok(None) if pages.is_empty() => return self.tag_schema(name, digest).await,
                Ok(None) => break,
                // Registries without the API may answer 400 or 405 too.
                Err(error) if pages.is_empty() && is_status(&error) => {
                    return self.tag_schema(name, digest).await;
                }
                Err(error) => return Err(error),
            };
            pages.push(Some(document.digest));
            found.extend(bundle_referrers(&document)?);
            match next_page(&headers) {
                Some(next) => path = next,
                None => break,
            }
        }
        let digest = (!pages.is_empty()).then(|| fingerprint_of(&pages));
        Ok((found, digest))
    }

    /// The `sha256-<hex>` tag-schema index (distribution-spec v1.1,
    /// "Referrers Tag Schema").
    async fn tag_schema(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<(Vec<cosign::Descriptor>, Option<Digest>), GatewayError> {
        let tag = cosign::legacy_tag(digest, "");
        match self.manifest(name, &tag).await? {
            None => Ok((Vec::new(), None)),
            Some(document) => Ok((bundle_referrers(&document)?, Some(document.digest))),
        }
    }

    /// Each layer of a `.sig` or `.att` manifest, rewritten as a bundle.
    async fn legacy_layers(
        &self,
        name: &str,
        document: &Document,
    ) -> Result<Vec<Result<cosign::LegacyBundle, cosign::CosignError>>, GatewayError> {
        let manifest =
            match ImageManifest::from_json(&document.bytes, document.content_type.as_deref()) {
                Ok(manifest) if manifest.kind == ManifestKind::Image => manifest,
                Ok(_) => {
                    return Ok(vec![Err(cosign::CosignError::Malformed {
                        what: "a signature manifest",
                        detail: "it is an index, not an image manifest".to_owned(),
                    })]);
                }
                Err(error) => {
                    return Ok(vec![Err(cosign::CosignError::Malformed {
                        what: "a signature manifest",
                        detail: error.to_string(),
                    })]);
                }
            };
        let mut out = Vec::new();
        for layer in manifest.entries.iter().take(MAX_SIGNATURE_LAYERS) {
            let blob = self
                .blob(name, &layer.digest, MAX_SIGNATURE_BLOB_BYTES)
                .await?
                .unwrap_or_default();
            out.push(cosign::legacy_layer(LegacyLayer {
                descriptor: layer,
                blob: &blob,
            }));
        }
        Ok(out)
    }
}

fn cosign_index() -> &'static str {
    "application/vnd.oci.image.index.v1+json"
}

fn is_status(error: &GatewayError) -> bool {
    matches!(error.kind(), ErrorKind::Status { status, .. }
        if *status == StatusCode::BAD_REQUEST || *status == StatusCode::METHOD_NOT_ALLOWED)
}

/// The descriptors of an index (a referrers page or tag-schema index)
/// whose artifact type is a Sigstore bundle.
fn bundle_referrers(document: &Document) -> Result<Vec<cosign::Descriptor>, GatewayError> {
    let index = ImageManifest::from_json(&document.bytes, Some(cosign_index())).map_err(|e| {
        GatewayError::upstream(ErrorKind::Internal(format!(
            "the registry's referrers list is unusable: {e}"
        )))
    })?;
    Ok(index
        .entries
        .into_iter()
        .filter(|d| d.artifact_type.as_deref() == Some(BUNDLE_ARTIFACT_TYPE))
        .collect())
}

/// The path of a `Link: <path>; rel="next"` header (RFC 8288), when it
/// stays on the registry (a path, or a URL whose path is taken).
fn next_page(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|link| link.contains("rel=\"next\"") || link.contains("rel=next"))
        .and_then(|link| {
            let start = link.find('<')?;
            let end = link.find('>')?;
            let target = link.get(start.checked_add(1)?..end)?;
            let uri: http::Uri = target.parse().ok()?;
            uri.path_and_query().map(|p| p.as_str().to_owned())
        })
        .filter(|path| path.starts_with("/v2/"))
}

fn fingerprint_of(seen: &[Option<Digest>]) -> Digest {
    let mut hasher = cragate_verifier::Hasher::new();
    for item in seen {
        match item {
            Some(digest) => hasher.update(digest.as_bytes()),
            None => hasher.update(b"none"),
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static("</v2/acme/cam/referrers/sha256:ab?n=1&last=x>; rel=\"next\""),
        );
        assert_eq!(
            next_page(&headers).as_deref(),
            Some("/v2/acme/cam/referrers/sha256:ab?n=1&last=x")
        );
        headers.insert(
            header::LINK,
            HeaderValue::from_static("<https://elsewhere.example/x>; rel=\"next\""),
        );
        assert_eq!(next_page(&headers), None);
    }
}
