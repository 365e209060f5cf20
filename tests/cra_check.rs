//! `cragate check` on every case of `testdata/cra`: the decision follows the
//! case's suffix and the failed checks are exactly those in `expected.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cragate_verifier::evidence::{EvidenceError, Listing};
use serde_json::Value;

use crate::util::python;

const AT: &str = "2027-06-01T00:00:00Z";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cragate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cragate"))
        .args(args)
        .output()
        .expect("cragate runs")
}

fn policy_path(case: &Path, name: &str) -> PathBuf {
    match name {
        "case" => case.join("policy.toml"),
        other => root().join("policies").join(format!("{other}.toml")),
    }
}

fn check_case(case: &Path) -> Result<(), String> {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(case.join("expected.json")).unwrap()).unwrap();
    let policy = policy_path(case, expected["policy"].as_str().unwrap());
    let listing = case.join("listing.json");
    let output = cragate(&[
        "check",
        listing.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--at",
        AT,
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    if expected["unusable"] == Value::Bool(true) {
        let needle = expected["error_contains"].as_str().unwrap();
        if code != Some(2) || !stderr.contains(needle) {
            return Err(format!(
                "{name}: expected exit 2 mentioning {needle:?}, got {code:?}: {stderr}"
            ));
        }
        if !name.ends_with("_fail") {
            return Err(format!("{name}: unusable input must be a _fail case"));
        }
        return Ok(());
    }
    let verdict: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{name}: no JSON verdict ({e}); exit {code:?}: {stderr}"))?;
    let decision = verdict["decision"].as_str().unwrap_or_default();
    let by_suffix = if name.ends_with("_pass") {
        ["allow", "warn"].contains(&decision)
    } else {
        decision == "deny"
    };
    if !by_suffix || Some(decision) != expected["decision"].as_str() {
        return Err(format!(
            "{name}: decision {decision}, expected {}",
            expected["decision"]
        ));
    }
    let want_code = if decision == "deny" { 1 } else { 0 };
    if code != Some(want_code) {
        return Err(format!("{name}: exit {code:?} for {decision}"));
    }
    let failed: BTreeSet<&str> = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = expected["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    if failed != want {
        return Err(format!(
            "{name}: failed checks {failed:?}, expected {want:?}"
        ));
    }
    for check in verdict["checks"].as_array().unwrap() {
        for field in ["id", "article", "result", "detail"] {
            if check[field].as_str().is_none_or(str::is_empty) {
                return Err(format!("{name}: check without {field}: {check}"));
            }
        }
    }
    Ok(())
}

/// The unsigned cases of `testdata/cra` and the signed ones the test signer
/// writes to `testdata/cra-signed`.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = ["testdata/cra", "testdata/cra-signed"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root().join(dir)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_cra_case_gets_its_expected_verdict() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let signed = cases
        .iter()
        .filter(|c| c.starts_with(root().join("testdata/cra-signed")))
        .count();
    assert!(signed >= 10, "only {signed} signed cases");
    let failures: Vec<String> = cases.iter().filter_map(|c| check_case(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_case_with_a_wrong_expectation_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("tampered_pass");
    std::fs::create_dir(&case).unwrap();
    let source = root().join("testdata/cra/supplier_missing_fail");
    std::fs::copy(source.join("listing.json"), case.join("listing.json")).unwrap();
    std::fs::write(
        case.join("expected.json"),
        r#"{"policy": "content-only", "decision": "allow", "failed": []}"#,
    )
    .unwrap();
    assert!(check_case(&case).is_err());
}

#[test]
fn fifty_megabytes_of_json_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let mut body = String::from(r#"{"format": "cragate.listing/v1", "pad": ""#);
    body.push_str(&"x".repeat(50 * 1024 * 1024));
    body.push_str("\"}");
    std::fs::write(&path, body).unwrap();
    let output = cragate(&["check", path.to_str().unwrap(), "--at", AT]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("over the limit"));
}

#[test]
fn nesting_ten_thousand_deep_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.json");
    let body = format!(
        r#"{{"format": "cragate.listing/v1", "pad": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    std::fs::write(&path, body).unwrap();
    let output = cragate(&["check", path.to_str().unwrap(), "--at", AT]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nests deeper than the limit of 64 levels"),
        "{stderr}"
    );
}

/// `cragate check` on the module-H router listing under `policy`.
fn check_router(policy: &Path, extra: &[&str]) -> Output {
    let listing = root().join("testdata/cra/router_module_h_pass/listing.json");
    let mut args = vec![
        "check",
        listing.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cragate(&args)
}

#[test]
fn an_invalid_policy_is_rejected_with_every_error_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("bad.toml");
    std::fs::write(
        &policy,
        "format = \"cragate.policy/v1\"\nname = \"bad\"\nmode = \"strict\"\n\n[checks]\nwarn = [\"ce.nope\"]\ncolour = 3\n\n[support]\nminimum_years = \"five\"\n\n[notified_bodies]\nlist = \"missing.json\"\n",
    )
    .unwrap();
    let output = check_router(&policy, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "bad.toml:3:8: mode \"strict\"",
        "bad.toml:6:9: unknown check id \"ce.nope\"",
        "bad.toml:7:1: unknown key \"colour\" in [checks]",
        "bad.toml:10:17: expected an integer",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_missing_referenced_file_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "format = \"cragate.policy/v1\"\nname = \"p\"\n[notified_bodies]\nlist = \"nando.json\"\n",
    )
    .unwrap();
    let output = check_router(&policy, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("p.toml:4:8:"));
}

#[test]
fn the_policy_digest_covers_referenced_files() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "format = \"cragate.policy/v1\"\nname = \"p\"\n[notified_bodies]\nlist = \"nando.json\"\n",
    )
    .unwrap();
    let nando =
        std::fs::read_to_string(root().join("policies/notified-bodies/illustrative-nando.json"))
            .unwrap();
    let digest = |nando: &str| {
        std::fs::write(dir.path().join("nando.json"), nando).unwrap();
        let out = check_router(&policy, &["--at", AT, "--format", "json"]);
        let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
        verdict["policy"]["digest"].as_str().unwrap().to_owned()
    };
    assert_ne!(digest(&nando), digest(&nando.replace("Esempio", "Esempi0")));
}

/// Every listing among the vectors: the unsigned and signed cases and the
/// example upload.
fn vector_listings() -> Vec<PathBuf> {
    let mut listings: Vec<PathBuf> = cases().iter().map(|c| c.join("listing.json")).collect();
    listings.push(root().join("testdata/examples/accepted-listing.json"));
    listings
}

/// Where the published schemas and the reader disagree on `listings`, with
/// the schemas in `schema_dir` (checked by the `jsonschema` package, JSON
/// Schema draft 2020-12), and how many listings both judged.
fn schema_disagreements(schema_dir: &Path, listings: &[PathBuf]) -> (Vec<String>, usize) {
    let output = python()
        .arg(root().join("scripts/validate-json-schema.py"))
        .arg(schema_dir)
        .arg("listing-v1.schema.json")
        .args(listings)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the schema validator did not run: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: BTreeMap<PathBuf, Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            (PathBuf::from(v["file"].as_str().unwrap()), v)
        })
        .collect();
    assert_eq!(verdicts.len(), listings.len());
    let mut disagreements = Vec::new();
    let mut judged = 0;
    for path in listings {
        let schema = &verdicts[path];
        let errors = &schema["errors"];
        let read = Listing::from_json(&std::fs::read(path).unwrap());
        let name = path.strip_prefix(root()).unwrap_or(path).display();
        match (schema["verdict"].as_str().unwrap(), &read) {
            // Budgets a schema cannot express (size, depth).
            (_, Err(EvidenceError::Limits(_))) => {}
            ("valid", Ok(_)) | ("invalid", Err(_)) => judged += 1,
            ("not-json" | "duplicate-keys", Err(_)) => {}
            ("valid", Err(error)) => disagreements.push(format!(
                "{name}: the schema accepts what the reader refuses: {error}"
            )),
            ("invalid", Ok(_)) => disagreements.push(format!(
                "{name}: the reader accepts what the schema refuses: {errors}"
            )),
            (verdict, Ok(_)) => disagreements.push(format!(
                "{name}: the reader accepts a document the schema validator calls {verdict}: {errors}"
            )),
            (verdict, Err(_)) => disagreements.push(format!("{name}: unknown verdict {verdict}")),
        }
    }
    (disagreements, judged)
}

#[test]
fn the_published_schemas_and_the_reader_agree_on_every_vector() {
    let listings = vector_listings();
    let (disagreements, judged) = schema_disagreements(&root().join("verifier/schema"), &listings);
    assert!(
        disagreements.is_empty(),
        "{} of {} vectors:\n{}",
        disagreements.len(),
        listings.len(),
        disagreements.join("\n")
    );
    assert!(judged >= 150, "only {judged} vectors judged by both");
}

#[test]
fn a_schema_that_refuses_a_field_the_reader_accepts_is_caught() {
    // The DoC schema once refused product identifiers beyond the named ones
    // (a `firmware` identifier) while the reader accepted them.
    let dir = tempfile::tempdir().unwrap();
    for name in ["listing-v1.schema.json", "doc-v1.schema.json"] {
        std::fs::copy(
            root().join("verifier/schema").join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    let doc_schema = dir.path().join("doc-v1.schema.json");
    let mut schema: Value = serde_json::from_slice(&std::fs::read(&doc_schema).unwrap()).unwrap();
    schema["$defs"]["identifiers"]["additionalProperties"] = Value::Bool(false);
    std::fs::write(&doc_schema, serde_json::to_vec(&schema).unwrap()).unwrap();
    let listing = root().join("testdata/cra/doc_firmware_identifier_pass/listing.json");
    let (disagreements, _) = schema_disagreements(dir.path(), &[listing]);
    assert_eq!(disagreements.len(), 1, "{disagreements:?}");
    assert!(disagreements[0].contains("the reader accepts what the schema refuses"));
}

#[test]
fn re_running_the_vector_generator_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = python()
        .arg(root().join("testdata/cra/generate.py"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = |base: &Path| -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        for case in std::fs::read_dir(base).unwrap() {
            let case = case.unwrap().path();
            if !case.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&case).unwrap() {
                let file = file.unwrap().path();
                let key = file.strip_prefix(base).unwrap().display().to_string();
                files.insert(key, std::fs::read(&file).unwrap());
            }
        }
        files
    };
    let generated = tree(dir.path());
    let committed = tree(&root().join("testdata/cra"));
    let differ: Vec<&String> = generated
        .keys()
        .chain(committed.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| generated.get(*k) != committed.get(*k))
        .collect();
    assert!(
        differ.is_empty(),
        "re-run python3 testdata/cra/generate.py; these files differ: {differ:?}"
    );
    assert!(generated.len() >= 3 * 150);
}

#[test]
fn docs_check_md_describes_every_check() {
    let docs = std::fs::read_to_string(root().join("docs/check.md")).unwrap();
    let mut missing = Vec::new();
    for check in cragate_verifier::catalog::CheckId::ALL {
        let head = format!("**`{}`**, {}", check.id(), check.article());
        let Some(start) = docs.find(&head) else {
            missing.push(head);
            continue;
        };
        let rest = &docs[start + head.len()..];
        let entry = &rest[..rest.find("\n**`").unwrap_or(rest.len())];
        for part in ["- Reads:", "- Not applicable:", "- Pass:", "- Fail"] {
            if !entry.contains(part) {
                missing.push(format!("{}: {part}", check.id()));
            }
        }
    }
    assert!(missing.is_empty(), "docs/check.md lacks: {missing:?}");
}
