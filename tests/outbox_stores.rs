//! The recall outbox on both stores: the redb file of one node and the
//! PostgreSQL database several nodes share. One scripted history is run
//! on each and every answer compared, so the shared outbox behaves as the
//! file does; then what only a shared one has: two nodes claiming the
//! same due deliveries send each once, and a feed numbered in commit
//! order.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use cragate::ledger::{LedgerStore, Location, StoreOptions};
use cragate::recall::outbox::{NewDelivery, Outbox, Outcome};
use cragate::recall::pg_outbox::PgOutbox;
use cragate::recall::redb_outbox::RedbOutbox;
use jiff::Timestamp;

use crate::postgres_util::Postgres;

const HOOK: Option<&str> = Some("http://127.0.0.1:9/v1/notifications");

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn new(notification: &str, customer: &str, endpoint: Option<&str>) -> NewDelivery {
    NewDelivery {
        notification: notification.into(),
        customer: customer.into(),
        endpoint: endpoint.map(str::to_owned),
        webhook_id: format!("msg_{notification}_{customer}"),
        body: "{}".into(),
        notice: "sha256:00".into(),
        products: vec!["lumacam-c3-pro".into()],
        unreachable: false,
    }
}

/// A PostgreSQL ledger's database, as a node opens it.
fn shared_database(postgres: &Postgres, dir: &std::path::Path) -> Arc<dyn LedgerStore> {
    Location::new(
        &dir.join("data"),
        Some(&postgres.database()),
        Some(&dir.join("ledger-key.p8")),
    )
    .open(StoreOptions::default())
    .unwrap()
}

/// One history of an outbox's life; every answer as JSON, in order.
fn history(outbox: &dyn Outbox) -> Vec<String> {
    let mut said = Vec::new();
    let mut say = |what: &str, value: serde_json::Value| said.push(format!("{what}: {value}"));
    let now = at("2026-12-01T10:00:00Z");
    let later = at("2026-12-01T10:00:30Z");
    let first = outbox
        .enqueue(
            &[
                new("i/7", "a", HOOK),
                new("i/7", "b", HOOK),
                new("i/7", "puller", None),
            ],
            now,
        )
        .unwrap();
    say("enqueue", serde_json::to_value(&first).unwrap());
    let again = outbox.enqueue(&[new("i/7", "a", HOOK)], now).unwrap();
    say("enqueue again", serde_json::to_value(&again).unwrap());
    let mut unreachable = new("i/7", "stranger", None);
    unreachable.unreachable = true;
    say(
        "unreachable",
        serde_json::to_value(outbox.enqueue(&[unreachable], now).unwrap()).unwrap(),
    );
    let due = outbox.due(now, 10).unwrap();
    say("due", serde_json::to_value(&due).unwrap());
    say(
        "due, one",
        serde_json::to_value(outbox.due(now, 1).unwrap()).unwrap(),
    );
    let seqs: Vec<u64> = due.iter().map(|d| d.seq).collect();
    say(
        "begin",
        serde_json::to_value(outbox.begin_attempts(&seqs, later).unwrap()).unwrap(),
    );
    say(
        "due after begin",
        serde_json::to_value(outbox.due(now, 10).unwrap()).unwrap(),
    );
    say(
        "next due",
        serde_json::to_value(outbox.next_due().unwrap()).unwrap(),
    );
    let finished = outbox
        .finish_attempts(&[
            (seqs[0], Outcome::Acknowledged { at: later }),
            (
                seqs[1],
                Outcome::Retry {
                    error: "connection refused".into(),
                    next: at("2026-12-01T10:00:01Z"),
                },
            ),
        ])
        .unwrap();
    say("finish", serde_json::to_value(&finished).unwrap());
    outbox.mark_sent_recorded(&[seqs[0]]).unwrap();
    say(
        "deliveries",
        serde_json::to_value(outbox.deliveries("i/7").unwrap()).unwrap(),
    );
    outbox
        .enqueue(&[new("i/8", "b", HOOK), new("i/8", "puller", None)], later)
        .unwrap();
    let gone = outbox
        .finish_attempts(&[(
            seqs[1],
            Outcome::Gone {
                error: "410 Gone".into(),
                at: later,
            },
        )])
        .unwrap();
    say("gone", serde_json::to_value(&gone).unwrap());
    say(
        "after gone",
        serde_json::to_value(outbox.deliveries("i/8").unwrap()).unwrap(),
    );
    say(
        "enqueue to a disabled endpoint",
        serde_json::to_value(outbox.enqueue(&[new("i/9", "b", HOOK)], later).unwrap()).unwrap(),
    );
    say(
        "disabled",
        serde_json::to_value(outbox.disabled_endpoints().unwrap()).unwrap(),
    );
    say(
        "feed",
        serde_json::to_value(outbox.feed("puller", 0, 10).unwrap()).unwrap(),
    );
    say(
        "feed after 3",
        serde_json::to_value(outbox.feed("puller", 3, 10).unwrap()).unwrap(),
    );
    let before = at("2026-12-01T09:55:00Z");
    let replay = [
        outbox.remember_received("s", "msg_1", now, before).unwrap(),
        outbox.remember_received("s", "msg_1", now, before).unwrap(),
        outbox.remember_received("t", "msg_1", now, before).unwrap(),
        outbox.was_received("s", "msg_1").unwrap(),
        outbox
            .remember_received("s", "msg_2", at("2026-12-01T11:00:00Z"), later)
            .unwrap(),
        outbox.was_received("s", "msg_1").unwrap(),
    ];
    say("received", serde_json::to_value(replay).unwrap());
    let cursors = [
        outbox.feed_cursor("s").unwrap(),
        {
            outbox.set_feed_cursor("s", 7).unwrap();
            outbox.feed_cursor("s").unwrap()
        },
        outbox.feed_cursor("t").unwrap(),
    ];
    say("cursors", serde_json::to_value(cursors).unwrap());
    say("len", serde_json::to_value(outbox.len().unwrap()).unwrap());
    said
}

#[test]
fn the_shared_outbox_answers_as_the_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = RedbOutbox::open(&dir.path().join("recall.redb")).unwrap();
    let expected = history(&file);

    let postgres = Postgres::start();
    let ledger = shared_database(&postgres, dir.path());
    let shared = PgOutbox::new(ledger.database().unwrap());
    let found = history(&shared);
    for (file, shared) in expected.iter().zip(&found) {
        assert_eq!(file, shared, "the stores differ");
    }
    assert_eq!(expected.len(), found.len());
}

/// Two nodes run their delivery loops on one database at once: every due
/// delivery is claimed (and so sent) by exactly one of them.
#[test]
fn two_nodes_claim_each_due_delivery_once() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = Postgres::start();
    let url = postgres.database();
    let node = |name: &str| {
        Location::new(
            &dir.path().join(name),
            Some(&url),
            Some(&dir.path().join("ledger-key.p8")),
        )
        .open(StoreOptions::default())
        .unwrap()
    };
    let (one, two) = (node("one"), node("two"));
    let outboxes = [
        Arc::new(PgOutbox::new(one.database().unwrap())),
        Arc::new(PgOutbox::new(two.database().unwrap())),
    ];
    let now = Timestamp::now();
    let new_ones: Vec<NewDelivery> = (0..200)
        .map(|n| new("i/7", &format!("c{n}"), HOOK))
        .collect();
    outboxes[0].enqueue(&new_ones, now).unwrap();

    let start = Arc::new(Barrier::new(2));
    let workers: Vec<_> = outboxes
        .iter()
        .map(|outbox| {
            let outbox = Arc::clone(outbox);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let lease = at("2099-01-01T00:00:00Z");
                let mut claimed = Vec::new();
                loop {
                    let due = outbox.due(Timestamp::now(), 16).unwrap();
                    if due.is_empty() {
                        break;
                    }
                    let seqs: Vec<u64> = due.iter().map(|d| d.seq).collect();
                    claimed.extend(
                        outbox
                            .begin_attempts(&seqs, lease)
                            .unwrap()
                            .into_iter()
                            .map(|d| d.seq),
                    );
                }
                claimed
            })
        })
        .collect();
    let mut claims: BTreeMap<u64, u32> = BTreeMap::new();
    for worker in workers {
        for seq in worker.join().unwrap() {
            *claims.entry(seq).or_default() += 1;
        }
    }
    assert_eq!(claims.len(), 200, "every delivery claimed");
    assert!(
        claims.values().all(|&n| n == 1),
        "a delivery was claimed twice: {claims:?}"
    );
    let attempts: Vec<u32> = outboxes[1]
        .deliveries("i/7")
        .unwrap()
        .iter()
        .map(|d| d.attempts)
        .collect();
    assert!(attempts.iter().all(|&n| n == 1), "{attempts:?}");
}

/// Deliveries enqueued by several nodes at once are numbered in the order
/// they commit: a feed read while others enqueue never skips one.
#[test]
fn a_shared_feed_never_skips_a_late_commit() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = Postgres::start();
    let ledger = shared_database(&postgres, dir.path());
    let database = ledger.database().unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let outbox = PgOutbox::new(database.clone());
            std::thread::spawn(move || {
                for n in 0..25 {
                    outbox
                        .enqueue(
                            &[new(&format!("w{w}/{n}"), "puller", None)],
                            Timestamp::now(),
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    let reader = PgOutbox::new(database.clone());
    let mut cursor = 0;
    let mut taken = Vec::new();
    while taken.len() < 100 {
        for delivery in reader.feed("puller", cursor, 7).unwrap() {
            assert!(delivery.seq > cursor);
            cursor = delivery.seq;
            taken.push(delivery.seq);
        }
    }
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(taken, (1..=100).collect::<Vec<u64>>(), "gaps or repeats");
}
