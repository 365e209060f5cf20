//! `[[halt_issuers]]`: whom the operator trusts to halt, recall or withdraw
//! products, and for which (DESIGN.md, "halt notice"; CRA Art. 19(3),
//! 20(3), 54(4)):
//!
//! ```toml
//! [[halt_issuers]]
//! id = "lumatek-psirt"            # must equal the notice's issuer
//! key = "keys/lumatek-halt.pub"   # SPKI PEM (Ed25519 or ECDSA P-256)
//! # or: identity = { san = "...", issuer = "..." } for Sigstore bundles
//! products = ["lumacam-*"]        # product id globs it may act on
//! actions = ["halt", "lift"]      # optional; every action when absent
//! ```

use std::collections::BTreeMap;
use std::ops::Range;

use serde_spanned::Spanned;
use toml::de::DeValue;

use super::{IdentityRule, Reader, Reference, ReferenceKind, Value};
use crate::halt::{Action, ProductGlob};

/// One `[[halt_issuers]]` entry as written.
#[derive(Debug, Clone)]
pub(crate) struct HaltIssuerDraft {
    pub id: String,
    /// The key file, as referenced.
    pub key: Option<Reference>,
    pub identity: Option<IdentityRule>,
    pub products: Vec<ProductGlob>,
    pub actions: Vec<Action>,
    /// Byte offset of the entry, for errors found at compile time.
    pub offset: usize,
}

impl Reader<'_> {
    pub(super) fn halt_issuers(&mut self, value: &Value<'_>) {
        let DeValue::Array(items) = value.get_ref() else {
            self.error(
                value.span(),
                "halt_issuers must be an array of tables ([[halt_issuers]])",
            );
            return;
        };
        for item in items.iter() {
            let mut draft = HaltIssuerDraft {
                id: String::new(),
                key: None,
                identity: None,
                products: Vec::new(),
                actions: Action::ALL.to_vec(),
                offset: item.span().start,
            };
            let mut products_seen = false;
            self.table(item, "halt_issuers", |r, k, v| match k {
                "id" => r.string(v).map(|id| draft.id = id),
                "key" => {
                    let before = r.draft.references.len();
                    r.reference(v, ReferenceKind::PublicKey)?;
                    draft.key = r.draft.references.get(before).cloned();
                    Some(())
                }
                "identity" => {
                    draft.identity = r.halt_identity(v);
                    Some(())
                }
                "products" => {
                    products_seen = true;
                    draft.products = r.globs(v);
                    Some(())
                }
                "actions" => {
                    draft.actions = r.actions(v);
                    Some(())
                }
                _ => None,
            });
            self.check_halt_issuer(&draft, item.span(), products_seen);
            self.draft.halt_issuers.push(draft);
        }
    }

    fn check_halt_issuer(&mut self, draft: &HaltIssuerDraft, span: Range<usize>, products: bool) {
        if draft.id.trim().is_empty() {
            self.error(
                span.clone(),
                "each [[halt_issuers]] needs an id (the notices' issuer)",
            );
        } else if self
            .draft
            .halt_issuers
            .iter()
            .any(|other| other.id == draft.id)
        {
            self.error(
                span.clone(),
                format!("[[halt_issuers]] id {:?} is given twice", draft.id),
            );
        }
        if draft.key.is_some() == draft.identity.is_some() {
            self.error(
                span.clone(),
                "each [[halt_issuers]] needs exactly one of key (a PEM public key) or identity \
                 ({ san, issuer } for Sigstore)",
            );
        }
        if !products {
            self.error(
                span,
                "each [[halt_issuers]] needs products (product id globs; \"*\" for an authority)",
            );
        }
    }

    fn halt_identity(&mut self, value: &Value<'_>) -> Option<IdentityRule> {
        let mut fields: BTreeMap<String, (String, Range<usize>)> = BTreeMap::new();
        self.table(value, "halt_issuers.identity", |r, k, v| match k {
            "san" | "san_regexp" | "issuer" | "issuer_regexp" => r.string(v).map(|s| {
                fields.insert(k.to_owned(), (s, v.span()));
            }),
            _ => None,
        });
        let san = self.matcher(&fields, "san", value.span());
        let issuer = self.matcher(&fields, "issuer", value.span());
        Some(IdentityRule {
            san: san?,
            issuer: issuer?,
            claims: Vec::new(),
        })
    }

    fn globs(&mut self, value: &Value<'_>) -> Vec<ProductGlob> {
        let items = self.strings(value).unwrap_or_default();
        if items.is_empty() {
            self.error(
                value.span(),
                "products must name at least one product id glob",
            );
        }
        let mut globs = Vec::new();
        for item in items {
            match ProductGlob::parse(item.get_ref()) {
                Ok(glob) => globs.push(glob),
                Err(e) => self.error(item.span(), e.to_string()),
            }
        }
        globs
    }

    fn actions(&mut self, value: &Value<'_>) -> Vec<Action> {
        let items: Vec<Spanned<String>> = self.strings(value).unwrap_or_default();
        if items.is_empty() {
            self.error(value.span(), "actions must name at least one action");
        }
        let mut actions = Vec::new();
        for item in items {
            match Action::parse(item.get_ref()) {
                Some(action) => actions.push(action),
                None => self.error(
                    item.span(),
                    format!(
                        "action {:?} must be \"halt\", \"recall\", \"withdraw\" or \"lift\"",
                        item.get_ref()
                    ),
                ),
            }
        }
        actions
    }
}
