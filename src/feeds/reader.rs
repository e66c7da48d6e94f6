//! Readers that turn a CSV, JSON Lines or XLSX file into rows in feed-column order, one at a
//! time, so a large file is never held whole. An XLSX sheet is streamed too (calamine's cell
//! reader decompresses and parses the sheet's XML as it goes, on a thread of its own); only the
//! workbook's shared-string table is loaded whole, after `workbook::vet` has measured it.
//! Every reader holds to the feed limits (`limits.rs`) before it buffers what it measures.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;

use calamine::{Data, Reader as _, Xlsx};
use chrono::{Days, NaiveDate};

use super::cells::RowBuf;
use super::columns::{Aliases, Column, HeaderMap};
use super::csv_guard::CsvGuard;
use super::format::Format;
use super::limits::{check, LimitHit, Limits};
use super::values::shown;
use super::{workbook, FeedError, Issue};

pub enum Next {
    Row,
    /// This line cannot be read as a row; reading goes on with the next one.
    Bad(Issue),
    End,
}

pub enum Reader {
    Csv {
        rdr: csv::Reader<Box<dyn Read + Send>>,
        rec: csv::StringRecord,
        width: usize,
        source: Vec<Option<usize>>,
    },
    Jsonl {
        lines: BufReader<File>,
        line: u64,
        bytes: Vec<u8>,
        aliases: Aliases,
        unknown: HashSet<String>,
        limits: Limits,
        cells: u64,
    },
    Xlsx {
        rows: mpsc::Receiver<Result<SheetRow, FeedError>>,
        source: Vec<Option<usize>>,
    },
}

/// One non-empty spreadsheet row: its 1-based row number and its cells' text from the header's
/// first column on.
pub struct SheetRow {
    line: u64,
    cells: Vec<String>,
}

/// Rows read ahead of the validator; with `max_row_bytes` this bounds what waits in the channel.
const SHEET_ROWS_AHEAD: usize = 64;

/// An opened file: its reader, the header mapping and what the header row already showed.
pub struct Opened {
    pub reader: Reader,
    pub header: HeaderMap,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

pub fn open(
    format: Format,
    path: &Path,
    skip_bom: bool,
    columns: &[Column],
    limits: &Limits,
) -> Result<Opened, FeedError> {
    match format {
        Format::Csv => open_csv(path, skip_bom, columns, limits),
        Format::Jsonl => {
            let mut file = File::open(path)?;
            if skip_bom {
                file.seek(SeekFrom::Start(3))?;
            }
            let reader = Reader::Jsonl {
                lines: BufReader::with_capacity(1 << 16, file),
                line: 0,
                bytes: Vec::new(),
                aliases: Aliases::new(columns),
                unknown: HashSet::new(),
                limits: limits.clone(),
                cells: 0,
            };
            Ok(Opened {
                reader,
                header: HeaderMap::by_english(columns),
                errors: vec![],
                warnings: vec![],
            })
        }
        Format::Xlsx => open_xlsx(path, columns, limits),
    }
}

/// A CSV error: a limit met (the guard under the reader stopped the stream), unreadable input,
/// or `None` for a malformed record, which reading goes on past.
fn csv_failure(e: &csv::Error) -> Option<FeedError> {
    match e.kind() {
        csv::ErrorKind::Io(io) => Some(match LimitHit::from_io(io) {
            Some(hit) => hit.into(),
            None => FeedError::Unreadable {
                what: "CSV".into(),
                reason: e.to_string(),
            },
        }),
        _ => None,
    }
}

fn open_csv(
    path: &Path,
    skip_bom: bool,
    columns: &[Column],
    limits: &Limits,
) -> Result<Opened, FeedError> {
    let mut file = File::open(path)?;
    if skip_bom {
        file.seek(SeekFrom::Start(3))?;
    }
    let input: Box<dyn Read + Send> = Box::new(CsvGuard::new(file, limits));
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let mut rec = csv::StringRecord::new();
    let unreadable = |e: csv::Error| {
        csv_failure(&e).unwrap_or_else(|| FeedError::Unreadable {
            what: "CSV".into(),
            reason: e.to_string(),
        })
    };
    if !rdr.read_record(&mut rec).map_err(unreadable)? {
        return Err(FeedError::Unreadable {
            what: "CSV".into(),
            reason: "the file is empty (no header row)".into(),
        });
    }
    let names: Vec<String> = rec.iter().map(str::to_owned).collect();
    let line = rec.position().map_or(1, |p| p.line());
    let (header, errors, warnings) = HeaderMap::resolve(columns, &names, line);
    let reader = Reader::Csv {
        rdr,
        rec,
        width: names.len(),
        source: header.source.clone(),
    };
    Ok(Opened {
        reader,
        header,
        errors,
        warnings,
    })
}

fn open_xlsx(path: &Path, columns: &[Column], limits: &Limits) -> Result<Opened, FeedError> {
    let unreadable = |reason: String| FeedError::Unreadable {
        what: "an XLSX workbook".into(),
        reason,
    };
    // calamine opens the vetted copy, never the file as sent.
    let vetted = workbook::vet(path, limits)?;
    let book: Xlsx<_> = calamine::open_workbook(vetted.path())
        .map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let sheet = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| unreadable("it has no worksheet".into()))?;
    let (sender, rows) = mpsc::sync_channel(SHEET_ROWS_AHEAD);
    let limits = limits.clone();
    std::thread::Builder::new()
        .name("xlsx-reader".into())
        .spawn(move || {
            stream_sheet(book, &sheet, &limits, &sender);
            drop(vetted); // the copy is removed once read
        })?;
    let header = match rows.recv() {
        Ok(Ok(row)) => row,
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(unreadable(
                "the first sheet is empty (no header row)".into(),
            ))
        }
    };
    let (header, errors, warnings) = HeaderMap::resolve(columns, &header.cells, header.line);
    let reader = Reader::Xlsx {
        rows,
        source: header.source.clone(),
    };
    Ok(Opened {
        reader,
        header,
        errors,
        warnings,
    })
}

/// Sends the sheet's non-empty rows in order, the first one (the header) fixing the first
/// column; stops at the end, at the first error (sent), or when nobody listens.
fn stream_sheet<RS: Read + Seek>(
    mut book: Xlsx<RS>,
    sheet: &str,
    limits: &Limits,
    out: &mpsc::SyncSender<Result<SheetRow, FeedError>>,
) {
    let unreadable = |e: calamine::XlsxError| FeedError::Unreadable {
        what: "an XLSX workbook".into(),
        reason: e.to_string(),
    };
    let mut cells = match book.worksheet_cells_reader(sheet) {
        Ok(c) => c,
        Err(e) => {
            let _ = out.send(Err(unreadable(e)));
            return;
        }
    };
    let mut row_bytes = 0u64;
    let mut first_column: Option<u32> = None;
    let mut row: Option<(u32, Vec<String>)> = None;
    let send = |row: Option<(u32, Vec<String>)>| match row {
        Some((r, cells)) if cells.iter().any(|c| !c.is_empty()) => out
            .send(Ok(SheetRow {
                line: u64::from(r) + 1,
                cells,
            }))
            .is_ok(),
        _ => true,
    };
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => {
                let _ = out.send(Err(unreadable(e)));
                return;
            }
        };
        let (r, c) = cell.get_position();
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if row.as_ref().is_some_and(|(at, _)| *at != r) {
            row_bytes = 0;
            if !send(row.take()) {
                return;
            }
        }
        row_bytes += text.len() as u64;
        let line = u64::from(r) + 1;
        let over = check(
            text.len() as u64,
            limits.max_cell_bytes,
            "max_cell_bytes",
            "a cell's size in bytes",
        )
        .and_then(|()| {
            check(
                row_bytes,
                limits.max_row_bytes,
                "max_row_bytes",
                "the row's size in bytes",
            )
        })
        .and_then(|()| {
            // A cell far right (`XFD1`, or a made-up `ZZZZZZ1`) would stretch the row.
            let width = u64::from(c.saturating_sub(first_column.unwrap_or(c))) + 1;
            check(
                width,
                limits.max_row_cells,
                "max_row_cells",
                "the number of cells in the row",
            )
        });
        if let Err(hit) = over {
            let _ = out.send(Err(hit.at(line).into()));
            return;
        }
        if first_column.is_none() && text.is_empty() {
            continue; // blank cells before the header's first name
        }
        let first = *first_column.get_or_insert(c);
        let Some(at) = c.checked_sub(first) else {
            continue; // left of the header: not part of the table
        };
        let (_, cells) = row.get_or_insert_with(|| (r, Vec::new()));
        let at = at as usize;
        if cells.len() <= at {
            cells.resize(at + 1, String::new());
        }
        cells[at] = text;
    }
    send(row.take());
}

/// A spreadsheet cell as the text a CSV export would show: whole numbers without ".0", date
/// cells as YYYY-MM-DD.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            excel_date(dt.as_f64()).map_or_else(|| dt.as_f64().to_string(), |d| d.to_string())
        }
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

/// Excel's 1900 date system counts days from 1899-12-30 (for dates after February 1900).
fn excel_date(serial: f64) -> Option<NaiveDate> {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    (61.0..2_958_466.0)
        .contains(&serial)
        .then(|| epoch.checked_add_days(Days::new(serial.floor() as u64)))?
}

impl Reader {
    /// Fills `buf` with the next data row.
    pub fn next(&mut self, buf: &mut RowBuf, warnings: &mut Vec<Issue>) -> Result<Next, FeedError> {
        buf.clear();
        match self {
            Reader::Csv {
                rdr,
                rec,
                width,
                source,
            } => {
                match rdr.read_record(rec) {
                    Ok(false) => return Ok(Next::End),
                    Ok(true) => {}
                    Err(e) => {
                        if let Some(failure) = csv_failure(&e) {
                            return Err(failure);
                        }
                        return Ok(Next::Bad(Issue {
                            line: e.position().map_or(0, |p| p.line()),
                            column: None,
                            reason: e.to_string(),
                        }));
                    }
                }
                buf.line = rec.position().map_or(0, |p| p.line());
                if rec.len() != *width {
                    let reason =
                        format!("the row has {} fields, the header has {width}", rec.len());
                    return Ok(Next::Bad(Issue {
                        line: buf.line,
                        column: None,
                        reason,
                    }));
                }
                for (i, s) in source.iter().enumerate() {
                    if let Some(s) = s {
                        buf.set(i, &rec[*s]);
                    }
                }
                Ok(Next::Row)
            }
            Reader::Jsonl {
                lines,
                line,
                bytes,
                aliases,
                unknown,
                limits,
                cells,
            } => loop {
                bytes.clear();
                // At most one byte past the limit is read: a longer line is never buffered.
                let max = limits.max_row_bytes;
                if (&mut *lines).take(max + 2).read_until(b'\n', bytes)? == 0 {
                    return Ok(Next::End);
                }
                *line += 1;
                let content = bytes.strip_suffix(b"\n").unwrap_or(bytes);
                let content = content.strip_suffix(b"\r").unwrap_or(content);
                check(
                    content.len() as u64,
                    max,
                    "max_row_bytes",
                    "the line's size in bytes",
                )
                .map_err(|hit| hit.at(*line))?;
                let Ok(text) = std::str::from_utf8(content) else {
                    return Ok(Next::Bad(Issue {
                        line: *line,
                        column: None,
                        reason: "the line is not valid UTF-8".into(),
                    }));
                };
                if text.trim().is_empty() {
                    continue;
                }
                buf.line = *line;
                return json_row(text, aliases, unknown, limits, cells, buf, warnings);
            },
            Reader::Xlsx { rows, source } => {
                let row = match rows.recv() {
                    Ok(Ok(row)) => row,
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Ok(Next::End),
                };
                buf.line = row.line;
                for (i, s) in source.iter().enumerate() {
                    if let Some(cell) = s.and_then(|s| row.cells.get(s)) {
                        buf.set(i, cell);
                    }
                }
                Ok(Next::Row)
            }
        }
    }
}

fn json_row(
    text: &str,
    aliases: &Aliases,
    unknown: &mut HashSet<String>,
    limits: &Limits,
    cells: &mut u64,
    buf: &mut RowBuf,
    warnings: &mut Vec<Issue>,
) -> Result<Next, FeedError> {
    let line = buf.line;
    let bad = |column: Option<String>, reason: String| {
        Next::Bad(Issue {
            line,
            column,
            reason,
        })
    };
    let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(o) => o,
        Err(e) => return Ok(bad(None, format!("not a JSON object: {e}"))),
    };
    let n = obj.len() as u64;
    *cells += n;
    check(
        n,
        limits.max_row_cells,
        "max_row_cells",
        "the number of keys on the line",
    )
    .and_then(|()| {
        check(
            *cells,
            limits.max_cells,
            "max_cells",
            "the number of cells in the file",
        )
    })
    .map_err(|hit| hit.at(line))?;
    for (key, value) in obj {
        let Some(i) = aliases.find(&key) else {
            if unknown.len() < 100 && unknown.insert(key.clone()) {
                warnings.push(Issue {
                    line,
                    column: Some(key.chars().take(64).collect()),
                    reason: "unknown key, ignored".into(),
                });
            }
            continue;
        };
        if let serde_json::Value::String(s) = &value {
            check(
                s.len() as u64,
                limits.max_cell_bytes,
                "max_cell_bytes",
                "a cell's size in bytes",
            )
            .map_err(|hit| hit.at(line))?;
        }
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => buf.set(i, &s),
            serde_json::Value::Number(n) => buf.set(i, &n.to_string()),
            serde_json::Value::Bool(b) => buf.set(i, if b { "true" } else { "false" }),
            other => {
                return Ok(bad(
                    Some(key),
                    format!("{} is not a plain value", shown(&other.to_string())),
                ))
            }
        }
    }
    Ok(Next::Row)
}
