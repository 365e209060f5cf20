//! `cragate ledger export --format epcis`: the supply links and halt
//! notices of a product or a period as a GS1 EPCIS 2.0 JSON-LD document,
//! so that an importer's ERP system or a market surveillance authority can
//! read the traceability records (CRA Art. 23: who supplied us, whom we
//! supplied; Art. 19(5), 20(4): withdrawals and recalls) in the format the
//! supply chain already speaks.
//!
//! Mapping (GS1 EPCIS 2.0 and CBV 2.0):
//! - an inbound `supply_link` is an `ObjectEvent` with `bizStep`
//!   `receiving`, `disposition` `in_progress`, the supplier as the
//!   `owning_party` in `sourceList`; an outbound one is `shipping`,
//!   `in_transit`, the customer in `destinationList`;
//! - the product is a `quantityList` entry: its class is the GS1 Digital
//!   Link of its GTIN (with the batch as AI 10 where known) when the
//!   archived listing gives a GTIN, else `urn:cragate:product:<id>`;
//! - the shipment reference is a `desadv` business transaction;
//! - a `halt_notice` is an `ObjectEvent` with `disposition` `recalled` for a
//!   recall and `non_sellable_other` for a halt or withdrawal
//!   (`sellable_accessible` for a lift), one class per product in scope.
//!
//! The ledger's own fields go in the `cragate:` namespace. The document
//! carries no proofs: the JSON Lines export is the one an authority
//! verifies; this one is for interchange.

use std::collections::BTreeMap;
use std::io::Write;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::entry::{Direction, EntryBody, HaltAction, ProductId};
use super::export::Selection;
use super::{LedgerError, LedgerStore, Query, StoredRecord};
use crate::http::path::percent_encode as encode;

/// The EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The namespace of cragate's own fields in an EPCIS document.
pub const CRAGATE_NAMESPACE: &str = "https://cragate.example/epcis/";

/// Media type of an archived listing, where the GTIN is read from.
const LISTING_MEDIA_TYPE: &str = "application/vnd.cragate.listing.v1+json";

/// Why the document could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EpcisError {
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The output could not be written.
    #[error("cannot write the EPCIS document: {0}")]
    Io(#[from] std::io::Error),
}

/// How many events went out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EpcisSummary {
    /// Supply-link events.
    pub supply_events: usize,
    /// Halt-notice events.
    pub halt_events: usize,
}

/// Writes the EPCIS document of `selection` to `out`; `now` is its
/// `creationDate`.
pub fn export(
    store: &dyn LedgerStore,
    selection: &Selection,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<EpcisSummary, EpcisError> {
    let query = Query {
        product: selection.product.clone(),
        since: selection.since,
        until: selection.until,
        ..Query::default()
    };
    let records = store.query(&query)?;
    let gtins = gtins(store, &records)?;
    let mut summary = EpcisSummary::default();
    let mut events = Vec::new();
    for stored in &records {
        match &stored.record.body {
            EntryBody::SupplyLink { .. } => {
                summary.supply_events += 1;
                events.push(supply_event(stored, &gtins));
            }
            EntryBody::HaltNotice { .. } => {
                summary.halt_events += 1;
                events.push(halt_event(stored, &gtins));
            }
            _ => {}
        }
    }
    let document = json!({
        "@context": [EPCIS_CONTEXT, {"cragate": CRAGATE_NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now.to_string(),
        "epcisBody": {"eventList": events},
    });
    serde_json::to_writer_pretty(&mut *out, &document).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(summary)
}

/// Each product's GTIN, from the latest listing archived for it.
fn gtins(
    store: &dyn LedgerStore,
    records: &[StoredRecord],
) -> Result<BTreeMap<ProductId, String>, LedgerError> {
    let mut out = BTreeMap::new();
    for stored in records.iter().rev() {
        let EntryBody::Document {
            product,
            digest,
            media_type,
            ..
        } = &stored.record.body
        else {
            continue;
        };
        if media_type != LISTING_MEDIA_TYPE || out.contains_key(product) {
            continue;
        }
        let Some(bytes) = store.document(digest)? else {
            continue;
        };
        let gtin = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|listing| {
                listing
                    .pointer("/product/identifiers/gtin")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        if let Some(gtin) = gtin.filter(|g| is_gtin(g)) {
            out.insert(product.clone(), gtin);
        }
    }
    Ok(out)
}

fn supply_event(stored: &StoredRecord, gtins: &BTreeMap<ProductId, String>) -> Value {
    let record = &stored.record;
    let EntryBody::SupplyLink {
        direction,
        product,
        release,
        quantity,
        counterparty,
        supplied_on,
        shipment,
        batch,
        ..
    } = &record.body
    else {
        return Value::Null;
    };
    let mut element = Map::new();
    element.insert(
        "epcClass".into(),
        json!(class(product, gtins.get(product), batch.as_deref())),
    );
    if let Some(quantity) = quantity {
        element.insert("quantity".into(), json!(quantity));
    }
    let party = operator_uri(counterparty.id.as_str());
    let mut event = base_event(stored);
    event.insert("action".into(), json!("OBSERVE"));
    event.insert("quantityList".into(), json!([Value::Object(element)]));
    match direction {
        Direction::Inbound => {
            event.insert("bizStep".into(), json!("receiving"));
            event.insert("disposition".into(), json!("in_progress"));
            event.insert(
                "sourceList".into(),
                json!([{"type": "owning_party", "source": party}]),
            );
        }
        Direction::Outbound => {
            event.insert("bizStep".into(), json!("shipping"));
            event.insert("disposition".into(), json!("in_transit"));
            event.insert(
                "destinationList".into(),
                json!([{"type": "owning_party", "destination": party}]),
            );
        }
    }
    if let Some(shipment) = shipment {
        event.insert(
            "bizTransactionList".into(),
            json!([{
                "type": "desadv",
                "bizTransaction": format!("urn:cragate:shipment:{}", encode(shipment)),
            }]),
        );
    }
    event.insert("cragate:product".into(), json!(product));
    if let Some(release) = release {
        event.insert("cragate:release".into(), json!(release));
    }
    event.insert("cragate:suppliedOn".into(), json!(supplied_on.to_string()));
    event.insert(
        "cragate:counterparty".into(),
        json!({
            "id": counterparty.id,
            "name": counterparty.name,
            "postalAddress": counterparty.postal_address,
        }),
    );
    Value::Object(event)
}

fn halt_event(stored: &StoredRecord, gtins: &BTreeMap<ProductId, String>) -> Value {
    let EntryBody::HaltNotice {
        issuer,
        sequence,
        action,
        products,
        reason,
        notice,
        ..
    } = &stored.record.body
    else {
        return Value::Null;
    };
    let disposition = match action {
        HaltAction::Recall => "recalled",
        HaltAction::Halt | HaltAction::Withdraw => "non_sellable_other",
        HaltAction::Lift => "sellable_accessible",
    };
    let classes: Vec<Value> = products
        .iter()
        .map(|p| json!({"epcClass": class(p, gtins.get(p), None)}))
        .collect();
    let mut event = base_event(stored);
    event.insert("action".into(), json!("OBSERVE"));
    event.insert("quantityList".into(), json!(classes));
    event.insert("disposition".into(), json!(disposition));
    event.insert("cragate:issuer".into(), json!(issuer));
    event.insert("cragate:sequence".into(), json!(sequence));
    event.insert("cragate:reason".into(), json!(reason));
    event.insert("cragate:notice".into(), json!(notice));
    Value::Object(event)
}

/// What every event carries: type, time, offset, id.
fn base_event(stored: &StoredRecord) -> Map<String, Value> {
    let leaf = hex::encode(super::merkle::leaf_hash(&stored.bytes));
    let event = json!({
        "type": "ObjectEvent",
        "eventTime": stored.record.time.to_string(),
        "eventTimeZoneOffset": "+00:00",
        "eventID": format!("urn:cragate:ledger-entry:{}:{leaf}", stored.record.index),
        "cragate:ledgerIndex": stored.record.index,
    });
    match event {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The product class: the GS1 Digital Link of its GTIN (GTIN-14, with the
/// batch as AI 10 where known), or a cragate URN.
fn class(product: &ProductId, gtin: Option<&String>, batch: Option<&str>) -> String {
    match gtin {
        Some(gtin) => {
            let mut uri = format!("https://id.gs1.org/01/{gtin:0>14}");
            if let Some(batch) = batch {
                uri.push_str("/10/");
                uri.push_str(&encode(batch));
            }
            uri
        }
        None => format!("urn:cragate:product:{}", encode(product.as_str())),
    }
}

fn operator_uri(id: &str) -> String {
    format!("urn:cragate:operator:{}", encode(id))
}

/// GTIN-8, -12, -13 or -14: digits only.
fn is_gtin(value: &str) -> bool {
    matches!(value.len(), 8 | 12 | 13 | 14) && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::entry::Record;

    fn stored(body: EntryBody) -> StoredRecord {
        let record = Record {
            v: 1,
            index: 4,
            time: "2026-12-01T09:00:00Z".parse().unwrap(),
            body,
        };
        StoredRecord {
            bytes: record.encode(),
            record,
        }
    }

    #[test]
    fn a_recall_is_recalled_and_a_halt_non_sellable() {
        for (action, disposition) in [
            (HaltAction::Recall, "recalled"),
            (HaltAction::Halt, "non_sellable_other"),
            (HaltAction::Withdraw, "non_sellable_other"),
        ] {
            let event = halt_event(
                &stored(EntryBody::HaltNotice {
                    issuer: "lumatek".parse().unwrap(),
                    sequence: 3,
                    action,
                    products: vec!["lumatek-c3pro".parse().unwrap()],
                    digests: Vec::new(),
                    notice: cragate_verifier::Digest::of(b"n"),
                    reason: "CVE-2026-0001".into(),
                }),
                &BTreeMap::from([("lumatek-c3pro".parse().unwrap(), "6940000001014".into())]),
            );
            assert_eq!(event["disposition"], disposition);
            assert_eq!(
                event["quantityList"][0]["epcClass"],
                "https://id.gs1.org/01/06940000001014"
            );
        }
    }

    #[test]
    fn classes_are_digital_links_or_urns() {
        let id: ProductId = "a b".parse().unwrap_or_else(|_| "ab".parse().unwrap());
        assert_eq!(
            class(
                &"p".parse().unwrap(),
                Some(&"12345670".into()),
                Some("W 41/2")
            ),
            "https://id.gs1.org/01/00000012345670/10/W%2041%2F2"
        );
        assert!(class(&id, None, None).starts_with("urn:cragate:product:"));
        assert!(!is_gtin("69400000010a"));
    }
}
