//! The shipment report (`report.json`, format `cragate.shipment-report/v1`):
//! the per-item verification record an importer must be able to produce
//! (CRA Art. 19(2), last subparagraph): for every item its product id, the
//! decision, every check with the article it serves, and the digests of
//! the evidence judged. `report.html` ([`super::html`]) renders the same
//! for people. [`Report`] is the shipment's part; each item's
//! [`ItemReport`] is kept on disk as it finishes ([`super::spill`]) and
//! read back into both files.

use std::collections::BTreeMap;

use cragate_verifier::Digest;
use cragate_verifier::evidence::Listing;
use cragate_verifier::policy::ImporterDetails;
use cragate_verifier::verdict::{Outcome, Severity};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::item::{ARTIFACT_ARTICLE, ARTIFACT_CHECK, Judged, Judgement};
use super::manifest::{Item, ItemError, Shipment};

/// The `format` of `report.json`.
pub const REPORT_FORMAT: &str = "cragate.shipment-report/v1";

/// The shipment's part of the report: everything but the items, which
/// follow it in `report.json` as `items` (every item, in manifest order).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: &'static str,
    /// The shipment's reference.
    pub reference: String,
    /// The day it arrived.
    pub arrived_on: Date,
    /// Who supplied it (Art. 23).
    pub supplier: SupplierView,
    /// Its accompanying documents.
    pub documents: BTreeMap<String, String>,
    /// The policy every item was judged under.
    pub policy: PolicyView,
    /// The evaluation time.
    pub evaluated_at: Timestamp,
    /// The importer's details stamped where missing (Art. 19(4)).
    pub importer: Option<ImporterDetails>,
    /// Counts.
    pub totals: Totals,
}

/// The supplier as reported.
#[derive(Debug, Clone, Serialize)]
pub struct SupplierView {
    /// Operator id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Postal address.
    pub postal_address: String,
    /// E-mail, where given.
    pub email: Option<String>,
    /// Country, where given.
    pub country: Option<String>,
}

/// The policy as reported.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    /// Its name.
    pub name: String,
    /// Its digest.
    pub digest: Digest,
}

/// Counts of items by decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// All items.
    pub items: usize,
    /// Accepted: may be placed on the market.
    pub accepted: usize,
    /// Judged and refused.
    pub refused: usize,
    /// Could not be judged.
    pub unusable: usize,
}

/// An item's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemDecision {
    /// Every required check passed and every artifact is the one listed.
    Accepted,
    /// Judged and refused.
    Refused,
    /// Could not be judged.
    Unusable,
}

impl ItemDecision {
    /// As in `report.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Unusable => "unusable",
        }
    }
}

/// One item of the report.
#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    /// Position in the manifest's `items`.
    pub index: usize,
    /// Where its listing came from (a path, or `inline`).
    pub listing: String,
    /// `product.id`, once the listing could be read (also for an item
    /// that could not be judged past that).
    pub product_id: Option<String>,
    /// `product.name`, once read.
    pub product_name: Option<String>,
    /// `product.version`, once read.
    pub version: Option<String>,
    /// Accepted, refused or unusable.
    pub decision: ItemDecision,
    /// The verifier's verdict (`allow`, `deny`, `warn`), once judged.
    pub verdict: Option<&'static str>,
    /// Why it could not be judged.
    pub error: Option<String>,
    /// Units received.
    pub quantity: Option<u64>,
    /// Batch, where given.
    pub batch: Option<String>,
    /// Serial numbers, where given.
    pub serials: Vec<String>,
    /// Whether the importer's details were stamped (Art. 19(4)).
    pub importer_stamped: bool,
    /// Every check, the verifier's and the artifact comparisons.
    pub checks: Vec<CheckView>,
    /// Digests of the evidence judged: the listing as judged, the listing
    /// as supplied when it was stamped, then each artifact file.
    pub evidence: Vec<Digest>,
}

/// One check as reported.
#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    /// Check id.
    pub id: String,
    /// The provision it serves.
    pub article: String,
    /// `pass`, `fail` or `not_applicable`.
    pub result: Outcome,
    /// `required` or `warn`.
    pub severity: Severity,
    /// A sentence a person can act on.
    pub detail: String,
}

impl CheckView {
    /// Whether it failed.
    pub fn failed(&self) -> bool {
        self.result == Outcome::Fail
    }
}

impl ItemReport {
    /// The report of one item and what became of it.
    pub fn new(item: Result<&Item, &ItemError>, judgement: Option<&Judgement>) -> Self {
        let (index, listing, quantity, batch, serials) = match item {
            Ok(item) => (
                item.index,
                item.listing.describe(),
                Some(item.quantity),
                item.batch.clone(),
                item.serials.clone(),
            ),
            Err(error) => (error.index, String::new(), None, None, Vec::new()),
        };
        let mut report = Self {
            index,
            listing,
            product_id: None,
            product_name: None,
            version: None,
            decision: ItemDecision::Unusable,
            verdict: None,
            error: None,
            quantity,
            batch,
            serials,
            importer_stamped: false,
            checks: Vec::new(),
            evidence: Vec::new(),
        };
        match (item, judgement) {
            (Err(error), _) => report.error = Some(error.to_string()),
            (Ok(_), Some(Judgement::Unusable(unusable))) => {
                report.error = Some(unusable.error.to_string());
                if let Some(supplied) = &unusable.supplied {
                    report.product(&supplied.listing);
                    report.evidence = vec![supplied.listing.digest()];
                }
            }
            (Ok(_), None) => report.error = Some("not judged".to_owned()),
            (Ok(_), Some(Judgement::Judged(judged))) => report.judged(judged),
        }
        report
    }

    fn product(&mut self, listing: &Listing) {
        self.product_id = Some(listing.product_id().to_string());
        self.product_name = Some(listing.product_name().to_owned());
        self.version = Some(listing.version().to_owned());
    }

    fn judged(&mut self, judged: &Judged) {
        self.product(&judged.listing);
        self.decision = if judged.accepted() {
            ItemDecision::Accepted
        } else {
            ItemDecision::Refused
        };
        self.verdict = Some(judged.verdict.decision().as_str());
        self.importer_stamped = judged.stamped;
        self.checks = judged
            .verdict
            .checks()
            .iter()
            .map(|c| CheckView {
                id: c.id.to_string(),
                article: c.article.to_owned(),
                result: c.result,
                severity: c.severity,
                detail: c.detail.clone(),
            })
            .collect();
        self.checks
            .extend(judged.artifacts.iter().map(|artifact| CheckView {
                id: ARTIFACT_CHECK.to_owned(),
                article: ARTIFACT_ARTICLE.to_owned(),
                result: if artifact.matches() {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
                severity: Severity::Required,
                detail: artifact.detail(),
            }));
        self.evidence = evidence(judged);
    }

    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CheckView> {
        self.checks.iter().filter(|c| c.failed())
    }
}

/// The evidence digests of a judged item, as the report and the ledger's
/// decision entry give them.
pub fn evidence(judged: &Judged) -> Vec<Digest> {
    let mut evidence = vec![judged.listing.digest()];
    if judged.stamped {
        evidence.push(judged.supplied_digest);
    }
    evidence.extend(judged.artifacts.iter().map(|a| a.digest));
    evidence
}

impl Report {
    /// The report of `shipment` whose items came to `totals`.
    pub fn new(
        shipment: &Shipment,
        policy: PolicyView,
        importer: Option<ImporterDetails>,
        evaluated_at: Timestamp,
        totals: Totals,
    ) -> Self {
        let supplier = &shipment.supplier;
        Self {
            format: REPORT_FORMAT,
            reference: shipment.reference.clone(),
            arrived_on: shipment.arrived_on,
            supplier: SupplierView {
                id: supplier.operator.id.to_string(),
                name: supplier.operator.name.clone(),
                postal_address: supplier.operator.postal_address.clone(),
                email: supplier.email.clone(),
                country: supplier.country.clone(),
            },
            documents: shipment.documents.clone(),
            policy,
            evaluated_at,
            importer,
            totals,
        }
    }
}
