//! Checks on the DoC: presence (Art. 13(20)), the simplified form
//! (Annex VI), its languages (Art. 28(2)), Annex V items 1–8, the acts cited
//! (Art. 28(1), 28(3)) and that it declares the listed product (`identity`).
//!
//! Wording is never required in English: the DoC is in the languages the
//! Member States require (Art. 28(2)). The statements are checked for
//! presence, and against the policy's accepted phrasings per language only
//! when it lists some (`[doc.phrasings.<language>]`).

use jiff::tz::TimeZone;

use super::{CRA_ACT, RawDoc, identity, is_cra, normalise};
use crate::catalog::CheckId;
use crate::ce::Procedure;
use crate::evidence::syntax::{self, present};
use crate::evidence::usable_identifiers;
use crate::policy::{Context, Phrasings};
use crate::verdict::Finding;

const ANNEX_V: &[CheckId] = &[
    CheckId::DocProduct,
    CheckId::DocManufacturer,
    CheckId::DocSoleResponsibility,
    CheckId::DocObject,
    CheckId::DocConformityStatement,
    CheckId::DocStandards,
    CheckId::DocConformityAssessment,
    CheckId::DocSignature,
    CheckId::DocCitesCra,
    CheckId::DocOtherActs,
    CheckId::DocMatchesListing,
];

/// Every DoC finding.
pub(crate) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    let mut findings = vec![presence(cx), simplified_form(cx), languages(cx)];
    match cx.doc {
        Some(doc) => findings.extend(full(cx, doc)),
        None if cx.simplified_only && cx.rules.doc_full_required => {
            findings.extend(ANNEX_V.iter().map(|id| {
                Finding::fail(
                    *id,
                    "cannot run: this policy requires the full DoC ([doc] full_required) and only the simplified one was supplied",
                )
            }));
        }
        None if cx.simplified_only => findings.extend(ANNEX_V.iter().map(|id| {
            Finding::not_applicable(
                *id,
                "only the simplified DoC was supplied, which Art. 13(20) allows on its own; the full DoC it points to was not examined",
            )
        })),
        None => {
            findings.extend(ANNEX_V.iter().map(|id| {
                Finding::fail(*id, "cannot run: no declaration of conformity was supplied")
            }))
        }
    }
    findings
}

/// Art. 13(20): the product is accompanied by a copy of the full DoC or by
/// the simplified one. A policy may require the full one; the verdict then
/// says it is the policy's requirement.
fn presence(cx: &Context<'_>) -> Finding {
    let id = CheckId::DocPresent;
    if cx.listing.full_doc().is_some() {
        return Finding::pass(id, "the full EU declaration of conformity is attached");
    }
    if cx.doc.is_some() {
        return Finding::pass(
            id,
            "the full EU declaration of conformity is attached as a verified attestation",
        );
    }
    if !cx.simplified_only {
        return Finding::fail(
            id,
            "attach the EU declaration of conformity (declaration_of_conformity.full), or a simplified one with the address of the full DoC",
        );
    }
    if cx.rules.doc_full_required {
        return Finding::fail(
            id,
            "this policy requires the full EU declaration of conformity ([doc] full_required), beyond Art. 13(20), which allows the simplified one on its own: attach declaration_of_conformity.full",
        );
    }
    match simplified_url(cx) {
        Some(url) => Finding::pass(
            id,
            format!("a simplified DoC is attached (Art. 13(20)); the full DoC is at {url}"),
        ),
        None => Finding::pass(id, "a simplified DoC is attached (Art. 13(20))"),
    }
}

/// The address of the full DoC the simplified one gives: its `url`, or an
/// https address written in its text.
fn simplified_url<'a>(cx: &'a Context<'_>) -> Option<&'a str> {
    let simplified = cx
        .listing
        .raw
        .declaration_of_conformity
        .as_ref()
        .and_then(|b| b.simplified.as_ref())?;
    simplified.url.as_deref().or_else(|| {
        let text = simplified.text.as_deref()?;
        let start = text.find("https://")?;
        let rest = text.get(start..)?;
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest.get(..end)
            .map(|u| u.trim_end_matches(['.', ',', ';', ')']))
    })
}

/// Annex VI: "[name of manufacturer] declares that the product with
/// digital elements type [designation of type] is in compliance with
/// Regulation (EU) 2024/2847. The full text of the EU declaration of
/// conformity is available at the following internet address: ...". In
/// whatever language: the type must identify the listed product, the text
/// must name the manufacturer and cite the Regulation, and it must give the
/// exact address of the full DoC.
fn simplified_form(cx: &Context<'_>) -> Finding {
    let id = CheckId::DocSimplified;
    let block = cx.listing.raw.declaration_of_conformity.as_ref();
    let Some(simplified) = block.and_then(|b| b.simplified.as_ref()) else {
        return Finding::not_applicable(id, "no simplified DoC was supplied");
    };
    let mut problems = Vec::new();
    let text = simplified.text.as_deref().unwrap_or_default();
    let lower = normalise(text);
    if !present(Some(text)) {
        problems.push("declaration_of_conformity.simplified.text is missing".to_owned());
    } else {
        if !is_cra(text) {
            problems.push(format!(
                "the simplified DoC must declare compliance with {CRA_ACT}"
            ));
        }
        let operators = &cx.listing.raw.operators;
        let names: Vec<&str> = [
            &operators.manufacturer,
            &operators.authorised_representative,
        ]
        .into_iter()
        .filter_map(|o| o.as_ref().and_then(|o| o.name.as_deref()))
        .collect();
        if let Some(name) = names.first()
            && !names.iter().any(|n| lower.contains(&normalise(n)))
        {
            problems.push(format!(
                "the simplified DoC does not name the manufacturer {name:?}"
            ));
        }
        problems.extend(simplified_product_problem(cx, &lower));
        problems.extend(phrasing_problem(cx, "the simplified DoC", &lower, |p| {
            &p.simplified
        }));
    }
    match simplified_url(cx) {
        Some(u) if syntax::is_exact_https_url(u) => {}
        Some(u) if syntax::is_https_url(u) => problems.push(format!(
            "{u:?} is a site, not the exact internet address of the full DoC (Annex VI)"
        )),
        Some(u) => problems.push(format!("the full DoC address {u:?} must be an https URL")),
        None => problems.push(
            "the simplified DoC must give the exact internet address of the full DoC (simplified.url)"
                .into(),
        ),
    }
    Finding::from_problems(
        id,
        &problems,
        "the simplified DoC names the manufacturer and the listed product, cites the CRA and gives the full DoC's address",
    )
}

/// Whether the simplified DoC's type designation names the listed product:
/// its name, or one of its usable identifiers (model, GTIN, purl, CPE...).
fn simplified_product_problem(cx: &Context<'_>, lower: &str) -> Option<String> {
    let product = &cx.listing.raw.product;
    let named = lower.contains(&normalise(&product.name))
        || usable_identifiers(&product.identifiers)
            .filter(|(name, _)| !matches!(*name, "batch" | "serial"))
            .any(|(_, value)| lower.contains(&normalise(value)));
    (!named).then(|| {
        format!(
            "the simplified DoC's product type does not identify the listed product: name {:?} or its model in it (Annex VI)",
            product.name
        )
    })
}

/// When the policy lists accepted phrasings for a statement, the statement
/// must use one of them (in any of the policy's languages).
fn phrasing_problem(
    cx: &Context<'_>,
    what: &str,
    lower: &str,
    pick: impl Fn(&Phrasings) -> &Vec<String>,
) -> Option<String> {
    let accepted: Vec<(&str, &String)> = cx
        .rules
        .phrasings
        .iter()
        .flat_map(|(language, p)| {
            pick(p)
                .iter()
                .map(move |phrase| (language.as_str(), phrase))
        })
        .collect();
    if accepted.is_empty() || accepted.iter().any(|(_, p)| lower.contains(&normalise(p))) {
        return None;
    }
    let listed: Vec<String> = accepted
        .iter()
        .map(|(language, phrase)| format!("{language}: {phrase:?}"))
        .collect();
    Some(format!(
        "{what} uses none of the phrasings the policy accepts ({})",
        listed.join(", ")
    ))
}

/// Art. 28(2): the DoC is translated into the languages required by the
/// Member State where the product is placed or made available; the policy
/// says which (`[doc] languages`).
fn languages(cx: &Context<'_>) -> Finding {
    let id = CheckId::DocLanguages;
    let required = &cx.rules.doc_languages;
    if required.is_empty() {
        return Finding::not_applicable(id, "the policy names no language the DoC must be in");
    }
    if cx.doc.is_none() && !cx.simplified_only {
        return Finding::fail(id, "cannot run: no declaration of conformity was supplied");
    }
    let given: &[String] = cx
        .listing
        .raw
        .declaration_of_conformity
        .as_ref()
        .map(|b| b.languages.as_slice())
        .unwrap_or_default();
    let mut problems: Vec<String> = given
        .iter()
        .filter(|l| !syntax::is_language_tag(l))
        .map(|l| format!("{l:?} is not a language tag such as \"de\""))
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .filter(|r| {
            !given
                .iter()
                .any(|l| l.split('-').next() == Some(r.as_str()))
        })
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "the DoC must be available in {} (Art. 28(2)); declaration_of_conformity.languages lists {}",
            missing.join(", "),
            if given.is_empty() { "none".to_owned() } else { given.join(", ") }
        ));
    }
    Finding::from_problems(
        id,
        &problems,
        format!("the DoC is available in {}", given.join(", ")),
    )
}

fn full(cx: &Context<'_>, doc: &RawDoc) -> Vec<Finding> {
    vec![
        product(doc),
        manufacturer(doc),
        sole_responsibility(cx, doc),
        object(doc),
        conformity_statement(doc),
        standards(doc),
        conformity_assessment(doc),
        signature(cx, doc),
        cites_cra(doc),
        other_acts(doc),
        identity::matches_listing(cx, doc),
    ]
}

fn product(doc: &RawDoc) -> Finding {
    let p = doc.product.as_ref();
    let mut problems = Vec::new();
    if !present(p.and_then(|p| p.name.as_deref())) {
        problems.push("add product.name to the DoC".to_owned());
    }
    if !present(p.and_then(|p| p.type_.as_deref()))
        && !present(p.and_then(|p| p.version.as_deref()))
    {
        problems.push("add the product type (product.type) or version to the DoC".to_owned());
    }
    Finding::from_problems(
        CheckId::DocProduct,
        &problems,
        "the DoC names the product and its type",
    )
}

fn manufacturer(doc: &RawDoc) -> Finding {
    let complete = |party: Option<&super::DocParty>| {
        party.is_some_and(|p| present(p.name.as_deref()) && present(p.postal_address.as_deref()))
    };
    if complete(doc.manufacturer.as_ref()) || complete(doc.authorised_representative.as_ref()) {
        Finding::pass(
            CheckId::DocManufacturer,
            "the DoC names the manufacturer with an address",
        )
    } else {
        Finding::fail(
            CheckId::DocManufacturer,
            "add the name and postal address of the manufacturer (or authorised representative) to the DoC",
        )
    }
}

/// Annex V(3): the statement that the DoC is issued under the sole
/// responsibility of the provider, in the DoC's language.
fn sole_responsibility(cx: &Context<'_>, doc: &RawDoc) -> Finding {
    let id = CheckId::DocSoleResponsibility;
    let Some(statement) = doc
        .sole_responsibility
        .as_deref()
        .filter(|s| present(Some(s)))
    else {
        return Finding::fail(
            id,
            "add the statement that the DoC is issued under the sole responsibility of the provider (sole_responsibility, in the DoC's language)",
        );
    };
    let lower = normalise(statement);
    match phrasing_problem(cx, "the sole-responsibility statement", &lower, |p| {
        &p.sole_responsibility
    }) {
        Some(problem) => Finding::fail(id, problem),
        None => Finding::pass(id, "the sole-responsibility statement is present"),
    }
}

fn object(doc: &RawDoc) -> Finding {
    let o = doc.object.as_ref();
    let mut problems = Vec::new();
    if !present(o.and_then(|o| o.description.as_deref())) {
        problems.push("add object.description to the DoC".to_owned());
    }
    if o.is_none_or(|o| o.identifiers.entries().all(|(_, v)| v.trim().is_empty())) {
        problems
            .push("add an identifier that allows traceability to object.identifiers".to_owned());
    }
    Finding::from_problems(
        CheckId::DocObject,
        &problems,
        "the object of the declaration is identified",
    )
}

fn conformity_statement(doc: &RawDoc) -> Finding {
    match doc.legislation.as_deref() {
        Some(acts) if !acts.is_empty() && acts.iter().all(|a| present(Some(a.act.as_str()))) => {
            Finding::pass(
                CheckId::DocConformityStatement,
                "the DoC declares conformity with Union legislation",
            )
        }
        _ => Finding::fail(
            CheckId::DocConformityStatement,
            "add legislation: the Union harmonisation acts the product is declared to conform with",
        ),
    }
}

fn standards(doc: &RawDoc) -> Finding {
    let mut problems = Vec::new();
    if doc.standards.is_none()
        && doc.common_specifications.is_none()
        && doc.certifications.is_none()
    {
        problems.push(
            "add standards, common_specifications and certifications to the DoC (empty lists when none was applied)"
                .to_owned(),
        );
    }
    let blank = |items: &Option<Vec<String>>| items.iter().flatten().any(|s| s.trim().is_empty());
    if blank(&doc.standards) || blank(&doc.common_specifications) {
        problems.push("a standard or common specification reference is empty".to_owned());
    }
    for cert in doc.certifications.iter().flatten() {
        if !present(Some(cert.scheme.as_str())) || !present(cert.certificate.as_deref()) {
            problems.push("each certification needs its scheme and certificate".to_owned());
        }
    }
    Finding::from_problems(
        CheckId::DocStandards,
        &problems,
        "standards, specifications and certifications are listed",
    )
}

fn conformity_assessment(doc: &RawDoc) -> Finding {
    let ca = doc.conformity_assessment.as_ref();
    let procedure = ca.and_then(|c| c.procedure.as_deref());
    let Some(procedure_text) = procedure else {
        return Finding::fail(
            CheckId::DocConformityAssessment,
            "add conformity_assessment.procedure (A, B+C, H or EUCC) to the DoC",
        );
    };
    let Some(procedure) = Procedure::parse(procedure_text) else {
        return Finding::fail(
            CheckId::DocConformityAssessment,
            format!(
                "conformity_assessment.procedure {procedure_text:?} is not one of A, B+C, H, EUCC"
            ),
        );
    };
    let body = ca.and_then(|c| c.notified_body.as_ref());
    let named = body.is_some_and(|b| present(b.name.as_deref()) && present(b.number.as_deref()));
    if procedure.needs_notified_body() && !named {
        return Finding::fail(
            CheckId::DocConformityAssessment,
            format!(
                "module {procedure} involves a notified body: add its name and number to conformity_assessment.notified_body"
            ),
        );
    }
    Finding::pass(
        CheckId::DocConformityAssessment,
        format!("procedure {procedure} is described"),
    )
}

fn signature(cx: &Context<'_>, doc: &RawDoc) -> Finding {
    let s = doc.signed.as_ref();
    let mut problems = Vec::new();
    let fields = [
        ("for", s.and_then(|s| s.for_.as_deref())),
        ("place", s.and_then(|s| s.place.as_deref())),
        ("name", s.and_then(|s| s.name.as_deref())),
        ("function", s.and_then(|s| s.function.as_deref())),
    ];
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, v)| !present(*v))
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "the DoC signature block lacks {}",
            missing.join(", ")
        ));
    }
    match s
        .and_then(|s| s.date.as_deref())
        .map(|d| (d, syntax::parse_day(d)))
    {
        None => problems.push("the DoC signature block lacks the date of issue".to_owned()),
        Some((d, None)) => problems.push(format!("signed.date {d:?} must be YYYY-MM-DD")),
        Some((d, Some(date))) => {
            // Art. 28(2): the DoC is kept up to date, so one signed after
            // the placing date (a later release or revision) is normal; one
            // dated after the evaluation does not exist yet.
            if date > cx.at.to_zoned(TimeZone::UTC).date() {
                problems.push(format!("the DoC is dated {d}, after the evaluation date"));
            }
        }
    }
    Finding::from_problems(
        CheckId::DocSignature,
        &problems,
        "the DoC is signed with place, date, name and function",
    )
}

fn cites_cra(doc: &RawDoc) -> Finding {
    if doc.legislation.iter().flatten().any(|l| is_cra(&l.act)) {
        Finding::pass(CheckId::DocCitesCra, format!("the DoC cites {CRA_ACT}"))
    } else {
        Finding::fail(
            CheckId::DocCitesCra,
            format!("the DoC must cite {CRA_ACT} in legislation"),
        )
    }
}

fn other_acts(doc: &RawDoc) -> Finding {
    let acts = doc.legislation.as_deref().unwrap_or_default();
    if acts.len() < 2 {
        return Finding::not_applicable(CheckId::DocOtherActs, "the DoC covers a single act");
    }
    let unreferenced: Vec<&str> = acts
        .iter()
        .filter(|a| !present(a.reference.as_deref()))
        .map(|a| a.act.as_str())
        .collect();
    if unreferenced.is_empty() {
        Finding::pass(
            CheckId::DocOtherActs,
            "every act in the DoC has its publication reference",
        )
    } else {
        Finding::fail(
            CheckId::DocOtherActs,
            format!(
                "the DoC covers several acts: add the Official Journal reference of {}",
                unreferenced.join(", ")
            ),
        )
    }
}
