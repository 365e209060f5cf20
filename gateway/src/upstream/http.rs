//! An HTTP(S) catalog upstream. Requests that pass are forwarded as they
//! came (method, path and query, headers less the hop-by-hop ones, body),
//! with `Host` set to the upstream's authority. Failures to connect give
//! 502, no answer within the upstream timeout gives 504.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thread_local::ThreadLocal;

use crate::server::body::Body;
use crate::server::error::GatewayError;

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
    /// `Host` of forwarded requests: the upstream's authority.
    host: Option<HeaderValue>,
    timeout: Duration,
}

impl HttpUpstream {
    /// A client for `base` (scheme and authority).
    pub fn new(base: Uri, timeout: Duration) -> Result<Self, GatewayError> {
        // Small requests and answers go out at once, as nginx's
        // `tcp_nodelay` does for keep-alive connections.
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let host = base
            .authority()
            .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok());
        Ok(Self {
            host,
            base,
            connector,
            clients: ThreadLocal::new(),
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

    /// Forwards a request with `body`, leaving out the `drop` headers too.
    pub async fn forward(
        &self,
        parts: &Parts,
        body: Body,
        drop: &[HeaderName],
        extra: &[(HeaderName, HeaderValue)],
    ) -> Result<Response<Incoming>, GatewayError> {
        let mut uri = http::uri::Parts::default();
        uri.scheme = self.base.scheme().cloned();
        uri.authority = self.base.authority().cloned();
        uri.path_and_query = Some(
            parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        let uri = Uri::from_parts(uri)
            .map_err(|e| GatewayError::BadRequest(format!("cannot forward this path: {e}")))?;
        let mut request = Request::builder()
            .method(parts.method.clone())
            .uri(uri)
            .body(body)
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        *request.headers_mut() = forwarded_headers(&parts.headers, drop);
        for (name, value) in extra {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        if let Some(host) = &self.host {
            request.headers_mut().insert(header::HOST, host.clone());
        }
        match tokio::time::timeout(self.timeout, self.client().request(request)).await {
            Err(_) => Err(GatewayError::UpstreamTimeout),
            Ok(Err(error)) => Err(GatewayError::UpstreamUnavailable(error.to_string())),
            Ok(Ok(response)) => Ok(response),
        }
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
