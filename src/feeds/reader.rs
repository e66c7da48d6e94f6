//! Readers that turn a CSV, JSON Lines or XLSX file into rows in feed-column order, one at a
//! time, so a large file is never held whole (XLSX excepted: a workbook is a ZIP archive that
//! calamine loads per sheet; the body limit bounds it).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

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
        rows: Vec<Vec<Data>>,
        next: usize,
        first_line: u64,
        source: Vec<Option<usize>>,
    },
}

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
    let mut book: Xlsx<_> = calamine::open_workbook(path)
        .map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("it has no worksheet".into()))?
        .map_err(|e| unreadable(e.to_string()))?;
    let first_line = range.start().map_or(1, |(r, _)| u64::from(r) + 1);
    let mut rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    if rows.is_empty() {
        return Err(unreadable(
            "the first sheet is empty (no header row)".into(),
        ));
    }
    let names: Vec<String> = rows.remove(0).iter().map(cell_text).collect();
    let (header, errors, warnings) = HeaderMap::resolve(columns, &names, first_line);
    let reader = Reader::Xlsx {
        rows,
        next: 0,
        first_line: first_line + 1,
        source: header.source.clone(),
    };
    Ok(Opened {
        reader,
        header,
        errors,
        warnings,
    })
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
            Reader::Xlsx {
                rows,
                next,
                first_line,
                source,
            } => {
                let Some(row) = rows.get_mut(*next) else {
                    return Ok(Next::End);
                };
                buf.line = *first_line + *next as u64;
                *next += 1;
                for (i, s) in source.iter().enumerate() {
                    if let Some(cell) = s.and_then(|s| row.get(s)) {
                        buf.set(i, &cell_text(cell));
                    }
                }
                row.clear();
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
