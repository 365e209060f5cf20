//! Checks on the economic operators a listing names: the manufacturer
//! (Art. 13(16)), its authorised representative (Art. 3(15), Art. 18), the
//! importer (Art. 3(16), Art. 19(4)), the supplier (Art. 23(1)) and an
//! open-source software steward (Art. 3(14), Art. 24).
//!
//! "Established in the Union" means one of the policy's
//! `[market] union_states` (default: the EU-27).

use super::syntax::{self, present};
use super::{Listing, Operator};
use crate::catalog::CheckId;
use crate::policy::Context;
use crate::verdict::Finding;

/// Every operator finding.
pub(super) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    vec![
        manufacturer(cx),
        authorised_representative(cx),
        importer(cx),
        supplier(cx),
        steward(cx),
    ]
}

/// Whether the listing's product is free and open-source software that an
/// open-source software steward supports and no manufacturer places on the
/// market: the manufacturer's duties then do not apply (Art. 24).
pub(crate) fn steward_only(listing: &Listing) -> bool {
    let raw = &listing.raw;
    raw.operators.manufacturer.is_none()
        && raw.product.free_open_source
        && raw
            .operators
            .steward
            .as_ref()
            .is_some_and(|s| present(s.name.as_deref()))
}

/// Art. 13(16): "name, registered trade name or registered trademark, the
/// postal address, the email address or other digital contact details as
/// well as, where applicable, the website". A website is not always
/// applicable, so it is checked only when given.
fn manufacturer(cx: &Context<'_>) -> Finding {
    let id = CheckId::OperatorsManufacturer;
    let Some(m) = &cx.listing.raw.operators.manufacturer else {
        return Finding::fail(
            id,
            "add operators.manufacturer with its name, postal_address and an email (or other digital_contact)",
        );
    };
    let mut problems = contact_problems("manufacturer", m);
    if let Some(c) = m.country.as_deref().filter(|c| !syntax::is_country_code(c)) {
        problems.push(format!(
            "operators.manufacturer.country {c:?} must be an ISO 3166-1 alpha-2 code such as \"DE\" or \"CN\""
        ));
    }
    Finding::from_problems(
        id,
        &problems,
        format!(
            "the manufacturer's name, postal address and {} are given",
            digital_contact_name(m)
        ),
    )
}

/// Art. 3(15): an authorised representative is "established within the
/// Union" and holds a written mandate (Art. 18); the DoC may name it instead
/// of the manufacturer (Annex V(2)).
fn authorised_representative(cx: &Context<'_>) -> Finding {
    let id = CheckId::OperatorsAuthorisedRepresentative;
    let declared = cx
        .doc
        .and_then(|d| d.authorised_representative.as_ref())
        .and_then(|r| r.name.as_deref())
        .filter(|n| present(Some(n)));
    let Some(rep) = &cx.listing.raw.operators.authorised_representative else {
        let note = declared
            .map(|n| format!("; the DoC names {n:?} as authorised representative"))
            .unwrap_or_default();
        return Finding::not_applicable(id, format!("no authorised representative is named{note}"));
    };
    let mut problems = Vec::new();
    if !present(rep.name.as_deref()) {
        problems.push("operators.authorised_representative.name is missing".to_owned());
    }
    if !present(rep.postal_address.as_deref()) {
        problems.push("operators.authorised_representative.postal_address is missing".to_owned());
    }
    problems.extend(union_problem(
        cx,
        "authorised_representative",
        rep,
        "Art. 3(15)",
    ));
    if let (Some(listed), Some(doc)) = (rep.name.as_deref(), declared)
        && crate::doc::normalise(listed) != crate::doc::normalise(doc)
    {
        problems.push(format!(
            "the DoC names {doc:?} as authorised representative, the listing {listed:?} (Annex V(2))"
        ));
    }
    Finding::from_problems(
        id,
        &problems,
        "the authorised representative is named with an address in the Union",
    )
}

/// Art. 19(4): the importer's name, postal address, e-mail or other
/// digital contact and, where applicable, website; an importer is
/// established in the Union (Art. 3(16)) and is needed when the
/// manufacturer is not.
fn importer(cx: &Context<'_>) -> Finding {
    let id = CheckId::OperatorsImporter;
    let ops = &cx.listing.raw.operators;
    let manufacturer_country = ops.manufacturer.as_ref().and_then(|m| m.country.as_deref());
    match (manufacturer_country, &ops.importer) {
        (Some(c), None) if cx.rules.in_union(c) => Finding::not_applicable(
            id,
            format!("the manufacturer is established in the Union ({c}); no importer is involved"),
        ),
        (None, None) => Finding::fail(
            id,
            "cannot tell whether an importer is needed: give operators.manufacturer.country",
        ),
        (Some(c), None) => Finding::fail(
            id,
            format!(
                "the manufacturer is established outside the Union ({c}): add operators.importer with the importer's name, postal address and an email or other digital_contact"
            ),
        ),
        (_, Some(importer)) => {
            let mut problems = contact_problems("importer", importer);
            problems.extend(union_problem(cx, "importer", importer, "Art. 3(16)"));
            Finding::from_problems(
                id,
                &problems,
                format!(
                    "the importer's name, postal address and {} are given",
                    digital_contact_name(importer)
                ),
            )
        }
    }
}

/// Art. 23(1): the economic operator that supplied the product.
fn supplier(cx: &Context<'_>) -> Finding {
    let id = CheckId::OperatorsSupplier;
    let Some(s) = &cx.listing.raw.operators.supplier else {
        return Finding::fail(
            id,
            "add operators.supplier: the name and postal address of whoever supplied the product to you",
        );
    };
    let mut problems = Vec::new();
    if !present(s.name.as_deref()) {
        problems.push("operators.supplier.name is missing".to_owned());
    }
    if !present(s.postal_address.as_deref()) {
        problems.push("operators.supplier.postal_address is missing".to_owned());
    }
    Finding::from_problems(id, &problems, "the supplier is named with an address")
}

/// Art. 3(14): a steward systematically supports free and open-source
/// software intended for commercial activities; Art. 24 gives it its own
/// duties instead of the manufacturer's.
fn steward(cx: &Context<'_>) -> Finding {
    let id = CheckId::OperatorsSteward;
    let raw = &cx.listing.raw;
    let Some(steward) = &raw.operators.steward else {
        return Finding::not_applicable(id, "no open-source software steward is named");
    };
    let mut problems = Vec::new();
    if !present(steward.name.as_deref()) {
        problems.push("operators.steward.name is missing".to_owned());
    }
    if !raw.product.free_open_source {
        problems.push(
            "a steward supports free and open-source software (Art. 3(14)): this product is not declared free_open_source".to_owned(),
        );
    }
    let role = if raw.operators.manufacturer.is_some() {
        "beside the manufacturer, whose duties apply"
    } else {
        "and no manufacturer places it on the market: the manufacturer's duties do not apply, the steward's do (Art. 24)"
    };
    Finding::from_problems(
        id,
        &problems,
        format!("an open-source software steward supports the product, {role}"),
    )
}

/// Name, postal address, and an e-mail address or other digital contact;
/// a website only when given (Art. 13(16), Art. 19(4)).
fn contact_problems(role: &str, operator: &Operator) -> Vec<String> {
    let mut problems = Vec::new();
    if !present(operator.name.as_deref()) {
        problems.push(format!("operators.{role}.name is missing"));
    }
    if !present(operator.postal_address.as_deref()) {
        problems.push(format!("operators.{role}.postal_address is missing"));
    }
    let email = operator.email.as_deref();
    let other = operator.digital_contact.as_deref();
    if let Some(e) = email.filter(|e| !syntax::is_email(e)) {
        problems.push(format!(
            "operators.{role}.email {e:?} is not an e-mail address"
        ));
    }
    if let Some(c) = other.filter(|c| !(syntax::is_https_url(c) || syntax::is_mailto(c))) {
        problems.push(format!(
            "operators.{role}.digital_contact {c:?} must be an https URL (a contact form) or a mailto: address"
        ));
    }
    if email.is_none() && other.is_none() {
        problems.push(format!(
            "operators.{role} needs an email or other digital_contact (an https contact form)"
        ));
    }
    if let Some(w) = operator
        .website
        .as_deref()
        .filter(|w| !syntax::is_web_url(w))
    {
        problems.push(format!(
            "operators.{role}.website {w:?} is not a web address (http or https)"
        ));
    }
    problems
}

fn digital_contact_name(operator: &Operator) -> &'static str {
    if operator.email.is_some() {
        "e-mail address"
    } else {
        "digital contact"
    }
}

/// The problem with where `operator` is established, if any.
fn union_problem(
    cx: &Context<'_>,
    role: &str,
    operator: &Operator,
    article: &str,
) -> Option<String> {
    match operator.country.as_deref() {
        Some(c) if cx.rules.in_union(c) => None,
        Some(c) => Some(format!(
            "the {} must be established in the Union ({article}); operators.{role}.country is {c:?}",
            role.replace('_', " ")
        )),
        None => Some(format!(
            "give operators.{role}.country (a state of the Union)"
        )),
    }
}
