//! Syntax of the values a listing carries: addresses, dates, codes.
//!
//! These are structural checks only: whether a mailbox exists or a page is
//! reachable is for the caller to find out, not for a pure verifier.

use jiff::civil::Date;

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
    value
        .strip_prefix("https://")
        .is_some_and(|rest| has_host(value, rest))
}

/// An `http://` or `https://` URL with a dotted host name: a website
/// (Art. 13(16) asks for the website, not for a protocol).
pub(crate) fn is_web_url(value: &str) -> bool {
    is_https_url(value)
        || value
            .strip_prefix("http://")
            .is_some_and(|rest| has_host(value, rest))
}

/// An `https://` URL that points at a document, not only at a site: it has
/// a path other than `/` (Annex VI asks for "the exact internet address").
pub(crate) fn is_exact_https_url(value: &str) -> bool {
    is_https_url(value)
        && value
            .strip_prefix("https://")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(_, path)| !path.split(['?', '#']).next().unwrap_or_default().is_empty())
}

/// Whether the part of `value` after the scheme starts with a dotted host.
fn has_host(value: &str, rest: &str) -> bool {
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

/// A CPE name: the CPE 2.3 formatted string (`cpe:2.3:` and eleven more
/// fields, NISTIR 7695 s.6.2) or the CPE 2.2 URI form (`cpe:/`).
pub(crate) fn is_cpe(value: &str) -> bool {
    if value.chars().any(char::is_whitespace) {
        return false;
    }
    if let Some(rest) = value.strip_prefix("cpe:2.3:") {
        let fields: Vec<&str> = rest.split(':').collect();
        return fields.len() == 11
            && matches!(fields.first(), Some(&("a" | "h" | "o" | "*" | "-")))
            && fields.iter().all(|f| !f.is_empty());
    }
    value
        .strip_prefix("cpe:/")
        .is_some_and(|rest| rest.starts_with(['a', 'h', 'o']) && rest.len() > 2)
}

/// Whether two package URLs name the same package: the same type,
/// namespace and name, and the same version when both give one.
pub(crate) fn purls_agree(a: &str, b: &str) -> bool {
    let split = |p: &str| {
        let base = p.split(['?', '#']).next().unwrap_or(p);
        match base.rsplit_once('@') {
            Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
            None => (base.to_owned(), None),
        }
    };
    let ((a_name, a_version), (b_name, b_version)) = (split(a), split(b));
    a_name == b_name
        && match (a_version, b_version) {
            (Some(x), Some(y)) => same_version(&x, &y),
            _ => true,
        }
}

/// Whether two version strings are the same release (`4.2.1`, `v4.2.1`).
pub(crate) fn same_version(a: &str, b: &str) -> bool {
    let bare = |v: &str| v.trim().trim_start_matches(['v', 'V']).to_owned();
    bare(a) == bare(b)
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
        assert!(is_web_url("http://acme.example") && !is_web_url("ftp://acme.example"));
        assert!(is_exact_https_url("https://acme.example/doc/x200.pdf"));
        assert!(!is_exact_https_url("https://acme.example/"));
        assert!(!is_exact_https_url("https://acme.example"));
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
        assert!(is_cpe("cpe:2.3:h:lumora:lc-x200:-:*:*:*:*:*:*:*"));
        assert!(is_cpe("cpe:/h:lumora:lc-x200"));
        assert!(!is_cpe("cpe:2.3:h:lumora"));
        assert!(purls_agree("pkg:cargo/ring@0.17.8", "pkg:cargo/ring"));
        assert!(purls_agree(
            "pkg:github/t/t@v1.14.2",
            "pkg:github/t/t@1.14.2?x=y"
        ));
        assert!(!purls_agree(
            "pkg:cargo/ring@0.17.8",
            "pkg:cargo/ring@0.17.9"
        ));
        assert!(!purls_agree("pkg:cargo/ring", "pkg:cargo/rings"));
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
