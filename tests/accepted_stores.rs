//! The accepted listings of an HTTP upstream on both stores: the
//! JSON-lines file of one node and the PostgreSQL database several nodes
//! share. Each keeps every product's last listing; the shared one numbers
//! listings in commit order (a reader never skips one that commits late),
//! tells the other nodes of an append, and says its last sequence.

use std::sync::Arc;
use std::time::Duration;

use cragate::ledger::{LedgerStore, Location, StoreOptions};
use cragate::pipeline::index::{AcceptedStore, FileAcceptedStore};
use cragate::pipeline::pg_accepted::PgAcceptedStore;

use crate::postgres_util::Postgres;

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

/// Appends a history of listings, then each product's last as the store
/// reads it back on start, as (product, listing), by product (the file
/// numbers its lines again when it rewrites them: products keep the order
/// they first came in).
fn history(store: &dyn AcceptedStore) -> Vec<(String, String)> {
    assert_eq!(store.latest().unwrap(), Vec::new());
    for (product, listing) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("b", "5")] {
        store.append(product, listing).unwrap();
    }
    let latest = store.latest().unwrap();
    assert!(
        latest.windows(2).all(|pair| pair[0].seq < pair[1].seq),
        "in order of sequence: {latest:?}"
    );
    let mut last: Vec<_> = latest
        .into_iter()
        .map(|stored| (stored.product, stored.listing))
        .collect();
    last.sort();
    last
}

#[test]
fn both_stores_keep_each_products_last_listing() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileAcceptedStore::new(&dir.path().join("accepted-artifacts"));
    let postgres = Postgres::start();
    let ledger = shared_database(&postgres, dir.path());
    let shared = PgAcceptedStore::new(ledger.database().unwrap());
    let expected: Vec<(String, String)> = [("a", "3"), ("b", "5"), ("c", "4")]
        .iter()
        .map(|(p, l)| ((*p).to_owned(), (*l).to_owned()))
        .collect();
    assert_eq!(history(&file), expected);
    assert_eq!(history(&shared), expected);
    // The shared store keeps its numbers, and dropped what was replaced.
    assert_eq!(shared.version().unwrap(), 5);
    let left: Vec<u64> = shared.since(0).unwrap().iter().map(|s| s.seq).collect();
    assert_eq!(left, [3, 4, 5]);
    assert_eq!(shared.append("d", "6").unwrap(), 6);
    let after: Vec<_> = shared.since(5).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].seq, after[0].product.as_str()), (6, "d"));
}

#[test]
fn a_shared_reader_never_skips_a_late_commit_and_is_told_of_appends() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = Postgres::start();
    let ledger = shared_database(&postgres, dir.path());
    let database = ledger.database().unwrap();
    let reader = PgAcceptedStore::new(database.clone());
    let (told, hear) = std::sync::mpsc::channel();
    reader.subscribe(Box::new(move || told.send(()).is_ok()));
    // Listening has started once it calls the first time.
    hear.recv_timeout(Duration::from_secs(10)).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = PgAcceptedStore::new(database.clone());
            std::thread::spawn(move || {
                for n in 0..25 {
                    store.append(&format!("w{w}-{n}"), "{}").unwrap();
                }
            })
        })
        .collect();
    hear.recv_timeout(Duration::from_secs(10))
        .expect("no notification of an append");
    let mut cursor = 0;
    let mut taken = Vec::new();
    while taken.len() < 100 {
        for stored in reader.since(cursor).unwrap() {
            assert!(stored.seq > cursor);
            cursor = stored.seq;
            taken.push(stored.seq);
        }
    }
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(taken, (1..=100).collect::<Vec<u64>>(), "gaps or repeats");
    assert_eq!(reader.version().unwrap(), 100);
}
