//! Whether the DoC declares the listed product (Annex V(1) and (4)):
//! "name and type and any additional information enabling the unique
//! identification of the product".
//!
//! The DoC identifies the listed product when its product name agrees with
//! the listing's and at least one strong identifier (model, GTIN, purl, CPE)
//! agrees, and none contradicts. Its `type` may be a model designation (it
//! then counts as the model when it equals the listed one) or a description
//! of the product ("Indoor Wi-Fi security camera"), which contradicts
//! nothing. Batch and serial numbers are not compared: a DoC declares a type
//! or model, not a unit (FAQ 6.8). A declared version must cover the listed
//! one, and a DoC issued by another manufacturer than the listing names is a
//! rebrand (Art. 21).

use super::{RawDoc, normalise};
use crate::catalog::CheckId;
use crate::evidence::syntax::purls_agree;
use crate::evidence::usable_identifiers;
use crate::policy::Context;
use crate::verdict::Finding;

/// Identifiers strong enough to tell one product from another.
const STRONG: &[&str] = &["model", "gtin", "purl", "cpe"];

/// `doc.matches-listing`.
pub(super) fn matches_listing(cx: &Context<'_>, doc: &RawDoc) -> Finding {
    let id = CheckId::DocMatchesListing;
    let listed = &cx.listing.raw.product;
    let Some(p) = doc.product.as_ref() else {
        return Finding::fail(id, "cannot run: the DoC has no product");
    };
    let mut problems = Vec::new();
    match p.name.as_deref() {
        Some(name) if normalise(name) == normalise(&listed.name) => {}
        Some(name) => problems.push(format!(
            "the DoC is for {name:?}, the listing for {:?}",
            listed.name
        )),
        None => problems.push("the DoC names no product (product.name)".to_owned()),
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
    let listing_ids: Vec<(&str, &str)> = usable_identifiers(&listed.identifiers)
        .filter(|(name, _)| STRONG.contains(name))
        .collect();
    let declared: Vec<(&str, &str)> = p
        .identifiers
        .entries()
        .chain(doc.object.iter().flat_map(|o| o.identifiers.entries()))
        .filter(|(name, value)| STRONG.contains(name) && !value.trim().is_empty())
        .collect();
    let mut agreed = Vec::new();
    for (name, value) in &declared {
        let Some((_, other)) = listing_ids.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let equal = if *name == "purl" {
            purls_agree(value, other)
        } else {
            normalise(value) == normalise(other)
        };
        let problem = format!("identifier {name}: the DoC has {value:?}, the listing {other:?}");
        if equal && !agreed.contains(name) {
            agreed.push(*name);
        } else if !equal && !problems.contains(&problem) {
            // The product and the object of the declaration may repeat one.
            problems.push(problem);
        }
    }
    let model = listing_ids
        .iter()
        .find(|(n, _)| *n == "model")
        .map(|(_, v)| *v);
    if let (Some(kind), Some(model)) = (p.type_.as_deref(), model)
        && normalise(kind) == normalise(model)
    {
        agreed.push("model (as its type)");
    }
    if agreed.is_empty() {
        problems.push(no_agreement(&listing_ids, p.type_.as_deref()));
    }
    problems.extend(rebrand(cx, doc));
    Finding::from_problems(
        id,
        &problems,
        format!(
            "the DoC declares the listed product (name, and {} agree)",
            agreed.join(", ")
        ),
    )
}

/// What to say when no strong identifier of the DoC agrees.
fn no_agreement(listing_ids: &[(&str, &str)], kind: Option<&str>) -> String {
    if listing_ids.is_empty() {
        return "the listing gives no model, GTIN, purl or CPE to compare the DoC with: add one to product.identifiers".to_owned();
    }
    let listed: Vec<String> = listing_ids
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    let kind = kind
        .map(|k| format!(" (its type {k:?} is not the listed model)"))
        .unwrap_or_default();
    format!(
        "no model, GTIN, purl or CPE of the DoC agrees with the listing's {}{kind}: the DoC must identify the product (Annex V(1))",
        listed.join(", ")
    )
}

/// A DoC issued by another manufacturer than the listing names (Art. 21).
fn rebrand(cx: &Context<'_>, doc: &RawDoc) -> Option<String> {
    let maker = cx
        .listing
        .raw
        .operators
        .manufacturer
        .as_ref()
        .and_then(|m| m.name.as_deref())?;
    let declared = doc.manufacturer.as_ref().and_then(|m| m.name.as_deref())?;
    (normalise(maker) != normalise(declared)).then(|| {
        format!(
            "the DoC is issued by {declared:?} but the listing names {maker:?} as manufacturer (Art. 21)"
        )
    })
}

/// `4.2.1` covers `4.2.1`; `4.x` or `4.2.x` covers the versions it prefixes.
fn version_covers(declared: &str, listed: &str) -> bool {
    match declared.strip_suffix('x') {
        Some(prefix) => listed.starts_with(prefix),
        None => declared.trim() == listed.trim(),
    }
}
