//! `report.html`: the shipment report for a compliance officer, one
//! self-contained page (no external assets, no scripts) that prints on A4.
//! Rendered by askama from `templates/gate/report.html`; every value that
//! came from the manifest or a listing is HTML-escaped by the template
//! engine.

use std::cell::RefCell;
use std::io;

use askama::Template;

use super::report::Report;
use super::spill::{Html, Part, Spill};

/// The page. Each item's row and refused section were rendered when the
/// item finished (`templates/gate/item_row.html`, `item_refused.html`)
/// and are read back from `spill` as the page is written.
#[derive(Debug, Template)]
#[template(path = "gate/report.html")]
struct Page<'a> {
    report: &'a Report,
    rows: Html<'a>,
    refused: Html<'a>,
}

/// Writes the page of `report` and the items of `spill` into `out`.
pub fn write(report: &Report, spill: &Spill, out: &mut dyn io::Write) -> io::Result<()> {
    let error = RefCell::new(None);
    let page = Page {
        report,
        rows: spill.html(Part::Row, &error),
        refused: spill.html(Part::Refused, &error),
    };
    let written = page.write_into(out);
    match error.into_inner() {
        Some(error) => Err(error),
        None => written,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::report::{
        CheckView, ItemDecision, ItemReport, PolicyView, SupplierView, Totals,
    };
    use cragate_verifier::verdict::{Outcome, Severity};

    #[test]
    fn manifest_text_is_escaped() {
        let report = Report {
            format: crate::gate::report::REPORT_FORMAT,
            reference: "<script>alert(1)</script>".into(),
            arrived_on: jiff::civil::date(2026, 11, 30),
            supplier: SupplierView {
                id: "s".into(),
                name: "A & B \"Ltd\"".into(),
                postal_address: "1 Road".into(),
                email: None,
                country: None,
            },
            documents: Default::default(),
            policy: PolicyView {
                name: "importer".into(),
                digest: cragate_verifier::Digest::of(b"p"),
            },
            evaluated_at: "2027-01-01T00:00:00Z".parse().unwrap(),
            importer: None,
            totals: Totals::default(),
        };
        let item = |index, decision, detail: &str| ItemReport {
            index,
            listing: "items/<b>x</b>/listing.json".into(),
            product_id: Some(format!("urn:x:{index}")),
            product_name: Some("<script>alert(2)</script>".into()),
            version: Some("1.0".into()),
            decision,
            verdict: Some("deny"),
            error: None,
            quantity: Some(1),
            batch: Some("<i>b</i>".into()),
            serials: Vec::new(),
            importer_stamped: false,
            checks: vec![CheckView {
                id: "doc.present".into(),
                article: "Art. 19(2)(c)".into(),
                result: Outcome::Fail,
                severity: Severity::Required,
                detail: detail.into(),
            }],
            evidence: Vec::new(),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(Some(dir.path()), 2).unwrap();
        // Kept in the order items finish, written in manifest order.
        spill
            .add(&item(1, ItemDecision::Refused, "second <em>item</em>"))
            .unwrap();
        spill
            .add(&item(0, ItemDecision::Accepted, "first"))
            .unwrap();
        spill.finish().unwrap();
        let report = Report {
            totals: spill.totals(),
            ..report
        };
        let mut out = Vec::new();
        write(&report, &spill, &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("A &#38; B") || html.contains("A &amp; B"),
            "{html}"
        );
        assert!(!html.contains("<em>") && !html.contains("<b>x") && !html.contains("<i>b"));
        let first = html.find("urn:x:0").unwrap();
        let second = html.find("urn:x:1").unwrap();
        assert!(first < second, "rows in manifest order");
        assert!(
            html.contains("id=\"item-1\""),
            "the refused item has its section"
        );
        assert!(!html.contains("id=\"item-0\""), "the accepted one has none");
        assert!(html.contains("second &#60;em&#62;item") || html.contains("second &lt;em&gt;item"));
    }
}
