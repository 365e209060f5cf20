//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `cragate` binary under test.
pub fn cragate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cragate"))
}

/// The project's `testdata/` folder.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// Stderr as text, for assertion messages.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `cragate ledger verify-export FILE [--key KEY]`.
pub fn verify_export(file: &Path, key: Option<&str>) -> Output {
    let mut command = cragate();
    command.args(["ledger", "verify-export"]).arg(file);
    if let Some(key) = key {
        command.args(["--key", key]);
    }
    command.output().unwrap()
}

/// Python from the project's virtual environment (set up by scripts/test,
/// with the tools the tests need) when there is one, or the system Python.
pub fn python() -> Command {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    Command::new(if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    })
}

/// `scripts/verify-ledger-export.py FILE --key KEY`, the independent
/// verifier.
pub fn python_verify_export(file: &Path, key: &str) -> Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    python()
        .arg(root.join("scripts/verify-ledger-export.py"))
        .arg(file)
        .args(["--key", key])
        .output()
        .unwrap()
}
