//! Listening for what other nodes sharing one PostgreSQL database change
//! (`LISTEN cragate_halts`, `LISTEN cragate_outbox`): a node that
//! subscribed is told when another node stores a halt or queues a
//! delivery, and again after the database was stopped and started (its
//! listening connection is opened again, the node is not restarted). A
//! `NOTIFY` the engine refuses leaves the rest of its transaction stored.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use cragate::ledger::{LedgerStore, Location, StoreOptions, pg_listen};
use cragate::recall::outbox::{NewDelivery, Outbox};
use cragate::recall::pg_halts::PgHaltStore;
use cragate::recall::pg_outbox::PgOutbox;
use cragate::recall::{HaltStore, Received, StoredHalt};

use crate::postgres_util::Postgres;

/// A node's ledger on the database at `url`; `name` keeps its data
/// folder apart from the other node's.
fn node(dir: &std::path::Path, name: &str, url: &str) -> Arc<dyn LedgerStore> {
    Location::new(&dir.join(name), Some(url), Some(&dir.join("ledger-key.p8")))
        .open(StoreOptions::default())
        .unwrap()
}

fn halt(sequence: u64) -> StoredHalt {
    StoredHalt {
        issuer: "keyguard-psirt".into(),
        sequence,
        signed: "{}".into(),
        payload: "{}".into(),
        received: Received::Posted,
        accepted_at: jiff::Timestamp::now(),
        ledger_index: sequence,
        lifted_by: None,
    }
}

fn delivery(notification: &str) -> NewDelivery {
    NewDelivery {
        notification: notification.into(),
        customer: "distributor".into(),
        endpoint: Some("http://127.0.0.1:9/hooks".into()),
        webhook_id: format!("msg_{notification}"),
        body: "{}".into(),
        notice: "sha256:00".into(),
        products: vec!["vaultkey-desktop".into()],
        unreachable: false,
    }
}

/// Waits (generously) to be told; `what` says what was awaited.
fn told(hear: &Receiver<()>, what: &str) {
    hear.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("not told within 30 s: {what}"));
    // A wake may come twice for one change; the test needs one.
    while hear.try_recv().is_ok() {}
}

#[test]
fn a_node_is_told_of_another_nodes_halts_and_deliveries_and_again_after_a_database_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut postgres = Postgres::start();
    let url = postgres.database();
    let first = node(dir.path(), "one", &url);
    let second = node(dir.path(), "two", &url);
    let halts_one = PgHaltStore::new(first.database().unwrap());
    let halts_two = PgHaltStore::new(second.database().unwrap());
    let outbox_one = PgOutbox::new(first.database().unwrap());
    let outbox_two = PgOutbox::new(second.database().unwrap());

    let (tell, hear_halts) = channel();
    halts_one.subscribe(Box::new(move || tell.send(()).is_ok()));
    let (tell, hear_outbox) = channel();
    outbox_one.subscribe(Box::new(move || tell.send(()).is_ok()));
    // Told once when listening starts: what changed before is read then.
    told(&hear_halts, "halts: listening started");
    told(&hear_outbox, "outbox: listening started");

    halts_two.put(&halt(1), &[]).unwrap();
    told(&hear_halts, "the other node's halt");
    outbox_two
        .enqueue(&[delivery("keyguard-psirt/1")], jiff::Timestamp::now())
        .unwrap();
    told(&hear_outbox, "the other node's delivery");
    // The halt alone did not wake the outbox.
    assert!(hear_outbox.try_recv().is_err());

    postgres.stop();
    postgres.resume();
    told(&hear_halts, "halts: listening again after the restart");
    told(&hear_outbox, "outbox: listening again after the restart");
    halts_two.put(&halt(2), &[]).unwrap();
    told(&hear_halts, "the other node's halt after the restart");
    outbox_two
        .enqueue(&[delivery("keyguard-psirt/2")], jiff::Timestamp::now())
        .unwrap();
    told(&hear_outbox, "the other node's delivery after the restart");
}

#[test]
fn a_notify_the_engine_refuses_leaves_the_rest_of_the_change_stored() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = Postgres::start();
    let url = postgres.database();
    let store = node(dir.path(), "one", &url);
    // A channel name PostgreSQL refuses (a syntax error, as an engine
    // without NOTIFY refuses the statement) in the transaction of a change.
    let done = store.database().unwrap().block_on(|pool| async move {
        let mut client = pool.get().await.unwrap();
        let mut txn = client.transaction().await.unwrap();
        txn.batch_execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
            .await
            .unwrap();
        pg_listen::notify(&mut txn, "no such channel")
            .await
            .unwrap();
        txn.commit().await.unwrap();
    });
    assert!(done.is_some(), "the transaction failed");
    let name = url.rsplit('/').next().unwrap();
    assert_eq!(postgres.sql(name, "SELECT n FROM kept"), "7\n");
}
