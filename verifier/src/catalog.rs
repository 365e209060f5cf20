//! The catalogue of CRA content checks: a stable id, the article each serves.
//!
//! Ids are a contract (policies name them, verdicts report them): rename one
//! only with a new policy format version.

use std::fmt;

macro_rules! checks {
    ($($variant:ident => $id:literal, $article:literal, $what:literal;)*) => {
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
    DocPresent => "doc.present", "Art. 13(20)", "a full EU declaration of conformity, or a simplified one with the address of the full one";
    DocSimplified => "doc.simplified", "Annex VI", "the simplified DoC has the Annex VI sentence and an https address";
    DocProduct => "doc.product", "Annex V(1)", "the DoC names the product and its type";
    DocManufacturer => "doc.manufacturer", "Annex V(2)", "the DoC names the manufacturer or authorised representative with an address";
    DocSoleResponsibility => "doc.sole-responsibility", "Annex V(3)", "the DoC states it is issued under the sole responsibility of the provider";
    DocObject => "doc.object", "Annex V(4)", "the DoC identifies the object of the declaration for traceability";
    DocConformityStatement => "doc.conformity-statement", "Annex V(5)", "the DoC states conformity with Union harmonisation legislation";
    DocStandards => "doc.standards", "Annex V(6)", "the DoC lists the standards, specifications or certifications declared";
    DocConformityAssessment => "doc.conformity-assessment", "Annex V(7)", "the DoC names the procedure and, where one took part, the notified body";
    DocSignature => "doc.signature", "Annex V(8)", "the DoC signature block: for whom, place, date, name and function";
    DocCitesCra => "doc.cites-cra", "Art. 28(1)", "the DoC cites Regulation (EU) 2024/2847";
    DocOtherActs => "doc.other-acts", "Art. 28(3)", "every other Union act in the DoC comes with its publication reference";
    DocMatchesListing => "doc.matches-listing", "Annex V(1)", "the DoC's product is the listed product (name, version or type, identifiers)";
    CeAffixed => "ce.affixed", "Art. 30(3)", "the CE marking is affixed";
    CePlacement => "ce.placement", "Art. 30(1)", "the CE marking is where Art. 30(1) allows for this kind of product";
    CeNotifiedBody => "ce.notified-body", "Art. 30(4)", "the notified body number follows the CE marking under module H";
    CeNotifiedBodyNumber => "ce.notified-body-number", "Art. 44(1)", "notified body numbers have the four-digit NANDO form";
    CeNotifiedBodyListed => "ce.notified-body-listed", "Art. 44(2)", "the notified body is notified under the CRA for the module used";
    ConformityProcedure => "conformity.procedure", "Art. 32", "the conformity assessment procedure is one Art. 32 allows for the product's class";
    ConformityCertificate => "conformity.certificate", "Annex V(7)", "module B+C or EUCC identifies the certificate issued";
    ConformityFossDocumentation => "conformity.foss-documentation", "Art. 32(5)", "free and open-source class I/II products under module A publish their technical documentation";
    SupportEndDate => "support.end-date", "Art. 13(19)", "the support period end date gives at least month and year";
    SupportMinimum => "support.minimum", "Art. 13(8)", "the support period is at least the policy minimum from placing on the market";
    SupportCurrent => "support.current", "Art. 13(8)", "the support period is not over at the evaluation time";
    OperatorsManufacturer => "operators.manufacturer", "Art. 13(16)", "manufacturer name, postal address, e-mail and website";
    OperatorsImporter => "operators.importer", "Art. 19(4)", "an EU importer with name, postal address, e-mail and website when the manufacturer is outside the EU";
    OperatorsSupplier => "operators.supplier", "Art. 23(1)", "the economic operator that supplied the product, with name and address";
    SecurityContact => "security.contact", "Art. 13(17)", "a single point of contact for vulnerability reports";
    SecurityCvdPolicy => "security.cvd-policy", "Annex II(2)", "the address of the coordinated vulnerability disclosure policy";
    ProductIdentifier => "product.identifier", "Art. 13(15)", "a type, batch, serial number or other identifier (purl, GTIN, model)";
    UserInfoUrl => "user-info.url", "Annex II", "where the Annex II user information and instructions are";
    UserInfoLanguages => "user-info.languages", "Art. 13(18)", "the languages of the user information";
    SbomPresent => "sbom.present", "Annex I Part II(1)", "an SBOM, when the policy requires one";
    SbomFormat => "sbom.format", "Annex I Part II(1)", "the SBOM is CycloneDX 1.4 to 1.6 or SPDX 2.3 or 3.0 and parses";
    SbomComponents => "sbom.components", "Annex I Part II(1)", "the SBOM lists components";
    SbomDescribesProduct => "sbom.describes-product", "Annex I Part II(1)", "the SBOM names the product it describes";
    SbomAttestation => "sbom.attestation", "Annex I Part II(1)", "an SBOM carried as an attestation is bound to the artifact digest";
    SignatureArtifacts => "signature.artifacts", "Annex I Part I(2)(f)", "every artifact is signed by an identity the policy trusts for the manufacturer";
    SignatureDoc => "signature.doc", "Art. 28(4)", "the DoC is signed as an attestation over the artifacts' digests";
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
}
