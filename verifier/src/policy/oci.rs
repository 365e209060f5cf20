//! `[[oci.repositories]]`: which repositories of an OCI registry may be
//! pulled, whose signatures they need and which attestations must be
//! present (a distributor's due care before making a product available,
//! CRA Art. 20(1) and (2)).
//!
//! ```toml
//! [[oci.repositories]]
//! name = "acme/*"                       # glob over repository names
//! manufacturer = "ACME Devices GmbH"    # a [[manufacturers]] entry
//! attestations = ["https://cragate.dev/doc/v1"]
//! push = true                           # optional: pushes through cragate, screened
//! ```
//!
//! In `name`, `*` stands for any run of characters within one path
//! component and `**` for any run across components; every other character
//! stands for itself. A repository no rule names is refused.

/// One `[[oci.repositories]]` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRepository {
    /// The glob over repository names, as written.
    pub name: String,
    /// The `[[manufacturers]]` entry whose signers must have signed.
    pub manufacturer: String,
    /// Predicate types that must be present and verify.
    pub attestations: Vec<String>,
    /// Whether images may be pushed to these repositories through
    /// cragate (default `false`): an image manifest pushed is judged as a
    /// pull would judge it, and reaches the registry only when allowed.
    pub push: bool,
}

impl OciRepository {
    /// Whether the rule names `repository`.
    pub fn matches(&self, repository: &str) -> bool {
        glob(self.name.as_bytes(), repository.as_bytes())
    }
}

impl super::Policy {
    /// The first `[[oci.repositories]]` rule naming `repository`.
    pub fn oci_repository(&self, repository: &str) -> Option<&OciRepository> {
        self.oci_repositories.iter().find(|r| r.matches(repository))
    }

    /// Every `[[oci.repositories]]` rule, in the policy's order.
    pub fn oci_repositories(&self) -> &[OciRepository] {
        &self.oci_repositories
    }
}

/// Glob matching without recursion blow-up: repository names are at most
/// 255 bytes (OCI distribution-spec), patterns are the policy's own.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => {
            let (across, rest) = match rest.split_first() {
                Some((b'*', after)) => (true, after),
                _ => (false, rest),
            };
            for split in 0..=name.len() {
                let (skipped, tail) = name.split_at(split);
                if !across && skipped.contains(&b'/') {
                    return false;
                }
                if glob(rest, tail) {
                    return true;
                }
            }
            false
        }
        Some((first, rest)) => match name.split_first() {
            Some((c, tail)) if c == first => glob(rest, tail),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> OciRepository {
        OciRepository {
            push: false,
            name: name.to_owned(),
            manufacturer: "ACME".to_owned(),
            attestations: Vec::new(),
        }
    }

    #[test]
    fn a_star_stays_within_one_path_component() {
        assert!(rule("acme/*").matches("acme/cam"));
        assert!(!rule("acme/*").matches("acme/cam/fw"));
        assert!(!rule("acme/*").matches("acmex/cam"));
        assert!(rule("acme/**").matches("acme/cam/fw"));
        assert!(rule("acme/cam-*").matches("acme/cam-x200"));
        assert!(!rule("acme/cam").matches("acme/cam2"));
    }
}
