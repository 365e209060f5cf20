//! Recall benchmark: one notice delivered to 1,000 customers' webhooks on
//! a local receiver (wall time, CPU time, memory), against plain POSTs of
//! the same bodies with the same concurrency as the baseline; and an
//! outbox of 10,000 deliveries reopened after a restart (start-up time and
//! disk), against an empty one.
//!
//! `cargo bench -p cragate --bench recall`; `RECALL_BENCH_CUSTOMERS` and
//! `RECALL_BENCH_OUTBOX` change the sizes. The receiver runs in the same
//! process (it verifies every signature, as a real one would), so the CPU
//! figures include it. Files go under the target directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use cragate::http::webhook::WebhookSecret;
use cragate::ledger::{Appender, DataDir, LedgerStore, StoreOptions};
use cragate::recall::deliver::{Deliverer, MAX_IN_FLIGHT};
use cragate::recall::outbox::{DeliveryState, NewDelivery, Outbox};
use cragate::recall::redb_outbox::RedbOutbox;

fn main() {
    let customers = env_number("RECALL_BENCH_CUSTOMERS", 1_000);
    let outbox_size = env_number("RECALL_BENCH_OUTBOX", 10_000);
    println!(
        "recall benchmark on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(fan_out(customers));
    restart(outbox_size);
}

/// A signed notice of realistic size: a DSSE envelope of about 1 KiB.
fn body(i: usize) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"msg_{i}","source":"urn:cragate:recall","type":"eu.cragate.halt.v1","datacontenttype":"application/json","data":{{"payload":"{}","payloadType":"application/vnd.cragate.halt.v1+json","signatures":[{{"sig":"{}"}}]}}}}"#,
        "A".repeat(900),
        "B".repeat(88)
    )
}

fn secret(i: usize) -> WebhookSecret {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
    WebhookSecret::from_bytes(&bytes)
}

/// A receiver that verifies each request with the secret of the customer
/// its path names and answers 204.
async fn receiver(customers: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let secrets: Arc<Vec<WebhookSecret>> = Arc::new((0..customers).map(secret).collect());
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let secrets = Arc::clone(&secrets);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let secrets = Arc::clone(&secrets);
                    let counter = Arc::clone(&counter);
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let i: usize = parts
                            .uri
                            .path()
                            .rsplit('/')
                            .next()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0);
                        let status = if parts.headers.contains_key("webhook-signature") {
                            let now = Timestamp::now().as_second();
                            match secrets[i].verify(&parts.headers, &body, now) {
                                Ok(_) => StatusCode::NO_CONTENT,
                                Err(_) => StatusCode::UNAUTHORIZED,
                            }
                        } else {
                            StatusCode::NO_CONTENT
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        let mut response = Response::new(Full::new(Bytes::new()));
                        *response.status_mut() = status;
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (base, count)
}

async fn fan_out(customers: usize) {
    let (base, received) = receiver(customers).await;

    // Baseline: the same bodies POSTed with the same concurrency by a
    // plain hyper client: no outbox, no signing, no ledger.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let gate = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut tasks = Vec::new();
    for i in 0..customers {
        let client = client.clone();
        let gate = Arc::clone(&gate);
        let uri = format!("{base}/c/{i}");
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let request = Request::post(uri)
                .body(Full::new(Bytes::from(body(i))))
                .unwrap();
            let response = client.request(request).await.unwrap();
            let _ = response.into_body().collect().await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (plain_wall, plain_cpu) = (t0.elapsed(), cpu_seconds() - cpu0);
    received.store(0, Ordering::Relaxed);

    // The outbox: enqueue (one commit), deliver, record on the ledger.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let data = DataDir::new(dir.path());
    let ledger: Arc<dyn LedgerStore> = Arc::new(data.open(StoreOptions::default()).unwrap());
    let appender = Arc::new(Appender::start(Arc::clone(&ledger)).unwrap());
    let outbox: Arc<dyn Outbox> =
        Arc::new(RedbOutbox::open(&dir.path().join("recall.redb")).unwrap());
    let secrets: HashMap<String, WebhookSecret> = (0..customers)
        .map(|i| (format!("c{i}"), secret(i)))
        .collect();
    let wake = Arc::new(Notify::new());
    let worker = Arc::new(Deliverer::new(
        Arc::clone(&outbox),
        secrets,
        appender,
        Arc::clone(&wake),
    ));
    let new: Vec<NewDelivery> = (0..customers)
        .map(|i| NewDelivery {
            notification: "lumatek-psirt/7".into(),
            customer: format!("c{i}"),
            endpoint: Some(format!("{base}/c/{i}")),
            webhook_id: format!("msg_{i}"),
            body: body(i),
            notice: format!("sha256:{}", "ab".repeat(32)),
            products: vec!["lumacam-c3-pro".into()],
            unreachable: false,
        })
        .collect();
    let rss0 = status_kib("VmRSS");
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let task = tokio::spawn(worker.run());
    outbox.enqueue(&new, Timestamp::now()).unwrap();
    wake.notify_one();
    loop {
        let done = outbox
            .deliveries("lumatek-psirt/7")
            .unwrap()
            .iter()
            .filter(|d| d.state == DeliveryState::Delivered)
            .count();
        if done == customers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (wall, cpu) = (t0.elapsed(), cpu_seconds() - cpu0);
    task.abort();
    let rss1 = status_kib("VmRSS");
    assert_eq!(received.load(Ordering::Relaxed), customers);
    println!(
        "baseline, {customers} plain POSTs: {:.1} ms wall, {:.1} ms CPU ({:.0} us CPU each)",
        ms(plain_wall),
        plain_cpu * 1e3,
        plain_cpu * 1e6 / customers as f64
    );
    println!(
        "outbox, one notice to {customers} webhooks (signed, acknowledged, {} ledger entries): {:.1} ms wall, {:.1} ms CPU ({:.0} us CPU each); {:.1}x the baseline's wall time, {:.1}x its CPU",
        2 * customers,
        ms(wall),
        cpu * 1e3,
        cpu * 1e6 / customers as f64,
        wall.as_secs_f64() / plain_wall.as_secs_f64(),
        cpu / plain_cpu.max(0.01),
    );
    println!(
        "memory: RSS {rss0} KiB before, {rss1} KiB after (+{} KiB), peak {} KiB",
        rss1.saturating_sub(rss0),
        status_kib("VmHWM")
    );
}

fn restart(size: usize) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let empty = dir.path().join("empty.redb");
    drop(RedbOutbox::open(&empty).unwrap());
    let path = dir.path().join("recall.redb");
    {
        let outbox = RedbOutbox::open(&path).unwrap();
        let now = Timestamp::now();
        for start in (0..size).step_by(1_000) {
            let batch: Vec<NewDelivery> = (start..(start + 1_000).min(size))
                .map(|i| NewDelivery {
                    notification: format!("issuer/{}", i / 100),
                    customer: format!("c{}", i % 100),
                    endpoint: Some(format!("http://127.0.0.1:9/c/{i}")),
                    webhook_id: format!("msg_{i}"),
                    body: body(i),
                    notice: format!("sha256:{}", "ab".repeat(32)),
                    products: vec!["lumacam-c3-pro".into()],
                    unreachable: false,
                })
                .collect();
            outbox.enqueue(&batch, now).unwrap();
        }
    }
    let open = |path: &std::path::Path| {
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        let outbox = RedbOutbox::open(path).unwrap();
        let next = outbox.next_due().unwrap();
        let due = outbox.due(Timestamp::now(), 512).unwrap();
        (
            t0.elapsed(),
            cpu_seconds() - cpu0,
            next.is_some(),
            due.len(),
        )
    };
    let (base_wall, _, _, _) = open(&empty);
    let (wall, cpu, has_next, due) = open(&path);
    assert!(has_next && due == 512.min(size));
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "restart: empty outbox open in {:.2} ms; {size} deliveries open and first {due} due read in {:.2} ms wall ({:.0} ms CPU, 10 ms ticks), {:.1}x; file {bytes} bytes, {:.0} bytes/delivery",
        ms(base_wall),
        ms(wall),
        cpu * 1e3,
        wall.as_secs_f64() / base_wall.as_secs_f64().max(1e-9),
        bytes as f64 / size as f64
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `/proc/self/status` field in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time of this process so far (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
