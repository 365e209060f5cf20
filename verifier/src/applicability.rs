//! When the CRA applies to the unit a listing describes (Art. 69, Art. 71).
//!
//! - Art. 71(2): the Regulation applies from 11 December 2027; Chapter IV
//!   (notification of conformity assessment bodies, Art. 35 to 51) from
//!   11 June 2026; Art. 14 (reporting) from 11 September 2026.
//! - Art. 69(2): a product placed on the market before 11 December 2027 is
//!   subject to the Regulation only if it is substantially modified from
//!   that date. The Regulation applies to units, not types (FAQ 7.2).
//!
//! A policy either judges readiness (every check as if the Regulation
//! applied, the default and what the shipped policies do) or, with
//! `enforce = "as-applicable"`, makes the checks of duties not yet in force
//! for the unit `not_applicable`.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::evidence::Listing;
use crate::evidence::syntax::parse_day;

/// The date from which the Regulation applies (Art. 71(2), first subparagraph).
pub const CRA_APPLIES_FROM: Date = jiff::civil::date(2027, 12, 11);

/// The date from which Chapter IV (notified bodies, Art. 35 to 51) applies
/// (Art. 71(2), third subparagraph).
pub const NOTIFIED_BODIES_FROM: Date = jiff::civil::date(2026, 6, 11);

/// Whose rule a check applies, and from when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Duty {
    /// A duty of the Regulation applying from 11 December 2027.
    Cra,
    /// A rule of Chapter IV (notified bodies), applying from 11 June 2026.
    NotifiedBodies,
    /// The policy's own rule (signatures): not a duty of the Regulation.
    Policy,
}

impl Duty {
    /// The date the duty applies from, or `None` for the policy's own rules.
    pub fn applies_from(self) -> Option<Date> {
        match self {
            Self::Cra => Some(CRA_APPLIES_FROM),
            Self::NotifiedBodies => Some(NOTIFIED_BODIES_FROM),
            Self::Policy => None,
        }
    }
}

/// How a policy treats duties that are not yet in force for a unit
/// (`enforce` in the policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Enforce {
    /// Every check runs as if the Regulation applied to the unit.
    #[default]
    Readiness,
    /// Checks of duties not in force for the unit are `not_applicable`.
    AsApplicable,
}

/// Whether the Regulation applies to the unit, as the verdict states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Applicability {
    /// Whether the Regulation applies to this unit (Art. 69(2), 71(2)).
    pub cra_applies: bool,
    /// How the policy treated duties not in force.
    pub enforce: Enforce,
    /// A sentence saying why, and how the checks were judged.
    pub detail: String,
}

/// Decides whether the Regulation applies to the unit `listing` describes.
///
/// The unit's date is `placed_on_market`; without a valid one the unit is
/// taken as placed at the evaluation time `at`. A `substantially_modified`
/// date on or after 11 December 2027 brings an earlier unit in (Art. 69(2)).
pub(crate) fn assess(listing: &Listing, at: Timestamp, enforce: Enforce) -> Applicability {
    let raw = &listing.raw;
    let placed = raw.placed_on_market.as_deref().and_then(parse_day);
    let modified = raw.substantially_modified.as_deref().and_then(parse_day);
    let from = CRA_APPLIES_FROM.strftime("%-d %B %Y");
    let (unit, placed_text) = match placed {
        Some(day) => (day, format!("placed on the market {day}")),
        None => {
            let today = at.to_zoned(TimeZone::UTC).date();
            (
                today,
                format!(
                    "no valid placed_on_market: taken as placed at the evaluation date {today}"
                ),
            )
        }
    };
    let (cra_applies, why) = if unit >= CRA_APPLIES_FROM {
        (
            true,
            format!("the CRA applies to this unit: {placed_text}, on or after {from} (Art. 71(2))"),
        )
    } else if let Some(day) = modified.filter(|d| *d >= CRA_APPLIES_FROM) {
        (
            true,
            format!(
                "the CRA applies to this unit: {placed_text}, before {from}, but substantially modified {day}, on or after it (Art. 69(2))"
            ),
        )
    } else {
        (
            false,
            format!(
                "the CRA does not apply to this unit yet: {placed_text}, before {from}, and not substantially modified since (Art. 69(2))"
            ),
        )
    };
    let how = match (enforce, cra_applies) {
        (_, true) => "every check applies",
        (Enforce::Readiness, false) => "judged for readiness, every check as if it applied",
        (Enforce::AsApplicable, false) => {
            "checks of duties not in force for it are not applicable (enforce = \"as-applicable\")"
        }
    };
    Applicability {
        cra_applies,
        enforce,
        detail: format!("{why}; {how}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(placed: &str, modified: Option<&str>) -> Listing {
        let modified = modified
            .map(|m| format!(r#", "substantially_modified": "{m}""#))
            .unwrap_or_default();
        let json = format!(
            r#"{{"format": "cragate.listing/v1", "placed_on_market": "{placed}"{modified},
            "product": {{"id": "p", "name": "P", "version": "1", "kind": "software", "category": "default"}}}}"#
        );
        Listing::from_json(json.as_bytes()).unwrap()
    }

    fn applies(placed: &str, modified: Option<&str>) -> bool {
        let at: Timestamp = "2027-06-01T00:00:00Z".parse().unwrap();
        assess(&listing(placed, modified), at, Enforce::Readiness).cra_applies
    }

    #[test]
    fn units_placed_from_11_december_2027_are_in_scope() {
        assert!(!applies("2027-12-10", None));
        assert!(applies("2027-12-11", None));
    }

    #[test]
    fn a_substantial_modification_from_that_date_brings_a_unit_in() {
        assert!(!applies("2026-11-01", Some("2027-12-10")));
        assert!(applies("2026-11-01", Some("2027-12-11")));
    }
}
