//! Reading a training CSV into a [`Frame`]: header checks, column types (non-numeric columns are
//! categorical, an empty cell is missing), the target turned into bad/good, the file's SHA-256,
//! and errors that name the file line and column.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::blocks::{header_names, piece_reader, read_blocks, Chunk, Piece};
use crate::error::{Result, TrainingError};
use crate::frame::{CategoricalData, Column, ColumnData, Frame, MISSING_CODE};

/// How to read a training file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    pub target: String,
    /// The target value that marks a bad (product default `1`).
    pub bad_value: String,
    /// Columns to treat as categorical whatever they look like.
    pub categorical: Vec<String>,
    /// Columns to treat as numeric whatever they look like (used to read a test file the same
    /// way as its training file).
    pub numeric: Vec<String>,
    pub exclude: Vec<String>,
}

/// Rows looked at to decide whether a column is numeric.
const SAMPLE: usize = 1000;
/// Share of non-empty sampled cells that must parse as numbers for a numeric column; anything
/// else in such a column is reported as junk rather than silently turning it categorical.
const NUMERIC_SHARE: f64 = 0.9;

/// Parses a numeric cell: empty is missing (`NaN`); infinities and text are errors.
#[inline]
pub(crate) fn parse_number(cell: &[u8]) -> std::result::Result<f64, ()> {
    let t = cell.trim_ascii();
    if t.is_empty() {
        return Ok(f64::NAN);
    }
    let s = std::str::from_utf8(t).map_err(|_| ())?;
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() || v.is_nan() => Ok(v),
        _ => Err(()),
    }
}

enum Builder {
    Numeric(Vec<f64>),
    Categorical(CategoricalData),
}

struct Layout {
    names: Vec<String>,
    target: usize,
    /// (file column index, categorical?)
    used: Vec<(usize, bool)>,
}

/// Reads a training (or test) CSV.
pub fn read_training_csv(path: &Path, o: &CsvOptions) -> Result<Frame> {
    let p = path.display().to_string();
    let mut reader = File::open(path).map_err(|source| TrainingError::Io {
        path: path.to_owned(),
        source,
    })?;
    let hasher = spawn_hasher(path);
    let mut layout: Option<Layout> = None;
    let mut builders: Vec<Builder> = Vec::new();
    let mut target: Vec<bool> = Vec::new();
    let mut target_values: Vec<Vec<u8>> = Vec::new();
    let threads = rayon::current_num_threads();
    read_blocks(&mut reader, &p, threads * 4, |chunk| match chunk {
        Chunk::Header(h) => {
            layout = Some(Layout::from_header(h, o, &p)?);
            Ok(())
        }
        Chunk::Pieces(pieces) => {
            let lay = layout.as_mut().expect("header comes first");
            if builders.is_empty() {
                infer_kinds(lay, pieces, o);
                builders = lay.empty_builders();
            }
            let lay = &*lay;
            let parts: Vec<Result<Parsed>> = pieces
                .par_iter()
                .map(|piece| parse_piece(piece, lay, o, &p))
                .collect();
            for part in parts {
                let (cols, t, values) = part?;
                target.extend(t);
                for v in values {
                    note_value(&mut target_values, &v);
                }
                for (global, local) in builders.iter_mut().zip(cols) {
                    global.append(local);
                }
            }
            Ok(())
        }
    })?;
    let lay = layout.expect("read_blocks fails on a file without a header");
    check_target_values(&target_values, &lay.names[lay.target], &p)?;
    check_target(&target, &lay.names[lay.target], o, &p)?;
    let columns = lay
        .used
        .iter()
        .zip(builders)
        .map(|(&(i, _), b)| Column {
            name: lay.names[i].clone(),
            data: match b {
                Builder::Numeric(v) => ColumnData::Numeric(v),
                Builder::Categorical(c) => ColumnData::Categorical(c),
            },
            meta: None,
        })
        .collect();
    let mut frame = Frame::new(columns, target);
    let digest = hasher.join().map_err(|_| TrainingError::Input {
        path: p.clone(),
        message: "hashing thread panicked".into(),
    })?;
    frame.source_sha256 = Some(digest.map_err(|source| TrainingError::Io {
        path: path.to_owned(),
        source,
    })?);
    Ok(frame)
}

/// The file's SHA-256, on its own thread over a second handle (the page cache serves it):
/// hashing inline costs a sequential ~2 s per 160 MB on machines without SHA instructions.
fn spawn_hasher(path: &Path) -> std::thread::JoinHandle<std::io::Result<String>> {
    let hash_path = path.to_owned();
    std::thread::spawn(move || -> std::io::Result<String> {
        let mut f = File::open(hash_path)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(hex::encode(h.finalize()));
            }
            h.update(&buf[..n]);
        }
    })
}

impl Layout {
    /// Checks the header (no duplicate names, the target and every named column present) and
    /// lists the columns to read.
    fn from_header(h: &[u8], o: &CsvOptions, p: &str) -> Result<Self> {
        let names = header_names(h, p)?;
        let mut seen = HashSet::new();
        for n in &names {
            if !seen.insert(n.as_str()) {
                return Err(TrainingError::Input {
                    path: p.to_owned(),
                    message: format!("column `{n}` appears twice in the header"),
                });
            }
        }
        let t = names.iter().position(|n| *n == o.target).ok_or_else(|| {
            TrainingError::MissingColumn {
                path: p.to_owned(),
                column: o.target.clone(),
                hint: format!(" for the target (columns: {})", names.join(", ")),
            }
        })?;
        for (list, what) in [(&o.categorical, "categorical"), (&o.exclude, "excluded")] {
            if let Some(bad) = list.iter().find(|c| !names.contains(c)) {
                return Err(TrainingError::MissingColumn {
                    path: p.to_owned(),
                    column: bad.clone(),
                    hint: format!(" (named as {what})"),
                });
            }
        }
        let used = (0..names.len())
            .filter(|&i| i != t && !o.exclude.contains(&names[i]))
            .map(|i| (i, false))
            .collect();
        Ok(Layout {
            names,
            target: t,
            used,
        })
    }

    fn empty_builders(&self) -> Vec<Builder> {
        self.used
            .iter()
            .map(|&(_, cat)| {
                if cat {
                    Builder::Categorical(CategoricalData::new())
                } else {
                    Builder::Numeric(Vec::new())
                }
            })
            .collect()
    }
}

impl Builder {
    /// Appends a piece's column, re-coding a categorical piece's levels into this column's.
    fn append(&mut self, local: Builder) {
        match (self, local) {
            (Builder::Numeric(g), Builder::Numeric(l)) => g.extend(l),
            (Builder::Categorical(g), Builder::Categorical(l)) => {
                let map: Vec<u32> = l
                    .levels
                    .iter()
                    .map(|lv| {
                        g.push(Some(lv));
                        g.codes.pop().unwrap_or(MISSING_CODE)
                    })
                    .collect();
                g.codes.extend(l.codes.iter().map(|&c| {
                    if c == MISSING_CODE {
                        c
                    } else {
                        map[c as usize]
                    }
                }));
            }
            _ => unreachable!("builders share the layout"),
        }
    }
}

/// A piece's columns, its targets as bad/good, and the distinct target values it holds.
type Parsed = (Vec<Builder>, Vec<bool>, Vec<Vec<u8>>);

/// Distinct target values kept to report a target that is not binary; a few beyond two are
/// enough to name the problem, and keep the check cheap.
const TARGET_VALUES_KEPT: usize = 8;

fn note_value(seen: &mut Vec<Vec<u8>>, v: &[u8]) {
    if seen.len() < TARGET_VALUES_KEPT && !seen.iter().any(|s| s == v) {
        seen.push(v.to_vec());
    }
}

/// A binary outcome has at most two values (the bad value and one other): anything else, such as
/// a days-past-due count or a three-level status, is refused with the values found rather than
/// read as "bad value or not".
fn check_target_values(values: &[Vec<u8>], tname: &str, p: &str) -> Result<()> {
    if values.len() <= 2 {
        return Ok(());
    }
    let mut shown: Vec<String> = values
        .iter()
        .map(|v| format!("`{}`", String::from_utf8_lossy(v)))
        .collect();
    shown.sort();
    let more = if values.len() >= TARGET_VALUES_KEPT {
        " and more"
    } else {
        ""
    };
    Err(TrainingError::Input {
        path: p.to_owned(),
        message: format!(
            "target `{tname}` has more than two values ({}{more}): it must be binary (the bad value and one other)",
            shown.join(", ")
        ),
    })
}

/// A file needs rows, and both bads and goods.
fn check_target(target: &[bool], tname: &str, o: &CsvOptions, p: &str) -> Result<()> {
    if target.is_empty() {
        return Err(TrainingError::Input {
            path: p.to_owned(),
            message: "the file has a header but no data rows".into(),
        });
    }
    let bads = target.iter().filter(|&&b| b).count();
    if bads == 0 {
        return Err(TrainingError::Input {
            path: p.to_owned(),
            message: format!(
                "target `{tname}` has no bads (no row equals the bad value `{}`)",
                o.bad_value
            ),
        });
    }
    if bads == target.len() {
        return Err(TrainingError::Input {
            path: p.to_owned(),
            message: format!(
                "target `{tname}` has no goods (every row equals the bad value `{}`)",
                o.bad_value
            ),
        });
    }
    Ok(())
}

/// Decides each column's kind from the first [`SAMPLE`] data rows, read across the pieces of
/// the first block in file order (the first piece alone can be a handful of rows, where one junk
/// cell would tip a numeric column into categorical and hide the junk).
fn infer_kinds(lay: &mut Layout, pieces: &[Piece], o: &CsvOptions) {
    let mut rec = csv::ByteRecord::new();
    let mut ok = vec![(0usize, 0usize); lay.used.len()];
    let mut rows = 0;
    'pieces: for piece in pieces {
        let mut r = piece_reader(piece.bytes);
        while matches!(r.read_byte_record(&mut rec), Ok(true)) {
            if rows == SAMPLE {
                break 'pieces;
            }
            rows += 1;
            for (k, &(i, _)) in lay.used.iter().enumerate() {
                let cell = rec.get(i).unwrap_or(b"").trim_ascii();
                if !cell.is_empty() {
                    ok[k].1 += 1;
                    ok[k].0 += parse_number(cell).is_ok() as usize;
                }
            }
        }
    }
    for (k, u) in lay.used.iter_mut().enumerate() {
        let name = &lay.names[u.0];
        u.1 = if o.categorical.contains(name) {
            true
        } else if o.numeric.contains(name) {
            false
        } else {
            ok[k].1 > 0 && (ok[k].0 as f64) < NUMERIC_SHARE * ok[k].1 as f64
        };
    }
}

fn parse_piece(piece: &Piece, lay: &Layout, o: &CsvOptions, path: &str) -> Result<Parsed> {
    let mut cols = lay.empty_builders();
    let mut target = Vec::new();
    let mut values = Vec::new();
    let mut r = piece_reader(piece.bytes);
    let mut rec = csv::ByteRecord::new();
    let bad = o.bad_value.as_bytes();
    loop {
        let line_of =
            |rec: &csv::ByteRecord| piece.first_line + rec.position().map_or(1, |p| p.line()) - 1;
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(TrainingError::Input {
                    path: path.to_owned(),
                    message: format!("line {}: {e}", piece.first_line),
                })
            }
        }
        let line = line_of(&rec);
        if rec.len() != lay.names.len() {
            return Err(TrainingError::Input {
                path: path.to_owned(),
                message: format!(
                    "line {line}: expected {} fields, found {}",
                    lay.names.len(),
                    rec.len()
                ),
            });
        }
        let cell_err = |col: usize, message: String| TrainingError::Cell {
            path: path.to_owned(),
            line,
            column: col + 1,
            name: lay.names[col].clone(),
            message,
        };
        let t = rec[lay.target].trim_ascii();
        if t.is_empty() {
            return Err(cell_err(lay.target, "the target is empty".into()));
        }
        target.push(t == bad);
        note_value(&mut values, t);
        for (b, &(i, _)) in cols.iter_mut().zip(&lay.used) {
            let cell = &rec[i];
            match b {
                Builder::Numeric(v) => v.push(parse_number(cell).map_err(|_| {
                    cell_err(i, format!("`{}` is not a number in a numeric column (declare the column categorical if it is one)", String::from_utf8_lossy(cell)))
                })?),
                Builder::Categorical(c) => {
                    let t = cell.trim_ascii();
                    if t.is_empty() {
                        c.push(None);
                    } else {
                        c.push(Some(&String::from_utf8_lossy(t)));
                    }
                }
            }
        }
    }
    Ok((cols, target, values))
}

/// Writes a frame as a training CSV that [`read_training_csv`] reads back to the same frame
/// (given the categorical columns, since a category such as `440802` looks numeric): an optional
/// id column first, the characteristics in frame order, then `target` as `1` (bad) or `0`. A
/// missing value is an empty cell; numbers are written in their shortest exact form.
pub fn write_training_csv<W: std::io::Write>(
    frame: &Frame,
    ids: Option<(&str, &[String])>,
    target: &str,
    out: W,
) -> Result<()> {
    let io = |e: csv::Error| TrainingError::Input {
        path: "output".into(),
        message: e.to_string(),
    };
    if let Some((_, values)) = ids {
        if values.len() != frame.n_rows() {
            return Err(TrainingError::LengthMismatch {
                column: "id".into(),
                len: values.len(),
                expected: frame.n_rows(),
            });
        }
    }
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, out));
    let mut header: Vec<&str> = ids.iter().map(|(name, _)| *name).collect();
    header.extend(frame.columns.iter().map(|c| c.name.as_str()));
    header.push(target);
    w.write_record(&header).map_err(io)?;
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for i in 0..frame.n_rows() {
        row.clear();
        if let Some((_, values)) = ids {
            row.push(values[i].clone());
        }
        for c in &frame.columns {
            row.push(match &c.data {
                ColumnData::Numeric(v) if v[i].is_nan() => String::new(),
                ColumnData::Numeric(v) => format!("{}", v[i]),
                ColumnData::Categorical(d) => d.get(i).unwrap_or("").to_owned(),
            });
        }
        row.push(if frame.target[i] { "1" } else { "0" }.to_owned());
        w.write_record(&row).map_err(io)?;
    }
    w.flush().map_err(|e| TrainingError::Input {
        path: "output".into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("cb-csv-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    fn options() -> CsvOptions {
        CsvOptions {
            target: "bad".into(),
            bad_value: "1".into(),
            ..CsvOptions::default()
        }
    }

    /// One junk cell in a short, mostly numeric column: the file is cut into several pieces of
    /// a few rows each, and the column kind must still come from all sampled rows.
    #[test]
    fn junk_in_a_mostly_numeric_column_names_line_column_and_value() {
        let mut text = String::from("x,label,bad\n");
        for i in 0..40 {
            let x = if i == 2 {
                "abc".to_string()
            } else {
                i.to_string()
            };
            text.push_str(&format!("{x},{},{}\n", ["p", "q"][i % 2], i % 3 == 0));
        }
        let text = text.replace(",true\n", ",1\n").replace(",false\n", ",0\n");
        let p = write("junk.csv", &text);
        let err = read_training_csv(&p, &options()).unwrap_err();
        match &err {
            TrainingError::Cell {
                line,
                column,
                name,
                message,
                ..
            } => {
                assert_eq!((*line, *column, name.as_str()), (4, 1, "x"), "{err}");
                assert!(message.contains("`abc`"), "{err}");
            }
            other => panic!("expected a cell error, got {other}"),
        }
        // Declared categorical, the same file reads, with `label` inferred categorical too.
        let frame = read_training_csv(
            &p,
            &CsvOptions {
                categorical: vec!["x".into()],
                ..options()
            },
        )
        .unwrap();
        assert!(frame
            .columns
            .iter()
            .all(|c| matches!(c.data, ColumnData::Categorical(_))));
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_written_frame_reads_back_the_same() {
        let frame = Frame::new(
            vec![
                Column::numeric("amount", vec![1.5, f64::NAN, -0.1, 1e-7, 3.0]),
                Column::categorical(
                    "region",
                    [
                        Some("440802"),
                        None,
                        Some("440882"),
                        Some("a,b"),
                        Some("440802"),
                    ],
                ),
                Column::categorical("grade", [Some("A"), Some("B"), None, Some("M"), Some("D")]),
            ],
            vec![false, true, false, true, false],
        );
        let ids: Vec<String> = (1..=5).map(|i| format!("L{i}")).collect();
        let mut buf = Vec::new();
        write_training_csv(&frame, Some(("loan_id", &ids)), "bad", &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(
            text.starts_with("loan_id,amount,region,grade,bad\nL1,1.5,440802,A,0\n"),
            "{text}"
        );
        let p = write("round.csv", &text);
        let back = read_training_csv(
            &p,
            &CsvOptions {
                categorical: vec!["region".into()],
                exclude: vec!["loan_id".into()],
                ..options()
            },
        )
        .unwrap();
        std::fs::remove_file(p).unwrap();
        assert_eq!(back.target, frame.target);
        for (a, b) in back.columns.iter().zip(&frame.columns) {
            assert_eq!(a.name, b.name);
            match (&a.data, &b.data) {
                (ColumnData::Numeric(x), ColumnData::Numeric(y)) => {
                    for (u, v) in x.iter().zip(y) {
                        assert!(u == v || (u.is_nan() && v.is_nan()), "{u} vs {v}");
                    }
                }
                (ColumnData::Categorical(x), ColumnData::Categorical(y)) => {
                    for i in 0..5 {
                        assert_eq!(x.get(i), y.get(i));
                    }
                }
                _ => panic!("`{}` changed kind", a.name),
            }
        }
    }
}
