//! What `cragate gate` shows while it works: a progress bar on a terminal
//! (items done of total, accepted, refused, MB/s), or one line per item
//! when its output is not a terminal (a log, a CI job, a pipe).

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::report::{ItemDecision, ItemReport};

/// Told of the work as it happens; called from every worker.
pub trait Progress: Sync {
    /// `bytes` more artifact bytes hashed.
    fn hashed(&self, bytes: u64);
    /// One item is done.
    fn item(&self, report: &ItemReport);
    /// Every item is done.
    fn finish(&self);
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A bar on standard error.
    Bar,
    /// One line per item on standard output.
    Lines,
}

/// The progress display for `total` items.
pub fn new(display: Display, total: usize) -> Box<dyn Progress> {
    match display {
        Display::Bar => Box::new(Bar::new(total)),
        Display::Lines => Box::new(Lines::new(total)),
    }
}

/// Counts both displays keep.
#[derive(Debug)]
struct Counts {
    done: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
    bytes: AtomicU64,
    started: Instant,
}

impl Counts {
    fn new() -> Self {
        Self {
            done: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Counts the item; returns how many are done.
    fn item(&self, report: &ItemReport) -> usize {
        match report.decision {
            ItemDecision::Accepted => self.accepted.fetch_add(1, Ordering::Relaxed),
            _ => self.refused.fetch_add(1, Ordering::Relaxed),
        };
        self.done.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn megabytes_per_second(&self) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bytes.load(Ordering::Relaxed) as f64 / 1e6 / seconds
    }

    fn message(&self) -> String {
        format!(
            "{} accepted, {} refused, {:.0} MB/s",
            self.accepted.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.megabytes_per_second()
        )
    }
}

/// An indicatif bar.
#[derive(Debug)]
struct Bar {
    bar: ProgressBar,
    counts: Counts,
}

impl Bar {
    fn new(total: usize) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(u64::try_from(total).unwrap_or(u64::MAX)),
            ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} items  {msg}  {elapsed}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            counts: Counts::new(),
        }
    }
}

impl Progress for Bar {
    fn hashed(&self, bytes: u64) {
        self.counts.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn item(&self, report: &ItemReport) {
        self.counts.item(report);
        if report.decision != ItemDecision::Accepted {
            self.bar.println(line(report));
        }
        self.bar.set_message(self.counts.message());
        self.bar.inc(1);
    }

    fn finish(&self) {
        self.bar.set_message(self.counts.message());
        self.bar.finish();
    }
}

/// One line per item.
#[derive(Debug)]
struct Lines {
    total: usize,
    counts: Counts,
    out: Mutex<()>,
}

impl Lines {
    fn new(total: usize) -> Self {
        Self {
            total,
            counts: Counts::new(),
            out: Mutex::new(()),
        }
    }
}

impl Progress for Lines {
    fn hashed(&self, bytes: u64) {
        self.counts.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn item(&self, report: &ItemReport) {
        let done = self.counts.item(report);
        let _guard = self.out.lock();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "[{done}/{}] {}", self.total, line(report));
    }

    fn finish(&self) {}
}

/// One item in one line: decision, item, product, and why when refused.
pub fn line(report: &ItemReport) -> String {
    let product = match (&report.product_id, &report.version) {
        (Some(id), Some(version)) => format!(" {id} {version}"),
        (Some(id), None) => format!(" {id}"),
        _ => String::new(),
    };
    let mut line = format!(
        "{} items[{}]{product}",
        report.decision.as_str(),
        report.index
    );
    if let Some(error) = &report.error {
        line.push_str(&format!(": {}", error.replace(['\r', '\n'], " ")));
    }
    let failed: Vec<String> = report
        .failed()
        .filter(|c| c.severity == cragate_verifier::verdict::Severity::Required)
        .map(|c| format!("{} [{}]", c.id, c.article))
        .collect();
    if !failed.is_empty() {
        line.push_str(&format!(": failed {}", failed.join(", ")));
    }
    line
}
