//! The importer's own details (`[importer]` in a policy): what an importer
//! must show on the product, its packaging or an accompanying document
//! (CRA Art. 19(4)): its name or registered trade name or trademark, postal
//! address, e-mail or other digital contact and, where applicable, website.
//! `cragate gate` stamps them on an accepted listing whose paperwork names
//! no importer.

use serde::Serialize;

/// The importer's details as the policy gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImporterDetails {
    /// Name, registered trade name or trademark (Art. 19(4)).
    pub name: String,
    /// Postal address (Art. 19(4)).
    pub postal_address: String,
    /// E-mail address, where given (Art. 19(4)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Other digital contact (an https contact form or `mailto:`), where given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_contact: Option<String>,
    /// Website, where applicable (Art. 19(4)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// ISO 3166-1 alpha-2 code of the Member State it is established in
    /// (Art. 3(16): an importer is established in the Union).
    pub country: String,
}

impl ImporterDetails {
    /// What is missing for Art. 19(4) and Art. 3(16), one sentence each.
    pub(crate) fn problems(&self, in_union: impl Fn(&str) -> bool) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("[importer] needs name (Art. 19(4))".to_owned());
        }
        if self.postal_address.trim().is_empty() {
            problems.push("[importer] needs postal_address (Art. 19(4))".to_owned());
        }
        if self.email.is_none() && self.digital_contact.is_none() {
            problems.push("[importer] needs email or digital_contact (Art. 19(4))".to_owned());
        }
        if self.country.is_empty() {
            problems.push("[importer] needs country (Art. 3(16))".to_owned());
        } else if !in_union(&self.country) {
            problems.push(format!(
                "[importer] country {} is not one of [market] union_states: an importer is established in the Union (Art. 3(16))",
                self.country
            ));
        }
        problems
    }
}
