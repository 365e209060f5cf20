//! Writes the seed corpus of the `export` fuzz target (`gateway/fuzz`): the
//! exports of a small fixed ledger (decisions, supply links both ways and a
//! DoC from `testdata/cra`, over two products), by product and by period,
//! and the verifier key they are signed with. The signing key comes from a
//! fixed seed and every entry has a fixed time, so the same files come out
//! on every run (Ed25519 signatures are deterministic).
//!
//! `cargo run -p cragate --example export_seed -- CORPUS_DIR KEY_FILE`
//! (run by `scripts/fuzz-seeds`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::time::Duration;

use aws_lc_rs::signature::Ed25519KeyPair;
use cragate::ledger::entry::{Client, Direction, DocumentKind, Operator};
use cragate::ledger::export::{Selection, export};
use cragate::ledger::{DataDir, Entry, EntryBody, LedgerStore, StoreOptions, Submission};
use cragate_verifier::Digest;
use cragate_verifier::verdict::Decision;
use jiff::Timestamp;

/// A DoC of `testdata/cra`, archived by the ledger.
const DOC: &[u8] =
    br#"{"format":"cragate.doc/v1","product":{"name":"ACME Cam X200","version":"4.2.1"}}"#;

fn time(n: u64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + 3600 * i64::try_from(n).unwrap()).unwrap()
}

fn decision(n: u64, product: &str) -> Submission {
    Submission::new(Entry {
        time: time(n),
        body: EntryBody::Decision {
            product: product.parse().unwrap(),
            release: Some(format!("1.{n}")),
            verdict: if n.is_multiple_of(3) {
                Decision::Deny
            } else {
                Decision::Allow
            },
            policy: Digest::of(b"importer.toml"),
            evidence: vec![Digest::of(&n.to_be_bytes())],
            client: Client {
                identity: Some("importer-portal".parse().unwrap()),
                address: "198.51.100.4:443".into(),
            },
            support_end: Some("2032-06-30".parse().unwrap()),
        },
    })
    .unwrap()
}

fn supply(direction: Direction, who: &str, n: u64) -> Submission {
    Submission::new(Entry {
        time: time(n),
        body: EntryBody::SupplyLink {
            direction,
            product: "cam".parse().unwrap(),
            release: Some("4.2.1".into()),
            quantity: Some(100 + n),
            counterparty: Operator {
                id: who.parse().unwrap(),
                name: format!("{who} Ltd"),
                postal_address: "Hauptstraße 1, Berlin".into(),
            },
            supplied_on: "2027-01-15".parse().unwrap(),
            support_end: None,
            shipment: None,
            batch: None,
        },
    })
    .unwrap()
}

fn doc(n: u64) -> Submission {
    Submission::document(
        Entry {
            time: time(n),
            body: EntryBody::Document {
                product: "cam".parse().unwrap(),
                document: DocumentKind::DeclarationOfConformity,
                digest: Digest::of(DOC),
                size: DOC.len() as u64,
                media_type: "application/json".into(),
                support_end: None,
            },
        },
        DOC.to_vec(),
    )
    .unwrap()
}

fn main() {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(corpus), Some(key_file)) = (args.next(), args.next()) else {
        panic!("usage: export_seed CORPUS_DIR KEY_FILE");
    };
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    std::fs::create_dir_all(data.path()).unwrap();
    let pair = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
    std::fs::write(data.key_file(), pair.to_pkcs8().unwrap().as_ref()).unwrap();
    let ledger = data
        .open(StoreOptions {
            checkpoint_interval: Duration::ZERO,
            ..StoreOptions::default()
        })
        .unwrap();
    let batches = [
        vec![
            decision(0, "cam"),
            decision(1, "router"),
            supply(Direction::Inbound, "acme-cn", 2),
        ],
        vec![
            decision(3, "cam"),
            doc(4),
            supply(Direction::Outbound, "shop-de", 5),
        ],
        vec![decision(6, "router"), decision(7, "cam")],
    ];
    for batch in &batches {
        ledger.append_batch(batch).unwrap();
    }
    let key = ledger.verifier_key().clone();
    std::fs::create_dir_all(&corpus).unwrap();
    let selections = [
        (
            "product",
            Selection {
                product: Some("cam".parse().unwrap()),
                ..Selection::default()
            },
        ),
        (
            "period",
            Selection {
                since: Some(time(2)),
                until: Some(time(6)),
                ..Selection::default()
            },
        ),
        (
            "router",
            Selection {
                product: Some("router".parse().unwrap()),
                ..Selection::default()
            },
        ),
    ];
    for (name, selection) in selections {
        let mut out = Vec::new();
        export(&ledger, &key, &selection, &mut out).unwrap();
        std::fs::write(corpus.join(format!("{name}.jsonl")), out).unwrap();
    }
    std::fs::write(key_file, format!("{key}\n")).unwrap();
}
