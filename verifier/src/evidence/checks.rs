//! Checks on the listing itself: operators (`operators`), support period
//! (`support`), security contact (Art. 13(17), Annex II(2); Art. 24(1) for
//! a steward), product identifier (Art. 13(15)) and user information
//! (Annex II, Art. 13(18)).

use super::syntax::{self, present};
use super::{Identifiers, ProductKind, operators, support};
use crate::catalog::CheckId;
use crate::policy::Context;
use crate::verdict::Finding;

/// Every listing-level finding.
pub(crate) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    let mut findings = operators::evaluate(cx);
    findings.extend(security(cx));
    findings.extend(support::evaluate(cx));
    findings.extend(product_identifier(cx));
    findings.extend(user_information(cx));
    findings
}

fn security(cx: &Context<'_>) -> Vec<Finding> {
    let security = cx.listing.raw.security.as_ref();
    let contact = security.and_then(|s| s.contact.as_deref());
    let mut problems = Vec::new();
    match contact {
        Some(c) if syntax::is_mailto(c) || syntax::is_https_url(c) => {}
        Some(c) => problems.push(format!(
            "security.contact {c:?} must be a mailto: address or an https URL where vulnerabilities can be reported"
        )),
        None => problems.push(
            "add security.contact: a mailto: address or https URL where vulnerabilities can be reported".into(),
        ),
    }
    if let Some(txt) = security.and_then(|s| s.security_txt.as_deref())
        && !(syntax::is_https_url(txt) && txt.ends_with("/.well-known/security.txt"))
    {
        problems.push(format!(
            "security.security_txt {txt:?} must be an https URL ending in /.well-known/security.txt (RFC 9116)"
        ));
    }
    let contact = Finding::from_problems(
        CheckId::SecurityContact,
        &problems,
        "a single point of contact for vulnerability reports is given",
    );
    let cvd = match security.and_then(|s| s.cvd_policy.as_deref()) {
        Some(url) if syntax::is_https_url(url) => Finding::pass(
            CheckId::SecurityCvdPolicy,
            "the coordinated vulnerability disclosure policy is published",
        ),
        Some(url) => Finding::fail(
            CheckId::SecurityCvdPolicy,
            format!("security.cvd_policy {url:?} must be the https URL of the disclosure policy"),
        ),
        None => Finding::fail(
            CheckId::SecurityCvdPolicy,
            "add security.cvd_policy: the https URL of the coordinated vulnerability disclosure policy",
        ),
    };
    if operators::steward_only(cx.listing) {
        // Art. 24(1): the steward's cybersecurity policy fosters the
        // reporting of vulnerabilities.
        return vec![
            contact.with_article("Art. 24(1)"),
            cvd.with_article("Art. 24(1)"),
        ];
    }
    vec![contact, cvd]
}

/// Art. 13(15): "a type, batch or serial number or other element allowing
/// the identification". One usable identifier suffices; a malformed one
/// beside it (a GTIN with a wrong check digit) is reported by
/// `product.identifier-syntax`, which warns unless the policy requires it.
fn product_identifier(cx: &Context<'_>) -> Vec<Finding> {
    let product = &cx.listing.raw.product;
    let ids = &product.identifiers;
    let malformed = identifier_syntax(ids);
    let usable: Vec<(&str, &str)> = usable_identifiers(ids).collect();
    let mut problems = Vec::new();
    if usable.is_empty() {
        let hint = match product.kind {
            ProductKind::Software => "a purl (pkg:...)",
            ProductKind::Hardware => "a model, batch or serial number or a GTIN",
        };
        let given = if malformed.is_empty() {
            "product.identifiers is empty"
        } else {
            "product.identifiers has no usable identifier"
        };
        problems.push(format!("{given}: add {hint}"));
    }
    if !present(Some(product.version.as_str())) {
        problems.push("product.version is empty".into());
    }
    let named: Vec<String> = usable.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let identifier = Finding::from_problems(
        CheckId::ProductIdentifier,
        &problems,
        format!("the product carries an identifier: {}", named.join(", ")),
    );
    let syntax = if ids.entries().all(|(_, v)| v.trim().is_empty()) {
        Finding::not_applicable(
            CheckId::ProductIdentifierSyntax,
            "no identifier is given (see product.identifier)",
        )
    } else if malformed.is_empty() {
        Finding::pass(
            CheckId::ProductIdentifierSyntax,
            "every identifier given is well formed",
        )
    } else {
        Finding::fail(
            CheckId::ProductIdentifierSyntax,
            format!(
                "{}; a malformed identifier does not identify the product",
                malformed.join("; ")
            ),
        )
    };
    vec![identifier, syntax]
}

/// The identifiers given that are not blank and, where a syntax is known
/// (purl, GTIN, CPE), well formed.
pub(crate) fn usable_identifiers(ids: &Identifiers) -> impl Iterator<Item = (&str, &str)> {
    ids.entries()
        .filter(|(name, value)| !value.trim().is_empty() && well_formed(name, value))
}

fn well_formed(name: &str, value: &str) -> bool {
    match name {
        "purl" => syntax::is_purl(value),
        "gtin" => syntax::is_gtin(value),
        "cpe" => syntax::is_cpe(value),
        _ => true,
    }
}

/// Syntax problems of the identifiers given (empty when all are well formed).
pub(crate) fn identifier_syntax(ids: &Identifiers) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(purl) = ids.purl.as_deref().filter(|p| !syntax::is_purl(p)) {
        problems.push(format!(
            "identifiers.purl {purl:?} is not a package URL (pkg:type/name@version)"
        ));
    }
    if let Some(gtin) = ids.gtin.as_deref().filter(|g| !syntax::is_gtin(g)) {
        problems.push(format!(
            "identifiers.gtin {gtin:?} is not a GTIN with a valid check digit"
        ));
    }
    if let Some(cpe) = ids.cpe.as_deref().filter(|c| !syntax::is_cpe(c)) {
        problems.push(format!(
            "identifiers.cpe {cpe:?} is not a CPE name (cpe:2.3:...)"
        ));
    }
    problems
}

fn user_information(cx: &Context<'_>) -> Vec<Finding> {
    let info = cx.listing.raw.user_information.as_ref();
    let url = match info.and_then(|i| i.url.as_deref()) {
        Some(u) if syntax::is_https_url(u) => {
            Finding::pass(CheckId::UserInfoUrl, "user information is published")
        }
        Some(u) => Finding::fail(
            CheckId::UserInfoUrl,
            format!("user_information.url {u:?} must be an https URL"),
        ),
        None => Finding::fail(
            CheckId::UserInfoUrl,
            "add user_information.url: where the Annex II information and instructions are",
        ),
    };
    let languages = info.map(|i| i.languages.as_slice()).unwrap_or_default();
    let mut problems: Vec<String> = languages
        .iter()
        .filter(|l| !syntax::is_language_tag(l))
        .map(|l| format!("{l:?} is not a language tag such as \"de\" or \"fr\""))
        .collect();
    if languages.is_empty() {
        problems.push("add user_information.languages (e.g. [\"en\", \"de\"])".into());
    }
    let missing: Vec<&str> = cx
        .rules
        .languages
        .iter()
        .filter(|required| {
            !languages
                .iter()
                .any(|l| l.split('-').next() == Some(required.as_str()))
        })
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "the policy requires user information in {}",
            missing.join(", ")
        ));
    }
    let ok = format!("user information in {}", languages.join(", "));
    vec![
        url,
        Finding::from_problems(CheckId::UserInfoLanguages, &problems, ok),
    ]
}
