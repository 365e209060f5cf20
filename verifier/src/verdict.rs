//! Verdicts: every check listed with its article, outcome and a sentence a
//! person can act on, and the decision the policy draws from them.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::applicability::Applicability;
use crate::catalog::CheckId;
use crate::digest::Digest;
use crate::evidence::ProductId;

/// The format id written into every verdict.
pub const VERDICT_FORMAT: &str = "cragate.verdict/v1";

/// What one check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The evidence satisfies the check.
    Pass,
    /// The evidence does not satisfy it, or the check could not run.
    Fail,
    /// The check does not apply to this product or policy.
    NotApplicable,
}

/// How much a failed check weighs under the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// A failure denies the listing (in enforce mode).
    Required,
    /// A failure is reported but does not deny.
    Warn,
}

/// Whether the policy denies listings or only reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mode {
    /// Failed required checks deny.
    Enforce,
    /// Nothing is denied; failures turn the decision into `warn`.
    Audit,
}

/// The outcome of an evaluation. Its names (`allow`, `deny`, `warn`) are
/// also how the ledger records a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Every required check passed or did not apply, and no warning was raised.
    Allow,
    /// A required check failed in enforce mode.
    Deny,
    /// Something failed but the policy lets the listing through: a check set
    /// to warn, or any check in audit mode.
    Warn,
}

impl Decision {
    /// Whether the listing may be made available: `allow` and `warn` let it
    /// through, `deny` does not.
    pub fn accepts(self) -> bool {
        match self {
            Self::Allow | Self::Warn => true,
            Self::Deny => false,
        }
    }

    /// The decision's name: `allow`, `deny` or `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::Warn => "warn",
        }
    }
}

/// One check's result in a verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Stable check id.
    #[serde(serialize_with = "serialize_check_id")]
    pub id: CheckId,
    /// The provision it serves; for some checks more precise than
    /// [`CheckId::article`] (e.g. `Art. 32(3)` for a class II product).
    pub article: &'static str,
    /// Pass, fail or not applicable.
    pub result: Outcome,
    /// Required or warn under the policy.
    pub severity: Severity,
    /// The date the duty it checks applies from (Art. 71(2)); `None` for
    /// the policy's own rules, which are no duty of the Regulation.
    pub applies_from: Option<Date>,
    /// A sentence a person can act on.
    pub detail: String,
}

/// What the policy was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    /// The policy's name.
    pub name: String,
    /// SHA-256 over the policy file and every file it references.
    pub digest: Digest,
}

/// What was evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListingRef {
    /// `product.id` of the listing.
    pub product_id: ProductId,
    /// `product.version` of the listing.
    pub version: String,
    /// SHA-256 of the listing bytes as received.
    pub digest: Digest,
}

/// The verdict on one listing. Only [`crate::policy::Policy::evaluate`] builds one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    format: &'static str,
    decision: Decision,
    mode: Mode,
    evaluated_at: Timestamp,
    policy: PolicyRef,
    listing: ListingRef,
    applicability: Applicability,
    checks: Vec<CheckResult>,
}

impl Verdict {
    pub(crate) fn new(
        mode: Mode,
        evaluated_at: Timestamp,
        policy: PolicyRef,
        listing: ListingRef,
        applicability: Applicability,
        checks: Vec<CheckResult>,
    ) -> Self {
        let failed = |severity| {
            checks
                .iter()
                .any(|c| c.result == Outcome::Fail && c.severity == severity)
        };
        let decision = match (mode, failed(Severity::Required), failed(Severity::Warn)) {
            (Mode::Enforce, true, _) => Decision::Deny,
            (_, true, _) | (_, false, true) => Decision::Warn,
            (_, false, false) => Decision::Allow,
        };
        Self {
            format: VERDICT_FORMAT,
            decision,
            mode,
            evaluated_at,
            policy,
            listing,
            applicability,
            checks,
        }
    }

    /// Allow, deny or warn.
    pub fn decision(&self) -> Decision {
        self.decision
    }
    /// Enforce or audit.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The evaluation time the caller passed.
    pub fn evaluated_at(&self) -> Timestamp {
        self.evaluated_at
    }
    /// The policy the verdict was computed under.
    pub fn policy(&self) -> &PolicyRef {
        &self.policy
    }
    /// The listing it judges.
    pub fn listing(&self) -> &ListingRef {
        &self.listing
    }
    /// Whether the Regulation applies to the unit, and how the policy
    /// judged the duties not in force (Art. 69, 71).
    pub fn applicability(&self) -> &Applicability {
        &self.applicability
    }
    /// Every check, in catalogue order.
    pub fn checks(&self) -> &[CheckResult] {
        &self.checks
    }
    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.result == Outcome::Fail)
    }
}

/// A check's finding before the policy weighs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub id: CheckId,
    pub article: &'static str,
    pub result: Outcome,
    pub detail: String,
}

impl Finding {
    pub fn pass(id: CheckId, detail: impl Into<String>) -> Self {
        Self::new(id, Outcome::Pass, detail)
    }
    pub fn fail(id: CheckId, detail: impl Into<String>) -> Self {
        Self::new(id, Outcome::Fail, detail)
    }
    pub fn not_applicable(id: CheckId, detail: impl Into<String>) -> Self {
        Self::new(id, Outcome::NotApplicable, detail)
    }
    /// Passes when `problems` is empty, otherwise fails listing them.
    pub fn from_problems(id: CheckId, problems: &[String], ok: impl Into<String>) -> Self {
        if problems.is_empty() {
            Self::pass(id, ok)
        } else {
            Self::fail(id, problems.join("; "))
        }
    }
    pub fn with_article(mut self, article: &'static str) -> Self {
        self.article = article;
        self
    }
    fn new(id: CheckId, result: Outcome, detail: impl Into<String>) -> Self {
        Self {
            id,
            article: id.article(),
            result,
            detail: detail.into(),
        }
    }
}

fn serialize_check_id<S: serde::Serializer>(id: &CheckId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(result: Outcome, severity: Severity) -> CheckResult {
        CheckResult {
            id: CheckId::CeAffixed,
            article: "Art. 30(3)",
            result,
            severity,
            applies_from: None,
            detail: String::new(),
        }
    }

    fn decide(mode: Mode, checks: Vec<CheckResult>) -> Decision {
        let policy = PolicyRef {
            name: "p".into(),
            digest: Digest::of(b"p"),
        };
        let listing = ListingRef {
            product_id: "x".parse().unwrap(),
            version: "1".into(),
            digest: Digest::of(b"l"),
        };
        let applicability = Applicability {
            cra_applies: true,
            enforce: crate::applicability::Enforce::Readiness,
            detail: String::new(),
        };
        Verdict::new(
            mode,
            Timestamp::UNIX_EPOCH,
            policy,
            listing,
            applicability,
            checks,
        )
        .decision()
    }

    #[test]
    fn required_failures_deny_only_in_enforce_mode() {
        let failing = || vec![result(Outcome::Fail, Severity::Required)];
        assert_eq!(decide(Mode::Enforce, failing()), Decision::Deny);
        assert_eq!(decide(Mode::Audit, failing()), Decision::Warn);
    }

    #[test]
    fn warn_failures_warn_and_clean_runs_allow() {
        let warn = vec![
            result(Outcome::Fail, Severity::Warn),
            result(Outcome::Pass, Severity::Required),
        ];
        assert_eq!(decide(Mode::Enforce, warn), Decision::Warn);
        let clean = vec![result(Outcome::NotApplicable, Severity::Required)];
        assert_eq!(decide(Mode::Enforce, clean), Decision::Allow);
        assert!(Decision::Allow.accepts() && Decision::Warn.accepts());
        assert!(!Decision::Deny.accepts());
    }
}
