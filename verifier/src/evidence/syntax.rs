//! Syntax of the values a listing carries: addresses, dates, codes.
//!
//! These are structural checks only: whether a mailbox exists or a page is
//! reachable is for the caller to find out, not for a pure verifier.

use jiff::civil::Date;

/// EU Member States, ISO 3166-1 alpha-2 (Greece as `GR`; `EL` is accepted too,
/// the EU's own code for it).
const EU_MEMBER_STATES: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "EL", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

/// Whether `value` is text with something other than blanks in it.
pub(crate) fn present(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.trim().is_empty())
}

/// A plain e-mail address: one `@`, a local part, a dotted domain, no blanks.
pub(crate) fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && is_hostname(domain)
}

/// An `https://` URL with a dotted host name.
pub(crate) fn is_https_url(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split_once(':').map_or(host, |(h, _)| h);
    !value.chars().any(|c| c.is_whitespace() || c.is_control()) && is_hostname(host)
}

/// A `mailto:` URI with one e-mail address.
pub(crate) fn is_mailto(value: &str) -> bool {
    value
        .strip_prefix("mailto:")
        .is_some_and(|address| is_email(address.split('?').next().unwrap_or_default()))
}

/// An ISO 3166-1 alpha-2 code (two uppercase letters).
pub(crate) fn is_country_code(value: &str) -> bool {
    value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether the country code is an EU Member State.
pub(crate) fn is_eu_member_state(code: &str) -> bool {
    EU_MEMBER_STATES.contains(&code)
}

/// A BCP 47 primary language subtag, optionally with a region (`de`, `pt-BR`).
pub(crate) fn is_language_tag(value: &str) -> bool {
    let mut parts = value.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    primary_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A notified body identification number: four digits (NANDO).
pub(crate) fn is_notified_body_number(value: &str) -> bool {
    value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit())
}

/// A package URL (`pkg:type/name...`).
pub(crate) fn is_purl(value: &str) -> bool {
    value
        .strip_prefix("pkg:")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(kind, name)| !kind.is_empty() && !name.is_empty())
        && !value.chars().any(char::is_whitespace)
}

/// A GTIN-8, -12, -13 or -14 with a correct check digit (GS1 General
/// Specifications 7.9.1).
pub(crate) fn is_gtin(value: &str) -> bool {
    if ![8, 12, 13, 14].contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = value.bytes().map(|b| u32::from(b - b'0')).collect();
    let Some((check, body)) = digits.split_last() else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == *check
}

/// A date of at least month precision: `YYYY-MM` or `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MonthOrDay {
    /// `YYYY-MM`: the whole month.
    Month(Date),
    /// `YYYY-MM-DD`.
    Day(Date),
}

impl MonthOrDay {
    pub fn parse(value: &str) -> Option<Self> {
        match value.len() {
            7 => format!("{value}-01").parse::<Date>().ok().map(Self::Month),
            10 => value.parse::<Date>().ok().map(Self::Day),
            _ => None,
        }
    }

    /// The last day the date covers (the month's last day for `YYYY-MM`).
    pub fn last_day(self) -> Date {
        match self {
            Self::Month(first) => first.last_of_month(),
            Self::Day(day) => day,
        }
    }
}

/// A calendar date `YYYY-MM-DD`.
pub(crate) fn parse_day(value: &str) -> Option<Date> {
    (value.len() == 10)
        .then(|| value.parse::<Date>().ok())
        .flatten()
}

fn is_hostname(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(is_email("psirt@acme.example"));
        assert!(!is_email("psirt@localhost"));
        assert!(!is_email("two@at@acme.example"));
        assert!(is_https_url("https://acme.example/security/cvd"));
        assert!(is_https_url("https://acme.example:8443"));
        assert!(!is_https_url("http://acme.example/"));
        assert!(!is_https_url("https://acme example/"));
        assert!(is_mailto("mailto:psirt@acme.example?subject=report"));
        assert!(!is_mailto("psirt@acme.example"));
    }

    #[test]
    fn codes() {
        assert!(is_gtin("4006381333931"));
        assert!(!is_gtin("4006381333932"));
        assert!(is_purl("pkg:cargo/ring@0.17.8"));
        assert!(!is_purl("cargo/ring"));
        assert!(is_notified_body_number("0123"));
        assert!(!is_notified_body_number("NB 0123"));
        assert!(is_language_tag("de") && is_language_tag("pt-BR"));
        assert!(!is_language_tag("German"));
        assert!(is_eu_member_state("DE") && !is_eu_member_state("CN"));
    }

    #[test]
    fn support_dates_cover_the_whole_month() {
        let month = MonthOrDay::parse("2031-02").unwrap();
        assert_eq!(month.last_day(), jiff::civil::date(2031, 2, 28));
        assert_eq!(MonthOrDay::parse("2031"), None);
        assert_eq!(MonthOrDay::parse("2031-13"), None);
        assert!(matches!(
            MonthOrDay::parse("2031-12-31"),
            Some(MonthOrDay::Day(_))
        ));
    }
}
