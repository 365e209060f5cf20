//! The listener: accepts connections up to the connection budget, speaks
//! TLS when configured, serves HTTP/1.1 with header-size and header-time
//! budgets (and HTTP/2 when a TLS client chose it by ALPN, with a stream,
//! header-size and idle budget), and shuts down gracefully. Every
//! connection's writes keep the minimum pace ([`PacedIo`]): a client that
//! stops reading a response loses its connection after `send_timeout`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::http::body::{Body, BodyError};
use crate::http::limits::MIN_HEADER_BUFFER;
use crate::http::pace::{Pace, PacedIo};
use crate::pipeline::{Connection, Gateway};
use crate::routes;

/// Accepts and serves connections, at most as many at once as
/// `connections` has permits (shared by all workers), until `shutdown`
/// completes; then stops accepting, lets requests in flight finish within
/// the grace period, and returns. Connections still open after it are cut; their uploads, which
/// only ever live in temporary files, are discarded.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    connections: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&connections).acquire_owned() => permit?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly.
                    eprintln!("cragate: accept failed: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // Below TLS, so that every write (handshake included) keeps the pace.
        let stream = PacedIo::new(stream, Pace::of(&gateway.config.limits));
        let watcher = graceful.watcher();
        let gateway = Arc::clone(&gateway);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => {
                    let info = Connection {
                        client_certificate: false,
                        peer: Some(peer),
                    };
                    connection(gateway, stream, info, watcher).await;
                }
                Some(acceptor) => {
                    let timeout = gateway.config.limits.header_timeout;
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let session = stream.get_ref().1;
                    let client_certificate = session
                        .peer_certificates()
                        .is_some_and(|certificates| !certificates.is_empty());
                    let http2 = session.alpn_protocol() == Some(b"h2".as_slice());
                    let info = Connection {
                        client_certificate,
                        peer: Some(peer),
                    };
                    if http2 {
                        connection_h2(gateway, stream, info, watcher).await;
                    } else {
                        connection(gateway, stream, info, watcher).await;
                    }
                }
            }
        });
    }
    drop(listener);
    let grace = gateway.config.limits.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("cragate: grace period over; cutting the remaining connections");
    }
    Ok(())
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = terminate => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

async fn connection<S>(gateway: Arc<Gateway>, stream: S, info: Connection, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &gateway.config.limits;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BUFFER))
        .keep_alive(true);
    let service_gateway = Arc::clone(&gateway);
    let service = service_fn(move |request| {
        let gateway = Arc::clone(&service_gateway);
        async move { Ok::<_, Infallible>(routes::handle(gateway, info, request).await) }
    });
    let served = builder.serve_connection(TokioIo::new(stream), service);
    // Errors here are the client's connection failing (reset, timeout,
    // oversized head); the response, if any, was already sent.
    let _ = watcher.watch(served).await;
}

/// Serves an HTTP/2 connection (negotiated by ALPN over TLS). Requests go
/// through the same pipeline as on HTTP/1.1. Budgets: at most
/// `max_streams_per_connection` requests at once, headers of at most
/// `max_header_bytes`, pings to find dead peers, and the connection is
/// closed once it has had no request in flight for `header_timeout` (the
/// same time an idle HTTP/1.1 connection gets), including a client that
/// never sends its preface.
async fn connection_h2<S>(gateway: Arc<Gateway>, stream: S, info: Connection, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &gateway.config.limits;
    let idle_limit = limits.header_timeout;
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams_per_connection)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(idle_limit)
        .keep_alive_timeout(idle_limit);
    let activity = Arc::new(Activity::new());
    let service_gateway = Arc::clone(&gateway);
    let service_activity = Arc::clone(&activity);
    let service = service_fn(move |request| {
        let gateway = Arc::clone(&service_gateway);
        // Counted from the moment hyper hands the request over until its
        // response body is done or dropped.
        let in_flight = InFlight::begin(Arc::clone(&service_activity));
        async move {
            let response = routes::handle(gateway, info, request).await;
            Ok::<_, Infallible>(response.map(|body| {
                InFlightBody {
                    inner: body,
                    _in_flight: in_flight,
                }
                .boxed_unsync()
            }))
        }
    });
    let served = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        // Errors are the client's connection failing; see `connection`.
        _ = served => {},
        // Dropping the connection closes it; no request was in flight.
        () = activity.idle_for(idle_limit) => {},
    }
}

/// Requests in flight on one connection, and since when it has had none.
#[derive(Debug)]
struct Activity {
    state: std::sync::Mutex<(usize, tokio::time::Instant)>,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: std::sync::Mutex::new((0, tokio::time::Instant::now())),
        }
    }

    /// How long the connection has had no request in flight; `None` while
    /// one is.
    fn idle(&self) -> Option<Duration> {
        let state = self.state.lock().ok()?;
        (state.0 == 0).then(|| state.1.elapsed())
    }

    /// Completes once no request has been in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let wait = match self.idle() {
                Some(idle) if idle >= limit => return,
                Some(idle) => limit.saturating_sub(idle),
                None => limit,
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// One request in flight; dropping it ends it.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> Self {
        if let Ok(mut state) = activity.state.lock() {
            state.0 = state.0.saturating_add(1);
        }
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.0 = state.0.saturating_sub(1);
            state.1 = tokio::time::Instant::now();
        }
    }
}

/// A response body that keeps its request counted as in flight until the
/// body is done or dropped.
#[derive(Debug)]
struct InFlightBody {
    inner: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for InFlightBody {
    type Data = bytes::Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
