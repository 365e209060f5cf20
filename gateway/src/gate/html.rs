//! `report.html`: the shipment report for a compliance officer, one
//! self-contained page (no external assets, no scripts) that prints on A4.
//! Rendered by askama from `templates/gate/report.html`; every value that
//! came from the manifest or a listing is HTML-escaped by the template
//! engine.

use askama::Template;

use super::report::{ItemDecision, ItemReport, Report};

/// The page.
#[derive(Debug, Template)]
#[template(path = "gate/report.html")]
struct Page<'a> {
    report: &'a Report,
    refused: Vec<&'a ItemReport>,
}

/// Renders `report` as HTML.
pub fn render(report: &Report) -> Result<String, askama::Error> {
    Page {
        report,
        refused: report
            .items
            .iter()
            .filter(|i| i.decision != ItemDecision::Accepted)
            .collect(),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::report::{PolicyView, SupplierView, Totals};

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
            items: Vec::new(),
        };
        let html = render(&report).unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("A &#38; B") || html.contains("A &amp; B"),
            "{html}"
        );
    }
}
