//! `cragate check LISTING.json [--policy FILE] [--at RFC3339] [--format text|json]`:
//! evaluates a listing offline and prints the verdict.
//!
//! Exit 0 for allow or warn, 1 for deny, 2 when the listing or the policy
//! cannot be used (one line on stderr per problem).

use std::path::PathBuf;
use std::process::ExitCode;

use cragate_verifier::limits::MAX_LISTING_BYTES;
use cragate_verifier::verdict::{Outcome, Severity, Verdict};
use jiff::Timestamp;

use super::{EXIT_FAILED, EXIT_UNUSABLE, fail};
use crate::config::policies;
use crate::http::files::read_file_limited;

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
    let policy = match policies::load(args.policy.as_deref()) {
        Ok(policy) => policy,
        Err(errors) => {
            for error in &errors.errors {
                eprintln!("cragate: {error}");
            }
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let bytes = match read_file_limited(&args.listing, MAX_LISTING_BYTES, "listing") {
        Ok(bytes) => bytes,
        Err(error) => return fail(EXIT_UNUSABLE, format!("{error:#}")),
    };
    let at = args.at.unwrap_or_else(Timestamp::now);
    let verdict = match policies::evaluate(&policy, &bytes, at) {
        Ok((_, verdict)) => verdict,
        Err(error) => {
            return fail(
                EXIT_UNUSABLE,
                format!("{}: {error}", args.listing.display()),
            );
        }
    };
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&verdict) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_UNUSABLE, format!("cannot write the verdict: {error}")),
        },
        Format::Text => print!("{}", text(&verdict)),
    }
    match verdict.decision().accepts() {
        false => ExitCode::from(EXIT_FAILED),
        true => ExitCode::SUCCESS,
    }
}

/// The verdict for people: a header, whether the CRA applies to the unit
/// (Art. 69, 71), one line per failed check, a count.
fn text(verdict: &Verdict) -> String {
    let decision = verdict.decision().as_str();
    let listing = verdict.listing();
    let policy = verdict.policy();
    let mut out = format!(
        "{decision}: {} {} (policy {} {}, at {})\n  {}\n",
        listing.product_id,
        listing.version,
        policy.name,
        policy.digest,
        verdict.evaluated_at(),
        verdict.applicability().detail
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
