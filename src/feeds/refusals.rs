//! What is kept of a refused feed file (for the console's Feeds page): the refusal's summary, its
//! errors by line and column, and the refused lines themselves so the operator can hand them
//! back to the sender — with every identity number masked, because they are shown to people and
//! downloaded. The file is never kept. Reading the lines back is bounded: only the listed lines
//! (at most `MAX_LISTED`), each cut at `MAX_LINE_BYTES`, in one streaming pass.

use std::collections::BTreeSet;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::format::Encoding;
use super::{FeedError, FeedKind, FileFacts, Format, Issue};
use crate::storage::refusals::FeedRefusal;

/// The longest part of one refused line that is kept.
pub const MAX_LINE_BYTES: usize = 4096;

/// A run of this many letters and digits or more may be an identity number (18 characters for
/// both credit codes and resident ids; 15 for old-style ids): it is masked but for its last 4.
const ID_RUN: usize = 15;

/// Masks every run of `ID_RUN` or more ASCII letters and digits but for its last 4 characters,
/// the way the service shows subjects (`**************002X`).
pub fn mask_identity_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let n = run.chars().count();
        if n >= ID_RUN {
            out.extend(std::iter::repeat_n('*', n - 4));
            out.extend(run.chars().skip(n - 4));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The refusal of one file: who sent what kind when. `path` is the refused file, still there;
/// `format` as the request gave it (sniffed again here otherwise).
pub struct Refused {
    pub kind: FeedKind,
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub path: PathBuf,
    pub format: Option<Format>,
    pub facts: FileFacts,
}

/// Why a file was refused, as kept: the errors masked, and whether the refused lines can be
/// read back (only for rows found invalid).
pub struct Summary {
    errors_total: u64,
    errors: Vec<Issue>,
    message: String,
    rows: bool,
}

/// The summary of `error`, or `None` for failures that are not the file's fault (the database,
/// the disk, the audit trail) or a replay conflict (a key reused, or still being stored), which
/// refuse nothing of the file.
pub fn summarise(error: &FeedError) -> Option<Summary> {
    let (errors_total, errors): (u64, Vec<Issue>) = match error {
        FeedError::Invalid {
            errors_total,
            errors,
            ..
        } => (*errors_total, errors.clone()),
        FeedError::OverLimit(hit) => (
            1,
            vec![Issue {
                line: hit.line.unwrap_or(0),
                column: None,
                reason: error.to_string(),
            }],
        ),
        FeedError::Unreadable { .. } | FeedError::UnsupportedFormat(_) => (
            1,
            vec![Issue {
                line: 0,
                column: None,
                reason: error.to_string(),
            }],
        ),
        FeedError::KeyReused { .. }
        | FeedError::InProgress { .. }
        | FeedError::Io(_)
        | FeedError::Store(_)
        | FeedError::Audit(_) => return None,
    };
    let errors = errors
        .into_iter()
        .map(|i| Issue {
            reason: mask_identity_numbers(&i.reason),
            column: i.column.map(|c| mask_identity_numbers(&c)),
            line: i.line,
        })
        .collect();
    Some(Summary {
        errors_total,
        errors,
        message: mask_identity_numbers(&error.to_string()),
        rows: matches!(error, FeedError::Invalid { .. }),
    })
}

/// The record to store: the summary, and the refused lines read back from the file (blocking
/// file reads: run it off the async threads).
pub fn record(refused: &Refused, summary: Summary) -> FeedRefusal {
    let rows_csv = if summary.rows {
        refused_rows(refused, &summary.errors)
    } else {
        None
    };
    FeedRefusal {
        id: ulid::Ulid::new().to_string(),
        kind: refused.kind.as_str().to_owned(),
        source: refused.source.clone(),
        received_at: refused.received_at,
        file_sha256: refused.facts.sha256.clone(),
        message: summary.message,
        errors_total: summary.errors_total as i64,
        errors_json: serde_json::to_string(&summary.errors).unwrap_or_else(|_| "[]".into()),
        rows_csv,
    }
}

/// The refused lines as CSV (`line` first, then the line's own cells; for JSON Lines the record
/// as one cell), masked, with the file's header line first for CSV. `None` for a workbook or a
/// UTF-16 file, whose lines are not plain byte lines, or when the file cannot be read again.
fn refused_rows(refused: &Refused, errors: &[Issue]) -> Option<String> {
    let format = match refused.format {
        Some(f) => f,
        None => Format::sniff(&refused.facts.head).ok()?,
    };
    let decode: fn(&[u8]) -> String = match refused.facts.encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => |b| String::from_utf8_lossy(b).into_owned(),
        Encoding::Gb18030 => |b| encoding_rs::GB18030.decode(b).0.into_owned(),
        Encoding::Utf16Le | Encoding::Utf16Be => return None,
    };
    if format == Format::Xlsx {
        return None;
    }
    let mut wanted: BTreeSet<u64> = errors.iter().map(|i| i.line).filter(|l| *l > 0).collect();
    if format == Format::Csv {
        wanted.insert(1);
    }
    let lines = read_lines(&refused.path, &wanted).ok()?;
    let mut out = csv::Writer::from_writer(Vec::new());
    for (line, bytes) in lines {
        let text = mask_identity_numbers(decode(&bytes).trim_start_matches('\u{feff}'));
        let text = text.trim_end_matches(['\r', '\n']);
        let mut cells: Vec<String> = vec![if line == 1 && format == Format::Csv {
            "line".into()
        } else {
            line.to_string()
        }];
        match format {
            Format::Csv => {
                let mut r = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(text.as_bytes());
                match r.records().next() {
                    Some(Ok(rec)) => cells.extend(rec.iter().map(defuse)),
                    _ => cells.push(defuse(text)),
                }
            }
            _ => cells.push(defuse(text)),
        }
        out.write_record(&cells).ok()?;
    }
    String::from_utf8(out.into_inner().ok()?).ok()
}

/// A cell a spreadsheet would run as a formula is kept as text (the rows come from outside).
fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The physical lines of `path` numbered in `wanted` (1-based), each cut at `MAX_LINE_BYTES`,
/// in one pass that stops after the last one wanted.
fn read_lines(path: &Path, wanted: &BTreeSet<u64>) -> std::io::Result<Vec<(u64, Vec<u8>)>> {
    let Some(&last) = wanted.last() else {
        return Ok(Vec::new());
    };
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut buf = [0u8; 64 * 1024];
    let (mut line, mut current, mut out) = (1u64, Vec::new(), Vec::new());
    'read: loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                if wanted.contains(&line) {
                    out.push((line, std::mem::take(&mut current)));
                }
                line += 1;
                if line > last {
                    break 'read;
                }
            } else if wanted.contains(&line) && current.len() < MAX_LINE_BYTES {
                current.push(b);
            }
        }
    }
    if line <= last && wanted.contains(&line) && !current.is_empty() {
        out.push((line, current));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_numbers_are_masked_but_for_their_last_four() {
        assert_eq!(
            mask_identity_numbers("91110000600037341L,2025,A"),
            "**************341L,2025,A"
        );
        assert_eq!(
            mask_identity_numbers("id 11010519491231002X!"),
            "id **************002X!"
        );
        // Short runs (years, grades, amounts) stay as they are.
        assert_eq!(mask_identity_numbers("2025,A,1200.50"), "2025,A,1200.50");
    }

    #[test]
    fn only_the_wanted_lines_are_read_and_each_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let long = "x".repeat(MAX_LINE_BYTES * 2);
        std::fs::write(&path, format!("h1,h2\na,b\n{long}\nc,d")).unwrap();
        let got = read_lines(&path, &BTreeSet::from([1, 3, 4])).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, b"h1,h2".to_vec()));
        assert_eq!(got[1].1.len(), MAX_LINE_BYTES);
        assert_eq!(got[2], (4, b"c,d".to_vec()));
    }

    #[test]
    fn formulas_in_refused_cells_stay_text() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("plain"), "plain");
    }
}
