//! Distribution's token authentication, as registries such as Docker Hub,
//! GHCR and Harbor ask for it: a request answered `401` with
//! `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` is
//! asked again with a token from the realm (`GET realm?service=&scope=`,
//! with the configured basic credentials, or anonymously), and tokens are
//! kept per scope until shortly before they expire.
//!
//! A push cannot be sent twice (its body streams through), so its token is
//! fetched before it is sent: the registry's challenge is learned once, by
//! the first `401` or by asking `GET /v2/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode, Uri};
use serde::Deserialize;

use super::HttpUpstream;
use crate::config::OciCredentials;
use crate::http::body::{BodyLimits, empty, read_limited};
use crate::http::error::{ErrorKind, ErrorSource, GatewayError};
use crate::http::path::percent_encode as encode;

/// Largest token answer read, in bytes.
pub const MAX_TOKEN_ANSWER_BYTES: u64 = 64 * 1024;

/// A token's lifetime when the answer gives none (the token
/// specification's default).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// A token is no longer used this long before it expires, so that it does
/// not expire on the way.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(10);

/// Scopes whose tokens are kept at most (one per repository and access).
pub const MAX_CACHED_TOKENS: usize = 4096;

/// A registry's `Bearer` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Where tokens are issued.
    pub realm: Uri,
    /// The `service` to name.
    pub service: Option<String>,
    /// The scope the refused request needed, when the registry says.
    pub scope: Option<String>,
}

impl Challenge {
    /// The `Bearer` challenge among `headers`' `WWW-Authenticate` values.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(Self::parse)
    }

    /// Parses one `WWW-Authenticate` value (RFC 9110 §11.6.1): the scheme
    /// `Bearer`, then `name=value` or `name="quoted value"` parameters.
    pub fn parse(value: &str) -> Option<Self> {
        let (scheme, rest) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parameters(rest)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        let realm: Uri = get("realm")?.parse().ok()?;
        if !matches!(realm.scheme_str(), Some("http" | "https")) || realm.authority().is_none() {
            return None;
        }
        Some(Self {
            realm,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `name=value` pairs separated by commas; a quoted value may hold commas
/// and `\`-escaped characters.
fn parameters(text: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(params);
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=') {
            name.push(c);
        }
        chars.next_if_eq(&'=')?;
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        params.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

/// A token service's answer.
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// What was learned of the registry's token service.
#[derive(Debug, Clone)]
enum Service {
    /// Not asked yet.
    Unknown,
    /// The registry asks for no token.
    None,
    /// Its challenge.
    Known(Challenge),
}

/// Tokens for one registry.
#[derive(Debug)]
pub struct Tokens {
    /// Basic credentials, sent to the token service.
    basic: Option<HeaderValue>,
    /// Whether the registry is reached over TLS: credentials then never go
    /// to a realm in clear.
    upstream_https: bool,
    roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    timeout: Duration,
    service: Mutex<Service>,
    cached: Mutex<HashMap<String, (HeaderValue, Instant)>>,
    clients: Mutex<HashMap<String, Arc<HttpUpstream>>>,
}

impl Tokens {
    /// Tokens for a registry reached with `credentials` (only basic ones
    /// go to a token service) over `upstream`.
    pub fn new(
        credentials: Option<&OciCredentials>,
        upstream: &Uri,
        roots: &[rustls_pki_types::CertificateDer<'static>],
        timeout: Duration,
    ) -> Self {
        let basic = credentials
            .filter(|c| c.is_basic())
            .and_then(|c| HeaderValue::from_str(c.header_value()).ok())
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        Self {
            basic,
            upstream_https: upstream.scheme_str() == Some("https"),
            roots: roots.to_vec(),
            timeout,
            service: Mutex::new(Service::Unknown),
            cached: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The token kept for `scope`, while it is valid.
    pub fn cached(&self, scope: &str) -> Option<HeaderValue> {
        let cached = self.cached.lock().ok()?;
        let (value, until) = cached.get(scope)?;
        (Instant::now() < *until).then(|| value.clone())
    }

    /// The registry's challenge as learned: `Some(None)` when it asks for
    /// no token, `None` when not known yet.
    pub fn service(&self) -> Option<Option<Challenge>> {
        match self.service.lock().ok()?.clone() {
            Service::Unknown => None,
            Service::None => Some(None),
            Service::Known(challenge) => Some(Some(challenge)),
        }
    }

    /// Remembers what the registry said of tokens.
    pub fn learn(&self, challenge: Option<&Challenge>) {
        if let Ok(mut service) = self.service.lock() {
            *service = match challenge {
                Some(challenge) => Service::Known(challenge.clone()),
                None => Service::None,
            };
        }
    }

    /// A token for `scope` (empty: none named) from `challenge`'s realm,
    /// kept for later requests under `scope` and under `key` (the scope
    /// cragate looks it up by, [`scope_of`], when the registry words it
    /// otherwise); an error when the service refuses or answers something
    /// unusable.
    pub async fn token(
        &self,
        challenge: &Challenge,
        scope: &str,
        key: &str,
    ) -> Result<HeaderValue, GatewayError> {
        let realm = &challenge.realm;
        if realm.scheme_str() == Some("http") && self.upstream_https && self.basic.is_some() {
            return Err(refused(
                "the registry's token service is plain http: cragate does not send the registry credentials there in clear",
            ));
        }
        let client = self.client(realm)?;
        let mut query: Vec<String> = Vec::new();
        if let Some(existing) = realm.query().filter(|q| !q.is_empty()) {
            query.push(existing.to_owned());
        }
        if let Some(service) = &challenge.service {
            query.push(format!("service={}", encode(service)));
        }
        if !scope.is_empty() {
            query.push(format!("scope={}", encode(scope)));
        }
        let path = format!("{}?{}", realm.path(), query.join("&"));
        let (parts, ()) = Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(())
            .map_err(|e| GatewayError::upstream(ErrorKind::Internal(e.to_string())))?
            .into_parts();
        let extra: Vec<(HeaderName, HeaderValue)> = self
            .basic
            .iter()
            .map(|value| (header::AUTHORIZATION, value.clone()))
            .collect();
        let answer = client.forward(&parts, empty(), &[], &extra).await?;
        let status = answer.status();
        if status != StatusCode::OK {
            return Err(GatewayError::upstream(ErrorKind::Status {
                status,
                what: "a token from the registry's token service",
            }));
        }
        let limits = BodyLimits {
            limit: MAX_TOKEN_ANSWER_BYTES,
            idle: self.timeout,
            from: ErrorSource::Upstream,
        };
        let bytes = read_limited(answer.into_body(), limits, None).await?;
        let parsed: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            GatewayError::upstream(ErrorKind::Internal(format!(
                "the registry's token service answered no token: {e}"
            )))
        })?;
        let token = parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                GatewayError::upstream(ErrorKind::Internal(
                    "the registry's token service answered no token".to_owned(),
                ))
            })?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            GatewayError::upstream(ErrorKind::Internal(
                "the registry's token service answered a token that is not a header value"
                    .to_owned(),
            ))
        })?;
        value.set_sensitive(true);
        let lifetime = parsed
            .expires_in
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        let until = Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN);
        if let Ok(mut cached) = self.cached.lock() {
            if cached.len() >= MAX_CACHED_TOKENS {
                let now = Instant::now();
                cached.retain(|_, (_, until)| *until > now);
                if cached.len() >= MAX_CACHED_TOKENS {
                    cached.clear();
                }
            }
            cached.insert(scope.to_owned(), (value.clone(), until));
            if key != scope {
                cached.insert(key.to_owned(), (value.clone(), until));
            }
        }
        Ok(value)
    }

    /// The client of `realm`'s scheme and authority.
    fn client(&self, realm: &Uri) -> Result<Arc<HttpUpstream>, GatewayError> {
        let key = format!(
            "{}://{}",
            realm.scheme_str().unwrap_or("https"),
            realm.authority().map_or("", |a| a.as_str())
        );
        let mut clients = self.clients.lock().map_err(|_| {
            GatewayError::gateway(ErrorKind::Internal("token clients poisoned".to_owned()))
        })?;
        if let Some(client) = clients.get(&key) {
            return Ok(Arc::clone(client));
        }
        let base: Uri = key
            .parse()
            .map_err(|_| refused("the registry named a token service cragate cannot reach"))?;
        let client = Arc::new(HttpUpstream::with_roots(base, self.timeout, &self.roots)?);
        clients.insert(key, Arc::clone(&client));
        Ok(client)
    }
}

/// The scope a registry request needs (distribution's
/// `repository:<name>:<actions>`), from its path; empty for `/v2/`.
pub fn scope_of(path: &str, push: bool) -> String {
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    let Some(rest) = path.strip_prefix("/v2/") else {
        return String::new();
    };
    let name = ["/manifests/", "/blobs/", "/tags/", "/referrers/"]
        .iter()
        .filter_map(|marker| rest.rfind(marker))
        .max()
        .and_then(|at| rest.get(..at));
    match name {
        Some(name) if !name.is_empty() => {
            let actions = if push { "pull,push" } else { "pull" };
            format!("repository:{name}:{actions}")
        }
        _ => String::new(),
    }
}

/// The registry refused cragate's credentials, or they cannot be used.
pub fn refused(why: &'static str) -> GatewayError {
    GatewayError::upstream(ErrorKind::Internal(why.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_names_realm_service_and_scope() {
        let challenge = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/cam:pull,push""#,
        )
        .unwrap();
        assert_eq!(challenge.realm, "https://auth.example/token");
        assert_eq!(challenge.service.as_deref(), Some("registry.example"));
        assert_eq!(
            challenge.scope.as_deref(),
            Some("repository:acme/cam:pull,push")
        );
        let bare = Challenge::parse("bearer realm=https://auth.example/t").unwrap();
        assert_eq!(bare.service, None);
        for not in [
            r#"Basic realm="registry""#,
            r#"Bearer service="x""#,
            r#"Bearer realm="ftp://x/t""#,
            r#"Bearer realm="https://x/t"#,
        ] {
            assert_eq!(Challenge::parse(not), None, "{not}");
        }
    }

    #[test]
    fn scopes_name_the_repository_of_the_path() {
        assert_eq!(
            scope_of("/v2/acme/cam/manifests/v1", false),
            "repository:acme/cam:pull"
        );
        assert_eq!(
            scope_of("/v2/acme/cam/blobs/uploads/abc?_state=x", true),
            "repository:acme/cam:pull,push"
        );
        assert_eq!(
            scope_of("/v2/a/blobs/uploads/manifests/v1", false),
            "repository:a/blobs/uploads:pull"
        );
        assert_eq!(scope_of("/v2/", false), "");
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }
}
