//! The support period: its end date shown with at least month and year
//! (Art. 13(19)), at least five years from placing on the market unless the
//! product is expected to be in use for less (Art. 13(8)), and what happens
//! after it ends (FAQ 4.5.3).

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::syntax::{self, MonthOrDay, present};
use crate::catalog::CheckId;
use crate::policy::{Context, SupplyAfterEnd};
use crate::verdict::Finding;

/// The five years of Art. 13(8), first subparagraph: below it, a support
/// period must match a declared shorter expected use time.
const LEGAL_MINIMUM_YEARS: f64 = 5.0;

/// `support.end-date`, `support.minimum` and `support.current`.
pub(super) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    let period = cx.listing.raw.support_period.as_ref();
    let Some(end_text) = period.and_then(|s| s.end.as_deref()) else {
        let missing = "add support_period.end (YYYY-MM or YYYY-MM-DD)";
        return cannot_run(missing.to_owned());
    };
    let Some(end) = MonthOrDay::parse(end_text) else {
        return cannot_run(format!(
            "support_period.end {end_text:?} must give at least month and year, as YYYY-MM or YYYY-MM-DD"
        ));
    };
    let last_day = end.last_day();
    let placed = cx.listing.raw.placed_on_market.as_deref();
    vec![
        Finding::pass(CheckId::SupportEndDate, format!("support ends {end_text}")),
        minimum(cx, end_text, last_day, placed),
        current(cx, end_text, last_day, placed.and_then(syntax::parse_day)),
    ]
}

fn cannot_run(problem: String) -> Vec<Finding> {
    vec![
        Finding::fail(CheckId::SupportEndDate, problem.clone()),
        Finding::fail(CheckId::SupportMinimum, format!("cannot run: {problem}")),
        Finding::fail(CheckId::SupportCurrent, format!("cannot run: {problem}")),
    ]
}

/// Art. 13(8): "at least five years", or "where the product with digital
/// elements is expected to be in use for less than five years, the support
/// period shall correspond to the expected use time". Five calendar years
/// from the placing date: a support period that ends on the fifth
/// anniversary is long enough, one that ends the day before is not; an end
/// given as a month runs to that month's last day.
fn minimum(cx: &Context<'_>, end_text: &str, last_day: Date, placed: Option<&str>) -> Finding {
    let id = CheckId::SupportMinimum;
    let placed = match placed.map(|p| (p, syntax::parse_day(p))) {
        None => {
            return Finding::fail(
                id,
                "cannot run: add placed_on_market (YYYY-MM-DD) so the support period can be measured",
            );
        }
        Some((p, None)) => {
            return Finding::fail(
                id,
                format!("cannot run: placed_on_market {p:?} must be a date YYYY-MM-DD"),
            );
        }
        Some((_, Some(day))) => day,
    };
    let period = cx.listing.raw.support_period.as_ref();
    let expected = period.and_then(|p| p.expected_use_years);
    let (months, basis) = match expected {
        Some(years) if !(years > 0.0 && years.is_finite()) => {
            return Finding::fail(
                id,
                format!(
                    "support_period.expected_use_years {years} must be a positive number of years"
                ),
            );
        }
        Some(years) if years < LEGAL_MINIMUM_YEARS => {
            if !present(period.and_then(|p| p.reason.as_deref())) {
                return Finding::fail(
                    id,
                    format!(
                        "support_period.expected_use_years is {years}: give support_period.reason, why the product is expected to be in use for less than five years (Art. 13(8); Annex VII(4))"
                    ),
                );
            }
            (
                whole_months(years),
                format!("the declared expected use time of {years} years"),
            )
        }
        _ => {
            let years = cx.rules.minimum_support_years;
            (i64::from(years) * 12, format!("{years} years"))
        }
    };
    let Ok(required) = placed.checked_add(months.months()) else {
        return Finding::fail(id, "cannot run: the placing date is out of range");
    };
    if last_day >= required {
        Finding::pass(
            id,
            format!(
                "support until {end_text} covers {basis} from placing on the market ({placed}), to {required}"
            ),
        )
    } else {
        Finding::fail(
            id,
            format!(
                "support ends {end_text}, before {required}: {basis} from placing on the market ({placed}); extend it to at least {}",
                required.strftime("%Y-%m")
            ),
        )
    }
}

/// Years as whole months, rounded to the nearest month.
fn whole_months(years: f64) -> i64 {
    let months = (years * 12.0).round();
    // `years` is positive and below five here, so this is 0 to 60.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "bounded to 0..=60 by the caller"
    )]
    let months = months as i64;
    months
}

/// FAQ 4.5.3: units placed on the market before the support period ends
/// may still be made available after it; a unit placed after it ended has
/// no support period (Art. 13(8)). Refusing supply of the earlier units
/// after the end is the policy's choice (`[support] supply_after_end`).
fn current(cx: &Context<'_>, end_text: &str, last_day: Date, placed: Option<Date>) -> Finding {
    let id = CheckId::SupportCurrent;
    let today = cx.at.to_zoned(TimeZone::UTC).date();
    if last_day >= today {
        return Finding::pass(id, format!("support runs until {end_text}"));
    }
    let (unit, placed_text) = match placed {
        Some(day) => (day, format!("placed on the market {day}")),
        None => (
            today,
            format!("taken as placed at the evaluation date {today}"),
        ),
    };
    if unit > last_day {
        return Finding::fail(
            id,
            format!(
                "the unit was {placed_text}, after its support period ended {end_text}: a unit placed on the market needs a support period (Art. 13(8))"
            ),
        );
    }
    match cx.rules.supply_after_end {
        SupplyAfterEnd::Refuse => Finding::fail(
            id,
            format!(
                "the support period ended {end_text}, before the evaluation date {today}: this policy refuses supply after the support period (its choice: FAQ 4.5.3 lets units placed before the end still be made available)"
            ),
        ),
        SupplyAfterEnd::Allow => Finding::pass(
            id,
            format!(
                "the support period ended {end_text}, but the unit was {placed_text}, before the end: it may still be made available (FAQ 4.5.3), and this policy does not refuse supply after the end"
            ),
        ),
    }
}
