//! Retention: nothing is deleted before its ten years are over.
//!
//! CRA Art. 23(2) asks for supply records for ten years after being
//! supplied and after supplying; Art. 19(6) asks importers to keep the DoC
//! for ten years after placing on the market or for the support period if
//! that is longer. cragate keeps every entry until ten years after the later
//! of its own date (the supply day for a supply link, the entry time
//! otherwise) and the latest support-period end stated for any of its
//! products, and only then lets its body be pruned.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::entry::{EntryBody, Record};

/// Years an entry is kept after its retention anchor (Art. 19(6), 23(2)).
pub const RETENTION_YEARS: i16 = 10;

/// Why a prune was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// The entry's retention period has not ended.
    #[error("entry {index} must be kept until {until} (ten years after {anchor}); refused")]
    Retained {
        /// The leaf index.
        index: u64,
        /// The later of its own date and its products' support-period end.
        anchor: Date,
        /// The first day it may be pruned.
        until: Date,
    },
}

/// The later of the entry's own date and every support-period end known
/// for it: `product_support_end` is the latest one the ledger has seen for
/// any of the entry's products.
pub fn anchor(record: &Record, product_support_end: Option<Date>) -> Date {
    let own = match &record.body {
        EntryBody::SupplyLink { supplied_on, .. } => *supplied_on,
        _ => utc_date(record.time),
    };
    [Some(own), record.body.support_end(), product_support_end]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(own)
}

/// The first day an entry anchored at `anchor` may be pruned.
pub fn retention_end(anchor: Date) -> Date {
    anchor
        .checked_add(RETENTION_YEARS.years())
        .unwrap_or(Date::MAX)
}

/// Refuses unless `today` is on or after the entry's retention end.
pub fn check_prunable(
    record: &Record,
    product_support_end: Option<Date>,
    today: Date,
) -> Result<Date, RetentionError> {
    let anchor = anchor(record, product_support_end);
    let until = retention_end(anchor);
    if today < until {
        return Err(RetentionError::Retained {
            index: record.index,
            anchor,
            until,
        });
    }
    Ok(until)
}

/// The UTC calendar day of a timestamp.
pub fn utc_date(time: Timestamp) -> Date {
    time.to_zoned(TimeZone::UTC).date()
}

#[cfg(test)]
mod tests {
    use cragate_verifier::Digest;

    use super::*;
    use crate::ledger::entry::{Direction, Operator};

    fn supply(supplied_on: &str, support_end: Option<&str>) -> Record {
        Record {
            v: 1,
            index: 3,
            time: "2027-01-05T00:00:00Z".parse().unwrap(),
            body: EntryBody::SupplyLink {
                direction: Direction::Outbound,
                product: "p".parse().unwrap(),
                release: None,
                quantity: Some(10),
                counterparty: Operator {
                    id: "shop".parse().unwrap(),
                    name: "Shop".into(),
                    postal_address: "1 Street".into(),
                },
                supplied_on: supplied_on.parse().unwrap(),
                support_end: support_end.map(|d| d.parse().unwrap()),
                shipment: None,
                batch: None,
            },
        }
    }

    #[test]
    fn kept_ten_years_after_supply() {
        let record = supply("2027-01-02", None);
        let refused = check_prunable(&record, None, "2037-01-01".parse().unwrap());
        assert_eq!(
            refused,
            Err(RetentionError::Retained {
                index: 3,
                anchor: "2027-01-02".parse().unwrap(),
                until: "2037-01-02".parse().unwrap(),
            })
        );
        assert!(check_prunable(&record, None, "2037-01-02".parse().unwrap()).is_ok());
    }

    #[test]
    fn a_later_support_end_extends_retention() {
        let record = supply("2027-01-02", Some("2033-06-30"));
        assert!(check_prunable(&record, None, "2043-06-29".parse().unwrap()).is_err());
        let later = Some("2035-12-31".parse().unwrap());
        assert!(check_prunable(&record, later, "2045-12-30".parse().unwrap()).is_err());
        assert!(check_prunable(&record, later, "2045-12-31".parse().unwrap()).is_ok());
    }

    #[test]
    fn other_entries_run_from_their_time() {
        let record = Record {
            v: 1,
            index: 0,
            time: "2027-03-01T23:59:59Z".parse().unwrap(),
            body: EntryBody::NotificationSent {
                notice: Digest::of(b"n"),
                recipient: "shop".parse().unwrap(),
                products: vec![],
                endpoint: "https://shop.example/hook".into(),
            },
        };
        assert_eq!(anchor(&record, None), "2027-03-01".parse().unwrap());
    }
}
