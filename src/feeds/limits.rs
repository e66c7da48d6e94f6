//! How much of a feed file the readers will look at. Every reader stops at the first limit it
//! meets and the batch is refused naming the limit (413), before the offending part is held in
//! memory: a CSV record or JSON line is measured as its bytes arrive, a workbook's parts are
//! measured while they are decompressed, before calamine opens the workbook.
//! The limits are settings (`[feed_limits]` in creditbridge.toml); docs/operations.md lists them.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Limits {
    /// Bytes of one cell's text; also the longest XML token (a tag or a text run) of a workbook.
    pub max_cell_bytes: u64,
    /// Bytes of one CSV record, JSON line or spreadsheet row.
    pub max_row_bytes: u64,
    /// Cells of one row (a spreadsheet row counts up to its last used column).
    pub max_row_cells: u64,
    /// Cells of the whole file, the header included.
    pub max_cells: u64,
    /// XLSX: bytes of all XML parts together once decompressed.
    pub max_decompressed_bytes: u64,
    /// XLSX: decompressed bytes of a part loaded whole (styles, workbook, relationships, …), all
    /// but the worksheets (read as a stream) and the shared strings (limited below).
    pub max_part_bytes: u64,
    /// XLSX: entries in the ZIP container.
    pub max_zip_entries: u64,
    /// XLSX: decompressed bytes per compressed byte of any part above 1 MiB.
    pub max_zip_ratio: u64,
    /// XLSX: strings in the shared-string table (calamine loads the table whole).
    pub max_shared_strings: u64,
    /// XLSX: decompressed bytes of the shared-string table.
    pub max_shared_strings_bytes: u64,
    /// XLSX: sheets the workbook declares.
    pub max_sheets: u64,
    /// XLSX: nesting depth of XML elements.
    pub max_xml_depth: u64,
    /// Plausibility, not size: enterprises founded before this year are refused (1949, the
    /// founding of the People's Republic; domain.md's registers start there).
    pub earliest_founding_year: i32,
    /// Not a limit on the file: how many rows go into one of the short transactions a batch is
    /// staged in (and deleted in, when refused or replacing older versions). Each holds SQLite's
    /// write lock while it runs; scores wait at most about one of them.
    pub rows_per_transaction: u64,
    /// Seconds an importer may go without staging a transaction before its unfinished batch is
    /// taken for abandoned (its process died) and deleted by the next start or import.
    pub staging_lease_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: u64 = 1 << 20;
        Limits {
            max_cell_bytes: 32 * 1024,
            max_row_bytes: 256 * 1024,
            max_row_cells: 1024,
            max_cells: 100_000_000,
            max_decompressed_bytes: 1024 * MIB,
            max_part_bytes: 8 * MIB,
            max_zip_entries: 1000,
            max_zip_ratio: 100,
            max_shared_strings: 1_000_000,
            max_shared_strings_bytes: 64 * MIB,
            max_sheets: 64,
            max_xml_depth: 32,
            earliest_founding_year: 1949,
            rows_per_transaction: 1_000,
            staging_lease_secs: 600,
        }
    }
}

/// A limit met: which one (the setting's name), its value, and where, as far as known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitHit {
    pub limit: &'static str,
    pub max: u64,
    /// The file line (CSV, JSON Lines) or sheet row (XLSX) where it was met.
    pub line: Option<u64>,
    /// What went over, in words ("a cell", "the part xl/sharedStrings.xml").
    pub what: String,
}

impl LimitHit {
    pub fn new(limit: &'static str, max: u64, what: impl Into<String>) -> LimitHit {
        LimitHit {
            limit,
            max,
            line: None,
            what: what.into(),
        }
    }

    pub fn at(mut self, line: u64) -> LimitHit {
        self.line = Some(line);
        self
    }

    /// As an I/O error, to cross a reader that only passes I/O errors on (the CSV reader).
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }

    /// The hit carried by an I/O error made by `into_io`, if it is one.
    pub fn from_io(e: &std::io::Error) -> Option<LimitHit> {
        e.get_ref()?.downcast_ref::<LimitHit>().cloned()
    }
}

impl fmt::Display for LimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(
            f,
            "{} exceeds the limit feed_limits.{} = {}",
            self.what, self.limit, self.max
        )
    }
}

impl std::error::Error for LimitHit {}

/// Checks a value against a limit: `Err` naming it when `value > max`.
pub fn check(value: u64, max: u64, limit: &'static str, what: &str) -> Result<(), LimitHit> {
    if value > max {
        Err(LimitHit::new(limit, max, what))
    } else {
        Ok(())
    }
}
