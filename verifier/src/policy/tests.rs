use super::*;
use crate::applicability::Enforce;

fn compile(text: &str) -> Result<Policy, PolicyErrors> {
    PolicyDraft::parse("p.toml", text.as_bytes())?.compile(&BTreeMap::new())
}

#[test]
fn every_error_is_reported_with_its_line() {
    let errors = compile("format = \"cragate.policy/v1\"\nname = \"x\"\nmode = 1\n[sbom]\nrequired = \"yes\"\nextra = true\n")
        .unwrap_err()
        .errors;
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 5, 6], "{errors:?}");
}

#[test]
fn toml_syntax_errors_are_policy_errors() {
    let errors = compile("name = \n").unwrap_err().errors;
    assert_eq!(errors.first().map(|e| e.line), Some(1));
}

#[test]
fn a_check_cannot_be_both_required_and_warn() {
    let text = "format = \"cragate.policy/v1\"\nname = \"x\"\n[checks]\nrequired = [\"ce.affixed\"]\nwarn = [\"ce.affixed\"]\n";
    assert_eq!(compile(text).unwrap_err().errors.len(), 1);
}

#[test]
fn overrides_apply_class_then_category() {
    let text = "format = \"cragate.policy/v1\"\nname = \"x\"\n[support]\nminimum_years = 5\n\
        [overrides.\"class-i\"]\nminimum_support_years = 6\nwarn = [\"sbom.present\"]\n\
        [overrides.\"class-i:3\"]\nminimum_support_years = 7\n";
    let policy = compile(text).unwrap();
    let rules = policy.rules_for(Category::ClassI(3));
    assert_eq!(rules.minimum_support_years, 7);
    assert_eq!(
        rules.severities.get(&CheckId::SbomPresent),
        Some(&Severity::Warn)
    );
    assert_eq!(
        policy.rules_for(Category::ClassI(4)).minimum_support_years,
        6
    );
    assert_eq!(policy.rules_for(Category::Default).minimum_support_years, 5);
}

#[test]
fn the_digest_changes_with_the_policy_text() {
    let a = compile("format = \"cragate.policy/v1\"\nname = \"a\"\n").unwrap();
    let b = compile("format = \"cragate.policy/v1\"\nname = \"b\"\n").unwrap();
    assert_ne!(a.digest(), b.digest());
}

#[test]
fn every_check_appears_in_a_verdict_and_signatures_fail_when_required() {
    let text = "format = \"cragate.policy/v1\"\nname = \"s\"\n[signatures]\nartifacts = true\n";
    let policy = compile(text).unwrap();
    let listing = Listing::from_json(
        br#"{"format": "cragate.listing/v1",
        "product": {"id": "p", "name": "P", "version": "1", "kind": "software", "category": "default"}}"#,
    )
    .unwrap();
    let verdict = policy.evaluate(&listing, Timestamp::UNIX_EPOCH);
    assert_eq!(verdict.checks().len(), CheckId::ALL.len());
    let signature = verdict
        .checks()
        .iter()
        .find(|c| c.id == CheckId::SignatureArtifacts)
        .unwrap();
    assert_eq!(signature.result, crate::verdict::Outcome::Fail);
    assert_eq!(
        signature.detail,
        "the policy requires signed artifacts, but the listing has none"
    );
    assert_eq!(verdict.decision(), crate::verdict::Decision::Deny);
}

#[test]
fn manufacturer_identities_take_fulcio_claim_rules() {
    let text = r#"format = "cragate.policy/v1"
name = "claims"
[[manufacturers]]
name = "Vaultkey Software GmbH"
[[manufacturers.identities]]
san_regexp = "https://github\\.com/vaultkey/.*"
issuer = "https://token.actions.githubusercontent.com"
source-repository-ref_regexp = "refs/tags/v.*"
build-trigger = "release"
"#;
    let policy = compile(text).unwrap();
    let identity = policy.manufacturers()[0].identities[0].clone();
    let signer = |reference: &str| crate::sigstore::CertificateSigner {
        identity:
            "https://github.com/vaultkey/vault/.github/workflows/release.yml@refs/tags/v2.0.0"
                .to_owned(),
        issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
        claims: BTreeMap::from([
            (
                crate::sigstore::FulcioClaim::SourceRepositoryRef,
                reference.to_owned(),
            ),
            (
                crate::sigstore::FulcioClaim::BuildTrigger,
                "release".to_owned(),
            ),
        ]),
    };
    assert!(identity.check(&signer("refs/tags/v2.0.0")).is_ok());
    let error = identity.check(&signer("refs/heads/main")).unwrap_err();
    assert_eq!(
        error.field,
        crate::sigstore::IdentityField::Claim(crate::sigstore::FulcioClaim::SourceRepositoryRef)
    );

    let unknown = text.replace("build-trigger", "workflow-name");
    let errors = compile(&unknown).unwrap_err().errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 9);
}

#[test]
fn date_market_and_doc_keys_are_read_and_bad_values_named() {
    let text = "format = \"cragate.policy/v1\"\nname = \"x\"\nenforce = \"as-applicable\"\n\
        [support]\nsupply_after_end = \"refuse\"\n[market]\nunion_states = [\"DE\", \"NO\", \"EL\"]\n\
        [doc]\nfull_required = true\nlanguages = [\"de\"]\n[doc.phrasings.de]\nsole_responsibility = [\"alleinige Verantwortung\"]\n";
    let policy = compile(text).unwrap();
    assert_eq!(policy.enforce(), Enforce::AsApplicable);
    let rules = policy.rules_for(Category::Default);
    assert_eq!(rules.supply_after_end, SupplyAfterEnd::Refuse);
    assert!(rules.in_union("NO") && rules.in_union("GR") && !rules.in_union("FR"));
    assert!(rules.doc_full_required);
    assert_eq!(
        rules
            .phrasings
            .get("de")
            .map(|p| p.sole_responsibility.len()),
        Some(1)
    );

    let bad = "format = \"cragate.policy/v1\"\nname = \"x\"\nenforce = \"later\"\n\
        [support]\nsupply_after_end = \"maybe\"\n[market]\nunion_states = [\"Germany\", \"DE\", \"DE\"]\n\
        [doc.phrasings.German]\nsole_responsibility = [\"x\"]\n";
    let lines: Vec<usize> = compile(bad)
        .unwrap_err()
        .errors
        .iter()
        .map(|e| e.line)
        .collect();
    assert_eq!(lines, vec![3, 5, 7, 7, 8], "{lines:?}");
}

#[test]
fn the_default_union_is_the_eu_27() {
    let rules = Settings::default();
    assert_eq!(rules.union_states.len(), 27);
    assert!(rules.in_union("EL") && !rules.in_union("NO") && !rules.in_union("CH"));
}

#[test]
fn a_presumption_list_of_the_wrong_kind_is_refused_at_its_line() {
    let text = "format = \"cragate.policy/v1\"\nname = \"x\"\n[conformity]\nharmonised_standards = \"schemes.json\"\n";
    let draft = PolicyDraft::parse("p.toml", text.as_bytes()).unwrap();
    let schemes = br#"{"format": "cragate.presumption-list/v1", "kind": "certification-schemes",
        "as_of": "2026-04-25", "entries": []}"#;
    let files = BTreeMap::from([("schemes.json".to_owned(), schemes.to_vec())]);
    let errors = draft.compile(&files).unwrap_err().errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 4);
    assert!(
        errors[0].message.contains("harmonised-standards"),
        "{}",
        errors[0].message
    );
}

/// Issue 10, rule 16, for policies: TOML forbids defining a key twice
/// (TOML 1.0, "Keys"), and a policy doing so is refused with the line of the
/// second one, never read as either value.
#[test]
fn a_key_given_twice_makes_a_policy_unusable() {
    let text =
        "format = \"cragate.policy/v1\"\nname = \"x\"\n[sbom]\nrequired = true\nrequired = false\n";
    let errors = compile(text).unwrap_err().errors;
    assert_eq!(errors.first().map(|e| e.line), Some(5), "{errors:?}");
    let tables = "format = \"cragate.policy/v1\"\nname = \"x\"\n[sbom]\nrequired = true\n[sbom]\n";
    assert!(compile(tables).is_err());
}

#[test]
fn the_importer_table_gives_the_importers_own_details() {
    let text = "format = \"cragate.policy/v1\"\nname = \"i\"\n[importer]\nname = \"Hafenblick Import GmbH\"\n\
        postal_address = \"Hafenstr. 4, 20457 Hamburg\"\nemail = \"compliance@hafenblick.example\"\ncountry = \"DE\"\n";
    let policy = compile(text).unwrap();
    let importer = policy.importer().unwrap();
    assert_eq!(importer.name, "Hafenblick Import GmbH");
    assert_eq!(
        importer.email.as_deref(),
        Some("compliance@hafenblick.example")
    );
    assert_eq!(importer.website, None);
    assert!(
        compile("format = \"cragate.policy/v1\"\nname = \"i\"\n")
            .unwrap()
            .importer()
            .is_none()
    );
}

#[test]
fn an_importer_without_contact_or_outside_the_union_is_refused() {
    let text = "format = \"cragate.policy/v1\"\nname = \"i\"\n[importer]\nname = \"X\"\n\
        postal_address = \"1 Road\"\ncountry = \"CN\"\nfax = \"1\"\n";
    let errors = compile(text).unwrap_err().errors;
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(errors.len(), 3, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("email or digital_contact"))
    );
    assert!(messages.iter().any(|m| m.contains("union_states")));
    assert!(messages.iter().any(|m| m.contains("\"fax\"")));
}

#[test]
fn oci_repositories_name_a_manufacturer_entry() {
    let head = "format = \"cragate.policy/v1\"\nname = \"x\"\n\
        [[manufacturers]]\nname = \"ACME Devices GmbH\"\n";
    let good = format!(
        "{head}[[oci.repositories]]\nname = \"acme/*\"\nmanufacturer = \"ACME Devices GmbH\"\n\
         attestations = [\"https://cragate.dev/doc/v1\"]\n"
    );
    let policy = compile(&good).unwrap();
    let rule = policy.oci_repository("acme/cam").unwrap();
    assert_eq!(rule.attestations, vec!["https://cragate.dev/doc/v1"]);
    assert!(!rule.push, "pushes are off unless a rule enables them");
    assert!(policy.oci_repository("other/cam").is_none());
    let pushed = compile(&format!("{good}push = true\n")).unwrap();
    assert!(pushed.oci_repository("acme/cam").unwrap().push);
    let errors = compile(&format!("{good}push = \"yes\"\n"))
        .unwrap_err()
        .errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let unknown = format!(
        "{head}[[oci.repositories]]\nname = \"acme/*\"\nmanufacturer = \"Nobody\"\nextra = 1\n"
    );
    let errors = compile(&unknown).unwrap_err().errors;
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(errors.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("which no [[manufacturers]] entry defines")),
        "{messages:?}"
    );
}
