//! What a shipment leaves on the ledger, per judged item:
//! - a `decision` entry (the verdict, `deny` when an artifact's bytes are
//!   not the ones listed; the policy digest; the evidence digests);
//! - the listing as judged and the item's report as documents (Art. 19(2)
//!   last subparagraph: the importer can show what it checked);
//! - for an accepted item, the DoC as a `declaration_of_conformity`
//!   document (Art. 19(6): kept ten years or the support period, if
//!   longer) and an inbound `supply_link` naming the shipment's supplier,
//!   the quantity, the batch and the shipment's reference (Art. 23(1)(a),
//!   23(2)).
//!
//! A refused item has the decision and its documents only: it was not
//! supplied onwards, nor placed on the market. An item that could not be
//! judged but whose listing names a product is recorded as refused
//! unchecked ([`unchecked_submissions`]); one whose listing could not be
//! read names no product to record and is in the shipment report only.

use cragate_verifier::Digest;
use cragate_verifier::evidence::{Listing, ProductId};
use cragate_verifier::verdict::Decision;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;

use super::item::{Judged, Supplied};
use super::manifest::{Item, Shipment};
use super::report::{ItemReport, evidence};
use crate::ledger::entry::{
    Client, Direction, DocumentKind, Entry, EntryBody, EntryError, Submission,
};
use crate::pipeline::record::{
    LISTING_MEDIA_TYPE, LISTING_REFERENCE_MEDIA_TYPE, MAX_ARCHIVED_REFUSED_LISTING_BYTES,
};

/// Media type of an archived DoC.
pub const DOC_MEDIA_TYPE: &str = "application/vnd.cragate.doc.v1+json";

/// Media type of an archived simplified DoC (Annex VI).
pub const SIMPLIFIED_DOC_MEDIA_TYPE: &str = "application/vnd.cragate.simplified-doc.v1+json";

/// Media type of an item's report.
pub const ITEM_REPORT_MEDIA_TYPE: &str = "application/vnd.cragate.shipment-item-report.v1+json";

/// The address recorded as the decision's client: the command, not a peer.
pub const CLIENT_ADDRESS: &str = "cragate gate";

/// The entries one judged item writes.
pub fn submissions(
    shipment: &Shipment,
    item: &Item,
    judged: &Judged,
    report: &ItemReport,
    at: Timestamp,
) -> Result<Vec<Submission>, String> {
    let listing = &judged.listing;
    let accepted = judged.accepted();
    let verdict = match (accepted, judged.verdict.decision()) {
        (false, Decision::Allow | Decision::Warn) => Decision::Deny,
        (_, decision) => decision,
    };
    let decided = Decided {
        listing,
        verdict,
        policy: judged.verdict.policy().digest,
        evidence: evidence(judged),
        archived: archived_listing(listing, &judged.listing_bytes, accepted),
    };
    let mut out = decided.submissions(shipment, report, at)?;
    if !accepted {
        return Ok(out);
    }
    let product = listing.product_id().clone();
    let support_end = listing.support_end().and_then(last_day);
    if let Some((kind, media_type, content)) = declaration(&judged.listing_bytes) {
        out.push(document(
            &product,
            support_end,
            at,
            kind,
            media_type,
            content,
        )?);
    }
    out.push(
        Submission::new(Entry {
            time: at,
            body: EntryBody::SupplyLink {
                direction: Direction::Inbound,
                product,
                release: release(listing),
                quantity: Some(item.quantity),
                counterparty: shipment.supplier.operator.clone(),
                supplied_on: shipment.arrived_on,
                support_end,
                shipment: Some(shipment.reference.clone()),
                batch: item.batch.clone(),
            },
        })
        .map_err(|e| e.to_string())?,
    );
    Ok(out)
}

/// The entries of an item whose listing names a product but which could
/// not be judged (an artifact file missing or unreadable, an artifact the
/// listing does not name, a listing the policy cannot evaluate): a `deny`
/// decision under `policy`, for the product was not placed on the market
/// (Art. 19(3)), with the listing as supplied as its evidence; the listing
/// and the item's report, which says why it could not be checked, as
/// documents (Art. 19(2), last subparagraph). No DoC and no supply link:
/// nothing was accepted.
pub fn unchecked_submissions(
    shipment: &Shipment,
    supplied: &Supplied,
    policy: Digest,
    report: &ItemReport,
    at: Timestamp,
) -> Result<Vec<Submission>, String> {
    Decided {
        listing: &supplied.listing,
        verdict: Decision::Deny,
        policy,
        evidence: vec![supplied.listing.digest()],
        archived: archived_listing(&supplied.listing, &supplied.bytes, false),
    }
    .submissions(shipment, report, at)
}

/// What every recorded item has: the decision and the listing and report
/// documents.
struct Decided<'a> {
    listing: &'a Listing,
    verdict: Decision,
    policy: Digest,
    evidence: Vec<Digest>,
    archived: (&'static str, Vec<u8>),
}

impl Decided<'_> {
    fn submissions(
        self,
        shipment: &Shipment,
        report: &ItemReport,
        at: Timestamp,
    ) -> Result<Vec<Submission>, String> {
        let product = self.listing.product_id().clone();
        let support_end = self.listing.support_end().and_then(last_day);
        let decision = Submission::new(Entry {
            time: at,
            body: EntryBody::Decision {
                product: product.clone(),
                release: release(self.listing),
                verdict: self.verdict,
                policy: self.policy,
                evidence: self.evidence,
                client: Client {
                    identity: None,
                    address: format!("{CLIENT_ADDRESS} {}", shipment.reference),
                },
                support_end,
            },
        })
        .map_err(|e| e.to_string())?;
        let (media_type, listing_bytes) = self.archived;
        let report = serde_json::to_vec(report).map_err(|e| e.to_string())?;
        Ok(vec![
            decision,
            document(
                &product,
                support_end,
                at,
                DocumentKind::Other,
                media_type,
                listing_bytes,
            )?,
            document(
                &product,
                support_end,
                at,
                DocumentKind::VerificationReport,
                ITEM_REPORT_MEDIA_TYPE,
                report,
            )?,
        ])
    }
}

fn release(listing: &Listing) -> Option<String> {
    Some(listing.version().to_owned()).filter(|v| !v.is_empty())
}

/// A document entry archiving `content`.
fn document(
    product: &ProductId,
    support_end: Option<Date>,
    at: Timestamp,
    kind: DocumentKind,
    media_type: &str,
    content: Vec<u8>,
) -> Result<Submission, String> {
    Submission::document(
        Entry {
            time: at,
            body: EntryBody::Document {
                product: product.clone(),
                document: kind,
                digest: Digest::of(&content),
                size: u64::try_from(content.len()).unwrap_or(u64::MAX),
                media_type: media_type.to_owned(),
                support_end,
            },
        },
        content,
    )
    .map_err(|e: EntryError| e.to_string())
}

/// The listing's bytes, or for a large refused one its digest and size,
/// as `serve` keeps them.
fn archived_listing(listing: &Listing, bytes: &[u8], accepted: bool) -> (&'static str, Vec<u8>) {
    if accepted || bytes.len() <= MAX_ARCHIVED_REFUSED_LISTING_BYTES {
        return (LISTING_MEDIA_TYPE, bytes.to_vec());
    }
    let reference = serde_json::json!({
        "format": "cragate.listing-reference/v1",
        "digest": listing.digest(),
        "size": bytes.len(),
    });
    (
        LISTING_REFERENCE_MEDIA_TYPE,
        reference.to_string().into_bytes(),
    )
}

/// The DoC the listing carries: the full one (Annex V) or else the
/// simplified one (Annex VI), as its JSON.
fn declaration(listing_bytes: &[u8]) -> Option<(DocumentKind, &'static str, Vec<u8>)> {
    let listing: Value = serde_json::from_slice(listing_bytes).ok()?;
    let doc = listing.get("declaration_of_conformity")?;
    if let Some(full) = doc.get("full").filter(|f| !f.is_null()) {
        let bytes = serde_json::to_vec(full).ok()?;
        return Some((DocumentKind::DeclarationOfConformity, DOC_MEDIA_TYPE, bytes));
    }
    let simplified = doc.get("simplified").filter(|s| !s.is_null())?;
    let bytes = serde_json::to_vec(simplified).ok()?;
    Some((
        DocumentKind::SimplifiedDeclaration,
        SIMPLIFIED_DOC_MEDIA_TYPE,
        bytes,
    ))
}

/// `YYYY-MM` means the last day of that month; `YYYY-MM-DD` that day.
fn last_day(end: &str) -> Option<Date> {
    if let Ok(date) = end.parse::<Date>() {
        return Some(date);
    }
    let (year, month) = end.split_once('-')?;
    let first = Date::new(year.parse().ok()?, month.parse().ok()?, 1).ok()?;
    Some(first.last_of_month())
}
