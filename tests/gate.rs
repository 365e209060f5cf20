//! `cragate gate`: the example shipment through the real binary, items that
//! fail alone, an unusable manifest, and `report.html` in a real headless
//! browser (Debian's `chromium`, installed by scripts/test).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{cragate, python, stderr, testdata};

/// The evaluation time of the example (testdata/shipments/SHP-2026-1187/README.md).
pub const AT: &str = "2026-12-01T09:00:00Z";
pub const REFERENCE: &str = "SHP-2026-1187";
pub const SUPPLIER: &str = "pacific-bridge-trading";

pub fn example() -> PathBuf {
    testdata().join("shipments").join(REFERENCE)
}

pub fn importer_policy() -> PathBuf {
    testdata().join("../policies/importer.toml")
}

/// `cragate gate MANIFEST --policy importer.toml --data-dir DATA
/// --report-dir REPORT --at AT --jobs 2`.
fn gate(manifest: &Path, data: &Path, report: &Path) -> Output {
    cragate()
        .arg("gate")
        .arg(manifest)
        .arg("--policy")
        .arg(importer_policy())
        .arg("--data-dir")
        .arg(data)
        .arg("--report-dir")
        .arg(report)
        .args(["--at", AT, "--jobs", "2"])
        .output()
        .unwrap()
}

pub fn report_json(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

pub fn supply_chain(data: &Path, product: &str) -> Value {
    let output = cragate()
        .args(["ledger", "supply-chain", product, "--json", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

pub fn ledger_entries(data: &Path, product: &str) -> Vec<Value> {
    let output = cragate()
        .args(["ledger", "query", "--product", product, "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The failed required checks of a report item, by id.
fn failed(item: &Value) -> Vec<String> {
    item["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] == "fail" && c["severity"] == "required")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn item_of<'a>(report: &'a Value, product: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_id"] == product)
        .unwrap_or_else(|| panic!("{product} is not in the report"))
}

#[test]
fn the_example_shipment_is_gated_and_its_supply_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (data, reports) = (dir.path().join("data"), dir.path().join("report"));
    let output = gate(&example().join("shipment.json"), &data, &reports);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with('[')).count(),
        20,
        "one line per item when not on a terminal:\n{stdout}"
    );
    assert!(
        stdout.contains("SHP-2026-1187: 20 items, 15 accepted, 5 refused, 0 unusable"),
        "{stdout}"
    );

    let report = report_json(&reports);
    assert_eq!(report["reference"], REFERENCE);
    assert_eq!(
        report["totals"],
        serde_json::json!({"items": 20, "accepted": 15, "refused": 5, "unusable": 0})
    );
    // Each refused item for its own reason.
    for (product, check) in [
        ("lumatek-n9-nvr", "support.minimum"),
        ("lumatek-c7-pan-tilt", "shipment.artifact_digest"),
        ("ksd-l4-lte-modem", "doc.languages"),
        ("redwood-s3-sensor", "ce.affixed"),
        ("redwood-g1-garage", "ce.notified-body-listed"),
    ] {
        let item = item_of(&report, product);
        assert_eq!(item["decision"], "refused", "{product}");
        let failed = failed(item);
        assert!(
            failed.iter().any(|id| id == check),
            "{product} failed {failed:?}, expected {check}"
        );
    }

    for item in report["items"].as_array().unwrap() {
        let product = item["product_id"].as_str().unwrap();
        assert!(
            item["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["article"].is_string())
        );
        assert!(item["evidence"].as_array().unwrap().len() >= 2, "{product}");
        let chain = supply_chain(&data, product);
        let upstream = chain["upstream"].as_array().unwrap();
        if item["decision"] == "accepted" {
            // Art. 19(4): the importer's details went on the listing.
            assert_eq!(item["importer_stamped"], true, "{product}");
            assert_eq!(upstream.len(), 1, "{product}: {chain}");
            let body = &upstream[0]["body"];
            assert_eq!(body["counterparty"]["id"], SUPPLIER, "{product}");
            assert_eq!(body["shipment"], REFERENCE, "{product}");
            assert_eq!(body["quantity"], item["quantity"], "{product}");
            assert_eq!(body["batch"], item["batch"], "{product}");
            assert_eq!(body["supplied_on"], "2026-11-30", "{product}");
            // Art. 19(6): the DoC is kept.
            let entries = ledger_entries(&data, product);
            assert!(
                entries
                    .iter()
                    .any(|e| e["body"]["document"] == "declaration_of_conformity"),
                "{product}: no DoC on the ledger"
            );
            assert!(
                entries
                    .iter()
                    .any(|e| e["body"]["kind"] == "decision" && e["body"]["verdict"] != "deny")
            );
        } else {
            assert!(upstream.is_empty(), "{product} was refused: {chain}");
            let entries = ledger_entries(&data, product);
            assert!(
                entries
                    .iter()
                    .any(|e| e["body"]["kind"] == "decision" && e["body"]["verdict"] == "deny")
            );
            assert!(
                !entries
                    .iter()
                    .any(|e| e["body"]["document"] == "declaration_of_conformity")
            );
        }
    }

    // The text form names supplier and shipment too.
    let output = cragate()
        .args(["ledger", "supply-chain", "lumatek-c3pro", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("pacific-bridge-trading") && text.contains("shipment SHP-2026-1187"),
        "{text}"
    );
    let verify = cragate()
        .args(["ledger", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// A copy of the example with `items` as the manifest's items.
fn variant(dir: &Path, items: Value) -> PathBuf {
    let target = dir.join("shipment");
    copy_tree(&example(), &target);
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(target.join("shipment.json")).unwrap()).unwrap();
    manifest["items"] = items;
    let path = target.join("shipment.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    path
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn example_items() -> Vec<Value> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(example().join("shipment.json")).unwrap()).unwrap();
    manifest["items"].as_array().unwrap().clone()
}

#[test]
fn a_malformed_item_a_missing_file_and_wrong_bytes_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let items = example_items();
    let mut chosen: Vec<Value> = items[..3].to_vec();
    // items[3]: malformed (quantity is not a number).
    let mut malformed = items[3].clone();
    malformed["quantity"] = Value::from("many");
    chosen.push(malformed);
    // items[4]: its artifact file is missing.
    let mut missing = items[4].clone();
    let name = missing["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    missing["artifacts"][&name] = Value::from("items/b4/no-such-file.bin");
    chosen.push(missing);
    // items[5]: the artifact's bytes are not the ones listed.
    let mut wrong = items[1].clone();
    let name = wrong["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    wrong["artifacts"][&name] = Value::from("items/c3/lumatek-c3pro-fw-2.8.0.bin");
    chosen.push(wrong);
    chosen.push(items[7].clone());
    let manifest = variant(dir.path(), Value::Array(chosen));
    let reports = dir.path().join("report");
    let output = gate(&manifest, &dir.path().join("data"), &reports);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = report_json(&reports);
    assert_eq!(
        report["totals"],
        serde_json::json!({"items": 7, "accepted": 4, "refused": 1, "unusable": 2})
    );
    let items = report["items"].as_array().unwrap();
    for accepted in [0, 1, 2, 6] {
        assert_eq!(
            items[accepted]["decision"], "accepted",
            "{}",
            items[accepted]
        );
    }
    assert_eq!(items[3]["decision"], "unusable");
    let error = items[3]["error"].as_str().unwrap();
    assert!(error.starts_with("items[3].quantity:"), "{error}");
    assert_eq!(items[4]["decision"], "unusable");
    let error = items[4]["error"].as_str().unwrap();
    assert!(
        error.contains("items[4].artifacts[") && error.contains("no-such-file.bin"),
        "{error}"
    );
    assert_eq!(items[5]["decision"], "refused");
    assert_eq!(failed(&items[5]), vec!["shipment.artifact_digest"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("unusable items[3]"), "{stdout}");

    // The item whose file is missing names its product: the ledger records
    // it as refused, unchecked, with the report saying why; never accepted.
    let data = dir.path().join("data");
    assert!(items[3]["product_id"].is_null(), "{}", items[3]);
    let product = items[4]["product_id"].as_str().unwrap();
    let entries = ledger_entries(&data, product);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["body"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["decision", "document", "document"], "{entries:?}");
    assert_eq!(entries[0]["body"]["verdict"], "deny");
    assert_eq!(entries[0]["body"]["evidence"], items[4]["evidence"]);
    assert!(
        entries
            .iter()
            .any(|e| e["body"]["document"] == "verification_report")
    );
    assert!(
        supply_chain(&data, product)["upstream"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_unusable_manifest_exits_2_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let manifest = variant(dir.path(), Value::Array(example_items()));
    let text = std::fs::read_to_string(&manifest).unwrap();
    for (from, to, says) in [
        ("cragate.shipment/v1", "cragate.shipment/v9", "format"),
        ("\"2026-11-30\"", "\"30.11.2026\"", "arrived_on"),
        (
            "\"id\": \"pacific-bridge-trading\"",
            "\"id\": \"\"",
            "supplier.id",
        ),
    ] {
        std::fs::write(&manifest, text.replacen(from, to, 1)).unwrap();
        let output = gate(&manifest, &data, &dir.path().join("report"));
        assert_eq!(output.status.code(), Some(2), "{from}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(says),
            "{from}: {}",
            stderr(&output)
        );
    }
    assert!(!data.join("ledger.redb").exists());
    let output = gate(
        &dir.path().join("none.json"),
        &data,
        &dir.path().join("report"),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("none.json"), "{}", stderr(&output));
}

#[test]
fn re_running_the_shipment_generator_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = python()
        .arg(testdata().join("shipments/generate.py"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let mut differences = Vec::new();
    compare(&example(), &dir.path().join(REFERENCE), &mut differences);
    compare(&dir.path().join(REFERENCE), &example(), &mut differences);
    assert!(differences.is_empty(), "{differences:?}");
}

fn compare(a: &Path, b: &Path, differences: &mut Vec<String>) {
    for entry in std::fs::read_dir(a).unwrap() {
        let entry = entry.unwrap();
        let other = b.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            compare(&entry.path(), &other, differences);
        } else if std::fs::read(entry.path()).ok() != std::fs::read(&other).ok() {
            differences.push(entry.path().display().to_string());
        }
    }
}

/// Headless Debian `chromium` with the flags it needs as root on a closed
/// network, and a fresh profile.
fn chromium(profile: &Path) -> Command {
    let mut command = Command::new("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// The text inside the element with `id` in a dumped DOM.
fn element_text<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let open = start + dom[start..].find('>').unwrap() + 1;
    let close = open + dom[open..].find('<').unwrap();
    &dom[open..close]
}

#[test]
fn the_html_report_renders_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = variant(dir.path(), Value::Array(example_items()));
    let mut shipment: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    shipment["supplier"]["name"] =
        Value::from("Pacific <script>document.title='owned'</script> Ltd.");
    shipment["documents"]["note"] = Value::from("<b>bold</b> & <img src=x onerror=alert(1)>");
    std::fs::write(&manifest, serde_json::to_vec_pretty(&shipment).unwrap()).unwrap();
    let reports = dir.path().join("report");
    let output = gate(&manifest, &dir.path().join("data"), &reports);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = report_json(&reports);
    let html = reports.join("report.html");
    let url = format!("file://{}", html.display());

    let dom = chromium(&dir.path().join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium must be installed (scripts/test installs it)");
    assert!(dom.status.success(), "{}", stderr(&dom));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    for (id, key) in [
        ("count-items", "items"),
        ("count-accepted", "accepted"),
        ("count-refused", "refused"),
        ("count-unusable", "unusable"),
    ] {
        assert_eq!(
            element_text(&dom, id),
            report["totals"][key].to_string(),
            "#{id}"
        );
    }
    // The manifest's markup is text on the page, never markup.
    assert!(!dom.contains("<script"), "a script element was rendered");
    assert!(!dom.contains("<img"), "an img element was rendered");
    assert!(
        element_text(&dom, "supplier")
            .contains("&lt;script&gt;document.title='owned'&lt;/script&gt;"),
        "{}",
        element_text(&dom, "supplier")
    );
    assert!(
        dom.contains("<title>Shipment SHP-2026-1187"),
        "the title was changed"
    );
    // A refused item's failed checks, with their articles.
    let refused = item_of(&report, "redwood-s3-sensor");
    let section = &dom[dom
        .find(&format!("id=\"item-{}\"", refused["index"]))
        .unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    for check in refused["checks"].as_array().unwrap() {
        if check["result"] == "fail" {
            let id = check["id"].as_str().unwrap();
            assert!(section.contains(id), "{id} is not on the page");
            assert!(
                section.contains(check["article"].as_str().unwrap()),
                "{id}'s article"
            );
        }
    }

    let png = dir.path().join("report.png");
    let shot = chromium(&dir.path().join("profile-png"))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1240,1754")
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot.status.success(), "{}", stderr(&shot));
    let png = std::fs::read(&png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "a PNG of {} bytes is blank", png.len());

    let pdf = dir.path().join("report.pdf");
    let print = chromium(&dir.path().join("profile-pdf"))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg("--no-pdf-header-footer")
        .arg(&url)
        .output()
        .unwrap();
    assert!(print.status.success(), "{}", stderr(&print));
    let pdf = std::fs::read(&pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf.len() > 10_000, "a PDF of {} bytes is empty", pdf.len());
}

/// Validates `document` against the vendored EPCIS 2.0 JSON Schema
/// (draft-07) with the `jsonschema` package; returns the errors.
fn epcis_errors(document: &Path) -> Vec<String> {
    let script = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
document = json.load(open(sys.argv[2]))
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
for error in validator.iter_errors(document):
    print("%s: %s" % ("/".join(str(p) for p in error.absolute_path), error.message))
"#;
    let output = python()
        .arg("-c")
        .arg(script)
        .arg(testdata().join("epcis/EPCISDocument.schema.json"))
        .arg(document)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the validator did not run: {}",
        stderr(&output)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_epcis_export_is_valid_epcis_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = gate(
        &example().join("shipment.json"),
        &data,
        &dir.path().join("report"),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let export = dir.path().join("epcis.json");
    let output = cragate()
        .args([
            "ledger",
            "export",
            "--format",
            "epcis",
            "--since",
            "2026-01-01T00:00:00Z",
            "--data-dir",
        ])
        .arg(&data)
        .arg("--output")
        .arg(&export)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let events = document["epcisBody"]["eventList"].as_array().unwrap();
    assert_eq!(events.len(), 15, "one receiving event per accepted item");
    let camera = events
        .iter()
        .find(|e| e["cragate:product"] == "lumatek-c3pro")
        .unwrap();
    assert_eq!(camera["bizStep"], "receiving");
    assert_eq!(
        camera["sourceList"][0]["source"],
        "urn:cragate:operator:pacific-bridge-trading"
    );
    assert_eq!(
        camera["bizTransactionList"][0]["bizTransaction"],
        "urn:cragate:shipment:SHP-2026-1187"
    );
    // GTIN and batch from the listing and the manifest, as a GS1 Digital Link.
    assert_eq!(
        camera["quantityList"][0],
        serde_json::json!({"epcClass": "https://id.gs1.org/01/06940000001017/10/2026W41", "quantity": 500})
    );
    let errors = epcis_errors(&export);
    assert!(errors.is_empty(), "{errors:#?}");

    // The validator catches a document that is not EPCIS.
    let mut broken = document.clone();
    broken["epcisBody"]["eventList"][0]
        .as_object_mut()
        .unwrap()
        .remove("eventTime");
    broken["epcisBody"]["eventList"][1]["eventTimeZoneOffset"] = Value::from("UTC");
    std::fs::write(&export, serde_json::to_vec(&broken).unwrap()).unwrap();
    assert_eq!(
        epcis_errors(&export).len(),
        2,
        "{:?}",
        epcis_errors(&export)
    );
}

#[test]
fn the_shipment_schema_accepts_the_example_and_refuses_a_broken_header() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    let text = std::fs::read_to_string(example().join("shipment.json")).unwrap();
    std::fs::write(&broken, text.replace("\"arrived_on\"", "\"arrived\"")).unwrap();
    let output = python()
        .arg(testdata().join("../scripts/validate-json-schema.py"))
        .arg(testdata().join("../verifier/schema"))
        .arg("shipment-v1.schema.json")
        .arg(example().join("shipment.json"))
        .arg(&broken)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let verdicts: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts[0]["verdict"], "valid", "{}", verdicts[0]);
    assert_eq!(verdicts[1]["verdict"], "invalid", "{}", verdicts[1]);
}

#[test]
fn publish_stores_accepted_items_stamped_and_nothing_refused() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    let output = cragate()
        .arg("gate")
        .arg(example().join("shipment.json"))
        .arg("--policy")
        .arg(importer_policy())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--at", AT])
        .arg(format!("--publish=dir:{}", catalog.display()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let listing: Value = serde_json::from_slice(
        &std::fs::read(catalog.join("listings/lumatek-c3pro.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        listing["operators"]["importer"]["name"], "Hafenblick Import GmbH",
        "the published listing carries the importer's details (Art. 19(4))"
    );
    let digest = listing["artifacts"][0]["digest"].as_str().unwrap();
    let stored = catalog
        .join("artifacts/sha256")
        .join(digest.trim_start_matches("sha256:"));
    assert!(stored.exists(), "{} was not published", stored.display());
    for refused in ["redwood-s3-sensor", "lumatek-c7-pan-tilt"] {
        assert!(
            !catalog.join(format!("listings/{refused}.json")).exists(),
            "{refused}"
        );
    }
    let published = std::fs::read_dir(catalog.join("listings")).unwrap().count();
    assert_eq!(published, 15);

    // A catalog that cannot be reached fails the gate before anything is
    // judged or recorded.
    let output = cragate()
        .arg("gate")
        .arg(example().join("shipment.json"))
        .arg("--data-dir")
        .arg(dir.path().join("data2"))
        .arg(format!("--publish=http://127.0.0.1:{}", closed_port()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot publish anything to the HTTP catalog"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("data2/ledger.redb").exists());
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    crate::serve_util::free_port()
}
