//! Checks on the DoC: presence (Art. 13(20)), Annex VI, Annex V items 1–8,
//! the acts cited (Art. 28(1), 28(3)) and that it declares the listed product.

use jiff::tz::TimeZone;

use super::{CRA_ACT, RawDoc, is_cra, normalise};
use crate::catalog::CheckId;
use crate::ce::Procedure;
use crate::evidence::Identifiers;
use crate::evidence::syntax::{self, present};
use crate::policy::Context;
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
    let block = cx.listing.raw.declaration_of_conformity.as_ref();
    let simplified = block.and_then(|b| b.simplified.as_ref());
    let mut findings = vec![presence(cx), simplified_form(cx)];
    match cx.doc {
        Some(doc) => findings.extend(full(cx, doc)),
        None if simplified.is_some() => findings.extend(ANNEX_V.iter().map(|id| {
            Finding::not_applicable(
                *id,
                "only the simplified DoC was supplied; the full DoC it points to was not examined",
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

fn presence(cx: &Context<'_>) -> Finding {
    let block = cx.listing.raw.declaration_of_conformity.as_ref();
    let simplified_url = block
        .and_then(|b| b.simplified.as_ref())
        .and_then(|s| s.url.as_deref().or(block.and_then(|b| b.url.as_deref())));
    if cx.listing.full_doc().is_some() {
        Finding::pass(
            CheckId::DocPresent,
            "the full EU declaration of conformity is attached",
        )
    } else if cx.doc.is_some() {
        Finding::pass(
            CheckId::DocPresent,
            "the full EU declaration of conformity is attached as a verified attestation",
        )
    } else if let Some(url) = simplified_url {
        Finding::pass(
            CheckId::DocPresent,
            format!("a simplified DoC is attached; the full DoC is at {url}"),
        )
    } else {
        Finding::fail(
            CheckId::DocPresent,
            "attach the EU declaration of conformity (declaration_of_conformity.full), or a simplified one with the address of the full DoC",
        )
    }
}

fn simplified_form(cx: &Context<'_>) -> Finding {
    let block = cx.listing.raw.declaration_of_conformity.as_ref();
    let Some(simplified) = block.and_then(|b| b.simplified.as_ref()) else {
        return Finding::not_applicable(CheckId::DocSimplified, "no simplified DoC was supplied");
    };
    let mut problems = Vec::new();
    let text = simplified.text.as_deref().unwrap_or_default();
    let lower = normalise(text);
    if !present(Some(text)) {
        problems.push("declaration_of_conformity.simplified.text is missing".to_owned());
    } else {
        if !lower.contains("declares") || !is_cra(text) {
            problems.push(format!(
                "the simplified DoC must read \"[manufacturer] declares that the product with digital elements type [type] is in compliance with {CRA_ACT}\""
            ));
        }
        let manufacturer = cx
            .listing
            .raw
            .operators
            .manufacturer
            .as_ref()
            .and_then(|m| m.name.as_deref());
        if let Some(name) = manufacturer.filter(|n| !lower.contains(&normalise(n))) {
            problems.push(format!(
                "the simplified DoC does not name the manufacturer {name:?}"
            ));
        }
    }
    let url = simplified
        .url
        .as_deref()
        .or(block.and_then(|b| b.url.as_deref()));
    match url {
        Some(u) if syntax::is_https_url(u) => {}
        Some(u) => problems.push(format!("the full DoC address {u:?} must be an https URL")),
        None => problems
            .push("the simplified DoC must give the internet address of the full DoC".into()),
    }
    Finding::from_problems(
        CheckId::DocSimplified,
        &problems,
        "the simplified DoC has the Annex VI sentence and address",
    )
}

fn full(cx: &Context<'_>, doc: &RawDoc) -> Vec<Finding> {
    vec![
        product(doc),
        manufacturer(doc),
        sole_responsibility(doc),
        object(doc),
        conformity_statement(doc),
        standards(doc),
        conformity_assessment(doc),
        signature(cx, doc),
        cites_cra(doc),
        other_acts(doc),
        matches_listing(cx, doc),
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

fn sole_responsibility(doc: &RawDoc) -> Finding {
    match doc.sole_responsibility.as_deref() {
        Some(s) if normalise(s).contains("sole responsibility") => Finding::pass(
            CheckId::DocSoleResponsibility,
            "the sole-responsibility statement is present",
        ),
        _ => Finding::fail(
            CheckId::DocSoleResponsibility,
            "add the statement that the DoC is issued under the sole responsibility of the provider",
        ),
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
            if date > cx.at.to_zoned(TimeZone::UTC).date() {
                problems.push(format!("the DoC is dated {d}, after the evaluation time"));
            }
            let placed = cx
                .listing
                .raw
                .placed_on_market
                .as_deref()
                .and_then(syntax::parse_day);
            if placed.is_some_and(|p| date > p) {
                problems.push(format!(
                    "the DoC is dated {d}, after the product was placed on the market: it must be drawn up before (Art. 13(12))"
                ));
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

fn matches_listing(cx: &Context<'_>, doc: &RawDoc) -> Finding {
    let listed = &cx.listing.raw.product;
    let mut problems = Vec::new();
    let Some(p) = doc.product.as_ref() else {
        return Finding::fail(
            CheckId::DocMatchesListing,
            "cannot run: the DoC has no product",
        );
    };
    if let Some(name) = p
        .name
        .as_deref()
        .filter(|n| normalise(n) != normalise(&listed.name))
    {
        problems.push(format!(
            "the DoC is for {name:?}, the listing for {:?}",
            listed.name
        ));
    }
    if let Some(version) = p
        .version
        .as_deref()
        .filter(|v| !version_covers(v, &listed.version))
    {
        problems.push(format!(
            "the DoC declares version {version:?}, the listing is version {:?}",
            listed.version
        ));
    }
    if let (Some(kind), Some(model)) = (p.type_.as_deref(), listed.identifiers.model.as_deref())
        && normalise(kind) != normalise(model)
    {
        problems.push(format!(
            "the DoC declares type {kind:?}, the listing model {model:?}"
        ));
    }
    problems.extend(identifier_mismatches(&p.identifiers, &listed.identifiers));
    let maker = cx
        .listing
        .raw
        .operators
        .manufacturer
        .as_ref()
        .and_then(|m| m.name.as_deref());
    let doc_maker = doc.manufacturer.as_ref().and_then(|m| m.name.as_deref());
    if let (Some(listed), Some(declared)) = (maker, doc_maker)
        && normalise(listed) != normalise(declared)
    {
        problems.push(format!(
            "the DoC is issued by {declared:?} but the listing names {listed:?} as manufacturer (Art. 21)"
        ));
    }
    Finding::from_problems(
        CheckId::DocMatchesListing,
        &problems,
        "the DoC declares the listed product",
    )
}

/// `4.2.1` covers `4.2.1`; `4.x` or `4.2.x` covers the versions it prefixes.
fn version_covers(declared: &str, listed: &str) -> bool {
    match declared.strip_suffix('x') {
        Some(prefix) => listed.starts_with(prefix),
        None => declared.trim() == listed.trim(),
    }
}

fn identifier_mismatches(declared: &Identifiers, listed: &Identifiers) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, value) in declared.entries() {
        let Some(other) = listed.value(name) else {
            continue;
        };
        let equal = if name == "purl" {
            purl_base(value) == purl_base(other)
                && (!value.contains('@') || !other.contains('@') || value == other)
        } else {
            normalise(value) == normalise(other)
        };
        if !equal {
            problems.push(format!(
                "identifier {name}: the DoC has {value:?}, the listing {other:?}"
            ));
        }
    }
    problems
}

fn purl_base(purl: &str) -> &str {
    purl.split(['@', '?', '#']).next().unwrap_or(purl)
}
