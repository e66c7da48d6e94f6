//! Parallel CSV reading. The file is read in large blocks; each block is cut at record
//! boundaries (newlines outside quotes, tracked by quote parity, so quoted commas and quoted
//! newlines stay intact) into pieces that worker threads parse with their own `csv` reader.
//! Every piece knows its first physical line, so errors still name the file line.

use std::io::Read;

use crate::error::{Result, TrainingError};

/// A run of whole records and the file line it starts on (1-based).
pub(crate) struct Piece<'a> {
    pub bytes: &'a [u8],
    pub first_line: u64,
}

const BLOCK: usize = 16 << 20;

/// What the reader hands over: first the header record's bytes, then blocks of data pieces.
pub(crate) enum Chunk<'a, 'b> {
    Header(&'a [u8]),
    Pieces(&'b [Piece<'a>]),
}

/// Reads `input`, handing the header then every block of data pieces to `on` in file order.
pub(crate) fn read_blocks<R: Read>(
    mut input: R,
    path: &str,
    pieces_per_block: usize,
    mut on: impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let io = |e: std::io::Error| TrainingError::Input {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK * 2);
    let mut line: u64 = 1; // line number of buf[0]
    let mut header_done = false;
    let mut eof = false;
    while !eof {
        let start = buf.len();
        buf.resize(start + BLOCK, 0);
        let mut filled = start;
        while filled < buf.len() {
            let n = input.read(&mut buf[filled..]).map_err(io)?;
            if n == 0 {
                eof = true;
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        // Record boundaries: (offset just past the newline, line number of the next record).
        let mut bounds: Vec<(usize, u64)> = Vec::new();
        let (mut inq, mut l) = (false, line);
        for i in memchr::memchr2_iter(b'"', b'\n', &buf) {
            if buf[i] == b'"' {
                inq = !inq;
            } else {
                l += 1;
                if !inq {
                    bounds.push((i + 1, l));
                }
            }
        }
        if eof && bounds.last().map_or(0, |b| b.0) < buf.len() {
            bounds.push((buf.len(), l + 1));
        }
        let mut begin = (0usize, line);
        let mut bi = 0;
        if !header_done {
            match bounds.first() {
                Some(&(end, next)) => {
                    on(Chunk::Header(&buf[..end]))?;
                    header_done = true;
                    begin = (end, next);
                    bi = 1;
                }
                None if eof => {
                    return Err(TrainingError::Input {
                        path: path.to_owned(),
                        message: "the file is empty".into(),
                    })
                }
                None => continue,
            }
        }
        let usable = &bounds[bi..];
        let Some(&(cut, cut_line)) = usable.last() else {
            // no complete record in this block yet: keep reading
            buf.drain(..begin.0);
            line = begin.1;
            continue;
        };
        // Split [begin, cut) into about `pieces_per_block` pieces at boundaries.
        let target = ((cut - begin.0) / pieces_per_block.max(1)).max(1);
        let mut pieces = Vec::new();
        let mut from = begin;
        for &(b, bl) in usable {
            if b - from.0 >= target || b == cut {
                pieces.push(Piece {
                    bytes: &buf[from.0..b],
                    first_line: from.1,
                });
                from = (b, bl);
            }
        }
        on(Chunk::Pieces(&pieces))?;
        buf.drain(..cut);
        line = cut_line;
    }
    if !header_done {
        return Err(TrainingError::Input {
            path: path.to_owned(),
            message: "the file is empty".into(),
        });
    }
    Ok(())
}

/// A csv reader over one piece (no header; flexible so short rows get a clear error of ours).
pub(crate) fn piece_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Parses the header line into trimmed names.
pub(crate) fn header_names(bytes: &[u8], path: &str) -> Result<Vec<String>> {
    let mut r = piece_reader(bytes);
    let mut rec = csv::StringRecord::new();
    match r.read_record(&mut rec) {
        Ok(true) => Ok(rec
            .iter()
            .map(|s| s.trim().trim_start_matches('\u{feff}').to_owned())
            .collect()),
        Ok(false) => Err(TrainingError::Input {
            path: path.to_owned(),
            message: "the file is empty".into(),
        }),
        Err(e) => Err(TrainingError::Input {
            path: path.to_owned(),
            message: format!("header: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_quoted_newlines_and_line_numbers() {
        let text = b"a,b\n1,\"x\ny\"\n2,z\n3,w";
        let mut seen = Vec::new();
        read_blocks(&text[..], "t.csv", 3, |chunk| {
            match chunk {
                Chunk::Header(h) => assert_eq!(h, b"a,b\n"),
                Chunk::Pieces(ps) => {
                    for p in ps {
                        seen.push((String::from_utf8(p.bytes.to_vec()).unwrap(), p.first_line));
                    }
                }
            }
            Ok(())
        })
        .unwrap();
        let joined: String = seen.iter().map(|s| s.0.clone()).collect();
        assert_eq!(joined, "1,\"x\ny\"\n2,z\n3,w");
        assert_eq!(seen[0].1, 2);
        // the record "2,z" starts on physical line 4 because of the quoted newline
        assert!(seen.iter().any(|s| s.0.starts_with("2,z") && s.1 == 4) || seen.len() < 3);
    }

    #[test]
    fn empty_input_is_an_error() {
        let r = read_blocks(&b""[..], "e.csv", 2, |_| Ok(()));
        assert!(r.unwrap_err().to_string().contains("empty"));
    }
}
