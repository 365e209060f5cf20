//! A bare hyper reverse proxy: the HTTP stack cragate serves on, with none
//! of its checks. `scripts/bench-gateway` measures it in the same rounds as
//! cragate and nginx, so that the cost of the HTTP stack (hyper's server
//! and pooled client on a single-threaded tokio event loop, as in each of
//! cragate's workers) can be told apart from the cost of cragate's own
//! work (routing, hashing the listing, the verdict cache, metrics).
//!
//! `cargo run --release -p cragate --example bare_proxy -- LISTEN_ADDR UPSTREAM_BASE`
//! forwards each GET to `UPSTREAM_BASE` + path and answers with the
//! upstream's status, headers and whole body. Prints `listening on ADDR`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Upstream = Client<HttpConnector, Full<Bytes>>;

/// The upstream's answer to a GET of `uri`, or 502.
async fn forward(client: &Upstream, uri: &str) -> hyper::Response<Full<Bytes>> {
    let answer = async {
        let request = hyper::Request::get(uri).body(Full::new(Bytes::new()))?;
        let (parts, body) = client.request(request).await?.into_parts();
        let bytes = body.collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error>>(hyper::Response::from_parts(parts, Full::new(bytes)))
    };
    answer.await.unwrap_or_else(|_| {
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        response
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args
        .next()
        .expect("usage: bare_proxy LISTEN_ADDR UPSTREAM_BASE");
    let upstream = args
        .next()
        .expect("usage: bare_proxy LISTEN_ADDR UPSTREAM_BASE");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        let client: Upstream = Client::builder(TokioExecutor::new()).build(tcp);
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let client = client.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let client = client.clone();
                    let uri = format!("{upstream}{}", request.uri().path());
                    async move { Ok::<_, Infallible>(forward(&client, &uri).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
