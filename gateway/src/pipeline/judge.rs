//! The one function that judges a listing, for submissions, listing reads
//! and the entries of catalog pages alike, and the value only it builds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use cragate_verifier::evidence::{Artifact, Listing};
use cragate_verifier::verdict::Verdict;
use jiff::Timestamp;

use super::Gateway;
use super::cache::{Judged, VerdictKey};
use super::evidence::listing_at;
use super::halt::check_listing;
use super::index::Owner;
use super::record::{DecisionRecord, SupplyLink};
use crate::config::policies;
use crate::http::error::{ErrorKind, ErrorSource, Excerpt, GatewayError, IdProblem};
use crate::ledger::ProductId;
use crate::ledger::entry::MAX_IDENTIFIER_BYTES;

/// What a route hands to [`judge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A submission: evaluated now, whatever the cache holds, and recorded;
    /// an accepted one's supply is recorded once it is stored ([`stored`]).
    Submission,
    /// A listing read from the upstream (a listing read, an entry of a
    /// catalog page): through the verdict cache; a verdict computed now is
    /// recorded.
    Read,
}

/// A listing to judge, in the document it came in.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The document holding the listing: a request body, or the upstream's
    /// answer.
    pub document: Bytes,
    /// Where the listing sits in it (RFC 6901); empty: the whole document.
    pub pointer: &'a str,
    /// Whose document it is: the errors in it are theirs.
    pub from: ErrorSource,
    /// The `{id}` of the request's path, which must be the listing's
    /// `product.id`.
    pub bound_id: Option<&'a str>,
    /// What the route does with it.
    pub purpose: Purpose,
    /// Who asked.
    pub peer: Option<SocketAddr>,
}

/// A listing the policy accepts now, judged and recorded by [`judge`], the
/// only function that builds one (its fields are private to this module).
/// Routes store, forward or serve only what they hold as an `Accepted`,
/// and its document holds exactly the listing bytes that were judged.
#[derive(Debug)]
pub struct Accepted {
    document: Bytes,
    listing: Bytes,
    judged: Judged,
    supply: Option<SupplyLink>,
}

impl Accepted {
    /// The verdict (allow or warn).
    pub fn verdict(&self) -> &Arc<Verdict> {
        &self.judged.verdict
    }

    /// `product.id`.
    pub fn product_id(&self) -> &cragate_verifier::evidence::ProductId {
        &self.judged.verdict.listing().product_id
    }

    /// The product as the accepted index remembers it for its artifacts.
    pub fn owner(&self) -> Owner {
        let listing = self.judged.verdict.listing();
        Owner {
            product: listing.product_id.clone(),
            version: listing.version.clone(),
        }
    }

    /// The artifacts the listing declares.
    pub fn artifacts(&self) -> &[Artifact] {
        &self.judged.artifacts
    }

    /// The listing's bytes as judged.
    pub fn listing(&self) -> &Bytes {
        &self.listing
    }

    /// The whole document the listing came in, which holds
    /// [`Self::listing`] at the route's pointer.
    pub fn document(&self) -> &Bytes {
        &self.document
    }
}

/// Judges a listing, running the phases in order:
///
/// 1. **evidence** ([`listing_at`]): the listing's own bytes in the
///    document, a JSON object;
/// 2. **verifier** and **policy** ([`evaluate`]): parsed into checked types
///    and evaluated under the policy now, on a blocking thread (reads
///    through the verdict cache first);
/// 3. **validation**: `product.id` is one the ledger can record and the
///    upstream can store, and the one the path names, so that nothing is
///    recorded for a listing that is then refused;
/// 4. **halt state** ([`check_listing`]): a product in the scope of a
///    notice in force is refused with `451` here, after the verdict cache
///    and before the decision is recorded (CRA Art. 19(3), 20(3));
/// 5. **decision sink**: a verdict computed now is recorded before any
///    answer (and only then cached), then counted ([`decide`]); a denial
///    ends here as [`ErrorKind::Rejected`].
pub async fn judge(gateway: &Gateway, candidate: Candidate<'_>) -> Result<Accepted, GatewayError> {
    let Candidate {
        document,
        pointer,
        from,
        bound_id,
        purpose,
        peer,
    } = candidate;
    let limit = gateway.config.limits.max_listing_bytes;
    let listing = listing_at(&document, pointer, limit, from)?;
    let (judged, parsed, key) = verdict(gateway, &listing, from, purpose).await?;
    let verdict = &judged.verdict;
    validate_id(
        gateway,
        verdict.listing().product_id.as_str(),
        bound_id,
        from,
    )?;
    check_listing(gateway, verdict.listing(), &judged.artifacts)?;
    let supply = match (&parsed, purpose) {
        (Some(parsed), Purpose::Submission) if verdict.decision().accepts() => {
            SupplyLink::of(parsed, verdict).map_err(|kind| GatewayError::new(kind, from))?
        }
        _ => None,
    };
    if let Some(parsed) = &parsed {
        let record = DecisionRecord {
            verdict,
            listing: parsed,
            listing_bytes: &listing,
            peer,
        };
        gateway.decisions.record(record).await?;
        // Cached only once recorded: a verdict from the cache is one the
        // ledger holds.
        if purpose == Purpose::Read {
            gateway.cache.put(key, judged.clone());
        }
    }
    decide(gateway, verdict)?;
    Ok(Accepted {
        document,
        listing,
        judged,
        supply,
    })
}

/// Verifier and policy phases for `purpose`: a read's verdict from the
/// cache when it holds one (the listing then comes back unparsed), else
/// the listing parsed and evaluated now; with the cache key.
async fn verdict(
    gateway: &Gateway,
    listing: &Bytes,
    from: ErrorSource,
    purpose: Purpose,
) -> Result<(Judged, Option<Listing>, VerdictKey), GatewayError> {
    let key = VerdictKey::new(
        gateway.digests.digest(listing),
        gateway.policy.digest(),
        Timestamp::now(),
    );
    if purpose == Purpose::Read {
        let cached = gateway.cache.get(&key);
        gateway.metrics.cache(cached.is_some());
        if let Some(judged) = cached {
            return Ok((judged, None, key));
        }
    }
    let (parsed, verdict) = evaluate(gateway, listing.clone(), from).await?;
    let judged = Judged {
        verdict,
        artifacts: parsed.artifacts().into(),
    };
    Ok((judged, Some(parsed), key))
}

/// After an accepted submission is stored: records the inbound supply
/// from the listing's supplier (CRA Art. 23(1)), now that it happened.
pub async fn stored(gateway: &Gateway, accepted: &Accepted) -> Result<(), GatewayError> {
    match &accepted.supply {
        Some(link) => gateway.decisions.supplied(link).await,
        None => Ok(()),
    }
}

/// Verifier and policy phases: parses the listing and evaluates it under
/// the policy now, on a blocking thread. A listing that cannot be parsed
/// is `from`'s error.
pub async fn evaluate(
    gateway: &Gateway,
    listing: Bytes,
    from: ErrorSource,
) -> Result<(Listing, Arc<Verdict>), GatewayError> {
    let policy = Arc::clone(&gateway.policy);
    let started = Instant::now();
    let evaluated = tokio::task::spawn_blocking(move || {
        policies::evaluate(&policy, &listing, Timestamp::now())
    })
    .await
    .map_err(|e| {
        GatewayError::gateway(ErrorKind::Internal(format!("evaluation task failed: {e}")))
    })?;
    gateway.metrics.verification(started.elapsed());
    let (listing, verdict) =
        evaluated.map_err(|e| GatewayError::new(ErrorKind::MalformedListing(e), from))?;
    Ok((listing, Arc::new(verdict)))
}

/// Decision phase, once a verdict computed now is recorded (one from the
/// cache was recorded when it was computed): counts the verdict and turns
/// a denial into the error that answers it. A denial answers the client's
/// request (`422`), whoever stored the listing.
pub fn decide(gateway: &Gateway, verdict: &Arc<Verdict>) -> Result<(), GatewayError> {
    gateway.metrics.decision(verdict);
    if verdict.decision().accepts() {
        return Ok(());
    }
    Err(GatewayError::client(ErrorKind::Rejected(Box::new(
        (**verdict).clone(),
    ))))
}

/// Validation before the decision: a `product.id` the ledger can record,
/// the upstream can store, and the path names. An unusable id is the
/// error of whoever sent the listing, shown cut short ([`Excerpt`]); it is
/// never a failure of the ledger.
fn validate_id(
    gateway: &Gateway,
    id: &str,
    bound: Option<&str>,
    from: ErrorSource,
) -> Result<(), GatewayError> {
    let refuse = |problem| {
        GatewayError::new(
            ErrorKind::ProductId {
                id: Excerpt::new(id),
                problem,
            },
            from,
        )
    };
    if id.parse::<ProductId>().is_err() {
        return Err(refuse(IdProblem::Unrecordable {
            max: MAX_IDENTIFIER_BYTES,
        }));
    }
    gateway.upstream.check_id(id).map_err(refuse)?;
    match bound {
        Some(path) if path != id => Err(GatewayError::new(
            ErrorKind::IdMismatch {
                path: Excerpt::new(path),
                listing: Excerpt::new(id),
            },
            from,
        )),
        _ => Ok(()),
    }
}
