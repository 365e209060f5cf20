//! Propagation down a chain of three real gateways on one machine:
//! importer -> distributor -> reseller, each the next one's supplier. A
//! manufacturer's signed halt entered at the importer is in force at all
//! three, each acknowledgement is on the upstream's ledger, and a signed
//! lift ends it at all three. Forged and stale webhooks change nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::halt_util::{
    Algorithm, KeyPair, app_store_policy_with, halt_issuers, lift, notice, openssl_key, sign,
};
use crate::serve_util::{ADMIN_TOKEN, Gateway, Reply, send_json_with};

pub const PRODUCT: &str = "vaultkey-desktop";
pub const ISSUER: &str = "keyguard-psirt";

/// The shipped app-store policy trusting `key` as [`ISSUER`] for
/// `vaultkey-*`.
pub fn policy(dir: &Path, key: &KeyPair) -> PathBuf {
    app_store_policy_with(
        dir,
        &halt_issuers(&[(ISSUER, &key.public, &["vaultkey-*"])]),
    )
}

/// Starts a gateway named `name` under `dir` with `partners` (TOML) in its
/// configuration.
pub fn start(dir: &Path, name: &str, policy: &Path, partners: &str) -> Gateway {
    start_on("127.0.0.1:0", dir, name, policy, partners)
}

/// The same, listening on `listen`.
pub fn start_on(listen: &str, dir: &Path, name: &str, policy: &Path, partners: &str) -> Gateway {
    let own = dir.join(name);
    std::fs::create_dir_all(&own).unwrap();
    let token = own.join("admin-token");
    std::fs::write(&token, format!("{ADMIN_TOKEN}\n")).unwrap();
    let config = own.join("cragate.toml");
    std::fs::write(
        &config,
        format!(
            "{partners}\n[admin]\nbearer_token_file = {:?}\n",
            token.display().to_string()
        ),
    )
    .unwrap();
    let data = own.join("data");
    Gateway::start_separate_on(
        listen,
        &[
            "--config",
            config.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    )
}

pub fn secret(dir: &Path, name: &str, byte: u8) -> PathBuf {
    use base64::Engine;
    let path = dir.join(format!("{name}.whsec"));
    let encoded = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    std::fs::write(&path, format!("whsec_{encoded}\n")).unwrap();
    path
}

pub fn customer(id: &str, gateway: &Gateway, secret: &Path) -> String {
    format!(
        "[[customers]]\nid = {id:?}\nwebhook = {:?}\nsecret_file = {:?}\n",
        gateway.url("/v1/notifications"),
        secret.display().to_string()
    )
}

pub fn supplier(id: &str, secret: &Path) -> String {
    format!(
        "[[suppliers]]\nid = {id:?}\nsecret_file = {:?}\n",
        secret.display().to_string()
    )
}

pub fn admin_post(gateway: &Gateway, path: &str, body: &[u8]) -> Reply {
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}");
    send_json_with("POST", &gateway.url(path), body, &["-H", &auth])
}

pub fn supplied(gateway: &Gateway, customer: &str) {
    let link = json!({
        "direction": "outbound", "product": PRODUCT, "release": "3.1.0", "quantity": 5,
        "counterparty": {"id": customer, "name": customer, "postal_address": "Hafenstr. 1, Hamburg"},
        "supplied_on": "2026-11-20", "support_end": null
    });
    let reply = admin_post(
        gateway,
        "/v1/admin/ledger/supply-links",
        link.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
}

pub fn in_force(gateway: &Gateway) -> Vec<Value> {
    let reply = gateway.admin("/v1/halts");
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["halts"].as_array().unwrap().clone()
}

/// Waits up to 10 s for `done`.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `gateway`'s ledger records an acknowledgement by `recipient`
/// for as many notices as `count`.
pub fn acknowledged(gateway: &Gateway, recipient: &str, count: usize) -> bool {
    gateway
        .ledger()
        .iter()
        .filter(|r| {
            r["body"]["kind"] == "notification_acknowledged" && r["body"]["recipient"] == recipient
        })
        .count()
        >= count
}

#[test]
fn a_halt_at_the_importer_reaches_the_reseller_and_a_lift_ends_it_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let manufacturer = openssl_key(dir.path(), "manufacturer", Algorithm::Ed25519);
    let policy = policy(dir.path(), &manufacturer);
    let importer_to_distributor = secret(dir.path(), "imp-dist", 1);
    let distributor_to_reseller = secret(dir.path(), "dist-res", 2);

    // Downstream first, so that each upstream knows its customer's address.
    let reseller = start(
        dir.path(),
        "reseller",
        &policy,
        &supplier("distributor", &distributor_to_reseller),
    );
    let distributor = start(
        dir.path(),
        "distributor",
        &policy,
        &format!(
            "{}{}",
            supplier("importer", &importer_to_distributor),
            customer("reseller", &reseller, &distributor_to_reseller)
        ),
    );
    let importer = start(
        dir.path(),
        "importer",
        &policy,
        &customer("distributor", &distributor, &importer_to_distributor),
    );
    supplied(&importer, "distributor");
    supplied(&distributor, "reseller");

    let mut halt = notice(ISSUER, 7, "halt", &[PRODUCT]);
    halt["scope"]["versions"] = json!("<4.0.0");
    let signed = sign(dir.path(), &manufacturer, &halt);
    let started = Instant::now();
    let reply = admin_post(&importer, "/v1/halts", &signed);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(in_force(&importer).len(), 1);
    eventually("the halt at the reseller", || {
        in_force(&reseller).len() == 1
    });
    let third_hop = started.elapsed();
    assert_eq!(in_force(&distributor).len(), 1);
    let at_reseller = &in_force(&reseller)[0];
    assert_eq!(at_reseller["issuer"], ISSUER);
    assert_eq!(
        at_reseller["received"],
        json!({"from_supplier": "distributor"})
    );
    eventually("the distributor's ack on the importer's ledger", || {
        acknowledged(&importer, "distributor", 1)
    });
    eventually("the reseller's ack on the distributor's ledger", || {
        acknowledged(&distributor, "reseller", 1)
    });
    let shown = importer.admin(&format!("/v1/halts/{ISSUER}/7"));
    let deliveries = shown.json()["deliveries"].clone();
    assert_eq!(deliveries[0]["customer"], "distributor", "{deliveries}");
    assert_eq!(deliveries[0]["state"], "delivered", "{deliveries}");
    eprintln!("halt in force at the third hop after {third_hop:?}");

    let lift = sign(
        dir.path(),
        &manufacturer,
        &lift(ISSUER, 8, &[7], &[PRODUCT]),
    );
    let reply = admin_post(&importer, "/v1/halts", &lift);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert!(in_force(&importer).is_empty());
    eventually("the lift at the reseller", || {
        in_force(&reseller).is_empty()
    });
    assert!(in_force(&distributor).is_empty());
    eventually("the lift's ack on the importer's ledger", || {
        acknowledged(&importer, "distributor", 2)
    });
}

#[test]
fn forged_and_stale_webhooks_change_nothing() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let manufacturer = openssl_key(dir.path(), "manufacturer", Algorithm::Ed25519);
    let policy = policy(dir.path(), &manufacturer);
    let shared = secret(dir.path(), "shared", 3);
    let reseller = start(
        dir.path(),
        "reseller",
        &policy,
        &supplier("distributor", &shared),
    );
    let mut halt = notice(ISSUER, 7, "halt", &[PRODUCT]);
    halt["scope"]["versions"] = json!("<4.0.0");
    let signed = sign(dir.path(), &manufacturer, &halt);
    let data: Value = serde_json::from_slice(&signed).unwrap();
    let body = json!({"specversion": "1.0", "id": "msg_1", "source": "urn:x",
        "type": "eu.cragate.halt.v1", "data": data})
    .to_string();
    let now = jiff::Timestamp::now().as_second();
    let sign_with = |key: &[u8], id: &str, at: i64| {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
        let tag = aws_lc_rs::hmac::sign(&key, format!("{id}.{at}.{body}").as_bytes());
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
        )
    };
    let post = |signature: String, id: &str, at: i64| {
        send_json_with(
            "POST",
            &reseller.url("/v1/notifications"),
            body.as_bytes(),
            &[
                "-H",
                &format!("webhook-id: {id}"),
                "-H",
                &format!("webhook-timestamp: {at}"),
                "-H",
                &format!("webhook-signature: {signature}"),
            ],
        )
    };
    let forged = post(sign_with(&[9; 32], "msg_1", now), "msg_1", now);
    assert_eq!(forged.status, 401, "{forged:?}");
    let stale = post(sign_with(&[3; 32], "msg_1", now - 600), "msg_1", now - 600);
    assert_eq!(stale.status, 401, "{stale:?}");
    assert!(in_force(&reseller).is_empty());
    reseller.assert_ledger_empty();

    // The same body, properly signed, is accepted once; its id again
    // changes nothing.
    let good = post(sign_with(&[3; 32], "msg_1", now), "msg_1", now);
    assert_eq!(good.status, 200, "{good:?}");
    assert_eq!(good.json()["status"], "accepted");
    let again = post(sign_with(&[3; 32], "msg_1", now), "msg_1", now);
    assert_eq!(again.json()["status"], "duplicate", "{again:?}");
    assert_eq!(in_force(&reseller).len(), 1);
}

#[test]
fn a_reseller_down_and_a_distributor_killed_before_delivering_still_get_the_halt() {
    let dir = tempfile::tempdir().unwrap();
    let manufacturer = openssl_key(dir.path(), "manufacturer", Algorithm::Ed25519);
    let policy = policy(dir.path(), &manufacturer);
    let imp_dist = secret(dir.path(), "imp-dist", 1);
    let dist_res = secret(dir.path(), "dist-res", 2);
    let reseller_partners = supplier("distributor", &dist_res);
    let mut reseller = start(dir.path(), "reseller", &policy, &reseller_partners);
    let reseller_at = reseller.base.trim_start_matches("http://").to_owned();
    let distributor_partners = format!(
        "{}{}",
        supplier("importer", &imp_dist),
        customer("reseller", &reseller, &dist_res)
    );
    let mut distributor = start(dir.path(), "distributor", &policy, &distributor_partners);
    let distributor_at = distributor.base.trim_start_matches("http://").to_owned();
    let importer = start(
        dir.path(),
        "importer",
        &policy,
        &customer("distributor", &distributor, &imp_dist),
    );
    supplied(&importer, "distributor");
    supplied(&distributor, "reseller");
    // The reseller is stopped while the halt is issued.
    reseller.sigterm();
    reseller.wait(Duration::from_secs(10));

    let mut halt = notice(ISSUER, 7, "halt", &[PRODUCT]);
    halt["scope"]["versions"] = json!("<4.0.0");
    let reply = admin_post(
        &importer,
        "/v1/halts",
        &sign(dir.path(), &manufacturer, &halt),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    eventually("the halt at the distributor", || {
        in_force(&distributor).len() == 1
    });
    eventually("the distributor's ack upstream", || {
        acknowledged(&importer, "distributor", 1)
    });
    let pending = distributor.admin(&format!("/v1/halts/{ISSUER}/7")).json();
    assert_eq!(pending["deliveries"][0]["state"], "pending", "{pending}");
    assert!(
        pending["deliveries"][0]["last_error"].is_string(),
        "{pending}"
    );

    // Accepted, not delivered: the distributor is killed.
    distributor.sigkill();
    std::thread::sleep(Duration::from_secs(2));
    let reseller = start_on(
        &reseller_at,
        dir.path(),
        "reseller",
        &policy,
        &reseller_partners,
    );
    let distributor = start_on(
        &distributor_at,
        dir.path(),
        "distributor",
        &policy,
        &distributor_partners,
    );
    eventually("the halt at the reseller after both restarts", || {
        in_force(&reseller).len() == 1
    });
    eventually("the reseller's ack on the distributor's ledger", || {
        acknowledged(&distributor, "reseller", 1)
    });
}
