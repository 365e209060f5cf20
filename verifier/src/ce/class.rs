//! Class and procedure (Art. 32): which conformity assessment procedures the
//! product's category allows, the certificate a third-party procedure must
//! identify (Annex V(7)), and Art. 32(5) for free and open-source software.

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
    let (article, allowed): (&'static str, &[Procedure]) = match category {
        Category::Default => (
            "Art. 32(1)",
            &[
                Procedure::A,
                Procedure::BPlusC,
                Procedure::H,
                Procedure::Eucc,
            ],
        ),
        Category::ClassI(_) => (
            "Art. 32(2)",
            &[
                Procedure::A,
                Procedure::BPlusC,
                Procedure::H,
                Procedure::Eucc,
            ],
        ),
        Category::ClassII(_) => (
            "Art. 32(3)",
            &[Procedure::BPlusC, Procedure::H, Procedure::Eucc],
        ),
        Category::Critical(_) => ("Art. 32(4)", cx.rules.critical_procedures.as_slice()),
    };
    let Some(procedure) = declared_procedure(cx) else {
        if category == Category::Default {
            return Finding::pass(
                id,
                "default category: any procedure of Art. 32(1) is allowed",
            )
            .with_article(article);
        }
        return no_procedure(id).with_article(article);
    };
    let doc = cx.doc;
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
        let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        return Finding::fail(
            id,
            format!(
                "{category} products may not use module {procedure}: use one of {}",
                names.join(", ")
            ),
        )
        .with_article(article);
    }
    let finding = match (category, procedure) {
        (Category::ClassI(_), Procedure::A) if !declares_presumption(doc) => Finding::fail(
            id,
            format!(
                "{category} with module A needs harmonised standards, common specifications or a certification at level substantial or higher applied in full; declare them in the DoC or use B+C, H or EUCC"
            ),
        ),
        (Category::ClassII(_) | Category::Critical(_) | Category::ClassI(_), Procedure::Eucc)
            if !eucc_substantial(doc) =>
        {
            Finding::fail(
                id,
                format!(
                    "{category} with EUCC needs a certificate at assurance level substantial or high; declare it in certifications"
                ),
            )
        }
        _ => Finding::pass(id, format!("module {procedure} is allowed for {category}")),
    };
    finding.with_article(article)
}

fn certificate(cx: &Context<'_>) -> Finding {
    let id = CheckId::ConformityCertificate;
    let Some(procedure) = declared_procedure(cx) else {
        return no_procedure(id);
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
        Procedure::Eucc => {
            let in_list = doc
                .and_then(|d| d.certifications.as_ref())
                .into_iter()
                .flatten()
                .find(|c| c.scheme.contains("EUCC"))
                .and_then(|c| c.certificate.as_deref());
            match on_assessment.or(in_list) {
                Some(c) => Finding::pass(id, format!("EUCC certificate {c}")),
                None => Finding::fail(id, "EUCC: identify the EUCC certificate in conformity_assessment.certificate"),
            }
        }
        other => Finding::not_applicable(id, format!("module {other} issues no certificate to identify")),
    }
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
        None => no_procedure(id),
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

/// Annex V(6) declares standards, common specifications or a certification at
/// level substantial or higher (Art. 32(2)).
fn declares_presumption(doc: Option<&RawDoc>) -> bool {
    let nonempty =
        |items: Option<&Vec<String>>| items.is_some_and(|i| i.iter().any(|s| present(Some(s))));
    doc.is_some_and(|d| {
        nonempty(d.standards.as_ref())
            || nonempty(d.common_specifications.as_ref())
            || certified_substantial(d)
    })
}

fn eucc_substantial(doc: Option<&RawDoc>) -> bool {
    doc.is_some_and(certified_substantial)
}

fn certified_substantial(doc: &RawDoc) -> bool {
    doc.certifications.iter().flatten().any(|c| {
        matches!(c.assurance_level.as_deref(), Some("substantial" | "high"))
            && present(c.certificate.as_deref())
    })
}
