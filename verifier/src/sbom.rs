//! SBOMs (Annex I Part II(1); Art. 3(39)): CycloneDX 1.4 to 1.7 and SPDX
//! 2.2 (ISO/IEC 5962:2021), 2.3 and 3.0 documents, read structurally from
//! JSON.
//!
//! The CRA asks for an SBOM "in a commonly used and machine-readable
//! format" and sets none (an implementing act may, Art. 13(24)); a gateway
//! that requires one applies its own policy, and one it does not require is
//! checked for consistency only when present. An SBOM may come inline or as
//! an attestation (`sbom.attestation`, an index into `attestations`): a
//! signed in-toto statement about the artifact whose predicate is the SBOM
//! document, verified like every signature (see `signatures`); the content
//! checks then run on the verified document.
//!
//! The SBOM describes the product when its root component agrees with the
//! listing by purl, CPE or artifact hash, or by version and a name that
//! contains the product's name or model (a hardware product's SBOM is that
//! of its firmware), and no purl or CPE contradicts it.

use serde_json::{Map, Value};

use crate::catalog::CheckId;
use crate::doc::normalise;
use crate::evidence::SbomFormatName;
use crate::evidence::syntax::{purls_agree, same_version};
use crate::evidence::usable_identifiers;
use crate::limits::MAX_SBOM_COMPONENTS;
use crate::policy::Context;
use crate::signatures::Signature;
use crate::verdict::Finding;

type Object = Map<String, Value>;

/// What the SBOM document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CycloneDx,
    Spdx2,
    Spdx3,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::CycloneDx => "CycloneDX",
            Self::Spdx2 | Self::Spdx3 => "SPDX",
        }
    }
}

/// Every SBOM finding.
pub(crate) fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    let sbom = cx.listing.raw.sbom.as_ref();
    let required = cx.rules.sbom_required;
    let attestation = attestation(cx);
    let attested = match &cx.signatures.sbom {
        Signature::Verified { value, .. } => value.as_object(),
        _ => None,
    };
    let document = sbom.and_then(|s| s.document.as_ref().or(attested).map(|d| (s.format, d)));
    let Some((claimed, document)) = document else {
        return absent(sbom.is_some(), required, attestation);
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
        Some(kind) => (
            components(kind, document),
            describes(cx, &roots(kind, document)),
        ),
    };
    vec![present, format, components, describes, attestation]
}

fn attestation(cx: &Context<'_>) -> Finding {
    let id = CheckId::SbomAttestation;
    let sbom = cx.listing.raw.sbom.as_ref();
    match sbom.and_then(|s| s.attestation) {
        None => Finding::not_applicable(id, "no SBOM attestation was supplied"),
        Some(index) if index >= cx.listing.raw.attestations.len() => Finding::fail(
            id,
            format!(
                "sbom.attestation points at attestation {index}, which the listing does not have"
            ),
        ),
        Some(_) => match (&cx.signatures.sbom, sbom.and_then(|s| s.document.as_ref())) {
            (Signature::Verified { value, .. }, Some(inline))
                if value.as_object() != Some(inline) =>
            {
                Finding::fail(
                    id,
                    "sbom.document differs from the signed SBOM: supply the signed one, or only the attestation",
                )
            }
            (Signature::Verified { signer, .. }, _) => Finding::pass(
                id,
                format!("the SBOM is signed by {signer} and bound to the artifact digest"),
            ),
            (Signature::Failed(reason), _) => Finding::fail(id, reason.clone()),
            (Signature::Missing, _) => {
                Finding::fail(id, "cannot run: the SBOM attestation was not examined")
            }
        },
    }
}

/// The findings when no SBOM document can be read.
fn absent(only_attestation: bool, required: bool, attestation: Finding) -> Vec<Finding> {
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
    vec![
        present,
        content(CheckId::SbomFormat),
        content(CheckId::SbomComponents),
        content(CheckId::SbomDescribesProduct),
        attestation,
    ]
}

fn format(claimed: SbomFormatName, doc: &Object) -> (Finding, Option<Kind>) {
    let id = CheckId::SbomFormat;
    let text = |key: &str| doc.get(key).and_then(Value::as_str);
    let found = if text("bomFormat") == Some("CycloneDX") {
        match text("specVersion") {
            Some(v @ ("1.4" | "1.5" | "1.6" | "1.7")) => {
                Ok((Kind::CycloneDx, format!("CycloneDX {v}")))
            }
            Some(other) => Err(format!(
                "CycloneDX specVersion {other:?} is not supported: use 1.4, 1.5, 1.6 or 1.7"
            )),
            None => Err("the CycloneDX document has no specVersion".to_owned()),
        }
    } else if let Some(version) = text("spdxVersion") {
        match version {
            "SPDX-2.2" => Ok((Kind::Spdx2, "SPDX 2.2 (ISO/IEC 5962:2021)".to_owned())),
            "SPDX-2.3" => Ok((Kind::Spdx2, "SPDX 2.3".to_owned())),
            other => Err(format!(
                "spdxVersion {other:?} is not supported: use SPDX-2.2, SPDX-2.3 or SPDX 3.0"
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
                format!(
                    "sbom.format says {} but the document is {}",
                    claimed.name(),
                    kind.name()
                ),
            ),
            Some(kind),
        ),
        Ok((kind, name)) => (Finding::pass(id, format!("the SBOM is {name}")), Some(kind)),
    }
}

fn spdx3_context(doc: &Object) -> bool {
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

fn array(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn components(kind: Kind, doc: &Object) -> Finding {
    let id = CheckId::SbomComponents;
    let count = match kind {
        Kind::CycloneDx => array(doc.get("components")).len(),
        Kind::Spdx2 => array(doc.get("packages")).len(),
        Kind::Spdx3 => array(doc.get("@graph"))
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

/// What an SBOM says about the component it describes.
#[derive(Debug, Default)]
struct Root {
    name: Option<String>,
    version: Option<String>,
    purls: Vec<String>,
    cpes: Vec<String>,
    /// Lower-case hex SHA-256 digests.
    sha256: Vec<String>,
}

/// The components the SBOM says it describes: CycloneDX
/// `metadata.component`; SPDX 2 the packages of `documentDescribes` and of
/// `DESCRIBES` relationships; SPDX 3 the `rootElement`s of the SBOM.
fn roots(kind: Kind, doc: &Object) -> Vec<Root> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    match kind {
        Kind::CycloneDx => doc
            .get("metadata")
            .and_then(|m| m.get("component"))
            .map(|c| Root {
                name: text(c, "name"),
                version: text(c, "version"),
                purls: text(c, "purl").into_iter().collect(),
                cpes: text(c, "cpe").into_iter().collect(),
                sha256: array(c.get("hashes"))
                    .iter()
                    .filter(|h| h.get("alg").and_then(Value::as_str) == Some("SHA-256"))
                    .filter_map(|h| text(h, "content"))
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
            })
            .into_iter()
            .collect(),
        Kind::Spdx2 => {
            let described: Vec<&str> = array(doc.get("documentDescribes"))
                .iter()
                .filter_map(Value::as_str)
                .chain(
                    array(doc.get("relationships"))
                        .iter()
                        .filter(|r| {
                            r.get("relationshipType").and_then(Value::as_str) == Some("DESCRIBES")
                        })
                        .filter_map(|r| r.get("relatedSpdxElement").and_then(Value::as_str)),
                )
                .collect();
            array(doc.get("packages"))
                .iter()
                .filter(|p| {
                    p.get("SPDXID")
                        .and_then(Value::as_str)
                        .is_some_and(|i| described.contains(&i))
                })
                .map(|p| {
                    let refs = |types: &[&str]| -> Vec<String> {
                        array(p.get("externalRefs"))
                            .iter()
                            .filter(|r| {
                                r.get("referenceType")
                                    .and_then(Value::as_str)
                                    .is_some_and(|t| types.contains(&t))
                            })
                            .filter_map(|r| text(r, "referenceLocator"))
                            .collect()
                    };
                    Root {
                        name: text(p, "name"),
                        version: text(p, "versionInfo"),
                        purls: refs(&["purl"]),
                        cpes: refs(&["cpe23Type", "cpe22Type"]),
                        sha256: array(p.get("checksums"))
                            .iter()
                            .filter(|c| {
                                c.get("algorithm").and_then(Value::as_str) == Some("SHA256")
                            })
                            .filter_map(|c| text(c, "checksumValue"))
                            .map(|h| h.to_ascii_lowercase())
                            .collect(),
                    }
                })
                .collect()
        }
        Kind::Spdx3 => {
            let graph = array(doc.get("@graph"));
            let described: Vec<&str> = graph
                .iter()
                .filter(|e| {
                    matches!(
                        e.get("type").and_then(Value::as_str),
                        Some("software_Sbom" | "SpdxDocument")
                    )
                })
                .flat_map(|e| array(e.get("rootElement")))
                .filter_map(Value::as_str)
                .collect();
            graph
                .iter()
                .filter(|e| {
                    e.get("spdxId")
                        .and_then(Value::as_str)
                        .is_some_and(|i| described.contains(&i))
                })
                .map(|e| {
                    let identifiers = |types: &[&str]| -> Vec<String> {
                        array(e.get("externalIdentifier"))
                            .iter()
                            .filter(|i| {
                                i.get("externalIdentifierType")
                                    .and_then(Value::as_str)
                                    .is_some_and(|t| types.contains(&t))
                            })
                            .filter_map(|i| text(i, "identifier"))
                            .collect()
                    };
                    let mut purls = identifiers(&["packageUrl"]);
                    purls.extend(text(e, "software_packageUrl"));
                    Root {
                        name: text(e, "name"),
                        version: text(e, "software_packageVersion"),
                        purls,
                        cpes: identifiers(&["cpe23", "cpe22"]),
                        sha256: array(e.get("verifiedUsing"))
                            .iter()
                            .filter(|h| {
                                h.get("algorithm").and_then(Value::as_str) == Some("sha256")
                            })
                            .filter_map(|h| text(h, "hashValue"))
                            .map(|h| h.to_ascii_lowercase())
                            .collect(),
                    }
                })
                .collect()
        }
    }
}

fn describes(cx: &Context<'_>, roots: &[Root]) -> Finding {
    let id = CheckId::SbomDescribesProduct;
    let product = &cx.listing.raw.product;
    let Some(first) = roots.first() else {
        return Finding::fail(
            id,
            "the SBOM does not say what it describes: set metadata.component (CycloneDX) or the described package (SPDX)",
        );
    };
    let usable: Vec<(&str, &str)> = usable_identifiers(&product.identifiers).collect();
    let listed = |name: &str| usable.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let (purl, cpe, model) = (listed("purl"), listed("cpe"), listed("model"));
    let digests: Vec<String> = cx
        .listing
        .artifacts()
        .iter()
        .map(|a| hex::encode(a.digest.as_bytes()))
        .collect();
    let mut contradictions = Vec::new();
    for root in roots {
        let before = contradictions.len();
        let mut found = Vec::new();
        if let Some(listed) = purl {
            for p in &root.purls {
                if purls_agree(p, listed) {
                    found.push("purl");
                } else {
                    contradictions.push(format!(
                        "the SBOM's root component has purl {p}, the listing {listed}"
                    ));
                }
            }
        }
        if let Some(listed) = cpe {
            for c in &root.cpes {
                if c.eq_ignore_ascii_case(listed) {
                    found.push("CPE");
                } else {
                    contradictions.push(format!(
                        "the SBOM's root component has CPE {c}, the listing {listed}"
                    ));
                }
            }
        }
        if root.sha256.iter().any(|h| digests.contains(h)) {
            found.push("artifact hash");
        }
        let named = root.name.as_deref().map(normalise).is_some_and(|n| {
            n.contains(&normalise(&product.name))
                || model.is_some_and(|m| n.contains(&normalise(m)))
        });
        if named
            && root
                .version
                .as_deref()
                .is_some_and(|v| same_version(v, &product.version))
        {
            found.push("version and name");
        }
        if !found.is_empty() && contradictions.len() == before {
            return Finding::pass(
                id,
                format!(
                    "the SBOM describes {} (its root component agrees by {})",
                    product.name,
                    found.join(", ")
                ),
            );
        }
    }
    if !contradictions.is_empty() {
        return Finding::fail(id, contradictions.join("; "));
    }
    let name = first.name.as_deref().map_or_else(
        || "a component without a name".to_owned(),
        |n| format!("{n:?}"),
    );
    let version = first
        .version
        .as_deref()
        .map_or_else(|| "no version".to_owned(), |v| format!("version {v:?}"));
    Finding::fail(
        id,
        format!(
            "the SBOM describes {name} ({version}), which is not shown to be the listed product: its root component must agree by purl, CPE or an artifact's SHA-256, or have version {:?} and a name containing {:?}",
            product.version, product.name
        ),
    )
}
