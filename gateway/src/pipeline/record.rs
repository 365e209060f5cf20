//! The decision phase's ledger side: every verdict the gateway computes is
//! appended to the ledger, durably, before the response that reports it is
//! sent (CRA Art. 19(2), 20(2): what was checked; Art. 23: who supplied it).
//!
//! For each decision the ledger gets a `decision` entry (verdict, policy
//! digest, evidence digests, client), the listing and the verdict as
//! documents stored once by content digest (the listing carries the DoC an
//! importer must keep, Art. 19(6); a refused listing over
//! [`MAX_ARCHIVED_REFUSED_LISTING_BYTES`] is kept as its digest and size),
//! and, once an accepted submission that names its supplier is stored, an
//! inbound `supply_link` ([`SupplyLink`]). A verdict served from the
//! verdict cache was recorded when it was computed and is not recorded
//! again. Nothing is recorded for a listing refused before its decision.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use cragate_verifier::Digest;
use cragate_verifier::cosign::ImageVerdict;
use cragate_verifier::evidence::Listing;
use cragate_verifier::verdict::Verdict;
use futures_util::future::try_join_all;
use jiff::civil::Date;
use serde_json::json;

use super::DecisionSink;
use crate::http::error::{Cause, ErrorKind, Excerpt, GatewayError};
use crate::ledger::appender::{AppendError, Appender};
use crate::ledger::entry::{
    Client, Direction, DocumentKind, Entry, EntryBody, Operator, OperatorId, ProductId, Submission,
};

/// Largest refused listing archived whole on the ledger, in bytes. A
/// listing with an inline DoC is a few KiB, so every ordinary listing is
/// kept whole, refused or not; above this a refused listing is recorded by
/// its digest and size only (a `listing-reference` document), so that a
/// flood of refused listings at the 16 MiB listing limit costs the ledger
/// about a kilobyte each instead of their size for ten years. An accepted
/// listing is always archived whole: it carries the DoC an importer must
/// keep (Art. 19(6)).
pub const MAX_ARCHIVED_REFUSED_LISTING_BYTES: usize = 64 * 1024;

/// Media type of an archived listing.
pub const LISTING_MEDIA_TYPE: &str = "application/vnd.cragate.listing.v1+json";

/// Media type of the record that stands for a refused listing over
/// [`MAX_ARCHIVED_REFUSED_LISTING_BYTES`]: `{"format":
/// "cragate.listing-reference/v1", "digest": "sha256:...", "size": N}`.
pub const LISTING_REFERENCE_MEDIA_TYPE: &str = "application/vnd.cragate.listing-reference.v1+json";

/// One decision, with what it was computed from and who asked.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRecord<'a> {
    /// The verdict.
    pub verdict: &'a Verdict,
    /// The listing judged.
    pub listing: &'a Listing,
    /// The listing's bytes as judged.
    pub listing_bytes: &'a [u8],
    /// The peer that asked.
    pub peer: Option<SocketAddr>,
}

/// The inbound supply of an accepted submission (Art. 23(1)): built when
/// the listing is judged, so that a supplier the ledger cannot name is
/// refused before the decision, and recorded only once the listing is
/// stored ([`super::judge::stored`]).
#[derive(Debug)]
pub struct SupplyLink(Submission);

impl SupplyLink {
    /// The supply link of an accepted listing that names its supplier.
    pub fn of(listing: &Listing, verdict: &Verdict) -> Result<Option<Self>, ErrorKind> {
        let Some((name, address)) = listing.supplier() else {
            return Ok(None);
        };
        let time = verdict.evaluated_at();
        let unusable = |what: &str, text: &str| {
            ErrorKind::BadRequest(format!(
                "{what} {} cannot be recorded on the ledger",
                Excerpt::new(text)
            ))
        };
        let product = product_id(verdict)
            .map_err(|_| unusable("product.id", verdict.listing().product_id.as_str()))?;
        let link = Entry {
            time,
            body: EntryBody::SupplyLink {
                direction: Direction::Inbound,
                product,
                release: release(verdict),
                quantity: None,
                counterparty: Operator {
                    id: supplier_id(name).map_err(|_| unusable("operators.supplier.name", name))?,
                    name: name.to_owned(),
                    postal_address: address.to_owned(),
                },
                supplied_on: time.to_zoned(jiff::tz::TimeZone::UTC).date(),
                support_end: support_end(listing),
                shipment: None,
                batch: None,
            },
        };
        Submission::new(link)
            .map(|s| Some(Self(s)))
            .map_err(|e| ErrorKind::Internal(e.to_string()))
    }
}

/// Appends decisions through the ledger's group-commit writer.
#[derive(Debug)]
pub struct LedgerSink {
    appender: Arc<Appender>,
}

impl LedgerSink {
    /// A sink in front of `appender`.
    pub fn new(appender: Arc<Appender>) -> Self {
        Self { appender }
    }

    async fn append_all(&self, submissions: Vec<Submission>) -> Result<(), GatewayError> {
        try_join_all(submissions.into_iter().map(|s| self.appender.append(s)))
            .await
            .map_err(|error| {
                let cause: Cause = match error {
                    AppendError::Overloaded => "the ledger is busy; try again".into(),
                    other => Box::new(other),
                };
                GatewayError::gateway(ErrorKind::Ledger(cause))
            })?;
        Ok(())
    }
}

impl DecisionSink for LedgerSink {
    fn record<'a>(
        &'a self,
        record: DecisionRecord<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>> {
        Box::pin(async move {
            let submissions = submissions(&record)
                .map_err(|e| GatewayError::gateway(ErrorKind::Ledger(e.into())))?;
            self.append_all(submissions).await
        })
    }

    fn image<'a>(
        &'a self,
        verdict: &'a ImageVerdict,
        peer: Option<SocketAddr>,
    ) -> Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>> {
        Box::pin(async move {
            let submissions = image_submissions(verdict, peer)
                .map_err(|e| GatewayError::gateway(ErrorKind::Ledger(e.into())))?;
            self.append_all(submissions).await
        })
    }

    fn supplied<'a>(
        &'a self,
        link: &'a SupplyLink,
    ) -> Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>> {
        Box::pin(self.append_all(vec![link.0.clone()]))
    }
}

/// The entries one decision writes: the decision, the listing (or, for a
/// large refused one, its reference) and the verdict as documents.
fn submissions(record: &DecisionRecord<'_>) -> Result<Vec<Submission>, String> {
    let verdict = record.verdict;
    let time = verdict.evaluated_at();
    let product = product_id(verdict).map_err(|e| format!("product id: {e}"))?;
    let support_end = support_end(record.listing);
    let report = serde_json::to_vec(verdict).map_err(|e| e.to_string())?;
    let mut evidence = vec![verdict.listing().digest];
    evidence.extend(record.listing.artifacts().iter().map(|a| a.digest));
    let decision = Entry {
        time,
        body: EntryBody::Decision {
            product: product.clone(),
            release: release(verdict),
            verdict: verdict.decision(),
            policy: verdict.policy().digest,
            evidence,
            client: Client {
                identity: None,
                address: record
                    .peer
                    .map_or_else(|| "unknown".to_owned(), |peer| peer.to_string()),
            },
            support_end,
        },
    };
    let document = |kind: DocumentKind, media_type: &str, content: Vec<u8>| {
        let entry = Entry {
            time,
            body: EntryBody::Document {
                product: product.clone(),
                document: kind,
                digest: Digest::of(&content),
                size: u64::try_from(content.len()).unwrap_or(u64::MAX),
                media_type: media_type.to_owned(),
                support_end,
            },
        };
        Submission::document(entry, content).map_err(|e| e.to_string())
    };
    let listing = archived_listing(record);
    Ok(vec![
        Submission::new(decision).map_err(|e| e.to_string())?,
        document(DocumentKind::Other, listing.0, listing.1)?,
        document(
            DocumentKind::VerificationReport,
            "application/vnd.cragate.verdict.v1+json",
            report,
        )?,
    ])
}

/// The entries of an OCI manifest's verdict, like a listing's: the
/// decision (the product named after the repository, the release being
/// the manifest digest, which is also the evidence) and the verdict as a
/// verification report.
fn image_submissions(
    verdict: &ImageVerdict,
    peer: Option<SocketAddr>,
) -> Result<Vec<Submission>, String> {
    let time = verdict.evaluated_at;
    let product = image_product_id(&verdict.repository).map_err(|e| format!("product id: {e}"))?;
    let report = serde_json::to_vec(verdict).map_err(|e| e.to_string())?;
    let decision = Entry {
        time,
        body: EntryBody::Decision {
            product: product.clone(),
            release: Some(verdict.manifest_digest.to_string()),
            verdict: verdict.decision,
            policy: verdict.policy_digest,
            evidence: vec![verdict.manifest_digest],
            client: Client {
                identity: None,
                address: peer.map_or_else(|| "unknown".to_owned(), |peer| peer.to_string()),
            },
            support_end: None,
        },
    };
    let document = Entry {
        time,
        body: EntryBody::Document {
            product,
            document: DocumentKind::VerificationReport,
            digest: Digest::of(&report),
            size: u64::try_from(report.len()).unwrap_or(u64::MAX),
            media_type: IMAGE_VERDICT_MEDIA_TYPE.to_owned(),
            support_end: None,
        },
    };
    Ok(vec![
        Submission::new(decision).map_err(|e| e.to_string())?,
        Submission::document(document, report).map_err(|e| e.to_string())?,
    ])
}

/// Media type of an archived image verdict.
pub const IMAGE_VERDICT_MEDIA_TYPE: &str = "application/vnd.cragate.image-verdict.v1+json";

/// The product id an OCI repository is recorded under: `oci.` and the
/// repository name with each `/` written as `_` and each `_` of the name
/// as `__` (a product id has no `/`), so that two repositories never share
/// an id (`a/b` is `oci.a_b`, `a_b` is `oci.a__b`: in a repository name a
/// `/` and a run of `_` both stand between letters or digits, so the runs
/// tell them apart). A name whose id would be longer than a product id may
/// be keeps its first part and ends with `-` and 16 hex digits of its
/// SHA-256, so that long names stay apart too.
pub fn image_product_id(repository: &str) -> Result<ProductId, String> {
    let mut id = String::with_capacity(repository.len() + 4);
    id.push_str("oci.");
    for c in repository.chars() {
        match c {
            '/' => id.push('_'),
            '_' => id.push_str("__"),
            c => id.push(c),
        }
    }
    let max = cragate_verifier::evidence::MAX_PRODUCT_ID_BYTES;
    if id.len() > max {
        let digest = cragate_verifier::Digest::of(repository.as_bytes()).to_string();
        let hex = digest.trim_start_matches("sha256:");
        let suffix = format!("-{}", hex.get(..16).unwrap_or(hex));
        let mut cut = max.saturating_sub(suffix.len());
        while !id.is_char_boundary(cut) {
            cut = cut.saturating_sub(1);
        }
        id.truncate(cut);
        id.push_str(&suffix);
    }
    id.parse()
        .map_err(|e: cragate_verifier::evidence::ProductIdError| e.to_string())
}

/// What the ledger keeps of the listing: its bytes, or for a refused one
/// over [`MAX_ARCHIVED_REFUSED_LISTING_BYTES`] its digest and size.
fn archived_listing(record: &DecisionRecord<'_>) -> (&'static str, Vec<u8>) {
    let bytes = record.listing_bytes;
    if record.verdict.decision().accepts() || bytes.len() <= MAX_ARCHIVED_REFUSED_LISTING_BYTES {
        return (LISTING_MEDIA_TYPE, bytes.to_vec());
    }
    let reference = json!({
        "format": "cragate.listing-reference/v1",
        "digest": record.verdict.listing().digest,
        "size": bytes.len(),
    });
    (
        LISTING_REFERENCE_MEDIA_TYPE,
        reference.to_string().into_bytes(),
    )
}

fn product_id(verdict: &Verdict) -> Result<ProductId, crate::ledger::EntryError> {
    Ok(verdict.listing().product_id.clone())
}

fn release(verdict: &Verdict) -> Option<String> {
    Some(verdict.listing().version.clone()).filter(|v| !v.is_empty())
}

fn support_end(listing: &Listing) -> Option<Date> {
    listing.support_end().and_then(last_day)
}

/// An operator id from a name: lower-case words joined by `-`.
fn supplier_id(name: &str) -> Result<OperatorId, crate::ledger::EntryError> {
    let id: String = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-");
    id.parse()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_never_share_a_product_id() {
        let id = |name: &str| image_product_id(name).unwrap().as_str().to_owned();
        assert_eq!(id("acme/cam"), "oci.acme_cam");
        assert_eq!(id("acme_cam"), "oci.acme__cam");
        assert_eq!(id("a__b/c"), "oci.a____b_c");
        let names = [
            "a/b", "a_b", "a__b", "a/b/c", "a_b/c", "a/b_c", "a.b", "a-b",
        ];
        let ids: std::collections::BTreeSet<String> = names.iter().map(|n| id(n)).collect();
        assert_eq!(ids.len(), names.len(), "{ids:?}");
        let long = |tail: &str| format!("{}{tail}", "x".repeat(200));
        let (one, two) = (id(&long("/a")), id(&long("/b")));
        assert_ne!(one, two, "long names stay apart");
        assert!(one.len() <= cragate_verifier::evidence::MAX_PRODUCT_ID_BYTES);
    }

    #[test]
    fn support_ends_at_the_end_of_the_month_given() {
        assert_eq!(last_day("2031-12"), Some(jiff::civil::date(2031, 12, 31)));
        assert_eq!(last_day("2028-02"), Some(jiff::civil::date(2028, 2, 29)));
        assert_eq!(last_day("2030-06-15"), Some(jiff::civil::date(2030, 6, 15)));
        assert_eq!(last_day("soon"), None);
    }

    #[test]
    fn supplier_ids_are_stable_words() {
        assert_eq!(
            supplier_id("Bastion Secure Systems Oy").unwrap().as_str(),
            "bastion-secure-systems-oy"
        );
    }
}
