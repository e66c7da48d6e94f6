//! Readers that turn a CSV, JSON Lines or XLSX file into rows in feed-column order, one at a
//! time, so a large file is never held whole. An XLSX sheet is streamed too (calamine's cell
//! reader decompresses and parses the sheet's XML as it goes, on a thread of its own); only the
//! workbook's shared-string table is loaded whole, and the body limit bounds it.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;

use calamine::{Data, Reader as _, Xlsx};
use chrono::{Days, NaiveDate};

use super::cells::RowBuf;
use super::columns::{Aliases, Column, HeaderMap};
use super::format::Format;
use super::values::shown;
use super::{FeedError, Issue};

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
        text: String,
        aliases: Aliases,
        unknown: HashSet<String>,
    },
    Xlsx {
        rows: mpsc::Receiver<Result<SheetRow, String>>,
        source: Vec<Option<usize>>,
    },
}

/// One non-empty spreadsheet row: its 1-based row number and its cells' text from the header's
/// first column on.
pub struct SheetRow {
    line: u64,
    cells: Vec<String>,
}

/// Rows read ahead of the validator.
const SHEET_ROWS_AHEAD: usize = 256;

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
) -> Result<Opened, FeedError> {
    match format {
        Format::Csv => open_csv(path, skip_bom, columns),
        Format::Jsonl => {
            let mut file = File::open(path)?;
            if skip_bom {
                file.seek(SeekFrom::Start(3))?;
            }
            let reader = Reader::Jsonl {
                lines: BufReader::with_capacity(1 << 16, file),
                line: 0,
                text: String::new(),
                aliases: Aliases::new(columns),
                unknown: HashSet::new(),
            };
            Ok(Opened {
                reader,
                header: HeaderMap::by_english(columns),
                errors: vec![],
                warnings: vec![],
            })
        }
        Format::Xlsx => open_xlsx(path, columns),
    }
}

fn open_csv(path: &Path, skip_bom: bool, columns: &[Column]) -> Result<Opened, FeedError> {
    let mut file = File::open(path)?;
    if skip_bom {
        file.seek(SeekFrom::Start(3))?;
    }
    let input: Box<dyn Read + Send> = Box::new(file);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let mut rec = csv::StringRecord::new();
    let unreadable = |e: csv::Error| FeedError::Unreadable {
        what: "CSV".into(),
        reason: e.to_string(),
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

fn open_xlsx(path: &Path, columns: &[Column]) -> Result<Opened, FeedError> {
    let unreadable = |reason: String| FeedError::Unreadable {
        what: "an XLSX workbook".into(),
        reason,
    };
    let book: Xlsx<_> = calamine::open_workbook(path)
        .map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let sheet = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| unreadable("it has no worksheet".into()))?;
    let (sender, rows) = mpsc::sync_channel(SHEET_ROWS_AHEAD);
    std::thread::Builder::new()
        .name("xlsx-reader".into())
        .spawn(move || stream_sheet(book, &sheet, &sender))?;
    let header = match rows.recv() {
        Ok(Ok(row)) => row,
        Ok(Err(reason)) => return Err(unreadable(reason)),
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
/// column; stops at the end, at the first error (sent as its reason), or when nobody listens.
fn stream_sheet<RS: Read + Seek>(
    mut book: Xlsx<RS>,
    sheet: &str,
    out: &mpsc::SyncSender<Result<SheetRow, String>>,
) {
    let mut cells = match book.worksheet_cells_reader(sheet) {
        Ok(c) => c,
        Err(e) => {
            let _ = out.send(Err(e.to_string()));
            return;
        }
    };
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
                let _ = out.send(Err(e.to_string()));
                return;
            }
        };
        let (r, c) = cell.get_position();
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if row.as_ref().is_some_and(|(at, _)| *at != r) && !send(row.take()) {
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
                        let line = e.position().map_or(0, |p| p.line());
                        return match e.kind() {
                            csv::ErrorKind::Io(_) => Err(FeedError::Unreadable {
                                what: "CSV".into(),
                                reason: e.to_string(),
                            }),
                            _ => Ok(Next::Bad(Issue {
                                line,
                                column: None,
                                reason: e.to_string(),
                            })),
                        };
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
                text,
                aliases,
                unknown,
            } => loop {
                text.clear();
                if lines.read_line(text)? == 0 {
                    return Ok(Next::End);
                }
                *line += 1;
                if text.trim().is_empty() {
                    continue;
                }
                buf.line = *line;
                return Ok(json_row(text, aliases, unknown, buf, warnings));
            },
            Reader::Xlsx { rows, source } => {
                let row = match rows.recv() {
                    Ok(Ok(row)) => row,
                    Ok(Err(reason)) => {
                        return Err(FeedError::Unreadable {
                            what: "an XLSX workbook".into(),
                            reason,
                        })
                    }
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
    buf: &mut RowBuf,
    warnings: &mut Vec<Issue>,
) -> Next {
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
        Err(e) => return bad(None, format!("not a JSON object: {e}")),
    };
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
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => buf.set(i, &s),
            serde_json::Value::Number(n) => buf.set(i, &n.to_string()),
            serde_json::Value::Bool(b) => buf.set(i, if b { "true" } else { "false" }),
            other => {
                return bad(
                    Some(key),
                    format!("{} is not a plain value", shown(&other.to_string())),
                )
            }
        }
    }
    Next::Row
}
