//! The worker against a real HTTP receiver on 127.0.0.1.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::Deliverer;
use crate::http::webhook::WebhookSecret;
use crate::ledger::{Appender, LedgerStore, Query, RedbLedger, SigningKey, StoreOptions};
use crate::recall::outbox::{DeliveryState, NewDelivery, Outbox};
use crate::recall::redb_outbox::RedbOutbox;

/// What the receiver saw: path, verified webhook id.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A receiver that verifies every request with `secret` and answers by
/// path: `/ok` 200, `/gone` 410, `/busy` 503 with `Retry-After: 0` the
/// first time and 200 after, `/forged` expects another secret (so 401).
async fn receiver(secret: WebhookSecret) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let busy_once = Arc::new(Mutex::new(true));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let secret = secret.clone();
            let seen = Arc::clone(&record);
            let busy_once = Arc::clone(&busy_once);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let secret = secret.clone();
                    let seen = Arc::clone(&seen);
                    let busy_once = Arc::clone(&busy_once);
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let now = Timestamp::now().as_second();
                        let status = match secret.verify(&parts.headers, &body, now) {
                            Err(_) => StatusCode::UNAUTHORIZED,
                            Ok(id) => {
                                seen.lock().unwrap().push((parts.uri.path().to_owned(), id));
                                match parts.uri.path() {
                                    "/gone" => StatusCode::GONE,
                                    "/busy" if std::mem::take(&mut *busy_once.lock().unwrap()) => {
                                        StatusCode::SERVICE_UNAVAILABLE
                                    }
                                    _ => StatusCode::OK,
                                }
                            }
                        };
                        let mut response = Response::new(Full::new(Bytes::new()));
                        *response.status_mut() = status;
                        if status == StatusCode::SERVICE_UNAVAILABLE {
                            response
                                .headers_mut()
                                .insert("retry-after", http::HeaderValue::from_static("0"));
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (base, seen)
}

fn delivery(customer: &str, endpoint: String) -> NewDelivery {
    NewDelivery {
        notification: "lumatek-psirt/7".into(),
        customer: customer.into(),
        endpoint: Some(endpoint),
        webhook_id: format!("msg_{customer}"),
        body: r#"{"specversion":"1.0"}"#.into(),
        notice: format!("sha256:{}", "ab".repeat(32)),
        products: vec!["lumacam-c3-pro".into()],
        unreachable: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_retries_and_disables_against_a_real_receiver() {
    let secret = WebhookSecret::from_bytes(&[9; 32]);
    let (base, seen) = receiver(secret.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::load_or_create(&dir.path().join("key")).unwrap();
    let ledger: Arc<dyn LedgerStore> =
        Arc::new(RedbLedger::in_memory(key, StoreOptions::default()).unwrap());
    let appender = Arc::new(Appender::start(Arc::clone(&ledger)).unwrap());
    let outbox: Arc<dyn Outbox> = Arc::new(RedbOutbox::in_memory().unwrap());
    let mut secrets = HashMap::new();
    for customer in ["ok", "gone", "busy"] {
        secrets.insert(customer.to_owned(), secret.clone());
    }
    secrets.insert("forged".to_owned(), WebhookSecret::from_bytes(&[8; 32]));
    let wake = Arc::new(Notify::new());
    let worker = Arc::new(Deliverer::new(
        Arc::clone(&outbox),
        secrets,
        appender,
        Arc::clone(&wake),
    ));
    let task = tokio::spawn(worker.run());
    let new: Vec<NewDelivery> = ["ok", "gone", "busy", "forged"]
        .iter()
        .map(|c| delivery(c, format!("{base}/{c}")))
        .collect();
    outbox.enqueue(&new, Timestamp::now()).unwrap();
    wake.notify_one();

    let states = || -> HashMap<String, (DeliveryState, u32)> {
        outbox
            .deliveries("lumatek-psirt/7")
            .unwrap()
            .into_iter()
            .map(|d| (d.new.customer, (d.state, d.attempts)))
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = states();
        let settled = now["ok"].0 == DeliveryState::Delivered
            && now["gone"].0 == DeliveryState::Disabled
            && now["busy"].0 == DeliveryState::Delivered
            && now["forged"].1 >= 2;
        if settled {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not settled: {now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    let now = states();
    assert_eq!(now["ok"].1, 1);
    assert_eq!(now["busy"].1, 2, "503 then retried after Retry-After: 0");
    assert_eq!(now["forged"].0, DeliveryState::Pending);
    let forged = &outbox.deliveries("lumatek-psirt/7").unwrap()[3];
    assert!(
        forged.last_error.as_deref().unwrap().contains("401"),
        "{forged:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains(&("/ok".to_owned(), "msg_ok".to_owned())),
        "{seen:?}"
    );

    // The ledger: sent once per delivery that was answered, acknowledged
    // once per 2xx.
    let records = ledger.query(&Query::default()).unwrap();
    let kinds: Vec<&str> = records.iter().map(|r| r.record.body.kind()).collect();
    let sent = kinds.iter().filter(|k| **k == "notification_sent").count();
    let acked = kinds
        .iter()
        .filter(|k| **k == "notification_acknowledged")
        .count();
    assert_eq!(sent, 4, "{kinds:?}");
    assert_eq!(acked, 2, "{kinds:?}");
}
