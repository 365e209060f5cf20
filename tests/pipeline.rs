//! The pipeline without a socket: `pipeline::judge` on a gateway opened
//! from its library, with its real ledger in a temporary data folder.

use bytes::Bytes;
use cragate::config::{Config, Overrides, policies};
use cragate::http::error::{ErrorKind, ErrorSource};
use cragate::pipeline::{Candidate, Gateway, Purpose, judge, stored};
use serde_json::Value;

use crate::serve_util::{accepted_json, rejected_json};

async fn gateway(dir: &tempfile::TempDir) -> Gateway {
    let overrides = Overrides {
        data_dir: Some(dir.path().join("data").display().to_string()),
        ..Overrides::default()
    };
    let config = Config::load(None, &overrides).unwrap();
    let policy = policies::load(None).unwrap();
    Gateway::open(config, policy).await.unwrap()
}

fn with_id(mut listing: Value, id: &str) -> Bytes {
    listing["product"]["id"] = Value::String(id.to_owned());
    Bytes::from(serde_json::to_vec(&listing).unwrap())
}

fn candidate(document: Bytes, from: ErrorSource, purpose: Purpose) -> Candidate<'static> {
    Candidate {
        document,
        pointer: "",
        from,
        bound_id: None,
        purpose,
        peer: None,
    }
}

fn kinds(gateway: &Gateway) -> Vec<String> {
    let size = gateway.ledger.size().unwrap();
    (0..size)
        .map(|n| {
            let stored = gateway.ledger.record(n).unwrap().unwrap();
            stored.record.body.kind().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_unrecordable_id_is_refused_before_the_decision_as_its_senders_error() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(&dir).await;
    let long = "p".repeat(300);
    for id in ["", long.as_str(), "a\u{1b}[2Jb"] {
        for from in [ErrorSource::Client, ErrorSource::Upstream] {
            let listing = with_id(accepted_json(), id);
            let error = judge(&gateway, candidate(listing, from, Purpose::Submission))
                .await
                .unwrap_err();
            // The verifier's ProductId refuses such an id when the listing
            // is read; the gateway's own check stays behind it.
            assert!(
                matches!(
                    error.kind(),
                    ErrorKind::ProductId { .. } | ErrorKind::MalformedListing(_)
                ),
                "{error:?}"
            );
            assert_eq!(error.source(), from);
            let expected = if from == ErrorSource::Client {
                400
            } else {
                502
            };
            assert_eq!(error.status().as_u16(), expected);
            assert!(!error.to_string().contains(&long));
        }
    }
    assert!(kinds(&gateway).is_empty(), "{:?}", kinds(&gateway));
}

#[tokio::test]
async fn a_path_naming_another_product_is_refused_before_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(&dir).await;
    let mut read = candidate(
        with_id(accepted_json(), "vaultkey-desktop"),
        ErrorSource::Upstream,
        Purpose::Read,
    );
    read.bound_id = Some("someone-else");
    let error = judge(&gateway, read.clone()).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::IdMismatch { .. }),
        "{error:?}"
    );
    assert_eq!(error.status().as_u16(), 502);
    assert!(kinds(&gateway).is_empty());
    // Once the verdict is cached, the binding still holds.
    read.bound_id = Some("vaultkey-desktop");
    judge(&gateway, read.clone()).await.unwrap();
    read.bound_id = Some("someone-else");
    assert!(judge(&gateway, read).await.is_err());
    assert_eq!(kinds(&gateway), ["decision", "document", "document"]);
}

#[tokio::test]
async fn an_accepted_submission_records_its_supply_only_once_stored() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(&dir).await;
    let listing = with_id(accepted_json(), "vaultkey-desktop");
    let accepted = judge(
        &gateway,
        candidate(listing.clone(), ErrorSource::Client, Purpose::Submission),
    )
    .await
    .unwrap();
    assert_eq!(accepted.listing(), &listing);
    assert_eq!(accepted.product_id(), "vaultkey-desktop");
    assert_eq!(kinds(&gateway), ["decision", "document", "document"]);
    stored(&gateway, &accepted).await.unwrap();
    assert_eq!(
        kinds(&gateway),
        ["decision", "document", "document", "supply_link"]
    );
}

#[tokio::test]
async fn a_denial_is_recorded_and_answered_with_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(&dir).await;
    let listing = with_id(rejected_json(), "bastion-fw-9000");
    let error = judge(
        &gateway,
        candidate(listing, ErrorSource::Upstream, Purpose::Read),
    )
    .await
    .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Rejected(_)), "{error:?}");
    assert_eq!(error.status().as_u16(), 422);
    assert_eq!(kinds(&gateway), ["decision", "document", "document"]);
}

#[tokio::test]
async fn a_listing_inside_an_envelope_is_judged_as_its_own_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(&dir).await;
    let listing = String::from_utf8(with_id(accepted_json(), "vaultkey-desktop").to_vec()).unwrap();
    let envelope = Bytes::from(format!("{{\"meta\": [1, {{}}], \"listing\":  {listing} }}"));
    let mut submission = candidate(envelope.clone(), ErrorSource::Client, Purpose::Submission);
    submission.pointer = "/listing";
    let accepted = judge(&gateway, submission).await.unwrap();
    assert_eq!(accepted.listing(), listing.as_bytes());
    assert_eq!(accepted.document(), &envelope);
    let digest = cragate_verifier::Digest::of(listing.as_bytes());
    assert_eq!(accepted.verdict().listing().digest, digest);
}
