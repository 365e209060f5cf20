//! The item reports of a shipment, kept on disk until the reports are
//! written: each finished item's part of `report.json` and of
//! `report.html` is written to an unnamed temporary file in the report
//! folder as the item finishes, and only where it is (a few bytes per
//! item) stays in memory. The reports are then put together in manifest
//! order by reading the parts back, so what `cragate gate` holds does not
//! grow with the shipment's report (about 10 KiB of `report.json` per
//! item), only with its number of items.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use askama::Template;
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use super::report::{ItemDecision, ItemReport, Totals};

/// Where one item's parts are in the file.
#[derive(Debug, Clone, Copy)]
struct Slot {
    decision: ItemDecision,
    offset: u64,
    /// Lengths of its `report.json` element, its table row and (for an
    /// item not accepted) its section of what to ask the manufacturer for.
    lengths: [u32; 3],
}

/// The parts of an item, in the order they are kept.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// Its element of `report.json`'s `items`.
    Json = 0,
    /// Its row of `report.html`'s table of items.
    Row = 1,
    /// Its section of `report.html`'s refused items.
    Refused = 2,
}

/// An item's row of the table of items.
#[derive(Debug, Template)]
#[template(path = "gate/item_row.html")]
struct Row<'a> {
    item: &'a ItemReport,
}

/// An item's section under "Refused and unusable items".
#[derive(Debug, Template)]
#[template(path = "gate/item_refused.html")]
struct Refused<'a> {
    item: &'a ItemReport,
}

/// The item reports of a shipment.
#[derive(Debug)]
pub struct Spill {
    /// `None` when no report is written: only the decisions are kept.
    file: Option<BufWriter<File>>,
    written: u64,
    slots: Vec<Option<Slot>>,
}

/// Indentation of an element of `report.json`'s `items` (pretty-printed
/// two spaces a level, the array inside the top-level object).
const ELEMENT_INDENT: &[u8] = b"    ";

impl Spill {
    /// Kept in an unnamed temporary file in `dir` (removed by the system
    /// when closed), or, without a report folder, only the decisions of
    /// `items` items.
    pub fn new(dir: Option<&Path>, items: usize) -> io::Result<Self> {
        let file = match dir {
            Some(dir) => Some(BufWriter::new(tempfile::tempfile_in(dir)?)),
            None => None,
        };
        Ok(Self {
            file,
            written: 0,
            slots: vec![None; items],
        })
    }

    /// Whether item `index` has its report.
    pub fn has(&self, index: usize) -> bool {
        self.slots.get(index).is_some_and(Option::is_some)
    }

    /// Keeps `report`, the report of item `report.index`.
    pub fn add(&mut self, report: &ItemReport) -> io::Result<()> {
        let decision = report.decision;
        let Some(file) = &mut self.file else {
            if let Some(slot) = self.slots.get_mut(report.index) {
                *slot = Some(Slot {
                    decision,
                    offset: 0,
                    lengths: [0; 3],
                });
            }
            return Ok(());
        };
        let json = element_json(report)?;
        let row = Row { item: report }.render().map_err(io::Error::other)?;
        let refused = if decision == ItemDecision::Accepted {
            String::new()
        } else {
            Refused { item: report }
                .render()
                .map_err(io::Error::other)?
        };
        let offset = self.written;
        let mut lengths = [0u32; 3];
        for (length, part) in
            lengths
                .iter_mut()
                .zip([json.as_bytes(), row.as_bytes(), refused.as_bytes()])
        {
            *length = u32::try_from(part.len()).map_err(io::Error::other)?;
            file.write_all(part)?;
            self.written += part.len() as u64;
        }
        if let Some(slot) = self.slots.get_mut(report.index) {
            *slot = Some(Slot {
                decision,
                offset,
                lengths,
            });
        }
        Ok(())
    }

    /// Counts of the items kept (an item without a report counts as
    /// unusable).
    pub fn totals(&self) -> Totals {
        let mut totals = Totals {
            items: self.slots.len(),
            ..Totals::default()
        };
        for slot in &self.slots {
            match slot.map(|s| s.decision) {
                Some(ItemDecision::Accepted) => totals.accepted += 1,
                Some(ItemDecision::Refused) => totals.refused += 1,
                Some(ItemDecision::Unusable) | None => totals.unusable += 1,
            }
        }
        totals
    }

    /// Makes what was written readable; call once every item is in.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(file) = &mut self.file {
            file.flush()?;
        }
        Ok(())
    }

    /// `part` of every item, in manifest order, as text.
    fn each(&self, part: Part, mut f: impl FnMut(&str) -> io::Result<()>) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let file = file.get_ref();
        let mut buffer = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            let Some(slot) = slot else {
                return Err(io::Error::other(format!("items[{index}] has no report")));
            };
            let skip: u64 = slot
                .lengths
                .iter()
                .take(part as usize)
                .map(|&l| u64::from(l))
                .sum();
            let length = slot.lengths.get(part as usize).copied().unwrap_or(0);
            buffer.resize(length as usize, 0);
            file.read_exact_at(&mut buffer, slot.offset + skip)?;
            let text = std::str::from_utf8(&buffer).map_err(io::Error::other)?;
            f(text)?;
        }
        Ok(())
    }

    /// `report.json`'s `items`, read back as they are serialised.
    pub fn json_items(&self) -> JsonItems<'_> {
        JsonItems(self)
    }

    /// `part` (a row or a refused section) of every item, written as the
    /// page is rendered. A read error is kept in `error` and ends the
    /// rendering.
    pub fn html<'a>(
        &'a self,
        part: Part,
        error: &'a std::cell::RefCell<Option<io::Error>>,
    ) -> Html<'a> {
        Html {
            spill: self,
            part,
            error,
        }
    }
}

/// One element of `items`, pretty-printed as it stands in `report.json`.
fn element_json(report: &ItemReport) -> io::Result<String> {
    let compact = serde_json::to_vec_pretty(report)?;
    let mut indented = Vec::with_capacity(compact.len() + compact.len() / 8);
    for &byte in &compact {
        indented.push(byte);
        // A newline in pretty-printed JSON is never inside a string.
        if byte == b'\n' {
            indented.extend_from_slice(ELEMENT_INDENT);
        }
    }
    String::from_utf8(indented).map_err(io::Error::other)
}

/// `report.json`'s `items` from a [`Spill`].
#[derive(Debug)]
pub struct JsonItems<'a>(&'a Spill);

impl Serialize for JsonItems<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.slots.len()))?;
        let mut failed = None;
        let read = self.0.each(Part::Json, |text| {
            let raw = serde_json::value::RawValue::from_string(text.to_owned())
                .map_err(io::Error::other)?;
            seq.serialize_element(&raw).map_err(|e| {
                failed = Some(e);
                io::Error::other("cannot write report.json")
            })
        });
        if let Some(error) = failed {
            return Err(error);
        }
        read.map_err(S::Error::custom)?;
        seq.end()
    }
}

/// A part of every item of `report.html`, read back as the page is
/// rendered.
#[derive(Debug)]
pub struct Html<'a> {
    spill: &'a Spill,
    part: Part,
    error: &'a std::cell::RefCell<Option<io::Error>>,
}

impl fmt::Display for Html<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut write_failed = false;
        let read = self.spill.each(self.part, |text| {
            f.write_str(text).map_err(|_| {
                write_failed = true;
                io::Error::other("cannot write report.html")
            })
        });
        match read {
            Ok(()) => Ok(()),
            Err(_) if write_failed => Err(fmt::Error),
            Err(error) => {
                *self.error.borrow_mut() = Some(error);
                Err(fmt::Error)
            }
        }
    }
}
