//! The catalogue of CRA content checks: a stable id, the article each serves
//! and from when the duty it checks applies (Art. 71(2)).
//!
//! Ids are a contract (policies name them, verdicts report them): rename one
//! only with a new policy format version.

use std::fmt;

use crate::applicability::Duty;
use crate::verdict::Severity;

macro_rules! checks {
    ($($variant:ident => $id:literal, $article:literal, $duty:ident, $what:literal;)*) => {
        /// One check of the catalogue.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum CheckId {
            $(
                #[doc = $what]
                $variant,
            )*
        }

        impl CheckId {
            /// Every check, in the order verdicts list them.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant),*];

            /// The stable id, e.g. `ce.notified-body`.
            pub fn id(self) -> &'static str {
                match self { $(CheckId::$variant => $id,)* }
            }

            /// The provision the check serves, e.g. `Art. 30(4)`.
            pub fn article(self) -> &'static str {
                match self { $(CheckId::$variant => $article,)* }
            }

            /// Whose rule the check applies: a CRA duty (with the date it
            /// applies from, Art. 71(2)) or the policy's own.
            pub fn duty(self) -> Duty {
                match self { $(CheckId::$variant => Duty::$duty,)* }
            }

            /// What the check looks at, in a few words.
            pub fn description(self) -> &'static str {
                match self { $(CheckId::$variant => $what,)* }
            }

            /// The check with this id, if there is one.
            pub fn from_id(id: &str) -> Option<Self> {
                match id { $($id => Some(CheckId::$variant),)* _ => None }
            }
        }
    };
}

checks! {
    DocPresent => "doc.present", "Art. 13(20)", Cra, "a full EU declaration of conformity, or a simplified one with the address of the full one";
    DocSimplified => "doc.simplified", "Annex VI", Cra, "the simplified DoC names the manufacturer and the listed product, cites the CRA and gives the exact address of the full DoC";
    DocLanguages => "doc.languages", "Art. 28(2)", Cra, "the DoC is available in the languages the policy's Member States require";
    DocProduct => "doc.product", "Annex V(1)", Cra, "the DoC names the product and its type";
    DocManufacturer => "doc.manufacturer", "Annex V(2)", Cra, "the DoC names the manufacturer or authorised representative with an address";
    DocSoleResponsibility => "doc.sole-responsibility", "Annex V(3)", Cra, "the DoC states it is issued under the sole responsibility of the provider";
    DocObject => "doc.object", "Annex V(4)", Cra, "the DoC identifies the object of the declaration for traceability";
    DocConformityStatement => "doc.conformity-statement", "Annex V(5)", Cra, "the DoC states conformity with Union harmonisation legislation";
    DocStandards => "doc.standards", "Annex V(6)", Cra, "the DoC lists the standards, specifications or certifications declared";
    DocConformityAssessment => "doc.conformity-assessment", "Annex V(7)", Cra, "the DoC names the procedure and, where one took part, the notified body";
    DocSignature => "doc.signature", "Annex V(8)", Cra, "the DoC signature block: for whom, place, date, name and function; not dated after the evaluation";
    DocCitesCra => "doc.cites-cra", "Art. 28(1)", Cra, "the DoC cites Regulation (EU) 2024/2847";
    DocOtherActs => "doc.other-acts", "Art. 28(3)", Cra, "every other Union act in the DoC comes with its publication reference";
    DocMatchesListing => "doc.matches-listing", "Annex V(1)", Cra, "the DoC's product is the listed product: its name and a model, GTIN, purl or CPE agree and none contradicts";
    CeAffixed => "ce.affixed", "Art. 30(3)", Cra, "the CE marking is affixed";
    CePlacement => "ce.placement", "Art. 30(1)", Cra, "the CE marking is where Art. 30(1) allows for this kind of product";
    CeNotifiedBody => "ce.notified-body", "Art. 30(4)", Cra, "the notified body number follows the CE marking under module H";
    CeNotifiedBodyNumber => "ce.notified-body-number", "Art. 44(1)", NotifiedBodies, "notified body numbers have the four-digit NANDO form";
    CeNotifiedBodyListed => "ce.notified-body-listed", "Art. 44(2)", NotifiedBodies, "the notified body is notified under the CRA for the module used";
    ConformityProcedure => "conformity.procedure", "Art. 32", Cra, "the conformity assessment procedure is one Art. 32 allows for the product's class, with what Art. 27 lets it rely on";
    ConformityCertificate => "conformity.certificate", "Annex V(7)", Cra, "module B+C or a certification scheme identifies the certificate issued";
    ConformityFossDocumentation => "conformity.foss-documentation", "Art. 32(5)", Cra, "free and open-source class I/II products under module A publish their technical documentation";
    SupportEndDate => "support.end-date", "Art. 13(19)", Cra, "the support period end date gives at least month and year";
    SupportMinimum => "support.minimum", "Art. 13(8)", Cra, "the support period is at least five years from placing on the market, or the declared shorter expected use time";
    SupportCurrent => "support.current", "Art. 13(8)", Cra, "the support period has not ended before the unit was placed; supply after it ended is refused only when the policy says so";
    OperatorsManufacturer => "operators.manufacturer", "Art. 13(16)", Cra, "manufacturer name, postal address and an e-mail or other digital contact";
    OperatorsAuthorisedRepresentative => "operators.authorised-representative", "Art. 18", Cra, "an authorised representative, when one is named, is established in the Union with a name and address";
    OperatorsImporter => "operators.importer", "Art. 19(4)", Cra, "an importer established in the Union with name, postal address and a digital contact when the manufacturer is outside it";
    OperatorsSupplier => "operators.supplier", "Art. 23(1)", Cra, "the economic operator that supplied the product, with name and address";
    OperatorsSteward => "operators.steward", "Art. 24", Cra, "an open-source software steward, when one is named, for free and open-source software";
    SecurityContact => "security.contact", "Art. 13(17)", Cra, "a single point of contact for vulnerability reports";
    SecurityCvdPolicy => "security.cvd-policy", "Annex II(2)", Cra, "the address of the coordinated vulnerability disclosure policy";
    ProductIdentifier => "product.identifier", "Art. 13(15)", Cra, "at least one usable type, batch, serial number or other identifier (purl, GTIN, model, CPE)";
    ProductIdentifierSyntax => "product.identifier-syntax", "Art. 13(15)", Cra, "every identifier given is well formed (a warning unless the policy makes it required)";
    UserInfoUrl => "user-info.url", "Annex II", Cra, "where the Annex II user information and instructions are";
    UserInfoLanguages => "user-info.languages", "Art. 13(18)", Cra, "the languages of the user information";
    SbomPresent => "sbom.present", "Annex I Part II(1)", Cra, "an SBOM, when the policy requires one";
    SbomFormat => "sbom.format", "Annex I Part II(1)", Cra, "the SBOM is CycloneDX 1.4 to 1.7 or SPDX 2.2, 2.3 or 3.0";
    SbomComponents => "sbom.components", "Annex I Part II(1)", Cra, "the SBOM lists components";
    SbomDescribesProduct => "sbom.describes-product", "Annex I Part II(1)", Cra, "the SBOM's root component is the product: by purl, CPE, artifact hash, or version and name";
    SbomAttestation => "sbom.attestation", "Annex I Part II(1)", Cra, "an SBOM carried as an attestation is bound to the artifact digest";
    SignatureArtifacts => "signature.artifacts", "Annex I Part I(2)(f)", Policy, "every artifact is signed by an identity the policy trusts for the manufacturer";
    SignatureDoc => "signature.doc", "Art. 28(4)", Policy, "the DoC is signed as an attestation over the artifacts' digests";
}

impl CheckId {
    /// The severity a check has when the policy does not name it under
    /// `warn` or `required`, if the catalogue fixes one: a malformed extra
    /// identifier beside a usable one does not make a product unidentifiable
    /// (Art. 13(15)), so it warns unless the policy makes it required.
    pub fn default_severity(self) -> Option<Severity> {
        match self {
            Self::ProductIdentifierSyntax => Some(Severity::Warn),
            _ => None,
        }
    }

    /// Whether the check is about a duty that exists only when a
    /// manufacturer places the product on the market (Art. 13, 18, 19, 28,
    /// 30, 32): a free and open-source product that only an open-source
    /// software steward supports has none of them, since Art. 24 gives the
    /// steward its own, lighter duties (a cybersecurity policy that fosters
    /// vulnerability reporting, cooperation with market surveillance).
    pub fn needs_manufacturer(self) -> bool {
        let id = self.id();
        [
            "doc.",
            "ce.",
            "conformity.",
            "support.",
            "user-info.",
            "product.",
        ]
        .iter()
        .any(|prefix| id.starts_with(prefix))
            || matches!(
                self,
                Self::OperatorsManufacturer
                    | Self::OperatorsAuthorisedRepresentative
                    | Self::OperatorsImporter
            )
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for check in CheckId::ALL {
            assert!(seen.insert(check.id()), "duplicate id {check}");
            assert_eq!(CheckId::from_id(check.id()), Some(*check));
            assert!(check.article().starts_with("Art.") || check.article().starts_with("Annex"));
        }
        assert_eq!(CheckId::from_id("ce.nope"), None);
    }

    #[test]
    fn stewards_keep_their_own_checks() {
        for kept in [
            CheckId::OperatorsSteward,
            CheckId::OperatorsSupplier,
            CheckId::SecurityContact,
            CheckId::SecurityCvdPolicy,
            CheckId::SbomPresent,
            CheckId::SignatureArtifacts,
        ] {
            assert!(!kept.needs_manufacturer(), "{kept}");
        }
        assert!(CheckId::DocPresent.needs_manufacturer());
        assert!(CheckId::OperatorsImporter.needs_manufacturer());
    }
}
