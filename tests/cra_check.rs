//! `cragate check` on every case of `testdata/cra`: the decision follows the
//! case's suffix and the failed checks are exactly those in `expected.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

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

/// A small JSON Schema subset (type, const, enum, properties,
/// additionalProperties, required, items, oneOf, local and sibling $ref),
/// enough for the published listing and DoC schemas.
fn schema_errors(
    schema: &Value,
    value: &Value,
    docs: &BTreeMap<&str, Value>,
    root: &Value,
    path: &str,
) -> Vec<String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return match reference.strip_prefix("#/$defs/") {
            Some(name) => schema_errors(&root["$defs"][name], value, docs, root, path),
            None => {
                let other = &docs[reference];
                schema_errors(other, value, docs, other, path)
            }
        };
    }
    let mut errors = Vec::new();
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array)
        && !options
            .iter()
            .any(|o| schema_errors(o, value, docs, root, path).is_empty())
    {
        errors.push(format!("{path}: matches no alternative"));
    }
    let type_name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            other => other
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect(),
        };
        if !allowed.contains(&type_name) {
            errors.push(format!("{path}: {type_name} is not {allowed:?}"));
            return errors;
        }
    }
    if schema.get("const").is_some_and(|c| c != value) {
        errors.push(format!("{path}: not {}", schema["const"]));
    }
    if schema
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.contains(value))
    {
        errors.push(format!("{path}: {value} not in enum"));
    }
    if let Value::Object(map) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, item) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => errors.extend(schema_errors(
                    sub,
                    item,
                    docs,
                    root,
                    &format!("{path}.{key}"),
                )),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: unknown property {key}"));
                }
                None => {}
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !map.contains_key(required.as_str().unwrap()) {
                errors.push(format!("{path}: missing {required}"));
            }
        }
    }
    if let (Value::Array(items), Some(sub)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            errors.extend(schema_errors(
                sub,
                item,
                docs,
                root,
                &format!("{path}[{i}]"),
            ));
        }
    }
    errors
}

#[test]
fn the_published_schemas_accept_exactly_what_parses() {
    let load = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(root().join("verifier/schema").join(name)).unwrap())
            .unwrap()
    };
    let docs: BTreeMap<&str, Value> = [
        ("doc-v1.schema.json", load("doc-v1.schema.json")),
        ("listing-v1.schema.json", load("listing-v1.schema.json")),
    ]
    .into_iter()
    .collect();
    let schema = &docs["listing-v1.schema.json"];
    let mut checked = 0;
    for case in cases() {
        let expected: Value =
            serde_json::from_slice(&std::fs::read(case.join("expected.json")).unwrap()).unwrap();
        let Ok(listing) =
            serde_json::from_slice::<Value>(&std::fs::read(case.join("listing.json")).unwrap())
        else {
            continue;
        };
        let errors = schema_errors(schema, &listing, &docs, schema, "$");
        let unusable = expected["unusable"] == Value::Bool(true);
        // Shape errors the schema must see too; digest, category and nesting
        // are refused by checks the subset here does not model (pattern, depth).
        let schema_level = [
            "unknown_format_version",
            "doc_unknown_format_version",
            "wrong_type",
            "unknown_field",
        ]
        .iter()
        .any(|n| case.ends_with(format!("{n}_fail")));
        if unusable && schema_level {
            assert!(
                !errors.is_empty(),
                "{}: the schema accepts a listing the parser refuses",
                case.display()
            );
        } else if !unusable {
            assert!(errors.is_empty(), "{}: {errors:?}", case.display());
        }
        checked += 1;
    }
    assert!(checked >= 60);
}
