//! The listener: accepts connections up to the connection budget, speaks
//! TLS when configured, serves HTTP/1.1 with header-size and header-time
//! budgets, and shuts down gracefully.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::Gateway;
use super::pipeline::{self, Connection};

/// hyper's smallest read buffer; the header budget cannot go below it.
pub const MIN_HEADER_BUFFER: usize = 8192;

/// Accepts and serves connections, at most as many at once as
/// `connections` has permits (shared by all workers), until `shutdown`
/// completes; then stops
/// accepting, lets requests in flight finish within the grace period, and
/// returns. Connections still open after it are cut; their uploads, which
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
                    let client_certificate = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .is_some_and(|certificates| !certificates.is_empty());
                    let info = Connection {
                        client_certificate,
                        peer: Some(peer),
                    };
                    connection(gateway, stream, info, watcher).await;
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
        async move { Ok::<_, Infallible>(pipeline::handle(gateway, info, request).await) }
    });
    let served = builder.serve_connection(TokioIo::new(stream), service);
    // Errors here are the client's connection failing (reset, timeout,
    // oversized head); the response, if any, was already sent.
    let _ = watcher.watch(served).await;
}
