//! A distributor that cannot expose an endpoint pulls its supplier's feed
//! (`[[suppliers]] feed = URL`): two real gateways, the customer polling
//! the supplier's `GET /v1/notifications/feed`. The halt is in force at the
//! customer, its poll is the acknowledgement on the supplier's ledger, and
//! a lift ends it. A hostile feed (a test double) changes nothing with a
//! forged item and does not hold up the real halt after it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Value, json};

use crate::halt_util::{Algorithm, lift, notice, openssl_key, sign};
use crate::recall_chain::{
    ISSUER, PRODUCT, acknowledged, admin_post, eventually, in_force, policy, secret, start,
    supplied,
};

const FEED_TOKEN: &str = "feed-token-reseller-0123456789abcdef0123456789";

fn token_file(dir: &Path) -> String {
    let path = dir.join("reseller.feed-token");
    std::fs::write(&path, format!("{FEED_TOKEN}\n")).unwrap();
    path.display().to_string()
}

/// `[[suppliers]]` whose notifications this gateway pulls from `feed`.
fn pulling_from(id: &str, feed: &str, secret: &Path, token: &str) -> String {
    format!(
        "[[suppliers]]\nid = {id:?}\nsecret_file = {:?}\nfeed = {feed:?}\nfeed_token_file = {token:?}\nfeed_interval_ms = 100\n",
        secret.display().to_string()
    )
}

#[test]
fn a_customer_that_pulls_gets_the_halt_and_its_poll_is_the_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let manufacturer = openssl_key(dir.path(), "manufacturer", Algorithm::Ed25519);
    let policy = policy(dir.path(), &manufacturer);
    let shared = secret(dir.path(), "dist-res", 4);
    let token = token_file(dir.path());
    let distributor = start(
        dir.path(),
        "distributor",
        &policy,
        &format!(
            "[[customers]]\nid = \"reseller\"\nsecret_file = {:?}\nfeed_token_file = {token:?}\n",
            shared.display().to_string()
        ),
    );
    supplied(&distributor, "reseller");
    let reseller = start(
        dir.path(),
        "reseller",
        &policy,
        &pulling_from(
            "distributor",
            &distributor.url("/v1/notifications/feed"),
            &shared,
            &token,
        ),
    );

    let mut halt = notice(ISSUER, 7, "halt", &[PRODUCT]);
    halt["scope"]["versions"] = json!("<4.0.0");
    let reply = admin_post(
        &distributor,
        "/v1/halts",
        &sign(dir.path(), &manufacturer, &halt),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    eventually("the halt at the reseller", || {
        in_force(&reseller).len() == 1
    });
    let held = &in_force(&reseller)[0];
    assert_eq!(held["received"], json!({"from_supplier": "distributor"}));
    eventually("the reseller's poll acknowledging it upstream", || {
        acknowledged(&distributor, "reseller", 1)
    });
    let shown = distributor.admin(&format!("/v1/halts/{ISSUER}/7")).json();
    assert_eq!(shown["deliveries"][0]["customer"], "reseller", "{shown}");
    assert_eq!(shown["deliveries"][0]["state"], "delivered", "{shown}");
    let sent: Vec<Value> = distributor
        .ledger()
        .into_iter()
        .filter(|r| r["body"]["kind"] == "notification_sent")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["body"]["endpoint"], "feed:/v1/notifications/feed");

    let lift = sign(
        dir.path(),
        &manufacturer,
        &lift(ISSUER, 8, &[7], &[PRODUCT]),
    );
    let reply = admin_post(&distributor, "/v1/halts", &lift);
    assert_eq!(reply.status, 201, "{reply:?}");
    eventually("the lift at the reseller", || {
        in_force(&reseller).is_empty()
    });
    eventually("the lift's acknowledgement upstream", || {
        acknowledged(&distributor, "reseller", 2)
    });
    // The reseller's own ledger: the two notices it put in force, once each.
    let notices = reseller
        .ledger()
        .into_iter()
        .filter(|r| r["body"]["kind"] == "halt_notice")
        .count();
    assert_eq!(notices, 2);
}

/// A feed served by the test: `page(after)` is the JSON answered to
/// `?after=N`; every `after` asked for is kept.
struct FeedDouble {
    url: String,
    asked: Arc<Mutex<Vec<u64>>>,
}

impl FeedDouble {
    fn start(page: impl Fn(u64) -> String + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/v1/notifications/feed",
            listener.local_addr().unwrap()
        );
        let asked = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&asked);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                while let Some(line) = read_head(&mut reader) {
                    let after = line
                        .split_once("after=")
                        .and_then(|(_, rest)| rest.split(' ').next())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    kept.lock().unwrap().push(after);
                    let body = page(after);
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if writer.write_all(answer.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        Self { url, asked }
    }

    fn asked(&self) -> Vec<u64> {
        self.asked.lock().unwrap().clone()
    }
}

/// The request line of a GET, its headers skipped.
fn read_head(reader: &mut impl BufRead) -> Option<String> {
    crate::serve_util::read_request(reader)
}

/// A CloudEvent carrying `signed` as a feed item `seq`, signed now with
/// `key` as the supplier's Standard Webhooks secret.
fn item(seq: u64, id: &str, signed: &Value, key: &[u8]) -> Value {
    let body = json!({"specversion": "1.0", "id": id, "source": "urn:test",
        "type": "eu.cragate.halt.v1", "data": signed})
    .to_string();
    let at = jiff::Timestamp::now().as_second();
    let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(&hmac, format!("{id}.{at}.{body}").as_bytes());
    let signature = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    );
    json!({"seq": seq, "webhook_id": id, "webhook_timestamp": at,
        "webhook_signature": signature, "body": body})
}

#[test]
fn a_forged_feed_item_changes_nothing_and_does_not_hold_up_the_halt_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let manufacturer = openssl_key(dir.path(), "manufacturer", Algorithm::Ed25519);
    let policy = policy(dir.path(), &manufacturer);
    let shared = secret(dir.path(), "dist-res", 5);
    let token = token_file(dir.path());

    // Item 1: the manufacturer's notice altered after signing (its issuer
    // signature no longer verifies), properly signed by the supplier.
    // Item 2: a real notice of its own, but signed with a secret that is
    // not the supplier's. Item 3: a real halt.
    let mut altered: Value = serde_json::from_slice(&sign(dir.path(), &manufacturer, &{
        let mut n = notice(ISSUER, 3, "halt", &[PRODUCT]);
        n["scope"]["versions"] = json!("<4.0.0");
        n
    }))
    .unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let payload = engine.decode(altered["payload"].as_str().unwrap()).unwrap();
    let changed = String::from_utf8(payload)
        .unwrap()
        .replace("actively exploited", "harmless, ignore");
    altered["payload"] = json!(engine.encode(changed));
    let mut real = notice(ISSUER, 7, "halt", &[PRODUCT]);
    real["scope"]["versions"] = json!("<4.0.0");
    let real: Value = serde_json::from_slice(&sign(dir.path(), &manufacturer, &real)).unwrap();
    let mut other = notice(ISSUER, 5, "halt", &[PRODUCT]);
    other["scope"]["versions"] = json!("<4.0.0");
    let other: Value = serde_json::from_slice(&sign(dir.path(), &manufacturer, &other)).unwrap();
    let key = [5u8; 32];
    let feed = FeedDouble::start(move |after| {
        let items: Vec<Value> = [
            item(1, "msg_altered", &altered, &key),
            item(2, "msg_wrong_secret", &other, &[6; 32]),
            item(3, "msg_real", &real, &key),
        ]
        .into_iter()
        .filter(|i| i["seq"].as_u64().unwrap() > after)
        .collect();
        json!({"notifications": items, "next": 3}).to_string()
    });
    let reseller = start(
        dir.path(),
        "reseller",
        &policy,
        &pulling_from("distributor", &feed.url, &shared, &token),
    );
    eventually("the real halt behind the forged items", || {
        in_force(&reseller).len() == 1
    });
    let held = &in_force(&reseller)[0];
    assert_eq!(held["sequence"], 7, "{held}: items 1 and 2 must be refused");
    let kinds: Vec<String> = reseller
        .ledger()
        .iter()
        .map(|r| r["body"]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec!["halt_notice"],
        "only the real notice is recorded"
    );
    // A few more rounds: the cursor never passes the refused first item,
    // so the feed is asked from the start every time.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let asked = feed.asked();
    assert!(asked.len() >= 3, "{asked:?}");
    assert!(asked.iter().all(|after| *after == 0), "{asked:?}");
    assert_eq!(in_force(&reseller).len(), 1);
}
