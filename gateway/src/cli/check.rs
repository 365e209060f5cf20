//! `cragate check LISTING.json [--policy FILE] [--at RFC3339] [--format text|json]`:
//! evaluates a listing offline and prints the verdict.
//!
//! Exit 0 for allow or warn, 1 for deny, 2 when the listing or the policy
//! cannot be used (one line on stderr per problem).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cragate_verifier::evidence::Listing;
use cragate_verifier::limits::{
    MAX_LISTING_BYTES, MAX_NOTIFIED_BODY_LIST_BYTES, MAX_POLICY_BYTES, MAX_PUBLIC_KEY_BYTES,
    MAX_TRUSTED_ROOT_BYTES,
};
use cragate_verifier::policy::{Policy, PolicyDraft, PolicyError, PolicyErrors, ReferenceKind};
use cragate_verifier::verdict::{Decision, Outcome, Severity, Verdict};
use jiff::Timestamp;

use super::{EXIT_FAILED, EXIT_UNUSABLE, fail, read_limited};
use crate::policies;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The listing (`cragate.listing/v1` JSON).
    #[arg(value_name = "LISTING.json")]
    listing: PathBuf,

    /// Policy file (TOML); default: the shipped app-store policy built into
    /// this binary.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// Evaluation time (RFC 3339); default: now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<Timestamp>,

    /// Output: one line per failed check for people, or the verdict as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let policy = match load_policy(args.policy.as_deref()) {
        Ok(policy) => policy,
        Err(errors) => {
            for error in &errors.errors {
                eprintln!("cragate: {error}");
            }
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let listing = match read_limited(&args.listing, MAX_LISTING_BYTES, "listing") {
        Ok(bytes) => match Listing::from_json(&bytes) {
            Ok(listing) => listing,
            Err(error) => {
                return fail(
                    EXIT_UNUSABLE,
                    format!("{}: {error}", args.listing.display()),
                );
            }
        },
        Err(error) => return fail(EXIT_UNUSABLE, format!("{error:#}")),
    };
    let at = args.at.unwrap_or_else(Timestamp::now);
    let verdict = policy.evaluate(&listing, at);
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&verdict) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_UNUSABLE, format!("cannot write the verdict: {error}")),
        },
        Format::Text => print!("{}", text(&verdict)),
    }
    match verdict.decision() {
        Decision::Deny => ExitCode::from(EXIT_FAILED),
        _ => ExitCode::SUCCESS,
    }
}

/// The verdict for people: a header, one line per failed check, a count.
fn text(verdict: &Verdict) -> String {
    let decision = match verdict.decision() {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
        _ => "warn",
    };
    let listing = verdict.listing();
    let policy = verdict.policy();
    let mut out = format!(
        "{decision}: {} {} (policy {} {}, at {})\n",
        listing.product_id,
        listing.version,
        policy.name,
        policy.digest,
        verdict.evaluated_at()
    );
    for check in verdict.failed() {
        let level = match check.severity {
            Severity::Required => "FAIL",
            _ => "WARN",
        };
        out.push_str(&format!(
            "  {level} {} [{}]: {}\n",
            check.id, check.article, check.detail
        ));
    }
    let count = |outcome| {
        verdict
            .checks()
            .iter()
            .filter(|c| c.result == outcome)
            .count()
    };
    out.push_str(&format!(
        "{} passed, {} failed, {} not applicable\n",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::NotApplicable)
    ));
    out
}

/// Reads the policy and every file it references (relative to the policy's
/// folder), or the built-in app-store policy, and compiles it.
fn load_policy(path: Option<&Path>) -> Result<Policy, PolicyErrors> {
    let (name, bytes, folder) = match path {
        None => (
            policies::APP_STORE_NAME.to_owned(),
            policies::APP_STORE.to_vec(),
            None,
        ),
        Some(path) => {
            let name = path.display().to_string();
            let bytes =
                read_limited(path, MAX_POLICY_BYTES, "policy").map_err(|e| whole(&name, e))?;
            (
                name,
                bytes,
                Some(path.parent().unwrap_or(Path::new(".")).to_path_buf()),
            )
        }
    };
    let draft = PolicyDraft::parse(&name, &bytes)?;
    let mut files = BTreeMap::new();
    let mut errors = Vec::new();
    for reference in draft.references() {
        let limit = match reference.kind {
            ReferenceKind::NotifiedBodies => MAX_NOTIFIED_BODY_LIST_BYTES,
            ReferenceKind::SigstoreRoot => MAX_TRUSTED_ROOT_BYTES,
            _ => MAX_PUBLIC_KEY_BYTES,
        };
        let loaded = match &folder {
            Some(folder) => read_limited(&folder.join(&reference.path), limit, "referenced file")
                .map_err(|e| format!("{e:#}")),
            None => policies::embedded(&reference.path)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| format!("{} is not built in", reference.path)),
        };
        match loaded {
            Ok(bytes) => {
                files.insert(reference.path.clone(), bytes);
            }
            Err(message) => errors.push(PolicyError {
                file: name.clone(),
                line: reference.line,
                column: reference.column,
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(PolicyErrors::new(errors));
    }
    draft.compile(&files)
}

fn whole(name: &str, error: anyhow::Error) -> PolicyErrors {
    PolicyErrors::new(vec![PolicyError {
        file: name.to_owned(),
        line: 0,
        column: 0,
        message: format!("{error:#}"),
    }])
}
