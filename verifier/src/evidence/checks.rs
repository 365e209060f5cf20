//! Checks on the listing itself: operators (Art. 13(16), 19(4), 23),
//! security contact (Art. 13(17), Annex II(2)), support period (Art. 13(8),
//! 13(19)), product identifier (Art. 13(15)) and user information (Annex II,
//! Art. 13(18)).

use jiff::ToSpan;
use jiff::tz::TimeZone;

use super::syntax::{self, MonthOrDay, present};
use super::{Identifiers, Operator, ProductKind};
use crate::catalog::CheckId;
use crate::policy::Context;
use crate::verdict::Finding;

/// Every listing-level finding.
pub(crate) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    let mut findings = operators(cx);
    findings.extend(security(cx));
    findings.extend(support(cx));
    findings.push(product_identifier(cx));
    findings.extend(user_information(cx));
    findings
}

fn operators(cx: &Context<'_>) -> Vec<Finding> {
    let ops = &cx.listing.raw.operators;
    let manufacturer = match &ops.manufacturer {
        None => Finding::fail(
            CheckId::OperatorsManufacturer,
            "add operators.manufacturer with name, postal_address, email, website and country",
        ),
        Some(m) => {
            let mut problems = contact_problems("manufacturer", m);
            match m.country.as_deref() {
                Some(c) if syntax::is_country_code(c) => {}
                _ => problems.push(
                    "operators.manufacturer.country must be an ISO 3166-1 alpha-2 code such as \"DE\" or \"CN\"".into(),
                ),
            }
            if let Some(rep) = &ops.authorised_representative {
                let in_eu = rep
                    .country
                    .as_deref()
                    .is_some_and(syntax::is_eu_member_state);
                if !present(rep.name.as_deref())
                    || !present(rep.postal_address.as_deref())
                    || !in_eu
                {
                    problems.push(
                        "operators.authorised_representative needs a name, postal address and an EU country (Art. 18)".into(),
                    );
                }
            }
            Finding::from_problems(
                CheckId::OperatorsManufacturer,
                &problems,
                "manufacturer name, postal address, e-mail and website are given",
            )
        }
    };
    let manufacturer_country = ops.manufacturer.as_ref().and_then(|m| m.country.as_deref());
    let importer = match (manufacturer_country, &ops.importer) {
        (Some(c), None) if syntax::is_eu_member_state(c) => Finding::not_applicable(
            CheckId::OperatorsImporter,
            format!("the manufacturer is established in the EU ({c}); no importer is involved"),
        ),
        (None, None) => Finding::fail(
            CheckId::OperatorsImporter,
            "cannot tell whether an importer is needed: give operators.manufacturer.country",
        ),
        (Some(c), None) => Finding::fail(
            CheckId::OperatorsImporter,
            format!(
                "the manufacturer is established outside the EU ({c}): add operators.importer with the EU importer's name, postal address, e-mail and website"
            ),
        ),
        (_, Some(importer)) => {
            let mut problems = contact_problems("importer", importer);
            match importer.country.as_deref() {
                Some(c) if syntax::is_eu_member_state(c) => {}
                Some(c) => problems.push(format!(
                    "the importer must be established in the EU (Art. 3(16)); operators.importer.country is {c:?}"
                )),
                None => problems.push("give operators.importer.country (an EU Member State)".into()),
            }
            Finding::from_problems(
                CheckId::OperatorsImporter,
                &problems,
                "the EU importer's name, postal address, e-mail and website are given",
            )
        }
    };
    let supplier = match &ops.supplier {
        None => Finding::fail(
            CheckId::OperatorsSupplier,
            "add operators.supplier: the name and postal address of whoever supplied the product to you",
        ),
        Some(s) => {
            let mut problems = Vec::new();
            if !present(s.name.as_deref()) {
                problems.push("operators.supplier.name is missing".to_owned());
            }
            if !present(s.postal_address.as_deref()) {
                problems.push("operators.supplier.postal_address is missing".to_owned());
            }
            Finding::from_problems(
                CheckId::OperatorsSupplier,
                &problems,
                "the supplier is named with an address",
            )
        }
    };
    vec![manufacturer, importer, supplier]
}

fn contact_problems(role: &str, operator: &Operator) -> Vec<String> {
    let mut problems = Vec::new();
    if !present(operator.name.as_deref()) {
        problems.push(format!("operators.{role}.name is missing"));
    }
    if !present(operator.postal_address.as_deref()) {
        problems.push(format!("operators.{role}.postal_address is missing"));
    }
    match operator.email.as_deref() {
        Some(e) if syntax::is_email(e) => {}
        Some(e) => problems.push(format!(
            "operators.{role}.email {e:?} is not an e-mail address"
        )),
        None => problems.push(format!("operators.{role}.email is missing")),
    }
    match operator.website.as_deref() {
        Some(w) if syntax::is_https_url(w) => {}
        Some(w) => problems.push(format!(
            "operators.{role}.website {w:?} is not an https URL"
        )),
        None => problems.push(format!("operators.{role}.website is missing")),
    }
    problems
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
    vec![contact, cvd]
}

fn support(cx: &Context<'_>) -> Vec<Finding> {
    let end_text = cx
        .listing
        .raw
        .support_period
        .as_ref()
        .and_then(|s| s.end.as_deref());
    let Some(end_text) = end_text else {
        let missing = "add support_period.end (YYYY-MM or YYYY-MM-DD)";
        return vec![
            Finding::fail(CheckId::SupportEndDate, missing),
            Finding::fail(CheckId::SupportMinimum, format!("cannot run: {missing}")),
            Finding::fail(CheckId::SupportCurrent, format!("cannot run: {missing}")),
        ];
    };
    let Some(end) = MonthOrDay::parse(end_text) else {
        let bad = format!(
            "support_period.end {end_text:?} must give at least month and year, as YYYY-MM or YYYY-MM-DD"
        );
        return vec![
            Finding::fail(CheckId::SupportEndDate, bad.clone()),
            Finding::fail(CheckId::SupportMinimum, format!("cannot run: {bad}")),
            Finding::fail(CheckId::SupportCurrent, format!("cannot run: {bad}")),
        ];
    };
    let last_day = end.last_day();
    let end_finding = Finding::pass(CheckId::SupportEndDate, format!("support ends {end_text}"));

    let years = cx.rules.minimum_support_years;
    let minimum = match cx
        .listing
        .raw
        .placed_on_market
        .as_deref()
        .map(syntax::parse_day)
    {
        None => Finding::fail(
            CheckId::SupportMinimum,
            "cannot run: add placed_on_market (YYYY-MM-DD) so the support period can be measured",
        ),
        Some(None) => Finding::fail(
            CheckId::SupportMinimum,
            "cannot run: placed_on_market must be a date YYYY-MM-DD",
        ),
        Some(Some(placed)) => match placed.checked_add(i64::from(years).years()) {
            Ok(required) if last_day >= required.yesterday().unwrap_or(required) => Finding::pass(
                CheckId::SupportMinimum,
                format!(
                    "support until {end_text} is at least {years} years from placing on the market ({placed})"
                ),
            ),
            Ok(required) => Finding::fail(
                CheckId::SupportMinimum,
                format!(
                    "support ends {end_text}, less than the {years} years from placing on the market ({placed}) the policy requires: extend it to at least {}",
                    required.strftime("%Y-%m")
                ),
            ),
            Err(_) => Finding::fail(
                CheckId::SupportMinimum,
                "cannot run: the placing date is out of range",
            ),
        },
    };

    let today = cx.at.to_zoned(TimeZone::UTC).date();
    let current = if last_day >= today {
        Finding::pass(
            CheckId::SupportCurrent,
            format!("support runs until {end_text}"),
        )
    } else {
        Finding::fail(
            CheckId::SupportCurrent,
            format!(
                "the support period ended {end_text}, before the evaluation date {today}: new units need a current support period"
            ),
        )
    };
    vec![end_finding, minimum, current]
}

fn product_identifier(cx: &Context<'_>) -> Finding {
    let product = &cx.listing.raw.product;
    let mut problems = identifier_syntax(&product.identifiers);
    let has_any = product
        .identifiers
        .entries()
        .any(|(_, v)| !v.trim().is_empty());
    if !has_any {
        let hint = match product.kind {
            ProductKind::Software => "a purl (pkg:...)",
            ProductKind::Hardware => "a model, batch or serial number or a GTIN",
        };
        problems.push(format!("product.identifiers is empty: add {hint}"));
    }
    if !present(Some(product.version.as_str())) {
        problems.push("product.version is empty".into());
    }
    Finding::from_problems(
        CheckId::ProductIdentifier,
        &problems,
        "the product carries an identifier",
    )
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
