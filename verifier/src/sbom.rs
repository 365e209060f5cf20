//! SBOMs (Annex I Part II(1); Art. 3(39)): CycloneDX 1.4–1.6 and SPDX 2.3 /
//! 3.0 documents, read structurally from JSON.
//!
//! The CRA sets no SBOM format (an implementing act may, Art. 13(24)); a
//! gateway that requires one applies its own policy. An SBOM may come
//! inline or as an attestation (`sbom.attestation`, an index into
//! `attestations`): a signed in-toto statement about the artifact whose
//! predicate is the SBOM document, verified like every signature (see
//! `signatures`); the content checks then run on the verified document.

use serde_json::Value;

use crate::catalog::CheckId;
use crate::doc::normalise;
use crate::evidence::SbomFormatName;
use crate::limits::MAX_SBOM_COMPONENTS;
use crate::policy::Context;
use crate::signatures::Signature;
use crate::verdict::Finding;

/// What the SBOM document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CycloneDx,
    Spdx2,
    Spdx3,
}

/// Every SBOM finding.
pub(crate) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    let sbom = cx.listing.raw.sbom.as_ref();
    let required = cx.rules.sbom_required;
    let attestation = match sbom.and_then(|s| s.attestation) {
        None => {
            Finding::not_applicable(CheckId::SbomAttestation, "no SBOM attestation was supplied")
        }
        Some(index) if index >= cx.listing.raw.attestations.len() => Finding::fail(
            CheckId::SbomAttestation,
            format!(
                "sbom.attestation points at attestation {index}, which the listing does not have"
            ),
        ),
        Some(_) => match (&cx.signatures.sbom, sbom.and_then(|s| s.document.as_ref())) {
            (Signature::Verified { value, .. }, Some(inline)) if value != inline => Finding::fail(
                CheckId::SbomAttestation,
                "sbom.document differs from the signed SBOM: supply the signed one, or only the attestation",
            ),
            (Signature::Verified { signer, .. }, _) => Finding::pass(
                CheckId::SbomAttestation,
                format!("the SBOM is signed by {signer} and bound to the artifact digest"),
            ),
            (Signature::Failed(reason), _) => {
                Finding::fail(CheckId::SbomAttestation, reason.clone())
            }
            (Signature::Missing, _) => Finding::fail(
                CheckId::SbomAttestation,
                "cannot run: the SBOM attestation was not examined",
            ),
        },
    };
    let attested = match &cx.signatures.sbom {
        Signature::Verified { value, .. } => Some(value),
        _ => None,
    };
    let document = sbom.and_then(|s| s.document.as_ref().or(attested).map(|d| (s.format, d)));
    let Some((claimed, document)) = document else {
        let only_attestation = sbom.is_some();
        let present = match (only_attestation, required) {
            (true, true) => Finding::fail(
                CheckId::SbomPresent,
                "the SBOM arrives only as an attestation, which did not verify (see sbom.attestation)",
            ),
            (false, true) => Finding::fail(
                CheckId::SbomPresent,
                "the policy requires an SBOM: add sbom.document (CycloneDX or SPDX)",
            ),
            (true, false) => Finding::not_applicable(
                CheckId::SbomPresent,
                "the policy does not require an SBOM; the one supplied is only an attestation (see sbom.attestation)",
            ),
            (false, false) => Finding::not_applicable(
                CheckId::SbomPresent,
                "the policy does not require an SBOM and none was supplied",
            ),
        };
        let content = |id| match (only_attestation, required) {
            (_, true) => Finding::fail(id, "cannot run: no SBOM document was supplied"),
            (true, false) => Finding::not_applicable(
                id,
                "the SBOM is only an attestation that did not verify (see sbom.attestation)",
            ),
            (false, false) => Finding::not_applicable(id, "no SBOM was supplied"),
        };
        return vec![
            present,
            content(CheckId::SbomFormat),
            content(CheckId::SbomComponents),
            content(CheckId::SbomDescribesProduct),
            attestation,
        ];
    };
    let present = Finding::pass(CheckId::SbomPresent, "an SBOM is included");
    let (format, kind) = format(claimed, document);
    let (components, describes) = match kind {
        None => (
            Finding::fail(
                CheckId::SbomComponents,
                "cannot run: the SBOM format was not recognised",
            ),
            Finding::fail(
                CheckId::SbomDescribesProduct,
                "cannot run: the SBOM format was not recognised",
            ),
        ),
        Some(kind) => (components(kind, document), describes(cx, kind, document)),
    };
    vec![present, format, components, describes, attestation]
}

fn format(claimed: SbomFormatName, doc: &Value) -> (Finding, Option<Kind>) {
    let id = CheckId::SbomFormat;
    let text = |key: &str| doc.get(key).and_then(Value::as_str);
    let found = if text("bomFormat") == Some("CycloneDX") {
        match text("specVersion") {
            Some(v @ ("1.4" | "1.5" | "1.6")) => Ok((Kind::CycloneDx, format!("CycloneDX {v}"))),
            other => Err(format!(
                "CycloneDX specVersion {other:?} is not supported: use 1.4, 1.5 or 1.6"
            )),
        }
    } else if let Some(version) = text("spdxVersion") {
        match version {
            "SPDX-2.3" => Ok((Kind::Spdx2, "SPDX 2.3".to_owned())),
            other => Err(format!(
                "spdxVersion {other:?} is not supported: use SPDX-2.3 or SPDX 3.0"
            )),
        }
    } else if spdx3_context(doc) {
        Ok((Kind::Spdx3, "SPDX 3.0".to_owned()))
    } else {
        Err("sbom.document is neither CycloneDX (bomFormat) nor SPDX (spdxVersion or the SPDX 3.0 @context)".to_owned())
    };
    match found {
        Err(problem) => (Finding::fail(id, problem), None),
        Ok((kind, _)) if (kind == Kind::CycloneDx) != (claimed == SbomFormatName::Cyclonedx) => (
            Finding::fail(
                id,
                format!("sbom.format says {claimed:?} but the document is {kind:?}"),
            ),
            Some(kind),
        ),
        Ok((kind, name)) => (Finding::pass(id, format!("the SBOM is {name}")), Some(kind)),
    }
}

fn spdx3_context(doc: &Value) -> bool {
    let is_spdx3 = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.starts_with("https://spdx.org/rdf/3.0"))
    };
    match doc.get("@context") {
        Some(Value::Array(items)) => items.iter().any(is_spdx3),
        Some(other) => is_spdx3(other),
        None => false,
    }
}

fn spdx3_graph(doc: &Value) -> &[Value] {
    doc.get("@graph")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn components(kind: Kind, doc: &Value) -> Finding {
    let id = CheckId::SbomComponents;
    let count = match kind {
        Kind::CycloneDx => doc
            .get("components")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        Kind::Spdx2 => doc
            .get("packages")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        Kind::Spdx3 => spdx3_graph(doc)
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some("software_Package"))
            .count(),
    };
    if count == 0 {
        Finding::fail(
            id,
            "the SBOM lists no components: include at least the top-level dependencies",
        )
    } else if count > MAX_SBOM_COMPONENTS {
        Finding::fail(
            id,
            format!("the SBOM lists {count} components, over the limit of {MAX_SBOM_COMPONENTS}"),
        )
    } else {
        Finding::pass(id, format!("the SBOM lists {count} components"))
    }
}

fn describes(cx: &Context<'_>, kind: Kind, doc: &Value) -> Finding {
    let id = CheckId::SbomDescribesProduct;
    let product = &cx.listing.raw.product;
    let name_of = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
    let described: Vec<String> = match kind {
        Kind::CycloneDx => doc
            .pointer("/metadata/component")
            .and_then(name_of)
            .into_iter()
            .collect(),
        Kind::Spdx2 => {
            let roots: Vec<&str> = doc
                .get("documentDescribes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .chain(
                    doc.get("relationships")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter(|r| {
                            r.get("relationshipType").and_then(Value::as_str) == Some("DESCRIBES")
                        })
                        .filter_map(|r| r.get("relatedSpdxElement").and_then(Value::as_str)),
                )
                .collect();
            doc.get("packages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| {
                    p.get("SPDXID")
                        .and_then(Value::as_str)
                        .is_some_and(|i| roots.contains(&i))
                })
                .filter_map(name_of)
                .collect()
        }
        Kind::Spdx3 => {
            let graph = spdx3_graph(doc);
            let roots: Vec<&str> = graph
                .iter()
                .filter(|e| {
                    matches!(
                        e.get("type").and_then(Value::as_str),
                        Some("software_Sbom" | "SpdxDocument")
                    )
                })
                .filter_map(|e| e.get("rootElement").and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            graph
                .iter()
                .filter(|e| {
                    e.get("spdxId")
                        .and_then(Value::as_str)
                        .is_some_and(|i| roots.contains(&i))
                })
                .filter_map(name_of)
                .collect()
        }
    };
    let wanted = normalise(&product.name);
    let model = product.identifiers.model.as_deref().map(normalise);
    let purl_name = product.identifiers.purl.as_deref().and_then(purl_name);
    let matches = |name: &String| {
        let n = normalise(name);
        n == wanted || Some(&n) == model.as_ref() || purl_name.as_deref() == Some(n.as_str())
    };
    match described.first() {
        None => Finding::fail(
            id,
            "the SBOM does not say what it describes: set metadata.component (CycloneDX) or the described package (SPDX)",
        ),
        Some(_) if described.iter().any(matches) => {
            Finding::pass(id, format!("the SBOM describes {}", product.name))
        }
        Some(other) => Finding::fail(
            id,
            format!(
                "the SBOM describes {other:?}, not the listed product {:?}",
                product.name
            ),
        ),
    }
}

/// The name part of a purl, lower-cased (`pkg:cargo/foo@1` → `foo`).
fn purl_name(purl: &str) -> Option<String> {
    let path = purl.strip_prefix("pkg:")?.split(['@', '?', '#']).next()?;
    path.rsplit('/').next().map(normalise)
}
