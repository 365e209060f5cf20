//! The budget on listing bytes held in memory at once, across all
//! connections and worker threads: each request holds a [`Reservation`]
//! for the listing bytes it has declared or read (a submission's body, a
//! listing or catalog page read from the upstream) until it has answered.
//! A request that would take the total over the budget is refused at once
//! with `503` and `Retry-After`, before it reads another byte; it never
//! waits, so a flood of large listings cannot queue up memory either.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::{ErrorKind, GatewayError};

/// When a refused client should try again: the budget frees as the
/// listings in flight are judged, which takes milliseconds to seconds.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct ByteBudget {
    permits: Arc<Semaphore>,
    limit: u64,
}

/// Bytes one request holds of a [`ByteBudget`]; they are given back when
/// it is dropped.
#[derive(Debug)]
pub struct Reservation {
    permits: Arc<Semaphore>,
    limit: u64,
    held: Option<OwnedSemaphorePermit>,
    bytes: u64,
}

impl ByteBudget {
    /// A budget of `limit` bytes (at most what a semaphore can count).
    pub fn new(limit: u64) -> Self {
        let permits = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            limit,
        }
    }

    /// The budget in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes free now.
    pub fn available(&self) -> u64 {
        self.permits.available_permits() as u64
    }

    /// A reservation of no bytes yet.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            permits: Arc::clone(&self.permits),
            limit: self.limit,
            held: None,
            bytes: 0,
        }
    }
}

impl Reservation {
    /// Holds at least `total` bytes: takes what is missing from the budget,
    /// or fails with [`ErrorKind::Busy`] (the gateway's) when the budget
    /// cannot give it now.
    pub fn hold(&mut self, total: u64) -> Result<(), GatewayError> {
        let Some(missing) = total.checked_sub(self.bytes).filter(|m| *m > 0) else {
            return Ok(());
        };
        let busy = || {
            GatewayError::gateway(ErrorKind::Busy {
                limit: self.limit,
                retry_after: RETRY_AFTER,
            })
        };
        let count = u32::try_from(missing).map_err(|_| busy())?;
        let permit = Arc::clone(&self.permits)
            .try_acquire_many_owned(count)
            .map_err(|_| busy())?;
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.bytes = total;
        Ok(())
    }

    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_give_it_back_when_dropped() {
        let budget = ByteBudget::new(100);
        let mut first = budget.reservation();
        first.hold(60).unwrap();
        first.hold(50).unwrap();
        assert_eq!(first.bytes(), 60);
        let mut second = budget.reservation();
        let busy = second.hold(50).unwrap_err();
        assert!(matches!(busy.kind(), ErrorKind::Busy { limit: 100, .. }));
        second.hold(40).unwrap();
        assert_eq!(budget.available(), 0);
        drop(first);
        assert_eq!(budget.available(), 60);
        second.hold(100).unwrap();
        assert!(budget.reservation().hold(1).is_err());
    }
}
