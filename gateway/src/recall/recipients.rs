//! Who must be told of a notice: the customers the ledger's outbound
//! supply links say received a unit in scope (CRA Art. 23(1)(b): the
//! records of whom the operator supplied; Art. 19(5), 20(4): inform them),
//! and, for a `lift`, the same customers as the notice it lifts.
//!
//! A link is in scope when its product is named and its `release` and
//! `batch`, where it records them, fall in the notice's `versions` and
//! `batches`; a link that does not record one is in scope for it (fail
//! closed: a customer is never left untold because a record is
//! incomplete), and so is a release that is not semver. Links carry no
//! artifact digests, so `digests` does not narrow who is told.
//!
//! A customer named by a supply link but missing from `[[customers]]`
//! cannot be reached; it is listed apart so that the operator sees whom
//! to tell by other means, and `cragate recall status` shows it.

use std::collections::BTreeMap;

use cragate_verifier::halt::{Scope, Unit};

use crate::config::partners::Customer;
use crate::ledger::entry::EntryBody;
use crate::ledger::{LedgerError, LedgerStore, ProductId, supply_chain};

/// The customers a notice goes to.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    /// Configured customers, each with the products in scope it received.
    pub reachable: Vec<(Customer, Vec<ProductId>)>,
    /// Customers of outbound supply links that have no `[[customers]]`
    /// entry, with the products they received.
    pub unreachable: Vec<(String, Vec<ProductId>)>,
}

/// The customers that received a unit in `scope`, by the ledger.
pub fn from_supply_links(
    ledger: &dyn LedgerStore,
    scope: &Scope,
    customers: &[Customer],
) -> Result<Recipients, LedgerError> {
    let mut received: BTreeMap<String, Vec<ProductId>> = BTreeMap::new();
    for product in &scope.products {
        for link in supply_chain(ledger, product)?.downstream {
            if let EntryBody::SupplyLink {
                counterparty,
                release,
                batch,
                ..
            } = &link.record.body
            {
                let unit = Unit {
                    product: product.as_str(),
                    version: release.as_deref(),
                    digests: &[],
                    batch: batch.as_deref(),
                };
                if !scope.covers(&unit) {
                    continue;
                }
                let list = received
                    .entry(counterparty.id.as_str().to_owned())
                    .or_default();
                if !list.contains(product) {
                    list.push(product.clone());
                }
            }
        }
    }
    Ok(split(received, customers))
}

/// The customers of an earlier notice's deliveries (for a `lift`), with
/// the products of the lift.
pub fn same_as(earlier: &[String], products: &[ProductId], customers: &[Customer]) -> Recipients {
    let received = earlier
        .iter()
        .map(|id| (id.clone(), products.to_vec()))
        .collect();
    split(received, customers)
}

fn split(received: BTreeMap<String, Vec<ProductId>>, customers: &[Customer]) -> Recipients {
    let mut recipients = Recipients::default();
    for (id, products) in received {
        match customers.iter().find(|c| c.id == id) {
            Some(customer) => recipients.reachable.push((customer.clone(), products)),
            None => recipients.unreachable.push((id, products)),
        }
    }
    recipients
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::Timestamp;

    use super::*;
    use crate::http::webhook::WebhookSecret;
    use crate::ledger::entry::{Direction, Operator};
    use crate::ledger::{Entry, RedbLedger, SigningKey, StoreOptions, Submission};

    fn link(direction: Direction, product: &str, customer: &str) -> Submission {
        link_of(direction, product, customer, Some("2.8.1"), None)
    }

    fn link_of(
        direction: Direction,
        product: &str,
        customer: &str,
        release: Option<&str>,
        batch: Option<&str>,
    ) -> Submission {
        Submission::new(Entry {
            time: Timestamp::now(),
            body: EntryBody::SupplyLink {
                direction,
                product: product.parse().unwrap(),
                release: release.map(str::to_owned),
                quantity: Some(10),
                counterparty: Operator {
                    id: customer.parse().unwrap(),
                    name: customer.into(),
                    postal_address: "Somewhere 1".into(),
                },
                supplied_on: "2026-11-20".parse().unwrap(),
                support_end: None,
                shipment: None,
                batch: batch.map(str::to_owned),
            },
        })
        .unwrap()
    }

    fn customer(id: &str) -> Customer {
        Customer {
            id: id.into(),
            webhook: Some("http://127.0.0.1:9/v1/notifications".parse().unwrap()),
            secret: WebhookSecret::from_bytes(&[1; 32]),
            feed_token: None,
        }
    }

    #[test]
    fn outbound_links_of_products_in_scope_name_the_customers() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::load_or_create(&dir.path().join("key")).unwrap();
        let ledger: Arc<dyn LedgerStore> =
            Arc::new(RedbLedger::in_memory(key, StoreOptions::default()).unwrap());
        ledger
            .append_batch(&[
                link(Direction::Outbound, "lumacam-c3-pro", "reseller-nord"),
                link(Direction::Outbound, "lumacam-c3-pro", "reseller-nord"),
                link(Direction::Outbound, "lumacam-c3-mini", "reseller-nord"),
                link(Direction::Outbound, "lumacam-c3-pro", "shop-unknown"),
                link(Direction::Inbound, "lumacam-c3-pro", "nordlicht-import"),
                link(Direction::Outbound, "other-product", "reseller-sued"),
            ])
            .unwrap();
        let scope = scope(&["lumacam-c3-pro", "lumacam-c3-mini"], None, &[]);
        let customers = [customer("reseller-nord"), customer("reseller-sued")];
        let recipients = from_supply_links(ledger.as_ref(), &scope, &customers).unwrap();
        assert_eq!(recipients.reachable.len(), 1);
        let (who, what) = &recipients.reachable[0];
        assert_eq!(who.id, "reseller-nord");
        assert_eq!(what.len(), 2);
        assert_eq!(recipients.unreachable.len(), 1);
        assert_eq!(recipients.unreachable[0].0, "shop-unknown");
    }

    fn scope(products: &[&str], versions: Option<&str>, batches: &[&str]) -> Scope {
        Scope {
            products: products.iter().map(|p| p.parse().unwrap()).collect(),
            versions: versions.map(|v| cragate_verifier::halt::VersionRange::parse(v).unwrap()),
            digests: Vec::new(),
            batches: batches.iter().map(|b| (*b).to_owned()).collect(),
        }
    }

    #[test]
    fn releases_and_batches_outside_the_scope_are_not_told_and_unknown_ones_are() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::load_or_create(&dir.path().join("key")).unwrap();
        let ledger: Arc<dyn LedgerStore> =
            Arc::new(RedbLedger::in_memory(key, StoreOptions::default()).unwrap());
        let p = "lumacam-c3-pro";
        ledger
            .append_batch(&[
                link_of(Direction::Outbound, p, "old-release", Some("2.8.1"), None),
                link_of(Direction::Outbound, p, "new-release", Some("2.9.0"), None),
                link_of(Direction::Outbound, p, "no-release", None, None),
                link_of(Direction::Outbound, p, "odd-release", Some("build 7"), None),
                link_of(
                    Direction::Outbound,
                    p,
                    "other-batch",
                    Some("2.8.1"),
                    Some("W40"),
                ),
                link_of(
                    Direction::Outbound,
                    p,
                    "same-batch",
                    Some("2.8.1"),
                    Some("W41"),
                ),
            ])
            .unwrap();
        let names = |scope: &Scope| {
            let recipients = from_supply_links(ledger.as_ref(), scope, &[]).unwrap();
            recipients
                .unreachable
                .into_iter()
                .map(|(id, _)| id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&scope(&[p], Some("<2.9.0"), &[])),
            [
                "no-release",
                "odd-release",
                "old-release",
                "other-batch",
                "same-batch"
            ]
        );
        assert_eq!(
            names(&scope(&[p], Some("<2.9.0"), &["W41"])),
            ["no-release", "odd-release", "old-release", "same-batch"]
        );
        assert_eq!(names(&scope(&[p], None, &[])).len(), 6);
    }

    #[test]
    fn a_lift_goes_to_the_same_customers() {
        let products = ["lumacam-c3-pro".parse().unwrap()];
        let earlier = ["reseller-nord".to_owned(), "gone-shop".to_owned()];
        let recipients = same_as(&earlier, &products, &[customer("reseller-nord")]);
        assert_eq!(recipients.reachable.len(), 1);
        assert_eq!(recipients.unreachable[0].0, "gone-shop");
    }
}
