//! The decision phase's ledger side: every verdict the gateway computes is
//! appended to the ledger, durably, before the response that reports it is
//! sent (CRA Art. 19(2), 20(2): what was checked; Art. 23: who supplied it).
//!
//! For each decision the ledger gets a `decision` entry (verdict, policy
//! digest, evidence digests, client), the listing and the verdict as
//! documents stored once by content digest (the listing carries the DoC an
//! importer must keep, Art. 19(6)), and, when a submission is accepted and
//! names its supplier, an inbound `supply_link`. A verdict served from the
//! verdict cache was recorded when it was computed and is not recorded again.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::ledger::appender::{AppendError, Appender};
use crate::ledger::entry::{
    Client, Direction, DocumentKind, Entry, EntryBody, Operator, OperatorId, ProductId, Submission,
};
use cragate_verifier::Digest;
use cragate_verifier::evidence::Listing;
use cragate_verifier::verdict::Verdict;
use futures_util::future::try_join_all;
use jiff::civil::Date;

use super::DecisionSink;
use crate::http::error::GatewayError;

/// One decision, with what it was computed from and who asked.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRecord<'a> {
    /// The verdict.
    pub verdict: &'a Verdict,
    /// The listing judged, when the route parsed one.
    pub listing: Option<&'a Listing>,
    /// The listing's bytes as judged.
    pub listing_bytes: &'a [u8],
    /// The peer that asked.
    pub peer: Option<SocketAddr>,
    /// Whether this decision accepts a submission (which records the
    /// inbound supply from the listing's supplier).
    pub submission: bool,
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

    async fn append_all(&self, record: DecisionRecord<'_>) -> Result<(), GatewayError> {
        let submissions = submissions(&record).map_err(GatewayError::Ledger)?;
        try_join_all(submissions.into_iter().map(|s| self.appender.append(s)))
            .await
            .map_err(|error| match error {
                AppendError::Overloaded => {
                    GatewayError::Ledger("the ledger is busy; try again".to_owned())
                }
                other => GatewayError::Ledger(other.to_string()),
            })?;
        Ok(())
    }
}

impl DecisionSink for LedgerSink {
    fn record<'a>(
        &'a self,
        record: DecisionRecord<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>> {
        Box::pin(self.append_all(record))
    }
}

/// The entries one decision writes.
fn submissions(record: &DecisionRecord<'_>) -> Result<Vec<Submission>, String> {
    let verdict = record.verdict;
    let time = verdict.evaluated_at();
    let product: ProductId = verdict
        .listing()
        .product_id
        .parse()
        .map_err(|e| format!("product id: {e}"))?;
    let release = Some(verdict.listing().version.clone()).filter(|v| !v.is_empty());
    let support_end = record
        .listing
        .and_then(|l| l.support_end())
        .and_then(last_day);
    let report = serde_json::to_vec(verdict).map_err(|e| e.to_string())?;
    let mut evidence = vec![verdict.listing().digest];
    if let Some(listing) = record.listing {
        evidence.extend(listing.artifacts().iter().map(|a| a.digest));
    }
    let decision = Entry {
        time,
        body: EntryBody::Decision {
            product: product.clone(),
            release: release.clone(),
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
    let mut submissions = vec![
        Submission::new(decision).map_err(|e| e.to_string())?,
        document(
            DocumentKind::Other,
            "application/vnd.cragate.listing.v1+json",
            record.listing_bytes.to_vec(),
        )?,
        document(
            DocumentKind::VerificationReport,
            "application/vnd.cragate.verdict.v1+json",
            report,
        )?,
    ];
    let accepted = verdict.decision().accepts();
    if let (true, true, Some((name, address))) = (
        record.submission,
        accepted,
        record.listing.and_then(Listing::supplier),
    ) {
        let link = Entry {
            time,
            body: EntryBody::SupplyLink {
                direction: Direction::Inbound,
                product,
                release,
                quantity: None,
                counterparty: Operator {
                    id: supplier_id(name)?,
                    name: name.to_owned(),
                    postal_address: address.to_owned(),
                },
                supplied_on: time.to_zoned(jiff::tz::TimeZone::UTC).date(),
                support_end,
            },
        };
        submissions.push(Submission::new(link).map_err(|e| e.to_string())?);
    }
    Ok(submissions)
}

/// An operator id from a name: lower-case words joined by `-`.
fn supplier_id(name: &str) -> Result<OperatorId, String> {
    let id: String = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-");
    id.parse().map_err(|e| format!("supplier id: {e}"))
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
