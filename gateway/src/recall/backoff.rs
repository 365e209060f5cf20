//! When to try a failed delivery again: exponential backoff with jitter,
//! and the receiver's `Retry-After` (RFC 9110, section 10.2.3) honoured.

use std::time::Duration;

use jiff::Timestamp;

/// Wait after the first failure.
pub const BASE: Duration = Duration::from_millis(500);
/// Longest wait between attempts: a halt must keep being offered, but a
/// customer that is down for a day should not be hammered.
pub const CAP: Duration = Duration::from_secs(10 * 60);
/// Longest `Retry-After` honoured; a larger one is cut to this, so that a
/// misconfigured receiver cannot park a halt for weeks.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// The wait after `attempts` failed attempts (1 for the first failure):
/// `BASE * 2^(attempts-1)`, capped at [`CAP`], of which a random part of
/// up to half is taken off ("equal jitter"), so that many deliveries that
/// failed together do not retry together. `random` is a uniform `u32`.
pub fn delay(attempts: u32, random: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let full = BASE.saturating_mul(1u32 << exponent).min(CAP);
    let half = full / 2;
    let jitter = half.mul_f64(f64::from(random) / f64::from(u32::MAX));
    full.saturating_sub(jitter)
}

/// The next attempt's time: the backoff, or the `Retry-After` when it is
/// later (up to [`MAX_RETRY_AFTER`]).
pub fn next_attempt(
    now: Timestamp,
    attempts: u32,
    random: u32,
    retry_after: Option<Duration>,
) -> Timestamp {
    let backoff = delay(attempts, random);
    let wait = retry_after.map_or(backoff, |r| r.min(MAX_RETRY_AFTER).max(backoff));
    let span = jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::MAX);
    now.checked_add(span).unwrap_or(Timestamp::MAX)
}

/// Reads a `Retry-After` value: delay-seconds, or an HTTP date (IMF-fixdate,
/// RFC 9110 section 5.6.7) turned into the wait from `now`. `None` when it
/// is neither.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = date.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// A random `u32` for the jitter, from the system's generator; `u32::MAX / 2`
/// if it fails (the backoff still grows, only without jitter).
pub fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    match aws_lc_rs::rand::fill(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes),
        Err(_) => u32::MAX / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap_with_at_most_half_taken_off() {
        assert_eq!(delay(1, 0), BASE);
        assert_eq!(delay(2, 0), BASE * 2);
        assert_eq!(delay(3, 0), BASE * 4);
        assert_eq!(delay(1, u32::MAX), BASE / 2);
        assert_eq!(delay(40, 0), CAP);
        assert_eq!(delay(u32::MAX, 0), CAP);
        let mid = delay(4, u32::MAX / 2);
        assert!(mid > BASE * 8 / 2 && mid < BASE * 8, "{mid:?}");
    }

    #[test]
    fn retry_after_is_honoured_when_later_and_bounded() {
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let at = next_attempt(now, 1, 0, Some(Duration::from_secs(30)));
        assert_eq!(at, "2026-12-01T10:00:30Z".parse().unwrap());
        let at = next_attempt(now, 1, 0, Some(Duration::ZERO));
        assert_eq!(at, "2026-12-01T10:00:00.5Z".parse().unwrap());
        let at = next_attempt(now, 1, 0, Some(Duration::from_secs(86_400 * 30)));
        assert_eq!(at, "2026-12-01T11:00:00Z".parse().unwrap());
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 10:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
