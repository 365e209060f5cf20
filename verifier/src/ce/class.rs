//! Class and procedure (Art. 32): which conformity assessment procedures the
//! product's category allows, what a procedure without a third party may
//! rely on (Art. 27), the certificate a third-party procedure must identify
//! (Annex V(7)), and Art. 32(5) for free and open-source software.
//!
//! - Class I under module A (Art. 32(2)): only when the manufacturer applied
//!   in full harmonised standards whose references are published in the
//!   Official Journal under this Regulation (Art. 27(1)), common
//!   specifications (Art. 27(2)) or a certification scheme specified under
//!   Art. 27(9) at level "substantial" or higher. A standard harmonised under
//!   another act (EN 18031-1 is under the Radio Equipment Directive), a
//!   national scheme or a framework such as NIST SSDF does not count. The
//!   lists are the policy's data files (`[conformity]`), with their dates.
//! - A certification scheme as the procedure (Art. 32(1)(d), 32(3)(c), 8(1))
//!   counts only when it is on the policy's list of schemes, at a level the
//!   list accepts ("substantial" or higher for important and critical
//!   products).

use std::collections::BTreeSet;

use super::presumption::{AnnexIPart, Entry, PresumptionList};
use super::{Procedure, declared_procedure, no_procedure};
use crate::catalog::CheckId;
use crate::doc::RawDoc;
use crate::evidence::Category;
use crate::evidence::syntax::{self, present};
use crate::policy::Context;
use crate::verdict::Finding;

/// Every class-and-procedure finding.
pub(crate) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    vec![procedure(cx), certificate(cx), foss_documentation(cx)]
}

fn procedure(cx: &Context<'_>) -> Finding {
    let id = CheckId::ConformityProcedure;
    let category = cx.listing.category();
    let mandated = mandated_schemes(cx, category);
    let (article, allowed): (&'static str, Vec<Procedure>) = match category {
        Category::Default => (
            "Art. 32(1)",
            vec![
                Procedure::A,
                Procedure::BPlusC,
                Procedure::H,
                Procedure::Eucc,
            ],
        ),
        Category::ClassI(_) => (
            "Art. 32(2)",
            vec![
                Procedure::A,
                Procedure::BPlusC,
                Procedure::H,
                Procedure::Eucc,
            ],
        ),
        Category::ClassII(_) => (
            "Art. 32(3)",
            vec![Procedure::BPlusC, Procedure::H, Procedure::Eucc],
        ),
        Category::Critical(_) if !mandated.is_empty() => ("Art. 8(1)", vec![Procedure::Eucc]),
        Category::Critical(_) => ("Art. 32(4)", cx.rules.critical_procedures.clone()),
    };
    let Some(procedure) = declared_procedure(cx) else {
        if category == Category::Default {
            return Finding::pass(
                id,
                "default category: any procedure of Art. 32(1) is allowed",
            )
            .with_article(article);
        }
        return no_procedure(cx, id).with_article(article);
    };
    let foss_module_a = procedure == Procedure::A
        && cx.listing.raw.product.free_open_source
        && matches!(category, Category::ClassI(_) | Category::ClassII(_));
    if foss_module_a {
        return Finding::pass(
            id,
            format!("{category}: free and open-source software may use module A when its technical documentation is public (Art. 32(5))"),
        )
        .with_article("Art. 32(5)");
    }
    if !allowed.contains(&procedure) {
        let names = match allowed.as_slice() {
            [only] => only.to_string(),
            _ => {
                let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
                format!("one of {}", names.join(", "))
            }
        };
        let mandate = if mandated.is_empty() {
            String::new()
        } else {
            format!(
                " (a delegated act under Art. 8(1) requires a certificate under {})",
                mandated.join(" or ")
            )
        };
        return Finding::fail(
            id,
            format!("{category} products may not use module {procedure}{mandate}: use {names}"),
        )
        .with_article(article);
    }
    let finding = match (category, procedure) {
        (Category::ClassI(_), Procedure::A) => module_a(cx, category),
        (_, Procedure::Eucc) => scheme(cx, category, &mandated),
        _ => Finding::pass(id, format!("module {procedure} is allowed for {category}")),
    };
    finding.with_article(article)
}

/// Names of the schemes an Art. 8(1) delegated act requires for `category`.
fn mandated_schemes(cx: &Context<'_>, category: Category) -> Vec<String> {
    cx.presumption
        .schemes
        .iter()
        .flat_map(PresumptionList::entries)
        .filter(|e| e.mandatory_for.contains(&category))
        .map(|e| e.reference.clone())
        .collect()
}

/// Art. 32(2): class I under module A, relying on what Art. 27 lists.
fn module_a(cx: &Context<'_>, category: Category) -> Finding {
    let id = CheckId::ConformityProcedure;
    let lists = cx.presumption;
    if lists.standards.is_none() && lists.specifications.is_none() && lists.schemes.is_none() {
        return Finding::fail(
            id,
            format!(
                "cannot run: {category} under module A relies on harmonised standards, common specifications or certification schemes, and the policy carries no list of them ([conformity] harmonised_standards, common_specifications, certification_schemes)"
            ),
        );
    }
    let Some(doc) = cx.doc else {
        return no_procedure(cx, id);
    };
    let mut covered = BTreeSet::new();
    let mut relied = Vec::new();
    let mut unknown = Vec::new();
    for (cited, list) in doc
        .standards
        .iter()
        .flatten()
        .map(|s| (s, lists.standards.as_ref()))
        .chain(
            doc.common_specifications
                .iter()
                .flatten()
                .map(|s| (s, lists.specifications.as_ref())),
        )
        .filter(|(s, _)| present(Some(s)))
    {
        match list.and_then(|l| l.find(cited)) {
            Some(entry) => {
                covered.extend(entry.covers.iter().copied());
                relied.push(entry.reference.clone());
            }
            None => unknown.push(format!("{cited:?}")),
        }
    }
    for cert in doc.certifications.iter().flatten() {
        match qualifying_scheme(cx, category, cert, &[]) {
            Ok((entry, level)) => {
                covered.extend(entry.covers.iter().copied());
                relied.push(format!("{} at level {level}", entry.reference));
            }
            Err(reason) => unknown.push(reason),
        }
    }
    if covered.contains(&AnnexIPart::PartI) && covered.contains(&AnnexIPart::PartII) {
        return Finding::pass(
            id,
            format!(
                "{category} under module A: {} {} Annex I in full (Art. 27)",
                relied.join(", "),
                if relied.len() == 1 { "covers" } else { "cover" }
            ),
        );
    }
    let mut reasons = Vec::new();
    if !unknown.is_empty() {
        reasons.push(format!(
            "{} {} not on the policy's lists ({})",
            unknown.join(", "),
            if unknown.len() == 1 { "is" } else { "are" },
            as_of(cx)
        ));
    }
    if !relied.is_empty() {
        let parts: Vec<String> = covered.iter().map(ToString::to_string).collect();
        reasons.push(format!(
            "{} {} only {}",
            relied.join(", "),
            if relied.len() == 1 { "covers" } else { "cover" },
            parts.join(" and ")
        ));
    }
    if reasons.is_empty() {
        reasons.push("the DoC declares no standard, specification or certification".to_owned());
    }
    Finding::fail(
        id,
        format!(
            "{category} may use module A only with harmonised standards published under Regulation (EU) 2024/2847, common specifications or a certification scheme at level substantial or higher, applied in full (Art. 27): {}; use module B+C or H, or apply a listed standard",
            reasons.join("; ")
        ),
    )
}

/// A certification scheme as the procedure (Art. 32(1)(d), 32(3)(c), 32(4)).
fn scheme(cx: &Context<'_>, category: Category, mandated: &[String]) -> Finding {
    let id = CheckId::ConformityProcedure;
    if cx.presumption.schemes.is_none() {
        return Finding::fail(
            id,
            "cannot run: the policy carries no list of certification schemes specified under Art. 27(9) ([conformity] certification_schemes)",
        );
    }
    let certifications: Vec<_> = cx
        .doc
        .and_then(|d| d.certifications.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let mut reasons = Vec::new();
    for cert in &certifications {
        match qualifying_scheme(cx, category, cert, mandated) {
            Ok((entry, level)) => {
                return Finding::pass(
                    id,
                    format!(
                        "{category} certified under {} at level {level}, a scheme specified for this Regulation ({})",
                        entry.reference, entry.published
                    ),
                );
            }
            Err(reason) => reasons.push(reason),
        }
    }
    if reasons.is_empty() {
        reasons.push("the DoC declares no certification (certifications)".to_owned());
    }
    let alternatives = match category {
        Category::Critical(_) if !mandated.is_empty() => "",
        _ => "; use module B+C or H",
    };
    Finding::fail(
        id,
        format!(
            "{category} relies on a certification scheme: {}{alternatives}",
            reasons.join("; ")
        ),
    )
}

/// The list entry and level of a certification that counts for `category`,
/// or why it does not.
fn qualifying_scheme<'a>(
    cx: &'a Context<'_>,
    category: Category,
    cert: &'a crate::doc::Certification,
    mandated: &[String],
) -> Result<(&'a Entry, &'a str), String> {
    let scheme = cert.scheme.as_str();
    let list = cx.presumption.schemes.as_ref().ok_or_else(|| {
        format!("{scheme:?} cannot be judged: the policy carries no list of certification schemes")
    })?;
    let Some(entry) = list.find(scheme) else {
        return Err(format!(
            "{scheme:?} is not on the policy's list of certification schemes specified under Art. 27(9) (as of {})",
            list.as_of()
        ));
    };
    if !mandated.is_empty() && !mandated.contains(&entry.reference) {
        return Err(format!(
            "{scheme:?} is not the scheme an Art. 8(1) delegated act requires ({})",
            mandated.join(", ")
        ));
    }
    let level = cert.assurance_level.as_deref().unwrap_or_default();
    if !entry.assurance_levels.iter().any(|l| l == level) {
        return Err(format!(
            "{scheme:?} at level {level:?}: the scheme is specified for {}",
            entry.assurance_levels.join(", ")
        ));
    }
    if category != Category::Default && !matches!(level, "substantial" | "high") {
        return Err(format!(
            "{scheme:?} at level {level}: {category} needs level substantial or higher"
        ));
    }
    if !present(cert.certificate.as_deref()) {
        return Err(format!("{scheme:?} without a certificate identified"));
    }
    Ok((entry, level))
}

/// The dates the policy's lists were last checked.
fn as_of(cx: &Context<'_>) -> String {
    let lists = cx.presumption;
    let dates: Vec<String> = [&lists.standards, &lists.specifications, &lists.schemes]
        .into_iter()
        .flatten()
        .map(|l| format!("{} as of {}", l.kind().name().replace('-', " "), l.as_of()))
        .collect();
    dates.join(", ")
}

fn certificate(cx: &Context<'_>) -> Finding {
    let id = CheckId::ConformityCertificate;
    let Some(procedure) = declared_procedure(cx) else {
        return no_procedure(cx, id);
    };
    let doc = cx.doc;
    let on_assessment = doc
        .and_then(|d| d.conformity_assessment.as_ref())
        .and_then(|c| c.certificate.as_deref())
        .filter(|c| present(Some(c)));
    match procedure {
        Procedure::BPlusC => match on_assessment {
            Some(c) => Finding::pass(id, format!("EU-type examination certificate {c}")),
            None => Finding::fail(
                id,
                "module B+C: identify the EU-type examination certificate in conformity_assessment.certificate",
            )
            .with_article("Annex VIII Part II(6)"),
        },
        Procedure::Eucc => match on_assessment.or_else(|| listed_certificate(doc)) {
            Some(c) => Finding::pass(id, format!("certificate {c}")),
            None => Finding::fail(
                id,
                "certification scheme: identify the certificate in conformity_assessment.certificate",
            ),
        },
        other => Finding::not_applicable(
            id,
            format!("module {other} issues no certificate to identify"),
        ),
    }
}

/// The first certificate identified among the DoC's certifications.
fn listed_certificate(doc: Option<&RawDoc>) -> Option<&str> {
    doc.and_then(|d| d.certifications.as_ref())
        .into_iter()
        .flatten()
        .find_map(|c| c.certificate.as_deref().filter(|c| present(Some(c))))
}

fn foss_documentation(cx: &Context<'_>) -> Finding {
    let id = CheckId::ConformityFossDocumentation;
    let product = &cx.listing.raw.product;
    let important = matches!(
        cx.listing.category(),
        Category::ClassI(_) | Category::ClassII(_)
    );
    if !product.free_open_source || !important {
        return Finding::not_applicable(id, "not a free and open-source important product");
    }
    match declared_procedure(cx) {
        None => no_procedure(cx, id),
        Some(Procedure::A) => match product.technical_documentation.as_deref() {
            Some(url) if syntax::is_https_url(url) => Finding::pass(
                id,
                format!("the technical documentation is public at {url}"),
            ),
            _ => Finding::fail(
                id,
                "free and open-source software under module A must make its technical documentation public: give its https address in product.technical_documentation",
            ),
        },
        Some(other) => Finding::not_applicable(id, format!("module {other} is used, not module A")),
    }
}
