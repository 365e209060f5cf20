//! Reading a policy file (`cragate.policy/v1`, TOML) into a [`PolicyDraft`]:
//! every key checked, unknown keys and bad values reported with their line,
//! all at once. Referenced files are listed for the caller to read.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{PolicyErrors, Sink};
use super::{CategoryKey, ImporterDetails, Patch, Phrasings, Settings, SupplyAfterEnd};
use crate::applicability::Enforce;
use crate::catalog::CheckId;
use crate::ce::{ListKind, Procedure};
use crate::evidence::syntax::is_country_code;
use crate::evidence::syntax::is_language_tag;
use crate::limits::{
    MAX_NOTIFIED_BODY_LIST_BYTES, MAX_PRESUMPTION_LIST_BYTES, MAX_PUBLIC_KEY_BYTES,
    MAX_TRUSTED_ROOT_BYTES,
};
use crate::sigstore::{FulcioClaim, Matcher};
use crate::verdict::{Mode, Severity};

/// The format id of a policy file.
pub const POLICY_FORMAT: &str = "cragate.policy/v1";

type Value<'i> = Spanned<DeValue<'i>>;

#[path = "halt_issuers.rs"]
mod halt_issuers;

pub(crate) use halt_issuers::HaltIssuerDraft;

/// What a referenced file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferenceKind {
    /// A notified-body list (`cragate.notified-bodies/v1`).
    NotifiedBodies,
    /// A Sigstore `trusted_root.json`.
    SigstoreRoot,
    /// A PEM public key.
    PublicKey,
    /// A PEM X.509 trust anchor certificate.
    X509Anchor,
    /// A list of harmonised standards, common specifications or
    /// certification schemes (`cragate.presumption-list/v1`, Art. 27).
    Presumption(ListKind),
}

impl ReferenceKind {
    /// The largest file of this kind a caller should read, in bytes.
    pub fn max_bytes(self) -> usize {
        match self {
            Self::NotifiedBodies => MAX_NOTIFIED_BODY_LIST_BYTES,
            Self::SigstoreRoot => MAX_TRUSTED_ROOT_BYTES,
            Self::PublicKey | Self::X509Anchor => MAX_PUBLIC_KEY_BYTES,
            Self::Presumption(_) => MAX_PRESUMPTION_LIST_BYTES,
        }
    }
}

/// A file the policy names, with where it names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The path as written (relative to the policy file).
    pub path: String,
    /// What it must contain.
    pub kind: ReferenceKind,
    /// 1-based line of the reference in the policy.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A signer identity rule for a manufacturer, as written.
#[derive(Debug, Clone)]
pub(crate) struct IdentityRule {
    pub san: Matcher,
    pub issuer: Matcher,
    /// Fulcio CI claims the certificate must carry (keys named after the
    /// claim, e.g. `source-repository-ref`, or with `_regexp`).
    pub claims: Vec<(FulcioClaim, Matcher)>,
}

/// Trust rules for one manufacturer.
#[derive(Debug, Clone)]
pub(crate) struct ManufacturerDraft {
    pub name: String,
    pub identities: Vec<IdentityRule>,
    pub keys: Vec<String>,
}

/// A policy file that parsed, before its referenced files are read.
#[derive(Debug, Clone)]
pub struct PolicyDraft {
    pub(crate) file: String,
    pub(crate) text: String,
    pub(crate) name: String,
    pub(crate) mode: Mode,
    pub(crate) enforce: Enforce,
    pub(crate) settings: Settings,
    pub(crate) overrides: Vec<(CategoryKey, Patch)>,
    pub(crate) references: Vec<Reference>,
    pub(crate) manufacturers: Vec<ManufacturerDraft>,
    pub(crate) halt_issuers: Vec<HaltIssuerDraft>,
    pub(crate) oci_repositories: Vec<super::OciRepository>,
}

impl PolicyDraft {
    /// Parses the policy file `file` (its name, for messages) from `bytes`.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self, PolicyErrors> {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                let mut sink = Sink::new(file, "");
                sink.whole("the policy is not UTF-8 text");
                return Err(PolicyErrors {
                    errors: sink.errors,
                });
            }
        };
        let mut sink = Sink::new(file, text);
        let (root, syntax_errors) = DeTable::parse_recoverable(text);
        for error in &syntax_errors {
            let offset = error.span().map_or(0, |s| s.start);
            sink.at(offset, format!("TOML syntax: {}", error.message()));
        }
        let mut reader = Reader {
            sink,
            draft: Self::empty(file, text),
            oci_spans: Vec::new(),
        };
        if syntax_errors.is_empty() {
            reader.root(root.get_ref());
        }
        let Reader {
            mut sink, draft, ..
        } = reader;
        if sink.errors.is_empty() {
            Ok(draft)
        } else {
            sink.errors.sort_by_key(|e| (e.line, e.column));
            Err(PolicyErrors {
                errors: sink.errors,
            })
        }
    }

    /// The files this policy references, in the order it names them.
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn empty(file: &str, text: &str) -> Self {
        Self {
            file: file.to_owned(),
            text: text.to_owned(),
            name: String::new(),
            mode: Mode::Enforce,
            enforce: Enforce::Readiness,
            settings: Settings::default(),
            overrides: Vec::new(),
            references: Vec::new(),
            manufacturers: Vec::new(),
            halt_issuers: Vec::new(),
            oci_repositories: Vec::new(),
        }
    }
}

struct Reader<'t> {
    sink: Sink<'t>,
    draft: PolicyDraft,
    /// Where each `[[oci.repositories]]` table is, for later errors.
    oci_spans: Vec<Range<usize>>,
}

impl Reader<'_> {
    fn root(&mut self, root: &DeTable<'_>) {
        let mut format_seen = false;
        for (key, value) in root.iter() {
            match key.get_ref().as_ref() {
                "format" => {
                    format_seen = true;
                    if let Some(f) = self.string(value)
                        && f != POLICY_FORMAT
                    {
                        self.error(value.span(), format!("format must be {POLICY_FORMAT:?}"));
                    }
                }
                "name" => self.draft.name = self.string(value).unwrap_or_default(),
                "description" => {
                    self.string(value);
                }
                "mode" => match self.string(value).as_deref() {
                    Some("enforce") => self.draft.mode = Mode::Enforce,
                    Some("audit") => self.draft.mode = Mode::Audit,
                    Some(other) => self.error(
                        value.span(),
                        format!("mode {other:?} must be \"enforce\" or \"audit\""),
                    ),
                    None => {}
                },
                "enforce" => match self.string(value).as_deref() {
                    Some("readiness") => self.draft.enforce = Enforce::Readiness,
                    Some("as-applicable") => self.draft.enforce = Enforce::AsApplicable,
                    Some(other) => self.error(
                        value.span(),
                        format!("enforce {other:?} must be \"readiness\" or \"as-applicable\""),
                    ),
                    None => {}
                },
                "checks" => self.table(value, "checks", |r, k, v| r.checks_key(k, v, Target::Base)),
                "support" => self.table(value, "support", |r, k, v| match k {
                    "minimum_years" => r
                        .years(v)
                        .map(|y| r.draft.settings.minimum_support_years = y),
                    "supply_after_end" => match r.string(v).as_deref() {
                        Some("allow") => {
                            r.draft.settings.supply_after_end = SupplyAfterEnd::Allow;
                            Some(())
                        }
                        Some("refuse") => {
                            r.draft.settings.supply_after_end = SupplyAfterEnd::Refuse;
                            Some(())
                        }
                        Some(other) => {
                            r.error(
                                v.span(),
                                format!(
                                    "supply_after_end {other:?} must be \"allow\" or \"refuse\""
                                ),
                            );
                            Some(())
                        }
                        None => Some(()),
                    },
                    _ => None,
                }),
                "market" => self.table(value, "market", |r, k, v| match k {
                    "union_states" => r.countries(v).map(|c| r.draft.settings.union_states = c),
                    _ => None,
                }),
                "doc" => self.table(value, "doc", |r, k, v| match k {
                    "full_required" => r.boolean(v).map(|b| r.draft.settings.doc_full_required = b),
                    "languages" => r.languages(v).map(|l| r.draft.settings.doc_languages = l),
                    "phrasings" => r.phrasings(v),
                    _ => None,
                }),
                "sbom" => self.table(value, "sbom", |r, k, v| match k {
                    "required" => r.boolean(v).map(|b| r.draft.settings.sbom_required = b),
                    _ => None,
                }),
                "signatures" => self.table(value, "signatures", |r, k, v| match k {
                    "artifacts" => r
                        .boolean(v)
                        .map(|b| r.draft.settings.require_artifact_signatures = b),
                    "doc" => r
                        .boolean(v)
                        .map(|b| r.draft.settings.require_doc_signature = b),
                    _ => None,
                }),
                "user_information" => self.table(value, "user_information", |r, k, v| match k {
                    "languages" => r.languages(v).map(|l| r.draft.settings.languages = l),
                    _ => None,
                }),
                "conformity" => self.table(value, "conformity", |r, k, v| match k {
                    "critical_procedures" => r
                        .procedures(v)
                        .map(|p| r.draft.settings.critical_procedures = p),
                    "harmonised_standards" => {
                        r.reference(v, ReferenceKind::Presumption(ListKind::HarmonisedStandards))
                    }
                    "common_specifications" => r.reference(
                        v,
                        ReferenceKind::Presumption(ListKind::CommonSpecifications),
                    ),
                    "certification_schemes" => r.reference(
                        v,
                        ReferenceKind::Presumption(ListKind::CertificationSchemes),
                    ),
                    _ => None,
                }),
                "notified_bodies" => self.table(value, "notified_bodies", |r, k, v| match k {
                    "list" => r.reference(v, ReferenceKind::NotifiedBodies),
                    _ => None,
                }),
                "trust" => self.table(value, "trust", |r, k, v| match k {
                    "sigstore_roots" => r.references(v, ReferenceKind::SigstoreRoot),
                    "keys" => r.references(v, ReferenceKind::PublicKey),
                    "x509_anchors" => r.references(v, ReferenceKind::X509Anchor),
                    _ => None,
                }),
                "manufacturers" => self.manufacturers(value),
                "halt_issuers" => self.halt_issuers(value),
                "importer" => self.importer(value),
                "oci" => self.table(value, "oci", |r, k, v| match k {
                    "repositories" => {
                        r.oci_repositories(v);
                        Some(())
                    }
                    _ => None,
                }),
                "overrides" => self.table(value, "overrides", |r, k, v| r.override_table(k, v)),
                other => self.error(
                    key.span(),
                    format!("unknown key {other:?} at the top level"),
                ),
            }
        }
        if let Some(offset) = importer_offset(root) {
            let settings = &self.draft.settings;
            let problems = self
                .draft
                .settings
                .importer
                .as_ref()
                .map(|i| i.problems(|c| settings.in_union(c)))
                .unwrap_or_default();
            for problem in problems {
                self.sink.at(offset, problem);
            }
        }
        self.check_oci_manufacturers();
        if !format_seen {
            self.sink.at(0, format!("add format = {POLICY_FORMAT:?}"));
        }
        if self.draft.name.trim().is_empty() {
            self.sink.at(
                0,
                "add name = \"...\" (the policy's name, recorded in every verdict)",
            );
        }
    }

    /// Walks a table; `each` returns `None` for a key it does not know.
    fn table(
        &mut self,
        value: &Value<'_>,
        what: &str,
        mut each: impl FnMut(&mut Self, &str, &Value<'_>) -> Option<()>,
    ) {
        let DeValue::Table(table) = value.get_ref() else {
            self.error(value.span(), format!("{what} must be a table"));
            return;
        };
        for (key, item) in table.iter() {
            let name: &str = key.get_ref().as_ref();
            let before = self.sink.errors.len();
            if each(self, name, item).is_none() && self.sink.errors.len() == before {
                self.error(key.span(), format!("unknown key {name:?} in [{what}]"));
            }
        }
    }

    fn checks_key(&mut self, key: &str, value: &Value<'_>, target: Target) -> Option<()> {
        let severity = match key {
            "default" if target == Target::Base => {
                match self.string(value).as_deref() {
                    Some("required") => self.draft.settings.default_severity = Severity::Required,
                    Some("warn") => self.draft.settings.default_severity = Severity::Warn,
                    Some(other) => self.error(
                        value.span(),
                        format!("default {other:?} must be \"required\" or \"warn\""),
                    ),
                    None => {}
                }
                return Some(());
            }
            "required" => Severity::Required,
            "warn" => Severity::Warn,
            _ => return None,
        };
        for item in self.strings(value).unwrap_or_default() {
            let Some(id) = CheckId::from_id(item.get_ref()) else {
                self.error(
                    item.span(),
                    format!("unknown check id {:?}", item.get_ref()),
                );
                continue;
            };
            let severities = match target {
                Target::Base => &mut self.draft.settings.severities,
                Target::Override => match self.draft.overrides.last_mut() {
                    Some((_, patch)) => &mut patch.severities,
                    None => return Some(()),
                },
            };
            if severities.insert(id, severity).is_some() {
                self.error(item.span(), format!("check {id} is listed more than once"));
            }
        }
        Some(())
    }

    fn override_table(&mut self, key: &str, value: &Value<'_>) -> Option<()> {
        let Some(category) = CategoryKey::parse(key) else {
            self.error(value.span(), format!("override {key:?} must be a class (default, class-i, class-ii, critical) or a category such as \"class-i:3\""));
            return Some(());
        };
        self.draft.overrides.push((category, Patch::default()));
        let what = format!("overrides.\"{key}\"");
        self.table(value, &what, |r, k, v| match k {
            "minimum_support_years" => r
                .years(v)
                .and_then(|y| r.patch().map(|p| p.minimum_support_years = Some(y))),
            "sbom_required" => r
                .boolean(v)
                .and_then(|b| r.patch().map(|p| p.sbom_required = Some(b))),
            "artifact_signatures" => r
                .boolean(v)
                .and_then(|b| r.patch().map(|p| p.require_artifact_signatures = Some(b))),
            "doc_signature" => r
                .boolean(v)
                .and_then(|b| r.patch().map(|p| p.require_doc_signature = Some(b))),
            "languages" => r
                .languages(v)
                .and_then(|l| r.patch().map(|p| p.languages = Some(l))),
            "required" | "warn" => r.checks_key(k, v, Target::Override),
            _ => None,
        });
        Some(())
    }

    fn patch(&mut self) -> Option<&mut Patch> {
        self.draft.overrides.last_mut().map(|(_, p)| p)
    }

    /// `[importer]`: name, postal_address, email, digital_contact, website,
    /// country (Art. 19(4), Art. 3(16)); checked once the whole file is read.
    fn importer(&mut self, value: &Value<'_>) {
        let mut details = ImporterDetails::default();
        self.table(value, "importer", |r, k, v| {
            const KEYS: [&str; 6] = [
                "name",
                "postal_address",
                "country",
                "email",
                "digital_contact",
                "website",
            ];
            if !KEYS.contains(&k) {
                return None;
            }
            let value = r.string(v);
            match k {
                "name" => details.name = value.unwrap_or_default(),
                "postal_address" => details.postal_address = value.unwrap_or_default(),
                "country" => details.country = value.unwrap_or_default(),
                "email" => details.email = value,
                "digital_contact" => details.digital_contact = value,
                _ => details.website = value,
            }
            Some(())
        });
        self.draft.settings.importer = Some(details);
    }

    fn manufacturers(&mut self, value: &Value<'_>) {
        let DeValue::Array(items) = value.get_ref() else {
            self.error(
                value.span(),
                "manufacturers must be an array of tables ([[manufacturers]])",
            );
            return;
        };
        for item in items.iter() {
            let mut draft = ManufacturerDraft {
                name: String::new(),
                identities: Vec::new(),
                keys: Vec::new(),
            };
            self.table(item, "manufacturers", |r, k, v| match k {
                "name" => r.string(v).map(|n| draft.name = n),
                "keys" => {
                    draft.keys = r
                        .strings(v)
                        .unwrap_or_default()
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect();
                    r.references(v, ReferenceKind::PublicKey)
                }
                "identities" => r.identities(v).map(|ids| draft.identities = ids),
                _ => None,
            });
            if draft.name.trim().is_empty() {
                self.error(item.span(), "each [[manufacturers]] needs a name");
            }
            self.draft.manufacturers.push(draft);
        }
    }

    /// `[[oci.repositories]]`: `name` and `manufacturer` are required.
    fn oci_repositories(&mut self, value: &Value<'_>) {
        let DeValue::Array(items) = value.get_ref() else {
            self.error(
                value.span(),
                "oci.repositories must be an array of tables ([[oci.repositories]])",
            );
            return;
        };
        for item in items.iter() {
            let mut rule = super::OciRepository {
                name: String::new(),
                manufacturer: String::new(),
                attestations: Vec::new(),
                push: false,
            };
            self.table(item, "oci.repositories", |r, k, v| match k {
                "name" => r.string(v).map(|n| rule.name = n),
                "manufacturer" => r.string(v).map(|m| rule.manufacturer = m),
                "attestations" => r.strings(v).map(|types| {
                    rule.attestations = types.into_iter().map(Spanned::into_inner).collect();
                }),
                "push" => r.boolean(v).map(|push| rule.push = push),
                _ => None,
            });
            if rule.name.trim().is_empty() {
                self.error(
                    item.span(),
                    "each [[oci.repositories]] needs a name (a glob over repository names)",
                );
            }
            if rule.manufacturer.trim().is_empty() {
                self.error(
                    item.span(),
                    "each [[oci.repositories]] needs a manufacturer (a [[manufacturers]] entry)",
                );
            }
            self.oci_spans.push(item.span());
            self.draft.oci_repositories.push(rule);
        }
    }

    /// Each `[[oci.repositories]]` manufacturer must be a `[[manufacturers]]` entry.
    fn check_oci_manufacturers(&mut self) {
        let known: Vec<String> = self
            .draft
            .manufacturers
            .iter()
            .map(|m| crate::doc::normalise(&m.name))
            .collect();
        let unknown: Vec<(Range<usize>, String)> = self
            .draft
            .oci_repositories
            .iter()
            .zip(&self.oci_spans)
            .filter(|(rule, _)| {
                !rule.manufacturer.trim().is_empty()
                    && !known.contains(&crate::doc::normalise(&rule.manufacturer))
            })
            .map(|(rule, span)| (span.clone(), rule.manufacturer.clone()))
            .collect();
        for (span, name) in unknown {
            self.error(
                span,
                format!(
                    "[[oci.repositories]] names manufacturer {name:?}, which no [[manufacturers]] entry defines"
                ),
            );
        }
    }

    fn identities(&mut self, value: &Value<'_>) -> Option<Vec<IdentityRule>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.error(value.span(), "identities must be an array of tables");
            return Some(Vec::new());
        };
        let mut rules = Vec::new();
        for item in items.iter() {
            let mut fields: BTreeMap<String, (String, Range<usize>)> = BTreeMap::new();
            self.table(item, "manufacturers.identities", |r, k, v| match k {
                "san" | "san_regexp" | "issuer" | "issuer_regexp" => r.string(v).map(|s| {
                    fields.insert(k.to_owned(), (s, v.span()));
                }),
                claim if claim_key(claim).is_some() => r.string(v).map(|s| {
                    fields.insert(k.to_owned(), (s, v.span()));
                }),
                _ => None,
            });
            let san = self.matcher(&fields, "san", item.span());
            let issuer = self.matcher(&fields, "issuer", item.span());
            let mut claims = Vec::new();
            for (key, (value, at)) in &fields {
                let Some((claim, is_pattern)) = claim_key(key) else {
                    continue;
                };
                if !is_pattern {
                    claims.push((claim, Matcher::Exact(value.clone())));
                    continue;
                }
                match Matcher::pattern(value) {
                    Ok(matcher) => claims.push((claim, matcher)),
                    Err(e) => self.error(
                        at.clone(),
                        format!("{key} is not a valid regular expression: {e}"),
                    ),
                }
            }
            if let (Some(san), Some(issuer)) = (san, issuer) {
                rules.push(IdentityRule {
                    san,
                    issuer,
                    claims,
                });
            }
        }
        Some(rules)
    }

    fn matcher(
        &mut self,
        fields: &BTreeMap<String, (String, Range<usize>)>,
        name: &str,
        span: Range<usize>,
    ) -> Option<Matcher> {
        match (fields.get(name), fields.get(&format!("{name}_regexp"))) {
            (Some((exact, _)), None) => Some(Matcher::Exact(exact.clone())),
            (None, Some((pattern, at))) => match Matcher::pattern(pattern) {
                Ok(m) => Some(m),
                Err(e) => {
                    self.error(
                        at.clone(),
                        format!("{name}_regexp is not a valid regular expression: {e}"),
                    );
                    None
                }
            },
            _ => {
                self.error(
                    span,
                    format!("each identity needs exactly one of {name} or {name}_regexp"),
                );
                None
            }
        }
    }

    fn reference(&mut self, value: &Value<'_>, kind: ReferenceKind) -> Option<()> {
        let path = self.string(value)?;
        let (line, column) = self.sink.line_column(value.span().start);
        if path.trim().is_empty() {
            self.error(value.span(), "a file path must not be empty");
        } else {
            self.draft.references.push(Reference {
                path,
                kind,
                line,
                column,
            });
        }
        Some(())
    }

    fn references(&mut self, value: &Value<'_>, kind: ReferenceKind) -> Option<()> {
        for item in self.strings(value).unwrap_or_default() {
            let (line, column) = self.sink.line_column(item.span().start);
            self.draft.references.push(Reference {
                path: item.into_inner(),
                kind,
                line,
                column,
            });
        }
        Some(())
    }

    /// A number of years of support: 0 to 50 (Art. 13(8) sets 5 as the
    /// usual minimum; a shorter period is for products used for less time).
    fn years(&mut self, value: &Value<'_>) -> Option<u32> {
        let years = self.integer(value)?;
        match u32::try_from(years) {
            Ok(y) if y <= 50 => Some(y),
            _ => {
                self.error(
                    value.span(),
                    format!("{years} years is not between 0 and 50"),
                );
                None
            }
        }
    }

    fn languages(&mut self, value: &Value<'_>) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for item in self.strings(value).unwrap_or_default() {
            if is_language_tag(item.get_ref()) {
                out.push(item.into_inner());
            } else {
                self.error(
                    item.span(),
                    format!("{:?} is not a language tag such as \"de\"", item.get_ref()),
                );
            }
        }
        Some(out)
    }

    /// `[doc.phrasings.<language>]` tables: accepted phrasings of the DoC
    /// statements, per language (Art. 28(2)).
    fn phrasings(&mut self, value: &Value<'_>) -> Option<()> {
        let DeValue::Table(table) = value.get_ref() else {
            self.error(value.span(), "doc.phrasings must be a table of languages");
            return Some(());
        };
        for (key, item) in table.iter() {
            let language: &str = key.get_ref().as_ref();
            if !is_language_tag(language) {
                self.error(
                    key.span(),
                    format!("{language:?} is not a language tag such as \"de\""),
                );
                continue;
            }
            let mut phrasings = Phrasings::default();
            let what = format!("doc.phrasings.{language}");
            self.table(item, &what, |r, k, v| {
                let list = match k {
                    "sole_responsibility" => &mut phrasings.sole_responsibility,
                    "simplified" => &mut phrasings.simplified,
                    _ => return None,
                };
                for phrase in r.strings(v).unwrap_or_default() {
                    if phrase.get_ref().trim().is_empty() {
                        r.error(phrase.span(), "a phrasing must not be empty");
                    } else {
                        list.push(phrase.into_inner());
                    }
                }
                Some(())
            });
            self.draft
                .settings
                .phrasings
                .insert(language.to_owned(), phrasings);
        }
        Some(())
    }

    /// ISO 3166-1 alpha-2 codes, each once (`[market] union_states`).
    fn countries(&mut self, value: &Value<'_>) -> Option<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for item in self.strings(value).unwrap_or_default() {
            let code = item.get_ref();
            if !is_country_code(code) {
                self.error(
                    item.span(),
                    format!("{code:?} is not an ISO 3166-1 alpha-2 code such as \"DE\""),
                );
            } else if out.contains(code) {
                self.error(item.span(), format!("{code} is listed more than once"));
            } else {
                out.push(item.into_inner());
            }
        }
        if out.is_empty() {
            self.error(value.span(), "union_states must name at least one state");
        }
        Some(out)
    }

    fn procedures(&mut self, value: &Value<'_>) -> Option<Vec<Procedure>> {
        let mut out = Vec::new();
        for item in self.strings(value).unwrap_or_default() {
            match Procedure::parse(item.get_ref()) {
                Some(p) => out.push(p),
                None => self.error(
                    item.span(),
                    format!("{:?} is not one of A, B+C, H, EUCC", item.get_ref()),
                ),
            }
        }
        Some(out)
    }

    fn string(&mut self, value: &Value<'_>) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                self.error(
                    value.span(),
                    format!("expected a string, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, value: &Value<'_>) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.error(
                    value.span(),
                    format!("expected true or false, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn integer(&mut self, value: &Value<'_>) -> Option<i64> {
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(value.span(), "integer out of range");
                    None
                }
            },
            other => {
                self.error(
                    value.span(),
                    format!("expected an integer, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn strings(&mut self, value: &Value<'_>) -> Option<Vec<Spanned<String>>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.error(
                value.span(),
                format!(
                    "expected an array of strings, found {}",
                    value.get_ref().type_str()
                ),
            );
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            if let Some(s) = self.string(item) {
                out.push(Spanned::new(item.span(), s));
            }
        }
        Some(out)
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.sink.at(span.start, message);
    }
}

/// Where `[importer]` starts, for its messages.
fn importer_offset(root: &DeTable<'_>) -> Option<usize> {
    root.iter()
        .find(|(key, _)| key.get_ref().as_ref() == "importer")
        .map(|(key, _)| key.span().start)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Base,
    Override,
}

/// A Fulcio claim rule key: the claim's name (`source-repository-ref`), or
/// the name with `_regexp` for a pattern.
fn claim_key(key: &str) -> Option<(FulcioClaim, bool)> {
    match key.strip_suffix("_regexp") {
        Some(name) => name.parse().ok().map(|claim| (claim, true)),
        None => key.parse().ok().map(|claim| (claim, false)),
    }
}
