//! Batch scoring of a CSV: the `score` command's engine. Reads in parallel blocks, scores each
//! row through the same bins and points as [`Model::score`], and writes
//! `id,score,pd,grade,reason_1,…,reason_4` in input order.

use std::io::{Read, Write};

use rayon::prelude::*;

use crate::binning::Kind;
use crate::blocks::{header_names, piece_reader, read_blocks, Chunk, Piece};
use crate::csv_input::parse_number;
use crate::error::{Result, TrainingError};
use crate::model::Model;
use crate::reasons::MAX_REASONS;

struct Plan {
    /// File column of each card characteristic.
    cols: Vec<usize>,
    id: Option<usize>,
    n_fields: usize,
    names: Vec<String>,
}

/// Scores every row of `input` and writes the result CSV to `output`. Returns the row count.
pub fn score_csv<R: Read, W: Write>(
    model: &Model,
    input: R,
    path: &str,
    output: W,
    id_column: Option<&str>,
) -> Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, output);
    let werr = |e: std::io::Error| TrainingError::Input {
        path: "output".into(),
        message: e.to_string(),
    };
    let mut plan: Option<Plan> = None;
    let mut rows: u64 = 0;
    let codes: Vec<String> = model
        .scorecard()
        .characteristics
        .iter()
        .map(|c| quote(&c.code))
        .collect();
    read_blocks(
        input,
        path,
        rayon::current_num_threads() * 4,
        |chunk| match chunk {
            Chunk::Header(h) => {
                let names = header_names(h, path)?;
                let find = |name: &str, hint: &str| {
                    names.iter().position(|n| n == name).ok_or_else(|| {
                        TrainingError::MissingColumn {
                            path: path.to_owned(),
                            column: name.to_owned(),
                            hint: hint.to_owned(),
                        }
                    })
                };
                let cols = model
                    .characteristics()
                    .map(|c| find(c, " that the model needs"))
                    .collect::<Result<Vec<_>>>()?;
                let id = id_column
                    .map(|c| find(c, " (the --id-column)"))
                    .transpose()?;
                let id_name = id_column.unwrap_or("row");
                writeln!(
                    out,
                    "{},score,pd,grade,reason_1,reason_2,reason_3,reason_4",
                    quote(id_name)
                )
                .map_err(werr)?;
                plan = Some(Plan {
                    cols,
                    id,
                    n_fields: names.len(),
                    names,
                });
                Ok(())
            }
            Chunk::Pieces(pieces) => {
                let plan = plan.as_ref().expect("header comes first");
                let parts: Vec<Result<(Vec<u8>, Vec<u32>)>> = pieces
                    .par_iter()
                    .map(|p| score_piece(model, plan, &codes, p, path))
                    .collect();
                for part in parts {
                    let (buf, ends) = part?;
                    if plan.id.is_some() {
                        out.write_all(&buf).map_err(werr)?;
                        rows += ends.len() as u64;
                    } else {
                        let mut from = 0usize;
                        let mut num = itoa_buf();
                        for &end in &ends {
                            rows += 1;
                            out.write_all(fmt_u64(&mut num, rows)).map_err(werr)?;
                            out.write_all(&buf[from..end as usize]).map_err(werr)?;
                            from = end as usize;
                        }
                    }
                }
                Ok(())
            }
        },
    )?;
    if plan.is_none() {
        return Err(TrainingError::Input {
            path: path.to_owned(),
            message: "the file is empty".into(),
        });
    }
    out.flush().map_err(werr)?;
    Ok(rows)
}

fn score_piece(
    model: &Model,
    plan: &Plan,
    codes: &[String],
    piece: &Piece,
    path: &str,
) -> Result<(Vec<u8>, Vec<u32>)> {
    let card = model.scorecard();
    let kinds: Vec<Kind> = card.characteristics.iter().map(|c| c.kind).collect();
    let mut r = piece_reader(piece.bytes);
    let mut rec = csv::ByteRecord::new();
    let mut buf = Vec::with_capacity(piece.bytes.len() / 3);
    let mut ends = Vec::new();
    let mut bins = vec![0usize; kinds.len()];
    let mut num = itoa_buf();
    loop {
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(TrainingError::Input {
                    path: path.to_owned(),
                    message: format!("near line {}: {e}", piece.first_line),
                })
            }
        }
        let line = piece.first_line + rec.position().map_or(1, |p| p.line()) - 1;
        if rec.len() != plan.n_fields {
            return Err(TrainingError::Input {
                path: path.to_owned(),
                message: format!(
                    "line {line}: expected {} fields, found {}",
                    plan.n_fields,
                    rec.len()
                ),
            });
        }
        for (c, (&col, kind)) in plan.cols.iter().zip(&kinds).enumerate() {
            let cell = &rec[col];
            let loc = model.locator(c);
            bins[c] = match kind {
                Kind::Numeric => {
                    loc.numeric(parse_number(cell).map_err(|_| TrainingError::Cell {
                        path: path.to_owned(),
                        line,
                        column: col + 1,
                        name: plan.names[col].clone(),
                        message: format!("`{}` is not a number", String::from_utf8_lossy(cell)),
                    })?)
                }
                Kind::Categorical => {
                    let t = cell.trim_ascii();
                    if t.is_empty() {
                        loc.category(None)
                    } else {
                        loc.category(Some(&String::from_utf8_lossy(t)))
                    }
                }
            };
        }
        let score = model.score_of_bins(&bins);
        let (top, len) = model.reasons_of_bins(&bins);
        if let Some(id) = plan.id {
            buf.extend_from_slice(quote(&String::from_utf8_lossy(&rec[id])).as_bytes());
        }
        buf.push(b',');
        buf.extend_from_slice(fmt_i64(&mut num, score as i64));
        let _ = write!(
            buf,
            ",{:.6},{}",
            card.pd_of_score(score),
            card.grade_of(score)
        );
        for k in 0..MAX_REASONS {
            buf.push(b',');
            if k < len {
                buf.extend_from_slice(codes[top[k].0].as_bytes());
            }
        }
        buf.push(b'\n');
        ends.push(buf.len() as u32);
    }
    Ok((buf, ends))
}

/// CSV-quotes a field when it needs it.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn itoa_buf() -> [u8; 24] {
    [0; 24]
}

fn fmt_u64(buf: &mut [u8; 24], mut v: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

fn fmt_i64(buf: &mut [u8; 24], v: i64) -> &[u8] {
    if v >= 0 {
        return fmt_u64(buf, v as u64);
    }
    let len = fmt_u64(buf, v.unsigned_abs()).len();
    let i = buf.len() - len - 1;
    buf[i] = b'-';
    &buf[i..]
}
