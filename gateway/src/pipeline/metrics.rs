//! Metrics in the Prometheus text exposition format (version 0.0.4):
//! requests by route and status, decisions by result, failed checks by id,
//! a verification latency histogram and verdict cache hits and misses.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cragate_verifier::verdict::Verdict;

/// Upper bounds of the latency histogram, in seconds: a content-only
/// evaluation takes tens of microseconds, a signature check about a
/// millisecond, a large SBOM tens of milliseconds.
const BUCKETS: [f64; 10] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 1.0,
];

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    decisions: Mutex<BTreeMap<&'static str, u64>>,
    failed_checks: Mutex<BTreeMap<&'static str, u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl Metrics {
    /// Counts a request by route and response status.
    pub fn request(&self, route: &'static str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((route, status)).or_default() += 1;
        }
    }

    /// Counts a decision and its failed checks.
    pub fn decision(&self, verdict: &Verdict) {
        let name = verdict.decision().as_str();
        if let Ok(mut map) = self.decisions.lock() {
            *map.entry(name).or_default() += 1;
        }
        if let Ok(mut map) = self.failed_checks.lock() {
            for check in verdict.failed() {
                *map.entry(check.id.id()).or_default() += 1;
            }
        }
    }

    /// Records how long one verification and evaluation took.
    pub fn verification(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts a verdict cache lookup.
    pub fn cache(&self, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP cragate_requests_total Requests by route and response status."
        )?;
        writeln!(out, "# TYPE cragate_requests_total counter")?;
        if let Ok(map) = self.requests.lock() {
            for ((route, status), n) in map.iter() {
                writeln!(
                    out,
                    "cragate_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                )?;
            }
        }
        writeln!(
            out,
            "# HELP cragate_decisions_total Policy decisions by result."
        )?;
        writeln!(out, "# TYPE cragate_decisions_total counter")?;
        if let Ok(map) = self.decisions.lock() {
            for (decision, n) in map.iter() {
                writeln!(
                    out,
                    "cragate_decisions_total{{decision=\"{decision}\"}} {n}"
                )?;
            }
        }
        writeln!(
            out,
            "# HELP cragate_check_failures_total Failed checks by check id."
        )?;
        writeln!(out, "# TYPE cragate_check_failures_total counter")?;
        if let Ok(map) = self.failed_checks.lock() {
            for (check, n) in map.iter() {
                writeln!(out, "cragate_check_failures_total{{check=\"{check}\"}} {n}")?;
            }
        }
        writeln!(
            out,
            "# HELP cragate_verification_seconds Verification and policy evaluation time."
        )?;
        writeln!(out, "# TYPE cragate_verification_seconds histogram")?;
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            let n = bucket.load(Ordering::Relaxed);
            writeln!(
                out,
                "cragate_verification_seconds_bucket{{le=\"{bound}\"}} {n}"
            )?;
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        writeln!(
            out,
            "cragate_verification_seconds_bucket{{le=\"+Inf\"}} {count}"
        )?;
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        writeln!(out, "cragate_verification_seconds_sum {sum}")?;
        writeln!(out, "cragate_verification_seconds_count {count}")?;
        writeln!(
            out,
            "# HELP cragate_verdict_cache_total Verdict cache lookups by result."
        )?;
        writeln!(out, "# TYPE cragate_verdict_cache_total counter")?;
        let hits = self.cache_hits.load(Ordering::Relaxed);
        let misses = self.cache_misses.load(Ordering::Relaxed);
        writeln!(out, "cragate_verdict_cache_total{{result=\"hit\"}} {hits}")?;
        writeln!(
            out,
            "cragate_verdict_cache_total{{result=\"miss\"}} {misses}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.verification(Duration::from_micros(300));
        metrics.verification(Duration::from_millis(2));
        metrics.request("listing-submission", 201);
        let text = metrics.render();
        assert!(
            text.contains("cragate_verification_seconds_bucket{le=\"0.00025\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("cragate_verification_seconds_bucket{le=\"0.0005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("cragate_verification_seconds_bucket{le=\"0.0025\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("cragate_verification_seconds_count 2"),
            "{text}"
        );
        assert!(
            text.contains("cragate_requests_total{route=\"listing-submission\",status=\"201\"} 1")
        );
    }
}
