//! The sigstore-conformance bundle-verification suite, run through the real
//! `cragate verify-bundle` as the upstream harness does: every case twice,
//! once with the artifact's path and once with its `sha256:` digest. The
//! rules are restated in `testdata/sigstore-conformance/INDEX.md`.
//!
//! Set `CRAGATE_CONFORMANCE_EXTRA` to another `bundle-verify` folder (for
//! example a newer upstream checkout) to run its cases too.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{cragate, stderr, testdata};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

#[test]
fn conformance_suite_passes_with_paths_and_digests() {
    let suite = testdata().join("sigstore-conformance");
    let production_root = suite.join("extra/production_trusted_root.json");
    let mut folders = vec![suite.join("bundle-verify")];
    if let Some(extra) = std::env::var_os("CRAGATE_CONFORMANCE_EXTRA") {
        folders.push(PathBuf::from(extra));
    }
    let mut runs = 0;
    let mut wrong = Vec::new();
    for folder in &folders {
        let default_artifact = suite.join("bundle-verify/a.txt");
        for case in cases(folder) {
            for result in run_case(&case, &default_artifact, &production_root) {
                runs += 1;
                if let Err(message) = result {
                    wrong.push(message);
                }
            }
        }
    }
    assert!(
        runs >= 98,
        "expected at least 98 runs (49 cases x 2), found {runs}"
    );
    assert!(
        wrong.is_empty(),
        "{} of {runs} runs wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn cases(folder: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("bundle.sigstore.json").is_file())
        .collect();
    cases.sort();
    cases
}

fn run_case(
    case: &Path,
    default_artifact: &Path,
    production_root: &Path,
) -> Vec<Result<(), String>> {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let must_fail = name.ends_with("_fail");
    let artifact = Some(case.join("artifact"))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| default_artifact.to_path_buf());
    let digest = format!(
        "sha256:{}",
        cragate_verifier::Digest::of(&fs::read(&artifact).unwrap()).hex()
    );
    let trusted_root = Some(case.join("trusted_root.json"))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| production_root.to_path_buf());

    let mut command_args: Vec<String> = vec![
        "verify-bundle".into(),
        "--bundle".into(),
        case.join("bundle.sigstore.json").display().to_string(),
        "--trusted-root".into(),
        trusted_root.display().to_string(),
    ];
    if case.join("key.pub").is_file() {
        command_args.extend(["--key".into(), case.join("key.pub").display().to_string()]);
    } else {
        let identity =
            read_optional(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into());
        let issuer = read_optional(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into());
        command_args.extend([
            "--certificate-identity".into(),
            identity,
            "--certificate-oidc-issuer".into(),
            issuer,
        ]);
    }

    [("PATH", artifact.display().to_string()), ("DIGEST", digest)]
        .into_iter()
        .map(|(mode, input)| {
            let output = cragate().args(&command_args).arg(&input).output().unwrap();
            let verified = output.status.success();
            let error = stderr(&output);
            if !verified && error.trim().lines().count() != 1 {
                return Err(format!("{mode}-{name}: stderr is not one line: {error:?}"));
            }
            match (must_fail, verified) {
                (false, true) | (true, false) => Ok(()),
                (false, false) => Err(format!(
                    "{mode}-{name}: should verify, failed: {}",
                    error.trim()
                )),
                (true, true) => Err(format!("{mode}-{name}: should fail, verified")),
            }
        })
        .collect()
}

fn read_optional(path: &Path) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_owned())
}
