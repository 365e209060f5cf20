//! CE marking (Art. 30), notified bodies (Art. 44) and the class and
//! conformity assessment procedure (Art. 32).

mod class;
mod nando;
mod presumption;

use std::fmt;

use crate::catalog::CheckId;
use crate::evidence::syntax::{self, is_notified_body_number};
use crate::evidence::{CePlacement, ProductKind};
use crate::policy::Context;
use crate::verdict::Finding;

pub(crate) use class::evaluate as class_findings;
pub use nando::{NotifiedBodies, NotifiedBody, NotifiedBodyError};
pub use presumption::{
    AnnexIPart, Entry, ListKind, PRESUMPTION_LIST_FORMAT, PresumptionList, PresumptionListError,
};

/// A conformity assessment procedure (Art. 32; Annex VIII).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Procedure {
    /// Module A: internal control (Annex VIII Part I).
    A,
    /// Module B (EU-type examination) followed by module C (Annex VIII Parts II, III).
    BPlusC,
    /// Module H: full quality assurance (Annex VIII Part IV).
    H,
    /// A European cybersecurity certification scheme: EUCC, Implementing
    /// Regulation (EU) 2024/482 (Art. 27(9), Art. 32(1)(d)).
    Eucc,
}

impl Procedure {
    /// Parses `A`, `B+C`, `H` or `EUCC`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "A" => Some(Self::A),
            "B+C" => Some(Self::BPlusC),
            "H" => Some(Self::H),
            "EUCC" => Some(Self::Eucc),
            _ => None,
        }
    }

    /// Whether a notified body takes part (modules B and H).
    pub fn needs_notified_body(self) -> bool {
        matches!(self, Self::BPlusC | Self::H)
    }

    /// The NANDO module code the notified body must be notified for.
    pub(crate) fn nando_module(self) -> Option<&'static str> {
        match self {
            Self::BPlusC => Some("B"),
            Self::H => Some("H"),
            Self::A | Self::Eucc => None,
        }
    }
}

impl fmt::Display for Procedure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::A => "A",
            Self::BPlusC => "B+C",
            Self::H => "H",
            Self::Eucc => "EUCC",
        })
    }
}

/// Every CE-marking and notified-body finding.
pub(crate) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    vec![
        affixed(cx),
        placement(cx),
        notified_body_after_marking(cx),
        notified_body_numbers(cx),
        nando::listed(cx),
    ]
}

/// The procedure the full DoC declares, if it declares a known one.
pub(crate) fn declared_procedure(cx: &Context<'_>) -> Option<Procedure> {
    cx.doc
        .and_then(|d| d.conformity_assessment.as_ref())
        .and_then(|c| c.procedure.as_deref())
        .and_then(Procedure::parse)
}

/// The notified body number the full DoC declares.
pub(crate) fn declared_body_number<'a>(cx: &'a Context<'_>) -> Option<&'a str> {
    cx.doc
        .and_then(|d| d.conformity_assessment.as_ref())
        .and_then(|c| c.notified_body.as_ref())
        .and_then(|b| b.number.as_deref())
}

/// What a procedure-dependent check says when no full DoC declares a
/// procedure: not applicable when only the simplified DoC was supplied
/// (Art. 13(20) allows it on its own) and the policy does not require the
/// full one; otherwise the check cannot run, and fails.
pub(crate) fn no_procedure(cx: &Context<'_>, id: CheckId) -> Finding {
    if cx.simplified_only && !cx.rules.doc_full_required {
        return Finding::not_applicable(
            id,
            "only the simplified DoC was supplied, which Art. 13(20) allows on its own; the procedure is in the full DoC, which was not examined",
        );
    }
    Finding::fail(
        id,
        "cannot run: the conformity assessment procedure is unknown; attach the full DoC with conformity_assessment.procedure",
    )
}

fn affixed(cx: &Context<'_>) -> Finding {
    match &cx.listing.raw.ce_marking {
        Some(ce) if ce.affixed => Finding::pass(CheckId::CeAffixed, "the CE marking is affixed"),
        Some(_) => Finding::fail(
            CheckId::CeAffixed,
            "the CE marking is not affixed: it must be affixed before the product is placed on the market",
        ),
        None => Finding::fail(
            CheckId::CeAffixed,
            "add ce_marking with affixed: true and where it is placed",
        ),
    }
}

fn placement(cx: &Context<'_>) -> Finding {
    let Some(ce) = cx.listing.raw.ce_marking.as_ref().filter(|ce| ce.affixed) else {
        return Finding::fail(CheckId::CePlacement, "cannot run: no CE marking is affixed");
    };
    let kind = cx.listing.kind();
    match (kind, ce.placement) {
        (_, None) => Finding::fail(CheckId::CePlacement, "add ce_marking.placement"),
        (ProductKind::Software, Some(CePlacement::Website)) => match ce.website.as_deref() {
            Some(url) if syntax::is_https_url(url) => Finding::pass(
                CheckId::CePlacement,
                format!("the CE marking is on the product website {url}"),
            ),
            _ => Finding::fail(
                CheckId::CePlacement,
                "the CE marking is on the accompanying website: give its https address in ce_marking.website",
            ),
        },
        (ProductKind::Software, Some(CePlacement::Doc)) => {
            Finding::pass(CheckId::CePlacement, "the CE marking is on the DoC")
        }
        (ProductKind::Software, Some(other)) => Finding::fail(
            CheckId::CePlacement,
            format!(
                "software carries the CE marking on the DoC or the accompanying website, not on the {}",
                placement_name(other)
            ),
        ),
        (ProductKind::Hardware, Some(CePlacement::Product | CePlacement::Packaging)) => {
            Finding::pass(
                CheckId::CePlacement,
                "the CE marking is on the product or its packaging",
            )
        }
        (_, Some(other)) => Finding::fail(
            CheckId::CePlacement,
            format!(
                "hardware carries the CE marking on the product (or, where that is impossible, on the packaging), not only on the {}",
                placement_name(other)
            ),
        ),
    }
}

fn placement_name(placement: CePlacement) -> &'static str {
    match placement {
        CePlacement::Product => "product",
        CePlacement::Packaging => "packaging",
        CePlacement::Doc => "DoC",
        CePlacement::Website => "website",
    }
}

/// The notified body number written after the CE marking, if any.
fn body_on_marking<'a>(cx: &'a Context<'_>) -> Option<&'a str> {
    cx.listing
        .raw
        .ce_marking
        .as_ref()
        .and_then(|ce| ce.notified_body.as_deref())
}

fn notified_body_after_marking(cx: &Context<'_>) -> Finding {
    let on_marking = body_on_marking(cx);
    let Some(procedure) = declared_procedure(cx) else {
        return no_procedure(cx, CheckId::CeNotifiedBody);
    };
    if procedure != Procedure::H {
        let note = match on_marking {
            Some(n) => format!("; the number {n} after the CE marking is not required"),
            None => String::new(),
        };
        return Finding::not_applicable(
            CheckId::CeNotifiedBody,
            format!("module {procedure}: no notified body number follows the CE marking{note}"),
        );
    }
    match (on_marking, declared_body_number(cx)) {
        (None, _) => Finding::fail(
            CheckId::CeNotifiedBody,
            "module H: the notified body's number must follow the CE marking (ce_marking.notified_body)",
        ),
        (Some(mark), Some(doc)) if mark.trim() != doc.trim() => Finding::fail(
            CheckId::CeNotifiedBody,
            format!("the CE marking carries notified body {mark}, the DoC names {doc}"),
        ),
        (Some(mark), _) => Finding::pass(
            CheckId::CeNotifiedBody,
            format!("notified body {mark} follows the CE marking"),
        ),
    }
}

fn notified_body_numbers(cx: &Context<'_>) -> Finding {
    let on_marking = body_on_marking(cx);
    let numbers: Vec<(&str, &str)> = [
        ("ce_marking.notified_body", on_marking),
        ("DoC notified_body.number", declared_body_number(cx)),
    ]
    .into_iter()
    .filter_map(|(w, n)| n.map(|n| (w, n)))
    .collect();
    if numbers.is_empty() {
        return Finding::not_applicable(
            CheckId::CeNotifiedBodyNumber,
            "no notified body number is given",
        );
    }
    let problems: Vec<String> = numbers
        .iter()
        .filter(|(_, n)| !is_notified_body_number(n))
        .map(|(w, n)| {
            format!("{w} {n:?} must be the body's four-digit NANDO number, e.g. \"0123\"")
        })
        .collect();
    Finding::from_problems(
        CheckId::CeNotifiedBodyNumber,
        &problems,
        "notified body numbers are well formed",
    )
}
