//! The README's `cargo run -q -- ...` examples print what the README says
//! they print, so the documentation cannot drift from the binary.

use std::path::PathBuf;

use crate::util::cragate;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (arguments, expected stdout) for every `$ cargo run -q -- ` example.
fn examples(readme: &str) -> Vec<(Vec<String>, String)> {
    let mut examples = Vec::new();
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix("$ cargo run -q -- ") else {
            continue;
        };
        let mut command = first.to_owned();
        while command.ends_with('\\') {
            command.pop();
            command.push(' ');
            command.push_str(lines.next().unwrap_or_default().trim());
        }
        let mut output = String::new();
        while let Some(next) = lines.peek() {
            if next.starts_with("$ ") || next.starts_with("```") {
                break;
            }
            if !next.is_empty() {
                output.push_str(next);
                output.push('\n');
            }
            lines.next();
        }
        examples.push((
            command.split_whitespace().map(str::to_owned).collect(),
            output,
        ));
    }
    examples
}

#[test]
fn readme_examples_print_what_the_readme_shows() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(
        examples.len() >= 3,
        "found only {} examples",
        examples.len()
    );
    for (args, expected) in examples {
        let output = cragate()
            .args(&args)
            .current_dir(repository())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let actual: String = stdout
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            actual,
            expected,
            "README example `{}` drifted",
            args.join(" ")
        );
    }
}
