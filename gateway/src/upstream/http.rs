//! An HTTP(S) catalog upstream. Requests that pass are forwarded as they
//! came (method, path and query, headers less the hop-by-hop ones and the
//! client's `Authorization`, body),
//! with `Host` set to the upstream's authority. Failures to connect give
//! 502, no answer within the upstream timeout gives 504.

use std::cell::RefCell;
use std::time::Duration;

use bytes::Bytes;

use cragate_verifier::Digest;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use thread_local::ThreadLocal;
use tokio::net::TcpStream;

use crate::http::body::{Body, BodyLimits, empty, read_limited};
use crate::http::budget::Reservation;
use crate::http::error::{Cause, ErrorKind, ErrorSource, GatewayError};
use crate::http::pace::Pace;
use crate::upstream::verified::VerifiedBody;

/// Headers that belong to one connection and are never forwarded
/// (RFC 9110, section 7.6.1).
fn hop_by_hop() -> [HeaderName; 9] {
    [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        HeaderName::from_static("proxy-connection"),
    ]
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Body>;

/// Idle connections each worker thread keeps for [`HttpUpstream::fetch`]:
/// as many as reads it had in flight at once, up to this. Nothing watches
/// an idle connection, so one the upstream closed is found out (and
/// replaced) when next used.
const MAX_IDLE_PER_THREAD: usize = 32;

/// A connection of [`HttpUpstream::fetch`]: the request side and the
/// future that drives the connection, polled by whoever uses it.
struct InlineConnection {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    connection: hyper::client::conn::http1::Connection<MaybeHttpsStream<TokioIo<TcpStream>>, Body>,
}

impl std::fmt::Debug for InlineConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineConnection").finish_non_exhaustive()
    }
}

/// Why an exchange of [`HttpUpstream::fetch`] failed: the connection
/// (worth one retry on a new one when it was a kept one), or anything else.
enum Failure {
    Connection(Cause),
    Other(GatewayError),
}

impl Failure {
    fn into_error(self) -> GatewayError {
        match self {
            Self::Connection(cause) => unreachable(cause),
            Self::Other(error) => error,
        }
    }
}

/// The upstream cannot be reached, or the exchange broke off.
fn unreachable(cause: impl Into<Cause>) -> GatewayError {
    GatewayError::upstream(ErrorKind::Unreachable(cause.into()))
}

/// An HTTP upstream.
///
/// Each worker thread has its own client and so its own pool of upstream
/// connections: a connection's task runs on the event loop that opened it,
/// and a request never waits on another thread's loop.
#[derive(Debug)]
pub struct HttpUpstream {
    base: Uri,
    connector: HttpsConnector<HttpConnector>,
    clients: ThreadLocal<HttpClient>,
    /// Each worker thread's idle connections for [`Self::fetch`].
    idle: ThreadLocal<RefCell<Vec<InlineConnection>>>,
    /// `Host` of forwarded requests: the upstream's authority.
    host: Option<HeaderValue>,
    timeout: Duration,
}

impl HttpUpstream {
    /// A client for `base` (scheme and authority).
    pub fn new(base: Uri, timeout: Duration) -> Result<Self, GatewayError> {
        Self::with_roots(base, timeout, &[])
    }

    /// A client for `base` that trusts `extra` CA certificates besides the
    /// Web PKI roots.
    pub fn with_roots(
        base: Uri,
        timeout: Duration,
        extra: &[rustls_pki_types::CertificateDer<'static>],
    ) -> Result<Self, GatewayError> {
        // Small requests and answers go out at once, as nginx's
        // `tcp_nodelay` does for keep-alive connections.
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let connector = if extra.is_empty() {
            HttpsConnectorBuilder::new()
                .with_webpki_roots()
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp)
        } else {
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            for certificate in extra {
                roots.add(certificate.clone()).map_err(|e| {
                    GatewayError::gateway(ErrorKind::Internal(format!(
                        "a CA certificate cannot be trusted: {e}"
                    )))
                })?;
            }
            let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp)
        };
        let host = base
            .authority()
            .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok());
        Ok(Self {
            host,
            base,
            connector,
            clients: ThreadLocal::new(),
            idle: ThreadLocal::new(),
            timeout,
        })
    }

    /// This thread's client.
    fn client(&self) -> &HttpClient {
        self.clients.get_or(|| {
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(60))
                .build(self.connector.clone())
        })
    }

    /// The base URI.
    pub fn base(&self) -> &Uri {
        &self.base
    }

    /// The request to forward: `parts`' method, path and headers less the
    /// hop-by-hop ones and `drop`, plus `extra`, with the upstream's
    /// `Host`; the URI in absolute form for the pooled client, in origin
    /// form for a connection of [`Self::fetch`].
    fn request(
        &self,
        parts: &Parts,
        body: Body,
        drop: &[HeaderName],
        extra: &[(HeaderName, HeaderValue)],
        absolute: bool,
    ) -> Result<Request<Body>, GatewayError> {
        let mut uri = http::uri::Parts::default();
        if absolute {
            uri.scheme = self.base.scheme().cloned();
            uri.authority = self.base.authority().cloned();
        }
        uri.path_and_query = Some(
            parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        let uri = Uri::from_parts(uri)
            .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
        let mut request = Request::builder()
            .method(parts.method.clone())
            .uri(uri)
            .body(body)
            .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
        let mut headers = forwarded_headers(&parts.headers, drop);
        // The client's credentials are the gateway's (the admin token) or
        // nobody's business upstream: never forwarded.
        headers.remove(header::AUTHORIZATION);
        *request.headers_mut() = headers;
        for (name, value) in extra {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        if let Some(host) = &self.host {
            request.headers_mut().insert(header::HOST, host.clone());
        }
        Ok(request)
    }

    /// Forwards a request with `body`, leaving out the `drop` headers too.
    pub async fn forward(
        &self,
        parts: &Parts,
        body: Body,
        drop: &[HeaderName],
        extra: &[(HeaderName, HeaderValue)],
    ) -> Result<Response<Incoming>, GatewayError> {
        let request = self.request(parts, body, drop, extra, true)?;
        match tokio::time::timeout(self.timeout, self.client().request(request)).await {
            Err(_) => Err(GatewayError::upstream(ErrorKind::Timeout)),
            Ok(Err(error)) => Err(unreachable(error)),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// Forwards an upload whose `body` streams from a client (a
    /// [`crate::http::body::relayed_upload`]): the upload itself is bounded
    /// by that body's own idle and pace limits, and the upstream has the
    /// upstream timeout to answer from when `done` is told the body ended.
    pub async fn forward_upload(
        &self,
        parts: &Parts,
        body: Body,
        extra: &[(HeaderName, HeaderValue)],
        done: &tokio::sync::Notify,
    ) -> Result<Response<Incoming>, GatewayError> {
        let request = self.request(parts, body, &[], extra, true)?;
        let exchange = self.client().request(request);
        let answer_due = async {
            done.notified().await;
            tokio::time::sleep(self.timeout).await;
        };
        tokio::select! {
            result = exchange => result.map_err(|error| client_body_failure(&error).unwrap_or_else(|| unreachable(error))),
            () = answer_due => Err(GatewayError::upstream(ErrorKind::Timeout)),
        }
    }

    /// Downloads the artifact `digest` the request names: the whole
    /// object (range, validator and encoding headers are not forwarded: a
    /// part of it could not be verified), which must have one of `sizes`
    /// (the ones current accepted listings declare), as a [`VerifiedBody`]
    /// that fails unless the bytes hash to `digest`, with at most the
    /// upstream timeout between two pieces and the whole within `pace`.
    /// `404` is not found; any other status but `200`, or a length no
    /// listing declares, is the upstream's failure.
    pub async fn download(
        &self,
        parts: &Parts,
        digest: Digest,
        sizes: &[u64],
        pace: Pace,
    ) -> Result<VerifiedBody, GatewayError> {
        let drop: [HeaderName; 7] = [
            header::RANGE,
            header::IF_RANGE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::IF_UNMODIFIED_SINCE,
            header::ACCEPT_ENCODING,
        ];
        let answer = self.forward(parts, empty(), &drop, &[]).await?;
        match answer.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(GatewayError::client(ErrorKind::NotFound)),
            status => {
                return Err(GatewayError::upstream(ErrorKind::Status {
                    status,
                    what: "an artifact",
                }));
            }
        }
        let length = answer
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let size = match (length, sizes) {
            (Some(length), _) if sizes.contains(&length) => length,
            (None, [only]) => *only,
            (actual, _) => {
                let actual = actual.unwrap_or(0);
                let expected = sizes
                    .iter()
                    .copied()
                    .min_by_key(|size| size.abs_diff(actual))
                    .unwrap_or(0);
                return Err(GatewayError::upstream(ErrorKind::SizeMismatch {
                    expected,
                    actual,
                }));
            }
        };
        let deadline = pace.deadline(tokio::time::Instant::now(), size);
        Ok(
            VerifiedBody::new(answer.into_body(), digest, (size, 0, size), self.timeout)
                .within(deadline),
        )
    }

    /// Asks for a document the gateway reads whole before answering (a
    /// listing, a catalog page) with the request's method and path and no
    /// body, leaving out the `drop` headers too: the answer's head and at
    /// most `limit` bytes of body, held of the listing budget by `held`.
    ///
    /// Unlike [`Self::forward`], the exchange is driven by the calling
    /// task on a connection kept by this worker thread, with no task of
    /// the connection's own: a read costs no hand-over between tasks. A
    /// kept connection the upstream has closed meanwhile is retried once
    /// on a new one when the method may be repeated (GET may).
    pub async fn fetch(
        &self,
        parts: &Parts,
        drop: &[HeaderName],
        limit: u64,
        held: &mut Reservation,
    ) -> Result<(http::response::Parts, Bytes), GatewayError> {
        let exchange = async {
            let kept = self.idle.get_or_default().borrow_mut().pop();
            // A rule may name any method for a read; only one that may be
            // repeated (RFC 9110, 9.2.2) is sent twice.
            let retry = kept.is_some() && parts.method.is_idempotent();
            let connection = match kept {
                Some(connection) => connection,
                None => self.connect().await?,
            };
            match self.exchange(connection, parts, drop, limit, held).await {
                Err(Failure::Connection(_)) if retry => {
                    let connection = self.connect().await?;
                    self.exchange(connection, parts, drop, limit, held)
                        .await
                        .map_err(Failure::into_error)
                }
                other => other.map_err(Failure::into_error),
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(GatewayError::upstream(ErrorKind::Timeout)))
    }

    /// A new connection for [`Self::fetch`].
    async fn connect(&self) -> Result<InlineConnection, GatewayError> {
        let mut connector = self.connector.clone();
        let io = tower_service::Service::call(&mut connector, self.base.clone())
            .await
            .map_err(unreachable)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(unreachable)?;
        Ok(InlineConnection { sender, connection })
    }

    /// One GET on `connection`, which goes back to this thread's idle
    /// connections when the exchange leaves it usable.
    async fn exchange(
        &self,
        mut connection: InlineConnection,
        parts: &Parts,
        drop: &[HeaderName],
        limit: u64,
        held: &mut Reservation,
    ) -> Result<(http::response::Parts, Bytes), Failure> {
        let request = self
            .request(parts, empty(), drop, &[], false)
            .map_err(Failure::Other)?;
        // The exchange borrows the connection; it ends before the
        // connection is kept or dropped.
        let result = {
            let InlineConnection {
                sender,
                connection: driver,
            } = &mut connection;
            let work = async {
                sender
                    .ready()
                    .await
                    .map_err(|e| Failure::Connection(e.into()))?;
                let answer = sender
                    .send_request(request)
                    .await
                    .map_err(|e| Failure::Connection(e.into()))?;
                let (head, body) = answer.into_parts();
                let limits = BodyLimits {
                    limit,
                    idle: self.timeout,
                    from: ErrorSource::Upstream,
                };
                let bytes = read_limited(body, limits, Some(held))
                    .await
                    .map_err(Failure::Other)?;
                Ok((head, bytes))
            };
            let mut work = std::pin::pin!(work);
            tokio::select! {
                biased;
                result = &mut work => result,
                // The connection ended: the answer may have come whole
                // before it (an upstream that closes after answering);
                // whatever is still missing can no longer come.
                _ = driver => futures_util::FutureExt::now_or_never(&mut work)
                    .unwrap_or_else(|| Err(Failure::Connection(
                        "the upstream closed the connection".into(),
                    ))),
            }
        };
        if result.is_ok() && !connection.sender.is_closed() {
            let mut idle = self.idle.get_or_default().borrow_mut();
            if idle.len() < MAX_IDLE_PER_THREAD {
                idle.push(connection);
            }
        }
        result
    }

    /// Whether the upstream accepts a TCP connection within the timeout.
    pub async fn reachable(&self) -> bool {
        let Some(authority) = self.base.authority() else {
            return false;
        };
        let port = authority
            .port_u16()
            .unwrap_or(match self.base.scheme_str() {
                Some("https") => 443,
                _ => 80,
            });
        let connect = tokio::net::TcpStream::connect((authority.host(), port));
        matches!(tokio::time::timeout(self.timeout, connect).await, Ok(Ok(_)))
    }
}

/// The client's failure behind an upstream request that failed because
/// the body streaming from the client did (too slow, too large, broken):
/// the client's error, not the upstream's.
fn client_body_failure(error: &(dyn std::error::Error + 'static)) -> Option<GatewayError> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(failure) = error.downcast_ref::<GatewayError>()
            && failure.source() == ErrorSource::Client
        {
            return Some(GatewayError::client(match failure.kind() {
                ErrorKind::TooLarge { limit } => ErrorKind::TooLarge { limit: *limit },
                ErrorKind::Timeout => ErrorKind::Timeout,
                _ => ErrorKind::BadRequest(failure.to_string()),
            }));
        }
        current = error.source();
    }
    None
}

/// The headers of `headers` that may cross the proxy: hop-by-hop ones and
/// those the `Connection` header names are left out, as are `drop`.
pub fn forwarded_headers(headers: &HeaderMap, drop: &[HeaderName]) -> HeaderMap {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut out = headers.clone();
    for name in hop_by_hop().iter().chain(&named).chain(drop) {
        out.remove(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::RANGE, HeaderValue::from_static("bytes=0-1"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let out = forwarded_headers(&headers, &[header::RANGE]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out.contains_key(header::CONTENT_TYPE));
    }
}
